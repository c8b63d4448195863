# One business domain: its table, and per route a function (own role and log group),
# a Lambda proxy integration on the shared HTTP API and the permission to invoke it.

locals {
  # The only table this domain's functions may be granted on or be given the name of.
  tables = { (var.name) = aws_dynamodb_table.this }
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

module "function" {
  source   = "../function"
  for_each = var.functions

  name        = "${var.prefix}-${each.value.suffix}"
  description = each.value.description
  handler     = each.value.handler
  artifact    = each.value.artifact
  timeout     = var.timeout
  settings    = var.settings
  environment = { for variable, table in each.value.environment : variable => local.tables[table].name }
  grants      = [for grant in each.value.grants : { actions = grant.actions, resource = local.tables[grant.table].arn }]
}

resource "aws_apigatewayv2_integration" "this" {
  for_each = var.functions

  api_id                 = var.api.id
  integration_type       = "AWS_PROXY"
  integration_uri        = module.function[each.key].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "this" {
  for_each = var.functions

  api_id    = var.api.id
  route_key = each.value.route
  target    = "integrations/${aws_apigatewayv2_integration.this[each.key].id}"
}

resource "aws_lambda_permission" "api" {
  for_each = var.functions

  statement_id  = "AllowHttpApiRoute"
  action        = "lambda:InvokeFunction"
  function_name = module.function[each.key].name
  principal     = "apigateway.amazonaws.com"
  # Only this route may invoke it: execute-api ARN .../<stage>/<METHOD>/<path>, {param} -> *.
  source_arn = "${var.api.execution_arn}/*/${replace(replace(each.value.route, " /", "/"), "/\\{[^}]+\\}/", "*")}"
}
