"""Terraform checks for rendered projects.

``validate`` is what `make validate` runs (terraform fmt, init without a backend, validate,
checkov), offline: providers come from a local mirror, never from the registry.

``inventory`` applies one stage for real, against moto's server on 127.0.0.1, and reduces the
resulting state to the shared inventory (tests/iac_inventory.py). An apply is used rather than
a plan because a plan leaves every ARN unknown (roles, policies, route targets, schedule
targets); after an apply they are the values the provider read back, so routes, schedules and
IAM statements are followed by their real references (event rule targets and the permissions
that let them invoke, JWT routes and the authorizer that trusts the user pool's client, bucket
settings and policies). Nothing reaches AWS: credentials are fake and every endpoint is the
emulator's. It takes 30 to 40 seconds per stage, most of it the AWS provider starting (three
times) and its five-second wait after creating each function; with the sqs service, 75 to 95:
the provider polls a new queue for about 25 seconds until its attributes read back, and a job
queue is created only once its dead-letter queue exists. With the s3 service a bucket's
lifecycle configuration is the longest wait, about 55 seconds (the provider re-reads it every
five seconds until it calls the rules stable, against AWS too), in parallel with the queues.
With postgres, 100 to 150 seconds: the provider polls the Aurora cluster and then its instance
for about 30 seconds each, the proxy's target waits for the instance, and the functions that
reach the database wait for the proxy's endpoint. With redis alone, 75 to 125 (the cache is
polled for 30 seconds). moto has no ElastiCache Serverless: tests/moto_serverless_cache.py adds
it while the server runs, and the RDS Proxy's endpoint is renamed as AWS names it, so that
iac_inventory.endpoint_hosts reduces both endpoints in the functions' variables.

Releases, alarms and the budget add about ten seconds (aliases, deployment groups and alarms are
created in parallel, after their function). Where moto 5.2 falls short of what the provider
reads back, a patch lives only while the server runs: saved Logs Insights queries (none in moto),
a budget's subscribers and tags (not listed), a deployment group's alarms (read back empty), an
event source mapping on an alias (moto reports the version the alias points at), and AWS's
managed policies (loaded on request, for the CodeDeploy role). Provisioned concurrency is not
emulated: the stage configs the tests apply keep it at 0.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import project_checks as checks
from iac_inventory import alarm, budget_entry, endpoint_hosts, normalize_api_id, release, resource_key
from iac_inventory import sign_in as inventory_sign_in

DEFAULT_PLUGIN_DIR = Path("/opt/tf-plugins")
CODE_BUCKET = "terraform-inventory-code"

# Merged into the root module of the temporary copy (Terraform merges *_override.tf files):
# local state, fake credentials and every AWS endpoint on the emulator.
ROOT_OVERRIDE = """\
terraform {{
  backend "local" {{
    path = "{state}"
  }}
}}

provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""
# Services the rendered infra/ uses (the override routes any other to the emulator too).
ENDPOINTS = (
    "apigatewayv2", "budgets", "cloudwatch", "cloudwatchlogs", "codedeploy", "cognitoidp", "dynamodb", "ec2",
    "elasticache", "events", "iam", "lambda", "rds", "s3", "scheduler", "secretsmanager", "sns", "sqs", "ssm",
    "sts",
)  # fmt: skip

# The AWS provider uploads `filename` code one function at a time and then waits five seconds
# for each; the same zips read from (emulated) S3 are created in parallel. The zips are still
# hashed from build/functions by the module's own source_code_hash.
FUNCTION_OVERRIDE = f"""\
resource "aws_lambda_function" "this" {{
  filename  = null
  s3_bucket = "{CODE_BUCKET}"
  s3_key    = "${{var.artifact}}.zip"
}}
"""


def plugin_dir() -> str:
    """The provider mirror `terraform init -plugin-dir` installs hashicorp/aws from."""
    configured = os.environ.get("TF_PLUGIN_DIR")
    if configured:
        if not Path(configured).is_dir():
            raise checks.CheckFailed(f"TF_PLUGIN_DIR={configured} is not a folder.")
        return configured
    if DEFAULT_PLUGIN_DIR.is_dir():
        return str(DEFAULT_PLUGIN_DIR)
    raise checks.CheckFailed(
        "No Terraform provider mirror: set TF_PLUGIN_DIR to a folder that holds hashicorp/aws 5.x "
        f"(e.g. made by `terraform providers mirror <dir>` in a rendered infra/), or create {DEFAULT_PLUGIN_DIR}. "
        "The tests never download providers from the registry."
    )


def _env(**extra: str) -> dict[str, str]:
    return {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **extra}


def _workdir(project: Path, root: Path) -> Path:
    """infra/ and config/ copied beside a build/ folder, so that .terraform/, the lock file and
    the state land in ``root``, not in the project. Missing zips (no `make build` yet) become
    placeholders that name their artifact."""
    from model import build_model

    ignore = shutil.ignore_patterns(
        ".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfplan", "__pycache__"
    )
    shutil.copytree(project / "infra", root / "infra", ignore=ignore)
    shutil.copytree(project / "config", root / "config")
    model = build_model(checks.load_answers(project))
    zips = [Path("build/layer.zip"), *(Path("build/functions") / f"{a.name}.zip" for a in model.artifacts)]
    for relative in zips:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if (project / relative).is_file():
            shutil.copyfile(project / relative, target)
        else:
            with zipfile.ZipFile(target, "w") as archive:
                archive.writestr("placeholder.txt", f"{relative.stem}\n")
    return root / "infra"


