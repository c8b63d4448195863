"""Whichever IaC tool a team picks, the same service is deployed.

Each tool's own output (SAM after its transform, `cdk synth`, `serverless package`,
`terraform apply` against a local moto server) is reduced to an inventory (tests/iac_inventory.py): functions with
runtime, memory, timeout and trigger; tables; schedules; log groups; and per function the
IAM actions on each resource. The four inventories must be equal, stage by stage.
"""

from __future__ import annotations

import copy

import pytest

import iac_inventory as inventory
import project_checks as checks
from conftest import render
from model import IAC_TOOLS, build_model

ANSWER_SETS = {
    # The smallest service: one domain, one stage (which is production).
    "minimal": {"domains": ["orders"], "stages": ["live"], "tracing": False},
    # Several domains, two stages, every backing service, the single-package layout, another region.
    "several-domains": {
        "domains": ["orders", "payments", "customer_accounts"],
        "stages": ["dev", "prod"],
        "services": ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"],
        "public_routes": ["GET /payments/{id}"],
        "layout": "single",
        "aws_region": "eu-west-1",
    },
}


@pytest.mark.render
@pytest.mark.parametrize("answer_set", ANSWER_SETS)
def test_every_iac_tool_deploys_the_same_service(copie, answer_set):
    answers = ANSWER_SETS[answer_set]
    found: dict[str, dict[str, dict]] = {}
    for iac in IAC_TOOLS:
        project = render(copie, {**answers, "iac": iac})
        tool = checks.iac_checks(iac)
        found[iac] = {stage: tool.inventory(project, stage) for stage in answers["stages"]}
    model = build_model({**checks.load_answers(project), "iac": "sam"})
    reference = "sam"
    problems = []
    for stage in answers["stages"]:
        assert found[reference][stage]["functions"], "the reference inventory is empty"
        assert len(found[reference][stage]["functions"]) == len(model.functions)
        for iac in IAC_TOOLS:
            if iac != reference:
                problems += inventory.differences(found[reference][stage], found[iac][stage], iac, reference)
    assert not problems, "\n".join(problems)


def _sample() -> dict:
    model = build_model({"project_slug": "shop", "domains": ["orders"], "stages": ["dev"]})
    config = {
        "stage": "dev",
        "log_level": "INFO",
        "log_retention_days": 7,
        "memory_size": 256,
        "function_timeout": 10,
        "tracing": True,
        "throttle_rate_limit": 20,
        "throttle_burst_limit": 40,
    }
    return inventory.expected(model, config)


def test_a_difference_names_the_tool_and_the_item():
    want = _sample()
    got = copy.deepcopy(want)
    create = got["functions"]["shop-dev-orders-create"]
    create["permissions"]["table:shop-dev-orders"].append("dynamodb:DeleteItem")
    create["memory"] = 512
    del got["tables"]["shop-dev-orders"]
    got["functions"]["shop-dev-extra"] = {}
    problems = inventory.differences(want, got, "terraform", "sam")
    assert problems == [
        "terraform: functions.shop-dev-extra is not in sam (found {})",
        "terraform: functions.shop-dev-orders-create.memory is 512, sam has 256",
        "terraform: functions.shop-dev-orders-create.permissions.table:shop-dev-orders is "
        "['dynamodb:PutItem', 'dynamodb:DeleteItem'], sam has ['dynamodb:PutItem']",
        "terraform: tables.shop-dev-orders is missing (sam has {'hash_key': 'id', 'billing': "
        "'PAY_PER_REQUEST', 'point_in_time_recovery': True, 'deletion_protection': True})",
    ]
    assert inventory.differences(want, copy.deepcopy(want), "cdk") == []


def test_arns_become_inventory_keys():
    key = inventory.resource_key
    assert key("arn:aws:dynamodb:eu-west-1:123456789012:table/shop-dev-orders") == "table:shop-dev-orders"
    assert key("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f:*") == "log-group:/aws/lambda/f"
    assert key("arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:*") == "log-group:/aws/lambda/f"
    assert key("arn:aws:lambda:eu-west-1:1:function:f:live") == "function:f"
    assert key("*") == "*"
