"""The Terraform configuration agrees with the stage configs, the state backends and the local dev server.

These run without Terraform: `terraform fmt` (checked by `make validate`) keeps the .tf files in
one canonical layout, so the module inputs rendered from the service model read reliably.
"""

import json
import re
from pathlib import Path

import pytest

from local import env as local_env
from local.routes import ADMIN_JOBS, CONSUMERS, PROTECTED_ROUTES, ROUTES, SUBSCRIBERS

INFRA = Path(__file__).resolve().parent.parent
CONFIGS = sorted((INFRA.parent / "config").glob("*.json"))
TYPES = {"string": str, "number": (int, float), "bool": bool}
# A consumer's `queue = { resource = "<key>", batch_size = <n> }`, as main.tf writes it.
CONSUMER_QUEUE = re.compile(r'^\s*queue\s*=\s*\{ resource = "(\w+)", batch_size = (\d+) \}$', re.M)
# A domain's `bucket = { key = "<key>", name = "<name>" }` input, as main.tf writes it.
BUCKET = re.compile(r'^\s*bucket\s*=\s*\{ key = "(\w+)", name = "([^"]+)" \}$', re.M)
ACCOUNT_ID = "${data.aws_caller_identity.current.account_id}"
# A subscriber's `events = {` object (the bus and what its rule matches).
SUBSCRIBER_EVENTS = re.compile(r"^\s*events = \{$", re.M)
# A resource that variables carry the endpoint URL of (database, cache): `<key> = { name, arn, url }`.
URL_RESOURCE = re.compile(r"^  (\w+) = \{\n    name = .+\n    arn  = .+\n    url  = .+\n  \}$", re.M)
# A function that runs in the private subnets (it reaches postgres or redis).
IN_NETWORK = re.compile(r"^\s*network\s*=\s*true\b", re.M)


@pytest.fixture(scope="module")
def source() -> str:
    """The root module: every .tf file of infra/ (not its modules/)."""
    return "\n".join(path.read_text() for path in sorted(INFRA.glob("*.tf")))


@pytest.fixture(scope="module")
def variables(source) -> dict[str, str]:
    """Root variable name -> the text of its block."""
    return dict(re.findall(r'^variable "(\w+)" \{\n(.*?)^\}', source, re.M | re.S))


def _own(body: str) -> str:
    """``body`` without the objects and lists written over several lines inside it."""
    return re.sub(r"^( +)\w+\s*=\s*[{\[]\n.*?^\1[}\]]\n", "", body, flags=re.M | re.S)


def _attribute(body: str, name: str) -> str | None:
    """A string attribute written directly in ``body``."""
    match = re.search(rf'^\s*{name}\s*=\s*"([^"]*)"', _own(body), re.M)
    return match[1] if match else None


def _object_list(source: str) -> list[tuple[str, str]]:
    """Each `key = {` object written over several lines (nested ones too): (key, body)."""
    objects = []
    for opener in re.finditer(r"^( +)(\w+)\s*=\s*\{\n", source, re.M):
        closer = re.compile(rf"^{opener[1]}\}}$", re.M).search(source, opener.end())  # fmt aligns it
        objects.append((opener[2], source[opener.end() : closer.start()]))
    return objects


def _objects(source: str) -> dict[str, str]:
    """Each `key = {` object written over several lines -> its body (function keys are unique)."""
    return dict(_object_list(source))


def _number(body: str, name: str) -> int | None:
    """A whole-number attribute written directly in ``body``."""
    match = re.search(rf"^\s*{name}\s*=\s*(\d+)$", _own(body), re.M)
    return int(match[1]) if match else None


def _resource(source: str, kind: str, name: str = r"\w+", block: str = "resource") -> str:
    """The body of one `resource "<kind>" "<name>"` block (or data block; the first that matches)."""
    match = re.search(rf'^{block} "{kind}" "{name}" \{{\n(.*?)^\}}', source, re.M | re.S)
    assert match, f"no {block} {kind}.{name}"
    return match[1]


def _lines(body: str) -> set[str]:
    """The lines of a block without comments or `terraform fmt` alignment, to look settings up."""
    return {" ".join(re.sub(r"\s+#.*$", "", line).split()) for line in body.splitlines()}


