"""The CDK app: one stack per stage config (with a nested stack per domain when the model says so),
routes equal to the local ones, roles, queues and the other backing services as the model says, and
clean under cdk-nag.

Most tests read a stage as one template: its stack with each domain's nested stack put back in place
(see flatten), so they hold whichever stack a resource is in.
"""

import dataclasses
import fcntl
import json
import re
import zipfile

import pytest
from aws_cdk import App, Environment, NestedStack, Stack, Validations
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks

from infra import app as cdk_app
from infra import model, operations, settings
from infra.domain import DomainService
from infra.shared import SharedInfra

from local.routes import PROTECTED_ROUTES, ROUTES, SUBSCRIBERS

CONFIGS = sorted(settings.CONFIG.glob("*.json"))
STAGES = [path.stem for path in CONFIGS]
# The stages synthesized: the first and production. Every stage in between is, like the first, a
# non-production stage built by the same code from other values (test_config_keys_are_the_stage_settings
# reads every config file; test_concurrency_release_and_e_mail_come_from_the_stage_config checks how values
# reach the resources).
SYNTHESIZED = list(dict.fromkeys([next(s for s in model.STAGES if s in STAGES), model.PRODUCTION_STAGE]))
FUNCTIONS = [f for d in model.DOMAINS for f in d.functions] + list(model.ADMIN_JOBS)
TABLES = {t.logical_id: t for t in [*(d.table for d in model.DOMAINS), *model.SHARED_TABLES]}
QUEUES = {q.logical_id: q for d in model.DOMAINS for q in (d.queue, d.dead_letter_queue) if q}
BUCKETS = {d.bucket.logical_id: d.bucket for d in model.DOMAINS if d.bucket}
SHARED = [
    model.EVENT_BUS,
    model.TOPIC,
    model.USER_POOL,
    model.SETTINGS_PARAMETER,
    model.REPORT_SECRET,
    model.DATABASE,
    model.CACHE,
]
# Every record of infra/model.py that becomes a named resource, by logical id.
SPECS = {**TABLES, **QUEUES, **BUCKETS, **{spec.logical_id: spec for spec in SHARED if spec}}
# Bucket names end in the deploying account's id, which the offline synth leaves to CloudFormation.
ACCOUNT = "${AWS::AccountId}"
# The property that holds the physical name, for the resources a statement or a mapping points at.
NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::Cognito::UserPoolClient": "ClientName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBProxy": "DBProxyName",
    "AWS::ElastiCache::ServerlessCache": "ServerlessCacheName",
}

# The properties of the PostgreSQL cluster and its writer that the model decides.
CLUSTER_PROPERTIES = [
    "DBClusterIdentifier",
    "Engine",
    "EngineVersion",
    "DatabaseName",
    "MasterUsername",
    "ManageMasterUserPassword",
    "EnableIAMDatabaseAuthentication",
    "StorageEncrypted",
    "ServerlessV2ScalingConfiguration",
    "DeletionProtection",
    "BackupRetentionPeriod",
]
INSTANCE_PROPERTIES = ["DBClusterIdentifier", "DBInstanceClass", "Engine", "PubliclyAccessible"]

# What a domain's nested stack may hold: its functions and what is per function. Everything that holds
# data, and what the domains share, stays in the stage's stack.
DOMAIN_STACK_KINDS = {
    "AWS::Lambda::Function",
    "AWS::Logs::LogGroup",
    "AWS::IAM::Role",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Events::Rule",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Integration",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::QueryDefinition",
}
# CloudFormation's quotas per stack (resources with headroom below the 500 limit) and per role.
MAX_RESOURCES = 450
MAX_PARAMETERS = MAX_OUTPUTS = 200
MAX_TEMPLATE_BYTES = 1_000_000  # a template deployed from S3, as nested stacks are
MAX_INLINE_POLICY_CHARS = 10_240  # all inline policies of one role together


_CACHE: dict[str, dict] = {}


