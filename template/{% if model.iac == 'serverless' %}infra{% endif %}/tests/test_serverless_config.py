"""infra/serverless.yml agrees with the stage configs, with what `make dev` runs locally (routes, tables,
queues, consumers), with the one-role-per-function rule and with what each backing service promises
(private buckets, protected routes, rules that reach only their target, secrets without values).

These read the YAML only; `make validate` packages every stage with the Serverless CLI.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from local import env
from local.routes import CONSUMERS, PROTECTED_ROUTES, ROUTES, SUBSCRIBERS

INFRA = Path(__file__).resolve().parent.parent
CONFIG = INFRA.parent / "config"
CONFIGS = sorted(CONFIG.glob("*.json"))
SOURCE = (INFRA / "serverless.yml").read_text()
# What a Lambda event source mapping needs on the queue it reads, through the function's role
CONSUME_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
# What Lambda needs to attach a function to the private subnets (postgres, redis)
NETWORK_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
DATA_VARIABLES = {"DATABASE_URL", "CACHE_URL"}  # the functions that reach postgres or redis
# ${file(../config/${sls:stage}.json):key}, and the stage guard's ${opt:stage, '<first>'} form
# The public routes are an answer of the template: `copier update --data 'public_routes=[...]'` changes them.
ANSWERS = yaml.safe_load((INFRA.parent / ".copier-answers.yml").read_text())
# (", null" when the key may be null: the framework refuses a null value otherwise)
CONFIG_KEY = re.compile(r"\$\{file\(\.\./config/\$\{(?:sls:stage|opt:stage[^}]*)\}\.json\):(\w+)(?:, null)?\}")
# The settings of what only queues have: read when the service has queues.
QUEUE_KEYS = {"queue_max_concurrency", "alarm_queue_age_seconds", "alarm_dead_letter_messages"}
ALARM_TOPIC = "AlarmTopic"  # every alarm and the budget notify it
ROLLBACK_EVENTS = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"]
# The predefined CodeDeploy configurations a stage's "release" may name (after CodeDeployDefault.Lambda)
RELEASES = (
    {"AllAtOnce"}
    | {f"Canary10Percent{m}Minutes" for m in (5, 10, 15, 30)}
    | {f"Linear10PercentEvery{m}Minute{'s' if m > 1 else ''}" for m in (1, 2, 3, 10)}
)
# The account `make dev`'s emulator (moto) runs in: local bucket names end in it, as deployed ones end in theirs.
LOCAL_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def service() -> dict:
    return yaml.safe_load(SOURCE)


@pytest.fixture(scope="module")
def resources(service) -> dict:
    return service["resources"]["Resources"]


def test_every_config_key_is_read_and_every_read_key_exists(resources):
    referenced = set(CONFIG_KEY.findall(SOURCE))
    assert referenced, "serverless.yml reads no config/<stage>.json key"
    queues = _of_type(resources, "AWS::SQS::Queue")
    for path in CONFIGS:
        keys = set(json.loads(path.read_text()))
        assert referenced <= keys, f"{path.name} lacks {sorted(referenced - keys)}"
        unread = keys - referenced
        assert unread == (set() if queues else QUEUE_KEYS & keys), f"{path.name}: {sorted(unread)} not read"


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


def test_no_wildcard_actions_and_star_only_for_xray_and_network_interfaces(service, resources):
    in_network = {function["role"] for function in service["functions"].values() if "vpc" in function}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in _statements(resource):
            assert not any(action.endswith("*") for action in statement["Action"]), logical_id
            if statement["Resource"] != "*":
                continue
            # X-Ray and the network interfaces of in-network functions have no resource-level permissions.
            allowed = NETWORK_ACTIONS if logical_id in in_network else set()
            assert all(a.startswith("xray:") or a in allowed for a in statement["Action"]), logical_id


def test_tables_are_retained(resources):
    tables = {key: r for key, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert tables
    for table in tables.values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] == "${param:production}"


def _local_name(service: dict, name: str) -> str:
    """A physical name of serverless.yml as `make dev` names it: the stage is "local", the emulator's account."""
    return (
        name.replace("${self:service}", service["service"])
        .replace("${sls:stage}", env.STAGE)
        .replace("${AWS::AccountId}", LOCAL_ACCOUNT)
    )


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