@pytest.fixture(scope="module")
def domain_module() -> str:
    """modules/domain: every .tf file (bucket.tf only with the s3 service)."""
    return "\n".join(path.read_text() for path in sorted((INFRA / "modules" / "domain").glob("*.tf")))


@pytest.fixture(scope="module")
def slug(source) -> str:
    return re.search(r'^\s*service\s*=\s*"([^"]+)"', source, re.M)[1]  # providers.tf default tags


@pytest.fixture(scope="module")
def functions(source) -> dict[str, str]:
    """Function key -> the body of its object: every object in main.tf with a handler."""
    return {key: body for key, body in _objects(source).items() if _attribute(body, "handler")}


@pytest.fixture(scope="module")
def queues(source) -> dict[str, str]:
    """Queue key -> the body of its object (the domain modules' `queue` and `dead_letter` inputs)."""
    return {
        _attribute(body, "key"): body
        for name, body in _object_list(source)
        if name in ("queue", "dead_letter") and _attribute(body, "key")
    }


@pytest.fixture(scope="module")
def consumers(source) -> dict[str, tuple[str, str, int]]:
    """Function key -> (queue key, handler, batch size) of each function that reads a queue."""
    out = {}
    for key, body in _objects(source).items():
        reads = CONSUMER_QUEUE.search(body)
        if reads and _attribute(body, "handler"):
            out[key] = (reads[1], _attribute(body, "handler"), int(reads[2]))
    return out


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_key_is_a_declared_variable(path, variables):
    config = json.loads(path.read_text())
    assert config["stage"] == path.stem
    assert set(config) == set(variables), "-var-file=../config/<stage>.json must set every variable"
    for key, value in config.items():
        declared = re.search(r"^\s*type\s*=\s*(\w+)", variables[key], re.M)[1]
        if value is None:  # null ("not set") only where the variable says it may be
            assert re.search(r"^\s*nullable\s*=\s*true$", variables[key], re.M), f"{path.name}: {key} may not be null"
            continue
        assert isinstance(value, TYPES[declared]), f"{path.name}: {key} is not a {declared}"
        assert declared == "bool" or not isinstance(value, bool), f"{path.name}: {key} is not a {declared}"
        # The validations that list their allowed values accept this stage's value.
        allowed = re.search(rf"contains\((\[.*?\]), var\.{key}\)", variables[key])
        if allowed:
            assert value in json.loads(allowed[1]), f"{path.name}: {key}={value!r} is refused by infra/variables.tf"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_stage_has_its_own_state(path):
    backend = INFRA / "backends" / f"{path.stem}.s3.tfbackend"
    assert backend.is_file(), f"{backend} is missing: `make deploy STAGE={path.stem}` needs it"
    lines = re.findall(r"^(\w+)\s*=\s*(.+)$", backend.read_text(), re.M)
    settings = {key: json.loads(value) for key, value in lines}
    assert settings["bucket"].endswith(f"-{path.stem}-tfstate")
    assert path.stem in settings["key"]
    assert settings["use_lockfile"] is True and settings["encrypt"] is True


def test_backends_are_the_stages():
    assert {p.name.removesuffix(".s3.tfbackend") for p in (INFRA / "backends").glob("*.s3.tfbackend")} == {
        p.stem for p in CONFIGS
    }


def test_routes_match_the_local_routes(functions):
    declared = set()
    for body in functions.values():
        route, handler = _attribute(body, "route"), _attribute(body, "handler")
        if route:
            method, path = route.split(" ", 1)
            declared.add((method, path, handler))
    assert declared == set(ROUTES)


def test_admin_jobs_match_the_local_jobs(functions):
    declared = {
        key: (_attribute(body, "handler"), _attribute(body, "suffix"))
        for key, body in functions.items()
        if not _attribute(body, "route") and not CONSUMER_QUEUE.search(body) and not SUBSCRIBER_EVENTS.search(body)
    }
    assert declared == ADMIN_JOBS