def _init(terraform: str, infra: Path, env: dict[str, str], *flags: str) -> None:
    checks.run(
        [terraform, "init", "-input=false", "-no-color", f"-plugin-dir={plugin_dir()}", *flags], infra, env
    )


def validate(project: Path) -> None:
    """terraform fmt -check, init -backend=false, validate (offline), then checkov on infra/."""
    terraform = checks.tool("terraform")
    with tempfile.TemporaryDirectory(prefix="tf-validate-") as tmp:
        infra = _workdir(project, Path(tmp))
        env = _env()
        checks.run([terraform, "fmt", "-check", "-recursive", "-diff", "-no-color"], infra, env)
        _init(terraform, infra, env, "-backend=false")
        checks.run([terraform, "validate", "-no-color"], infra, env)
    checks.checkov(project, "terraform", project / "infra")


@contextlib.contextmanager
def _lambda_logging_config() -> Iterator[None]:
    """moto 5 drops a function's LoggingConfig; keep what the provider sends so that the state
    read back shows which log group each function writes to."""
    from moto.awslambda.models import LambdaFunction

    original_init, original_configuration = LambdaFunction.__init__, LambdaFunction.get_configuration

    def init(self, account_id, spec, *args, **kwargs):
        original_init(self, account_id, spec, *args, **kwargs)
        self.logging_config = spec.get("LoggingConfig")

    def configuration(self, *args, **kwargs):
        config = original_configuration(self, *args, **kwargs)
        if getattr(self, "logging_config", None):
            config["LoggingConfig"] = {"LogFormat": "Text", **self.logging_config}
        return config

    LambdaFunction.__init__, LambdaFunction.get_configuration = init, configuration
    try:
        yield
    finally:
        LambdaFunction.__init__, LambdaFunction.get_configuration = original_init, original_configuration


@contextlib.contextmanager
def _lambda_alias_sources() -> Iterator[None]:
    """moto 5 resolves the alias an event source mapping is created on to the version it points at
    and reports that version's ARN; AWS keeps (and reports) the alias ARN, what the mapping invokes."""
    from moto.awslambda.models import EventSourceMapping

    original_init = EventSourceMapping.__init__

    def init(self, spec, *args, **kwargs):
        original_init(self, spec, *args, **kwargs)
        given = spec.get("FunctionName", "")
        if re.fullmatch(r"arn:[^:]+:lambda:[^:]*:[0-9]*:function:[^:]+:[A-Za-z_-][A-Za-z0-9_-]*", given):
            self.function_arn = given

    EventSourceMapping.__init__ = init
    try:
        yield
    finally:
        EventSourceMapping.__init__ = original_init


@contextlib.contextmanager
def _deployment_group_alarms() -> Iterator[None]:
    """moto 5 keeps a deployment group's alarm configuration but reads it back empty."""
    from moto.codedeploy import responses

    original = responses._deployment_group_info

    def info(group):
        return {**original(group), "alarmConfiguration": group.alarm_configuration or {}}

    responses._deployment_group_info = info
    try:
        yield
    finally:
        responses._deployment_group_info = original


@contextlib.contextmanager
def _rds_proxy_endpoint() -> Iterator[None]:
    """moto 5 names a proxy's endpoint <name>.db-proxy-<id>.<region>.rds.amazonaws.com; AWS's is
    <name>.proxy-<id>.<region>.rds.amazonaws.com, the form iac_inventory.endpoint_hosts reduces."""
    from moto.rds.models import DBProxy

    original_init = DBProxy.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.endpoint = f"{self.db_proxy_name}.proxy-{self.url_identifier}.{self.region}.rds.amazonaws.com"

    DBProxy.__init__ = init
    try:
        yield
    finally:
        DBProxy.__init__ = original_init


@contextlib.contextmanager
def _budgets() -> Iterator[None]:
    """moto 5 keeps a budget notification's subscribers but cannot list them, and has no tags on
    budgets; the provider reads both back after creating a budget (retrying for minutes). Tags
    are kept by ARN on the account's backend."""
    from moto.budgets.responses import BudgetsResponse

    create_budget = BudgetsResponse.create_budget

    def tags(response: Any) -> dict[str, list[dict[str, str]]]:
        if not hasattr(response.backend, "resource_tags"):
            response.backend.resource_tags = {}
        return response.backend.resource_tags

    def key(notification: dict[str, Any]) -> tuple:
        return tuple(
            float(notification.get(k, 0)) if k == "Threshold" else notification.get(k)
            for k in ("NotificationType", "ComparisonOperator", "Threshold", "ThresholdType")
        )

    def create_budget_with_tags(self) -> str:
        result = create_budget(self)
        name = self._get_param("Budget")["BudgetName"]
        arn = f"arn:aws:budgets::{self._get_param('AccountId')}:budget/{name}"
        tags(self)[arn] = self._get_param("ResourceTags") or []
        return result

    def describe_subscribers_for_notification(self) -> str:
        budget = self.backend.budgets[self._get_param("AccountId")][self._get_param("BudgetName")]
        wanted = key(self._get_param("Notification"))
        found = [s for n in budget.notifications if key(n.details) == wanted for s in n.subscribers]
        return json.dumps({"Subscribers": found})

    def list_tags_for_resource(self) -> str:
        return json.dumps({"ResourceTags": tags(self).get(self._get_param("ResourceARN"), [])})

    def tag_resource(self) -> str:
        arn, added = self._get_param("ResourceARN"), self._get_param("ResourceTags") or []
        keys = {tag["Key"] for tag in added}
        tags(self)[arn] = [tag for tag in tags(self).get(arn, []) if tag["Key"] not in keys] + added
        return "{}"

    def untag_resource(self) -> str:
        arn, removed = self._get_param("ResourceARN"), set(self._get_param("ResourceTagKeys") or [])
        tags(self)[arn] = [tag for tag in tags(self).get(arn, []) if tag["Key"] not in removed]
        return "{}"

    added = {
        "create_budget": create_budget_with_tags,
        "describe_subscribers_for_notification": describe_subscribers_for_notification,
        "list_tags_for_resource": list_tags_for_resource,
        "tag_resource": tag_resource,
        "untag_resource": untag_resource,
    }
    for name, method in added.items():
        setattr(BudgetsResponse, name, method)
    try:
        yield
    finally:
        for name in added:
            delattr(BudgetsResponse, name)
        BudgetsResponse.create_budget = create_budget


