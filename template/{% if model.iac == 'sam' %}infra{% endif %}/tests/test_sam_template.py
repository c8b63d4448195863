"""The SAM template agrees with the stage configs and with the published contract."""

import json
from pathlib import Path

import pytest
import yaml

from infra import stage_params

from local.routes import ROUTES

INFRA = Path(__file__).resolve().parent.parent
CONFIGS = sorted((INFRA.parent / "config").glob("*.json"))


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, keeping short-form functions such as !Ref as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load((INFRA / "template.yaml").read_text(), Loader=_CloudFormationLoader)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_maps_onto_template_parameters(path, template):
    parameters = template["Parameters"]
    overrides = stage_params.overrides(path.stem)
    assert set(overrides) == set(parameters)
    assert overrides["Stage"] == path.stem
    assert path.stem in parameters["Stage"]["AllowedValues"]
    config = json.loads(path.read_text())
    assert config["log_level"] in parameters["LogLevel"]["AllowedValues"]
    assert config["log_retention_days"] in parameters["LogRetentionDays"]["AllowedValues"]


def test_unknown_stage_is_a_clear_error():
    with pytest.raises(SystemExit, match="No config for stage 'nope'"):
        stage_params.overrides("nope")


def test_routes_match_the_local_routes(template):
    declared = {
        (event["Properties"]["Method"], event["Properties"]["Path"])
        for resource in template["Resources"].values()
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }
    assert declared == {(method, path) for method, path, _ in ROUTES}
