output "table" {
  description = "The domain's table (name, arn), for the admin jobs"
  value = {
    name = aws_dynamodb_table.this.name
    arn  = aws_dynamodb_table.this.arn
  }
}

output "functions" {
  description = "Function key -> deployed function name"
  value       = { for key, function in module.function : key => function.name }
}
