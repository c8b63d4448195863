"""The Terraform configuration agrees with the stage configs, the state backends and the local routes.

These run without Terraform: `terraform fmt` (checked by `make validate`) keeps the .tf files in
one canonical layout, so the module inputs rendered from the service model read reliably.
"""

import json
import re
from pathlib import Path

import pytest

from local.routes import ADMIN_JOBS, ROUTES

INFRA = Path(__file__).resolve().parent.parent
CONFIGS = sorted((INFRA.parent / "config").glob("*.json"))
TYPES = {"string": str, "number": (int, float), "bool": bool}


@pytest.fixture(scope="module")
def source() -> str:
    """The root module: every .tf file of infra/ (not its modules/)."""
    return "\n".join(path.read_text() for path in sorted(INFRA.glob("*.tf")))


@pytest.fixture(scope="module")
def variables(source) -> dict[str, str]:
    """Root variable name -> the text of its block."""
    return dict(re.findall(r'^variable "(\w+)" \{\n(.*?)^\}', source, re.M | re.S))


def _attribute(body: str, name: str) -> str | None:
    """A string attribute written directly in ``body`` (indented objects inside it are skipped)."""
    own = re.sub(r"^( +)\w+\s*=\s*[{\[]\n.*?^\1[}\]]\n", "", body, flags=re.M | re.S)
    match = re.search(rf'^\s*{name}\s*=\s*"([^"]*)"', own, re.M)
    return match[1] if match else None


def _objects(source: str) -> dict[str, str]:
    """Each `key = {` object written over several lines (nested ones too) -> its body."""
    objects = {}
    for opener in re.finditer(r"^( +)(\w+)\s*=\s*\{\n", source, re.M):
        closer = re.compile(rf"^{opener[1]}\}}$", re.M).search(source, opener.end())  # fmt aligns it
        objects[opener[2]] = source[opener.end() : closer.start()]
    return objects


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_key_is_a_declared_variable(path, variables):
    config = json.loads(path.read_text())
    assert config["stage"] == path.stem
    assert set(config) == set(variables), "-var-file=../config/<stage>.json must set every variable"
    for key, value in config.items():
        declared = re.search(r"^\s*type\s*=\s*(\w+)", variables[key], re.M)[1]
        assert isinstance(value, TYPES[declared]), f"{path.name}: {key} is not a {declared}"
        assert declared == "bool" or not isinstance(value, bool), f"{path.name}: {key} is not a {declared}"
        # The validations that list their allowed values accept this stage's value.
        allowed = re.search(rf"contains\((\[.*?\]), var\.{key}\)", variables[key])
        if allowed:
            assert value in json.loads(allowed[1]), f"{path.name}: {key}={value!r} is refused by infra/variables.tf"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_stage_has_its_own_state(path):
    backend = INFRA / "backends" / f"{path.stem}.s3.tfbackend"
    assert backend.is_file(), f"{backend} is missing: `make deploy STAGE={path.stem}` needs it"
    lines = re.findall(r"^(\w+)\s*=\s*(.+)$", backend.read_text(), re.M)
    settings = {key: json.loads(value) for key, value in lines}
    assert settings["bucket"].endswith(f"-{path.stem}-tfstate")
    assert path.stem in settings["key"]
    assert settings["use_lockfile"] is True and settings["encrypt"] is True


def test_backends_are_the_stages():
    assert {p.name.removesuffix(".s3.tfbackend") for p in (INFRA / "backends").glob("*.s3.tfbackend")} == {
        p.stem for p in CONFIGS
    }


def test_routes_match_the_local_routes(source):
    declared = set()
    for body in _objects(source).values():
        route, handler = _attribute(body, "route"), _attribute(body, "handler")
        if route and handler:
            method, path = route.split(" ", 1)
            declared.add((method, path, handler))
    assert declared == set(ROUTES)


def test_admin_jobs_match_the_local_jobs(source):
    declared = {
        key: (_attribute(body, "handler"), _attribute(body, "suffix"))
        for key, body in _objects(source).items()
        if _attribute(body, "handler") and not _attribute(body, "route")
    }
    assert declared == ADMIN_JOBS
