# One business domain: its table, its job queues (service sqs), and its functions, each with
# its own role and log group. An HTTP function gets a Lambda proxy integration on the shared
# HTTP API, its route and the permission to invoke it; a consumer gets an event source
# mapping on the domain's queue.

locals {
  # What the domain owns, by the keys the service model's grants and variables use.
  own = merge(
    { (var.table.key) = { name = aws_dynamodb_table.this.name, arn = aws_dynamodb_table.this.arn } },
    var.queue == null ? {} : {
      (var.queue.key)             = { name = aws_sqs_queue.this[0].name, arn = aws_sqs_queue.this[0].arn }
      (var.queue.dead_letter.key) = { name = aws_sqs_queue.dead_letter[0].name, arn = aws_sqs_queue.dead_letter[0].arn }
    },
  )
  # The only resources this domain's functions may be granted on or be given the name of.
  resources = merge(var.shared, local.own)

  http_functions = { for key, function in var.functions : key => function if function.route != null }
  consumers      = { for key, function in var.functions : key => function if function.queue != null }
}

resource "aws_dynamodb_table" "this" {
  name                        = "${var.prefix}-${var.table.name_suffix}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.table.hash_key
  deletion_protection_enabled = var.production

  attribute {
    name = var.table.hash_key
    type = "S"
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = var.production
  }

  # Data outlives the stage: `make destroy` takes the table out of the state first (kept,
  # like CloudFormation's Retain), and no plan may replace or delete it by accident.
  lifecycle {
    prevent_destroy = true
  }
}

# Jobs that failed max_receive_count times wait here to be looked at and redriven. Queues
# hold work in flight, not data: they go with the stage.
resource "aws_sqs_queue" "dead_letter" {
  count = var.queue == null ? 0 : 1

  name                       = "${var.prefix}-${var.queue.dead_letter.name_suffix}"
  visibility_timeout_seconds = var.queue.dead_letter.visibility_timeout
  message_retention_seconds  = var.queue.dead_letter.retention_seconds
  sqs_managed_sse_enabled    = true
}

# The domain's jobs, read by its consumer: a message that fails is retried, then moved to
# the dead-letter queue.
resource "aws_sqs_queue" "this" {
  count = var.queue == null ? 0 : 1

  name                       = "${var.prefix}-${var.queue.name_suffix}"
  visibility_timeout_seconds = var.queue.visibility_timeout
  message_retention_seconds  = var.queue.retention_seconds
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[0].arn
    maxReceiveCount     = var.queue.max_receive_count
  })
}

module "function" {
  source   = "../function"
  for_each = var.functions

  name        = "${var.prefix}-${each.value.suffix}"
  description = each.value.description
  handler     = each.value.handler
  artifact    = each.value.artifact
  timeout     = coalesce(each.value.timeout, var.timeout)
  settings    = var.settings
  environment = { for variable, resource in each.value.environment : variable => local.resources[resource].name }
  grants      = [for grant in each.value.grants : { actions = grant.actions, resource = local.resources[grant.resource].arn }]
}

resource "aws_apigatewayv2_integration" "this" {
  for_each = local.http_functions

  api_id                 = var.api.id
  integration_type       = "AWS_PROXY"
  integration_uri        = module.function[each.key].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "this" {
  for_each = local.http_functions

  api_id    = var.api.id
  route_key = each.value.route
  target    = "integrations/${aws_apigatewayv2_integration.this[each.key].id}"
}

resource "aws_lambda_permission" "api" {
  for_each = local.http_functions

  statement_id  = "AllowHttpApiRoute"
  action        = "lambda:InvokeFunction"
  function_name = module.function[each.key].name
  principal     = "apigateway.amazonaws.com"
  # Only this route may invoke it: execute-api ARN .../<stage>/<METHOD>/<path>, {param} -> *.
  source_arn = "${var.api.execution_arn}/*/${replace(replace(each.value.route, " /", "/"), "/\\{[^}]+\\}/", "*")}"
}

# Lambda polls the queue with the consumer's own role (its grants hold the sqs actions) and
# hands it batches; the consumer reports the messages that failed, so only those are retried.
resource "aws_lambda_event_source_mapping" "queue" {
  for_each = local.consumers

  event_source_arn        = local.resources[each.value.queue.resource].arn
  function_name           = module.function[each.key].arn
  batch_size              = each.value.queue.batch_size
  function_response_types = ["ReportBatchItemFailures"]
  enabled                 = true
}
