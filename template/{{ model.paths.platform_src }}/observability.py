"""Structured JSON logs on stdout (factor 11), one logger per process.

Powertools Logger reads POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL from the
environment, writes one JSON object per line and carries the correlation id into
every line once it is set. The Lambda service ships stdout to CloudWatch Logs.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger()