def test_protected_routes_match_the_local_server(source, functions):
    """With a user pool, every route needs a token except those marked public; `make dev` agrees."""
    routes = {_attribute(body, "route"): body for body in functions.values() if _attribute(body, "route")}
    public = {route for route, body in routes.items() if re.search(r"^\s*public\s*=\s*true$", _own(body), re.M)}
    has_authorizer = 'resource "aws_apigatewayv2_authorizer"' in source
    assert public <= set(routes)
    assert (set(routes) - public if has_authorizer else set()) == PROTECTED_ROUTES
    if not has_authorizer:
        assert not public, "public routes only mean something with the cognito authorizer"


def test_routes_use_the_authorizer_unless_public(source, domain_module):
    route = _lines(_resource(domain_module, "aws_apigatewayv2_route"))
    protected = "var.api.authorizer_id != null && !each.value.public"
    assert f'authorization_type = {protected} ? "JWT" : "NONE"' in route
    assert f"authorizer_id = {protected} ? var.api.authorizer_id : null" in route
    calls = re.findall(r'^module "\w+" \{\n\s*source = "\./modules/domain"\n(.*?)^\}', source, re.M | re.S)
    assert calls
    if 'resource "aws_apigatewayv2_authorizer"' not in source:
        assert all("authorizer_id" not in body for body in calls)
        return
    for body in calls:  # every domain's routes sit behind the one authorizer
        assert "authorizer_id = aws_apigatewayv2_authorizer.cognito.id" in body
    authorizer = _lines(_resource(source, "aws_apigatewayv2_authorizer", "cognito"))
    assert {'authorizer_type = "JWT"', 'identity_sources = ["$request.header.Authorization"]'} <= authorizer
    assert {'issuer = "https://${aws_cognito_user_pool.users.endpoint}"'} <= authorizer
    assert {"audience = [aws_cognito_user_pool_client.api.id]"} <= authorizer
    client = _lines(_resource(source, "aws_cognito_user_pool_client", "api"))
    assert {"generate_secret = false", 'prevent_user_existence_errors = "ENABLED"'} <= client
    pool = _lines(_resource(source, "aws_cognito_user_pool", "users"))
    assert {"allow_admin_create_user_only = true", "minimum_length = 12", "prevent_destroy = true"} <= pool


def test_buckets_are_private_encrypted_and_tls_only(source, domain_module):
    if not re.search(r"^\s*bucket\s*=\s*\{ key = ", source, re.M):
        assert 'resource "aws_s3_bucket"' not in domain_module
        return
    block = _lines(_resource(domain_module, "aws_s3_bucket_public_access_block"))
    for setting in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert f"{setting} = true" in block
    ownership = _lines(_resource(domain_module, "aws_s3_bucket_ownership_controls"))
    assert 'object_ownership = "BucketOwnerEnforced"' in ownership  # no ACLs
    encryption = _resource(domain_module, "aws_s3_bucket_server_side_encryption_configuration")
    assert 'sse_algorithm = "AES256"' in _lines(encryption)
    versioning = _lines(_resource(domain_module, "aws_s3_bucket_versioning"))
    assert 'status = var.production ? "Enabled" : "Disabled"' in versioning
    lifecycle = _lines(_resource(domain_module, "aws_s3_bucket_lifecycle_configuration"))
    assert {"days_after_initiation = 7", "noncurrent_days = 90"} <= lifecycle
    assert "prevent_destroy = true" in _lines(_resource(domain_module, "aws_s3_bucket"))
    # The bucket policy denies every request that is not over TLS, to everyone.
    policy = _lines(_resource(domain_module, "aws_iam_policy_document", "bucket", block="data"))
    assert {'effect = "Deny"', 'actions = ["s3:*"]', 'variable = "aws:SecureTransport"', 'values = ["false"]'} <= policy
    assert 'resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]' in policy


def test_buckets_match_the_local_buckets(source, slug):
    """Bucket names are global across AWS: each ends in the account id, here and in `make dev`."""
    declared = [name for _, name in BUCKET.findall(source)]
    local = getattr(local_env, "BUCKETS", {})
    assert len(declared) == len(local)
    if declared:
        assert 'data "aws_caller_identity" "current" {}' in source
    for name in declared:
        assert name.startswith(f"{slug}-${{var.stage}}-") and name.endswith(f"-{ACCOUNT_ID}"), name
        pattern = re.escape(name.removesuffix(ACCOUNT_ID).replace("${var.stage}", "local")) + r"\d{12}"
        assert [bucket for bucket in local if re.fullmatch(pattern, bucket)], f"{name}: not in local/env.py"


