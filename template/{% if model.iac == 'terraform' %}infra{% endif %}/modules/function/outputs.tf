output "name" {
  description = "Function name"
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "Function ARN"
  value       = aws_lambda_function.this.arn
}

output "version" {
  description = "The version this apply published: what a release moves the alias to"
  value       = aws_lambda_function.this.version
}

output "alias_arn" {
  description = "ARN of the live alias, what event sources, rules and schedules invoke"
  value       = aws_lambda_alias.live.arn
}

output "alias_invoke_arn" {
  description = "ARN API Gateway integrations invoke: the live alias"
  value       = aws_lambda_alias.live.invoke_arn
}

output "alias" {
  description = "Name of the alias every trigger invokes"
  value       = aws_lambda_alias.live.name
}

output "deployment_group" {
  description = "CodeDeploy deployment group that releases the function"
  value       = aws_codedeploy_deployment_group.this.deployment_group_name
}

output "log_group" {
  description = "The function's log group, /aws/lambda/<name>"
  value       = aws_cloudwatch_log_group.this.name
}
