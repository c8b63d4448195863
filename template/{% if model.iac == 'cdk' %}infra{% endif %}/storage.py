"""Where the service keeps its state: the DynamoDB tables and the SQS queues of infra/model.py."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import model
from infra.settings import StageSettings

# What a grant or an environment variable may name: a table or a queue, by logical id.
Resources = dict[str, dynamodb.Table | sqs.Queue]


def table(scope: Construct, construct_id: str, spec: model.Table, settings: StageSettings) -> dynamodb.Table:
    """A table that outlives the stack; production also gets point-in-time recovery and deletion protection."""
    production = settings.is_production
    resource = dynamodb.Table(
        scope,
        construct_id,
        table_name=f"{settings.prefix}-{spec.name_suffix}",
        partition_key=dynamodb.Attribute(name=spec.hash_key, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=production
        ),
        deletion_protection=production,
        time_to_live_attribute=spec.ttl_attribute or None,
        removal_policy=RemovalPolicy.RETAIN,
    )
    if not production:
        Validations.of(resource).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-DDB3",
                reason=f"Point-in-time recovery is on in the production stage ({model.PRODUCTION_STAGE}); "
                f"{settings.stage} holds disposable data that is not worth the backup cost.",
            )
        )
    return resource


def queue(
    scope: Construct, construct_id: str, spec: model.Queue, settings: StageSettings, resources: Resources
) -> sqs.Queue:
    """A queue encrypted with SQS-managed keys that refuses requests without TLS; deleted with the stack.

    A queue with a dead letter redrives to ``resources[spec.dead_letter]``, which must exist already.
    """
    # cdk-nag's SQS3 (every queue has a dead-letter queue) accepts a dead-letter queue as it is:
    # it finds it named in the RedrivePolicy of a queue in the same stack.
    redrive = None
    if spec.dead_letter:
        redrive = sqs.DeadLetterQueue(queue=resources[spec.dead_letter], max_receive_count=spec.max_receive_count)
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=f"{settings.prefix}-{spec.name_suffix}",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        # A queue policy that denies every request made without TLS (the only statement it holds:
        # producers and consumers get their permissions from their own roles).
        enforce_ssl=True,
        visibility_timeout=Duration.seconds(spec.visibility_timeout),
        retention_period=Duration.seconds(spec.retention_seconds),
        dead_letter_queue=redrive,
        removal_policy=RemovalPolicy.DESTROY,
    )


def arn(resource: dynamodb.Table | sqs.Queue) -> str:
    """What a role statement names: the table's or the queue's ARN."""
    return resource.queue_arn if isinstance(resource, sqs.Queue) else resource.table_arn


def name(resource: dynamodb.Table | sqs.Queue) -> str:
    """What an environment variable carries: the table's or the queue's name (not the queue URL)."""
    return resource.queue_name if isinstance(resource, sqs.Queue) else resource.table_name
