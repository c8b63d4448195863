"""Every stage's config file is complete, valid, and holds no secret; bad values are refused."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.domains()  # files only: no domain's resources in the emulator

CONFIGS = sorted((ROOT / "config").glob("*.json"))
_spec = importlib.util.spec_from_file_location("check_config", ROOT / "scripts" / "check_config.py")
check_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_config)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_is_complete_and_valid(path):
    assert check_config.problems(path) == []


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("release", "BlueGreen", 'one of "AllAtOnce"'),
        ("reserved_concurrency", 0, "null (not reserved)"),
        ("provisioned_concurrency", -1, "a whole number from 0"),
        ("alarm_function_errors", "many", "a number from 1"),
        ("alarm_api_5xx_rate", 5, "a number from 0.001 to 1"),
        ("alarm_email", "ops-at-example.com", "an e-mail address"),
        ("queue_max_concurrency", 1, "a whole number from 2 to 1000"),
        ("tracing", "yes", "true or false"),
        ("budget_monthly_usd", None, "a number from 1"),
    ],
)
def test_a_bad_value_names_the_file_the_key_and_what_is_allowed(tmp_path, key, value, allowed):
    config = json.loads(CONFIGS[0].read_text())
    config[key] = value
    path = tmp_path / CONFIGS[0].name
    path.write_text(json.dumps(config))
    [problem] = check_config.problems(path)
    assert problem.startswith(f"{path}: {key} is {json.dumps(value)}; allowed: ")
    assert allowed in problem


def test_unknown_and_missing_keys_are_named(tmp_path):
    config = json.loads(CONFIGS[0].read_text())
    config["alarm_emial"] = config.pop("alarm_email")
    path = tmp_path / CONFIGS[0].name
    path.write_text(json.dumps(config))
    assert check_config.problems(path) == [
        f"{path}: alarm_email is missing; add it (see config/README.md).",
        f"{path}: alarm_emial is not a setting; remove it (see config/README.md).",
    ]


def test_no_secret_values_in_config():
    for path in CONFIGS:
        keys = " ".join(json.loads(path.read_text())).lower()
        assert not any(word in keys for word in ("password", "secret", "token", "key"))
