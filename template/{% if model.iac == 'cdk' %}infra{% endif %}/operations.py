"""How a stage is released and watched: the alarm topic, CodeDeploy, the alarms, the dashboard and the budget."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Aws, Stack, Validations
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import model
from infra.settings import StageSettings

# The stage's dashboard as CloudWatch's JSON, rendered from the service model; these stand for
# what is only known per stage.
DASHBOARD = Path(__file__).resolve().parent / "dashboard.json"
STAGE, REGION, API = "${stage}", "${region}", "${api}"
# A topic policy replaces SNS's default one: CloudWatch alarms and AWS Budgets publish as services.
PUBLISHERS = ("cloudwatch.amazonaws.com", "budgets.amazonaws.com")


class Operations(Construct):
    """The stage's alarm topic, and what every function's release uses: one CodeDeploy application and role.

    The alarms notify the topic (the team's e-mail when the stage config names one), and so does the budget.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        prefix = settings.prefix

        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"{prefix}-alarms",
            display_name=f"{prefix} alarms and budget alerts",
            # A topic policy statement that denies publishing without TLS.
            enforce_ssl=True,
        )
        Validations.of(self.topic).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SNS2",
                reason="CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key; a "
                "customer managed key costs a key per stage for messages that carry only alarm states.",
            )
        )
        # CloudWatch alarms in the account need no statement; AWS Budgets does, for this account's budgets only.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsAndBudgetsOfThisAccount",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        if settings.alarm_email:
            # AWS sends a confirmation e-mail first: nothing arrives until someone confirms it.
            sns.CfnSubscription(
                self, "AlarmEmail", topic_arn=self.topic.topic_arn, protocol="email", endpoint=settings.alarm_email
            )

        # Every function's deployment group shares the application and the role; CodeDeploy only reads the
        # alarms and moves the stage's aliases (no hooks, no appspec in S3, no notifications).
        self.application = codedeploy.LambdaApplication(self, "Releases")

        def arn(service: str, resource: str) -> str:
            return f"arn:{Aws.PARTITION}:{service}:{model.REGION}:{Aws.ACCOUNT_ID}:{resource}:{prefix}-*"

        role = iam.Role(
            self,
            "ReleaseRole",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description=f"{prefix}: lets CodeDeploy shift the functions' {model.ALIAS} aliases, watching their alarms",
            inline_policies={
                "release": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["cloudwatch:DescribeAlarms"],
                            resources=[arn("cloudwatch", "alarm")],
                        ),
                        iam.PolicyStatement(
                            actions=["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
                            resources=[arn("lambda", "function")],
                        ),
                    ]
                )
            },
        )
        for service, resource in (("cloudwatch", "alarm"), ("lambda", "function")):
            finding = arn(service, resource)
            finding = finding.replace(Aws.PARTITION, "<AWS::Partition>").replace(Aws.ACCOUNT_ID, "<AWS::AccountId>")
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{finding}]",
                    reason=f"The stage's functions and alarms all start with {prefix}-: one statement each covers "
                    "every function's release, where a list of ARNs would outgrow the role's policy size.",
                )
            )
        # Read-only: the deployment groups would attach AWS's managed policy, which reaches every function.
        self.role = role.without_policy_updates()

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def watch(self, *, api_id: str) -> None:
        """The HTTP API's alarms, the dashboard and the budget (once the API exists: they name it)."""
        settings, prefix = self.settings, self.settings.prefix
        for spec in model.API_ALARMS:
            alarm(self, spec, name=f"{prefix}-{spec.name_suffix}", watched=api_id, settings=settings, notify=self)
        body = DASHBOARD.read_text().strip()
        body = body.replace(STAGE, settings.stage).replace(REGION, Stack.of(self).region).replace(API, api_id)
        cloudwatch.CfnDashboard(self, "Dashboard", dashboard_name=prefix, dashboard_body=body)

        def notify(kind: str, percent: float) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
            return budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=[budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=self.topic_arn)],
            )

        # The stage's monthly cost: what carries the stage's budget tag (a cost allocation tag once activated
        # in the Billing console). Alerts on the actual spend and on AWS's forecast for the month.
        budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=prefix,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=settings.budget_monthly_usd, unit="USD"),
                cost_filters={"TagKeyValue": [f"user:budget${prefix}"]},
            ),
            notifications_with_subscribers=[
                notify("ACTUAL", settings.budget_alert_percent),
                notify("FORECASTED", settings.budget_forecast_percent),
            ],
        )
        budget.node.add_dependency(self.topic.node.find_child("Policy"))  # Budgets checks it may publish


def alarm(
    scope: Construct,
    spec: model.Alarm,
    *,
    name: str,
    watched: str,
    settings: StageSettings,
    notify: Operations,
    timeout: int = 0,
    construct_id: str = "",
) -> cloudwatch.CfnAlarm:
    """One alarm of the model: ``watched`` is the dimension's value (the resource's name, the API's id);
    ``timeout`` the watched function's, for the duration alarm. It fires on one period at or over the
    stage's threshold, and notifies the alarm topic of ``notify`` when it fires and when it is OK again."""
    dimensions = [cloudwatch.CfnAlarm.DimensionProperty(name=spec.dimension, value=watched)]
    metric = {}
    if spec.math:
        stat = cloudwatch.CfnAlarm.MetricStatProperty(
            metric=cloudwatch.CfnAlarm.MetricProperty(
                namespace=spec.namespace, metric_name=spec.metric, dimensions=dimensions
            ),
            period=spec.period,
            stat=spec.statistic,
        )
        metric["metrics"] = [
            cloudwatch.CfnAlarm.MetricDataQueryProperty(id="duration", metric_stat=stat, return_data=False),
            # Duration is in milliseconds: as a percentage of the timeout in seconds.
            cloudwatch.CfnAlarm.MetricDataQueryProperty(
                id="percent",
                expression=f"duration / ({timeout} * 10)",
                label="p99 duration, % of timeout",
                return_data=True,
            ),
        ]
    else:
        percentile = spec.statistic.startswith("p")
        metric = {
            "namespace": spec.namespace,
            "metric_name": spec.metric,
            "dimensions": dimensions,
            "period": spec.period,
            "extended_statistic" if percentile else "statistic": spec.statistic,
        }
    return cloudwatch.CfnAlarm(
        scope,
        construct_id or spec.logical_id,
        alarm_name=name,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        threshold=settings.threshold(spec.threshold),
        treat_missing_data="notBreaching",  # no traffic is not a failure
        alarm_actions=[notify.topic_arn],
        ok_actions=[notify.topic_arn],
        **metric,
    )
