variable "name" {
  description = "Function name (<slug>-<stage>-<suffix>); also names its role and log group"
  type        = string
}

variable "description" {
  description = "What the function does"
  type        = string
}

variable "handler" {
  description = "module.function the runtime calls"
  type        = string
}

variable "artifact" {
  description = "Code zip built by `make build`: <settings.code_dir>/<artifact>.zip"
  type        = string
}

variable "timeout" {
  description = "Seconds per invocation"
  type        = number
}

variable "environment" {
  description = "This function's own variables (table and queue names), added to the shared ones"
  type        = map(string)
  default     = {}
}

variable "grants" {
  description = "What the function may do on which table or queue: exactly these actions on these ARNs"
  type = list(object({
    actions  = list(string)
    resource = string
  }))
}

variable "network" {
  description = "The private subnets and security groups the function runs in (it reaches postgres or redis), or null"
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "provisioned_concurrency" {
  description = "Warm environments kept on the live alias (HTTP functions, when the stage sets them); 0: none"
  type        = number
  default     = 0
}

variable "settings" {
  description = "What every function of the stage shares: runtime settings, reserved concurrency, its alarms' topic and thresholds (config keys), and how CodeDeploy releases it"
  type = object({
    runtime              = string
    architecture         = string
    memory_size          = number
    tracing              = bool
    layer_arn            = string
    log_retention_days   = number
    code_dir             = string
    environment          = map(string)
    reserved_concurrency = number # null: none reserved
    alarm_topic_arn      = string
    thresholds           = map(number)
    release = object({
      app      = string # the stage's CodeDeploy application
      config   = string # CodeDeployDefault.Lambda<release>
      role_arn = string
    })
  })
}
