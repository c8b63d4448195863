"""Service models built from answers, for the model's unit tests: defaults plus what a test varies."""

from __future__ import annotations

from model import build_model

BASE = {
    "project_name": "Order Service",
    "project_slug": "order-service",
    "domains": ["orders"],
    "stages": ["dev", "staging", "prod"],
}

ALL_SERVICES = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]
# The resource kinds each service brings; a kind no chosen service brings must not appear.
KINDS = {
    "dynamodb": {"table"},
    "sqs": {"queue", "table"},
    "s3": {"bucket"},
    "events": {"bus", "topic"},
    "cognito": {"user_pool"},
    "secrets": {"parameter", "secret"},
    "postgres": {"network", "database"},
    "redis": {"network", "cache"},
}


def model(**answers):
    """The model of ``BASE`` with ``answers`` changed."""
    return build_model({**BASE, **answers})
