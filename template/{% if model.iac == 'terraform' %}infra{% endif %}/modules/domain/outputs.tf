output "table" {
  description = "The domain's table (name, arn)"
  value = {
    name = aws_dynamodb_table.this.name
    arn  = aws_dynamodb_table.this.arn
  }
}

output "queue" {
  description = "The domain's job queue (name, arn, url), or null without the sqs service"
  value = var.queue == null ? null : {
    name = aws_sqs_queue.this[0].name
    arn  = aws_sqs_queue.this[0].arn
    url  = aws_sqs_queue.this[0].url
  }
}

output "bucket" {
  description = "The domain's file bucket (name, arn), or null without the s3 service"
  value       = var.bucket == null ? null : local.own[var.bucket.key]
}

output "resources" {
  description = "What the domain owns by key (name, arn): its table, queues and bucket, for the admin jobs' grants and variables"
  value       = local.own
}

output "functions" {
  description = "Function key -> deployed function name"
  value       = { for key, function in module.function : key => function.name }
}

output "releases" {
  description = "Function name -> what `make deploy` needs to release it (see release.py)"
  value = {
    for function in module.function : function.name => {
      group   = function.deployment_group
      alias   = function.alias
      version = function.version
    }
  }
}