def test_object_grants_are_on_the_objects(source, domain_module):
    """A grant marked objects (a bucket's) is on <bucket arn>/*, and only bucket grants are marked."""
    assert '"${local.resources[grant.resource].arn}${grant.objects ? "/*" : ""}"' in domain_module
    buckets = {key for key, _ in BUCKET.findall(source)}
    marked = set(re.findall(r'\{ resource = "(\w+)", actions = \[[^]]*\], objects = true \}', source))
    assert marked <= buckets
    for key in buckets:  # nothing is granted on a bucket itself
        assert not re.search(rf'\{{ resource = "{key}", actions = \[[^]]*\] \}}', source), key


def test_subscribers_match_the_local_subscribers(functions, slug):
    declared = {
        (f"{slug}-local-{_attribute(body, 'suffix')}", _attribute(body, "handler"))
        for body in functions.values()
        if SUBSCRIBER_EVENTS.search(body)
    }
    assert declared == set(SUBSCRIBERS)


def test_each_subscriber_rule_invokes_only_its_function(domain_module):
    rule = _lines(_resource(domain_module, "aws_cloudwatch_event_rule", "subscriber"))
    assert {"for_each = local.subscribers", "event_bus_name = local.resources[each.value.events.bus].name"} <= rule
    assert 'name = "${var.prefix}-${each.value.suffix}"' in rule  # named like its function
    target = _lines(_resource(domain_module, "aws_cloudwatch_event_target", "subscriber"))
    assert {"for_each = local.subscribers", "arn = module.function[each.key].alias_arn"} <= target
    assert {"maximum_retry_attempts = 4", "maximum_event_age_in_seconds = 3600"} <= target
    permission = _lines(_resource(domain_module, "aws_lambda_permission", "events"))
    assert {'principal = "events.amazonaws.com"', "function_name = module.function[each.key].name"} <= permission
    assert "qualifier = module.function[each.key].alias" in permission  # the alias the rule invokes
    assert "source_arn = aws_cloudwatch_event_rule.subscriber[each.key].arn" in permission


def test_only_the_notify_rule_publishes_to_the_topic(source):
    if 'resource "aws_sns_topic" "notifications"' not in source:
        return
    target = _lines(_resource(source, "aws_cloudwatch_event_target", "notify"))
    assert "arn = aws_sns_topic.notifications.arn" in target
    policy = _lines(_resource(source, "aws_iam_policy_document", "notifications", block="data"))
    assert {'actions = ["sns:Publish"]', 'identifiers = ["events.amazonaws.com"]'} <= policy
    assert {'variable = "aws:SourceArn"', "values = [aws_cloudwatch_event_rule.notify.arn]"} <= policy
    subscriptions = re.findall(r'^resource "aws_sns_topic_subscription" "\w+" \{\n(.*?)^\}', source, re.M | re.S)
    assert not [body for body in subscriptions if "aws_sns_topic.notifications" in body]  # teams add their own


def test_no_secret_value_is_in_the_configuration(source):
    modules = "\n".join(path.read_text() for path in sorted(INFRA.glob("modules/*/*.tf")))
    assert "aws_secretsmanager_secret_version" not in source + modules
    if 'resource "aws_ssm_parameter"' in source:  # the team owns the value once it exists
        parameter = _lines(_resource(source, "aws_ssm_parameter", "settings"))
        assert {'type = "String"', "ignore_changes = [value]"} <= parameter


def test_destroy_keeps_what_prevent_destroy_guards(source, domain_module):
    """`make destroy` forgets exactly the resources that outlive a stage (and a bucket's settings)."""
    tasks = (INFRA / "tasks.mk").read_text()
    retained = re.compile(re.search(r"^RETAINED = '(.*)'$", tasks, re.M)[1].replace("$$", "$"))
    guarded, others = [], []
    for text, module in ((source, ""), (domain_module, "module.orders.")):
        for kind, name, body in re.findall(r'^resource "(\w+)" "(\w+)" \{\n(.*?)^\}', text, re.M | re.S):
            address = f"{module}{kind}.{name}" + ("[0]" if "count =" in body else "")
            kept = "prevent_destroy = true" in body or kind.startswith("aws_s3_bucket_")
            (guarded if kept else others).append(address)
    assert guarded
    assert all(retained.match(address) for address in guarded), guarded
    assert not [address for address in others if retained.match(address)]


