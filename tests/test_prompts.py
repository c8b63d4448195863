"""Bad answers are refused with a message that names the problem and the fix, and nothing is written."""

from __future__ import annotations

import re

import pytest
from copier import run_copy

from conftest import ROOT

BAD_ANSWERS = [
    ({"project_slug": "1service"}, "starts with a digit: start it with a letter"),
    ({"project_slug": "OrderService"}, "has capital letters: use lower case, e.g. 'order-service'"),
    ({"project_slug": "order service"}, "has spaces: join words with '-', e.g. 'order-service'"),
    ({"project_slug": "order_service!"}, "has punctuation: use lower-case letters and digits"),
    ({"project_slug": "order--service"}, "has punctuation"),
    ({"project_slug": "ab"}, "is too short: use 3 to 32 characters"),
    ({"project_slug": "a" * 33}, "is 33 characters long: use at most 32"),
    ({"project_slug": "class"}, "is a Python keyword: pick another name"),
    ({"project_slug": "json"}, "is a Python standard library module"),
    ({"project_name": "   "}, "The project name is empty"),
    ({"domains": ["orders", "orders"]}, "The domain 'orders' is listed twice: each domain must be unique."),
    ({"domains": []}, "The domain list is empty: give at least one domain"),
    ({"domains": ["Orders"]}, "The domain name 'Orders' is not valid: use lower-case letters"),
    ({"domains": ["platform"]}, "collides with a folder or package the template owns"),
    ({"domains": ["admin"]}, "collides with a folder or package the template owns"),
    ({"domains": ["infra"]}, "collides with a folder or package the template owns"),
    ({"domains": ["tests"]}, "collides with a folder or package the template owns"),
    ({"domains": ["json"]}, "would shadow the Python module 'json'"),
    ({"domains": ["idempotency"]}, "is taken by a resource the domains share"),
    ({"domains": ["import"]}, "is a Python keyword"),
    ({"domains": "orders"}, "The domains must be a list such as [orders]"),
    ({"stages": []}, "The stage list is empty: give at least one stage"),
    ({"stages": ["dev", "config"]}, "The stage name 'config' collides with a folder"),
    ({"stages": ["dev", "local"]}, "reserved for `make dev`"),
    ({"stages": ["dev", "dev"]}, "The stage 'dev' is listed twice"),
    ({"stages": ["qa_1"]}, "has '_': AWS stack names allow only letters, digits and '-'"),
    (
        {"project_slug": "a" * 32, "stages": ["dev", "preproductionfrankfurt"]},
        "is 55 characters; it prefixes every Lambda function name, which AWS limits to 64, so it may be "
        "at most 50: shorten the stage name or the project slug.",
    ),
    (
        {"project_slug": "a" * 32, "stages": ["dev", "preprodeu"], "services": ["dynamodb", "s3"]},
        "'" + "a" * 32 + "-preprodeu' is 42 characters; with s3 it starts every bucket name",
    ),
    (
        {"project_slug": "a" * 28, "stages": ["dev", "staging"], "services": ["dynamodb", "redis"]},
        "'"
        + "a" * 28
        + "-staging' is 36 characters; with redis it starts the cache's name, which ElastiCache "
        "limits to 40, so it may be at most 34",
    ),
    ({"services": ["sqs"]}, "Select dynamodb: every domain keeps its records in its own DynamoDB table."),
    ({"services": []}, "Select dynamodb"),
    ({"services": ["dynamodb", "kafka"]}, "Invalid choice for 'services'"),
    (
        {"public_routes": ["GET /orders"]},
        "Public routes only mean something with cognito: select cognito, or leave public_routes empty.",
    ),
    (
        {"services": ["dynamodb", "cognito"], "public_routes": ["GET /order"]},
        "No such route: GET /order. Public routes are written as one of: POST /orders, GET /orders/{id}",
    ),
    (
        {"services": ["dynamodb", "cognito"], "public_routes": "GET /orders"},
        'The public routes must be a YAML list such as ["GET /orders"]',
    ),
    (
        {"iac": "pulumi"},
        "Invalid choice for 'iac': 'pulumi' is not in ['sam', 'cdk', 'terraform', 'serverless']",
    ),
    ({"aws_region": "mars-east-1"}, "'mars-east-1' is not an AWS region this template supports"),
    ({"aws_region": "US-EAST-1"}, "is not an AWS region"),
    (
        {"author_email": "not-an-email"},
        "'not-an-email' is not an email address: use the form name@example.com",
    ),
    (
        {"log_retention_days": {"dev": 7, "staging": 30, "prod": 366}},
        "Log retention 366 for stage 'prod' is not a CloudWatch value",
    ),
    (
        {"stages": ["dev", "prod"], "log_retention_days": {"dev": 7}},
        "Log retention has no value for stage 'prod'",
    ),
    (
        {"log_retention_days": {"dev": 7, "staging": 30, "prod": 365, "qa": 7}},
        "names 'qa', which is not one of the stages",
    ),
]


@pytest.mark.parametrize(
    ("answers", "message"), BAD_ANSWERS, ids=lambda v: str(v)[:40] if isinstance(v, dict) else None
)
def test_bad_answer_is_rejected_with_a_clear_message(tmp_path, answers, message):
    destination = tmp_path / "service"
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        run_copy(
            str(ROOT), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True
        )
    assert "Nothing was written" in str(raised.value)
    assert not destination.exists(), "a rejected answer must not leave a half-rendered project"


def test_there_are_at_least_fifteen_bad_answer_cases():
    assert len(BAD_ANSWERS) >= 15
    assert len({msg for _, msg in BAD_ANSWERS}) >= 15
