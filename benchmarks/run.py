#!/usr/bin/env python3
"""What users run, timed and sized against references measured in the same run.

    .venv/bin/python benchmarks/run.py [--repeat N] [--quick] [--keep DIR]

- cold start: every function of the default project and of a project with all eight services
  (HTTP routes, queue consumers, event subscribers, admin jobs, cached reads, database jobs),
  run as Lambda runs it: the unzipped function artifact in var/task and the layer in opt,
  both read-only, in a fresh interpreter with no bytecode writing, only boto3 installed beside
  them, and only the variables the function's IaC sets. Each is timed (import + one realistic
  invocation, exact status checked) against a bare handler making the same calls with boto3 (and
  the Redis or PostgreSQL driver) alone; each round runs the two back to back, in alternating
  order, and the ratio is the median of the rounds' ratios. Target: <= 1.15x per function.
- layer: build/layer.zip of the all-services project, <= 2 MiB zipped (the unit of Lambda's own size quotas), with each service's share;
  function artifacts <= 200 KB each.
- make test: the all-services project's own suite, wall time, <= 30 s.
- render: the default and a 10-domain project against Copier copying the same files as static
  files (its floor), in process, alternating; target <= 1.3x. Both templates are packed git
  repositories, as a template fetched from a git host is: the benchmark renders a clone of HEAD.

Exits 1 when a target is missed. Needs the template's .venv (`python3 dev.py test`), the
project's Python version, and PyPI (or uv's cache) for the layer and the reference interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import runpy
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "extensions"))

from copier import run_copy  # noqa: E402

import project_checks as checks  # noqa: E402

TARGETS = {"cold_start": 1.15, "render": 1.3, "layer_mib": 2.0, "artifact_kb": 200.0, "make_test_s": 30.0}
ALL_SERVICES = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]
# With events, a domain's subscriber hears another domain: two domains.
PROJECTS = {"default": {}, "all services": {"services": ALL_SERVICES, "domains": ["orders", "billing"]}}
# The layer's distributions a service brings (with what they depend on); the rest is every project's.
SERVICE_OF = {
    "redis": "redis",
    "pg8000": "postgres",
    "yoyo-migrations": "postgres",
}
CORE = {"aws-lambda-powertools": "every project", "fastjsonschema": "every project"}

# Runs in the fresh interpreter: the clock starts before any import the handler needs, as the
# Lambda runtime's does, and stops once the first invocation returns.
REAL = """
import time
started = time.perf_counter()
import importlib, json, sys
module, attribute, name, event = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
class Context:
    function_name, aws_request_id, memory_limit_in_mb = name, "bench", 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
    def get_remaining_time_in_millis(self):
        return 30000
result = getattr(importlib.import_module(module), attribute)(event, Context())
print(json.dumps({"seconds": time.perf_counter() - started, "result": result}, default=str))
"""

# The reference: a hand-written handler that makes the same calls with boto3 and the driver alone.
BARE = """
import time
started = time.perf_counter()
import json, os, sys
from urllib.parse import urlsplit
import boto3
plan, answer = json.loads(sys.argv[1])
services = {step[0] for step in plan}
clients = {name: boto3.client(name) for name in services - {"redis", "postgres"}}
if "redis" in services:
    import redis
    clients["redis"] = redis.Redis.from_url(os.environ["CACHE_URL"])
def handler(event, context):
    cursor = None
    for service, operation, args in plan:
        if service == "redis":
            getattr(clients["redis"], operation)(*args)
        elif service == "postgres":
            if cursor is None:
                import pg8000.dbapi
                url = urlsplit(os.environ["DATABASE_URL"])
                connection = pg8000.dbapi.connect(user=url.username, host=url.hostname, port=url.port,
                                                  database=url.path.lstrip("/"))
                connection.autocommit = True
                cursor = connection.cursor()
            getattr(cursor, operation)(*args)
        else:
            getattr(clients[service], operation)(**args)
    return answer
