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

variable "bucket" {
  description = "The domain's file bucket and its name, <prefix>-<name_suffix>-<account id> (service s3: bucket.tf is rendered with it)"
  type = object({
    key  = string
    name = string
  })
  default = null
}

variable "shared" {
  description = "The stage's resources outside the domain its functions may use (idempotency table, event bus, settings parameter, database, cache): key -> name, arn, and the URL variables hold instead of the name (database, cache)"
  type = map(object({
    name = string
    arn  = string
    url  = optional(string)
  }))
  default = {}
}

variable "network" {
  description = "Where the functions marked network run (private subnets, security groups), or null without postgres and redis"
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "production" {
  description = "Production stage: point-in-time recovery and deletion protection on the table, versioning on the bucket"
  type        = bool
}

variable "api" {
  description = "The stage's shared HTTP API the routes attach to, and its JWT authorizer (service cognito) or null"
  type = object({
    id            = string
    execution_arn = string
    authorizer_id = optional(string)
  })
}

variable "timeout" {
  description = "Seconds per HTTP function (API Gateway gives up after 30)"
  type        = number
}

variable "settings" {
  description = "What every function of the stage shares (see modules/function), the warm environments of each HTTP function and the most concurrent batches per queue"
  type = object({
    runtime              = string
    architecture         = string
    memory_size          = number
    tracing              = bool
    layer_arn            = string
    log_retention_days   = number
    code_dir             = string
    environment          = map(string)
    reserved_concurrency = number
    alarm_topic_arn      = string
    thresholds           = map(number)
    release = object({
      app      = string
      config   = string
      role_arn = string
    })
    provisioned_concurrency = number
    queue_max_concurrency   = number
  })
}

variable "functions" {
  description = "The domain's functions, from the service model: an HTTP route, a queue or bus events each; grants and environment name resources by key"
  type = map(object({
    suffix      = string
    description = string
    handler     = string
    artifact    = string
    route       = optional(string)                                             # "<METHOD> <path>"
    public      = optional(bool, false)                                        # a route reachable without a token
    queue       = optional(object({ resource = string, batch_size = number })) # a consumer
    events = optional(object({                                                 # a subscriber: the bus and what its rule matches
      bus          = string
      sources      = list(string)
      detail_types = list(string)
    }))
    timeout = optional(number)      # default: var.timeout
    network = optional(bool, false) # runs in var.network (it reaches postgres or redis)
    grants = list(object({
      resource = string
      actions  = list(string)
      objects  = optional(bool, false) # a bucket's objects (<arn>/*), not the bucket
    }))
    environment = map(string)
  }))
}
