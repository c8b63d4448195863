"""Print one stage's config/<stage>.json as CloudFormation parameter overrides.

python infra/stage_params.py dev  ->  Stage=dev LogLevel=INFO ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "config"

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
}


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
    return {
        PARAMETERS[key]: str(value).lower() if isinstance(value, bool) else str(value) for key, value in config.items()
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: stage_params.py STAGE")
    print(" ".join(f"{name}={value}" for name, value in overrides(sys.argv[1]).items()))