@contextlib.contextmanager
def _aws_managed_policies() -> Iterator[None]:
    """moto 5 knows AWS's managed policies but loads them only when asked: the CodeDeploy role
    attaches AWSCodeDeployRoleForLambdaLimited."""
    previous = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"]
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = previous


@contextlib.contextmanager
def _query_definitions() -> Iterator[None]:
    """moto 5 has no saved Logs Insights queries: the three calls the provider makes (Put,
    Describe by name prefix, Delete), kept on the region's logs backend."""
    from moto.logs.responses import LogsResponse
    from moto.moto_api._internal import mock_random

    def saved(response: Any) -> dict[str, dict[str, Any]]:
        if not hasattr(response.logs_backend, "query_definitions"):
            response.logs_backend.query_definitions = {}
        return response.logs_backend.query_definitions

    def put_query_definition(self) -> str:
        definition_id = self._get_param("queryDefinitionId") or str(mock_random.uuid4())
        saved(self)[definition_id] = {
            "queryDefinitionId": definition_id,
            "name": self._get_param("name"),
            "queryString": self._get_param("queryString"),
            "logGroupNames": self._get_param("logGroupNames") or [],
            "lastModified": 0,
        }
        return json.dumps({"queryDefinitionId": definition_id})

    def describe_query_definitions(self) -> str:
        prefix = self._get_param("queryDefinitionNamePrefix") or ""
        found = [d for d in saved(self).values() if d["name"].startswith(prefix)]
        return json.dumps({"queryDefinitions": found})

    def delete_query_definition(self) -> str:
        removed = saved(self).pop(self._get_param("queryDefinitionId"), None)
        return json.dumps({"success": removed is not None})

    added = {
        "put_query_definition": put_query_definition,
        "describe_query_definitions": describe_query_definitions,
        "delete_query_definition": delete_query_definition,
    }
    for name, method in added.items():
        setattr(LogsResponse, name, method)
    try:
        yield
    finally:
        for name in added:
            delattr(LogsResponse, name)


@contextlib.contextmanager
def _emulator() -> Iterator[str]:
    """moto's server on a free port of 127.0.0.1, emptied first; yields its URL."""
    from moto.server import ThreadedMotoServer

    from moto_serverless_cache import serverless_caches

    requests = logging.getLogger("werkzeug")  # one line per request otherwise
    level = requests.level
    requests.setLevel(logging.ERROR)
    with (
        _lambda_logging_config(),
        _lambda_alias_sources(),
        _deployment_group_alarms(),
        _rds_proxy_endpoint(),
        _query_definitions(),
        _aws_managed_policies(),
        _budgets(),
        serverless_caches(),
    ):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        try:
            _call(f"{url}/moto-api/reset", "POST")  # moto keeps its state per process
            yield url
        finally:
            server.stop()
            requests.setLevel(level)