def test_consumers_match_the_local_consumers(source, queues, consumers, slug):
    declared = {
        (f"{slug}-local-{_attribute(queues[queue], 'name_suffix')}", handler, batch_size)
        for queue, handler, batch_size in consumers.values()
    }
    assert declared == set(CONSUMERS)


def test_consumed_queues_redrive_and_outlast_their_consumer(source, queues, consumers):
    for key, (queue, _, _) in consumers.items():
        body = _objects(source)[key]
        timeout = _number(body, "timeout")
        assert timeout, f"{key}: a consumer sets its own timeout"
        # AWS: at least six times the function's timeout, or a message being processed shows again.
        assert _number(queues[queue], "visibility_timeout") >= 6 * timeout, f"{queue}: visibility timeout too short"
        dead_letter = _objects(queues[queue]).get("dead_letter")
        assert dead_letter and _attribute(dead_letter, "key") in queues, f"{queue}: no dead-letter queue"
        assert _number(queues[queue], "max_receive_count") >= 1


def test_every_consumer_reports_its_failed_messages(source, consumers):
    domain = (INFRA / "modules" / "domain" / "main.tf").read_text()
    mapping = re.search(r'^resource "aws_lambda_event_source_mapping" "\w+" \{\n(.*?)^\}', domain, re.M | re.S)
    if consumers:
        assert mapping, "modules/domain has no event source mapping for its consumers"
    if mapping:
        # One mapping per function with a queue; partial batch responses: only failed messages are retried.
        assert re.search(r"^\s*for_each\s*=\s*local\.consumers$", mapping[1], re.M)
        selects = r"consumers\s*=\s*\{ for key, function in var\.functions : .* if function\.queue != null \}"
        assert re.search(selects, domain), "local.consumers must be the functions that read a queue"
        assert 'function_response_types = ["ReportBatchItemFailures"]' in mapping[1]
        assert re.search(r"^\s*batch_size\s*=\s*each\.value\.queue\.batch_size$", mapping[1], re.M)


def test_grants_and_variables_name_declared_resources(source):
    declared = set(re.findall(r'\bkey\s*=\s*"(\w+)"', source))  # the domains' tables and queues
    declared |= set(re.findall(r"^\s*(\w+)\s*=\s*\{ name = \S+, arn = \S+ \}$", source, re.M))  # shared ones
    declared |= set(URL_RESOURCE.findall(source))  # the database and the cache
    used = set(re.findall(r'\{ resource = "(\w+)", actions = ', source))
    used |= set(re.findall(r'^\s*bus\s*=\s*"(\w+)"$', source, re.M))  # the bus a subscriber's rule is on
    for name, body in _object_list(source):
        if name == "environment":
            used |= set(re.findall(r'^\s*[A-Z][A-Z0-9_]*\s*=\s*"(\w+)"$', body, re.M))
    assert used and used <= declared, f"not declared: {sorted(used - declared)}"


def test_functions_run_in_the_network_exactly_when_they_reach_a_data_service(source, functions):
    """A function given a database or cache URL runs in the private subnets; no other function does."""
    data_services = set(URL_RESOURCE.findall(source))
    for key, body in functions.items():
        environment = _objects(body).get("environment", "")
        reaches = set(re.findall(r'^\s*[A-Z][A-Z0-9_]*\s*=\s*"(\w+)"$', environment, re.M)) & data_services
        assert bool(IN_NETWORK.search(_own(body))) == bool(reaches), key
    if not data_services:
        assert 'resource "aws_vpc"' not in source
        return
    # The EC2 actions Lambda needs for a function's network interfaces come with its vpc_config only.
    function_module = (INFRA / "modules" / "function" / "main.tf").read_text()
    assert function_module.count('for_each = var.network == null ? [] : ["Network"]') == 1
    assert "for_each = var.network == null ? [] : [var.network]" in function_module


