variable "name" {
  description = "Domain name (snake_case); grants and variables name its table by it"
  type        = string
}

variable "prefix" {
  description = "<slug>-<stage>: starts every physical name"
  type        = string
}

variable "table" {
  description = "The domain's table: <prefix>-<name_suffix>, string hash key"
  type = object({
    name_suffix = string
    hash_key    = string
  })
}

variable "production" {
  description = "Production stage: point-in-time recovery and deletion protection on the table"
  type        = bool
}

variable "api" {
  description = "The stage's shared HTTP API the routes attach to"
  type = object({
    id            = string
    execution_arn = string
  })
}

variable "timeout" {
  description = "Seconds per HTTP function (API Gateway gives up after 30)"
  type        = number
}

variable "settings" {
  description = "What every function of the stage shares (see modules/function)"
  type = object({
    runtime            = string
    architecture       = string
    memory_size        = number
    tracing            = bool
    layer_arn          = string
    log_retention_days = number
    code_dir           = string
    environment        = map(string)
  })
}

variable "functions" {
  description = "One function per route, from the service model; grants and environment name tables by domain"
  type = map(object({
    suffix      = string
    description = string
    handler     = string
    artifact    = string
    route       = string
    grants = list(object({
      table   = string
      actions = list(string)
    }))
    environment = map(string)
  }))
}