result = handler({}, None)
print(json.dumps({"seconds": time.perf_counter() - started, "result": result}))
"""

# Runs in the rendered project's environment (it has moto, Redis and PostgreSQL): the emulator with
# the resources the IaC declares, and the cache and database its services need, until stdin closes.
SERVICES = """
import json, logging, os, sys, importlib, socket
sys.path.insert(0, os.getcwd())
from moto.server import ThreadedMotoServer
from local import env
from local.context import context_for
from local.routes import ADMIN_JOBS
logging.getLogger("werkzeug").setLevel(logging.ERROR)
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
emulator.start()
endpoint = f"http://127.0.0.1:{port}"
values = env.environment(endpoint)
os.environ.update(values)  # the emulator's fake credentials
env.create_resources(endpoint)
running = []
if env.CACHE:
    from local.redis_server import RedisServer
    running.append(RedisServer().start())
    values[env.CACHE] = running[-1].url
if env.DATABASE:
    from local.postgres_server import PostgresServer
    running.append(PostgresServer().start())
    values[env.DATABASE] = os.environ[env.DATABASE] = running[-1].url
    # Migrated as `make dev` does, so the database jobs find their tables.
    module, _, attribute = ADMIN_JOBS["migrate"][0].rpartition(".")
    getattr(importlib.import_module(module), attribute)({}, context_for("admin-migrate"))
rules = getattr(env, "EVENT_RULES", {})
print("BENCH " + json.dumps({"environment": values, "rules": rules, "account": env.ACCOUNT}), flush=True)
sys.stdin.read()
for server in running:
    server.stop()
emulator.stop()
"""


class BenchError(RuntimeError):
    pass


@dataclass
class Case:
    label: str
    handler: str
    artifact: str
    variables: list[str]
    kind: str  # http, consumer, subscriber, admin
    detail: dict[str, Any] = field(default_factory=dict)
    real: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)


def packed_clone(where: Path) -> Path:
    """The template's HEAD as a user's Copier clones it from a git host: objects packed. A working
    repository holds many loose objects, which Copier's clone of it copies one by one."""
    if subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout:
        print("uncommitted changes are not measured: the benchmark renders HEAD", file=sys.stderr)
    shutil.rmtree(where, ignore_errors=True)  # from an earlier run with the same --keep
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(where)], check=True)
    return where


def render(template: Path, dst: Path, data: dict) -> None:
    run_copy(str(template), str(dst), data=data, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)


def locked_version(project: Path, name: str) -> str | None:
    found = re.search(
        rf'^name = "{re.escape(name)}"\nversion = "([^"]+)"', (project / "uv.lock").read_text(), re.M
    )
    return found and found.group(1)


def build(project: Path) -> bool:
    """`make build` twice: whether the second gives the same bytes for every zip (layer included)."""
    checks.sync(project)
    command = [checks.tool("uv"), "run", "--no-sync", "python", "scripts/package.py"]
    checks.run(command, project, checks.project_env(project))
    first = {path: path.read_bytes() for path in (project / "build").rglob("*.zip")}
    checks.run(command, project, checks.project_env(project))
    return all(path.read_bytes() == content for path, content in first.items())


# --- what runs where -------------------------------------------------------------------------


def functions(project: Path) -> list[tuple[str, str, list[str]]]:
    """(handler, artifact, environment variable names) of every function the SAM templates declare."""
    found = []
    for path in sorted((project / "infra").rglob("*.yaml")):
        template = checks.load_cfn(path)
        if not isinstance(template, dict) or "Resources" not in template:
            continue
        common = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                properties = resource["Properties"]
                variables = {**common, **properties.get("Environment", {}).get("Variables", {})}
                found.append((properties["Handler"], Path(properties["CodeUri"]).stem, sorted(variables)))
    if not found:
        raise BenchError(
            f"No AWS::Serverless::Function in {project / 'infra'}: the benchmark renders iac=sam."
        )
    return found