def _http_events(service: dict):
    for key, function in service["functions"].items():
        for event in function.get("events", []):
            if "httpApi" in event:
                yield key, event["httpApi"]


def test_routes_need_a_token_unless_listed_as_public(service, resources):
    authorizers = service["provider"]["httpApi"].get("authorizers", {})
    public = set(ANSWERS.get("public_routes") or [])
    pools = _of_type(resources, "AWS::Cognito::UserPool")
    if not pools:
        assert not authorizers and not public, "an authorizer or public routes without a user pool"
    for key, event in _http_events(service):
        route = f"{event['method']} {event['path']}"
        if not pools or route in public:
            assert "authorizer" not in event, f"{key}: {route} should not need a token"
        else:
            assert event.get("authorizer") == {"name": "cognito"}, f"{key}: {route} has no authorizer"
    if pools:
        (pool,) = pools
        (client,) = _of_type(resources, "AWS::Cognito::UserPoolClient")
        cognito = authorizers["cognito"]
        assert cognito["type"] == "jwt"
        assert cognito["identitySource"] == "$request.header.Authorization"
        assert cognito["audience"] == [{"Ref": client}], "tokens are checked against the API's client"
        assert {"Ref": pool} in cognito["issuerUrl"]["Fn::Join"][1], "tokens must come from this user pool"


def test_user_pool_is_admin_only_strong_and_kept(resources):
    for key, resource in resources.items():
        if resource["Type"] == "AWS::Cognito::UserPool":
            properties = resource["Properties"]
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", key
            assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True, key
            assert properties["UsernameAttributes"] == ["email"], key
            policy = properties["Policies"]["PasswordPolicy"]
            assert policy["MinimumLength"] >= 12, key
            assert all(policy[f"Require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers", "Symbols"))
            assert properties["MfaConfiguration"] == "OPTIONAL", key
            assert properties["DeletionProtection"] == {"Fn::If": ["Production", "ACTIVE", "INACTIVE"]}, key
        if resource["Type"] == "AWS::Cognito::UserPoolClient":
            properties = resource["Properties"]
            assert properties["GenerateSecret"] is False, key
            assert set(properties["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
            assert properties["PreventUserExistenceErrors"] == "ENABLED", key


def _arn(logical_id: str) -> dict:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _objects(logical_id: str) -> dict:
    return {"Fn::Join": ["", [_arn(logical_id), "/*"]]}


def test_buckets_are_private_encrypted_tls_only_and_kept(resources):
    policies = _of_type(resources, "AWS::S3::BucketPolicy")
    for key, resource in resources.items():
        if resource["Type"] != "AWS::S3::Bucket":
            continue
        properties = resource["Properties"]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", key
        (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", key
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}, key
        assert len(properties["PublicAccessBlockConfiguration"]) == 4, key
        assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}], key
        # Old versions are kept (and paid for) in production only.
        versioning = {"Fn::If": ["Production", {"Status": "Enabled"}, {"Ref": "AWS::NoValue"}]}
        assert properties["VersioningConfiguration"] == versioning, key
        (rule,) = properties["LifecycleConfiguration"]["Rules"]
        assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7, key
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90, key
        (policy,) = [p for p in policies.values() if p["Bucket"] == {"Ref": key}]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*"), key
        assert statement["Resource"] == [_arn(key), _objects(key)], key
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, key


def test_file_functions_reach_objects_only(resources):
    for key, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in _statements(resource):
            if any(action.startswith("s3:") for action in statement["Action"]):
                bucket = statement["Resource"]["Fn::Join"][1][0]["Fn::GetAtt"][0]
                assert statement["Resource"] == _objects(bucket), f"{key}: s3 actions on more than objects"


def _pattern(resource_or_event: dict) -> tuple[list[str], list[str]]:
    return resource_or_event["source"], resource_or_event["detail-type"]