def _call(url: str, method: str, body: bytes = b"") -> None:
    """One plain HTTP call to the emulator, never through a proxy (moto does not check signatures);
    always with a body, so that the server never waits for one."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Content-Type": "application/octet-stream"}  # not urllib's default: a form moto would parse
    opener.open(urllib.request.Request(url, data=body, method=method, headers=headers), timeout=60).close()


def _upload_code(url: str, functions: Path) -> None:
    _call(f"{url}/{CODE_BUCKET}", "PUT")
    for path in sorted(functions.glob("*.zip")):
        _call(f"{url}/{CODE_BUCKET}/{path.name}", "PUT", path.read_bytes())


def _offline_env(url: str, home: Path) -> dict[str, str]:
    """No profile, no real credentials, no proxy: the provider can only talk to the emulator."""
    return _env(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="",
        AWS_PROFILE="",
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=url,  # any service the override does not name still goes to the emulator
        HTTP_PROXY="",
        HTTPS_PROXY="",
        NO_PROXY="127.0.0.1,localhost",
    )


# Under load, the provider can give up waiting on a create that moto then completes, and its retry
# meets the object it made (seen once: CreateSecurityGroup, "InvalidGroup.Duplicate"). A second
# apply on a fresh emulator settles it; any other failure, or the same one twice, still fails.
RETRIED_CREATE = re.compile(r"InvalidGroup\.Duplicate")


def applied_state(project: Path, stage: str) -> dict[str, Any]:
    """`terraform show -json` after applying ``stage`` (config/<stage>.json) against the emulator."""
    try:
        return _applied_state(project, stage)
    except checks.CheckFailed as failure:
        if not RETRIED_CREATE.search(str(failure)):
            raise
        return _applied_state(project, stage)


def _applied_state(project: Path, stage: str) -> dict[str, Any]:
    terraform = checks.tool("terraform")
    with tempfile.TemporaryDirectory(prefix="tf-inventory-") as tmp, _emulator() as url:
        root = Path(tmp)
        infra = _workdir(project, root)
        endpoints = "\n".join(f'    {name} = "{url}"' for name in ENDPOINTS)
        (infra / "zz_offline_override.tf").write_text(
            ROOT_OVERRIDE.format(state=root / "terraform.tfstate", endpoints=endpoints)
        )
        (infra / "modules" / "function" / "zz_offline_override.tf").write_text(FUNCTION_OVERRIDE)
        _upload_code(url, root / "build" / "functions")
        env = _offline_env(url, root)
        _init(terraform, infra, env)
        apply = [terraform, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=30"]
        checks.run([*apply, f"-var-file=../config/{stage}.json"], infra, env)
        return json.loads(checks.run([terraform, "show", "-json", "-no-color"], infra, env).split("\n", 1)[0])


def _resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _block(values: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block ``name`` of a resource (Terraform lists them), or {}."""
    blocks = values.get(name) or []
    return blocks[0] if blocks else {}


def inventory(project: Path, stage: str) -> dict[str, Any]:
    """What ``stage`` deploys, in the format of tests/iac_inventory.py."""
    return reduce_state(applied_state(project, stage))


