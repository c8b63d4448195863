"""Bad answers are refused with a message that names the problem and the fix, and nothing is written."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from copier import run_copy
from copier.errors import UserMessageError

import naming
from conftest import ROOT

BAD_ANSWERS = [
    ({"project_slug": "1service"}, "starts with a digit: start it with a letter"),
    ({"project_slug": "OrderService"}, "has capital letters: use lower case, e.g. 'order-service'"),
    ({"project_slug": "order service"}, "has spaces: join words with '-', e.g. 'order-service'"),
    ({"project_slug": "order_service!"}, "has punctuation: use lower-case letters and digits"),
    ({"project_slug": "order--service"}, "has punctuation"),
    ({"project_slug": "ab"}, "is too short: use 3 to 32 characters"),
    ({"project_slug": "a" * 33}, "is 33 characters long: use at most 32"),
    ({"project_slug": "class"}, "is a Python keyword: pick another name"),
    ({"project_slug": "json"}, "is a Python standard library module"),
    ({"project_slug": "boto3"}, "is the name of a package the rendered project depends on"),
    ({"project_slug": "pytest"}, "is the name of a package the rendered project depends on"),
    ({"project_slug": "moto"}, "is the name of a package the rendered project depends on"),
    ({"project_slug": "ruff"}, "is the name of a package the rendered project depends on"),
    ({"project_slug": "serverless"}, "is the name of a package the rendered project depends on"),
    ({"project_slug": "yaml"}, "would make a Python package 'yaml' that shadows the library"),
    (
        {"project_slug": "test", "layout": "single"},
        "would make a Python package 'test' that shadows Python's own regression-test package 'test'",
    ),
    ({"project_slug": "tests"}, "would make a Python package 'tests' that shadows the project's own 'tests'"),
    ({"project_slug": "admin-jobs"}, "shadows the template's own folder or package 'admin_jobs'"),
    ({"project_name": "   "}, "The project name is empty"),
    (
        {"domains": ["orders", "orders"]},
        "The domain 'orders' is listed twice: each domain must be unique, e.g. [orders].",
    ),
    ({"domains": []}, "The domain list is empty: give at least one domain"),
    ({"domains": ["Orders"]}, "The domain name 'Orders' is not valid: use lower-case letters"),
    ({"domains": ["platform"]}, "collides with a folder or package the template owns"),
    ({"domains": ["admin"]}, "collides with a folder or package the template owns"),
    ({"domains": ["infra"]}, "collides with a folder or package the template owns"),
    ({"domains": ["tests"]}, "collides with a folder or package the template owns"),
    ({"domains": ["json"]}, "would shadow the Python module 'json'"),
    ({"domains": ["idempotency"]}, "is taken by a resource the domains share"),
    ({"domains": ["import"]}, "is a Python keyword"),
    ({"domains": "orders"}, "'orders' is text, not a list: give a YAML list, e.g. [orders]."),
    (
        {"domains": {"orders": None}},
        "{'orders': None} is a mapping, not a list: give a YAML list, e.g. [orders].",
    ),
    ({"domains": ["yaml"]}, "would shadow the Python module 'yaml'"),
    ({"domains": ["test"]}, "would shadow the Python module 'test'"),
    ({"project_slug": "cfn", "domains": ["lint"]}, "makes the package 'cfn-lint'"),
    ({"stages": []}, "The stage list is empty: give at least one stage"),
    ({"stages": ["dev", "config"]}, "The stage name 'config' collides with a folder"),
    ({"stages": ["dev", "local"]}, "reserved for `make dev`"),
    ({"stages": ["dev", "dev"]}, "The stage 'dev' is listed twice"),
    ({"stages": ["qa_1"]}, "has '_': AWS stack names allow only letters, digits and '-'"),
    (
        {"project_slug": "a" * 32, "stages": ["dev", "preproductionfrankfurt"]},
        "is 55 characters; it prefixes every Lambda function name, which AWS limits to 64, so it may be "
        "at most 50: shorten the stage name or the project slug, e.g. the stage 'preproductionfran'.",
    ),
    (
        {"project_slug": "a" * 32, "stages": ["dev", "preprodeu"], "services": ["dynamodb", "s3"]},
        "'" + "a" * 32 + "-preprodeu' is 42 characters; with s3 it starts every bucket name",
    ),
    (
        {"project_slug": "a" * 28, "stages": ["dev", "staging"], "services": ["dynamodb", "redis"]},
        "'"
        + "a" * 28
        + "-staging' is 36 characters; with redis it starts the cache's name, which ElastiCache "
        "limits to 40, so it may be at most 34",
    ),
    ({"services": ["sqs"]}, "Select dynamodb: every domain keeps its records in its own DynamoDB table"),
    ({"services": []}, "Select dynamodb"),
    (
        {"services": ["dynamodb", "kafka"]},
        "'kafka' is not one of the choices: give a YAML list of some of dynamodb",
    ),
    ({"services": "sqs"}, "'sqs' is text, not a list: give a YAML list of some of dynamodb, sqs"),
    ({"tracing": "maybe"}, "'maybe' is text, not a boolean: answer true or false (yes/no), e.g. true."),
    ({"tracing": 2}, "2 is a number, not a boolean"),
    ({"tracing": []}, "[] is a list, not a boolean"),
    (
        {"stages": ["prod", "dev"]},
        "'production_stage': 'prod' is production but is not the last stage: stages are in promotion "
        "order and production comes last: reorder, e.g. stages=[dev, prod].",
    ),
    ({"stages": ["dev", "prod"], "production_stage": "dev"}, "reorder, e.g. stages=[prod, dev]"),
    ({"production_stage": "qa"}, "'qa' is not one of the stages ['dev', 'staging', 'prod']"),
    (
        {"public_routes": ["GET /orders"]},
        "Public routes only mean something with cognito: select cognito, or leave public_routes empty, "
        "e.g. services=[dynamodb, cognito].",
    ),
    (
        {"services": ["dynamodb", "cognito"], "public_routes": ["GET /order"]},
        "No such route: GET /order. Public routes are written as one of: POST /orders, GET /orders/{id}",
    ),
    (
        {"services": ["dynamodb", "cognito"], "public_routes": "GET /orders"},
        "'GET /orders' is text, not a list: give a YAML list, e.g. [GET /orders].",
    ),
    (
        {"iac": "pulumi"},
        "'iac': 'pulumi' is not one of the choices: give one of sam, cdk, terraform, serverless, e.g. sam.",
    ),
    ({"aws_region": "mars-east-1"}, "'mars-east-1' is not an AWS region with Lambda, HTTP APIs, DynamoDB"),
    ({"aws_region": "US-EAST-1"}, "is not an AWS region"),
    (
        {"author_email": "not-an-email"},
        "'not-an-email' is not an email address: use the form name@example.com",
    ),
    (
        {"log_retention_days": {"dev": 7, "staging": 30, "prod": 366}},
        "Log retention 366 for stage 'prod' is not a CloudWatch value",
    ),
    (
        {"stages": ["dev", "prod"], "log_retention_days": {"dev": 7}},
        "Log retention has no value for stage 'prod'",
    ),
    (
        {"log_retention_days": {"dev": 7, "staging": 30, "prod": 365, "qa": 7}},
        "names 'qa', which is not one of the stages",
    ),
    (
        {"iac": "cdk", "domain_stacks": False, "domains": [f"d{i}" for i in range(15)]},
        "One stack for 15 domains with these services would hold about 1037 CloudFormation resources "
        "(a stack allows 500; 450 leaves room for your own). Answer domain_stacks=true",
    ),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The working tree as a plain folder: Copier renders it as it is, without a git clone per answer."""
    destination = tmp_path_factory.mktemp("template") / "template"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def refuse(template: Path, tmp_path: Path, answers: dict) -> str:
    """The message Copier refuses ``answers`` with (as `--data`/`--data-file` would give them)."""
    destination = tmp_path / "service"
    with pytest.raises(ValueError) as raised:
        run_copy(str(template), str(destination), data=answers, defaults=True, unsafe=True, quiet=True)
    assert isinstance(raised.value, UserMessageError), "the CLI would print a traceback"
    assert not destination.exists(), "a rejected answer must not leave a half-rendered project"
    line, _, rest = str(raised.value).partition("\n")
    assert rest == "Nothing was written. Fix the answer and run Copier again."
    return line