def test_each_subscriber_rule_targets_its_function_only(service, resources):
    buses = _of_type(resources, "AWS::Events::EventBus")
    for key, function in service["functions"].items():
        for event in function.get("events", []):
            if "eventBridge" not in event:
                continue
            rule = event["eventBridge"]
            # A bus of this stack, referenced (a name string would make the framework create one).
            assert rule["eventBus"]["Ref"] in buses, key
            assert rule["name"] == function["name"], f"{key}: the rule is named after its function"
            sources, detail_types = _pattern(rule["pattern"])
            assert sources and sources == sorted(sources), key
            assert detail_types and detail_types == sorted(detail_types), key
            assert rule["retryPolicy"] == {"maximumRetryAttempts": 4, "maximumEventAge": 3600}, key
            # A subscriber only logs (and traces): no data-access policy on its role.
            names = [policy["PolicyName"] for policy in resources[function["role"]]["Properties"]["Policies"]]
            assert names == ["logs-and-traces"], key


def test_only_the_notify_rule_may_publish_to_the_topic(resources):
    topics = {k: t for k, t in _of_type(resources, "AWS::SNS::Topic").items() if k != ALARM_TOPIC}
    subscriptions = _of_type(resources, "AWS::SNS::Subscription").values()
    assert all(s["TopicArn"] == _ref(ALARM_TOPIC) for s in subscriptions), "the events' subscriptions are the team's"
    rules = _of_type(resources, "AWS::Events::Rule")
    for topic in topics:
        (rule,) = [key for key, rule in rules.items() if rule["Targets"][0]["Arn"] == {"Ref": topic}]
        assert len(rules[rule]["Targets"]) == 1
        assert rules[rule]["EventBusName"]["Ref"] in _of_type(resources, "AWS::Events::EventBus")
        sources, detail_types = _pattern(rules[rule]["EventPattern"])
        assert sources == sorted(sources) and detail_types == sorted(detail_types)
        policies = _of_type(resources, "AWS::SNS::TopicPolicy").values()
        (policy,) = [p for p in policies if p["Topics"] == [{"Ref": topic}]]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert (statement["Effect"], statement["Action"]) == ("Allow", "sns:Publish")
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": _arn(rule)}}


def test_parameter_holds_settings_and_the_secret_no_value(resources):
    for key, parameter in _of_type(resources, "AWS::SSM::Parameter").items():
        assert parameter["Type"] == "String", f"{key}: settings, not secrets"
        assert isinstance(json.loads(parameter["Value"]), dict), key
    for key, secret in _of_type(resources, "AWS::SecretsManager::Secret").items():
        assert "SecretString" not in secret, f"{key}: a secret's value never goes in the template"
        assert "GenerateSecretString" in secret, key


# What `make dev` creates for the backing services: each matches its counterpart in serverless.yml.


def test_protected_routes_match_the_ones_local_development_checks(service):
    protected = {f"{event['method']} {event['path']}" for _, event in _http_events(service) if "authorizer" in event}
    assert protected == PROTECTED_ROUTES


def test_buckets_match_the_ones_local_development_creates(service, resources):
    variables = {key: variable for variable, key in _variables(service, "Ref").items()}
    declared = {
        _local_name(service, bucket["BucketName"]["Fn::Sub"]): variables[key]
        for key, bucket in _of_type(resources, "AWS::S3::Bucket").items()
    }
    # Bucket names are global across AWS: each ends in the deploying account's id.
    assert all(name.endswith(f"-{LOCAL_ACCOUNT}") for name in declared), declared
    assert declared == getattr(env, "BUCKETS", {})


