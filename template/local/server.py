"""`make dev`: the HTTP API on 127.0.0.1:$PORT, backed by an embedded AWS emulator.

Requests are turned into API Gateway HTTP API (payload v2) events and passed to
the real handlers in this process, whose JSON log lines and metrics (CloudWatch's
embedded metric format) appear on stdout; boto3 talks to a moto server on another
loopback port. Queue consumers get their messages the way Lambda's event source
mapping delivers them: in batches, with failed messages left for a retry. Events
put on the bus reach the subscribers (one per invocation) and the topic through their
rules, as in AWS. Nothing leaves the machine, and Ctrl+C stops everything.
"""

from __future__ import annotations

import argparse
import base64
import errno
import importlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Collection
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local import env
from local.context import context_for
from local.routes import CONSUMERS, PROTECTED_ROUTES, ROUTES, SUBSCRIBERS

Handler = Callable[[dict, Any], dict]
# Authorization header -> the token's claims, or None when it is missing or invalid (a 401).
Authorizer = Callable[[str | None], dict[str, str] | None]
# API Gateway's payload limit: a larger body is refused (413) without being read.
MAX_BODY = 10 * 1024 * 1024
# boto3's clients here, all talking to the emulator on loopback: a call it has not answered within
# seconds never will be, and the default retries (DynamoDB's: 10 attempts over 25 s) only delay the
# request's 500. Deployed functions keep boto3's defaults.
EMULATOR_CLIENTS = {"connect_timeout": 2, "read_timeout": 5, "retries": {"mode": "standard", "total_max_attempts": 2}}


class LocalHTTPServer(ThreadingHTTPServer):
    # The listening socket's queue of connections not yet accepted: at the default 5, a burst of
    # clients overflowed it and saw resets.
    request_queue_size = 128


class WholeLines:
    """stdout shared by the threads: each thread's text goes out a whole line at a time, flushed.
    print() writes a line and its newline in two calls, so a metrics document printed by one request
    and a log line of another would otherwise run together into one unreadable line."""

    def __init__(self, stream: Any) -> None:
        self._stream, self._lock, self._pending = stream, threading.Lock(), threading.local()

    def write(self, text: str) -> int:
        lines, newline, rest = (getattr(self._pending, "text", "") + text).rpartition("\n")
        self._pending.text = rest
        if newline:
            with self._lock:
                self._stream.write(lines + newline)
                self._stream.flush()
        return len(text)

    def flush(self) -> None:
        """Out with this thread's unfinished line too: a flush asks for everything written so far."""
        text, self._pending.text = getattr(self._pending, "text", ""), ""
        with self._lock:
            self._stream.write(text)
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty...: the real stream's
        return getattr(self._stream, name)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


class Router:
    def __init__(self, routes: list[tuple[str, str, str]], protected: Collection[str] = ()) -> None:
        self._routes = [(method, _pattern(path), path, target) for method, path, target in routes]
        self._handlers: dict[str, Handler] = {}
        self.protected = frozenset(protected)  # route keys ("GET /path/{id}") that need a token

    def resolve(self, method: str, path: str) -> tuple[Handler, str, dict[str, str]] | None:
        for route_method, pattern, template, target in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                params = {name: unquote(value) for name, value in match.groupdict().items()}  # as API Gateway does
                return self._load(target), f"{method} {template}", params
        return None

    def _load(self, target: str) -> Handler:
        # Import on first request, like a cold start; later requests reuse it.
        if target not in self._handlers:
            module, _, attribute = target.rpartition(".")
            self._handlers[target] = getattr(importlib.import_module(module), attribute)
        return self._handlers[target]


def build_event(
    method: str,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: str,
    route_key: str,
    params: dict[str, str],
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    request_id = uuid.uuid4().hex
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "queryStringParameters": dict(parse_qsl(query)) or None,
        "pathParameters": params or None,
        "requestContext": {
            "requestId": request_id,
            "http": {"method": method, "path": raw_path, "sourceIp": "127.0.0.1"},
            "timeEpoch": int(time.time() * 1000),
        },
        "body": body or None,
        "isBase64Encoded": False,
    }
    if claims is not None:  # what the HTTP API's JWT authorizer adds once it accepted the token
        scopes = claims["scope"].split() if "scope" in claims else None
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": scopes}}
    return event


