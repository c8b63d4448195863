"""infra/serverless.yml agrees with the stage configs, with what `make dev` runs locally (routes, tables,
queues, consumers) and with the one-role-per-function rule.

These read the YAML only; `make validate` packages every stage with the Serverless CLI.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from local import env
from local.routes import CONSUMERS, ROUTES

INFRA = Path(__file__).resolve().parent.parent
CONFIG = INFRA.parent / "config"
CONFIGS = sorted(CONFIG.glob("*.json"))
SOURCE = (INFRA / "serverless.yml").read_text()
# What a Lambda event source mapping needs on the queue it reads, through the function's role
CONSUME_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
# ${file(../config/${sls:stage}.json):key}, and the stage guard's ${opt:stage, '<first>'} form
CONFIG_KEY = re.compile(r"\$\{file\(\.\./config/\$\{(?:sls:stage|opt:stage[^}]*)\}\.json\):(\w+)\}")


@pytest.fixture(scope="module")
def service() -> dict:
    return yaml.safe_load(SOURCE)


@pytest.fixture(scope="module")
def resources(service) -> dict:
    return service["resources"]["Resources"]


def test_every_config_key_is_read_and_every_read_key_exists():
    referenced = set(CONFIG_KEY.findall(SOURCE))
    assert referenced, "serverless.yml reads no config/<stage>.json key"
    for path in CONFIGS:
        assert set(json.loads(path.read_text())) == referenced, path.name


def test_each_config_names_its_stage_and_every_stage_has_params(service):
    stages = {path.stem for path in CONFIGS}
    for path in CONFIGS:
        assert json.loads(path.read_text())["stage"] == path.stem
    assert set(service["params"]) == stages
    production = [stage for stage, params in service["params"].items() if params["production"] is True]
    assert len(production) == 1, "exactly one stage is production"


def test_tracing_setting_maps_onto_a_lambda_mode(service):
    modes = service["custom"]["tracingMode"]
    for path in CONFIGS:
        tracing = json.loads(path.read_text())["tracing"]
        assert modes[str(tracing).lower()] in ("Active", "PassThrough")


def test_routes_match_the_local_routes(service):
    declared = {
        (event["httpApi"]["method"], event["httpApi"]["path"], function["handler"])
        for function in service["functions"].values()
        for event in function.get("events", [])
        if "httpApi" in event
    }
    assert declared == set(ROUTES)


def test_every_function_has_its_own_role(service, resources):
    provider = service["provider"]
    assert "role" not in provider and "iam" not in provider, "no shared role: each function names its own"
    roles = [function["role"] for function in service["functions"].values()]
    assert len(set(roles)) == len(roles), "a role is shared by several functions"
    for key, function in service["functions"].items():
        role = resources[function["role"]]
        assert role["Type"] == "AWS::IAM::Role"
        assert "ManagedPolicyArns" not in role["Properties"]
        # The framework creates /aws/lambda/<function name> as <key>LogGroup: logs go there only.
        logs = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
        assert logs["Resource"] == {"Fn::GetAtt": [f"{key}LogGroup", "Arn"]}


def _statements(role: dict) -> list[dict]:
    """A role's statements, both branches of an Fn::If (the X-Ray one) included."""
    out = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
            out += [branch for branch in branches if "Effect" in branch]
    return out


def test_no_wildcard_actions_and_star_only_for_xray(resources):
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in _statements(resource):
            assert not any(action.endswith("*") for action in statement["Action"]), logical_id
            if statement["Resource"] == "*":
                assert all(action.startswith("xray:") for action in statement["Action"]), logical_id


def test_tables_are_retained(resources):
    tables = {key: r for key, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert tables
    for table in tables.values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] == "${param:production}"


def _local_name(service: dict, name: str) -> str:
    """A physical name of serverless.yml as `make dev` names it: the stage is "local"."""
    return name.replace("${self:service}", service["service"]).replace("${sls:stage}", env.STAGE)


def _of_type(resources: dict, kind: str) -> dict:
    return {key: r["Properties"] for key, r in resources.items() if r["Type"] == kind}


def _variables(service: dict, attribute: str) -> dict[str, str]:
    """Environment variable -> logical id, for the variables set from ``attribute`` of a resource."""
    out = {}
    for function in service["functions"].values():
        for variable, value in function.get("environment", {}).items():
            if not isinstance(value, dict):
                continue
            if attribute == "Ref" and "Ref" in value:
                out[variable] = value["Ref"]
            elif "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == attribute:
                out[variable] = value["Fn::GetAtt"][0]
    return out


def test_tables_match_the_ones_local_development_creates(service, resources):
    tables = _of_type(resources, "AWS::DynamoDB::Table")
    names = {key: _local_name(service, table["TableName"]) for key, table in tables.items()}
    variables = {key: variable for variable, key in _variables(service, "Ref").items()}
    declared = {
        names[key]: (
            variables[key],
            next(k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH"),
            table.get("TimeToLiveSpecification", {}).get("AttributeName", ""),
        )
        for key, table in tables.items()
    }
    assert declared == env.TABLES


def test_queues_match_the_ones_local_development_creates(service, resources):
    queues = _of_type(resources, "AWS::SQS::Queue")
    names = {key: _local_name(service, queue["QueueName"]) for key, queue in queues.items()}
    # Queue variables carry the queue's name (like the tables), never its URL.
    variables = {key: variable for variable, key in _variables(service, "QueueName").items()}
    declared = {}
    for key, queue in queues.items():
        redrive = queue.get("RedrivePolicy")
        declared[names[key]] = (
            variables.get(key, ""),
            names[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]] if redrive else "",
            redrive["maxReceiveCount"] if redrive else 0,
            queue["VisibilityTimeout"],
        )
    assert declared == env.QUEUES


def test_queues_are_encrypted_and_deleted_with_the_stack(resources):
    for key, resource in resources.items():
        if resource["Type"] == "AWS::SQS::Queue":
            assert resource["Properties"]["SqsManagedSseEnabled"] is True, key
            assert resource.get("DeletionPolicy", "Delete") == "Delete", key


def test_every_consumer_reads_its_queue_with_partial_batch_responses(service, resources):
    consumers = []
    for key, function in service["functions"].items():
        for event in function.get("events", []):
            if "sqs" not in event:
                continue
            sqs = event["sqs"]
            # A queue declared in resources (the framework creates none), read by its ARN.
            queue = sqs["arn"]["Fn::GetAtt"][0]
            assert sqs["arn"] == {"Fn::GetAtt": [queue, "Arn"]}, key
            assert resources[queue]["Type"] == "AWS::SQS::Queue", key
            # Only the failed messages of a batch go back to the queue, not the whole batch.
            assert sqs["functionResponseType"] == "ReportBatchItemFailures", key
            assert sqs.get("enabled", True) is True, key
            properties = resources[queue]["Properties"]
            assert "RedrivePolicy" in properties, f"{key} reads a queue with no dead-letter queue"
            # AWS: a queue's visibility timeout should be at least six times its consumer's timeout.
            assert properties["VisibilityTimeout"] >= 6 * function["timeout"], key
            # The framework grants nothing to a role it did not create: the function's role must.
            reads = {
                action
                for statement in _statements(resources[function["role"]])
                if statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
                for action in statement["Action"]
            }
            assert reads >= CONSUME_ACTIONS, key
            consumers.append((_local_name(service, properties["QueueName"]), function["handler"], sqs["batchSize"]))
    assert sorted(consumers) == sorted(CONSUMERS)
