"""The Terraform configuration agrees with the stage configs, the state backends and the local routes and queues.

These run without Terraform: `terraform fmt` (checked by `make validate`) keeps the .tf files in
one canonical layout, so the module inputs rendered from the service model read reliably.
"""

import json
import re
from pathlib import Path

import pytest

from local.routes import ADMIN_JOBS, CONSUMERS, ROUTES

INFRA = Path(__file__).resolve().parent.parent
CONFIGS = sorted((INFRA.parent / "config").glob("*.json"))
TYPES = {"string": str, "number": (int, float), "bool": bool}
# A consumer's `queue = { resource = "<key>", batch_size = <n> }`, as main.tf writes it.
CONSUMER_QUEUE = re.compile(r'^\s*queue\s*=\s*\{ resource = "(\w+)", batch_size = (\d+) \}$', re.M)


@pytest.fixture(scope="module")
def source() -> str:
    """The root module: every .tf file of infra/ (not its modules/)."""
    return "\n".join(path.read_text() for path in sorted(INFRA.glob("*.tf")))


@pytest.fixture(scope="module")
def variables(source) -> dict[str, str]:
    """Root variable name -> the text of its block."""
    return dict(re.findall(r'^variable "(\w+)" \{\n(.*?)^\}', source, re.M | re.S))


def _own(body: str) -> str:
    """``body`` without the objects and lists written over several lines inside it."""
    return re.sub(r"^( +)\w+\s*=\s*[{\[]\n.*?^\1[}\]]\n", "", body, flags=re.M | re.S)


def _attribute(body: str, name: str) -> str | None:
    """A string attribute written directly in ``body``."""
    match = re.search(rf'^\s*{name}\s*=\s*"([^"]*)"', _own(body), re.M)
    return match[1] if match else None


def _object_list(source: str) -> list[tuple[str, str]]:
    """Each `key = {` object written over several lines (nested ones too): (key, body)."""
    objects = []
    for opener in re.finditer(r"^( +)(\w+)\s*=\s*\{\n", source, re.M):
        closer = re.compile(rf"^{opener[1]}\}}$", re.M).search(source, opener.end())  # fmt aligns it
        objects.append((opener[2], source[opener.end() : closer.start()]))
    return objects


def _objects(source: str) -> dict[str, str]:
    """Each `key = {` object written over several lines -> its body (function keys are unique)."""
    return dict(_object_list(source))


def _number(body: str, name: str) -> int | None:
    """A whole-number attribute written directly in ``body``."""
    match = re.search(rf"^\s*{name}\s*=\s*(\d+)$", _own(body), re.M)
    return int(match[1]) if match else None


@pytest.fixture(scope="module")
def queues(source) -> dict[str, str]:
    """Queue key -> the body of its object (the domain modules' `queue` and `dead_letter` inputs)."""
    return {
        _attribute(body, "key"): body
        for name, body in _object_list(source)
        if name in ("queue", "dead_letter") and _attribute(body, "key")
    }


@pytest.fixture(scope="module")
def consumers(source) -> dict[str, tuple[str, str, int]]:
    """Function key -> (queue key, handler, batch size) of each function that reads a queue."""
    out = {}
    for key, body in _objects(source).items():
        reads = CONSUMER_QUEUE.search(body)
        if reads and _attribute(body, "handler"):
            out[key] = (reads[1], _attribute(body, "handler"), int(reads[2]))
    return out


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
        if _attribute(body, "handler") and not _attribute(body, "route") and not CONSUMER_QUEUE.search(body)
    }
    assert declared == ADMIN_JOBS


def test_consumers_match_the_local_consumers(source, queues, consumers):
    slug = re.search(r'^\s*service\s*=\s*"([^"]+)"', source, re.M)[1]  # providers.tf default tags
    declared = {
        (f"{slug}-local-{_attribute(queues[queue], 'name_suffix')}", handler, batch_size)
        for queue, handler, batch_size in consumers.values()
    }
    assert declared == set(CONSUMERS)


def test_consumed_queues_redrive_and_outlast_their_consumer(source, queues, consumers):
    for key, (queue, _, _) in consumers.items():
        body = _objects(source)[key]
        timeout = _number(body, "timeout")
        assert timeout, f"{key}: a consumer sets its own timeout"
        # AWS: at least six times the function's timeout, or a message being processed shows again.
        assert _number(queues[queue], "visibility_timeout") >= 6 * timeout, f"{queue}: visibility timeout too short"
        dead_letter = _objects(queues[queue]).get("dead_letter")
        assert dead_letter and _attribute(dead_letter, "key") in queues, f"{queue}: no dead-letter queue"
        assert _number(queues[queue], "max_receive_count") >= 1


def test_every_consumer_reports_its_failed_messages(source, consumers):
    domain = (INFRA / "modules" / "domain" / "main.tf").read_text()
    mapping = re.search(r'^resource "aws_lambda_event_source_mapping" "\w+" \{\n(.*?)^\}', domain, re.M | re.S)
    if consumers:
        assert mapping, "modules/domain has no event source mapping for its consumers"
    if mapping:
        # One mapping per function with a queue; partial batch responses: only failed messages are retried.
        assert re.search(r"^\s*for_each\s*=\s*local\.consumers$", mapping[1], re.M)
        selects = r"consumers\s*=\s*\{ for key, function in var\.functions : .* if function\.queue != null \}"
        assert re.search(selects, domain), "local.consumers must be the functions that read a queue"
        assert 'function_response_types = ["ReportBatchItemFailures"]' in mapping[1]
        assert re.search(r"^\s*batch_size\s*=\s*each\.value\.queue\.batch_size$", mapping[1], re.M)


def test_grants_and_variables_name_declared_resources(source):
    declared = set(re.findall(r'\bkey\s*=\s*"(\w+)"', source))  # the domains' tables and queues
    declared |= set(re.findall(r"^\s*(\w+)\s*=\s*\{ name = \S+, arn = \S+ \}$", source, re.M))  # shared ones
    used = set(re.findall(r'\{ resource = "(\w+)", actions = ', source))
    for name, body in _object_list(source):
        if name == "environment":
            used |= set(re.findall(r'^\s*[A-Z][A-Z0-9_]*\s*=\s*"(\w+)"$', body, re.M))
    assert used and used <= declared, f"not declared: {sorted(used - declared)}"