def test_event_rules_match_the_ones_local_development_creates(service, resources):
    declared, subscribers = {}, []
    for function in service["functions"].values():
        for event in function.get("events", []):
            if "eventBridge" in event:
                name = _local_name(service, event["eventBridge"]["name"])
                declared[name] = _pattern(event["eventBridge"]["pattern"])
                subscribers.append((name, function["handler"]))
    for rule in _of_type(resources, "AWS::Events::Rule").values():
        declared[_local_name(service, rule["Name"])] = _pattern(rule["EventPattern"])
    rules = getattr(env, "EVENT_RULES", {})  # local/env.py has rules only with the events service
    local = {name: (sorted(sources), sorted(types)) for name, (sources, types) in rules.items()}
    assert declared == local
    assert sorted(subscribers) == sorted(SUBSCRIBERS)
    buses = [_local_name(service, bus["Name"]) for bus in _of_type(resources, "AWS::Events::EventBus").values()]
    assert buses == ([env.EVENT_BUS] if rules else [])


def test_user_pool_matches_the_one_local_development_creates(service, resources):
    pools = [_local_name(service, p["UserPoolName"]) for p in _of_type(resources, "AWS::Cognito::UserPool").values()]
    clients = [
        _local_name(service, c["ClientName"]) for c in _of_type(resources, "AWS::Cognito::UserPoolClient").values()
    ]
    assert [*pools, *clients] == ([env.USER_POOL, env.APP_CLIENT] if pools else [])


def test_parameters_and_secrets_match_the_ones_local_development_creates(service, resources):
    variables = {key: variable for variable, key in _variables(service, "Ref").items()}
    parameters = {
        _local_name(service, p["Name"]): (variables[key], p["Value"])
        for key, p in _of_type(resources, "AWS::SSM::Parameter").items()
    }
    assert parameters == getattr(env, "PARAMETERS", {})
    # The secret's variable holds its name (Ref would give its ARN), so it is written out.
    by_name = {
        _local_name(service, value): variable
        for function in service["functions"].values()
        for variable, value in (function.get("environment") or {}).items()
        if isinstance(value, str)
    }
    secrets = {_local_name(service, s["Name"]) for s in _of_type(resources, "AWS::SecretsManager::Secret").values()}
    local = getattr(env, "SECRETS", {})
    assert secrets == set(local)
    assert {name: by_name[name] for name in secrets} == {name: variable for name, (variable, _) in local.items()}


# The private network, PostgreSQL and Redis (services postgres and redis).


def _ref(logical_id: str) -> dict:
    return {"Ref": logical_id}


def _group_id(logical_id: str) -> dict:
    return {"Fn::GetAtt": [logical_id, "GroupId"]}


def test_exactly_the_functions_that_reach_postgres_or_redis_run_in_the_private_subnets(service, resources):
    reaching = {key for key, f in service["functions"].items() if DATA_VARIABLES & set(f.get("environment", {}))}
    in_network = {key for key, f in service["functions"].items() if "vpc" in f}
    assert in_network == reaching
    subnets = [_ref(key) for key in _of_type(resources, "AWS::EC2::Subnet")]
    for key in in_network:
        assert service["functions"][key]["vpc"] == "${self:custom.vpc}", key
        role = resources[service["functions"][key]["role"]]
        assert "ManagedPolicyArns" not in role["Properties"], f"{key}: the network actions are spelled out"
        assert {a for s in _statements(role) if s["Resource"] == "*" for a in s["Action"]} >= NETWORK_ACTIONS
    if in_network:
        vpc = service["custom"]["vpc"]
        assert vpc == {"subnetIds": subnets, "securityGroupIds": [_ref("FunctionSecurityGroup")]}
    assert "vpc" not in service["provider"], "only the functions that need the network are in it"