def reduce_state(state: dict[str, Any]) -> dict[str, Any]:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in _resources(state["values"]["root_module"]):
        if resource["mode"] == "managed":
            by_type[resource["type"]].append(resource["values"])

    log_groups = {g["name"]: g["retention_in_days"] for g in by_type["aws_cloudwatch_log_group"]}
    log_group_by_arn = {g["arn"].removesuffix(":*"): g["name"] for g in by_type["aws_cloudwatch_log_group"]}
    roles = {r["arn"]: r["name"] for r in by_type["aws_iam_role"]}
    permissions: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for policy in by_type["aws_iam_role_policy"]:
        for statement in _as_list(json.loads(policy["policy"])["Statement"]):
            if statement.get("Effect") != "Allow":
                continue
            for target in _as_list(statement["Resource"]):
                permissions[policy["role"]][resource_key(target)].update(_as_list(statement["Action"]))
    for attachment in by_type["aws_iam_role_policy_attachment"]:  # never expected: shows up as a difference
        permissions[attachment["role"]][f"managed:{attachment['policy_arn']}"].add("*")

    integrations = {i["id"]: i["integration_uri"] for i in by_type["aws_apigatewayv2_integration"]}
    authorizers = _jwt_authorizers(by_type)
    triggers = _Triggers()
    for route in by_type["aws_apigatewayv2_route"]:
        uri = integrations.get(route["target"].removeprefix("integrations/"), route["target"])
        authorized = route.get("authorization_type") == "JWT"
        if authorized and route.get("authorizer_id") not in authorizers:
            raise checks.CheckFailed(f"route {route['route_key']}: JWT without the user pool's authorizer")
        triggers.add(uri, route["route_key"] + (" jwt" if authorized else ""))
    for schedule in by_type["aws_scheduler_schedule"]:
        timezone = schedule["schedule_expression_timezone"]
        triggers.add(
            _block(schedule, "target")["arn"], f"schedule {schedule['schedule_expression']} {timezone}"
        )
    for mapping in by_type["aws_lambda_event_source_mapping"]:
        if not mapping["enabled"]:
            continue
        source = resource_key(mapping["event_source_arn"]).removeprefix("queue:")
        reports = "ReportBatchItemFailures" in (mapping.get("function_response_types") or [])
        text = f"queue {source} batch {mapping['batch_size']}" + (" report-failures" if reports else "")
        scaling = _block(mapping, "scaling_config").get("maximum_concurrency")
        text += f" max-concurrency {scaling}" if scaling else ""
        # The function as given (function_name: an alias ARN keeps its qualifier).
        triggers.add(mapping["function_name"], text)

    topics = _event_targets(by_type, triggers)
    operations = _operations(by_type, topics)

    role_users = defaultdict(list)
    for function in by_type["aws_lambda_function"]:
        role_users[function["role"]].append(function["function_name"])
    shared = {role: names for role, names in role_users.items() if len(names) > 1}
    if shared:
        raise checks.CheckFailed(f"roles shared by several functions: {shared}")

    functions = {}
    for function in by_type["aws_lambda_function"]:
        if function["source_code_hash"] != function["code_sha256"]:
            raise checks.CheckFailed(
                f"{function['function_name']}: deployed code {function['code_sha256']} is not the zip its "
                f"source_code_hash names ({function['source_code_hash']})"
            )
        name = function["function_name"]
        found = triggers.of(name)
        role = roles.get(function["role"], function["role"])
        functions[name] = {
            "handler": function["handler"],
            "runtime": function["runtime"],
            "architecture": ",".join(function["architectures"]),
            "memory": function["memory_size"],
            "timeout": function["timeout"],
            "tracing": _block(function, "tracing_config").get("mode") == "Active",
            "layers": [arn.split(":layer:")[-1].rsplit(":", 1)[0] for arn in function["layers"] or []],
            "environment": {
                key: endpoint_hosts(value)
                for key, value in (_block(function, "environment").get("variables") or {}).items()
            },
            "trigger": ", ".join(sorted(found)) or "none",
            "log_group": _block(function, "logging_config").get("log_group")
            or f"/aws/lambda/{function['function_name']}",
            "permissions": {key: sorted(actions) for key, actions in permissions[role].items()},
        }
        if _block(function, "vpc_config").get("subnet_ids"):
            functions[name]["network"] = "private"
        if function.get("reserved_concurrent_executions", -1) >= 0:  # -1: not reserved
            functions[name]["reserved_concurrency"] = function["reserved_concurrent_executions"]
        if found:
            functions[name]["trigger_alias"] = ",".join(sorted(triggers.qualifiers[name]))
    _releases(by_type, functions)

    stages = by_type["aws_apigatewayv2_stage"]
    if len(stages) != 1:
        raise checks.CheckFailed(f"expected one HTTP API stage, found {len(stages)}")
    settings, access_logs = (
        _block(stages[0], "default_route_settings"),
        _block(stages[0], "access_log_settings"),
    )
    destination = access_logs.get("destination_arn", "")
    out = {
        "functions": functions,
        "tables": {table["name"]: _table(table) for table in by_type["aws_dynamodb_table"]},
        "log_groups": log_groups,
        "api": {
            "throttle": [settings.get("throttling_rate_limit"), settings.get("throttling_burst_limit")],
            "access_log_group": log_group_by_arn.get(destination.removesuffix(":*"), destination),
            "route_metrics": bool(settings.get("detailed_metrics_enabled")),
        },
        **operations,
    }
    if by_type["aws_sqs_queue"]:
        out["queues"] = {queue["name"]: _queue(queue) for queue in by_type["aws_sqs_queue"]}
    if by_type["aws_s3_bucket"]:
        out["buckets"] = _buckets(by_type)
    if by_type["aws_cloudwatch_event_bus"]:
        out["event_bus"] = _one(by_type, "aws_cloudwatch_event_bus")["name"]
    if topics:  # the events' topics (the alarm topic is reported as alarm_topic)
        out["topics"] = topics
    if by_type["aws_cognito_user_pool"]:
        pool, client = _one(by_type, "aws_cognito_user_pool"), _one(by_type, "aws_cognito_user_pool_client")
        out["auth"] = {"user_pool": pool["name"], "client": client["name"]}
        username = (pool.get("username_configuration") or [{}])[0]
        admin = (pool.get("admin_create_user_config") or [{}])[0]
        recovery = (pool.get("account_recovery_setting") or [{}])[0].get("recovery_mechanism") or []
        out["auth"]["sign_in"] = inventory_sign_in(
            pool.get("username_attributes") or [],
            username.get("case_sensitive", True),
            admin.get("allow_admin_create_user_only", False),
            [m["name"] for m in sorted(recovery, key=lambda m: m.get("priority", 0))],
        )
    if by_type["aws_ssm_parameter"]:
        out["parameters"] = sorted(parameter["name"] for parameter in by_type["aws_ssm_parameter"])
    if by_type["aws_secretsmanager_secret"]:
        out["secrets"] = sorted(secret["name"] for secret in by_type["aws_secretsmanager_secret"])
    if by_type["aws_secretsmanager_secret_version"]:  # the value is set by hand, never by the IaC
        raise checks.CheckFailed(
            "a secret value is rendered in the configuration (aws_secretsmanager_secret_version)"
        )
    out.update(_data_services(by_type))
    return out


