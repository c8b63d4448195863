"""`make dev`: the HTTP API on 127.0.0.1:$PORT, backed by an embedded AWS emulator.

Requests are turned into API Gateway HTTP API (payload v2) events and passed to
the real handlers in this process; boto3 talks to a moto server on another
loopback port. Queue consumers get their messages the way Lambda's event source
mapping delivers them: in batches, with failed messages left for a retry. Nothing
leaves the machine, and Ctrl+C stops everything.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local import env
from local.context import context_for
from local.routes import CONSUMERS, ROUTES

Handler = Callable[[dict, Any], dict]


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


class Router:
    def __init__(self, routes: list[tuple[str, str, str]]) -> None:
        self._routes = [(method, _pattern(path), path, target) for method, path, target in routes]
        self._handlers: dict[str, Handler] = {}

    def resolve(self, method: str, path: str) -> tuple[Handler, str, dict[str, str]] | None:
        for route_method, pattern, template, target in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                return self._load(target), f"{method} {template}", match.groupdict()
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
) -> dict[str, Any]:
    request_id = uuid.uuid4().hex
    return {
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


def queue_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event as Lambda delivers it, from ReceiveMessage results."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
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
        import boto3

        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        module, _, attribute = self.target.rpartition(".")
        handler = getattr(importlib.import_module(module), attribute)
        while not self.stopping.is_set():
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=1, AttributeNames=["All"]
            )
            messages = received.get("Messages", [])
            if not messages:
                continue
            result = handler(queue_event(messages, arn), context_for(self.target)) or {}
            failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
            done = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)
                if m["MessageId"] not in failed
            ]
            if done:
                sqs.delete_message_batch(QueueUrl=url, Entries=done)


def make_handler(router: Router) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            resolved = router.resolve(self.command, url.path)
            if resolved is None:
                self._send(
                    404,
                    {"content-type": "application/json"},
                    json.dumps(
                        {
                            "error": "not_found",
                            "message": f"No route for {self.command} {url.path}.",
                        }
                    ),
                )
                return
            handler, route_key, params = resolved
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            event = build_event(self.command, url.path, url.query, dict(self.headers), body, route_key, params)
            result = handler(event, context_for(route_key))
            self._send(result["statusCode"], result.get("headers", {}), result.get("body") or "")

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("LOCAL_AWS_PORT", "0")) or None)
    args = parser.parse_args(argv)
    aws_port = args.aws_port or args.port + 1
    emulator, endpoint = start_emulator(aws_port)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Router(ROUTES)))
    workers = [QueueWorker(queue, target, batch_size) for queue, target, batch_size in CONSUMERS]
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
            }
        ),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers:
            worker.stopping.set()
        for worker in workers:
            worker.join(timeout=5)
        server.server_close()
        emulator.stop()


if __name__ == "__main__":
    main()
