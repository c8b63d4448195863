"""The `copier` commands README.md documents work as written.

The commands are read from README.md's sh code blocks, `<this repository>` becomes a clone of
this template (its last commit is the working tree under test), and each runs for real: the
copy commands from the clone's folder (`examples/answers.yml` is relative to it), the update
commands inside a rendered project committed to git. Interactive commands run in a
pseudo-terminal where every prompt is answered with Enter.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from template_clone import ROOT, clone_working_tree, commit_all, git

COPIER = str(Path(sys.executable).parent / "copier")
QUESTIONS = {k: v for k, v in yaml.safe_load((ROOT / "copier.yml").read_text()).items() if k[0] != "_"}


def readme_commands(section: str) -> list[str]:
    """The `copier ...` lines of the sh code blocks of one README section, comments removed and
    `<this repository>` written as TEMPLATE."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text[start : end if end > 0 else None], re.S):
        for line in block.splitlines():
            words = shlex.split(line.replace("<this repository>", "TEMPLATE"), comments=True)
            if words[:1] == ["copier"]:
                commands.append(shlex.join(words))
    return commands


def run(command: str, cwd: Path, template: Path) -> None:
    """Run one README command; interactive ones (no --defaults) answer every prompt with Enter."""
    words = [COPIER, *(str(template) if w == "TEMPLATE" else w for w in shlex.split(command)[1:])]
    if "--defaults" in words:
        result = subprocess.run(words, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return
    child = pexpect.spawn(
        words[0], words[1:], cwd=str(cwd), encoding="utf-8", timeout=120, dimensions=(50, 200)
    )
    helps = [re.escape(spec["help"][:40]) for spec in QUESTIONS.values() if spec.get("help")]
    try:
        seen = set()
        while (index := child.expect([*helps, pexpect.EOF])) < len(helps):
            if index not in seen:  # a prompt drawn again is the one just answered
                seen.add(index)
                child.send("\r")
    finally:
        child.close()
    assert child.exitstatus == 0, f"{command}\n{child.before}"


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    clone = clone_working_tree(tmp_path_factory.mktemp("readme") / "template")
    # The quick start renders my-service inside the checkout; kept out of git as dev.py does, so
    # the checkout stays clean and later renders record a commit that exists.
    (clone / ".git" / "info" / "exclude").write_text("/my-service/\n")
    return clone


def test_the_readme_documents_the_commands_tested_here():
    assert readme_commands("Quick start") == [
        "copier copy --trust TEMPLATE my-service",
        "copier copy --trust --defaults --data-file examples/answers.yml TEMPLATE my-service",
    ]
    assert len(readme_commands("Updating a rendered project")) == 3


@pytest.mark.render
def test_quick_start_copy_commands_work_as_written(template):
    commands = readme_commands("Quick start")
    project = template / "my-service"
    effects = {
        "--data-file examples/answers.yml": {
            "project_slug": "payments-platform",
            "domains": ["payments", "refunds"],
        },
        "": {"project_slug": "order-service", "domains": ["orders"], "production_stage": "prod"},
    }
    for command in commands:
        shutil.rmtree(project, ignore_errors=True)
        run(command, template, template)
        expected = next(effect for key, effect in effects.items() if key in command)
        assert {k: answers(project)[k] for k in expected} == expected, command
        assert (project / "infra" / "template.yaml").is_file()
    shutil.rmtree(project)
    assert git(template, "status", "--porcelain") == ""


@pytest.mark.render
def test_update_commands_work_as_written_in_a_committed_project(template, tmp_path):
    project = tmp_path / "my-service"
    result = subprocess.run(
        [COPIER, "copy", "--trust", "--defaults", "--quiet", str(template), str(project)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    git(project, "init", "-q")
    commit_all(project, "Render")

    def nothing_changed() -> None:
        assert git(project, "status", "--porcelain") == ""

    def payments_added() -> None:
        assert answers(project)["domains"] == ["orders", "payments"]
        assert (project / "domains" / "payments" / "src" / "payments" / "handlers.py").is_file()

    def qa_replaces_staging() -> None:
        recorded = answers(project)
        assert recorded["stages"] == ["dev", "qa", "prod"]
        assert recorded["log_retention_days"] == {"dev": 7, "qa": 7, "prod": 365}
        assert recorded["production_stage"] == "prod"
        assert json.loads((project / "config" / "qa.json").read_text())["log_retention_days"] == 7
        assert json.loads((project / "config" / "prod.json").read_text())["log_retention_days"] == 365

    effects = {"domains=": payments_added, "stages=": qa_replaces_staging, "": nothing_changed}
    for command in readme_commands("Updating a rendered project"):
        run(command, project, template)
        next(check for key, check in effects.items() if key in command)()
        commit_all(project, command)


@pytest.mark.render
def test_update_gives_a_project_rendered_before_production_stage_its_default(template, tmp_path):
    """Answers recorded by a template version without the question: `copier update --defaults` adds it."""
    project = tmp_path / "older"
    data = ["--data", "stages=[dev, main]"]
    subprocess.run(
        [COPIER, "copy", "--trust", "--defaults", "--quiet", *data, str(template), str(project)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    answers_file = project / ".copier-answers.yml"
    answers_file.write_text(re.sub(r"^production_stage: .*\n", "", answers_file.read_text(), flags=re.M))
    assert "production_stage" not in answers(project)
    git(project, "init", "-q")
    commit_all(project, "Render with an older template")

    run("copier update --trust --defaults", project, template)

    assert answers(project)["production_stage"] == "main"
    assert git(project, "status", "--porcelain").split() == ["M", ".copier-answers.yml"]


def _newest_commit_without(template: Path, path: str, text: str) -> str:
    for commit in git(template, "log", "--format=%H").split():
        if text not in git(template, "show", f"{commit}:{path}"):
            return commit
    raise AssertionError(f"every commit of {path} has {text!r}")


@pytest.mark.render
def test_update_refuses_to_replace_a_recorded_answer_this_version_refuses(template, tmp_path):
    """A slug accepted by an earlier version and refused now is not silently replaced by the
    default on `copier update --defaults` (that would rename every AWS resource)."""
    earlier = _newest_commit_without(template, "extensions/naming.py", "DEPENDENCY_NAMES")
    project = tmp_path / "moto"
    subprocess.run(
        [
            COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--quiet",
            "--vcs-ref",
            earlier,
            "--data",
            "project_slug=moto",
        ]
        + [str(template), str(project)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    git(project, "init", "-q")
    commit_all(project, "Render an earlier version")

    refused = subprocess.run(
        [COPIER, "update", "--trust", "--defaults"],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )

    assert refused.returncode == 1
    assert (
        "Validation error for question 'project_slug': the answer recorded in the project, 'moto', is no longer "
        "accepted: The project slug 'moto' names a package the project installs: pick another."
    ) in refused.stderr
    assert "Answer it again with --data project_slug=<new answer>." in refused.stderr
    assert "Traceback" not in refused.stderr
    assert git(project, "status", "--porcelain") == ""
    run("copier update --trust --defaults --data project_slug=moto-service", project, template)
    assert answers(project)["project_slug"] == "moto-service"
