"""The SAM template agrees with the stage configs and with the routes the local server serves."""

import json
from pathlib import Path

import pytest
import yaml

from infra import stage_params

from local.routes import PROTECTED_ROUTES, ROUTES

INFRA = Path(__file__).resolve().parent.parent
CONFIGS = sorted((INFRA.parent / "config").glob("*.json"))


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML; a short-form function becomes a one-key mapping (!Ref X -> {"Ref": "X"})."""


def _function(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


_CloudFormationLoader.add_multi_constructor("!", _function)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load((INFRA / "template.yaml").read_text(), Loader=_CloudFormationLoader)


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _events(template: dict, kind: str) -> list[tuple[str, dict]]:
    """(function logical id, event properties) of every function event of one type."""
    return [
        (logical_id, event["Properties"])
        for logical_id, function in _of_type(template, "AWS::Serverless::Function").items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_maps_onto_template_parameters(path, template):
    parameters = template["Parameters"]
    overrides = stage_params.overrides(path.stem)
    assert set(overrides) == set(parameters)
    assert overrides["Stage"] == path.stem
    assert path.stem in parameters["Stage"]["AllowedValues"]
    config = json.loads(path.read_text())
    assert config["log_level"] in parameters["LogLevel"]["AllowedValues"]
    assert config["log_retention_days"] in parameters["LogRetentionDays"]["AllowedValues"]


def test_unknown_stage_is_a_clear_error():
    with pytest.raises(SystemExit, match="No config for stage 'nope'"):
        stage_params.overrides("nope")


def test_routes_match_the_local_routes(template):
    declared = {(event["Method"], event["Path"]) for _, event in _events(template, "HttpApi")}
    assert declared == {(method, path) for method, path, _ in ROUTES}


def test_routes_need_a_token_exactly_where_the_local_server_asks_for_one(template):
    auth = template["Resources"]["HttpApi"]["Properties"].get("Auth")
    pools = _of_type(template, "AWS::Cognito::UserPool")
    routes = {f"{event['Method']} {event['Path']}": event.get("Auth", {}) for _, event in _events(template, "HttpApi")}
    if not pools:  # no user pool: no authorizer at all
        assert auth is None
        assert not PROTECTED_ROUTES
        assert all(not route_auth for route_auth in routes.values())
        return
    (pool,) = pools
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    assert authorizer["JwtConfiguration"]["issuer"]["Sub"].endswith("/${" + pool + "}")
    assert authorizer["JwtConfiguration"]["audience"] == [{"Ref": f"{pool}Client"}]
    assert all(set(route_auth) <= {"Authorizer"} for route_auth in routes.values())
    protected = {route for route, route_auth in routes.items() if route_auth.get("Authorizer") != "NONE"}
    # Public routes come from the `public_routes` answer: change them with `copier update`, not here.
    assert protected == PROTECTED_ROUTES


def test_users_are_created_by_an_admin_and_sign_in_without_a_client_secret(template):
    for pool in _of_type(template, "AWS::Cognito::UserPool").values():
        properties = pool["Properties"]
        assert pool["DeletionPolicy"] == "Retain"
        assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
        assert properties["UsernameAttributes"] == ["email"]
        assert properties["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    for client in _of_type(template, "AWS::Cognito::UserPoolClient").values():
        properties = client["Properties"]
        assert properties["GenerateSecret"] is False
        assert set(properties["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
        assert properties["PreventUserExistenceErrors"] == "ENABLED"


def test_buckets_are_private_encrypted_retained_and_tls_only(template):
    policies = {
        policy["Properties"]["Bucket"]["Ref"]: policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in _of_type(template, "AWS::S3::BucketPolicy").values()
    }
    for logical_id, bucket in _of_type(template, "AWS::S3::Bucket").items():
        properties = bucket["Properties"]
        assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
        assert len(properties["PublicAccessBlockConfiguration"]) == 4
        (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        deny = [s for s in policies[logical_id] if s["Effect"] == "Deny"]
        assert [s["Condition"] for s in deny] == [{"Bool": {"aws:SecureTransport": "false"}}]
        assert deny[0]["Action"] == "s3:*" and deny[0]["Principal"] == "*"
        assert deny[0]["Resource"] == [{"GetAtt": f"{logical_id}.Arn"}, {"Sub": "${" + logical_id + ".Arn}/*"}]


def test_each_subscriber_listens_on_the_bus_with_retries(template):
    buses = set(_of_type(template, "AWS::Events::EventBus"))
    for _, rule in _events(template, "EventBridgeRule"):
        assert rule["EventBusName"] == {"Ref": next(iter(buses))}
        assert rule["Pattern"]["source"] and rule["Pattern"]["detail-type"]
        assert rule["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}


def test_only_the_notify_rule_publishes_to_the_topic(template):
    topics = _of_type(template, "AWS::SNS::Topic")
    rules = _of_type(template, "AWS::Events::Rule")
    for topic in topics:
        targeting = [
            k for k, rule in rules.items() if {"Ref": topic} in [t["Arn"] for t in rule["Properties"]["Targets"]]
        ]
        assert len(targeting) == 1
        (policy,) = [
            p
            for p in _of_type(template, "AWS::SNS::TopicPolicy").values()
            if {"Ref": topic} in p["Properties"]["Topics"]
        ]
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sns:Publish"
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"GetAtt": f"{targeting[0]}.Arn"}}}


def test_no_secret_value_is_written_in_the_template(template):
    for secret in _of_type(template, "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"]
        assert "GenerateSecretString" in secret["Properties"]
    for parameter in _of_type(template, "AWS::SSM::Parameter").values():  # plain settings, valid JSON
        assert parameter["Properties"]["Type"] == "String"
        assert isinstance(json.loads(parameter["Properties"]["Value"]), dict)


def _in_network(template: dict) -> dict[str, dict]:
    return {k: f for k, f in _of_type(template, "AWS::Serverless::Function").items() if "VpcConfig" in f["Properties"]}


def test_exactly_the_functions_that_reach_postgres_or_redis_run_in_the_private_subnets(template):
    subnets = [{"Ref": k} for k in _of_type(template, "AWS::EC2::Subnet")]
    reaching = {
        k
        for k, f in _of_type(template, "AWS::Serverless::Function").items()
        if {"DATABASE_URL", "CACHE_URL"} & set(f["Properties"].get("Environment", {}).get("Variables", {}))
    }
    assert set(_in_network(template)) == reaching
    for function in _in_network(template).values():
        vpc = function["Properties"]["VpcConfig"]
        assert vpc == {"SubnetIds": subnets, "SecurityGroupIds": [{"Ref": "FunctionSecurityGroup"}]}


def test_the_network_has_no_way_to_the_internet(template):
    resources = {r["Type"] for r in template["Resources"].values()}
    assert not resources & {
        "AWS::EC2::InternetGateway",
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::Route",
    }
    subnets = _of_type(template, "AWS::EC2::Subnet")
    assert len(subnets) in (0, 2)
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    endpoints = [e["Properties"] for e in _of_type(template, "AWS::EC2::VPCEndpoint").values()]
    if subnets:  # in-network functions reach their tables through a gateway endpoint, and nothing else
        assert [(e["VpcEndpointType"], e["ServiceName"]["Sub"]) for e in endpoints] == [
            ("Gateway", "com.amazonaws.${AWS::Region}.dynamodb")
        ]


def test_data_ports_are_open_only_to_the_in_network_functions(template):
    groups = _of_type(template, "AWS::EC2::SecurityGroup")
    if not groups:
        return
    functions = groups["FunctionSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in functions  # nothing connects to a function
    egress = {(rule["FromPort"], rule["ToPort"]) for rule in functions["SecurityGroupEgress"]}
    expected = {"DatabaseSecurityGroup": 5432, "CacheSecurityGroup": 6379}
    assert egress == {(443, 443)} | {(port, port) for group, port in expected.items() if group in groups}
    for group, port in expected.items():
        if group not in groups:
            continue
        ingress = groups[group]["Properties"]["SecurityGroupIngress"]
        assert [(r["FromPort"], r["ToPort"], r["SourceSecurityGroupId"]) for r in ingress] == [
            (port, port, {"Ref": "FunctionSecurityGroup"})
        ]
    for rule in _of_type(template, "AWS::EC2::SecurityGroupIngress").values():  # the proxy to the cluster
        assert rule["Properties"]["GroupId"] == rule["Properties"]["SourceSecurityGroupId"]


def test_the_database_signs_in_with_iam_over_tls_and_no_password_is_written(template):
    for logical_id, cluster in _of_type(template, "AWS::RDS::DBCluster").items():
        properties = cluster["Properties"]
        assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"
        assert "MasterUserPassword" not in properties
        assert properties["ManageMasterUserPassword"] is True
        assert properties["EnableIAMDatabaseAuthentication"] is True
        assert properties["StorageEncrypted"] is True
        secret = {"GetAtt": f"{logical_id}.MasterUserSecret.SecretArn"}
        (proxy,) = _of_type(template, "AWS::RDS::DBProxy").values()
        assert proxy["Properties"]["RequireTLS"] is True
        assert proxy["Properties"]["Auth"] == [{"AuthScheme": "SECRETS", "SecretArn": secret, "IAMAuth": "REQUIRED"}]
        role = template["Resources"][proxy["Properties"]["RoleArn"]["GetAtt"].removesuffix(".Arn")]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "rds.amazonaws.com"}
        (policy,) = role["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        assert statements == [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}]


def test_functions_connect_only_as_the_app_user_of_the_proxy(template):
    for role in _of_type(template, "AWS::IAM::Role").values():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if "rds-db:connect" not in statement.get("Action", []):
                    continue
                arn, variables = statement["Resource"]["Sub"]
                assert statement["Action"] == ["rds-db:connect"]
                assert arn.endswith(":dbuser:${ProxyId}/app")
                assert variables["ProxyId"]["Select"][1]["Split"][1] == {"GetAtt": "DatabaseProxy.DBProxyArn"}


def test_the_cache_is_serverless_redis_with_usage_limits(template):
    for cache in _of_type(template, "AWS::ElastiCache::ServerlessCache").values():
        properties = cache["Properties"]
        assert (properties["Engine"], properties["MajorEngineVersion"]) == ("redis", "7")
        assert properties["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]
        limits = properties["CacheUsageLimits"]
        assert limits["DataStorage"]["Maximum"] and limits["ECPUPerSecond"]["Maximum"]
