# The stage's one HTTP API (contract: contracts/openapi.yaml). Each domain module attaches
# its routes to it; throttling and access logs are set once on the default stage.

resource "aws_apigatewayv2_api" "http" {
  name          = local.prefix
  description   = "${local.prefix} HTTP API (contract: contracts/openapi.yaml)"
  protocol_type = "HTTP"
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/http-api/${local.prefix}"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
    # Per-route metrics, which the dashboard's domain rows show; billed as custom metrics.
    detailed_metrics_enabled = var.api_route_metrics
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      routeKey  = "$context.routeKey"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
      ip        = "$context.identity.sourceIp"
    })
  }
}