def test_the_network_has_no_way_to_the_internet(resources):
    kinds = {r["Type"] for r in resources.values()}
    assert not kinds & {
        "AWS::EC2::InternetGateway",
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::Route",
    }
    subnets = _of_type(resources, "AWS::EC2::Subnet")
    assert len(subnets) in (0, 2)
    assert all(subnet["MapPublicIpOnLaunch"] is False for subnet in subnets.values())
    zones = [subnet["AvailabilityZone"]["Fn::Select"][0] for subnet in subnets.values()]
    assert sorted(zones) == list(range(len(subnets))), "one subnet per availability zone"
    endpoints = _of_type(resources, "AWS::EC2::VPCEndpoint").values()
    if subnets:  # in-network functions reach their tables through a gateway endpoint, and nothing else
        assert [(e["VpcEndpointType"], e["ServiceName"]["Fn::Sub"]) for e in endpoints] == [
            ("Gateway", "com.amazonaws.${AWS::Region}.dynamodb")
        ]
        (table,) = _of_type(resources, "AWS::EC2::RouteTable")
        associations = _of_type(resources, "AWS::EC2::SubnetRouteTableAssociation").values()
        assert sorted(a["SubnetId"]["Ref"] for a in associations) == sorted(subnets)
        assert all(a["RouteTableId"] == _ref(table) for a in associations)


def test_data_ports_are_open_only_to_the_in_network_functions(resources):
    groups = _of_type(resources, "AWS::EC2::SecurityGroup")
    if not groups:
        return
    functions = groups["FunctionSecurityGroup"]
    assert "SecurityGroupIngress" not in functions, "nothing connects to a function"
    expected = {"DatabaseSecurityGroup": 5432, "CacheSecurityGroup": 6379}
    ports = {port for group, port in expected.items() if group in groups}
    egress = {(r["FromPort"], r["ToPort"], json.dumps(r["CidrIp"])) for r in functions["SecurityGroupEgress"]}
    vpc = json.dumps({"Fn::GetAtt": ["Network", "CidrBlock"]})
    assert egress == {(443, 443, '"0.0.0.0/0"')} | {(port, port, vpc) for port in ports}
    for group, port in expected.items():
        if group not in groups:
            continue
        ingress = groups[group]["SecurityGroupIngress"]
        assert [(r["FromPort"], r["ToPort"], r["SourceSecurityGroupId"]) for r in ingress] == [
            (port, port, _group_id("FunctionSecurityGroup"))
        ]
        assert groups[group]["SecurityGroupEgress"], f"{group}: the default allow-all egress is replaced"
    for rule in _of_type(resources, "AWS::EC2::SecurityGroupIngress").values():  # the proxy to the cluster
        assert rule["GroupId"] == rule["SourceSecurityGroupId"] == _group_id("DatabaseSecurityGroup")


