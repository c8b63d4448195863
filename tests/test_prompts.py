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

import formats
import model
import naming
from conftest import ROOT

BAD_ANSWERS = [
    ({"project_slug": "1service"}, "starts with a digit: start with a letter"),
    ({"project_slug": "OrderService"}, "has capital letters: use lower case, e.g. 'order-service'"),
    ({"project_slug": "order service"}, "has spaces: join words with '-', e.g. 'order-service'"),
    ({"project_slug": "order_service!"}, "has punctuation: use a-z, 0-9 and single '-'"),
    ({"project_slug": "order--service"}, "has punctuation"),
    ({"project_slug": "ab"}, "is too short: use 3 to 32 characters"),
    ({"project_slug": "a" * 33}, "is 33 characters long: use at most 32"),
    ({"project_slug": "class"}, "is a Python keyword: pick another"),
    ({"project_slug": "json"}, "is a Python stdlib module"),
    ({"project_slug": "boto3"}, "'boto3' names a package the project installs: pick another"),
    ({"project_slug": "pytest"}, "names a package the project installs"),
    ({"project_slug": "moto"}, "names a package the project installs"),
    ({"project_slug": "ruff"}, "names a package the project installs"),
    ({"project_slug": "serverless"}, "'serverless' is a dependency's name: pick another"),
    ({"project_slug": "yaml"}, "'yaml' is a library's import name: pick another"),
    (
        {"project_slug": "test", "layout": "single"},
        "'test' would shadow Python's own 'test' package: pick another",
    ),
    ({"project_slug": "tests"}, "'tests' would shadow the project's own tests: pick another"),
    ({"project_slug": "admin-jobs"}, "'admin-jobs' is the template's own package: pick another"),
    ({"project_name": "   "}, "The project name is empty"),
    (
        {"domains": ["orders", "orders"]},
        "The domain 'orders' is listed twice: each domain must be unique, e.g. [orders].",
    ),
    ({"domains": []}, "The domain list is empty: give at least one domain"),
    ({"domains": ["Orders"]}, "The domain name 'Orders' is not valid: use snake_case, e.g. 'orders'."),
    ({"domains": ["platform"]}, "'platform' is taken by the template (see README.md): rename it."),
    ({"domains": ["admin"]}, "is taken by the template (see README.md)"),
    ({"domains": ["infra"]}, "is taken by the template (see README.md)"),
    ({"domains": ["tests"]}, "is taken by the template (see README.md)"),
    ({"domains": ["service_platform"]}, "'service_platform' is reserved (see README.md): rename it."),
    ({"domains": ["json"]}, "would shadow the Python module 'json'"),
    ({"domains": ["idempotency"]}, "'idempotency' is taken by a shared resource: rename it"),
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
    ({"stages": ["dev", "config"]}, "The stage name 'config' is taken by the template"),
    ({"stages": ["dev", "local"]}, "reserved for `make dev`"),
    ({"stages": ["dev", "dev"]}, "The stage 'dev' is listed twice"),
    ({"stages": ["qa_1"]}, "'qa_1' has '_': AWS stack names refuse it, e.g. 'qa1'."),
    (
        {"project_slug": "a" * 32, "stages": ["dev", "preproductionfrankfurt"]},
        "The stage 'preproductionfrankfurt' needs at most 17 characters with this slug.",
    ),
    (
        {"project_slug": "a" * 32, "stages": ["dev", "preprodeu"], "services": ["dynamodb", "s3"]},
        "The stage 'preprodeu' needs at most 8 characters with this slug (bucket names).",
    ),
    (
        {"project_slug": "a" * 28, "stages": ["dev", "staging"], "services": ["dynamodb", "redis"]},
        "The stage 'staging' needs at most 5 characters with this slug (cache names).",
    ),
    ({"services": ["sqs"]}, "Select dynamodb: every domain keeps its records in its own DynamoDB table"),
    ({"services": []}, "Select dynamodb"),
    (
        {"services": ["dynamodb", "kafka"]},
        "'kafka' is not a choice: give a YAML list of its choices, e.g. [dynamodb, sqs].",
    ),
    (
        {"services": "sqs"},
        "'sqs' is text, not a list: e.g. [dynamodb, sqs].",
    ),
    ({"tracing": "maybe"}, "'maybe' is text, not a boolean: answer true or false (yes/no), e.g. true."),
    ({"tracing": 2}, "2 is a number, not a boolean"),
    ({"tracing": []}, "[] is a list, not a boolean"),
    (
        {"stages": ["prod", "dev"]},
        "'production_stage': 'prod' is production but not the last stage: reorder, e.g. stages=[dev, prod].",
    ),
    ({"stages": ["dev", "prod"], "production_stage": "dev"}, "reorder, e.g. stages=[prod, dev]"),
    ({"production_stage": "qa"}, "'qa' is not one of the stages: name the production stage, e.g. 'prod'."),
    (
        {"public_routes": ["GET /orders"]},
        "Public routes only mean something with cognito: select it or leave them empty.",
    ),
    (
        {"services": ["dynamodb", "cognito"], "public_routes": ["GET /order"]},
        "No such route: GET /order. Public routes are written as one of: GET /orders, ...",
    ),
    (
        {"services": ["dynamodb", "cognito"], "public_routes": "GET /orders"},
        "'GET /orders' is text, not a list: give a YAML list, e.g. [GET /orders].",
    ),
    (
        {"iac": "pulumi"},
        "'iac': 'pulumi' is not a choice: give one of sam, cdk, terraform, serverless, e.g. sam.",
    ),
    (
        {"aws_region": "mars-east-1"},
        "'mars-east-1' is not a known AWS region: e.g. 'eu-west-1' (see README.md).",
    ),
    ({"aws_region": "US-EAST-1"}, "is not a known AWS region"),
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
        "names 'qa', which is not one of the stages: remove it.",
    ),
    (
        {"iac": "cdk", "domain_stacks": False, "domains": [f"d{i}" for i in range(15)]},
        "15 domains in one stack make ~1037 resources (max 450): use domain_stacks=true.",
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


# ---------------------------------------------------------------------------------------------
# At the prompt a refusal is shown in a one-row toolbar: anything past the terminal's width or
# after a line break is lost, so every message must be one line of at most 80 columns.
# ---------------------------------------------------------------------------------------------
WIDTH = 80
LONG = "a" * 1000  # values are echoed in messages: a long one must be cut, not overflow
SLUG_32 = "a" * 32
NAME_24 = "n" * 24  # the longest domain or stage name the validators accept
# (earlier answers, question, what the person types at the prompt): every message branch.
PROMPT_CASES = [
    ({}, "project_name", ["", "   ", "a\nb", "a\tb", "a\x1bb", "a\u202eb", "x" * 51, "\U0001f600" * 300]),
    ({}, "description", ["", "y" * 1000]),
    ({}, "author_name", ["", "a\rb"]),
    ({}, "author_email", ["", "not-an-email", LONG, "\U0001f600" * 100, "e" * 255]),
    ({}, "project_slug", [
        "", "1service", "1" + LONG, "OrderService", "A" + LONG, "Order" * 40 + " x", "order service",
        "a" * 40 + " " + "b" * 40, "ab", "a\x00", LONG, "order_service!", "order-" * 20 + "!", "a\nb",
        "\u4e2d" * 40, "nonlocal", "match", "multiprocessing", "boto3", "aws-lambda-powertools",
        "yaml", "test", "tests", "admin-jobs", "service-platform", "[x]", "{a: 1}",
    ]),
    ({}, "aws_region", ["mars-east-1", "US-EAST-1", LONG, "\U0001f600" * 100, "[x]"]),
    ({}, "domains", [
        "[]", "[orders, orders]", f"[{NAME_24}, {NAME_24}]", "[Orders]", f"[{LONG}]", f"[{'x' * 25}]",
        "[platform]", "[service_platform]", "[import]", "[json]", "[multiprocessing]", "[test]",
        "[idempotency]", "[aws_lambda_powertools]", '[""]', "[null]", "[3]", "orders", "{a: 1}",
        "[orders", LONG, f"[{{{LONG}: 1}}]", "[[orders]]",
    ]),
    ({"project_slug": "aws-lambda"}, "domains", ["[powertools]"]),
    ({"project_slug": "cfn"}, "domains", ["[lint]"]),
    ({"project_slug": SLUG_32}, "stages", [
        "[]", "[dev, local]", f"[{NAME_24}, {NAME_24}]", "[dev, config]", "[qa_1]", f"[{NAME_24}]",
        f"[{NAME_24.replace('n', '_n', 5)}]", "[Dev]", f"[{LONG}]", "[import]", "dev", "{dev: 7}",
    ]),
    ({"project_slug": SLUG_32, "services": ["dynamodb", "s3"]}, "stages", ["[dev, preprodeu]"]),
    ({"project_slug": "s" * 25, "services": ["dynamodb", "s3"]}, "stages", [f"[{NAME_24}]"]),
    ({"project_slug": "r" * 25, "services": ["dynamodb", "redis"]}, "stages", [f"[{NAME_24}]", "[dev, preproduction]"]),
    ({}, "services", [[], ["sqs"], ["sqs", "s3"]]),
    ({"stages": [f"{'s' * 22}{i}" for i in range(10)]}, "production_stage", [
        "qa", LONG, "s" * 22 + "0", "\U0001f600" * 100,
    ]),
    ({"stages": ["dev", "prod"]}, "log_retention_days", [
        "{dev: 7}", "{dev: 7, prod: 366}", "{dev: 7, prod: 365, qa: 7}", f"{{dev: 7, prod: 365, {LONG}: 7}}",
        "{dev: 7, prod: x}", f"{{dev: 7, prod: {'9' * 300}}}", "[7]", "{dev: 7", "{dev: null, prod: 7}",
    ]),
    ({"stages": [f"{'s' * 23}{i}" for i in range(10)]}, "log_retention_days", ["{}", "{s: 7}"]),
    ({"services": ["dynamodb", "cognito"], "domains": [f"{'d' * 23}{i}" for i in range(10)]},
     "public_routes", ['["GET /order"]', f'["{LONG}"]', '["GET /" , "POST /x"]', "GET /orders", "{a: 1}"]),
    ({"services": ["dynamodb", "s3"]}, "public_routes", ['["GET /orders"]']),
]  # fmt: skip
# Refusals the prompt cannot reach (a default that is refused stops Copier before it asks; a
# yes/no question is not validated while asked; wrong types are refused before any validator)
# are printed under --data after the question's name: they are held to the same line.
DIRECT_CASES = [
    (naming.slug_error, (None,)),
    (naming.domains_error, ([3],)),
    (naming.domains_error, ([LONG],)),
    (naming.domains_error, ({"orders": 1},)),
    (naming.domains_error, (["orders"], [NAME_24, "orders"])),
    (naming.domains_error, (["orders"], [LONG, "orders"])),
    (naming.stages_error, ([{"dev": 1}],)),
    (naming.stages_error, (LONG,)),
    (naming.stages_error, ([NAME_24], SLUG_32, ["dynamodb", "redis"])),
    (naming.stages_error, (["dev"], SLUG_32, ["dynamodb", "redis"])),
    (naming.services_error, ("sqs",)),
    (naming.services_error, (["kafka"],)),
    (naming.services_error, ([LONG],)),
    (naming.services_error, (["sqs"],)),
    (naming.services_error, ([],)),
    (naming.region_error, (None,)),
    (naming.region_error, ([LONG],)),
    (naming.email_error, (None,)),
    (naming.retention_error, (LONG, ["dev"])),
    (naming.retention_error, ({"dev": 7.5}, ["dev"])),
    (naming.retention_error, ({"dev": None}, ["dev"])),
    (naming.production_stage_error, (None, ["dev", "prod"])),
    (naming.production_stage_error, ([LONG], ["dev", "prod"])),
    (formats.text_error, ("x" * 100_000, "description")),
    (formats.text_error, ("", "some_question")),
    (model.public_routes_error, ("GET /orders", ["dynamodb", "cognito"], ["orders"])),
    (model.public_routes_error, ([LONG], ["dynamodb", "cognito"], ["orders"])),
    (model.public_routes_error, ([3], ["dynamodb", "cognito"], [NAME_24])),
    (model.domain_stacks_error, (False, "cdk", list(naming.SERVICES), [f"d{i}" for i in range(15)])),
    (
        model.domain_stacks_error,
        (False, "cdk", list(naming.SERVICES), [f"{'d' * 23}{i}" for i in range(200)]),
    ),
]


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: East Asian wide characters take two."""
    import unicodedata

    return sum(
        2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text
    )


def shown_at_prompt(template: Path, tmp_path: Path, earlier: dict, name: str, typed: list) -> list[str]:
    """What the prompt of question ``name`` shows for each answer in ``typed`` (``""`` if accepted)."""
    from unittest import mock

    shown: list[str] = []

    def prompt(structures, answers):
        structure = structures[0]
        if structure["name"] == name:
            for answer in typed:
                verdict = structure["validate"](answer)
                shown.append("" if verdict is True else verdict)
        default = answers[structure["name"]]
        return {structure["name"]: default}

    with mock.patch("copier._main.unsafe_prompt", prompt):
        run_copy(
            str(template), str(tmp_path / "service"), data=earlier, unsafe=True, quiet=True, pretend=True
        )
    return shown


@pytest.mark.parametrize(
    ("earlier", "name", "typed"), PROMPT_CASES, ids=[f"{n}-{i}" for i, (_, n, _) in enumerate(PROMPT_CASES)]
)
def test_every_refusal_is_one_line_that_fits_the_terminal(template, tmp_path, earlier, name, typed):
    shown = shown_at_prompt(template, tmp_path, earlier, name, typed)
    assert len(shown) == len(typed), f"{name} was not asked"
    wrong = [
        f"{answer!r:.40}: " + ("accepted, so it tests no message" if not message else repr(message))
        for answer, message in zip(typed, shown, strict=True)
        if not message or "\n" in message or "\r" in message or columns(message) > WIDTH
    ]
    assert not wrong, f"{name}: refusals that are not one line of at most {WIDTH} columns:\n" + "\n".join(
        wrong
    )


@pytest.mark.parametrize(
    ("check", "args"), DIRECT_CASES, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(DIRECT_CASES)]
)
def test_every_refusal_out_of_the_prompts_reach_fits_too(check, args):
    message = check(*args)
    assert message, f"{check.__name__}{args!r:.60} is accepted, so it tests no message"
    assert "\n" not in message and "\r" not in message, message
    assert columns(message) <= WIDTH, f"{columns(message)} columns: {message}"


# Refusals point to README.md and the questions' help for what does not fit one line: those
# lists come from the code, and must say what the code does.
README = (ROOT / "README.md").read_text()
REFERENCE = README[README.index("### What the refusals refer to") :].split("\n## ", 1)[0]


def _listed(text: str, start: str, end: str) -> list[str]:
    """The comma-separated items between ``start`` and ``end`` in ``text``, without backquotes."""
    words = " ".join(text.split(start, 1)[1].split(end, 1)[0].split())
    return [item.strip(" `").removeprefix("and ").strip(" `") for item in words.split(",")]


def test_the_readme_lists_the_reserved_names_and_retention_days_the_code_refuses():
    assert set(_listed(REFERENCE, "the template\n  owns:", " (")) == naming.RESERVED_NAMES
    assert _listed(REFERENCE, "accepts are", ".\n") == [str(d) for d in naming.LOG_RETENTION_DAYS]
    help_text = QUESTIONS["log_retention_days"]["help"]
    assert _listed(help_text, "CloudWatch accepts", "\n") == [str(d) for d in naming.LOG_RETENTION_DAYS]


def test_the_readme_and_help_give_the_stage_length_limits_of_the_code():
    lambda_, bucket, cache = naming.PREFIX_MAX, naming.BUCKET_PREFIX_MAX, naming.CACHE_PREFIX_MAX
    help_text = " ".join(QUESTIONS["stages"]["help"].split())
    assert f"at most {lambda_} characters ({bucket} with s3, {cache} with redis)" in help_text
    readme = " ".join(REFERENCE.split())
    assert f"at most {lambda_} characters (Lambda function names, 64), {bucket} with `s3`" in readme
    assert f"and {cache} with `redis`" in readme


def test_the_readme_lists_the_routes_of_a_domain():
    import re

    bullet = REFERENCE.split("- Public routes:", 1)[1].split("\n- ", 1)[0]
    listed = re.findall(r"`((?:GET|POST|PUT|PATCH|DELETE) /[^`]*)`", bullet)
    service = model.build_model(
        {"project_slug": "shop", "services": ["dynamodb", "s3"], "domains": ["order_items"]}
    )
    routes = {f"{f.trigger.method} {f.trigger.path}" for f in service.http_functions}
    assert {route.replace("<domain>", "order-items") for route in listed} == routes
