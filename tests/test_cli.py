"""The real `copier` command line, as a script would run it and as a person would answer it."""

from __future__ import annotations

import os
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
    assert (
        "The project slug 'My Service' has capital letters: use lower case, e.g. 'my-service'."
        in result.stderr
    )
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
        child.expect("starts with a digit: start it with a letter")
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