def _attribute(attribute: dict[str, Any]) -> dict[str, Any]:
    # A String or Number attribute has a stringValue; a Binary one only a binaryValue, in base64.
    if "BinaryValue" in attribute:
        return {"dataType": attribute["DataType"], "binaryValue": base64.b64encode(attribute["BinaryValue"]).decode()}
    return {"dataType": attribute["DataType"], "stringValue": attribute["StringValue"]}


def queue_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event as Lambda delivers it, from ReceiveMessage results."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                # Lambda's spelling of what ReceiveMessage returns (correlation_id: queues.py)
                "messageAttributes": {name: _attribute(a) for name, a in m.get("MessageAttributes", {}).items()},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": env.REGION,
            }
            for m in messages
        ]
    }


class QueueWorker(threading.Thread):
    """Polls one queue and hands batches to its consumer; deletes what succeeded.

    Failed messages stay in the queue and come back after its visibility timeout, then
    move to the dead-letter queue after the configured number of receives, as in AWS.
    """

    def __init__(self, queue_name: str, target: str, batch_size: int) -> None:
        super().__init__(name=f"queue-{queue_name}", daemon=True)
        self.queue_name, self.target, self.batch_size = queue_name, target, batch_size
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.poll(wait_seconds=1)

    @cached_property
    def queue(self) -> tuple[Any, str, str]:
        import boto3

        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return sqs, url, arn

    @cached_property
    def handler(self) -> Handler:
        module, _, attribute = self.target.rpartition(".")
        return getattr(importlib.import_module(module), attribute)

    def poll(self, wait_seconds: int = 0) -> int:
        """Receive one batch, deliver it and delete what was done; returns how many arrived."""
        sqs, url, arn = self.queue
        received = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return 0
        done = self.deliver(messages, arn)
        if done:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        return len(messages)

    def deliver(self, messages: list[dict[str, Any]], queue_arn: str) -> list[dict[str, Any]]:
        """Hand the batch to the consumer; returns the messages it processed."""
        result = self.handler(queue_event(messages, queue_arn), context_for(self.target)) or {}
        failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
        return [m for m in messages if m["MessageId"] not in failed]


class EventWorker(QueueWorker):
    """Invokes a subscriber with each event its rule copied to the rule's local queue.

    As EventBridge does: one event per invocation, asynchronously, so a failed invocation
    is tried again (twice, as Lambda retries asynchronous calls) and then dropped.
    """

    ATTEMPTS = 3

    def __init__(self, queue_name: str, target: str) -> None:
        super().__init__(queue_name, target, batch_size=10)

    def deliver(self, messages: list[dict[str, Any]], queue_arn: str) -> list[dict[str, Any]]:
        done = []
        for message in messages:
            try:
                self.invoke(json.loads(message["Body"]))
            except Exception as error:
                attempt = int(message["Attributes"]["ApproximateReceiveCount"])
                outcome = "retried" if attempt < self.ATTEMPTS else "dropped"
                log = {"level": "ERROR", "message": f"Event delivery failed: {outcome}", "target": self.target}
                print(json.dumps({**log, "attempt": attempt, "error": repr(error)}), flush=True)
                if attempt < self.ATTEMPTS:
                    continue  # back in the queue after its visibility timeout
            done.append(message)
        return done

    def invoke(self, event: dict[str, Any]) -> None:
        self.handler(event, context_for(self.target))


class TopicRelay(EventWorker):
    """Publishes what the notify rule matched to the topic, as EventBridge's SNS target does."""

    @cached_property
    def sns(self) -> Any:
        import boto3

        return boto3.client("sns")

    @cached_property
    def topic_arn(self) -> str:
        # create_topic is idempotent: it returns the topic local/env.py created.
        return self.sns.create_topic(Name=self.target)["TopicArn"]

    def invoke(self, event: dict[str, Any]) -> None:
        self.sns.publish(TopicArn=self.topic_arn, Message=json.dumps(event))