def test_the_network_has_no_way_in_from_the_internet(source):
    if 'resource "aws_vpc"' not in source:
        return
    for kind in ("aws_internet_gateway", "aws_nat_gateway", "aws_eip", "aws_route"):
        assert f'resource "{kind}"' not in source, kind
    assert "map_public_ip_on_launch = false" in _lines(_resource(source, "aws_subnet", "private"))
    endpoint = _lines(_resource(source, "aws_vpc_endpoint", "dynamodb"))
    assert {'vpc_endpoint_type = "Gateway"', "route_table_ids = [aws_route_table.private.id]"} <= endpoint
    # The data services admit the functions' group only (and the database group itself: proxy to cluster).
    rules = re.findall(r'^resource "aws_vpc_security_group_ingress_rule" "\w+" \{\n(.*?)^\}', source, re.M | re.S)
    assert rules
    for rule in rules:
        source_group = re.search(r"^\s*referenced_security_group_id\s*=\s*(\S+)$", rule, re.M)
        assert source_group, rule
        assert source_group[1] in ("aws_security_group.functions.id", "aws_security_group.database.id")
    targets = {re.search(r"^\s*security_group_id\s*=\s*(\S+)$", rule, re.M)[1] for rule in rules}
    assert "aws_security_group.functions.id" not in targets, "nothing may connect to the functions"
    assert 'resource "aws_security_group_rule"' not in source and "ingress {" not in source


def test_the_database_signs_in_with_iam_and_keeps_no_password(source):
    if 'resource "aws_rds_cluster"' not in source:
        return
    cluster = _lines(_resource(source, "aws_rds_cluster", "database"))
    assert {"manage_master_user_password = true", "iam_database_authentication_enabled = true"} <= cluster
    assert {"storage_encrypted = true", "deletion_protection = local.is_production"} <= cluster
    assert "skip_final_snapshot = !local.is_production" in cluster  # production keeps a final snapshot
    assert not [line for line in cluster if line.startswith("master_password")]
    proxy = _lines(_resource(source, "aws_db_proxy", "database"))
    assert {"require_tls = true", 'iam_auth = "REQUIRED"', 'auth_scheme = "SECRETS"'} <= proxy
    secret = "aws_rds_cluster.database.master_user_secret[0].secret_arn"
    assert f"secret_arn = {secret}" in proxy
    # The proxy's role may read that secret and nothing else.
    policy = _lines(_resource(source, "aws_iam_policy_document", "proxy", block="data"))
    assert {'actions = ["secretsmanager:GetSecretValue"]', f"resources = [{secret}]"} <= policy
    # Functions connect as a database user of the proxy (rds-db:connect), never of the cluster.
    assert re.search(r'arn\s*=\s*"arn:.*:rds-db:.*:dbuser:\$\{local\.proxy_arn\[6\]\}/\w+"', source)
    grants = re.findall(r'\{ resource = "database", actions = (\[[^]]*\]) \}', source)
    assert grants and all(json.loads(actions) == ["rds-db:connect"] for actions in grants)


def test_the_cache_is_private_and_bounded(source):
    if 'resource "aws_elasticache_serverless_cache"' not in source:
        return
    cache = _lines(_resource(source, "aws_elasticache_serverless_cache", "cache"))
    assert "security_group_ids = [aws_security_group.cache.id]" in cache
    assert {"maximum = 5", 'unit = "GB"', "maximum = 5000"} <= cache  # data and ECPU limits cap the bill
    assert not re.search(r'\{ resource = "cache"', source), "the cache is reached through its security group"


@pytest.fixture(scope="module")
def function_module() -> str:
    return (INFRA / "modules" / "function" / "main.tf").read_text()


def _alarm_blocks(text: str) -> dict[str, set[str]]:
    """Each `aws_cloudwatch_metric_alarm` resource of ``text``: name -> its lines."""
    found = re.findall(r'^resource "aws_cloudwatch_metric_alarm" "(\w+)" \{\n(.*?)^\}', text, re.M | re.S)
    return {name: _lines(body) for name, body in found}


