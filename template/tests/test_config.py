"""Every stage's config file is complete, valid, and holds no secret."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.domains()  # files only: no domain's resources in the emulator

CONFIGS = sorted((ROOT / "config").glob("*.json"))
# What every stage sets; infra/ maps each key onto the IaC tool's own inputs.
KEYS = {
    "stage",
    "log_level",
    "log_retention_days",
    "memory_size",
    "function_timeout",
    "tracing",
    "throttle_rate_limit",
    "throttle_burst_limit",
}
# The values CloudWatch Logs accepts for a log group's retention.
RETENTION = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_is_complete_and_valid(path):
    config = json.loads(path.read_text())
    assert set(config) == KEYS
    assert config["stage"] == path.stem
    assert config["log_level"] in {"DEBUG", "INFO", "WARNING", "ERROR"}
    assert config["log_retention_days"] in RETENTION
    assert 128 <= config["memory_size"] <= 10240
    assert 1 <= config["function_timeout"] <= 29  # API Gateway gives up after 30 s
    assert isinstance(config["tracing"], bool)
    assert 0 < config["throttle_rate_limit"] <= config["throttle_burst_limit"]


def test_no_secret_values_in_config():
    for path in CONFIGS:
        keys = " ".join(json.loads(path.read_text())).lower()
        assert not any(word in keys for word in ("password", "secret", "token", "key"))
