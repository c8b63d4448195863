"""`make dev` in a rendered project serves the API on $PORT with its own AWS emulator."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import project_checks as checks
from conftest import render


def free_port_pair() -> int:
    """A port P such that P, P+1 (the emulator) and P+2 (PostgreSQL, with postgres) are free on loopback."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65000 and all(_free(p) for p in (port, port + 1, port + 2)):
            return port
    raise RuntimeError("no free pair of loopback ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def call(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, json.loads(response.read())


def next_line(output, wanted, timeout: float = 10) -> str:
    """The next line of a running process's ``output`` for which ``wanted`` is true."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = output.get(timeout=left)
        except queue.Empty:
            break
        if wanted(line):
            return line
    pytest.fail("make dev did not print the expected line")


@contextlib.contextmanager
def make_dev(project: Path):
    """`make dev` on a free port pair; yields the port, then stops it with Ctrl+C and checks
    that nothing is left listening."""
    port = free_port_pair()
    env = {**os.environ, **checks.project_env(project), "PORT": str(port)}
    server = subprocess.Popen(
        [checks.tool("make"), "dev"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so we can stop make and its children
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and ready is None:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                pytest.fail(f"make dev exited with {server.returncode}")
            if line.startswith("{") and "Local API ready" in line:
                ready = json.loads(line)
        assert ready, "make dev did not report readiness within 60 s"
        assert ready["url"] == f"http://127.0.0.1:{port}"
        assert ready["aws_endpoint"] == f"http://127.0.0.1:{port + 1}"
        ready["output"] = queue.Queue()  # what make dev prints from here on, line by line
        threading.Thread(target=lambda: [ready["output"].put(x) for x in server.stdout], daemon=True).start()
        yield port, env, ready
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            pytest.fail("make dev did not stop on Ctrl+C")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_listening(port) or _listening(port + 1)):
        time.sleep(0.2)
    assert not _listening(port) and not _listening(port + 1), "make dev left a server running"


@pytest.mark.render
def test_make_dev_serves_create_and_read_then_stops_cleanly(default_project):
    with make_dev(default_project) as (port, env, ready):
        assert ready["queues"] == []
        base = f"http://127.0.0.1:{port}/orders"
        status, created = call(base, "POST", {"name": "curl-like create"})
        assert status == 201
        status, read = call(f"{base}/{created['id']}")
        assert (status, read) == (200, created)
        status, listing = call(base)
        assert created in listing["items"]
        # Metrics are log lines (embedded metric format): the write's business metric shows.
        metric = next_line(
            ready["output"], lambda line: line.startswith('{"_aws"') and '"OrderCreated"' in line
        )
        assert json.loads(metric)["OrderCreated"] == [1.0]

        # The one-off admin job runs against the same emulator.
        admin = subprocess.run(
            [checks.tool("make"), "admin", "JOB=seed", f"PORT={port}"],
            cwd=default_project, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert admin.returncode == 0, admin.stdout + admin.stderr
        assert '"orders": 3' in admin.stdout
        assert len(call(base + "?limit=100")[1]["items"]) == 4


@pytest.mark.render
def test_make_dev_exits_at_once_naming_a_busy_port(default_project):
    port = free_port_pair()
    env = {**os.environ, **checks.project_env(default_project), "PORT": str(port)}
    with socket.socket() as holder:  # the emulator's port, taken: moto's server used to wait on it forever
        holder.bind(("127.0.0.1", port + 1))
        holder.listen()
        stopped = subprocess.run(
            [checks.tool("make"), "dev"],
            cwd=default_project, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert stopped.returncode != 0
    assert f"Port {port + 1} (the AWS emulator, PORT+1) is in use: " in stopped.stderr
    assert "make dev PORT=" in stopped.stderr
    assert "Traceback" not in stopped.stderr


@pytest.mark.render
def test_make_dev_delivers_queued_jobs_to_the_consumer(copie):
    project = render(copie, {"services": ["dynamodb", "sqs"], "domains": ["orders", "payments"]})
    checks.sync(project)
    with make_dev(project) as (port, _, ready):
        assert ready["queues"] == ["order-service-local-orders", "order-service-local-payments"]
        base = f"http://127.0.0.1:{port}/payments"
        status, created = call(base, "POST", {"name": "needs follow-up work"})
        assert status == 201 and "processed_at" not in created
        deadline, record = time.monotonic() + 20, created
        while time.monotonic() < deadline and "processed_at" not in record:
            time.sleep(0.3)
            record = call(f"{base}/{created['id']}")[1]
        assert "processed_at" in record, "the consumer did not process the job within 20 s"


@pytest.mark.render
def test_make_dev_delivers_domain_events_to_subscribers_and_the_topic(copie):
    import boto3

    project = render(copie, {"services": ["dynamodb", "events"], "domains": ["orders", "payments"]})
    checks.sync(project)
    with make_dev(project) as (port, _, ready):
        subscriber = "payments.handlers.handle_payments_events"
        assert ready["subscribers"] == ["orders.handlers.handle_orders_events", subscriber]
        aws = {"endpoint_url": ready["aws_endpoint"], "region_name": "us-east-1"}
        aws |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        sqs, sns = boto3.client("sqs", **aws), boto3.client("sns", **aws)
        inbox = sqs.create_queue(QueueName="test-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
        topic = sns.create_topic(Name="order-service-local-notifications")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["QueueArn"])

        status, created = call(f"http://127.0.0.1:{port}/orders", "POST", {"name": "announced"})
        assert status == 201
        deadline, notified = time.monotonic() + 20, []
        while time.monotonic() < deadline and not notified:
            notified = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages", [])
        assert notified, "the notify rule did not reach the topic within 20 s"
        event = json.loads(json.loads(notified[0]["Body"])["Message"])
        assert (event["detail-type"], event["detail"]["data"]["id"]) == ("OrderCreated", created["id"])
        # The payments subscriber's rule listens for it, and the subscriber took it (nothing left or failing).
        events = boto3.client("events", **aws)
        rule = events.describe_rule(
            Name="order-service-local-payments-events", EventBusName="order-service-local-events"
        )
        assert json.loads(rule["EventPattern"]) == {
            "source": ["order-service.orders"],
            "detail-type": ["OrderCreated"],
        }
        rule_queue = sqs.get_queue_url(QueueName="order-service-local-payments-events")["QueueUrl"]
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        deadline, left = time.monotonic() + 10, None
        while time.monotonic() < deadline and left != {"0"}:
            attributes = sqs.get_queue_attributes(QueueUrl=rule_queue, AttributeNames=names)["Attributes"]
            left = set(attributes.values())
            time.sleep(0.3)
        assert left == {"0"}, f"the payments subscriber did not take the event: {attributes}"


def _send(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.render
def test_make_dev_checks_tokens_and_hands_out_file_urls(copie):
    services = ["dynamodb", "s3", "cognito", "secrets"]
    project = render(copie, {"services": services, "public_routes": ["GET /orders"]})
    checks.sync(project)
    with make_dev(project) as (port, env, _):
        base, json_type = f"http://127.0.0.1:{port}/orders", {"content-type": "application/json"}
        assert _send(base, "POST", b'{"name": "x"}', json_type) == (401, b'{"message": "Unauthorized"}')
        assert _send(base)[0] == 200  # the public route
        token = subprocess.run(
            [checks.tool("make"), "-s", "token", "EMAIL=dev@example.com", f"PORT={port}"],
            cwd=project, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert token.returncode == 0, token.stderr
        auth = {**json_type, "authorization": f"Bearer {token.stdout.strip()}"}
        status, created = _send(base, "POST", b'{"name": "has a file"}', auth)
        assert status == 201
        files = f"{base}/{json.loads(created)['id']}/files"
        status, signed = _send(files, "POST", b'{"file_name": "a.txt", "content_type": "text/plain"}', auth)
        assert status == 200
        upload = json.loads(signed)
        assert _send(upload["url"], "PUT", b"bytes", upload["headers"])[0] == 200
        status, signed = _send(f"{files}/a.txt", headers=auth)
        assert status == 200
        assert _send(json.loads(signed)["url"]) == (200, b"bytes")


def _redis_cli(url: str, *command: str) -> str:
    result = subprocess.run(
        [checks.tool("redis-cli"), "-u", url, "--raw", *command], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _live_processes(matches) -> list[str]:
    """Command lines of the live (not zombie) processes whose argument list ``matches``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().decode(errors="replace").rstrip("\0").split("\0")
            if matches(args) and "State:\tZ" not in (cmdline.parent / "status").read_text():
                found.append(" ".join(args))
    return found


def _redis_servers(port: int) -> list[str]:
    """Live redis-server processes on ``port`` (redis-server names itself host:port)."""
    return _live_processes(lambda args: "redis-server" in " ".join(args) and f":{port}" in " ".join(args))


@pytest.mark.render
def test_make_dev_reads_through_a_real_redis_and_stops_it(copie):
    project = render(copie, {"services": ["dynamodb", "redis"], "domains": ["orders", "payments"]})
    checks.sync(project)
    with make_dev(project) as (port, _, ready):
        cache_url = ready["cache_url"]
        cache_port = urllib.parse.urlsplit(cache_url).port
        assert cache_url == f"redis://127.0.0.1:{cache_port}/0"
        assert _redis_servers(cache_port), "make dev did not start redis-server"
        base = f"http://127.0.0.1:{port}/payments"
        status, created = call(base, "POST", {"name": "read through the cache"})
        key = f"payments:{created['id']}"
        assert status == 201 and _redis_cli(cache_url, "EXISTS", key) == "0"
        assert call(f"{base}/{created['id']}") == (200, created)
        assert json.loads(_redis_cli(cache_url, "GET", key)) == created  # the read filled the cache
        assert 0 < int(_redis_cli(cache_url, "TTL", key)) <= 60
        status, updated = call(f"{base}/{created['id']}", "PUT", {"name": "renamed"})
        assert (status, updated["name"]) == (200, "renamed")
        assert _redis_cli(cache_url, "EXISTS", key) == "0"  # the write evicted it
    assert not _listening(cache_port)
    assert not _redis_servers(cache_port), "make dev left redis-server running"


def _postgres_servers(port: int) -> list[str]:
    """Live PostgreSQL servers on ``port`` (the postmaster is started with -p <port>)."""

    def postmaster(args: list[str]) -> bool:
        port_arg = args[args.index("-p") + 1] if "-p" in args[:-1] else ""
        return Path(args[0]).name == "postgres" and port_arg == str(port)

    return _live_processes(postmaster)


@pytest.mark.render
def test_make_dev_runs_a_migrated_postgresql_and_stops_it(copie):
    project = render(copie, {"services": ["dynamodb", "postgres"], "domains": ["orders", "payments"]})
    checks.sync(project)
    with make_dev(project) as (port, env, ready):
        assert ready["database_url"] == f"postgresql://app@127.0.0.1:{port + 2}/app"
        (server,) = _postgres_servers(port + 2)
        data = Path(server.split(" -D ")[1].split()[0])
        assert data.is_dir()
        assert call(f"http://127.0.0.1:{port}/orders", "POST", {"name": "counted"})[0] == 201

        def admin(job: str) -> str:
            result = subprocess.run(
                [checks.tool("make"), "admin", f"JOB={job}", f"PORT={port}"],
                cwd=project, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
            return result.stdout

        # make dev applied the migrations: the snapshot's table exists, and nothing is pending.
        assert '"orders": 1' in admin("snapshot")
        assert '"applied": []' in admin("migrate")
    assert not _listening(port + 2)
    assert not _postgres_servers(port + 2), "make dev left PostgreSQL running"
    assert not data.exists(), "make dev left the PostgreSQL data folder behind"