def test_every_trigger_invokes_the_live_alias(source, domain_module, function_module):
    """Routes, queue mappings, rules and schedules invoke the alias a release moves, never the
    function itself (which would always run the newest version, outside any release)."""
    alias = _lines(_resource(function_module, "aws_lambda_alias", "live"))
    assert 'name = "live"' in alias and "function_version = aws_lambda_function.this.version" in alias
    assert "ignore_changes = [function_version, routing_config]" in alias  # CodeDeploy owns them
    assert "publish = true" in _lines(_resource(function_module, "aws_lambda_function", "this"))
    integration = _lines(_resource(domain_module, "aws_apigatewayv2_integration", "this"))
    assert "integration_uri = module.function[each.key].alias_invoke_arn" in integration
    mapping = _lines(_resource(domain_module, "aws_lambda_event_source_mapping", "queue"))
    assert "function_name = module.function[each.key].alias_arn" in mapping
    for name in ("api", "events"):
        permission = _lines(_resource(domain_module, "aws_lambda_permission", name))
        assert "qualifier = module.function[each.key].alias" in permission, name
    schedule = _lines(_resource(source, "aws_scheduler_schedule", "admin_job"))
    assert "arn = module.admin_job[each.key].alias_arn" in schedule
    invoke = _lines(_resource(source, "aws_iam_policy_document", "scheduler_invoke", block="data"))
    assert "resources = [module.admin_job[each.key].alias_arn]" in invoke
    # Nothing else points a trigger at the unqualified function.
    for text in (source, domain_module):
        assert not re.search(r"module\.(function\[each\.key\]|admin_job\[each\.key\])\.(arn|invoke_arn)\b", text)


def test_every_function_is_released_by_codedeploy_with_rollback(source, function_module):
    group = _lines(_resource(function_module, "aws_codedeploy_deployment_group", "this"))
    assert {"deployment_group_name = var.name", "deployment_config_name = var.settings.release.config"} <= group
    assert {'deployment_type = "BLUE_GREEN"', 'deployment_option = "WITH_TRAFFIC_CONTROL"'} <= group
    assert 'events = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"]' in group
    assert 'alarms = [aws_cloudwatch_metric_alarm.this["errors"].alarm_name]' in group  # its own errors alarm
    assert group.issuperset({"enabled = true"})
    assert 'config = "CodeDeployDefault.Lambda${var.release}"' in _lines(source)
    app = _lines(_resource(source, "aws_codedeploy_app", "functions"))
    assert 'compute_platform = "Lambda"' in app
    trust = _lines(_resource(source, "aws_iam_policy_document", "codedeploy_assume", block="data"))
    assert 'identifiers = ["codedeploy.amazonaws.com"]' in trust and 'variable = "aws:SourceAccount"' in trust
    # make deploy releases what the apply published, and fails with the release.
    deploy = re.search(r"^deploy:.*?\n((?:\t.*\n)+)", (INFRA / "tasks.mk").read_text(), re.M)[1]
    steps = [line.strip() for line in deploy.splitlines() if not line.strip().startswith("@")]
    apply = next(i for i, line in enumerate(steps) if " apply " in line)
    assert steps[apply + 1] == "$(TF) output -json releases | $(UV) run python infra/release.py"


def test_concurrency_comes_from_the_stage_config(source, domain_module, function_module):
    function = _lines(_resource(function_module, "aws_lambda_function", "this"))
    assert "reserved_concurrent_executions = var.settings.reserved_concurrency" in function
    assert "reserved_concurrency = var.reserved_concurrency" in _lines(source)
    provisioned = _lines(_resource(function_module, "aws_lambda_provisioned_concurrency_config", "live"))
    assert {"count = var.provisioned_concurrency > 0 ? 1 : 0", "qualifier = aws_lambda_alias.live.name"} <= provisioned
    # Only HTTP functions (a route) keep warm environments.
    assert "provisioned_concurrency = each.value.route != null ? var.settings.provisioned_concurrency : 0" in _lines(
        domain_module
    )
    mapping = _lines(_resource(domain_module, "aws_lambda_event_source_mapping", "queue"))
    assert "maximum_concurrency = var.settings.queue_max_concurrency" in mapping