def test_the_database_signs_in_with_iam_over_tls_and_no_password_is_written(service, resources):
    clusters = {key: r for key, r in resources.items() if r["Type"] == "AWS::RDS::DBCluster"}
    for key, cluster in clusters.items():
        properties = cluster["Properties"]
        assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot", key
        assert "MasterUserPassword" not in properties, key
        assert properties["ManageMasterUserPassword"] is True, key
        assert properties["EnableIAMDatabaseAuthentication"] is True, key
        assert properties["StorageEncrypted"] is True, key
        assert properties["DeletionProtection"] == "${param:production}", key
        (instance,) = _of_type(resources, "AWS::RDS::DBInstance").values()
        assert (instance["DBInstanceClass"], instance["PubliclyAccessible"]) == ("db.serverless", False)
        secret = {"Fn::GetAtt": [key, "MasterUserSecret.SecretArn"]}
        (proxy,) = _of_type(resources, "AWS::RDS::DBProxy").values()
        assert proxy["RequireTLS"] is True
        assert proxy["Auth"] == [{"AuthScheme": "SECRETS", "SecretArn": secret, "IAMAuth": "REQUIRED"}]
        role = resources[proxy["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "rds.amazonaws.com"}
        (policy,) = role["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        assert statements == [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secret}]
        (targets,) = _of_type(resources, "AWS::RDS::DBProxyTargetGroup").values()
        assert targets["DBClusterIdentifiers"] == [_ref(key)]
    urls = [
        value["Fn::Sub"]
        for function in service["functions"].values()
        for variable, value in function.get("environment", {}).items()
        if variable == "DATABASE_URL"
    ]
    assert bool(urls) == bool(clusters)
    # Through the proxy, as the IAM-authenticated user "app": no password in the URL.
    assert set(urls) <= {"postgresql://app@${DatabaseProxy.Endpoint}:5432/app"}


def test_functions_connect_only_as_the_app_user_of_the_proxy(resources):
    for key, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in _statements(resource):
            if "rds-db:connect" not in statement["Action"]:
                continue
            assert statement["Action"] == ["rds-db:connect"], key
            parts = statement["Resource"]["Fn::Join"][1]
            proxy_id = {"Fn::Select": [6, {"Fn::Split": [":", {"Fn::GetAtt": ["DatabaseProxy", "DBProxyArn"]}]}]}
            assert parts[-2] == proxy_id, key
            assert (parts[-3], parts[-1]) == (":dbuser:", "/app"), key


def test_the_cache_is_serverless_redis_with_usage_limits(service, resources):
    caches = _of_type(resources, "AWS::ElastiCache::ServerlessCache")
    for cache in caches.values():
        assert (cache["Engine"], cache["MajorEngineVersion"]) == ("redis", "7")
        assert cache["SecurityGroupIds"] == [_group_id("CacheSecurityGroup")]
        limits = cache["CacheUsageLimits"]
        assert limits["DataStorage"]["Maximum"] and limits["ECPUPerSecond"]["Maximum"]
    variables = {
        variable: value["Fn::Sub"]
        for function in service["functions"].values()
        for variable, value in function.get("environment", {}).items()
        if isinstance(value, dict) and "Cache.Endpoint.Address" in str(value)
    }
    # The variable `make dev` sets to its local redis-server; TLS only in AWS.
    cache_variable = getattr(env, "CACHE", "")
    assert variables == ({cache_variable: "rediss://${Cache.Endpoint.Address}:6379"} if caches else {})


# Releases, alarms, the dashboard, saved queries and the budget (every stage).


def _config(path: Path) -> dict:
    return json.loads(path.read_text())


def _setting(key: str) -> str:
    """How serverless.yml reads one key of config/<stage>.json."""
    return "${file(../config/${sls:stage}.json):" + key + "}"


def _alarms(resources: dict) -> dict:
    return _of_type(resources, "AWS::CloudWatch::Alarm")


def test_the_releases_plugin_runs_before_the_domain_stacks_split(service):
    plugins = service["plugins"]
    assert "./releases" in plugins
    if "./domain-stacks" in plugins:  # the aliases must exist when their domain's resources move
        assert plugins.index("./releases") < plugins.index("./domain-stacks")
    assert service["provider"]["versionFunctions"] is True, "an alias needs a version to point at"
    releases = service["custom"]["releases"]
    assert releases["alias"] == "live"
    assert releases["provisionedConcurrency"] == _setting("provisioned_concurrency")
    for path in CONFIGS:
        assert _config(path)["release"] in RELEASES, path.name


def test_every_function_has_a_deployment_group_that_rolls_back_on_its_errors_alarm(service, resources):
    alarms = _alarms(resources)
    groups = _of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
    assert set(groups) == {f"{key}DeploymentGroup" for key in service["functions"]}
    (application,) = _of_type(resources, "AWS::CodeDeploy::Application").values()
    assert application["ComputePlatform"] == "Lambda"
    for key, group in groups.items():
        function = key.removesuffix("DeploymentGroup")
        assert group["ApplicationName"] == _ref("CodeDeployApplication"), key
        assert group["DeploymentConfigName"] == "CodeDeployDefault.Lambda" + _setting("release"), key
        assert group["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
        assert group["AutoRollbackConfiguration"] == {"Enabled": True, "Events": ROLLBACK_EVENTS}, key
        assert group["AlarmConfiguration"]["Enabled"] is True, key
        (watched,) = group["AlarmConfiguration"]["Alarms"]
        errors = alarms[watched["Name"]["Ref"]]
        assert errors["MetricName"] == "Errors", f"{key} rolls back on {watched}, not its errors alarm"
        assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": _ref(f"{function}LambdaFunction")}]


def test_codedeploy_may_only_move_this_stages_aliases(resources):
    role = resources["CodeDeployRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert "ManagedPolicyArns" not in role, "the managed CodeDeploy policies reach every function"
    statements = {tuple(s["Action"]): s["Resource"]["Fn::Sub"] for s in _statements(resources["CodeDeployRole"])}
    here = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s:${self:service}-${sls:stage}-*"
    assert statements == {
        ("lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"): here
        % ("lambda", "function"),
        ("cloudwatch:DescribeAlarms",): here % ("cloudwatch", "alarm"),
    }


def test_concurrency_comes_from_the_stage_config(service):
    for key, function in service["functions"].items():
        assert function["reservedConcurrency"] == _setting("reserved_concurrency")[:-1] + ", null}", key
        for event in function.get("events", []):
            if "sqs" in event:
                assert event["sqs"]["maximumConcurrency"] == _setting("queue_max_concurrency"), key


def test_schedules_invoke_the_alias(resources):
    for key, schedule in _of_type(resources, "AWS::Scheduler::Schedule").items():
        function = key.removesuffix("Schedule")
        assert schedule["Target"]["Arn"] == _ref(f"{function}LambdaAlias"), key
        (statement,) = _statements(resources[f"{key}Role"])
        assert (statement["Action"], statement["Resource"]) == (
            ["lambda:InvokeFunction"],
            _ref(f"{function}LambdaAlias"),
        )


def _dimension(alarm: dict) -> dict:
    metric = alarm["Metrics"][0]["MetricStat"]["Metric"] if "Metrics" in alarm else alarm
    (dimension,) = metric["Dimensions"]
    return dimension


def test_every_function_queue_table_and_the_api_has_its_alarms(service, resources):
    alarms = _alarms(resources)
    watched: dict[str, list[str]] = {}
    for alarm in alarms.values():
        metric = alarm["Metrics"][0]["MetricStat"]["Metric"] if "Metrics" in alarm else alarm
        value = _dimension(alarm)["Value"]
        target = value.get("Ref") or value["Fn::GetAtt"][0]
        watched.setdefault(target, []).append(metric["MetricName"])
    for key in service["functions"]:
        assert sorted(watched.pop(f"{key}LambdaFunction")) == ["Duration", "Errors", "Throttles"], key
    queues = _of_type(resources, "AWS::SQS::Queue")
    dead_letters = {
        q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for q in queues.values() if "RedrivePolicy" in q
    }
    for key in queues:
        # A work queue alarms on the age of its oldest message, a dead-letter queue on any message in it.
        metric = "ApproximateNumberOfMessagesVisible" if key in dead_letters else "ApproximateAgeOfOldestMessage"
        assert watched.pop(key) == [metric], key
    for key in _of_type(resources, "AWS::DynamoDB::Table"):
        assert sorted(watched.pop(key)) == ["ReadThrottleEvents", "WriteThrottleEvents"], key
    assert sorted(watched.pop("HttpApi")) == ["5xx", "Latency"]
    assert not watched, f"alarms on nothing expected: {watched}"


def test_alarms_notify_the_topic_once_and_read_their_threshold_from_the_config(resources):
    names = [alarm["AlarmName"] for alarm in _alarms(resources).values()]
    assert len(set(names)) == len(names)
    keys = set(_config(CONFIGS[0]))
    for key, alarm in _alarms(resources).items():
        assert alarm["AlarmName"].startswith("${self:service}-${sls:stage}-"), key
        threshold = CONFIG_KEY.fullmatch(alarm["Threshold"])
        assert threshold and threshold[1] in keys and threshold[1].startswith("alarm_"), key
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1), key
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", key
        assert alarm["TreatMissingData"] == "notBreaching", key
        assert alarm["AlarmActions"] == alarm["OKActions"] == [_ref(ALARM_TOPIC)], key
        if "Metrics" not in alarm:
            assert ("Statistic" in alarm) != ("ExtendedStatistic" in alarm), key


def test_the_duration_alarm_is_p99_as_a_percentage_of_the_timeout(service, resources):
    for key, function in service["functions"].items():
        alarm = _alarms(resources)[f"{key}DurationAlarm"]
        duration, percent = alarm["Metrics"]
        assert (duration["Id"], duration["ReturnData"], duration["MetricStat"]["Stat"]) == ("duration", False, "p99")
        timeout = function.get("timeout", service["provider"]["timeout"])
        assert percent["Expression"] == f"duration / ({timeout} * 10)", key
        assert percent["ReturnData"] is True, key


def test_the_alarm_topic_mails_only_a_configured_address_and_takes_budget_notices(resources):
    subscriptions = _of_type(resources, "AWS::SNS::Subscription")
    (email,) = [key for key, s in subscriptions.items() if s["TopicArn"] == _ref(ALARM_TOPIC)]
    assert resources[email]["Condition"] == "AlarmEmail"
    assert subscriptions[email]["Endpoint"] == _setting("alarm_email")
    condition = {"Fn::Not": [{"Fn::Equals": [_setting("alarm_email"), ""]}]}
    assert yaml.safe_load(SOURCE)["resources"]["Conditions"]["AlarmEmail"] == condition
    policies = _of_type(resources, "AWS::SNS::TopicPolicy").values()
    (policy,) = [p for p in policies if p["Topics"] == [_ref(ALARM_TOPIC)]]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]}
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow",
        "sns:Publish",
        _ref(ALARM_TOPIC),
    )
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}}


