"""Print one stage's config/<stage>.json as CloudFormation parameter overrides.

python infra/stage_params.py dev  ->  Stage=dev LogLevel=INFO ...

A parameter cannot be null: null becomes "" (the template's Has... conditions test for it), a
boolean "true" or "false". ReleaseDigest is not a setting: see release_digest.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
BUILD = ROOT / "build"

# config key -> stack parameter
PARAMETERS = {
    "stage": "Stage",
    "log_level": "LogLevel",
    "log_retention_days": "LogRetentionDays",
    "memory_size": "MemorySize",
    "function_timeout": "FunctionTimeout",
    "tracing": "TracingEnabled",
    "throttle_rate_limit": "ThrottleRateLimit",
    "throttle_burst_limit": "ThrottleBurstLimit",
    "api_route_metrics": "ApiRouteMetrics",
    "release": "Release",
    "alarm_email": "AlarmEmail",
    "alarm_function_errors": "AlarmFunctionErrors",
    "alarm_function_throttles": "AlarmFunctionThrottles",
    "alarm_duration_percent": "AlarmDurationPercent",
    "alarm_dead_letter_messages": "AlarmDeadLetterMessages",
    "alarm_queue_age_seconds": "AlarmQueueAgeSeconds",
    "alarm_api_5xx_rate": "AlarmApi5xxRate",
    "alarm_api_latency_ms": "AlarmApiLatencyMs",
    "alarm_table_throttles": "AlarmTableThrottles",
    "reserved_concurrency": "ReservedConcurrency",
    "provisioned_concurrency": "ProvisionedConcurrency",
    "queue_max_concurrency": "QueueMaxConcurrency",
    "budget_monthly_usd": "BudgetMonthlyUsd",
    "budget_alert_percent": "BudgetAlertPercent",
    "budget_forecast_percent": "BudgetForecastPercent",
}


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def release_digest(config: Path) -> str:
    """A hash of what the functions run: the stage's config and the zips in build/.

    Each function publishes a version, which the live alias then moves to, when it changes
    (AutoPublishCodeSha256). SAM's own hash reads the template, not the parameters' values, so
    without it a new memory size or log level would never reach the alias.
    """
    digest = hashlib.sha256(config.read_bytes())
    for path in sorted(BUILD.glob("functions/*.zip")) + sorted(BUILD.glob("layer.zip")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def overrides(stage: str) -> dict[str, str]:
    path = CONFIG / f"{stage}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG.glob("*.json")))
        raise SystemExit(f"No config for stage '{stage}' ({path}); known stages: {known}.")
    config = json.loads(path.read_text())
    unknown = sorted(set(config) - set(PARAMETERS))
    missing = sorted(set(PARAMETERS) - set(config))
    if unknown or missing:
        raise SystemExit(f"{path}: unknown keys {unknown}, missing keys {missing}.")
    parameters = {PARAMETERS[key]: _value(value) for key, value in config.items()}
    return {**parameters, "ReleaseDigest": release_digest(path)}


def command_line(stage: str) -> str:
    """What `sam deploy --parameter-overrides` takes. It refuses `Name=` and reads `Name=""` as empty."""
    pairs = overrides(stage).items()
    return " ".join(f"{name}={value}" if value else f'{name}=""' for name, value in pairs)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: stage_params.py STAGE")
    print(command_line(sys.argv[1]))
