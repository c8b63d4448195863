"""release.py, which `make deploy` runs after the apply, against stand-ins for Lambda and CodeDeploy."""

import importlib.util
import json
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("release", Path(__file__).resolve().parent.parent / "release.py")
release = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(release)

RELEASES = {
    "application": "svc-dev",
    "functions": {
        "svc-dev-orders-create": {"group": "svc-dev-orders-create", "alias": "live", "version": "3"},
        "svc-dev-orders-get": {"group": "svc-dev-orders-get", "alias": "live", "version": "2"},
    },
}


class Lambda:
    def __init__(self, aliases: dict[str, str]):
        self.aliases = aliases

    def get_alias(self, FunctionName: str, Name: str) -> dict:
        assert Name == "live"
        return {"FunctionVersion": self.aliases[FunctionName]}


class CodeDeploy:
    def __init__(self, statuses: dict[str, list[str]] | None = None):
        self.created: list[dict] = []
        self.statuses = statuses or {}  # function name -> statuses it reports, one per poll

    def create_deployment(self, **request) -> dict:
        self.created.append(request)
        return {"deploymentId": f"d-{request['deploymentGroupName']}"}

    def get_deployment(self, deploymentId: str) -> dict:
        statuses = self.statuses[deploymentId.removeprefix("d-")]
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        info = {"status": status}
        if status != "Succeeded":
            info["errorInformation"] = {"message": "alarm svc-dev-orders-create-errors fired"}
        return {"deploymentInfo": info}


def test_only_aliases_behind_the_published_version_are_released():
    codedeploy = CodeDeploy()
    started = release.start(RELEASES, Lambda({"svc-dev-orders-create": "2", "svc-dev-orders-get": "2"}), codedeploy)
    assert started == {"svc-dev-orders-create": "d-svc-dev-orders-create"}
    [request] = codedeploy.created
    assert request["applicationName"] == "svc-dev" and request["deploymentGroupName"] == "svc-dev-orders-create"
    appspec = json.loads(request["revision"]["appSpecContent"]["content"])
    [resource] = appspec["Resources"]
    assert resource["svc-dev-orders-create"] == {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Name": "svc-dev-orders-create", "Alias": "live", "CurrentVersion": "2", "TargetVersion": "3"},
    }


@pytest.mark.parametrize(
    ("current", "target", "expected"), [("2", "3", True), ("3", "3", False), ("4", "3", False), ("9", "10", True)]
)
def test_behind_compares_versions_as_numbers(current, target, expected):
    assert release.behind(current, target) is expected


def test_a_release_that_rolls_back_fails_naming_the_function():
    codedeploy = CodeDeploy({"svc-dev-orders-create": ["InProgress", "Stopped"], "svc-dev-orders-get": ["Succeeded"]})
    started = {"svc-dev-orders-create": "d-svc-dev-orders-create", "svc-dev-orders-get": "d-svc-dev-orders-get"}
    failed = release.wait(started, codedeploy, poll=0)
    assert len(failed) == 1
    assert failed[0].startswith("svc-dev-orders-create: release stopped and rolled back")
    assert "errors fired" in failed[0]


def test_every_release_succeeding_passes():
    codedeploy = CodeDeploy({"svc-dev-orders-create": ["Created", "InProgress", "Succeeded"]})
    assert release.wait({"svc-dev-orders-create": "d-svc-dev-orders-create"}, codedeploy, poll=0) == []


def test_a_release_still_running_at_the_deadline_fails():
    codedeploy = CodeDeploy({"svc-dev-orders-create": ["InProgress"]})
    failed = release.wait({"svc-dev-orders-create": "d-svc-dev-orders-create"}, codedeploy, poll=0, timeout=0)
    assert failed and "still running" in failed[0]
