"""The CDK app: one stack per stage config (with a nested stack per domain when the model says so),
routes equal to the local ones, roles, queues and the other backing services as the model says, and
clean under cdk-nag.

Most tests read a stage as one template: its stack with each domain's nested stack put back in place
(see flatten), so they hold whichever stack a resource is in.
"""

import dataclasses
import json
import re
import zipfile

import pytest
from aws_cdk import App, NestedStack, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from infra import app as cdk_app
from infra import model, settings

from local.routes import PROTECTED_ROUTES, ROUTES, SUBSCRIBERS

CONFIGS = sorted(settings.CONFIG.glob("*.json"))
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
}
# CloudFormation's quotas per stack (resources with headroom below the 500 limit) and per role.
MAX_RESOURCES = 450
MAX_PARAMETERS = MAX_OUTPUTS = 200
MAX_TEMPLATE_BYTES = 1_000_000  # a template deployed from S3, as nested stacks are
MAX_INLINE_POLICY_CHARS = 10_240  # all inline policies of one role together


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
    # Each stage's stack ("root") and its nested stacks by the logical id the root gives them; and the
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
    return {
        "error": error,
        "report": json.loads((outdir / "validation-report.json").read_text()),
        "stacks": stacks,
        "templates": templates,
        "metadata": [json.loads(p.read_text()) for p in outdir.glob("*.metadata.json")],
    }


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
    """(prefix, template, is production) for every stage."""
    return [
        (prefix, template, prefix == f"{model.SERVICE}-{model.PRODUCTION_STAGE}")
        for prefix, template in sorted(synth["templates"].items())
    ]


def test_every_stage_config_is_a_stack(synth):
    assert set(synth["templates"]) == {f"{model.SERVICE}-{path.stem}" for path in CONFIGS}


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
                        assert set(actions) <= {*model.TRACING_ACTIONS, *model.NETWORK_ACTIONS}, role_id


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
            assert named(template, target["Arn"]) == name
            assert target["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}, name
            invokers = [
                p
                for p in permissions
                if p["Principal"] == "events.amazonaws.com" and named(template, p["FunctionName"]) == name
            ]
            assert [p["SourceArn"] for p in invokers] == [{"Fn::GetAtt": [rule_id, "Arn"]}], name
        # `make dev` delivers events to the same handlers.
        handlers = {f["Properties"]["Handler"] for f in resources(template, "AWS::Lambda::Function").values()}
        assert {spec.handler for spec in subscribers} == {handler for _, handler in SUBSCRIBERS} <= handlers
        delivering = {n for n, (_, rule) in rules.items() if "ScheduleExpression" not in rule}
        assert delivering == {f"{prefix}-{f.suffix}" for f in subscribers} | (
            {f"{prefix}-{model.TOPIC.rule_suffix}"} if model.TOPIC else set()
        )


def test_topic_gets_the_domain_events_only_from_its_rule(synth):
    for prefix, template in synth["templates"].items():
        if model.TOPIC is None:
            assert not resources(template, "AWS::SNS::Topic"), prefix
            assert not resources(template, "AWS::Events::EventBus"), prefix
            continue
        (topic_id,) = resources(template, "AWS::SNS::Topic")
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
        (policy,) = resources(template, "AWS::SNS::TopicPolicy").values()
        assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
        allowed = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
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
        assert not resources(template, "AWS::SNS::Subscription"), "subscriptions are the team's to add"


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