def test_every_alarm_notifies_the_topic_at_a_configured_threshold(source, function_module, variables, queues):
    alarms = {**_alarm_blocks(source), **{f"function.{k}": v for k, v in _alarm_blocks(function_module).items()}}
    assert set(alarms) >= {"this", "function.this", "function.duration"}
    for name, lines in alarms.items():
        assert {"evaluation_periods = 1", "datapoints_to_alarm = 1"} <= lines, name
        assert 'comparison_operator = "GreaterThanOrEqualToThreshold"' in lines, name
        assert 'treat_missing_data = "notBreaching"' in lines, name
        topic = "aws_sns_topic.alarms.arn" if not name.startswith("function.") else "var.settings.alarm_topic_arn"
        assert {f"alarm_actions = [{topic}]", f"ok_actions = [{topic}]"} <= lines, name
    # Thresholds are config keys: each alarm_* key is some alarm's threshold (not the address; the
    # queue keys only with queues).
    per_function = set(re.findall(r"threshold\s*=\s*var\.settings\.thresholds\.(alarm_\w+)", function_module))
    passed = set(re.findall(r"^\s*(alarm_\w+)\s*= var\.\1$", _objects(source)["thresholds"], re.M))
    assert per_function <= passed, "main.tf passes every threshold the function alarms read"
    used = per_function | set(re.findall(r"threshold\s*=\s*var\.(alarm_\w+)", source))
    unused = {"alarm_email"} | (set() if queues else {"alarm_queue_age_seconds", "alarm_dead_letter_messages"})
    assert used == {key for key in variables if key.startswith("alarm_")} - unused
    duration = alarms["function.duration"]
    assert 'expression = "duration / (${var.timeout} * 10)"' in duration  # p99 ms as a % of the timeout
    assert {'stat = "p99"', "return_data = false", "return_data = true"} <= duration


def test_the_alarm_topic_takes_budgets_and_an_optional_address(source):
    subscription = _lines(_resource(source, "aws_sns_topic_subscription", "alarm_email"))
    assert {'count = var.alarm_email == "" ? 0 : 1', 'protocol = "email"', "endpoint = var.alarm_email"} <= subscription
    policy = _lines(_resource(source, "aws_iam_policy_document", "alarms", block="data"))
    assert {
        'actions = ["sns:Publish"]',
        'identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]',
    } <= policy
    assert 'variable = "aws:SourceAccount"' in policy
    assert 'name = "${local.prefix}-alarms"' in _lines(_resource(source, "aws_sns_topic", "alarms"))


def test_the_budget_counts_what_carries_the_stage_tag(source, slug):
    budget = _resource(source, "aws_budgets_budget", "stage")
    lines = _lines(budget)
    assert {'budget_type = "COST"', 'time_unit = "MONTHLY"', "limit_amount = var.budget_monthly_usd"} <= lines
    assert 'values = [format("user:budget$%s", local.prefix)]' in lines
    assert re.search(rf'^\s*budget\s*=\s*"{re.escape(slug)}-\$\{{var\.stage\}}"', source, re.M)  # default_tags
    notifications = re.findall(r"^  notification \{\n(.*?)^  \}", budget, re.M | re.S)
    kinds = {(_attribute(n, "notification_type"), re.search(r"threshold\s*=\s*(\S+)", n)[1]) for n in notifications}
    assert kinds == {("ACTUAL", "var.budget_alert_percent"), ("FORECASTED", "var.budget_forecast_percent")}
    assert all("subscriber_sns_topic_arns = [aws_sns_topic.alarms.arn]" in _lines(n) for n in notifications)


def test_the_dashboard_shows_every_function(functions, slug):
    """The body is JSON once templatefile() fills in the stage and the API id; it charts every
    function of main.tf, by its physical name."""
    template = (INFRA / "dashboard.json.tftpl").read_text()
    assert set(re.findall(r"[$%]\{([^}]*)\}", template)) == {"stage", "api_id"}
    body = json.loads(template.replace("${stage}", "dev").replace("${api_id}", "abc123"))
    charted = {metric[3] for widget in body["widgets"] for metric in widget.get("properties", {}).get("metrics", [])}
    names = {f"{slug}-dev-{_attribute(body, 'suffix')}" for body in functions.values()}
    assert names <= charted
    assert "abc123" in charted


def test_each_domain_saves_its_queries(domain_module):
    queries = _objects(domain_module)["queries"]
    assert len(re.findall(r'^\s*"[\w-]+"\s*=\s*"', queries, re.M)) >= 4
    definition = _lines(_resource(domain_module, "aws_cloudwatch_query_definition", "this"))
    assert "log_group_names = [for function in module.function : function.log_group]" in definition
