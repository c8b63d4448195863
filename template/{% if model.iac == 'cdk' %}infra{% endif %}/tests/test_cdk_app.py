"""The CDK app: one stack per stage config, routes equal to the local ones, roles and queues as the
model says, and clean under cdk-nag."""

import dataclasses
import json
import zipfile

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from infra import app as cdk_app
from infra import model, settings

from local.routes import ROUTES

CONFIGS = sorted(settings.CONFIG.glob("*.json"))
FUNCTIONS = [f for d in model.DOMAINS for f in d.functions] + list(model.ADMIN_JOBS)
TABLES = {t.logical_id: t for t in [*(d.table for d in model.DOMAINS), *model.SHARED_TABLES]}
QUEUES = {q.logical_id: q for d in model.DOMAINS for q in (d.queue, d.dead_letter_queue) if q}
# The property that holds the physical name, for the resources a statement or a mapping points at.
NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
}


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> dict:
    """Every stage synthesized once from empty zips, with cdk-nag's AWS Solutions checks registered."""
    build = tmp_path_factory.mktemp("build")
    for path in [*(build / "functions" / f"{name}.zip" for name in cdk_app.ARTIFACTS), build / "layer.zip"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        zipfile.ZipFile(path, "w").close()
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk_app.build_app(build_dir=build, outdir=str(outdir))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    error = None
    try:
        app.synth()
    except RuntimeError as failure:  # a plugin found violations: the report says which
        error = str(failure)
    return {
        "error": error,
        "report": json.loads((outdir / "validation-report.json").read_text()),
        "templates": {
            p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in outdir.glob("*.template.json")
        },
        "metadata": [json.loads(p.read_text()) for p in outdir.glob("*.metadata.json")],
    }


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {key: r for key, r in template["Resources"].items() if r["Type"] == kind}


def named(template: dict, reference: dict) -> str:
    """The physical name of the resource a {"Ref": ...} or {"Fn::GetAtt": [..., ...]} points at."""
    logical_id = reference["Ref"] if "Ref" in reference else reference["Fn::GetAtt"][0]
    resource = template["Resources"][logical_id]
    return resource["Properties"][NAME_PROPERTY[resource["Type"]]]


def listed(value: object) -> list:
    """A policy's Action or Resource: one value or a list of them."""
    return value if isinstance(value, list) else [value]


def physical(prefix: str, logical_id: str) -> str:
    """The name the model gives a table or a queue in one stage."""
    return f"{prefix}-{(TABLES.get(logical_id) or QUEUES[logical_id]).name_suffix}"


def test_every_stage_config_is_a_stack(synth):
    assert set(synth["templates"]) == {f"{model.SERVICE}-{path.stem}" for path in CONFIGS}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_keys_are_the_stage_settings(path):
    assert dataclasses.asdict(settings.load(path)) == json.loads(path.read_text())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_stack_uses_its_stage_config(path, synth):
    config = json.loads(path.read_text())
    prefix = f"{model.SERVICE}-{config['stage']}"
    template = synth["templates"][prefix]
    specs = {f"{prefix}-{f.suffix}": f for f in FUNCTIONS}
    functions = {
        r["Properties"]["FunctionName"]: r["Properties"] for r in resources(template, "AWS::Lambda::Function").values()
    }
    assert set(functions) == set(specs)
    for name, props in functions.items():
        assert props["MemorySize"] == config["memory_size"], name
        assert props["Timeout"] == (specs[name].timeout or config["function_timeout"]), name
        assert props["TracingConfig"]["Mode"] == ("Active" if config["tracing"] else "PassThrough"), name
        variables = props["Environment"]["Variables"]
        assert variables["STAGE"] == config["stage"]
        assert variables["POWERTOOLS_LOG_LEVEL"] == config["log_level"]
    log_groups = {
        r["Properties"]["LogGroupName"]: r["Properties"] for r in resources(template, "AWS::Logs::LogGroup").values()
    }
    assert set(log_groups) == {f"/aws/lambda/{name}" for name in specs} | {f"/aws/http-api/{prefix}"}
    assert {props["RetentionInDays"] for props in log_groups.values()} == {config["log_retention_days"]}
    (stage,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": config["throttle_rate_limit"],
        "ThrottlingBurstLimit": config["throttle_burst_limit"],
    }
    production = config["stage"] == model.PRODUCTION_STAGE
    tables = {r["Properties"]["TableName"]: r for r in resources(template, "AWS::DynamoDB::Table").values()}
    assert set(tables) == {physical(prefix, logical_id) for logical_id in TABLES}
    for logical_id, spec in TABLES.items():
        table = tables[physical(prefix, logical_id)]
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is production
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is production
        ttl = {"AttributeName": spec.ttl_attribute, "Enabled": True} if spec.ttl_attribute else None
        assert table["Properties"].get("TimeToLiveSpecification") == ttl, logical_id


def test_routes_match_the_local_routes(synth):
    for template in synth["templates"].values():
        integrations = resources(template, "AWS::ApiGatewayV2::Integration")
        functions = resources(template, "AWS::Lambda::Function")
        served = set()
        for route in resources(template, "AWS::ApiGatewayV2::Route").values():
            method, path = route["Properties"]["RouteKey"].split(" ", 1)
            integration = integrations[route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]]
            function = functions[integration["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]]
            assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
            served.add((method, path, function["Properties"]["Handler"]))
        assert served == set(ROUTES)


def test_roles_hold_only_what_the_model_grants(synth):
    for name, template in synth["templates"].items():
        assert not resources(template, "AWS::IAM::Policy"), f"{name}: a policy outside the roles"
        assert not resources(template, "AWS::IAM::ManagedPolicy"), f"{name}: a shared managed policy"
        for role_id, role in resources(template, "AWS::IAM::Role").items():
            assert "ManagedPolicyArns" not in role["Properties"], role_id
            for policy in role["Properties"]["Policies"]:
                for statement in policy["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    assert not [a for a in actions if a == "*" or a.endswith(":*")], role_id
                    if statement["Resource"] == "*":
                        assert set(actions) <= set(model.TRACING_ACTIONS), role_id


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_function_roles_hold_exactly_the_model_grants(path, synth):
    """Nothing added by CDK (event sources, grant helpers, tracing) and nothing missing."""
    config = json.loads(path.read_text())
    prefix = f"{model.SERVICE}-{config['stage']}"
    template = synth["templates"][prefix]
    specs = {f"{prefix}-{f.suffix}": f for f in FUNCTIONS}
    for function in resources(template, "AWS::Lambda::Function").values():
        function_name = function["Properties"]["FunctionName"]
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        # The role's inline policies and any policy attached to it elsewhere (a mutable role's grants).
        documents = [p["PolicyDocument"] for p in template["Resources"][role_id]["Properties"].get("Policies", [])]
        documents += [
            p["Properties"]["PolicyDocument"]
            for p in resources(template, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in p["Properties"].get("Roles", [])
        ]
        granted = set()
        for document in documents:
            for statement in document["Statement"]:
                assert statement["Effect"] == "Allow", function_name
                # One resource or several: cdk.json's minimizePolicies merges statements with the same actions.
                names = {"*" if target == "*" else named(template, target) for target in listed(statement["Resource"])}
                granted |= {(name, action) for name in names for action in listed(statement["Action"])}
        wanted = {(f"/aws/lambda/{function_name}", action) for action in model.LOG_ACTIONS}
        wanted |= {(physical(prefix, g.resource), action) for g in specs[function_name].grants for action in g.actions}
        if config["tracing"]:
            wanted |= {("*", action) for action in model.TRACING_ACTIONS}
        assert granted == wanted, function_name


def test_queues_are_the_model_queues(synth):
    consumer_timeouts = {f.trigger.queue: f.timeout for f in FUNCTIONS if f.trigger.kind == "queue"}
    for prefix, template in synth["templates"].items():
        queues = {r["Properties"]["QueueName"]: r for r in resources(template, "AWS::SQS::Queue").values()}
        assert set(queues) == {physical(prefix, logical_id) for logical_id in QUEUES}
        for logical_id, spec in QUEUES.items():
            queue = queues[physical(prefix, logical_id)]
            properties = queue["Properties"]
            assert queue["DeletionPolicy"] == "Delete", logical_id
            assert properties["SqsManagedSseEnabled"] is True, logical_id
            assert properties["VisibilityTimeout"] == spec.visibility_timeout, logical_id
            assert properties["MessageRetentionPeriod"] == spec.retention_seconds, logical_id
            if spec.dead_letter:
                redrive = properties["RedrivePolicy"]
                assert named(template, redrive["deadLetterTargetArn"]) == physical(prefix, spec.dead_letter)
                assert redrive["maxReceiveCount"] == spec.max_receive_count, logical_id
            else:
                assert "RedrivePolicy" not in properties, logical_id
            if logical_id in consumer_timeouts:
                # Lambda refuses to read a queue that hides a message for less than the function may run.
                assert spec.visibility_timeout >= consumer_timeouts[logical_id], logical_id
        # Each queue's policy only refuses requests without TLS; producers and consumers get their
        # permissions from their own roles.
        refusing_plain_http = set()
        for policy in resources(template, "AWS::SQS::QueuePolicy").values():
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            assert [s["Effect"] for s in statements] == ["Deny"]
            assert statements[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            refusing_plain_http |= {named(template, q) for q in policy["Properties"]["Queues"]}
        assert refusing_plain_http == set(queues)


def test_consumers_read_their_queue_with_partial_batch_responses(synth):
    for prefix, template in synth["templates"].items():
        consumers = {f"{prefix}-{f.suffix}": f for f in FUNCTIONS if f.trigger.kind == "queue"}
        mappings: dict[str, list[dict]] = {}
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
            mappings.setdefault(named(template, mapping["Properties"]["FunctionName"]), []).append(
                mapping["Properties"]
            )
        assert set(mappings) == set(consumers)
        for name, spec in consumers.items():
            (mapping,) = mappings[name]
            assert named(template, mapping["EventSourceArn"]) == physical(prefix, spec.trigger.queue), name
            assert mapping["BatchSize"] == spec.trigger.batch_size, name
            # Only the messages the function reports as failed go back to the queue.
            assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
            assert mapping.get("Enabled", True) is True, name


def test_cdk_nag_finds_nothing_unacknowledged(synth):
    violations = [
        f"{violation['ruleName']} ({violation['severity']}) on {construct['constructPath']}: {violation['description']}"
        for report in synth["report"]["pluginReports"]
        for violation in report["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert violations == []
    assert synth["error"] is None


def test_cdk_nag_fails_synth_on_what_is_not_acknowledged(tmp_path):
    """The check above passes only because the findings are acknowledged, not because nothing ran."""
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    statement = iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=["*"])
    iam.Role(
        Stack(app, "Probe"),
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        inline_policies={"wide": iam.PolicyDocument(statements=[statement])},
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Resource::\*\]"):
        app.synth()


def test_every_acknowledged_rule_says_why(synth):
    acknowledged = {
        rule: reason
        for metadata in synth["metadata"]
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    }
    assert acknowledged, "expected the acknowledged cdk-nag findings in the assembly metadata"
    assert {rule: reason for rule, reason in acknowledged.items() if len(reason.split()) < 8} == {}


def test_missing_build_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="Run `make build` first"):
        cdk_app.artifacts(tmp_path)


def test_config_errors_are_clear(tmp_path):
    path = tmp_path / f"{model.STAGES[0]}.json"
    config = json.loads(CONFIGS[0].read_text())
    path.write_text(json.dumps({**config, "stage": model.STAGES[0], "memory": 512}))
    with pytest.raises(SystemExit, match=r"unknown keys \['memory'\]"):
        settings.load(path)
    path.write_text(json.dumps({**config, "stage": model.STAGES[0], "log_retention_days": 10, "tracing": "yes"}))
    with pytest.raises(SystemExit, match="tracing must be bool.*log_retention_days must be one of"):
        settings.load(path)
