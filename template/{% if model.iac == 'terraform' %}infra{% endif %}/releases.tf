# Releases: one CodeDeploy application per stage and a deployment group per function (in
# modules/function). Every apply publishes a version of each changed function but leaves its
# live alias where it is; `make deploy` then runs release.py, which asks CodeDeploy to shift
# each alias that is behind to the new version, as config/<stage>.json's release says, and
# waits: a release that sets off the function's errors alarm is rolled back and fails.

resource "aws_codedeploy_app" "functions" {
  name             = local.prefix
  compute_platform = "Lambda"
}

data "aws_iam_policy_document" "codedeploy_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }

    # Only this account's deployments may use the role (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# CodeDeploy's role, not a function's: it reads the alarms and moves the aliases.
resource "aws_iam_role" "codedeploy" {
  description        = "${local.prefix} releases: CodeDeploy shifts the functions' live aliases"
  assume_role_policy = data.aws_iam_policy_document.codedeploy_assume.json
}

# AWS's policy for CodeDeploy on Lambda, kept up to date by AWS: read and move aliases, read
# alarms, invoke CodeDeployHook_* functions. The Limited one: no SNS, S3 only under CodeDeploy/.
resource "aws_iam_role_policy_attachment" "codedeploy" {
  role       = aws_iam_role.codedeploy.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited"
}

data "aws_partition" "current" {}
