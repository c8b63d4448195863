"""IAM: the exact actions each kind of function needs on each resource, and the environment
variables that name those resources. A function's grants are the only source of its role.

Every function may also write its own log group (``LOG_ACTIONS``) and, with tracing, send X-Ray
segments (``TRACING_ACTIONS``); the renderers add those to each role next to the grants.
"""

from __future__ import annotations

from .entities import Grant, Resource

LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# X-Ray has no resource-level permissions, so this is the one `*` resource.
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# Functions that reach PostgreSQL or Redis run in the service's private subnets. Lambda creates
# their network interfaces with the function's role; EC2 has no resource-level scoping for these.
NETWORK_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
QUEUE_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
# What a Lambda event source mapping needs on the queue it reads (with the function's role).
QUEUE_CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# Powertools idempotency keeps one record per processed message in this table.
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
BUCKET_UPLOAD_ACTIONS = ("s3:PutObject",)  # a presigned URL carries the signer's permissions
BUCKET_DOWNLOAD_ACTIONS = ("s3:GetObject",)
EVENT_PUBLISH_ACTIONS = ("events:PutEvents",)
PARAMETER_READ_ACTIONS = ("ssm:GetParameter",)
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
DATABASE_CONNECT_ACTIONS = ("rds-db:connect",)
FILE_ACTIONS = {"upload": BUCKET_UPLOAD_ACTIONS, "download": BUCKET_DOWNLOAD_ACTIONS}

Environment = tuple[tuple[str, str], ...]  # (variable, logical id of the resource it names)


def env(*resources: Resource) -> Environment:
    """The variables that carry these resources' physical names to the code."""
    return tuple((r.env_var, r.logical_id) for r in resources)


def crud(
    operation: str,
    table_actions: tuple[str, ...],
    table: Resource,
    queue: Resource | None = None,
    bus: Resource | None = None,
    parameter: Resource | None = None,
) -> tuple[tuple[Grant, ...], Environment]:
    """One CRUD route: its table action, and what the chosen services add to some operations."""
    grants, environment = (Grant(table.logical_id, table_actions),), env(table)
    if queue and operation == "create":  # a new record is handed to the domain's consumer as a job
        grants += (Grant(queue.logical_id, QUEUE_SEND_ACTIONS),)
        environment += env(queue)
    if bus and operation == "create":  # ... and announced to the other domains as an event
        grants += (Grant(bus.logical_id, EVENT_PUBLISH_ACTIONS),)
        environment += env(bus)
    if parameter and operation == "list":  # the page size cap is runtime configuration
        grants += (Grant(parameter.logical_id, PARAMETER_READ_ACTIONS),)
        environment += env(parameter)
    return grants, environment


def files(operation: str, table: Resource, bucket: Resource) -> tuple[tuple[Grant, ...], Environment]:
    """A presigned-URL route: the record must exist (GetItem) before a URL for its files is signed."""
    grants = (
        Grant(table.logical_id, ("dynamodb:GetItem",)),
        Grant(bucket.logical_id, FILE_ACTIONS[operation], objects=True),
    )
    return grants, env(table, bucket)


def consumer(
    table: Resource, queue: Resource, idempotency: Resource
) -> tuple[tuple[Grant, ...], Environment]:
    """A queue consumer: reads its queue, updates its records, records each message once."""
    grants = (
        Grant(queue.logical_id, QUEUE_CONSUME_ACTIONS),
        Grant(table.logical_id, ("dynamodb:UpdateItem",)),
        Grant(idempotency.logical_id, IDEMPOTENCY_ACTIONS),
    )
    return grants, env(table, idempotency)


def on_tables(tables: tuple[Resource, ...], action: str) -> tuple[Grant, ...]:
    """One table action on every domain table (the admin jobs)."""
    return tuple(Grant(t.logical_id, (action,)) for t in tables)


def secret_read(secret: Resource) -> tuple[tuple[Grant, ...], Environment]:
    return (Grant(secret.logical_id, SECRET_READ_ACTIONS),), env(secret)


def database_connect(database: Resource) -> tuple[tuple[Grant, ...], Environment]:
    return (Grant(database.logical_id, DATABASE_CONNECT_ACTIONS),), env(database)
