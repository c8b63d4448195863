"""Structured JSON logs and metrics on stdout (factor 11), one logger and one metrics set per process.

Powertools Logger reads POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL from the
environment, writes one JSON object per line and carries the correlation id into
every line once it is set. The Lambda service ships stdout to CloudWatch Logs.

Powertools Metrics writes CloudWatch's embedded metric format (EMF): one JSON document
per invocation that CloudWatch Logs turns into metrics, so no function needs
cloudwatch:PutMetricData. Every metric is in the service's namespace, with the
dimensions service and stage.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .settings import load_settings

Handler = Callable[[Any, Any], Any]  # (event, context) -> result

logger = Logger()

_settings = load_settings()
metrics = Metrics(namespace=_settings.service)  # one namespace per service: its name
metrics.set_default_dimensions(stage=_settings.stage)

# Reads and jobs count nothing of their own: flushing no metric is expected, not worth a warning.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


def instrumented(handler: Handler) -> Handler:
    """Every function's entry point: the Lambda context on its log lines, its metrics flushed when
    it returns or fails, and a ColdStart count on the first call of a new execution environment."""
    logged = logger.inject_lambda_context(handler, clear_state=True)
    return metrics.log_metrics(logged, capture_cold_start_metric=True)


def count(metric: str) -> None:
    """One more business event (e.g. OrderCreated), flushed with the invocation's metrics."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