def cases(project: Path) -> list[Case]:
    """One case per function, with what its invocation needs, from the project's local/routes.py."""
    routes = runpy.run_path(str(project / "local" / "routes.py"))
    http = {handler: (method, path) for method, path, handler in routes["ROUTES"]}
    protected = routes.get("PROTECTED_ROUTES", set())
    consumers = {handler: queue for queue, handler, _ in routes["CONSUMERS"]}
    subscribers = {handler: rule for rule, handler in routes["SUBSCRIBERS"]}
    jobs = {handler: job for job, (handler, _) in routes["ADMIN_JOBS"].items()}
    out = []
    for handler, artifact, variables in functions(project):
        name = handler.rsplit(".", 1)[1]
        if handler in http:
            method, path = http[handler]
            detail = {"method": method, "path": path, "protected": f"{method} {path}" in protected}
            out.append(Case(f"{method} {path}", handler, artifact, variables, "http", detail))
        elif handler in consumers or handler in subscribers:
            kind, key, where = (
                ("consumer", "queue", consumers)
                if handler in consumers
                else ("subscriber", "rule", subscribers)
            )
            out.append(Case(f"{kind} {name}", handler, artifact, variables, kind, {key: where[handler]}))
        elif handler in jobs:
            out.append(
                Case(f"admin {jobs[handler]}", handler, artifact, variables, "admin", {"job": jobs[handler]})
            )
        else:
            raise BenchError(
                f"{handler} (infra/) is in none of local/routes.py's lists: add its kind to benchmarks/run.py."
            )
    return out


def writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def unpack(project: Path, where: Path) -> tuple[Path, Path]:
    """var/task per artifact and opt/ with the layer, read-only as on Lambda. Off arm64 the layer's
    native wheels cannot load, so the project's own build makes the same layer for this machine."""
    tasks = where / "var-task"
    for artifact in (project / "build" / "functions").glob("*.zip"):
        zipfile.ZipFile(artifact).extractall(tasks / artifact.stem)
    opt = where / "opt"
    layer = project / "build" / "layer.zip"
    if platform.machine() in ("aarch64", "arm64"):
        zipfile.ZipFile(layer).extractall(opt)
    else:
        shipped = layer.read_bytes()  # the sizes reported are the deployed layer's
        command = [checks.tool("uv"), "run", "--no-sync", "python", "scripts/package.py",
                   "--python-platform", f"{platform.machine()}-manylinux2014"]  # fmt: skip
        checks.run(command, project, checks.project_env(project))
        zipfile.ZipFile(layer).extractall(opt)
        layer.write_bytes(shipped)
    checks.read_only(tasks)
    checks.read_only(opt)
    return tasks, opt


def runtime(project: Path, where: Path, version: str) -> tuple[str, Path]:
    """An interpreter of the project's Python with only boto3, byte-compiled as the runtime's; and a
    folder with only the database and cache drivers (not compiled, as in the layer)."""
    uv, venv = checks.tool("uv"), where / "runtime"
    checks.run([uv, "venv", "--quiet", "--python", checks.find_python(version), str(venv)], where)
    python = str(venv / "bin" / "python")
    boto3 = f"boto3=={locked_version(project, 'boto3')}"
    checks.run([uv, "pip", "install", "--quiet", "--python", python, "--compile-bytecode", boto3], where)
    drivers = where / "drivers"
    pins = [
        f"{name}=={version}" for name in ("pg8000", "redis") if (version := locked_version(project, name))
    ]
    if pins:
        checks.run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                python,
                "--target",
                str(drivers),
                "--no-compile",
                *pins,
            ],
            where,
        )
    return python, drivers


# --- one invocation --------------------------------------------------------------------------


class Stack:
    """The emulator and servers of one project, and the records each invocation needs."""

    def __init__(self, project: Path, log: Path) -> None:
        python = project / ".venv" / "bin" / "python"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [str(python), "-c", SERVICES], cwd=project, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )  # fmt: skip
        for line in self.process.stdout:
            if line.startswith("BENCH "):
                break
        else:
            raise BenchError(f"The local services did not start for {project}: read {log}.")
        found = json.loads(line[len("BENCH ") :])
        self.values, self.rules, self.account = found["environment"], found["rules"], found["account"]
        import boto3

        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=self.values["AWS_REGION"]
        )
        self.client = {
            name: session.client(name, endpoint_url=self.values["AWS_ENDPOINT_URL"])
            for name in ("dynamodb", "s3", "sqs")
        }

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.log.close()

    def record(self, table: str) -> str:
        record_id, now = uuid.uuid4().hex, time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        item = {"id": record_id, "name": "bench", "notes": "", "created_at": now, "updated_at": now}
        self.client["dynamodb"].put_item(TableName=table, Item={k: {"S": v} for k, v in item.items()})
        return record_id

    def queue_url(self, name: str) -> str:
        return self.client["sqs"].get_queue_url(QueueName=name)["QueueUrl"]


def named(variables: list[str], suffix: str) -> list[str]:
    return [v for v in variables if v.endswith(suffix) and not v.startswith("IDEMPOTENCY")]


