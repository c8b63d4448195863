"""Structured JSON logs and metrics on stdout (factor 11), one logger and one metrics set per process.

Powertools Logger reads POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL from the
environment, writes one JSON object per line and carries the correlation id into
every line once it is set. The Lambda service ships stdout to CloudWatch Logs.

The correlation id follows a request into the jobs and events it causes: queues.py sends it
as the message attribute ``correlation_id``, events.py in each detail's ``metadata``, and their
consumers and subscribers set it again before they log.

Powertools Metrics writes CloudWatch's embedded metric format (EMF): one JSON document
per invocation that CloudWatch Logs turns into metrics, so no function needs
cloudwatch:PutMetricData. Every metric is in the service's namespace, with the
dimensions service and stage.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .settings import load_settings

Handler = Callable[[Any, Any], Any]  # (event, context) -> result

logger = Logger()
# The log key, the SQS message attribute and the event metadata field that carry the id.
CORRELATION_ID = "correlation_id"

_settings = load_settings()
metrics = Metrics(namespace=_settings.service)  # one namespace per service: its name
metrics.set_default_dimensions(stage=_settings.stage)

_warm = False  # set by the first invocation this process serves

# Reads and jobs count nothing of their own: flushing no metric is expected, not worth a warning.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


def instrumented(handler: Handler) -> Handler:
    """Every function's entry point: the Lambda context on its log lines, its metrics flushed when
    it returns or fails, and a ColdStart count on the first call of a new execution environment."""

    @wraps(handler)
    def logged(event: Any, context: Any) -> Any:
        global _warm
        cold_start, _warm = not _warm, True
        # Context-local keys, as correlate's, in place of inject_lambda_context's shared ones: `make dev`
        # runs invocations on threads of one process, and each must log its own function and request.
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(
            cold_start=cold_start,
            function_name=context.function_name,
            function_memory_size=context.memory_limit_in_mb,
            function_arn=context.invoked_function_arn,
            function_request_id=context.aws_request_id,
        )
        return handler(event, context)

    return metrics.log_metrics(logged, capture_cold_start_metric=True)


def count(metric: str) -> None:
    """One more business event (e.g. OrderCreated), flushed with the invocation's metrics."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


def correlate(correlation_id: str, **keys: str) -> None:
    """Put the id (and ``keys``) on this invocation's log lines from here on. Context-local keys
    (contextvars), not the logger's shared ones: `make dev` runs invocations on threads of one
    process, where a shared key would land on another request's lines."""
    logger.thread_safe_append_keys(**{CORRELATION_ID: correlation_id}, **keys)


def correlation_id() -> str | None:
    """The id ``correlate`` set in this invocation, to pass on to the jobs and events it causes."""
    return logger.thread_safe_get_current_keys().get(CORRELATION_ID)
