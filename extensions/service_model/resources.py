"""The resources each backing service creates: per domain (its table, queue, bucket) and shared
by the domains (the idempotency table, the event bus and topic, the user pool, the settings,
the network, the database, the cache). Physical names are ``<slug>-<stage>-<name_suffix>``."""

from __future__ import annotations

from .catalogue import CONSUMER_TIMEOUT_S, QUEUE_MAX_RECEIVE_COUNT
from .entities import Resource
from .names import detail_type, naming, suffix


def table(domain: str) -> Resource:
    return Resource(
        kind="table",
        logical_id=f"{naming.pascal(domain)}Table",
        domain=domain,
        env_var=f"{domain.upper()}_TABLE_NAME",
        name_suffix=naming.kebab(domain),
    )


def queues(domain: str) -> tuple[Resource, Resource]:
    """A domain's work queue and its dead-letter queue (service "sqs")."""
    pascal = naming.pascal(domain)
    dead_letter = Resource(
        kind="queue",
        logical_id=f"{pascal}DeadLetterQueue",
        domain=domain,
        env_var="",
        name_suffix=f"{naming.kebab(domain)}-dlq",
        visibility_timeout=30,  # SQS's default; nothing consumes it automatically
        retention_seconds=14 * 24 * 3600,  # the longest SQS keeps a message: time to look and redrive
    )
    queue = Resource(
        kind="queue",
        logical_id=f"{pascal}Queue",
        domain=domain,
        env_var=f"{domain.upper()}_QUEUE_NAME",
        name_suffix=naming.kebab(domain),
        dead_letter=dead_letter.logical_id,
        max_receive_count=QUEUE_MAX_RECEIVE_COUNT,
        visibility_timeout=6 * CONSUMER_TIMEOUT_S,  # AWS: at least 6x the consumer's timeout
        retention_seconds=4 * 24 * 3600,
    )
    return queue, dead_letter


def bucket(domain: str, budget: int) -> Resource:
    """A domain's private bucket of files (service "s3"); the name ends in the account id."""
    return Resource(
        kind="bucket",
        logical_id=f"{naming.pascal(domain)}Bucket",
        domain=domain,
        env_var=f"{domain.upper()}_BUCKET_NAME",
        name_suffix=suffix(f"{naming.kebab(domain)}-files", budget),
    )


def shared(slug: str, services: tuple[str, ...], domains: tuple[str, ...]) -> dict[str, Resource]:
    """The resources no single domain owns, by role, for the chosen services."""
    out = {}
    if "sqs" in services:
        out["idempotency"] = Resource(
            kind="table",
            logical_id="IdempotencyTable",
            domain="",
            env_var="IDEMPOTENCY_TABLE_NAME",
            name_suffix="idempotency",
            ttl_attribute="expiration",  # Powertools' default; expired records are deleted by DynamoDB
        )
    if "events" in services:
        out["bus"] = Resource(
            kind="bus", logical_id="EventBus", domain="", env_var="EVENT_BUS_NAME", name_suffix="events"
        )
        out["topic"] = Resource(
            kind="topic",
            logical_id="NotificationsTopic",
            domain="",
            env_var="",  # nothing in the code publishes to it: a bus rule forwards every domain event
            name_suffix="notifications",
            sources=tuple(f"{slug}.{d}" for d in domains),
            detail_types=tuple(detail_type(d) for d in domains),
        )
    if "cognito" in services:
        out["user_pool"] = Resource(
            kind="user_pool", logical_id="UserPool", domain="", env_var="", name_suffix="users"
        )
    if "secrets" in services:
        out["parameter"] = Resource(
            kind="parameter",
            logical_id="SettingsParameter",
            domain="",
            env_var="SETTINGS_PARAMETER_NAME",
            name_suffix="settings",
        )
        out["secret"] = Resource(
            kind="secret",
            logical_id="ReportWebhookSecret",
            domain="",
            env_var="REPORT_WEBHOOK_SECRET_NAME",
            name_suffix="report-webhook",
        )
    if "postgres" in services or "redis" in services:
        out["network"] = Resource(
            kind="network", logical_id="Network", domain="", env_var="", name_suffix="network"
        )
    if "postgres" in services:
        out["database"] = Resource(
            kind="database", logical_id="Database", domain="", env_var="DATABASE_URL", name_suffix="db"
        )
    if "redis" in services:
        out["cache"] = Resource(
            kind="cache", logical_id="Cache", domain="", env_var="CACHE_URL", name_suffix="cache"
        )
    return out