def make_handler(router: Router, authorize: Authorizer | None = None) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        # Seconds a client may pause while sending: one that announced more body than it sends
        # gets a 400 then, instead of holding a thread forever.
        timeout = 10

        def _dispatch(self) -> None:
            body = self._read_body()  # first: a reply that leaves a body unread may be lost (_refuse)
            if body is None:
                return
            url = urlsplit(self.path)
            resolved = router.resolve(self.command, url.path)
            if resolved is None:
                self._send_json(404, {"error": "not_found", "message": f"No route for {self.command} {url.path}."})
                return
            handler, route_key, params = resolved
            claims = None
            if route_key in router.protected:
                # As API Gateway: no valid token, no call (and no authorizer means no way in).
                claims = authorize(self.headers.get("authorization")) if authorize else None
                if claims is None:
                    self._send_json(401, {"message": "Unauthorized"})
                    return
            event = build_event(self.command, url.path, url.query, dict(self.headers), body, route_key, params, claims)
            try:
                result = handler(event, context_for(route_key))
            except Exception as error:  # a crashed function: API Gateway answers this 500, Lambda logs why
                log = {"level": "ERROR", "message": "Handler failed", "route": route_key, "error": repr(error)}
                print(json.dumps({**log, "traceback": traceback.format_exc()}), flush=True)
                self._send_json(500, {"message": "Internal Server Error"})
                return
            self._send(result["statusCode"], result.get("headers", {}), result.get("body") or "")

        def _read_body(self) -> str | None:
            """The request body as text, or None once a 4xx refused it."""
            declared = self.headers.get("content-length") or "0"
            if not (declared.isascii() and declared.isdigit()):
                self._refuse(400, _bad_request(f"Content-Length must be a whole number of bytes, not {declared!r}."))
                return None
            length = int(declared)
            if length > MAX_BODY:
                message = f"The request body is larger than API Gateway's limit, {MAX_BODY // 2**20} MiB."
                self._refuse(413, {"error": "too_large", "message": message})
                return None
            try:
                raw = self.rfile.read(length)
            except TimeoutError:  # the client stopped sending (self.timeout)
                raw = b""
            if len(raw) < length:
                self._send_json(400, _bad_request(f"The request body is shorter than its Content-Length, {length}."))
                return None
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as error:
                self._send_json(400, _bad_request(f"The request body is not UTF-8 (byte {error.start})."))
                return None

        def _refuse(self, status: int, body: dict[str, str]) -> None:
            """Answer, leaving the body unread. Closing a socket with unread data resets the connection,
            which can destroy the answer before the client reads it: what it still sends is dropped
            first, for a second at most."""
            self._send_json(status, body)
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            deadline = time.monotonic() + 1
            try:
                while self.connection.recv(65536) and time.monotonic() < deadline:
                    pass
            except OSError:  # a timeout or a client gone: either way, done
                pass

        def _send_json(self, status: int, body: dict[str, str]) -> None:
            self._send(status, {"content-type": "application/json"}, json.dumps(body))

        def _send(self, status: int, headers: dict[str, str], body: str) -> None:
            payload = body.encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the handlers already log each request as JSON

    return RequestHandler


def _bad_request(message: str) -> dict[str, str]:
    return {"error": "bad_request", "message": message}  # the handlers' own 400s look the same


def use_emulator_clients() -> None:
    """Give every boto3 client made from now on the EMULATOR_CLIENTS settings."""
    import boto3

    boto3.setup_default_session(botocore_session=emulator_session())


def emulator_session():
    """A botocore session whose clients give up on the emulator within seconds."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    session.set_default_client_config(Config(**EMULATOR_CLIENTS))
    return session


def check_ports(ports: dict[int, str], other_port: int) -> None:
    """Exit at once when a port is taken; moto's server would only print so from its thread and
    leave `make dev` waiting for it. ``ports``: port -> what it is for."""
    for port, role in ports.items():
        with socket.socket() as probe:
            # As the servers bind: a closed connection's TIME_WAIT is no obstacle, a listener is.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise port_unusable(port, role, error, other_port) from None


def port_unusable(port: int, role: str, error: OSError, other_port: int) -> SystemExit:
    """The one line `make dev` exits with when it cannot listen on ``port``."""
    if error.errno == errno.EADDRINUSE:
        problem = "is in use: stop what holds it or pick other ports"
    else:
        problem = f"cannot be used ({error.strerror}): pick other ports"
    return SystemExit(f"Port {port} ({role}) {problem}: make dev PORT={other_port}")


def start_emulator(port: int):
    """Start moto's server on loopback and create the resources the IaC declares."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # keep stdout for the handlers' JSON logs
    emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    emulator.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(env.environment(endpoint))
    env.create_resources(endpoint)
    return emulator, endpoint


