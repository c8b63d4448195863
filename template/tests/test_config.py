"""Every stage's config file is complete and maps onto the stack's parameters."""

import json
from pathlib import Path

import pytest

from scripts import stage_params

ROOT = Path(__file__).resolve().parent.parent

CONFIGS = sorted((ROOT / "config").glob("*.json"))
RETENTION = {
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_maps_onto_template_parameters(path, sam_template):
    parameters = sam_template["Parameters"]
    overrides = stage_params.overrides(path.stem)
    assert set(overrides) == set(parameters)
    assert overrides["Stage"] == path.stem
    assert path.stem in parameters["Stage"]["AllowedValues"]
    config = json.loads(path.read_text())
    assert config["log_retention_days"] in RETENTION
    assert config["log_level"] in parameters["LogLevel"]["AllowedValues"]


def test_unknown_stage_is_a_clear_error():
    with pytest.raises(SystemExit, match="No config for stage 'nope'"):
        stage_params.overrides("nope")


def test_no_secret_values_in_config():
    for path in CONFIGS:
        keys = " ".join(json.loads(path.read_text())).lower()
        assert not any(word in keys for word in ("password", "secret", "token", "key"))
