# EventBridge Scheduler runs the scheduled admin jobs (UTC), each through its own role
# that may invoke only that function's live alias.

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    # Only schedules of this account may use the role (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  for_each = local.scheduled_jobs

  description        = "${local.prefix}-${each.value.suffix} schedule: invokes only that function"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler_invoke" {
  for_each = local.scheduled_jobs

  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [module.admin_job[each.key].alias_arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  for_each = local.scheduled_jobs

  name   = "invoke-${each.key}"
  role   = aws_iam_role.scheduler[each.key].id
  policy = data.aws_iam_policy_document.scheduler_invoke[each.key].json
}

resource "aws_scheduler_schedule" "admin_job" {
  for_each = local.scheduled_jobs

  name                         = "${local.prefix}-${each.value.suffix}" # unique per account and region
  description                  = "${local.prefix} ${each.key}"
  schedule_expression          = each.value.schedule
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.admin_job[each.key].alias_arn
    role_arn = aws_iam_role.scheduler[each.key].arn
  }
}