@pytest.mark.parametrize(
    ("answers", "message"), BAD_ANSWERS, ids=lambda v: str(v)[:40] if isinstance(v, dict) else None
)
def test_bad_answer_is_rejected_with_a_clear_message(template, tmp_path, answers, message):
    assert message in refuse(template, tmp_path, answers)


def test_there_are_at_least_fifteen_bad_answer_cases():
    assert len(BAD_ANSWERS) >= 15
    assert len({msg for _, msg in BAD_ANSWERS}) >= 15


# ---------------------------------------------------------------------------------------------
# Wrong types and shapes for every question, generated from copier.yml so none can be missed.
# ---------------------------------------------------------------------------------------------
QUESTIONS = {k: v for k, v in yaml.safe_load((ROOT / "copier.yml").read_text()).items() if k[0] != "_"}
# Earlier answers a question needs to be asked at all.
NEEDS = {"public_routes": {"services": ["dynamodb", "cognito"]}}


def default_answers() -> dict:
    """Every question's default, rendered as Copier would with the earlier defaults."""
    env = jinja2.Environment(extensions=[naming.NamingExtension])
    answers: dict = {}
    # A new project: no answers recorded in the destination yet.
    context = {"_copier_conf": {"dst_path": "", "answers_file": ".copier-answers.yml"}}
    for name, spec in QUESTIONS.items():
        default = spec.get("default")
        if isinstance(default, str) and "{{" in default:
            default = env.from_string(default).render({**context, **answers})
        if spec.get("type") in ("yaml", "json") and isinstance(default, str):
            default = yaml.safe_load(default)
        if spec.get("type") == "bool" and isinstance(default, str):
            default = default == "True"
        answers[name] = default
    return answers