def prepare(case: Case, stack: Stack, tasks: Path) -> tuple[dict, list, Any, Any]:
    """The event, the bare handler's calls and answer, and the exact result the real one must return."""
    values, variables = stack.values, case.variables
    tables = [values[v] for v in named(variables, "_TABLE_NAME")]
    cache = "CACHE_URL" in variables
    if case.kind == "http":
        return _http(case, stack, tables[0], cache, tasks)
    if case.kind == "consumer":
        record_id = stack.record(tables[0])
        package = case.handler.split(".", 1)[0]
        jobs = (tasks / case.artifact / package / "jobs.py").read_text()
        job = {"type": re.search(r'^CREATED = "([^"]+)"', jobs, re.M).group(1), "id": record_id}
        message_id = str(uuid.uuid4())
        event = {"Records": [{
            "messageId": message_id, "receiptHandle": "bench", "body": json.dumps(job), "md5OfBody": "",
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
            "messageAttributes": {"correlation_id": {"stringValue": "bench", "dataType": "String"}},
            "eventSource": "aws:sqs", "eventSourceARN": f"arn:aws:sqs:{values['AWS_REGION']}:{stack.account}:{case.detail['queue']}",
            "awsRegion": values["AWS_REGION"],
        }]}  # fmt: skip
        idempotency = values["IDEMPOTENCY_TABLE_NAME"]
        plan = [
            ["dynamodb", "put_item", {"TableName": idempotency, "Item": {"id": {"S": message_id}, "status": {"S": "INPROGRESS"}},
                                      "ConditionExpression": "attribute_not_exists(id)"}],
            _update(tables[0], record_id),
            ["dynamodb", "update_item", {"TableName": idempotency, "Key": {"id": {"S": message_id}},
                                         "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                                         "ExpressionAttributeValues": {":s": {"S": "COMPLETED"}}}],
        ]  # fmt: skip
        answer = {"batchItemFailures": []}
        return event, plan, answer, answer
    if case.kind == "subscriber":
        sources, detail_types = stack.rules[case.detail["rule"]]
        event = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_types[0], "source": sources[0],
            "account": stack.account, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": values["AWS_REGION"], "resources": [],
            "detail": {"version": 1, "data": {"id": uuid.uuid4().hex, "name": "bench"}, "metadata": {"correlation_id": "bench"}},
        }  # fmt: skip
        return event, [], None, None
    return _admin(case, stack, tables)


def _update(table: str, record_id: str) -> list:
    return ["dynamodb", "update_item", {
        "TableName": table, "Key": {"id": {"S": record_id}}, "UpdateExpression": "SET #n = :n",
        "ConditionExpression": "attribute_exists(id)", "ExpressionAttributeNames": {"#n": "name"},
        "ExpressionAttributeValues": {":n": {"S": "bench 2"}}, "ReturnValues": "ALL_NEW"}]  # fmt: skip


def _http(case: Case, stack: Stack, table: str, cache: bool, tasks: Path) -> tuple[dict, list, Any, Any]:
    method, path = case.detail["method"], case.detail["path"]
    values, params, body, status = stack.values, {}, None, 200
    get = ["dynamodb", "get_item", {"TableName": table, "Key": {"id": {"S": "?"}}}]
    if "{id}" in path:
        params["id"] = stack.record(table)
        get[2]["Key"]["id"]["S"] = params["id"]
    bucket = next((values[v] for v in named(case.variables, "_BUCKET_NAME")), None)
    if path.endswith("/files"):
        body = {"file_name": "bench.txt", "content_type": "text/plain"}
        key = {"Bucket": bucket, "Key": f"{params['id']}/bench.txt", "ContentType": "text/plain"}
        plan = [get, ["s3", "generate_presigned_url", {"ClientMethod": "put_object", "Params": key}]]
    elif "{file_name}" in path:
        params["file_name"] = "bench.txt"
        key = {"Bucket": bucket, "Key": f"{params['id']}/bench.txt"}
        stack.client["s3"].put_object(**key, Body=b"bench")
        plan = [
            get,
            ["s3", "head_object", key],
            ["s3", "generate_presigned_url", {"ClientMethod": "get_object", "Params": key}],
        ]
    elif method == "POST":
        body, status = {"name": "bench"}, 201
        item = {"id": {"S": uuid.uuid4().hex}, "name": {"S": "bench"}}
        plan = [
            [
                "dynamodb",
                "put_item",
                {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(id)"},
            ]
        ]
        for variable in named(case.variables, "_QUEUE_NAME"):
            queue = values[variable]
            plan += [["sqs", "get_queue_url", {"QueueName": queue}],
                     ["sqs", "send_message", {"QueueUrl": stack.queue_url(queue), "MessageBody": json.dumps(item)}]]  # fmt: skip
        if "EVENT_BUS_NAME" in case.variables:
            # The domain's own source and detail type: the emulator delivers an event to every rule it
            # matches within the call, so another entry would make the reference's call cheaper.
            package = case.handler.split(".", 1)[0]
            events = (tasks / case.artifact / package / "events.py").read_text()
            source, detail_type = (
                re.search(rf'^{name} = "([^"]+)"', events, re.M).group(1) for name in ("SOURCE", "CREATED")
            )
            detail = {"version": 1, "data": {"id": item["id"]["S"], "name": "bench", "notes": "", "created_at": "?"},
                      "metadata": {"correlation_id": "bench"}}  # fmt: skip
            entry = {
                "EventBusName": values["EVENT_BUS_NAME"],
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
            plan.append(["events", "put_events", {"Entries": [entry]}])
    elif method == "GET" and params:
        key = f"bench:{params['id']}"
        plan = [["redis", "get", [key]], get, ["redis", "set", [key, "{}"]]] if cache else [get]
    elif method == "GET":
        plan = [["dynamodb", "scan", {"TableName": table, "Limit": 20}]]
        if "SETTINGS_PARAMETER_NAME" in case.variables:
            plan.insert(0, ["ssm", "get_parameter", {"Name": values["SETTINGS_PARAMETER_NAME"]}])
    elif method == "PUT":
        body = {"name": "bench 2"}
        plan = [_update(table, params["id"])] + (
            [["redis", "delete", [f"bench:{params['id']}"]]] if cache else []
        )
    elif method == "DELETE":
        status = 204
        delete = {
            "TableName": table,
            "Key": {"id": {"S": params["id"]}},
            "ConditionExpression": "attribute_exists(id)",
        }
        plan = [["dynamodb", "delete_item", delete]] + (
            [["redis", "delete", [f"bench:{params['id']}"]]] if cache else []
        )
    else:
        raise BenchError(f"No benchmark event for {method} {path}: add it to benchmarks/run.py (_http).")
    event = http_event(method, path, params, body, case.detail["protected"], stack.account)
    return event, plan, {"statusCode": status}, status


def http_event(
    method: str, path: str, params: dict, body: dict | None, protected: bool, account: str
) -> dict:
    """An API Gateway HTTP API (payload 2.0) event, with the JWT authorizer's claims on protected routes."""
    raw = path.format(**params)
    context = {
        "accountId": account, "apiId": "bench", "domainName": "bench.execute-api.amazonaws.com",
        "http": {"method": method, "path": raw, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
        "requestId": uuid.uuid4().hex, "routeKey": f"{method} {path}", "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "timeEpoch": int(time.time() * 1000),
    }  # fmt: skip
    if protected:
        context["authorizer"] = {
            "jwt": {"claims": {"sub": "bench-user", "email": "bench@example.com"}, "scopes": None}
        }
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": raw, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": context["domainName"]},
        "requestContext": context, "pathParameters": params or None,
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }  # fmt: skip


def _admin(case: Case, stack: Stack, tables: list[str]) -> tuple[dict, list, Any, Any]:
    job, values = case.detail["job"], stack.values
    counts = [["dynamodb", "scan", {"TableName": table, "Select": "COUNT"}] for table in tables]
    if job == "seed":
        plan = [
            ["dynamodb", "put_item", {"TableName": t, "Item": {"id": {"S": uuid.uuid4().hex}}}]
            for t in tables
        ]
        return {"count": 1}, plan, {"created": 1}, "created"
    if job == "report":
        plan = counts + [
            ["secretsmanager", "get_secret_value", {"SecretId": values[v]}]
            for v in named(case.variables, "_SECRET_NAME")
        ]
        return {}, plan, {"posted": False}, "posted"
    if job == "migrate":
        return (
            {},
            [["postgres", "execute", ["SELECT migration_id FROM _yoyo_migration"]]],
            {"applied": []},
            "applied",
        )
    if job == "snapshot":
        insert = "INSERT INTO record_counts (domain, counted_at, records) VALUES (%s, now(), %s)"
        plan = counts + [["postgres", "execute", ["BEGIN"]],
                         ["postgres", "executemany", [insert, [[t, 0] for t in tables]]],
                         ["postgres", "execute", ["COMMIT"]]]  # fmt: skip
        return {}, plan, {"counts": 0}, "counts"
    raise BenchError(f"No benchmark event for the admin job {job}: add it to benchmarks/run.py (_admin).")


def expected(case: Case, check: Any, result: Any) -> bool:
    """Whether the real handler returned exactly what it must."""
    if case.kind == "http":
        return isinstance(result, dict) and result.get("statusCode") == check
    if case.kind == "consumer":
        return result == check
    if case.kind == "subscriber":
        return result is None
    if case.detail["job"] == "seed":
        return set(result.get("created", {}).values()) == {1}
    if case.detail["job"] == "report":  # no webhook URL stored: nothing posted, where it can post at all
        return isinstance(result.get("counts"), dict) and result.get("posted", False) is False
    if case.detail["job"] == "migrate":
        return result.get("applied") == []  # migrated when the services started: nothing pending
    return isinstance(result.get("counts"), dict) and bool(result.get("counted_at"))


def invoke(python: str, script: str, args: list[str], environment: dict, label: str) -> tuple[float, Any]:
    out = subprocess.run(
        [python, "-c", script, *args], env=environment, capture_output=True, text=True, cwd="/"
    )
    if out.returncode:
        raise BenchError(f"{label} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return found["seconds"], found["result"]


def bench_cold_starts(name: str, project: Path, where: Path, repeat: int) -> list[Case]:
    version = (project / ".python-version").read_text().strip()
    python, drivers = runtime(project, where, version)
    tasks, opt = unpack(project, where / "lambda")
    todo = cases(project)
    stack = Stack(project, where / "services.log")
    try:
        values = stack.values
        lambda_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC", "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            **{k: v for k, v in values.items() if k.startswith("AWS_")},  # region, fake keys, the emulator
        }  # fmt: skip
        site = opt / "python" / "lib" / f"python{version}" / "site-packages"
        environments = {}
        for case in todo:
            missing = [v for v in case.variables if v not in values]
            if missing:
                raise BenchError(f"{case.handler}: local/env.py gives no value for {', '.join(missing)}.")
            variables = {v: values[v] for v in case.variables}
            base = {**lambda_env, **variables, "AWS_LAMBDA_FUNCTION_NAME": case.label}
            task = tasks / case.artifact
            # Lambda's order: the function's code, then the layer's two folders, then the runtime's boto3.
            path = f"{task}:{site}:{opt / 'python'}"
            driver = {"PYTHONPATH": str(drivers)} if {"CACHE_URL", "DATABASE_URL"} & set(variables) else {}
            environments[case.label] = {
                "real": {**base, "LAMBDA_TASK_ROOT": str(task), "PYTHONPATH": path},
                "bare": {**base, **driver},
            }
        # The emulator loads each service's backend on its first request: one untimed bare run of
        # every case first, so that no timed run, real or bare, pays for it.
        for case in todo:
            event, plan, answer, check = prepare(case, stack, tasks)
            invoke(python, BARE, [json.dumps([plan, answer])], environments[case.label]["bare"], case.label)
        for round_number in range(repeat):
            for case in todo:
                order = ("real", "bare") if round_number % 2 == 0 else ("bare", "real")
                for which in order:
                    # Each run gets records of its own: a delete must find one to delete.
                    event, plan, answer, check = prepare(case, stack, tasks)
                    if which == "real":
                        module, attribute = case.handler.rsplit(".", 1)
                        script, args = REAL, [module, attribute, case.label, json.dumps(event)]
                    else:
                        script, args = BARE, [json.dumps([plan, answer])]
                    label = f"{name}: {case.label} ({which})"
                    seconds, result = invoke(python, script, args, environments[case.label][which], label)
                    if which == "real" and not expected(case, check, result):
                        raise BenchError(f"{label} returned {json.dumps(result)[:500]}, expected {check!r}.")
                    getattr(case, which).append(seconds)
            print(f"  {name}: round {round_number + 1}/{repeat} done", file=sys.stderr)
    finally:
        stack.close()
    return todo


# --- sizes, make test, render ----------------------------------------------------------------


def layer_shares(layer: Path) -> dict[str, float]:
    """Zipped bytes of the layer per service, from each distribution's RECORD and Requires-Dist."""
    archive = zipfile.ZipFile(layer)
    sizes = {info.filename: info.compress_size for info in archive.infolist()}
    owned, requires = {}, {}
    for meta in (n for n in sizes if n.endswith(".dist-info/METADATA")):
        text = archive.read(meta).decode()
        dist = normal(re.search(r"^Name: ([A-Za-z0-9._-]+)", text, re.M).group(1))
        requires[dist] = {
            normal(re.match(r"[A-Za-z0-9._-]+", line[len("Requires-Dist: ") :]).group(0))
            for line in text.splitlines()
            if line.startswith("Requires-Dist: ") and "extra ==" not in line
        }
        record = archive.read(meta.replace("METADATA", "RECORD")).decode()
        # A module the functions import ships as bytecode in its source's place (scripts/package.py).
        files = [f"python/{row.split(',', 1)[0]}" for row in record.splitlines() if row]
        owned[dist] = sum(
            sizes.get(name, 0) + sizes.get(f"{name}c", 0) * name.endswith(".py") for name in files
        )
    needed_by: dict[str, set[str]] = {dist: set() for dist in owned}
    for top, service in {**SERVICE_OF, **CORE}.items():
        stack = [top]
        while stack:
            dist = stack.pop()
            if dist in needed_by and service not in needed_by[dist]:
                needed_by[dist].add(service)
                stack.extend(requires.get(dist, ()))
    shares: dict[str, float] = {}
    for dist, size in owned.items():
        users = needed_by[dist]
        # Needed by every project, or by several services: shared, never counted twice.
        group = "unknown: " + dist if not users else users.pop() if len(users) == 1 else "shared"
        shares[group] = shares.get(group, 0) + size
    shares["(zip directory)"] = layer.stat().st_size - sum(owned.values())
    return shares


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def time_make_test(project: Path, runs: int = 3) -> float:
    """`make test` as a user runs it after `make install` (its byte-compiled sync, without the deploy
    tools): the median of ``runs``, as one run moves with whatever else the machine does."""
    uv, env = checks.tool("uv"), checks.project_env(project)
    checks.run([uv, "sync", "--quiet", "--compile-bytecode"], project, env)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        checks.run(["make", "test", f"UV={uv}"], project, env, timeout=1800)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def static_template(rendered: Path, where: Path) -> Path:
    """The rendered project's files as a template of static files: Copier's cost for the same files."""
    template = where / "static-template"
    shutil.copytree(rendered, template / "template", ignore=shutil.ignore_patterns(".copier-answers.yml"))
    (template / "copier.yml").write_text("_subdirectory: template\n")
    # A git repository like the real template, so both renders pay for Copier's clone.
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=template, check=True)
    subprocess.run([*git, "add", "-A"], cwd=template, check=True)
    subprocess.run([*git, "commit", "-qm", "static"], cwd=template, check=True)
    subprocess.run(["git", "gc", "--quiet"], cwd=template, check=True)  # packed, as the template
    return template


def bench_render(
    template: Path, label: str, data: dict, repeat: int, where: Path
) -> tuple[list[float], list[float], int]:
    first = where / "first"
    render(template, first, data)
    floor = static_template(first, where)
    real, static = [], []
    for i in range(repeat):
        pair = [("real", real), ("static", static)]
        for which, times in pair if i % 2 == 0 else pair[::-1]:
            dst = where / f"{which}-{i}"
            start = time.perf_counter()
            if which == "real":
                render(template, dst, data)
            else:
                run_copy(str(floor), str(dst), defaults=True, quiet=True, vcs_ref="HEAD")
            times.append(time.perf_counter() - start)
    return real, static, sum(1 for p in first.rglob("*") if p.is_file())


# --- report ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # One pair's ratio spreads by about 10% either way on a 2-core machine: 11 rounds bring the
    # median's own spread to about 3% (docs/decisions.md).
    parser.add_argument("--repeat", type=int, default=11, help="rounds of every timed case (default 11)")
    parser.add_argument("--quick", action="store_true", help="one round, no `make test`: to try the script")
    parser.add_argument("--keep", type=Path, help="keep the rendered projects and runs in this folder")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    settings = Path(tempfile.mkdtemp()) / "settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)  # the user's Copier settings change nothing here
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        return report(packed_clone(work / "template"), work, repeat, args.quick)
    finally:
        print(f"benchmarks/run.py took {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if not args.keep:
            writable(work)
            shutil.rmtree(work, ignore_errors=True)


def report(template: Path, work: Path, repeat: int, quick: bool) -> int:
    rows, misses = [], 0
    built, reproducible = {}, {}
    for name, data in PROJECTS.items():
        project = work / name.replace(" ", "-") / "project"
        print(f"render and build: {name}", file=sys.stderr)
        render(template, project, data)
        reproducible[name] = build(project)
        built[name] = project
        for case in bench_cold_starts(name, project, project.parent, repeat):
            real, bare = [s * 1000 for s in case.real], [s * 1000 for s in case.bare]
            rows.append((f"{name}: {case.label}", real, bare, TARGETS["cold_start"]))
    for label, data in [("defaults", {}), ("10 domains", {"domains": [f"domain_{i}" for i in range(10)]})]:
        print(f"render: {label}", file=sys.stderr)
        real, static, files = bench_render(
            template, label, data, repeat, work / f"render-{label.replace(' ', '-')}"
        )
        rows.append((f"render {label} ({files} files) vs static copy", [s * 1000 for s in real],
                     [s * 1000 for s in static], TARGETS["render"]))  # fmt: skip

    width = max(len(row[0]) for row in rows)
    print(
        f"\n{'case':<{width}}  {'min':>7} {'median':>7} {'max':>7}  {'ref med':>7}  {'med/ref':>7}  {'ratio':>6}"
        "  target  ok"
    )
    print(f"{'':<{width}}  {'ms':>7} {'ms':>7} {'ms':>7}  {'ms':>7}")
    for label, times, reference, target in rows:
        # A round runs the case and its reference back to back: the ratio is the median of the rounds'
        # own ratios, so a slow spell of the machine that spans a round does not count for one side.
        ratio = statistics.median(real / ref for real, ref in zip(times, reference, strict=True))
        ok = ratio <= target
        misses += not ok
        print(f"{label:<{width}}  {min(times):>7.0f} {statistics.median(times):>7.0f} {max(times):>7.0f}  "
              f"{statistics.median(reference):>7.0f}  {statistics.median(times) / statistics.median(reference):>6.2f}x"
              f"  {ratio:>5.2f}x  {target:>5.2f}x {'yes' if ok else 'NO'}")  # fmt: skip

    sizes = []
    for name, project in built.items():
        layer = project / "build" / "layer.zip"
        sizes.append((f"{name}: layer.zip (MiB)", layer.stat().st_size / 2**20, TARGETS["layer_mib"]))
        for artifact in sorted((project / "build" / "functions").glob("*.zip")):
            sizes.append(
                (
                    f"{name}: functions/{artifact.name} (KB)",
                    artifact.stat().st_size / 1024,
                    TARGETS["artifact_kb"],
                )
            )
    if not quick:
        print("make test: all services", file=sys.stderr)
        sizes.append(
            (
                "all services: `make test` wall time, median of 3 (s)",
                time_make_test(built["all services"]),
                TARGETS["make_test_s"],
            )
        )
    width = max(len(row[0]) for row in sizes)
    print(f"\n{'size / time':<{width}}  {'measured':>9}  {'target':>7}  ok")
    for label, value, target in sizes:
        ok = value <= target
        misses += not ok
        print(f"{label:<{width}}  {value:>9.2f}  {target:>7.1f}  {'yes' if ok else 'NO'}")

    for name, same in reproducible.items():
        misses += not same
        print(f"{name}: a second build gives the same bytes: {'yes' if same else 'NO'}")

    shares = layer_shares(built["all services"] / "build" / "layer.zip")
    total = sum(shares.values())
    print("\nall services: layer.zip by the service that needs it (zipped)")
    for group, size in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {group:<24} {size / 2**20:>6.2f} MiB  {size / total:>4.0%}")
    print(f"\n{misses} target(s) missed" if misses else "\nevery target met")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