def _data_services(by_type: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The private network, the PostgreSQL cluster behind its proxy, and the Redis cache (services
    postgres and redis), each key only when the state has them."""
    out: dict[str, Any] = {}
    if by_type["aws_internet_gateway"] or by_type["aws_nat_gateway"]:
        raise checks.CheckFailed("the private network has a route to the internet (internet or NAT gateway)")
    if by_type["aws_vpc"]:
        function_groups = {
            group
            for function in by_type["aws_lambda_function"]
            for group in _block(function, "vpc_config").get("security_group_ids") or []
        }
        out["network"] = {
            "subnets": len(by_type["aws_subnet"]),
            "gateway_endpoints": sorted(
                endpoint["service_name"].rsplit(".", 1)[-1]
                for endpoint in by_type["aws_vpc_endpoint"]
                if endpoint["vpc_endpoint_type"] == "Gateway"
            ),
            "ports": sorted(_ports_open_to(function_groups, by_type)),
        }
    for cluster in by_type["aws_rds_cluster"]:
        if cluster.get("master_password") or not cluster.get("manage_master_user_password"):
            raise checks.CheckFailed(
                f"cluster {cluster['cluster_identifier']}: a password in the configuration"
            )
        secret = _block(cluster, "master_user_secret").get("secret_arn")
        # The proxies in front of this cluster: a target of theirs is the cluster.
        fronting = {
            target["db_proxy_name"]
            for target in by_type["aws_db_proxy_target"]
            if target.get("db_cluster_identifier") == cluster["cluster_identifier"]
        }
        proxies = [proxy for proxy in by_type["aws_db_proxy"] if proxy["name"] in fronting]
        auth = [entry for proxy in proxies for entry in proxy.get("auth") or []]
        if any(entry.get("secret_arn") != secret for entry in auth):
            raise checks.CheckFailed(
                f"cluster {cluster['cluster_identifier']}: the proxy signs in with another secret"
            )
        scaling = _block(cluster, "serverlessv2_scaling_configuration")
        instances = [
            i for i in by_type["aws_rds_cluster_instance"] if i["cluster_identifier"] == cluster["id"]
        ]
        out["database"] = {
            "cluster": cluster["cluster_identifier"],
            "engine": cluster["engine"],
            "version": cluster["engine_version"],
            "instance_class": ", ".join(sorted({instance["instance_class"] for instance in instances})),
            "capacity": [scaling.get("min_capacity"), scaling.get("max_capacity")],
            "iam_auth": bool(cluster["iam_database_authentication_enabled"]),
            "encrypted": bool(cluster["storage_encrypted"]),
            "deletion_protection": bool(cluster["deletion_protection"]),
            "proxy": ", ".join(sorted(proxy["name"] for proxy in proxies)),
            "proxy_iam_auth": bool(auth) and all(entry.get("iam_auth") == "REQUIRED" for entry in auth),
            "proxy_tls": bool(proxies) and all(proxy.get("require_tls") is True for proxy in proxies),
        }
    for cache in by_type["aws_elasticache_serverless_cache"]:
        out["cache"] = {
            "name": cache["name"],
            "engine": cache["engine"],
            "version": cache["major_engine_version"],
        }
    return out


def _ports_open_to(groups: set[str], by_type: dict[str, list[dict[str, Any]]]) -> set[int]:
    """The TCP ports of the ingress rules whose source is one of ``groups``, however the rules are
    written (rule resources or a group's own ingress blocks)."""
    rules = [  # moto reads a referenced group back as "<account>/<group id>"
        ((rule.get("referenced_security_group_id") or "").rsplit("/", 1)[-1], rule)
        for rule in by_type["aws_vpc_security_group_ingress_rule"]
    ]
    rules += [
        (rule.get("source_security_group_id") or "", rule)
        for rule in by_type["aws_security_group_rule"]
        if rule["type"] == "ingress"
    ]
    rules += [
        (source, rule)
        for group in by_type["aws_security_group"]
        for rule in group.get("ingress") or []
        for source in rule.get("security_groups") or []
    ]
    ports: set[int] = set()
    for source, rule in rules:
        if source in groups:
            ports.update(range(int(rule["from_port"]), int(rule["to_port"]) + 1))
    return ports


def _one(by_type: dict[str, list[dict[str, Any]]], kind: str) -> dict[str, Any]:
    if len(by_type[kind]) != 1:
        raise checks.CheckFailed(f"expected one {kind}, found {len(by_type[kind])}")
    return by_type[kind][0]


def _jwt_authorizers(by_type: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Ids of the JWT authorizers that trust exactly the user pool's API client."""
    pools = {pool["id"]: pool for pool in by_type["aws_cognito_user_pool"]}
    clients = {client["id"]: client["user_pool_id"] for client in by_type["aws_cognito_user_pool_client"]}
    trusted = set()
    for authorizer in by_type["aws_apigatewayv2_authorizer"]:
        jwt = _block(authorizer, "jwt_configuration")
        pool_id = jwt.get("issuer", "").rsplit("/", 1)[-1]
        audience = jwt.get("audience") or []
        if (
            authorizer["authorizer_type"] == "JWT"
            and pool_id in pools
            and jwt["issuer"] == f"https://{pools[pool_id]['endpoint']}"
            and audience
            and all(clients.get(client) == pool_id for client in audience)
            and authorizer["identity_sources"] == ["$request.header.Authorization"]
        ):
            trusted.add(authorizer["id"])
    return trusted


_FUNCTION = re.compile(r":function:([^:/]+)(?::([^:/]+))?")


def _invoked(reference: str) -> tuple[str, str]:
    """(function name, qualifier or "") from what a trigger names: a function name, a function or
    alias ARN, or an API Gateway invocation URI that holds one."""
    match = _FUNCTION.search(reference)
    return (match[1], match[2] or "") if match else (reference, "")


class _Triggers:
    """What invokes each function, and through which qualifiers ("" for the unqualified function)."""

    def __init__(self) -> None:
        self.texts: dict[str, list[str]] = defaultdict(list)
        self.qualifiers: dict[str, set[str]] = defaultdict(set)

    def add(self, reference: str, text: str) -> None:
        name, qualifier = _invoked(reference)
        self.texts[name].append(text)
        self.qualifiers[name].add(qualifier)

    def of(self, name: str) -> list[str]:
        return self.texts.get(name, [])


def _event_targets(
    by_type: dict[str, list[dict[str, Any]]], triggers: _Triggers
) -> dict[str, dict[str, list[str]]]:
    """Adds each rule that targets a function (allowed to invoke that function or alias from that
    rule) to ``triggers``; returns, per topic, what the rules that target it match (a topic whose
    policy does not let that rule publish is an error)."""
    by_name = {(rule["event_bus_name"], rule["name"]): rule for rule in by_type["aws_cloudwatch_event_rule"]}
    allowed = set()
    for permission in by_type["aws_lambda_permission"]:
        if (
            permission["principal"] == "events.amazonaws.com"
            and permission["action"] == "lambda:InvokeFunction"
        ):
            name, qualifier = _invoked(permission["function_name"])
            allowed.add((name, permission.get("qualifier") or qualifier, permission["source_arn"]))
    functions = {function["function_name"] for function in by_type["aws_lambda_function"]}
    topic_arns = {topic["arn"]: topic["name"] for topic in by_type["aws_sns_topic"]}
    publishers = {
        policy["arn"]: _publishing_rules(policy["policy"]) for policy in by_type["aws_sns_topic_policy"]
    }
    topics: dict[str, dict[str, list[str]]] = {
        name: {"sources": [], "detail_types": []} for name in topic_arns.values()
    }
    for target in by_type["aws_cloudwatch_event_target"]:
        rule = by_name[(target["event_bus_name"], target["rule"])]
        pattern = json.loads(rule["event_pattern"] or "{}")
        sources, detail_types = sorted(pattern.get("source", [])), sorted(pattern.get("detail-type", []))
        name, qualifier = _invoked(target["arn"])
        if name in functions and (name, qualifier, rule["arn"]) in allowed:
            text = f"event {rule['event_bus_name']} {','.join(sources)} {','.join(detail_types)}"
            triggers.add(target["arn"], text)
        elif target["arn"] in topic_arns:
            if rule["arn"] not in publishers.get(target["arn"], set()):
                raise checks.CheckFailed(
                    f"topic {topic_arns[target['arn']]}: rule {rule['name']} may not publish"
                )
            topic = topics[topic_arns[target["arn"]]]
            topic["sources"] = sorted({*topic["sources"], *sources})
            topic["detail_types"] = sorted({*topic["detail_types"], *detail_types})
    return topics


def _releases(by_type: dict[str, list[dict[str, Any]]], functions: dict[str, dict[str, Any]]) -> None:
    """Each function's aliases, their warm environments, and how CodeDeploy releases it: the
    deployment group named like the function (release.py deploys to it with the function's
    AppSpec), in a Lambda application."""
    for alias in by_type["aws_lambda_alias"]:
        name, _ = _invoked(alias["function_name"])
        if name in functions:
            functions[name]["alias"] = ",".join(
                sorted(filter(None, [functions[name].get("alias"), alias["name"]]))
            )
    for config in by_type["aws_lambda_provisioned_concurrency_config"]:
        name, _ = _invoked(config["function_name"])
        if name in functions and config["provisioned_concurrent_executions"] > 0:
            functions[name]["provisioned_concurrency"] = config["provisioned_concurrent_executions"]
    platforms = {app["name"]: app["compute_platform"] for app in by_type["aws_codedeploy_app"]}
    for group in by_type["aws_codedeploy_deployment_group"]:
        name = group["deployment_group_name"]
        if name not in functions:
            continue
        if platforms.get(group["app_name"]) != "Lambda":
            raise checks.CheckFailed(f"deployment group {name}: not in a Lambda CodeDeploy application")
        rollback, alarms = _block(group, "auto_rollback_configuration"), _block(group, "alarm_configuration")
        functions[name]["release"] = release(
            group["deployment_config_name"],
            alarms.get("alarms") or [] if alarms.get("enabled") else [],
            rollback.get("events") or [] if rollback.get("enabled") else [],
        )


def _operations(
    by_type: dict[str, list[dict[str, Any]]], topics: dict[str, dict[str, list[str]]]
) -> dict[str, Any]:
    """Alarms and the topic they notify (taken out of ``topics``), the dashboard, saved queries
    and the budget."""
    out: dict[str, Any] = {}
    api_ids = {api["id"] for api in by_type["aws_apigatewayv2_api"]}
    alarms = {}
    for item in by_type["aws_cloudwatch_metric_alarm"]:
        queries = item.get("metric_query") or []
        stat = next((_block(q, "metric") for q in queries if q.get("metric")), None)
        expression = next((q["expression"] for q in queries if q.get("expression")), "")
        source = stat or item  # a math alarm's metric is in its metric_query
        alarms[item["alarm_name"]] = alarm(
            source["namespace"], source["metric_name"], normalize_api_id(source.get("dimensions") or {}, api_ids),
            stat["stat"] if stat else item.get("extended_statistic") or item.get("statistic"), source["period"],
            item["threshold"], item["evaluation_periods"], item["comparison_operator"], item["treat_missing_data"],
            item.get("alarm_actions") or [], item.get("ok_actions") or [], expression,
        )  # fmt: skip
    if alarms:
        out["alarms"] = alarms
    notified = {
        arn for item in by_type["aws_cloudwatch_metric_alarm"] for arn in item.get("alarm_actions") or []
    }
    for topic in by_type["aws_sns_topic"]:
        if topic["arn"] not in notified:
            continue
        topics.pop(topic["name"], None)  # not one of the events' topics
        out["alarm_topic"] = {
            "name": topic["name"],
            "email": sorted(
                subscription["endpoint"]
                for subscription in by_type["aws_sns_topic_subscription"]
                if subscription["topic_arn"] == topic["arn"] and subscription["protocol"] == "email"
            ),
            "publishers": sorted(
                service
                for policy in by_type["aws_sns_topic_policy"]
                if policy["arn"] == topic["arn"]
                for statement in _as_list(json.loads(policy["policy"])["Statement"])
                if statement.get("Effect") == "Allow" and "sns:Publish" in _as_list(statement.get("Action"))
                for service in _as_list((statement.get("Principal") or {}).get("Service", []))
            ),
        }
    for dashboard in by_type["aws_cloudwatch_dashboard"]:
        out["dashboard"] = {
            "name": dashboard["dashboard_name"],
            "body": normalize_api_id(json.loads(dashboard["dashboard_body"]), api_ids),
        }
    queries = {
        query["name"]: {
            "log_groups": sorted(query.get("log_group_names") or []),
            "query": query["query_string"],
        }
        for query in by_type["aws_cloudwatch_query_definition"]
    }
    if queries:
        out["queries"] = queries
    for budget in by_type["aws_budgets_budget"]:
        notifications = budget.get("notification") or []
        out["budget"] = budget_entry(
            budget["name"], budget["limit_amount"], budget["limit_unit"], budget["time_unit"], budget["budget_type"],
            [value for f in budget.get("cost_filter") or [] if f["name"] == "TagKeyValue" for value in f["values"]],
            [
                (n["notification_type"], n["threshold"], n["threshold_type"], n["comparison_operator"])
                for n in notifications
            ],
            [arn for n in notifications for arn in n.get("subscriber_sns_topic_arns") or []]
            + [address for n in notifications for address in n.get("subscriber_email_addresses") or []],
        )  # fmt: skip
    return out


def _publishing_rules(policy: str) -> set[str]:
    """The rule ARNs a topic policy lets EventBridge publish from (aws:SourceArn)."""
    out = set()
    for statement in _as_list(json.loads(policy)["Statement"]):
        principal = statement.get("Principal", {})
        if (
            statement.get("Effect") == "Allow"
            and _as_list(principal.get("Service") if isinstance(principal, dict) else None)
            == ["events.amazonaws.com"]
            and _as_list(statement.get("Action")) == ["sns:Publish"]
        ):
            source = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
            out.update(_as_list(source) if source else [])
    return out


def _buckets(by_type: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each bucket with what its separate configuration resources (versioning, encryption,
    public access block, policy) applied to it."""

    def of(kind: str) -> dict[str, dict[str, Any]]:
        return {item["bucket"]: item for item in by_type[kind]}

    versioning, encryption = (
        of("aws_s3_bucket_versioning"),
        of("aws_s3_bucket_server_side_encryption_configuration"),
    )
    blocks, policies = of("aws_s3_bucket_public_access_block"), of("aws_s3_bucket_policy")
    keys = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    out = {}
    for bucket in by_type["aws_s3_bucket"]:
        name, arn = bucket["bucket"], bucket["arn"]
        status = _block(versioning.get(name, {}), "versioning_configuration").get("status")
        rule = _block(encryption.get(name, {}), "rule")
        out[name] = {
            "versioning": status == "Enabled",
            "encryption": _block(rule, "apply_server_side_encryption_by_default").get("sse_algorithm", ""),
            "public_access_blocked": all(blocks.get(name, {}).get(key) is True for key in keys),
            "tls_only": name in policies and _denies_plain_http(policies[name]["policy"], arn),
        }
    return out


def _denies_plain_http(policy: str, bucket_arn: str) -> bool:
    """Whether the policy denies every s3 action on the bucket and its objects to everyone
    when the request is not over TLS."""
    for statement in _as_list(json.loads(policy)["Statement"]):
        condition = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
        principal = statement.get("Principal")
        if (
            statement.get("Effect") == "Deny"
            and principal in ("*", {"AWS": "*"}, {"AWS": ["*"]})
            and _as_list(statement.get("Action")) == ["s3:*"]
            and {bucket_arn, f"{bucket_arn}/*"} <= set(_as_list(statement.get("Resource")))
            and _as_list(condition) == ["false"]
        ):
            return True
    return False


def _table(table: dict[str, Any]) -> dict[str, Any]:
    out = {
        "hash_key": table["hash_key"],
        "billing": table["billing_mode"],
        "point_in_time_recovery": bool(_block(table, "point_in_time_recovery").get("enabled")),
        "deletion_protection": bool(table["deletion_protection_enabled"]),
    }
    ttl = _block(table, "ttl")
    if ttl.get("enabled"):
        out["ttl"] = ttl["attribute_name"]
    return out


def _queue(queue: dict[str, Any]) -> dict[str, Any]:
    if not (queue.get("sqs_managed_sse_enabled") or queue.get("kms_master_key_id")):
        raise checks.CheckFailed(f"queue {queue['name']} is not encrypted at rest")
    redrive = json.loads(queue["redrive_policy"]) if queue.get("redrive_policy") else {}
    return {
        "dead_letter": resource_key(redrive.get("deadLetterTargetArn", "")).removeprefix("queue:"),
        "max_receive_count": int(redrive.get("maxReceiveCount", 0)),
        "visibility_timeout": queue["visibility_timeout_seconds"],
        "retention": queue["message_retention_seconds"],
    }