def _choice_values(spec: dict) -> list:
    choices = spec.get("choices") or []
    return list(choices.values()) if isinstance(choices, dict) else list(choices)


def wrong_answers(name: str, spec: dict, default: object) -> list:
    """Answers of the wrong type or shape for one question, as a data file or `--data` gives them."""
    kind = spec.get("type")
    if kind == "bool":
        return [None, "", "maybe", "null", "1", 2, 1, 0, 1.5, [], [True], {"a": True}]
    if spec.get("multiselect"):
        first = _choice_values(spec)[0]
        return [None, True, 3, "", first, {first: True}, [[first]], [None], [3], [first, {"a": 1}],
                f"[{first}", f"{{{first}: 1}}", f"[{first}, 3]"]  # fmt: skip
    if spec.get("choices"):
        first = _choice_values(spec)[0]
        return [None, True, 3, 1.5, "", f"not-{first}", [first], {first: 1}]
    if kind == "str":
        return [None, True, False, "", [], ["x"], {"a": 1}]
    if kind == "yaml" and isinstance(default, list):
        item = default[0] if default else "x"
        return [None, "", True, 3, "text", {item: 1}, [[item]], [{item: 1}], [3], [None], [True],
                f"[{item}", f"{{{item}: 1}}", "3", "null"]  # fmt: skip
    if kind == "yaml" and isinstance(default, dict):
        key, value = next(iter(default.items()))
        return [None, "", True, 3, "text", [value], [[key, value]], {key: str(value)}, {key: None},
                {key: [value]}, {key: True}, {3: value}, f"{{{key}: {value}", f"[{value}]", "null"]  # fmt: skip
    raise AssertionError(f"no wrong answers for {name} (type {kind}): teach wrong_answers() its type")


DEFAULTS = default_answers()
WRONG_TYPES = [
    (name, answer) for name, spec in QUESTIONS.items() for answer in wrong_answers(name, spec, DEFAULTS[name])
]