def start_database():
    """Service postgres: a real PostgreSQL where local/env.py points DATABASE_URL, migrated by the
    migrate job as a deployed stage is."""
    from local.postgres_server import MissingServerError, PostgresServer
    from local.routes import ADMIN_JOBS

    try:
        database = PostgresServer(urlsplit(os.environ[env.DATABASE]).port).start()
    except MissingServerError as error:
        raise SystemExit(f"`make dev` needs PostgreSQL: {error}.") from None
    module, _, attribute = ADMIN_JOBS["migrate"][0].rpartition(".")
    getattr(importlib.import_module(module), attribute)({}, context_for("admin-migrate"))
    return database


def start_cache():
    """Service redis: a real Redis on a free loopback port; CACHE_URL points the handlers at it."""
    from local.redis_server import RedisServer, RedisServerNotFound

    try:
        cache = RedisServer().start()
    except RedisServerNotFound as error:
        raise SystemExit(f"`make dev` needs Redis: {error}.") from None
    os.environ[env.CACHE] = cache.url
    return cache


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("LOCAL_AWS_PORT", "0")) or None)
    args = parser.parse_args(argv)
    aws_port = args.aws_port or args.port + 1
    other_port = args.port + 1000 if args.port < 64000 else 3000  # a suggestion for the messages below
    ports = {
        args.port: "the HTTP API, PORT",
        aws_port: "the AWS emulator, " + ("--aws-port" if args.aws_port else "PORT+1"),
    }
    if env.DATABASE:  # local/env.py puts it on the port after the emulator's
        ports[aws_port + 1] = "PostgreSQL, " + ("--aws-port+1" if args.aws_port else "PORT+2")
    check_ports(ports, other_port)
    use_emulator_clients()
    # A line as soon as it is written, as Lambda ships it, even through a pipe: the handlers' metrics
    # (EMF documents, see observability.py) are printed, and nothing else would flush them.
    sys.stdout = WholeLines(sys.stdout)
    # Ctrl+C and `kill` (SIGTERM) both stop it, and the servers it started stop with it (the `finally`
    # below; their own exit hooks during start-up). SIGINT is set too: a parent without job control
    # (a CI runner's background step) may have started us with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    emulator, endpoint = start_emulator(aws_port)
    database = start_database() if env.DATABASE else None
    cache = start_cache() if env.CACHE else None
    authorize = None
    if PROTECTED_ROUTES:  # service cognito: tokens from the local user pool (`make token`)
        from local.auth import local_authorizer

        authorize = local_authorizer(endpoint)
    try:  # still free? checked above, but something may have taken it since
        server = LocalHTTPServer(("127.0.0.1", args.port), make_handler(Router(ROUTES, PROTECTED_ROUTES), authorize))
    except OSError as error:
        raise port_unusable(args.port, ports[args.port], error, other_port) from None
    workers = [QueueWorker(queue, target, batch_size) for queue, target, batch_size in CONSUMERS]
    workers += [EventWorker(queue, target) for queue, target in SUBSCRIBERS]
    if env.TOPIC:
        workers.append(TopicRelay(env.TOPIC_RULE, env.TOPIC))
    for worker in workers:
        worker.start()
    print(
        json.dumps(
            {
                "message": "Local API ready",
                "url": f"http://127.0.0.1:{args.port}",
                "aws_endpoint": endpoint,
                "routes": [f"{m} {p}" for m, p, _ in ROUTES],
                "queues": [queue for queue, _, _ in CONSUMERS],
                "subscribers": [target for _, target in SUBSCRIBERS],
                **({"cache_url": cache.url} if cache else {}),
                **({"database_url": database.url} if database else {}),
            }
        ),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # Ctrl+C reaches this process twice (from the terminal and forwarded by `uv run`):
        # the second one must not interrupt the stop halfway.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for worker in workers:
            worker.stopping.set()
        for worker in workers:
            worker.join(timeout=5)
        server.server_close()
        emulator.stop()
        if database:
            database.stop()
        if cache:
            cache.stop()


if __name__ == "__main__":
    main()
