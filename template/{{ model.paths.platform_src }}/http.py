"""Plumbing between API Gateway HTTP API (payload v2) events and service calls.

Handlers stay thin: they read the request, call the service and return
``(status, body)``; this module parses and validates JSON, maps service errors to
status codes, sets the correlation id on every log line of the request (and so on the
jobs and events it causes) and echoes it back, and flushes the request's metrics
(observability.py).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import wraps
from typing import Any

from .errors import ConflictError, NotFoundError, ValidationError
from .observability import correlate, instrumented, logger
from .validation import Invalid, validator

CORRELATION_HEADER = "x-correlation-id"
# A caller's correlation id is logged and echoed back: accept only a short, plain token.
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
Result = tuple[int, Any]
# DynamoDB's limit on nested documents; the C parser itself gives up near Python's recursion limit.
MAX_DEPTH = 32
# json.loads joins escaped surrogate pairs into one character, so any surrogate left is unpaired.
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadRequest(Exception):
    """The request itself is malformed (HTTP 400)."""


class Request:
    """One HTTP API request. A plain class, as the platform's others on a cold start's path: a
    dataclass is made by generating and compiling its methods, about 0.5 ms each on import."""

    __slots__ = ("event",)

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event

    @property
    def method(self) -> str:
        return self.event.get("requestContext", {}).get("http", {}).get("method", "")

    @property
    def path(self) -> str:
        return self.event.get("rawPath", "")

    def path_param(self, name: str) -> str:
        value = (self.event.get("pathParameters") or {}).get(name)
        if not value:
            raise BadRequest(f"Path parameter '{name}' is missing.")
        return value

    def query(self, name: str, default: str | None = None) -> str | None:
        return (self.event.get("queryStringParameters") or {}).get(name, default)

    def json(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """The body as JSON, checked against a JSON Schema from the domain's contract."""
        raw = self.event.get("body") or ""
        try:
            if self.event.get("isBase64Encoded"):
                raw = base64.b64decode(raw, validate=True).decode("utf-8")
            data = json.loads(raw)
        except ValueError:  # also binascii.Error and UnicodeDecodeError
            raise BadRequest("The request body is not valid JSON.") from None
        except RecursionError:  # nesting deep enough to exhaust the parser's stack
            raise BadRequest(f"The request body is nested deeper than {MAX_DEPTH} levels.") from None
        _check_tree(data)
        try:
            return validator(schema)(data)  # shipped with the build, or made on first use
        except Invalid as error:
            raise BadRequest(error.message.replace("data", "body", 1)) from None


def _check_tree(data: Any) -> None:
    """Refuse what JSON parses but nothing downstream can store or encode: nesting past DynamoDB's
    limit (deeper still, recursive code such as boto3's serialiser overflows the stack) and lone
    UTF-16 surrogates ("\\ud800"), which no UTF-8 encoder accepts."""
    stack = [(data, 1)]
    while stack:  # a loop, not recursion: the depth is what is being checked
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise BadRequest("The request body holds an unpaired UTF-16 surrogate (\\ud800-\\udfff).")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise BadRequest(f"The request body is nested deeper than {MAX_DEPTH} levels.")
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def response(status: int, body: Any, correlation_id: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", CORRELATION_HEADER: correlation_id},
        "body": "" if body is None else json.dumps(body, default=_default),
    }


def _error(status: int, code: str, message: str) -> Result:
    return status, {"error": code, "message": message}


def api_handler(func: Callable[[Request], Result]) -> Callable[[dict, Any], dict]:
    """Wrap ``func(request) -> (status, body)`` as a Lambda handler for an HTTP API route."""

    @wraps(func)
    @instrumented
    def handler(event: dict, context: Any) -> dict:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        request_id = event.get("requestContext", {}).get("requestId") or uuid.uuid4().hex
        given = headers.get(CORRELATION_HEADER, "")
        correlation_id = given if _CORRELATION_ID.match(given) else request_id
        correlate(correlation_id, request_id=request_id)  # the request id joins the API access log
        request = Request(event)
        try:
            status, body = func(request)
        except (BadRequest, ValidationError) as error:
            status, body = _error(400, "bad_request", str(error))
        except NotFoundError as error:
            status, body = _error(404, "not_found", str(error))
        except ConflictError as error:
            status, body = _error(409, "conflict", str(error))
        except Exception:  # the one place that turns surprises into a 500
            logger.exception("Unhandled error")
            status, body = _error(500, "internal_error", "Internal server error.")
        logger.info("Request handled", method=request.method, path=request.path, status=status)
        return response(status, body, correlation_id)

    return handler