def synthesize(stage: str, tmp_path_factory) -> dict:
    """One stage, synthesized once per test run; cdk-nag checks the production stage.

    A stage at thirty domains takes seconds to build and as long again to check, so only
    production, the strictest stage, pays for cdk-nag, and pytest-xdist's workers share the work
    (as its docs suggest for expensive fixtures: through files under the run's temporary
    directory, one lock per stage): a worker synthesizes each stage no other worker has taken,
    then reads the one it needs, waiting for it if another worker is still on it.
    """
    if stage not in _CACHE:
        base = tmp_path_factory.getbasetemp()
        # The run's directory, not the worker's (xdist names those popen-gw<N>). Not the environment's
        # PYTEST_XDIST_WORKER: a run started from another xdist run inherits it.
        shared = base.parent if base.name.startswith("popen-gw") else base
        start = SYNTHESIZED.index(stage)
        # The stage needed first, then the others, each unless another worker has it; then wait for the one needed.
        for each, wait in [*((s, False) for s in SYNTHESIZED[start:] + SYNTHESIZED[:start]), (stage, True)]:
            with (shared / f"cdk-{each}.lock").open("w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                done = shared / f"cdk-{each}.json"
                if not done.exists():
                    done.write_text(json.dumps(_synthesize(each, tmp_path_factory)))
        _CACHE[stage] = json.loads((shared / f"cdk-{stage}.json").read_text())
    return _CACHE[stage]


def _synthesize(stage: str, tmp_path_factory) -> dict:
    build = tmp_path_factory.mktemp("build")
    for path in [*(build / "functions" / f"{name}.zip" for name in cdk_app.ARTIFACTS), build / "layer.zip"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        zipfile.ZipFile(path, "w").close()
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk_app.build_app(build_dir=build, outdir=str(outdir), stages=[stage])
    if stage == model.PRODUCTION_STAGE:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    error = None
    try:
        app.synth()
    except RuntimeError as failure:  # a plugin found violations: the report says which
        error = str(failure)
    # The stage's stack ("root") and its nested stacks by the logical id the root gives them; and the
    # stage as one template, which most tests read.
    stacks, templates = {}, {}
    for stack in filter(Stack.is_stack, app.node.children):
        root = json.loads((outdir / stack.template_file).read_text())
        nested = {
            child.node.id: json.loads((outdir / child.template_file).read_text())
            for child in stack.node.children
            if NestedStack.is_nested_stack(child)
        }
        stacks[stack.stack_name] = {"root": root, **nested}
        templates[stack.stack_name] = flatten(root, nested)
    report = outdir / "validation-report.json"
    return {
        "stage": stage,
        "config": json.loads((settings.CONFIG / f"{stage}.json").read_text()),
        "error": error,
        "report": json.loads(report.read_text()) if report.exists() else None,
        "stacks": stacks,
        "templates": templates,
        "metadata": [json.loads(p.read_text()) for p in outdir.glob("*.metadata.json")],
    }


@pytest.fixture(scope="module", params=SYNTHESIZED)
def synth(request, tmp_path_factory) -> dict:
    """Each synthesized stage in turn: a test that takes it runs once per stage."""
    return synthesize(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    """The production stage, the one cdk-nag checks."""
    return synthesize(model.PRODUCTION_STAGE, tmp_path_factory)


def flatten(root: dict, children: dict[str, dict]) -> dict:
    """A stage as one template: each nested stack's resources in place of its AWS::CloudFormation::Stack,
    their references to the nested stack's parameters replaced by the values the root passes in."""
    flat = {key: r for key, r in root["Resources"].items() if r["Type"] != "AWS::CloudFormation::Stack"}
    for stack_id, child in children.items():
        passed = root["Resources"][stack_id]["Properties"].get("Parameters", {})
        for key, resource in child["Resources"].items():
            assert key not in flat, f"{stack_id}: {key} is also in the stage's stack"
            flat[key] = _passed_in(resource, passed)
    return {**root, "Resources": flat}


def _passed_in(value: object, passed: dict) -> object:
    if isinstance(value, dict):
        if list(value) == ["Ref"] and value["Ref"] in passed:
            return passed[value["Ref"]]
        return {key: _passed_in(item, passed) for key, item in value.items()}
    if isinstance(value, list):
        return [_passed_in(item, passed) for item in value]
    return value


def references(value: object) -> tuple[set[str], set[str]]:
    """(what the template's Ref and Fn::Sub name, the resources its Fn::GetAtt name) in a template part."""
    refs, attributes = set(), set()
    if isinstance(value, dict):
        if list(value) == ["Ref"]:
            refs.add(value["Ref"])
        elif list(value) == ["Fn::GetAtt"]:
            attributes.add(value["Fn::GetAtt"][0])
        elif list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):
            refs |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", value["Fn::Sub"])}
        for item in value.values():
            inner_refs, inner_attributes = references(item)
            refs, attributes = refs | inner_refs, attributes | inner_attributes
    elif isinstance(value, list):
        for item in value:
            inner_refs, inner_attributes = references(item)
            refs, attributes = refs | inner_refs, attributes | inner_attributes
    return refs, attributes


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {key: r for key, r in template["Resources"].items() if r["Type"] == kind}


def named(template: dict, reference: dict) -> str:
    """The physical name of the resource a {"Ref": ...} or {"Fn::GetAtt": [..., ...]} points at.

    An ARN built with Fn::Join (a parameter's, a bucket's objects: <arn>/*, a database user's:
    ...:dbuser:<proxy id>/<user>) names the resource it joins, followed by the path it ends with.
    A field of an ARN (Fn::Select of an Fn::Split, such as the proxy's id) names that ARN's resource.
    An alias is named <function name>:<alias name>.
    """
    if "Fn::Join" in reference:
        parts = reference["Fn::Join"][1]
        (inner,) = [p for p in parts if isinstance(p, dict) and p.get("Ref", "").split("::")[0] != "AWS"]
        path = parts[-1] if isinstance(parts[-1], str) and parts[-1].startswith("/") else ""
        return named(template, inner) + path
    if "Fn::Select" in reference:
        return named(template, reference["Fn::Select"][1]["Fn::Split"][1])
    logical_id = reference["Ref"] if "Ref" in reference else reference["Fn::GetAtt"][0]
    resource = template["Resources"][logical_id]
    if resource["Type"] == "AWS::Lambda::Alias":  # <function name>:<alias>, as Lambda qualifies a function
        return f"{named(template, resource['Properties']['FunctionName'])}:{resource['Properties']['Name']}"
    return text(resource["Properties"][NAME_PROPERTY[resource["Type"]]])


def text(value: str | dict) -> str:
    """A physical name as a string: a bucket's joins its prefix to the account id (written as ACCOUNT)."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    assert all(isinstance(part, str) or part == {"Ref": "AWS::AccountId"} for part in parts), value
    return separator.join(part if isinstance(part, str) else ACCOUNT for part in parts)


def listed(value: object) -> list:
    """A policy's Action or Resource: one value or a list of them."""
    return value if isinstance(value, list) else [value]


def physical(prefix: str, logical_id: str) -> str:
    """The name the model gives a resource in one stage (prefix: <service>-<stage>)."""
    spec, stage = SPECS[logical_id], prefix.removeprefix(f"{model.SERVICE}-")
    if isinstance(spec, model.Parameter):
        return f"/{model.SERVICE}/{stage}/{spec.name_suffix}"
    if isinstance(spec, model.Secret):
        return f"{model.SERVICE}/{stage}/{spec.name_suffix}"
    if isinstance(spec, model.Bucket):
        return f"{prefix}-{spec.name_suffix}-{ACCOUNT}"
    return f"{prefix}-{spec.name_suffix}"


def stage_templates(synth) -> list[tuple[str, dict, bool]]:
    """(prefix, template, is production) for the stage."""
    return [
        (prefix, template, prefix == f"{model.SERVICE}-{model.PRODUCTION_STAGE}")
        for prefix, template in sorted(synth["templates"].items())
    ]


def test_every_stage_config_is_a_stack(synth):
    assert sorted(stage.prefix for stage in settings.stages()) == [f"{model.SERVICE}-{stage}" for stage in STAGES]
    assert list(synth["templates"]) == [f"{model.SERVICE}-{synth['stage']}"]


def function_names(template: dict) -> set[str]:
    return {r["Properties"]["FunctionName"] for r in resources(template, "AWS::Lambda::Function").values()}


def test_each_domain_deploys_its_functions_in_its_own_nested_stack(synth):
    for prefix, stacks in synth["stacks"].items():
        nested = resources(stacks["root"], "AWS::CloudFormation::Stack")
        if not model.DOMAIN_STACKS:
            assert nested == {} and list(stacks) == ["root"], prefix
            continue
        assert set(nested) == set(stacks) - {"root"} == {domain.stack_id for domain in model.DOMAINS}
        # The stage's stack runs only the admin jobs; the data and what the domains share are there too.
        assert function_names(stacks["root"]) == {f"{prefix}-{job.suffix}" for job in model.ADMIN_JOBS}
        for domain in model.DOMAINS:
            template = stacks[domain.stack_id]
            assert function_names(template) == {f"{prefix}-{f.suffix}" for f in domain.functions}, domain.name
            kinds = {r["Type"] for r in template["Resources"].values()}
            assert kinds <= DOMAIN_STACK_KINDS, f"{domain.stack_id}: {kinds - DOMAIN_STACK_KINDS}"


def test_nested_stacks_reach_the_stage_stack_only_through_their_parameters(synth):
    """No exports, and nothing the stage's stack reads back: the stacks depend one way, without a cycle."""
    for prefix, stacks in synth["stacks"].items():
        assert not [o for o in stacks["root"].get("Outputs", {}).values() if "Export" in o], prefix
        for stack_id, template in stacks.items():
            if stack_id == "root":
                continue
            parameters = set(template.get("Parameters", {}))
            assert set(stacks["root"]["Resources"][stack_id]["Properties"].get("Parameters", {})) == parameters
            assert not template.get("Outputs"), stack_id
            assert "Fn::ImportValue" not in json.dumps(template), stack_id
            refs, attributes = references(template["Resources"])
            own = set(template["Resources"])
            assert {r for r in refs if not r.startswith("AWS::")} <= own | parameters, stack_id
            assert attributes <= own, stack_id


def test_every_stack_stays_within_cloudformation_quotas(synth):
    for prefix, stacks in synth["stacks"].items():
        for stack_id, template in stacks.items():
            where = f"{prefix} {stack_id}"
            assert len(template["Resources"]) <= MAX_RESOURCES, where
            assert len(template.get("Parameters", {})) <= MAX_PARAMETERS, where
            assert len(template.get("Outputs", {})) <= MAX_OUTPUTS, where
            assert len(json.dumps(template, indent=1)) <= MAX_TEMPLATE_BYTES, where
            for role_id, role in resources(template, "AWS::IAM::Role").items():
                policies = [json.dumps(p["PolicyDocument"]) for p in role["Properties"].get("Policies", [])]
                assert sum(map(len, policies)) <= MAX_INLINE_POLICY_CHARS, f"{where} {role_id}"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_keys_are_the_stage_settings(path):
    assert dataclasses.asdict(settings.load(path)) == json.loads(path.read_text())


def test_stack_uses_its_stage_config(synth):
    config = synth["config"]
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
        "DetailedMetricsEnabled": config["api_route_metrics"],
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
            # The route invokes the function's alias.
            alias = template["Resources"][integration["Properties"]["IntegrationUri"]["Ref"]]
            assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == model.ALIAS
            function = functions[alias["Properties"]["FunctionName"]["Ref"]]
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
                        assert set(actions) <= {*model.TRACING_ACTIONS, *model.NETWORK_ACTIONS}, role_id


def test_function_roles_hold_exactly_the_model_grants(synth):
    """Nothing added by CDK (event sources, grant helpers, tracing) and nothing missing."""
    config = synth["config"]
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
        wanted |= {(granted_on(prefix, g), action) for g in specs[function_name].grants for action in g.actions}
        if config["tracing"]:
            wanted |= {("*", action) for action in model.TRACING_ACTIONS}
        if specs[function_name].network:
            wanted |= {("*", action) for action in model.NETWORK_ACTIONS}
        assert granted == wanted, function_name


def granted_on(prefix: str, grant: model.Grant) -> str:
    """What a grant's statement names: the resource, a bucket's objects, or the database user (via the proxy)."""
    if model.DATABASE and grant.resource == model.DATABASE.logical_id:
        return f"{physical(prefix, grant.resource)}/{model.DATABASE.user}"
    return physical(prefix, grant.resource) + ("/*" if grant.objects else "")


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
        # Each consumer's alias reads the queue.
        consumers = {f"{prefix}-{f.suffix}:{model.ALIAS}": f for f in FUNCTIONS if f.trigger.kind == "queue"}
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
            assert mapping["ScalingConfig"] == {"MaximumConcurrency": synth["config"]["queue_max_concurrency"]}, name


def test_buckets_are_private_tls_only_and_outlive_the_stack(synth):
    for prefix, template, production in stage_templates(synth):
        buckets = {text(r["Properties"]["BucketName"]): r for r in resources(template, "AWS::S3::Bucket").values()}
        assert set(buckets) == {physical(prefix, logical_id) for logical_id in BUCKETS}
        for name, bucket in buckets.items():
            properties = bucket["Properties"]
            assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain", name
            (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}, name
            assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
                ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
            ), name
            assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}, name
            # Old versions cost money: only production keeps them.
            versioning = properties.get("VersioningConfiguration", {}).get("Status")
            assert versioning == ("Enabled" if production else None), name
            (rule,) = properties["LifecycleConfiguration"]["Rules"]
            assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}, name
            assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}, name
        # Each bucket's policy only refuses requests without TLS, on the bucket and on its objects.
        tls_only = set()
        for policy in resources(template, "AWS::S3::BucketPolicy").values():
            (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
            assert statement["Effect"] == "Deny" and statement["Action"] == "s3:*"
            assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            bucket = named(template, policy["Properties"]["Bucket"])
            assert {named(template, target) for target in statement["Resource"]} == {bucket, f"{bucket}/*"}
            tls_only.add(bucket)
        assert tls_only == set(buckets)


def test_protected_routes_need_a_token_and_public_ones_do_not(synth):
    public = {(f.trigger.method, f.trigger.path) for f in FUNCTIONS if f.trigger.kind == "http" and f.trigger.public}
    for prefix, template in synth["templates"].items():
        authorizers = resources(template, "AWS::ApiGatewayV2::Authorizer")
        with_token = set()
        for route in resources(template, "AWS::ApiGatewayV2::Route").values():
            properties = route["Properties"]
            method, path = properties["RouteKey"].split(" ", 1)
            protected = model.USER_POOL is not None and (method, path) not in public
            assert properties.get("AuthorizationType", "NONE") == ("JWT" if protected else "NONE"), path
            assert ("AuthorizerId" in properties) is protected, path
            if protected:
                assert properties["AuthorizerId"]["Ref"] in authorizers, path
                with_token.add(properties["RouteKey"])
        # `make dev` asks for a token on the same routes.
        assert with_token == set(PROTECTED_ROUTES)
        if model.USER_POOL is None:
            assert not authorizers
            continue
        (authorizer,) = authorizers.values()
        jwt = authorizer["Properties"]["JwtConfiguration"]
        assert authorizer["Properties"]["IdentitySource"] == ["$request.header.Authorization"]
        (audience,) = jwt["Audience"]
        assert named(template, audience) == f"{prefix}-{model.USER_POOL.client_suffix}"
        issuer, pool = jwt["Issuer"]["Fn::Join"][1]
        assert issuer == f"https://cognito-idp.{model.REGION}.amazonaws.com/"
        assert named(template, pool) == physical(prefix, model.USER_POOL.logical_id)


def test_user_pool_admits_only_admin_created_users(synth):
    for prefix, template, production in stage_templates(synth):
        if model.USER_POOL is None:
            assert not resources(template, "AWS::Cognito::UserPool"), prefix
            assert not resources(template, "AWS::Cognito::UserPoolClient"), prefix
            continue
        (pool,) = resources(template, "AWS::Cognito::UserPool").values()
        properties = pool["Properties"]
        assert properties["UserPoolName"] == physical(prefix, model.USER_POOL.logical_id)
        assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"] == "Retain"
        assert properties["DeletionProtection"] == ("ACTIVE" if production else "INACTIVE")
        assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
        assert properties["UsernameAttributes"] == properties["AutoVerifiedAttributes"] == ["email"]
        assert properties["Policies"]["PasswordPolicy"] == {
            "MinimumLength": 12,
            "RequireLowercase": True,
            "RequireNumbers": True,
            "RequireSymbols": True,
            "RequireUppercase": True,
        }
        assert properties["MfaConfiguration"] == "OPTIONAL"
        assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
        (client,) = resources(template, "AWS::Cognito::UserPoolClient").values()
        assert client["Properties"]["ClientName"] == f"{prefix}-{model.USER_POOL.client_suffix}"
        assert client["Properties"]["GenerateSecret"] is False
        assert client["Properties"]["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        assert client["Properties"]["PreventUserExistenceErrors"] == "ENABLED"


def test_each_subscriber_rule_delivers_to_its_function_only(synth):
    subscribers = [f for f in FUNCTIONS if f.trigger.kind == "event"]
    for prefix, template in synth["templates"].items():
        rules = {
            r["Properties"]["Name"]: (key, r["Properties"])
            for key, r in resources(template, "AWS::Events::Rule").items()
        }
        permissions = [p["Properties"] for p in resources(template, "AWS::Lambda::Permission").values()]
        for spec in subscribers:
            name = f"{prefix}-{spec.suffix}"  # a subscriber's rule is named like the function
            rule_id, rule = rules[name]
            assert named(template, rule["EventBusName"]) == physical(prefix, spec.trigger.bus), name
            assert rule["EventPattern"] == {
                "source": sorted(spec.trigger.sources),
                "detail-type": sorted(spec.trigger.detail_types),
            }, name
            (target,) = rule["Targets"]
            assert named(template, target["Arn"]) == f"{name}:{model.ALIAS}"  # the function's alias
            assert target["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}, name
            invokers = [
                p
                for p in permissions
                if p["Principal"] == "events.amazonaws.com"
                and named(template, p["FunctionName"]) == f"{name}:{model.ALIAS}"
            ]
            assert [p["SourceArn"] for p in invokers] == [{"Fn::GetAtt": [rule_id, "Arn"]}], name
        # `make dev` delivers events to the same handlers.
        handlers = {f["Properties"]["Handler"] for f in resources(template, "AWS::Lambda::Function").values()}
        assert {spec.handler for spec in subscribers} == {handler for _, handler in SUBSCRIBERS} <= handlers
        delivering = {n for n, (_, rule) in rules.items() if "ScheduleExpression" not in rule}
        assert delivering == {f"{prefix}-{f.suffix}" for f in subscribers} | (
            {f"{prefix}-{model.TOPIC.rule_suffix}"} if model.TOPIC else set()
        )


def topics(template: dict) -> dict[str, str]:
    """The template's topics: name -> logical id (the alarm topic is in every stage)."""
    return {r["Properties"]["TopicName"]: key for key, r in resources(template, "AWS::SNS::Topic").items()}


def topic_policy(template: dict, topic_id: str) -> dict:
    (policy,) = [
        p["Properties"]
        for p in resources(template, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    return policy


def test_topic_gets_the_domain_events_only_from_its_rule(synth):
    for prefix, template in synth["templates"].items():
        if model.TOPIC is None:
            assert set(topics(template)) == {f"{prefix}-alarms"}, prefix
            assert not resources(template, "AWS::Events::EventBus"), prefix
            continue
        assert set(topics(template)) == {f"{prefix}-alarms", physical(prefix, model.TOPIC.logical_id)}
        topic_id = topics(template)[physical(prefix, model.TOPIC.logical_id)]
        (bus,) = resources(template, "AWS::Events::EventBus").values()
        assert bus["Properties"]["Name"] == physical(prefix, model.EVENT_BUS.logical_id)
        rules = {
            r["Properties"]["Name"]: (key, r["Properties"])
            for key, r in resources(template, "AWS::Events::Rule").items()
        }
        rule_id, rule = rules[f"{prefix}-{model.TOPIC.rule_suffix}"]
        assert named(template, rule["EventBusName"]) == physical(prefix, model.EVENT_BUS.logical_id)
        assert rule["EventPattern"] == {
            "source": sorted(model.TOPIC.sources),
            "detail-type": sorted(model.TOPIC.detail_types),
        }
        assert rule["Targets"] == [{"Arn": {"Ref": topic_id}, "Id": "Topic"}]
        policy = topic_policy(template, topic_id)
        allowed = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        assert allowed == [
            {
                "Action": "sns:Publish",
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}},
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Resource": {"Ref": topic_id},
                "Sid": "PublishFromTheBusRule",
            }
        ]
        subscriptions = resources(template, "AWS::SNS::Subscription").values()
        assert not [s for s in subscriptions if s["Properties"]["TopicArn"] == {"Ref": topic_id}], (
            "subscriptions are the team's to add"
        )


def test_settings_parameter_and_a_secret_without_a_value(synth):
    for prefix, template in synth["templates"].items():
        if model.SETTINGS_PARAMETER is None:
            assert not resources(template, "AWS::SSM::Parameter"), prefix
            assert not resources(template, "AWS::SecretsManager::Secret"), prefix
            continue
        (parameter,) = resources(template, "AWS::SSM::Parameter").values()
        assert parameter["Properties"]["Name"] == physical(prefix, model.SETTINGS_PARAMETER.logical_id)
        assert parameter["Properties"]["Type"] == "String"
        assert json.loads(parameter["Properties"]["Value"]) == json.loads(model.SETTINGS_PARAMETER.value)
        (secret,) = resources(template, "AWS::SecretsManager::Secret").values()
        assert secret["Properties"]["Name"] == physical(prefix, model.REPORT_SECRET.logical_id)
        # No value in the template: CloudFormation generates a placeholder until the team stores the real one.
        assert "SecretString" not in secret["Properties"]
        assert "GenerateSecretString" in secret["Properties"]


def test_network_is_two_private_subnets_whose_only_way_out_is_dynamodb(synth):
    for prefix, template in synth["templates"].items():
        kinds = {r["Type"] for r in template["Resources"].values() if r["Type"].startswith("AWS::EC2::")}
        if model.NETWORK is None:
            assert not kinds, prefix
            continue
        # No internet gateway, NAT gateway, elastic IP or route: nothing here calls the internet.
        assert kinds == {
            "AWS::EC2::VPC",
            "AWS::EC2::Subnet",
            "AWS::EC2::RouteTable",
            "AWS::EC2::SubnetRouteTableAssociation",
            "AWS::EC2::VPCEndpoint",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::SecurityGroupIngress",
        }, prefix
        (vpc,) = resources(template, "AWS::EC2::VPC").values()
        assert vpc["Properties"]["CidrBlock"] == "10.0.0.0/16"
        assert vpc["Properties"]["EnableDnsSupport"] is vpc["Properties"]["EnableDnsHostnames"] is True
        assert {"Key": "Name", "Value": f"{prefix}-{model.NETWORK.name_suffix}"} in vpc["Properties"]["Tags"]
        subnets = resources(template, "AWS::EC2::Subnet")
        assert sorted(
            (subnet["Properties"]["CidrBlock"], subnet["Properties"]["AvailabilityZone"]) for subnet in subnets.values()
        ) == [
            ("10.0.0.0/20", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
            ("10.0.16.0/20", {"Fn::Select": [1, {"Fn::GetAZs": ""}]}),
        ]
        assert {subnet["Properties"]["MapPublicIpOnLaunch"] for subnet in subnets.values()} == {False}
        # One route table for both subnets, and the gateway endpoints' routes in it.
        (route_table,) = resources(template, "AWS::EC2::RouteTable")
        associations = [a["Properties"] for a in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()]
        assert sorted(a["SubnetId"]["Ref"] for a in associations) == sorted(subnets)
        assert [a["RouteTableId"] for a in associations] == [{"Ref": route_table}] * len(subnets)
        endpoints = [e["Properties"] for e in resources(template, "AWS::EC2::VPCEndpoint").values()]
        assert sorted(e["ServiceName"]["Fn::Join"][1][-1] for e in endpoints) == [
            f".{service}" for service in sorted(model.NETWORK.gateway_endpoints)
        ]
        for endpoint in endpoints:
            assert endpoint["VpcEndpointType"] == "Gateway"
            assert endpoint["RouteTableIds"] == [{"Ref": route_table}]


def test_only_the_in_network_functions_reach_the_data_services(synth):
    for prefix, template in synth["templates"].items():
        specs = {f"{prefix}-{f.suffix}": f for f in FUNCTIONS}
        subnets = sorted(resources(template, "AWS::EC2::Subnet"))
        attached = set()
        for function in resources(template, "AWS::Lambda::Function").values():
            properties = function["Properties"]
            name, config = properties["FunctionName"], properties.get("VpcConfig")
            assert (config is not None) is specs[name].network, name
            if config:
                assert sorted(subnet["Ref"] for subnet in config["SubnetIds"]) == subnets, name
                (group,) = config["SecurityGroupIds"]
                attached.add(group["Fn::GetAtt"][0])
        if model.NETWORK is None:
            continue
        (function_group,) = attached  # one group for every in-network function
        groups = resources(template, "AWS::EC2::SecurityGroup")
        # Nothing may connect to the functions; they may open HTTPS (only DynamoDB's endpoint is routable)
        # and the data services' ports inside the VPC.
        properties = groups[function_group]["Properties"]
        assert not properties.get("SecurityGroupIngress")
        (vpc,) = resources(template, "AWS::EC2::VPC")
        inside = {"Fn::GetAtt": [vpc, "CidrBlock"]}
        assert [
            (r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in properties["SecurityGroupEgress"]
        ] == [
            ("tcp", 443, 443, "0.0.0.0/0"),
            *(("tcp", port, port, inside) for port in model.NETWORK.ports),
        ]
        # Each data service's group admits the functions on its port, and nobody from an address range.
        rules = [r["Properties"] for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()]
        assert sorted(
            r["FromPort"] for r in rules if r["SourceSecurityGroupId"] == {"Fn::GetAtt": [function_group, "GroupId"]}
        ) == sorted(model.NETWORK.ports)
        assert all("SourceSecurityGroupId" in r for r in rules)
        assert not [g for g in groups.values() if g["Properties"].get("SecurityGroupIngress")]


def test_functions_reach_the_database_and_the_cache_by_url(synth):
    for prefix, template in synth["templates"].items():
        endpoints = {}  # logical id of the model's record -> (its URL with {host}, the attribute holding the host)
        if model.DATABASE:
            (proxy,) = resources(template, "AWS::RDS::DBProxy")
            endpoints[model.DATABASE.logical_id] = (model.DATABASE.url, [proxy, "Endpoint"])
        if model.CACHE:
            (cache,) = resources(template, "AWS::ElastiCache::ServerlessCache")
            endpoints[model.CACHE.logical_id] = (model.CACHE.url, [cache, "Endpoint.Address"])
        functions = {
            r["Properties"]["FunctionName"]: r["Properties"]
            for r in resources(template, "AWS::Lambda::Function").values()
        }
        for spec in FUNCTIONS:
            variables = functions[f"{prefix}-{spec.suffix}"]["Environment"]["Variables"]
            for variable, logical_id in spec.environment:
                if logical_id in endpoints:
                    url, attribute = endpoints[logical_id]
                    before, after = url.split("{host}")
                    assert variables[variable] == {"Fn::Join": ["", [before, {"Fn::GetAtt": attribute}, after]]}


def test_database_is_a_serverless_cluster_behind_a_tls_and_iam_only_proxy(synth):
    kinds = ["AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::RDS::DBProxy", "AWS::RDS::DBSubnetGroup"]
    for prefix, template, production in stage_templates(synth):
        if model.DATABASE is None:
            assert not [kind for kind in kinds if resources(template, kind)], prefix
            continue
        spec, subnets = model.DATABASE, sorted(resources(template, "AWS::EC2::Subnet"))
        ((cluster_id, cluster),) = resources(template, "AWS::RDS::DBCluster").items()
        properties = cluster["Properties"]
        # A final snapshot when the stack deletes or replaces the cluster.
        assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"
        assert {key: properties[key] for key in CLUSTER_PROPERTIES} == {
            "DBClusterIdentifier": physical(prefix, spec.logical_id),
            "Engine": "aurora-postgresql",
            "EngineVersion": spec.engine_version,
            "DatabaseName": spec.database_name,
            "MasterUsername": spec.user,
            "ManageMasterUserPassword": True,
            "EnableIAMDatabaseAuthentication": True,
            "StorageEncrypted": True,
            "ServerlessV2ScalingConfiguration": {"MinCapacity": spec.min_capacity, "MaxCapacity": spec.max_capacity},
            "DeletionProtection": production,
            "BackupRetentionPeriod": 7,
        }
        assert "MasterUserPassword" not in properties  # RDS keeps it in a secret of its own
        ((subnet_group_id, subnet_group),) = resources(template, "AWS::RDS::DBSubnetGroup").items()
        assert properties["DBSubnetGroupName"] == {"Ref": subnet_group_id}
        assert sorted(subnet["Ref"] for subnet in subnet_group["Properties"]["SubnetIds"]) == subnets
        (instance,) = resources(template, "AWS::RDS::DBInstance").values()
        assert {key: instance["Properties"][key] for key in INSTANCE_PROPERTIES} == {
            "DBClusterIdentifier": {"Ref": cluster_id},
            "DBInstanceClass": "db.serverless",
            "Engine": "aurora-postgresql",
            "PubliclyAccessible": False,
        }
        (proxy,) = resources(template, "AWS::RDS::DBProxy").values()
        secret = {"Fn::GetAtt": [cluster_id, "MasterUserSecret.SecretArn"]}  # the cluster's managed secret
        assert proxy["Properties"]["DBProxyName"] == physical(prefix, spec.logical_id)
        assert proxy["Properties"]["EngineFamily"] == "POSTGRESQL"
        assert proxy["Properties"]["RequireTLS"] is True
        assert proxy["Properties"]["Auth"] == [{"AuthScheme": "SECRETS", "IAMAuth": "REQUIRED", "SecretArn": secret}]
        assert proxy["Properties"]["VpcSecurityGroupIds"] == properties["VpcSecurityGroupIds"]
        assert sorted(subnet["Ref"] for subnet in proxy["Properties"]["VpcSubnetIds"]) == subnets
        (target_group,) = resources(template, "AWS::RDS::DBProxyTargetGroup").values()
        assert target_group["Properties"]["TargetGroupName"] == "default"
        assert target_group["Properties"]["DBClusterIdentifiers"] == [{"Ref": cluster_id}]
        # The proxy's role: only RDS may assume it, and it may only read that secret.
        role = template["Resources"][proxy["Properties"]["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust == {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}}
        assert [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]] == [
            {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": secret}
        ]


def test_cache_is_serverless_redis_with_capped_usage(synth):
    for prefix, template in synth["templates"].items():
        caches = resources(template, "AWS::ElastiCache::ServerlessCache")
        if model.CACHE is None:
            assert not caches, prefix
            continue
        (cache,) = caches.values()
        properties = cache["Properties"]
        assert properties["ServerlessCacheName"] == physical(prefix, model.CACHE.logical_id)
        assert (properties["Engine"], properties["MajorEngineVersion"]) == ("redis", model.CACHE.major_engine_version)
        assert properties["CacheUsageLimits"] == {
            "DataStorage": {"Maximum": model.CACHE.max_storage_gb, "Unit": "GB"},
            "ECPUPerSecond": {"Maximum": model.CACHE.max_ecpu_per_second},
        }
        assert sorted(subnet["Ref"] for subnet in properties["SubnetIds"]) == sorted(
            resources(template, "AWS::EC2::Subnet")
        )
        assert "AuthToken" not in properties and "UserGroupId" not in properties  # reached by security group only


def test_cdk_nag_finds_nothing_unacknowledged(production):
    violations = [
        f"{violation['ruleName']} ({violation['severity']}) on {construct['constructPath']}: {violation['description']}"
        for report in production["report"]["pluginReports"]
        for violation in report["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert violations == []
    assert production["error"] is None


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


def test_every_acknowledged_rule_says_why(production):
    acknowledged = {
        rule: reason
        for metadata in production["metadata"]
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


def alarms_by_name(template: dict) -> dict[str, dict]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def wanted_alarms(prefix: str) -> dict[str, tuple[model.Alarm, str, int]]:
    """Every alarm the model gives the stage: name -> (its spec, what it watches, the function's timeout)."""
    wanted = {}
    for function in FUNCTIONS:
        name = f"{prefix}-{function.suffix}"
        for spec in model.ALARMS["function"]:
            wanted[f"{name}-{spec.name_suffix}"] = (spec, name, function.timeout)
    watched = [("table", logical_id) for logical_id in TABLES] + [
        ("queue" if QUEUES[logical_id] in {d.queue for d in model.DOMAINS} else "dead_letter", logical_id)
        for logical_id in QUEUES
    ]
    for kind, logical_id in watched:
        for spec in model.ALARMS.get(kind, []):
            wanted[f"{physical(prefix, logical_id)}-{spec.name_suffix}"] = (spec, physical(prefix, logical_id), 0)
    for spec in model.API_ALARMS:
        wanted[f"{prefix}-{spec.name_suffix}"] = (spec, "API_ID", 0)
    return wanted


def test_every_function_is_released_through_its_alias(synth):
    """A version per change, the alias the triggers invoke, and CodeDeploy moving it the stage's way,
    rolling back when the function's errors alarm fires."""
    config = synth["config"]
    for prefix, template in synth["templates"].items():
        functions = {
            key: r["Properties"]["FunctionName"] for key, r in resources(template, "AWS::Lambda::Function").items()
        }
        groups = resources(template, "AWS::CodeDeploy::DeploymentGroup")
        aliases = {
            functions[a["Properties"]["FunctionName"]["Ref"]]: a
            for a in resources(template, "AWS::Lambda::Alias").values()
        }
        assert set(aliases) == set(functions.values())
        specs = {f"{prefix}-{f.suffix}": f for f in FUNCTIONS}
        (errors,) = [spec for spec in model.ALARMS["function"] if spec.rollback]
        (application,) = resources(template, "AWS::CodeDeploy::Application")
        (role_id,) = {group["Properties"]["ServiceRoleArn"]["Fn::GetAtt"][0] for group in groups.values()}
        for name, alias in aliases.items():
            properties = alias["Properties"]
            assert properties["Name"] == model.ALIAS, name
            version = template["Resources"][properties["FunctionVersion"]["Fn::GetAtt"][0]]
            assert version["Type"] == "AWS::Lambda::Version"
            assert version["Properties"]["FunctionName"] == properties["FunctionName"], name
            provisioned = config["provisioned_concurrency"] if specs[name].trigger.kind == "http" else 0
            assert properties.get("ProvisionedConcurrencyConfig") == (
                {"ProvisionedConcurrentExecutions": provisioned} if provisioned else None
            ), name
            update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
            assert update["ApplicationName"] == {"Ref": application}, name
            group = groups[update["DeploymentGroupName"]["Ref"]]["Properties"]
            assert group["DeploymentConfigName"] == f"CodeDeployDefault.Lambda{config['release']}", name
            assert group["DeploymentStyle"] == {
                "DeploymentOption": "WITH_TRAFFIC_CONTROL",
                "DeploymentType": "BLUE_GREEN",
            }
            assert group["AlarmConfiguration"] == {
                "Alarms": [{"Name": f"{name}-{errors.name_suffix}"}],
                "Enabled": True,
            }
            assert group["AutoRollbackConfiguration"] == {
                "Enabled": True,
                "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"],
            }, name
        for function in resources(template, "AWS::Lambda::Function").values():
            reserved = function["Properties"].get("ReservedConcurrentExecutions")
            assert reserved == config["reserved_concurrency"], function["Properties"]["FunctionName"]
        # The release role: only CodeDeploy assumes it; it reads the stage's alarms and moves its aliases.
        role = template["Resources"][role_id]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"}}
        ]
        assert "ManagedPolicyArns" not in role
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        arn = "arn:${AWS::Partition}:%s:" + model.REGION + ":${AWS::AccountId}:%s:" + prefix + "-*"
        assert [(sorted(listed(s["Action"])), s["Resource"]["Fn::Join"]) for s in statements] == [
            (["cloudwatch:DescribeAlarms"], sub_join(arn % ("cloudwatch", "alarm"))),
            (
                ["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"],
                sub_join(arn % ("lambda", "function")),
            ),
        ]


def sub_join(text: str) -> list:
    """How CDK writes a string holding ${AWS::...} tokens: an Fn::Join of its parts."""
    parts = re.split(r"\$\{(AWS::[A-Za-z]+)\}", text)
    return ["", [{"Ref": part} if index % 2 else part for index, part in enumerate(parts) if part]]


def test_triggers_invoke_the_alias(synth):
    for prefix, template in synth["templates"].items():
        functions = resources(template, "AWS::Lambda::Function")
        for permission in resources(template, "AWS::Lambda::Permission").values():
            assert named(template, permission["Properties"]["FunctionName"]).endswith(f":{model.ALIAS}")
        for schedule in resources(template, "AWS::Scheduler::Schedule").values():
            target = schedule["Properties"]["Target"]
            assert named(template, target["Arn"]).endswith(f":{model.ALIAS}")
            # The schedule's role may invoke that alias only.
            role = template["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
            (statement,) = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
            assert (statement["Action"], statement["Resource"]) == ("lambda:InvokeFunction", target["Arn"])
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
            assert named(template, mapping["Properties"]["FunctionName"]).endswith(f":{model.ALIAS}")
        assert functions, prefix


def test_alarms_watch_what_the_model_says_and_notify_the_alarm_topic(synth):
    config = synth["config"]
    for prefix, template in synth["templates"].items():
        alarms, wanted = alarms_by_name(template), wanted_alarms(prefix)
        assert set(alarms) == set(wanted)
        topic = {"Ref": topics(template)[f"{prefix}-alarms"]}
        (api,) = resources(template, "AWS::ApiGatewayV2::Api")
        for name, properties in alarms.items():
            spec, watched, timeout = wanted[name]
            assert {key: properties[key] for key in ("EvaluationPeriods", "DatapointsToAlarm")} == {
                "EvaluationPeriods": 1,
                "DatapointsToAlarm": 1,
            }, name
            assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
            assert properties["TreatMissingData"] == "notBreaching", name
            assert properties["AlarmActions"] == properties["OKActions"] == [topic], name
            assert properties["Threshold"] == config[spec.threshold], name
            dimensions = [{"Name": spec.dimension, "Value": {"Ref": api} if watched == "API_ID" else watched}]
            metric = {"Namespace": spec.namespace, "MetricName": spec.metric, "Dimensions": dimensions}
            if spec.math:
                (duration, percent) = properties["Metrics"]
                assert duration == {
                    "Id": "duration",
                    "MetricStat": {"Metric": metric, "Period": spec.period, "Stat": spec.statistic},
                    "ReturnData": False,
                }, name
                assert percent == {
                    "Id": "percent",
                    "Expression": f"duration / ({timeout or config['function_timeout']} * 10)",
                    "Label": "p99 duration, % of timeout",
                    "ReturnData": True,
                }, name
                continue
            statistic = "ExtendedStatistic" if spec.statistic.startswith("p") else "Statistic"
            assert {key: properties.get(key) for key in [*metric, "Period", statistic]} == {
                **metric,
                "Period": spec.period,
                statistic: spec.statistic,
            }, name


def test_function_alarms_are_beside_the_functions_and_the_others_with_the_data(synth):
    for prefix, stacks in synth["stacks"].items():
        root = set(alarms_by_name(stacks["root"]))
        for domain in model.DOMAINS if model.DOMAIN_STACKS else []:
            mine = {
                f"{prefix}-{f.suffix}-{spec.name_suffix}" for f in domain.functions for spec in model.ALARMS["function"]
            }
            assert set(alarms_by_name(stacks[domain.stack_id])) == mine, domain.name
            assert not root & mine, domain.name


def test_alarm_topic_takes_the_stage_e_mail_and_budget_alerts(synth):
    config = synth["config"]
    for prefix, template in synth["templates"].items():
        topic_id = topics(template)[f"{prefix}-alarms"]
        subscriptions = [
            s["Properties"]
            for s in resources(template, "AWS::SNS::Subscription").values()
            if s["Properties"]["TopicArn"] == {"Ref": topic_id}
        ]
        email = config["alarm_email"]
        assert subscriptions == (
            [{"Endpoint": email, "Protocol": "email", "TopicArn": {"Ref": topic_id}}] if email else []
        )
        allowed = [s for s in topic_policy(template, topic_id)["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        assert allowed == [
            {
                "Action": "sns:Publish",
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                "Effect": "Allow",
                "Principal": {"Service": ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]},  # CDK sorts them
                "Resource": {"Ref": topic_id},
                "Sid": "AlarmsAndBudgetsOfThisAccount",
            }
        ]


def test_dashboard_is_the_model_dashboard(synth):
    for prefix, template in synth["templates"].items():
        (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
        assert dashboard["Properties"]["DashboardName"] == prefix
        (api,) = resources(template, "AWS::ApiGatewayV2::Api")
        separator, parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"]
        assert {json.dumps(part) for part in parts if not isinstance(part, str)} == {json.dumps({"Ref": api})}
        body = separator.join(part if isinstance(part, str) else "API_ID" for part in parts)
        wanted = operations.DASHBOARD.read_text().strip()
        wanted = wanted.replace("${stage}", synth["stage"]).replace("${region}", model.REGION)
        assert json.loads(body) == json.loads(wanted.replace("${api}", "API_ID"))
        assert "${" not in body


def test_each_domain_saves_its_queries_beside_its_functions(synth):
    for prefix, stacks in synth["stacks"].items():
        template = synth["templates"][prefix]
        queries = {
            r["Properties"]["Name"]: r["Properties"] for r in resources(template, "AWS::Logs::QueryDefinition").values()
        }
        assert set(queries) == {f"{prefix}/{q.name_suffix}" for d in model.DOMAINS for q in d.queries}
        for domain in model.DOMAINS:
            log_groups = sorted(f"/aws/lambda/{prefix}-{f.suffix}" for f in domain.functions)
            for query in domain.queries:
                properties = queries[f"{prefix}/{query.name_suffix}"]
                assert properties["QueryString"] == query.query
                assert sorted(named(template, group) for group in properties["LogGroupNames"]) == log_groups
            if model.DOMAIN_STACKS:
                names = {
                    r["Properties"]["Name"]
                    for r in resources(stacks[domain.stack_id], "AWS::Logs::QueryDefinition").values()
                }
                assert names == {f"{prefix}/{q.name_suffix}" for q in domain.queries}, domain.name


def test_budget_counts_the_stage_tag_and_alerts_the_topic(synth):
    config = synth["config"]
    for prefix, template in synth["templates"].items():
        (budget,) = resources(template, "AWS::Budgets::Budget").values()
        topic = {"Ref": topics(template)[f"{prefix}-alarms"]}
        assert budget["Properties"]["Budget"] == {
            "BudgetName": prefix,
            "BudgetType": "COST",
            "TimeUnit": "MONTHLY",
            "BudgetLimit": {"Amount": config["budget_monthly_usd"], "Unit": "USD"},
            "CostFilters": {"TagKeyValue": [f"user:budget${prefix}"]},
        }
        assert budget["Properties"]["NotificationsWithSubscribers"] == [
            {
                "Notification": {
                    "NotificationType": kind,
                    "ComparisonOperator": "GREATER_THAN",
                    "Threshold": config[key],
                    "ThresholdType": "PERCENTAGE",
                },
                "Subscribers": [{"SubscriptionType": "SNS", "Address": topic}],
            }
            for kind, key in (("ACTUAL", "budget_alert_percent"), ("FORECASTED", "budget_forecast_percent"))
        ]
        # What the budget counts: every resource that takes tags carries the stage's.
        for kind in ("AWS::Lambda::Function", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::CloudWatch::Alarm"):
            for key, resource in resources(template, kind).items():
                assert {"Key": "budget", "Value": prefix} in resource["Properties"]["Tags"], key


def test_concurrency_release_and_e_mail_come_from_the_stage_config(tmp_path):
    """Values the rendered configs leave at their defaults (no reservation, no provisioned instances, no
    e-mail) reach the resources when a team sets them: built for one domain, without a synth."""
    stage = dataclasses.replace(
        settings.load(CONFIGS[0]),
        reserved_concurrency=5,
        provisioned_concurrency=2,
        queue_max_concurrency=7,
        alarm_email="ops@example.com",
        release="Linear10PercentEvery3Minutes",
    )
    layer = tmp_path / "layer.zip"
    zipfile.ZipFile(layer, "w").close()
    stack = Stack(App(), "Probe", env=Environment(region=model.REGION))
    shared = SharedInfra(stack, "Shared", settings=stage, layer_zip=layer)
    code = dict.fromkeys(cdk_app.ARTIFACTS, layer)
    domain = DomainService(stack, "Domain", spec=model.DOMAINS[0], settings=stage, shared=shared, code=code)
    for spec in model.DOMAINS[0].functions:
        built = domain.functions[spec.logical_id]
        assert built.function.node.default_child.reserved_concurrent_executions == 5
        provisioned = built.alias.node.default_child.provisioned_concurrency_config
        if spec.trigger.kind == "http":
            assert provisioned.provisioned_concurrent_executions == 2
        else:
            assert provisioned is None
        (group,) = [c for c in built.node.find_all() if isinstance(c, codedeploy.CfnDeploymentGroup)]
        assert stack.resolve(group.deployment_config_name) == "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes"
        mappings = [c for c in built.node.find_all() if isinstance(c, lambda_.CfnEventSourceMapping)]
        assert [m.scaling_config.maximum_concurrency for m in mappings] == ([7] if spec.trigger.kind == "queue" else [])
    (subscription,) = [c for c in shared.node.find_all() if isinstance(c, sns.CfnSubscription)]
    assert (subscription.protocol, subscription.endpoint) == ("email", "ops@example.com")
