"""Where the service keeps its state: the tables, queues, buckets, settings and secret of infra/model.py."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import data, model
from infra.network import Network
from infra.settings import StageSettings

# What a grant or an environment variable may name, by logical id (and the network in-network functions run in).
Resource = (
    dynamodb.Table
    | sqs.Queue
    | s3.Bucket
    | events.EventBus
    | ssm.StringParameter
    | secretsmanager.Secret
    | data.Database
    | data.Cache
    | Network
)
Resources = dict[str, Resource]


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


def bucket(scope: Construct, construct_id: str, spec: model.Bucket, settings: StageSettings) -> s3.Bucket:
    """A private bucket that outlives the stack: no ACLs, no public access, TLS only, versioned in production.

    Bucket names are global across AWS: ending in the deploying account's id (a token, resolved by
    CloudFormation, so synth stays offline) keeps anyone else from taking them first.
    """
    production = settings.is_production
    resource = s3.Bucket(
        scope,
        construct_id,
        bucket_name=f"{settings.prefix}-{spec.name_suffix}-{Aws.ACCOUNT_ID}",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        # The bucket policy's one statement: deny every request made without TLS.
        enforce_ssl=True,
        versioned=production,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="housekeeping",
                abort_incomplete_multipart_upload_after=Duration.days(7),
                noncurrent_version_expiration=Duration.days(90),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    Validations.of(resource).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-S1",
            reason="Server access logs need a log bucket per bucket; CloudTrail data events in the team's "
            "central logging account record object access instead.",
        )
    )
    return resource


def parameter(
    scope: Construct, construct_id: str, spec: model.Parameter, settings: StageSettings
) -> ssm.StringParameter:
    """Runtime settings as a plain String parameter: not secret, changed by the team without a deploy."""
    return ssm.StringParameter(
        scope,
        construct_id,
        parameter_name=f"/{model.SERVICE}/{settings.stage}/{spec.name_suffix}",
        description=f"{settings.prefix} runtime settings (JSON), read by the functions at run time",
        string_value=spec.value,
        tier=ssm.ParameterTier.STANDARD,
    )


def secret(scope: Construct, construct_id: str, spec: model.Secret, settings: StageSettings) -> secretsmanager.Secret:
    """A secret whose value is never in the template: CloudFormation generates a placeholder, the team sets it."""
    resource = secretsmanager.Secret(
        scope,
        construct_id,
        secret_name=f"{model.SERVICE}/{settings.stage}/{spec.name_suffix}",
        description=f"{settings.prefix} report chat webhook URL (set with `aws secretsmanager put-secret-value`)",
    )
    Validations.of(resource).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-SMG4",
            reason="The secret is a chat webhook URL: it is rotated in the chat tool, then stored with "
            "put-secret-value; there is no rotation Lambda that could create a new one.",
        )
    )
    return resource


def arn(resource: Resource, objects: bool = False) -> str:
    """What a role statement names: the resource's ARN, or its objects' (<bucket arn>/*) for a bucket grant."""
    if isinstance(resource, s3.Bucket):
        return resource.arn_for_objects("*") if objects else resource.bucket_arn
    if isinstance(resource, sqs.Queue):
        return resource.queue_arn
    if isinstance(resource, events.EventBus):
        return resource.event_bus_arn
    if isinstance(resource, ssm.StringParameter):
        return resource.parameter_arn
    if isinstance(resource, secretsmanager.Secret):
        return resource.secret_arn
    if isinstance(resource, data.Database):  # rds-db:connect: the database user, through the proxy
        return resource.connect_arn
    return resource.table_arn


def name(resource: Resource) -> str:
    """What an environment variable carries: the resource's name (a queue's name, not its URL), or the
    database's or the cache's URL."""
    if isinstance(resource, data.Database | data.Cache):
        return resource.url
    if isinstance(resource, s3.Bucket):
        return resource.bucket_name
    if isinstance(resource, sqs.Queue):
        return resource.queue_name
    if isinstance(resource, events.EventBus):
        return resource.event_bus_name
    if isinstance(resource, ssm.StringParameter):
        return resource.parameter_name
    if isinstance(resource, secretsmanager.Secret):
        # The name as given: the secret's attributes only hold it inside its ARN, behind a random suffix.
        return resource.node.default_child.name
    return resource.table_name
