"""Domain events: the bus, a rule per subscriber function, and the topic that forwards events to people."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import model
from infra.function import ServiceFunction
from infra.settings import StageSettings

# A subscriber that keeps failing gets the event again with back-off, then EventBridge drops it
# (the function's own log group says why).
RETRY_ATTEMPTS = 4
MAX_EVENT_AGE = Duration.hours(1)


def bus(scope: Construct, construct_id: str, spec: model.EventBus, settings: StageSettings) -> events.EventBus:
    return events.EventBus(scope, construct_id, event_bus_name=f"{settings.prefix}-{spec.name_suffix}")


def pattern(sources: list[str], detail_types: list[str]) -> events.EventPattern:
    return events.EventPattern(source=sorted(sources), detail_type=sorted(detail_types))


def subscribe(
    scope: Construct, construct_id: str, *, subscriber: ServiceFunction, spec: model.Function, bus: events.EventBus
) -> events.Rule:
    """The rule that delivers a subscriber's events: named like the function, one target, retried.

    The target is the function's alias: the Lambda target adds the alias's resource policy,
    events.amazonaws.com may invoke it only from this rule's ARN. The function's role is not touched.
    """
    rule = events.Rule(
        scope,
        construct_id,
        rule_name=subscriber.function_name,
        description=f"{spec.description} ({subscriber.function_name})",
        event_bus=bus,
        event_pattern=pattern(spec.trigger.sources, spec.trigger.detail_types),
    )
    rule.add_target(
        targets.LambdaFunction(subscriber.alias, retry_attempts=RETRY_ATTEMPTS, max_event_age=MAX_EVENT_AGE)
    )
    return rule


class Notifications(Construct):
    """An SNS topic that a rule on the bus feeds; teams add their e-mail or chat subscriptions.

    The rule is an L1 ``CfnRule``: the L2 ``SnsTopic`` target would let EventBridge publish from
    any rule in the account, while this topic's policy allows only this rule (aws:SourceArn).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: model.Topic,
        bus: events.EventBus,
        settings: StageSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"{settings.prefix}-{spec.name_suffix}",
            display_name=f"{settings.prefix} domain events",
            # A topic policy statement that denies publishing without TLS.
            enforce_ssl=True,
        )
        Validations.of(self.topic).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SNS2",
                reason="EventBridge cannot publish to a topic encrypted with the AWS managed SNS key; a customer "
                "managed key costs a key per stage for notifications that carry only record ids.",
            )
        )
        self.rule = events.CfnRule(
            self,
            "Rule",
            name=f"{settings.prefix}-{spec.rule_suffix}",
            description=f"Forwards the domain events to {settings.prefix}-{spec.name_suffix}",
            event_bus_name=bus.event_bus_name,
            event_pattern={"source": sorted(spec.sources), "detail-type": sorted(spec.detail_types)},
            state="ENABLED",
            targets=[events.CfnRule.TargetProperty(id="Topic", arn=self.topic.topic_arn)],
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishFromTheBusRule",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.attr_arn}},
            )
        )
