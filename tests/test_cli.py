"""The real `copier` command line, as a script would run it and as a person would answer it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

import project_checks as checks
from conftest import ROOT

COPIER = str(Path(sys.executable).parent / "copier")


def copier_copy(destination: Path, *options: str) -> subprocess.CompletedProcess:
    """`copier copy` as a script runs it: no terminal, the template at HEAD."""
    return subprocess.run(
        [COPIER, "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", *options, str(ROOT), str(destination)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.render
def test_copier_copy_with_the_example_answers_file(tmp_path):
    destination = tmp_path / "payments-platform"
    result = copier_copy(destination, "--data-file", str(ROOT / "examples" / "answers.yml"))
    assert result.returncode == 0, result.stderr
    message = (
        result.stdout + result.stderr
    )  # the after-copy message names the next commands for these answers
    assert "localhost:3000/payments" in message
    assert "make deploy STAGE=dev" in message
    answers = checks.load_answers(destination)
    assert answers["domains"] == ["payments", "refunds"]
    assert answers["log_retention_days"] == {"dev": 14, "prod": 731}
    assert (destination / "domains" / "refunds" / "src" / "refunds" / "handlers.py").exists()
    assert '"log_retention_days": 731' in (destination / "config" / "prod.json").read_text()
    checks.lint_and_test(destination)
    checks.validate_iac(destination)


def test_copier_cli_prints_a_bad_answer_without_a_traceback(tmp_path):
    destination = tmp_path / "svc"
    result = copier_copy(destination, "--data", "project_slug=My Service")
    assert result.returncode == 1
    assert "The project slug has capital letters: use lower case, e.g. 'my-service'." in result.stderr
    assert "Traceback" not in result.stderr
    assert not destination.exists()


def test_interactive_prompts_reject_a_bad_slug_then_render(tmp_path):
    destination = tmp_path / "interactive"
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200", "LINES": "50"}
    child = pexpect.spawn(
        COPIER,
        ["copy", "--trust", "--vcs-ref", "HEAD", str(ROOT), str(destination)],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )
    try:
        child.expect("Human-readable name")
        child.sendline("")  # keep the default name
        child.expect("Short machine name")
        child.send("\x7f" * 40)  # clear the suggested slug
        child.send("2fast service")
        child.send("\r")
        child.expect("starts with a digit: start with a letter")
        child.send("\x7f" * 40)
        child.send("fast-service\r")
        # Accept every remaining default with Enter until Copier reports the result.
        while True:
            index = child.expect([r"\?", "ready in", pexpect.EOF])
            if index == 0:
                child.send("\r")
            else:
                break
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "fast-service"
    assert (destination / "infra" / "template.yaml").exists()


WRONG_DATA = [
    (["--data", "services=sqs"], "Validation error for question 'services': 'sqs' is text, not a list"),
    (["--data", "tracing=maybe"], "'tracing': 'maybe' is text, not a boolean: answer true or false (yes/no)"),
    (
        ["--data", "domains={orders: 1}"],
        "'domains': {'orders': 1} is a mapping, not a list: give a YAML list",
    ),
    (["--data", "stages=[prod, dev]"], "but not the last stage: reorder, e.g. stages=[dev, prod]."),
    (["--data", "project_slug=boto3"], "'boto3' names a package the project installs: pick another."),
    (["--data", "log_retention_days=[7]"], "'log_retention_days': [7] is a list, not a mapping"),
    (
        {"iac": ["sam"], "tracing": True},
        "'iac': ['sam'] is a list, not text: give one of its choices, e.g. sam.",
    ),
    (
        {"log_retention_days": {"dev": "7"}},
        "'log_retention_days': the value '7' of 'dev' is text, not a number",
    ),
    (
        {"project_name": None},
        "'project_name': the answer is empty: give text, e.g. 'Order Service'.",
    ),
]


@pytest.mark.parametrize(("given", "message"), WRONG_DATA, ids=lambda v: str(v)[:40])
def test_copier_cli_refuses_a_wrong_type_with_a_message(tmp_path, given, message):
    """`--data` and `--data-file` (a mapping with wrong types): one message, exit 1, nothing written."""
    if isinstance(given, dict):
        data_file = tmp_path / "answers.yml"
        data_file.write_text(yaml.safe_dump(given))
        given = ["--data-file", str(data_file)]
    destination = tmp_path / "svc"
    result = copier_copy(destination, *given)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not destination.exists()


# A data file that is not a mapping fails inside Copier's CLI (copier/_cli.py, data_file_switch:
# `yaml.safe_load(f)` then `file_updates.items()`) while it parses its options, before the template
# is even fetched: no code of this template runs yet, so only Copier can turn these into messages.
NOT_A_MAPPING = {"list": "- dev\n- prod\n", "scalar": "dev\n", "empty": "", "broken": "stages: [dev\n"}


@pytest.mark.parametrize("kind", sorted(NOT_A_MAPPING))
def test_copier_cli_refuses_a_data_file_that_is_not_a_mapping(tmp_path, kind):
    data_file = tmp_path / "answers.yml"
    data_file.write_text(NOT_A_MAPPING[kind])
    destination = tmp_path / "svc"
    result = copier_copy(destination, "--data-file", str(data_file))
    assert result.returncode == 1
    assert not destination.exists()


@pytest.mark.xfail(
    strict=True,
    reason="Copier's CLI parses --data-file before the template loads (copier/_cli.py data_file_switch) "
    "and raises AttributeError/YAMLError for a file that is not a YAML mapping; fixable only in Copier",
)
@pytest.mark.parametrize("kind", sorted(NOT_A_MAPPING))
def test_copier_cli_explains_a_data_file_that_is_not_a_mapping_without_a_traceback(tmp_path, kind):
    data_file = tmp_path / "answers.yml"
    data_file.write_text(NOT_A_MAPPING[kind])
    result = copier_copy(tmp_path / "svc", "--data-file", str(data_file))
    assert "Traceback" not in result.stderr


def _answer(child: pexpect.spawn, text: str) -> None:
    """Replace the prefilled answer of a text prompt and submit it."""
    child.send("\x7f" * 60)
    child.send(text)
    child.send("\r")


def test_interactive_prompts_explain_a_wrong_type_and_take_y_and_n(tmp_path):
    destination = tmp_path / "interactive"
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200", "LINES": "50"}
    questions = {k: v for k, v in yaml.safe_load((ROOT / "copier.yml").read_text()).items() if k[0] != "_"}
    # Each prompt is recognised by the start of its help text (escape sequences hold "?" too).
    names = [name for name, spec in questions.items() if spec.get("help")]
    patterns = [re.escape(questions[name]["help"][:40]) for name in names]
    child = pexpect.spawn(
        COPIER,
        ["copy", "--trust", "--vcs-ref", "HEAD", str(ROOT), str(destination)],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )
    asked = []
    try:
        while True:
            index = child.expect([*patterns, "ready in", pexpect.EOF])
            if index >= len(names):
                break
            name = names[index]
            if name in asked:  # the same prompt drawn again
                continue
            asked.append(name)
            if name == "domains":
                _answer(child, "orders: 1")
                child.expect(re.escape("is a mapping, not a list: give a YAML list, e.g. [orders]"))
                _answer(child, "[orders, payments]")
            elif name == "stages":
                _answer(child, "[dev, prod")
                child.expect("the answer is not valid YAML")  # Copier alone says "Invalid input"
                _answer(child, "[dev, prod]")
            elif name == "tracing":
                child.send("n")  # the prompt's y/n
            else:
                child.send("\r")  # the default
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert {"domains", "stages", "production_stage", "tracing"} <= set(asked)
    assert child.exitstatus == 0, child.before
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["domains"] == ["orders", "payments"]
    assert answers["stages"] == ["dev", "prod"]
    assert answers["production_stage"] == "prod"
    assert answers["tracing"] is False


@pytest.mark.xfail(
    strict=True,
    reason="Copier's CLI splits each --data on '=' while parsing options (copier/_cli.py data_switch: "
    "`key, value = arg.split('=', 1)`), before the template loads; fixable only in Copier",
)
def test_copier_cli_explains_a_data_option_without_a_value(tmp_path):
    result = copier_copy(tmp_path / "svc", "--data", "tracing")
    assert result.returncode == 1 and not (tmp_path / "svc").exists()
    assert "Traceback" not in result.stderr