def test_the_budget_watches_the_stages_tag(service, resources):
    assert service["provider"]["stackTags"]["budget"] == "${self:service}-${sls:stage}"
    (budget,) = _of_type(resources, "AWS::Budgets::Budget").values()
    spec = budget["Budget"]
    assert (spec["BudgetName"], spec["BudgetType"], spec["TimeUnit"]) == (
        "${self:service}-${sls:stage}",
        "COST",
        "MONTHLY",
    )
    assert spec["BudgetLimit"] == {"Amount": _setting("budget_monthly_usd"), "Unit": "USD"}
    tag = {"Fn::Join": ["", ["user:budget$", "${self:service}-${sls:stage}"]]}
    assert spec["CostFilters"] == {"TagKeyValue": [tag]}
    notices = [
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"], n["Notification"]["ThresholdType"])
        for n in budget["NotificationsWithSubscribers"]
    ]
    assert notices == [
        ("ACTUAL", _setting("budget_alert_percent"), "PERCENTAGE"),
        ("FORECASTED", _setting("budget_forecast_percent"), "PERCENTAGE"),
    ]
    for notification in budget["NotificationsWithSubscribers"]:
        assert notification["Subscribers"] == [{"SubscriptionType": "SNS", "Address": _ref(ALARM_TOPIC)}]


