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
from model import IAC_TOOLS, OPERATIONS_DEFAULTS, build_model

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
        "api_route_metrics": False,
        "release": "AllAtOnce",
        "budget_monthly_usd": 20,
        **OPERATIONS_DEFAULTS,
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


def _nested_pair() -> tuple[dict, dict]:
    root = {
        "Parameters": {"Stage": {"Type": "String"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {"TableName": {"Fn::Sub": "shop-${Stage}-t"}},
            },
            "OrdersStack": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": "domains/orders.yaml",
                    "Parameters": {
                        "Service": {"Ref": "AWS::StackName"},
                        "TableArn": {"Fn::GetAtt": ["Table", "Arn"]},
                    },
                },
            },
            "Reader": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Value": {"Fn::Sub": "${OrdersStack.Outputs.FunctionName} reads"}},
            },
        },
    }
    child = {
        "Parameters": {
            "Service": {"Type": "String"},
            "TableArn": {"Type": "String"},
            "Memory": {"Type": "Number", "Default": 256},
        },
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Service"}, "shop-prod"]}},
        "Resources": {
            "Create": {
                "Type": "AWS::Lambda::Function",
                "Condition": "IsProd",
                "Properties": {
                    "FunctionName": {"Fn::Sub": "${Service}-create"},
                    "MemorySize": {"Ref": "Memory"},
                    "Description": {"Fn::If": ["IsProd", {"Ref": "TableArn"}, {"Ref": "AWS::StackName"}]},
                },
            }
        },
        "Outputs": {"FunctionName": {"Value": {"Ref": "Create"}}},
    }
    return root, child


def test_flatten_inlines_a_nested_stack_in_the_roots_terms():
    root, child = _nested_pair()
    flat = inventory.flatten(root, {"OrdersStack": child})
    assert "OrdersStack" not in flat["Resources"]
    create = flat["Resources"]["Create"]
    assert create["Condition"] == "OrdersStackIsProd"  # renamed: the root has its own IsProd
    assert flat["Conditions"]["OrdersStackIsProd"] == {"Fn::Equals": [{"Ref": "AWS::StackName"}, "shop-prod"]}
    assert flat["Conditions"]["IsProd"] == root["Conditions"]["IsProd"]
    props = create["Properties"]
    assert props["FunctionName"] == {"Fn::Sub": ["${Service}-create", {"Service": {"Ref": "AWS::StackName"}}]}
    assert props["MemorySize"] == 256  # not passed: the child's default
    when_prod, otherwise = props["Description"]["Fn::If"][1:]
    assert when_prod == {"Fn::GetAtt": ["Table", "Arn"]}
    assert otherwise == {"Fn::Sub": "${AWS::StackName}-OrdersStack-NESTED1234"}  # the nested stack's own name
    reader = flat["Resources"]["Reader"]["Properties"]["Value"]
    assert reader == {
        "Fn::Sub": [
            "${OrdersStack.Outputs.FunctionName} reads",
            {"OrdersStack.Outputs.FunctionName": {"Ref": "Create"}},
        ]
    }
    resolver = inventory._Resolver(flat, {"Stage": "prod"}, "shop-prod", "eu-west-1")
    assert resolver.value(props["FunctionName"]) == "shop-prod-create"
    assert resolver.value(otherwise) == "shop-prod-OrdersStack-NESTED1234"
    assert resolver.condition("OrdersStackIsProd") is True


def test_flatten_refuses_what_it_cannot_inline():
    root, child = _nested_pair()
    with pytest.raises(ValueError, match=r"nested stacks \['OrdersStack'\] but templates for \[\]"):
        inventory.flatten(root, {})
    del root["Resources"]["OrdersStack"]["Properties"]["Parameters"]["TableArn"]
    with pytest.raises(ValueError, match=r"OrdersStack: no value passed for parameters \['TableArn'\]"):
        inventory.flatten(root, {"OrdersStack": child})
    root, child = _nested_pair()
    child["Resources"]["Table"] = {"Type": "AWS::SQS::Queue"}
    with pytest.raises(ValueError, match=r"both declare the logical ids \['Table'\]"):
        inventory.flatten(root, {"OrdersStack": child})


def test_flatten_renames_what_a_tool_adds_to_every_stack():
    root, child = _nested_pair()
    application = {"Type": "AWS::CodeDeploy::Application", "Properties": {"ComputePlatform": "Lambda"}}
    root["Resources"]["ServerlessDeploymentApplication"] = dict(application)
    child["Resources"]["ServerlessDeploymentApplication"] = dict(application)
    child["Resources"]["Group"] = {
        "Type": "AWS::CodeDeploy::DeploymentGroup",
        "DependsOn": "ServerlessDeploymentApplication",
        "Properties": {"ApplicationName": {"Ref": "ServerlessDeploymentApplication"}},
    }
    flat = inventory.flatten(root, {"OrdersStack": child})["Resources"]
    assert "OrdersStackServerlessDeploymentApplication" in flat and "ServerlessDeploymentApplication" in flat
    assert flat["Group"]["Properties"]["ApplicationName"] == {
        "Ref": "OrdersStackServerlessDeploymentApplication"
    }
    assert flat["Group"]["DependsOn"] == ["OrdersStackServerlessDeploymentApplication"]
