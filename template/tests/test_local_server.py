"""`make dev` routes requests to the real handlers; here over real HTTP on loopback."""

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from local import env
from local.routes import ROUTES
from local.server import MAX_BODY, LocalHTTPServer, Router, emulator_session, make_handler

pytestmark = pytest.mark.domains(next(iter(env.DOMAINS)))  # the first domain's: ROUTES[0] is its

ROOT = Path(__file__).resolve().parents[1]


def local_server(handler_class):
    return LocalHTTPServer(("127.0.0.1", 0), handler_class)


@contextmanager
def serving(server):
    """``server`` answering on a thread; yields its port."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()  # within the 50 ms poll interval given above
        server.server_close()


@pytest.fixture
def port():
    with serving(local_server(make_handler(Router(ROUTES)))) as port:
        yield port


@pytest.fixture
def base_url(port):
    return f"http://127.0.0.1:{port}"


def call(url, method="GET", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def post(body: bytes, length: int | str | None = None) -> bytes:
    """A create request as bytes, with any Content-Length: urllib would correct a wrong one."""
    length = len(body) if length is None else length
    head = f"POST {ROUTES[0][1]} HTTP/1.1\r\nhost: local\r\ncontent-type: application/json\r\ncontent-length: {length}"
    return head.encode() + b"\r\n\r\n" + body


def exchange(client: socket.socket, request: bytes, finish_sending: bool = True) -> tuple[int, dict]:
    """Send ``request`` and read the whole answer: (status, JSON body)."""
    client.sendall(request)
    if finish_sending:
        client.shutdown(socket.SHUT_WR)
    answer = b"".join(iter(lambda: client.recv(65536), b""))
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_create_and_read_over_http(base_url):
    collection = ROUTES[0][1]
    status, created = call(base_url + collection, "POST", {"name": "From HTTP"})
    assert status == 201
    status, read = call(f"{base_url}{collection}/{created['id']}")
    assert (status, read) == (200, created)


def test_unknown_route_is_a_json_404(base_url):
    status, body = call(base_url + "/nowhere")
    assert (status, body["error"]) == (404, "not_found")


def test_router_matches_method_and_path_parameters():
    router = Router([("GET", "/things/{id}", "json.dumps")])
    assert router.resolve("GET", "/things/42")[2] == {"id": "42"}
    assert router.resolve("DELETE", "/things/42") is None
    assert router.resolve("GET", "/things/42/more") is None


def test_64_clients_at_once_are_all_answered():
    # The burst a load test makes: every client connects before the server accepts any. Beyond the
    # listening socket's queue, connections are refused or time out.
    server = local_server(make_handler(Router(ROUTES)))
    clients = [socket.create_connection(server.server_address, timeout=1) for _ in range(64)]
    with serving(server):
        for client in clients:
            client.settimeout(10)
        answers = [exchange(client, b"GET /nowhere HTTP/1.1\r\nhost: local\r\n\r\n") for client in clients]
    for client in clients:
        client.close()
    assert [status for status, _ in answers] == [404] * 64


@pytest.mark.parametrize(
    ("request_bytes", "status", "message"),
    [
        (post(b'{"name": "x"}', -1), 400, "Content-Length must be a whole number"),
        (post(b'{"name": "x"}', "12abc"), 400, "Content-Length must be a whole number"),
        (post(b'{"name": "x"}', 100), 400, "shorter than its Content-Length"),
        # More than the socket buffers hold: the client is still sending when the answer comes.
        (post(b"x" * 8_000_000, MAX_BODY + 1), 413, "larger than"),
        (post(b'{"name": "\xff"}'), 400, "not UTF-8"),
        (post(b"[" * 100_000 + b"]" * 100_000), 400, "nested deeper"),
        (post(b'{"name": "\\ud800"}'), 400, "surrogate"),
    ],
    ids=[
        "negative-length",
        "length-not-a-number",
        "length-past-the-body",
        "too-large",
        "not-utf8",
        "deep",
        "surrogate",
    ],
)
def test_malformed_requests_get_a_json_4xx(port, request_bytes, status, message):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        answer_status, body = exchange(client, request_bytes)
    assert answer_status == status
    assert message in body["message"]


def test_a_body_that_never_comes_is_a_400_after_the_timeout():
    class Impatient(make_handler(Router(ROUTES))):
        timeout = 0.2

    with serving(local_server(Impatient)) as port, socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        started = time.monotonic()
        # Sends less body than announced and keeps the connection open, waiting.
        status, body = exchange(client, post(b"{}", 100), finish_sending=False)
    assert (status, body["error"]) == (400, "bad_request")
    assert time.monotonic() - started < 5


class FailingEmulator(BaseHTTPRequestHandler):
    """Answers every AWS call with a 500, as moto does when a call breaks it."""

    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(500)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


def list_tables(event, context):
    """A handler whose one AWS call goes to the emulator given in a header."""
    client = boto3.Session(botocore_session=emulator_session()).client(
        "dynamodb", endpoint_url=event["headers"]["x-emulator"]
    )
    client.list_tables()


def test_a_failing_emulator_call_is_a_quick_500():
    emulator = ThreadingHTTPServer(("127.0.0.1", 0), FailingEmulator)
    router = Router([("GET", "/t", f"{__name__}.list_tables")])
    with serving(emulator) as emulator_port, serving(local_server(make_handler(router))) as port:
        started = time.monotonic()
        status, body = call(f"http://127.0.0.1:{port}/t", headers={"x-emulator": f"http://127.0.0.1:{emulator_port}"})
    assert (status, body) == (500, {"message": "Internal Server Error"})
    assert time.monotonic() - started < 5  # boto3's default retries took 25 s here


def free_port_before_a_busy_one() -> tuple[int, socket.socket]:
    """A port that is free and a listening socket on the next one, which the caller closes."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        holder = socket.socket()
        try:
            holder.bind(("127.0.0.1", free + 1))
        except OSError:
            holder.close()
            continue
        holder.listen()
        return free, holder
    raise AssertionError("no free pair of ports on loopback")


def test_a_busy_port_stops_make_dev_at_once_with_what_to_do():
    port, holder = free_port_before_a_busy_one()
    with holder:
        stopped = subprocess.run(
            [sys.executable, "-m", "local.server", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,  # it waited forever before
        )
    assert stopped.returncode != 0
    assert stopped.stderr.strip() == (
        f"Port {port + 1} (the AWS emulator, PORT+1) is in use: "
        f"stop what holds it or pick other ports: make dev PORT={port + 1000 if port < 64000 else 3000}"
    )