def test_the_dashboard_charts_every_function_and_the_api(service, resources):
    (dashboard,) = _of_type(resources, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["DashboardName"] == "${self:service}-${sls:stage}"
    text = dashboard["DashboardBody"]["Fn::Sub"]
    # Only the stage (resolved while packaging), the region and the API's id are substituted.
    assert set(re.findall(r"\$\{[^}]*\}", text)) == {"${sls:stage}", "${AWS::Region}", "${HttpApi}"}
    body = json.loads(text)
    charted = {m[3] for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]}
    functions = {f["name"].replace("${self:service}", service["service"]) for f in service["functions"].values()}
    assert functions <= charted, f"not on the dashboard: {sorted(functions - charted)}"
    assert "${HttpApi}" in charted


def test_each_domain_saves_its_queries_over_its_own_log_groups(service, resources):
    queries = _of_type(resources, "AWS::Logs::QueryDefinition")
    assert queries
    for key, query in queries.items():
        assert query["Name"].startswith("${self:service}-${sls:stage}/"), key
        groups = [group["Ref"].removesuffix("LogGroup") for group in query["LogGroupNames"]]
        assert groups and set(groups) <= set(service["functions"]), key
        # One domain's functions: their handlers share the domain's package.
        packages = {service["functions"][g]["handler"].rsplit(".", 2)[0] for g in groups}
        assert len(packages) == 1, f"{key} reads several domains' logs: {packages}"