def test_every_question_has_wrong_type_cases():
    assert {name for name, _ in WRONG_TYPES} == set(QUESTIONS)
    assert len(WRONG_TYPES) >= 5 * len(QUESTIONS)


@pytest.mark.parametrize(
    ("name", "answer"),
    WRONG_TYPES,
    ids=[f"{n}={a!r}"[:50] for n, a in WRONG_TYPES],
)
def test_a_wrong_type_is_refused_under_its_question_with_an_example(template, tmp_path, name, answer):
    line = refuse(template, tmp_path, {**NEEDS.get(name, {}), name: answer})
    assert line.startswith(f"Validation error for question '{name}': "), line
    assert "e.g. " in line, f"no example in: {line}"
    assert "object has no attribute" not in line and "Traceback" not in line, line


# Valid answers the checks above must not refuse, with what Copier records for them.
GOOD_ANSWERS = [
    ({"tracing": "yes"}, "tracing", True),
    ({"tracing": "no"}, "tracing", False),
    ({"tracing": "Off"}, "tracing", False),
    ({"tracing": False}, "tracing", False),
    ({"aws_region": "mx-central-1"}, "aws_region", "mx-central-1"),
    ({"aws_region": "ap-southeast-5"}, "aws_region", "ap-southeast-5"),
    ({"stages": ["dev", "main"]}, "production_stage", "main"),
    ({"stages": "[qa, live]"}, "production_stage", "live"),
    ({"services": "[dynamodb, sqs]"}, "services", ["dynamodb", "sqs"]),
    ({"project_name": 2024, "project_slug": "svc-2024"}, "project_name", "2024"),
]


@pytest.mark.parametrize(("answers", "name", "recorded"), GOOD_ANSWERS, ids=lambda v: str(v)[:40])
def test_valid_answers_are_accepted(template, tmp_path, answers, name, recorded):
    worker = run_copy(
        str(template),
        str(tmp_path / "service"),
        data=answers,
        defaults=True,
        unsafe=True,
        quiet=True,
        pretend=True,
    )
    assert worker.answers.combined[name] == recorded


def test_each_template_version_handles_its_own_questions(monkeypatch):
    """`copier update` loads the old and the new template in one process, each with its own copy
    of extensions/errors.py: the wrappers go in once, an earlier version's wrapper is replaced (what
    it wrapped is kept), and a question is handled by its own template's extension."""
    import functools
    import importlib.util

    from copier._user_data import Question

    def load_copy(tag: str):
        spec = importlib.util.spec_from_file_location(f"errors_{tag}", ROOT / "extensions" / "errors.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    original = Question.parse_answer
    while getattr(original, "_friendly", False):
        original = original.__wrapped__
    for name in ("parse_answer", "validate_answer", "get_default", "get_questionary_structure"):
        monkeypatch.setattr(Question, name, getattr(Question, name))  # restored after the test

    @functools.wraps(original)
    def earlier_version(self, answer):  # what an earlier errors.py installed
        return original(self, answer)

    earlier_version._friendly = True
    monkeypatch.setattr(Question, "parse_answer", earlier_version)

    first, second = load_copy("a"), load_copy("b")
    assert first.install() and second.install()
    installed = Question.parse_answer
    assert installed._friendly_dispatch and installed.__wrapped__ is original
    assert second.install() and Question.parse_answer is installed  # idempotent

    class Env:
        def __init__(self, extensions):
            self.extensions = extensions

    class FakeQuestion:
        var_name = "tracing"

        def __init__(self, extensions):
            self.jinja_env = Env(extensions)

    calls = []

    class Handler:
        friendly_answer_rules = True

        def __init__(self, tag):
            self.tag = tag

        def parse_answer(self, question, wrapped, answer):
            calls.append((self.tag, wrapped is original))
            return answer

    installed(FakeQuestion({"x": Handler("old")}), "yes")
    installed(FakeQuestion({"x": Handler("new")}), "yes")
    assert calls == [("old", True), ("new", True)]
