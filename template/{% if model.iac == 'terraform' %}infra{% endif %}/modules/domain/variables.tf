variable "name" {
  description = "Domain name (snake_case)"
  type        = string
}

variable "prefix" {
  description = "<slug>-<stage>: starts every physical name"
  type        = string
}

variable "table" {
  description = "The domain's table: <prefix>-<name_suffix>, string hash key; grants and variables name it by key"
  type = object({
    key         = string
    name_suffix = string
    hash_key    = string
  })
}

variable "queue" {
  description = "The domain's job queue, read by its consumer, and the dead-letter queue it redrives to (service sqs)"
  type = object({
    key                = string
    name_suffix        = string
    visibility_timeout = number
    retention_seconds  = number
    max_receive_count  = number
    dead_letter = object({
      key                = string
      name_suffix        = string
      visibility_timeout = number
      retention_seconds  = number
    })
  })
  default = null
}

variable "shared" {
  description = "The stage's resources outside the domain its functions may use (the idempotency table): key -> name, arn"
  type = map(object({
    name = string
    arn  = string
  }))
  default = {}
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
  description = "The domain's functions, from the service model: an HTTP route or a queue each; grants and environment name resources by key"
  type = map(object({
    suffix      = string
    description = string
    handler     = string
    artifact    = string
    route       = optional(string)                                             # "<METHOD> <path>"
    queue       = optional(object({ resource = string, batch_size = number })) # a consumer
    timeout     = optional(number)                                             # default: var.timeout
    grants = list(object({
      resource = string
      actions  = list(string)
    }))
    environment = map(string)
  }))
}
