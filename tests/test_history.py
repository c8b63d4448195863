"""History is a user: a project rendered from any earlier version of this template, with a
team's edits committed, updates to the code under test with the real `copier` command.

The versions are real commits of this repository: the first one that renders and every one
that changed the questions (copier.yml) or the extensions that build the model, which are
what an update runs in one process next to the new version's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update

import project_checks as checks
from model import RELEASE_TYPES
from template_clone import ROOT, clone_working_tree, commit_all, git

COPIER = str(Path(sys.executable).parent / "copier")
# Enough for every version so far; past it the versions are sampled evenly, first and last kept.
MAX_VERSIONS = 40


def earlier_versions() -> list[str]:
    log = git(ROOT, "log", "--reverse", "--format=%h", "--", "copier.yml", "extensions/").split()
    if len(log) <= MAX_VERSIONS:
        return log
    step = (len(log) - 1) / (MAX_VERSIONS - 1)
    return [log[round(i * step)] for i in range(MAX_VERSIONS)]


VERSIONS = earlier_versions()
OLDEST = VERSIONS[0]

# Teams answer differently: the versions take turns with these answers (the oldest takes the
# defaults). Each version gets the questions and choices it had; the rest are its defaults.
ANSWER_SETS = {
    "defaults": {},
    "single-terraform": {
        "layout": "single",
        "iac": "terraform",
        "domains": ["orders", "payments"],
        "stages": ["dev", "prod"],
        "log_retention_days": {"dev": 7, "prod": 365},
        "tracing": False,
    },
    "cdk-queues-events": {
        "iac": "cdk",
        "python_runtime": "python3.13",
        "domains": ["orders", "customer_accounts"],
        "services": ["dynamodb", "sqs", "events"],
    },
    "serverless-files-secrets": {
        "iac": "serverless",
        "services": ["dynamodb", "s3", "secrets"],
        "stages": ["dev", "qa", "prod"],
        "log_retention_days": {"dev": 7, "qa": 14, "prod": 365},
        "log_level": "DEBUG",
    },
}
CASES = [(version, list(ANSWER_SETS)[i % len(ANSWER_SETS)]) for i, version in enumerate(VERSIONS)]


def answers_for(version: str, answers: dict) -> dict:
    """``answers`` less what ``version`` did not ask or offer yet."""
    questions = yaml.safe_load(git(ROOT, "show", f"{version}:copier.yml"))
    out = {}
    for key, value in answers.items():
        question = questions.get(key)
        if not isinstance(question, dict):
            continue
        choices = question.get("choices") or {}
        offered = list(choices.values()) if isinstance(choices, dict) else list(choices)
        if offered and question.get("multiselect"):
            value = [v for v in value if v in offered]
        elif offered and value not in offered:
            continue
        out[key] = value
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return clone_working_tree(tmp_path_factory.mktemp("history") / "template")


def copier(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [COPIER, *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"copier {' '.join(args)} failed ({result.returncode}):\n{output}"
    assert "Traceback" not in output, output
    return output


def team_edits(project: Path) -> dict[str, str]:
    """Edits a team makes in the first weeks, as {path: a line that must survive}: in its own
    domain logic (team-owned), in template-owned files, and files of its own."""
    service = next(project.glob("**/orders/service.py"))
    edits = {
        str(service.relative_to(project)): "def total(prices: list[int]) -> int:",
        "Makefile": "release-notes: ## Team target",
        ".gitignore": ".team-cache/",
        "docs/runbook.md": "Page the on-call engineer",
    }
    with service.open("a") as out:
        out.write('\n\ndef total(prices: list[int]) -> int:\n    """Team code."""\n    return sum(prices)\n')
    with (project / "Makefile").open("a") as out:
        out.write("\nrelease-notes: ## Team target\n\t@echo notes\n")
    with (project / ".gitignore").open("a") as out:
        out.write(".team-cache/\n")
    (project / "docs").mkdir(exist_ok=True)
    (project / "docs" / "runbook.md").write_text("# Runbook\n\nPage the on-call engineer.\n")
    return edits


CONFLICT = re.compile(r"^<{7} .*?\n(.*?)^={7}\n.*?^>{7} ", re.MULTILINE | re.DOTALL)


def conflicts(project: Path) -> dict[str, list[str]]:
    """Each file with conflict markers, with the project's side of every conflict in it."""
    out = {}
    for path in project.rglob("*"):
        if ".git" in path.parts or ".venv" in path.parts or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        if re.search(r"^<{7} ", text, re.MULTILINE):
            out[str(path.relative_to(project))] = CONFLICT.findall(text)
    return out


@pytest.mark.render
@pytest.mark.parametrize(("version", "answer_set"), CASES, ids=[f"{v}-{a}" for v, a in CASES])
def test_a_project_from_an_earlier_version_updates_and_keeps_the_team_s_edits(
    template, version, answer_set, tmp_path
):
    project = tmp_path / "service"
    data = tmp_path / "answers.yml"
    data.write_text(yaml.safe_dump(answers_for(version, ANSWER_SETS[answer_set])))
    copier(
        tmp_path,
        "copy",
        "--trust",
        "--defaults",
        "--data-file",
        str(data),
        "--vcs-ref",
        version,
        str(template),
        str(project),
    )
    git(project, "init", "-q")
    commit_all(project, f"Render {version}")
    edits = team_edits(project)
    commit_all(project, "Team edits")

    copier(project, "update", "--trust", "--defaults", "--vcs-ref", "HEAD", "--conflict", "inline")

    for path, line in edits.items():
        assert line in (project / path).read_text(), f"the team's edit of {path} was lost"
    # Where the template changed the same lines as the team (both appended to a file), the
    # conflict must be the team's edit against the template's; nowhere else.
    for path, ours in conflicts(project).items():
        assert path in edits, f"{path} has conflict markers, but the team did not edit it"
        assert ours and all(edits[path] in side for side in ours), (path, ours)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == git(template, "describe", "--tags", "--always").strip()
    if version == OLDEST:
        for path in conflicts(project):  # the team resolves conflicts by keeping both sides
            text = (project / path).read_text()
            (project / path).write_text(re.sub(r"^(<{7} .*|={7}|>{7} .*)\n", "", text, flags=re.MULTILINE))
        # As the after-update message says: `make format` first, since the style may have changed
        # (line length) and team-owned files keep the old one.
        checks.sync(project)
        checks.run(["make", "format", f"UV={checks.tool('uv')}"], project, checks.project_env(project))
        checks.lint_and_test(project)  # includes the stage config's own checks
        for config in (project / "config").glob("*.json"):  # releases and alarms arrived
            assert json.loads(config.read_text())["release"] in RELEASE_TYPES, config.name


def test_the_history_reaches_back_to_the_first_version_that_renders():
    first = git(ROOT, "log", "--reverse", "--format=%h", "--", "copier.yml").split()[0]
    assert first == OLDEST
    assert len(VERSIONS) >= 20, VERSIONS  # the update test walks real history, not fixtures
    assert CASES[0] == (OLDEST, "defaults")
    assert {answers for _, answers in CASES} == set(ANSWER_SETS)


def test_two_versions_in_one_process_never_share_extension_code(tmp_path):
    """An update renders the old and the new version in one process: each must run its own
    extensions even when a helper's name or signature changed between them, and even with a
    module of the same name already imported (as this test suite and older versions do)."""
    import naming  # noqa: F401 - a plain `naming` module in sys.modules, as older versions leave

    template = clone_working_tree(tmp_path / "template")
    before = git(template, "rev-parse", "HEAD").strip()
    for path in (template / "extensions").rglob("*.py"):  # the next version renames a helper
        path.write_text(
            path.read_text().replace("def fit_name(", "def fit_within(").replace(".fit_name(", ".fit_within(")
        )
    commit_all(template, "Rename fit_name to fit_within")
    project = tmp_path / "service"
    run_copy(str(template), str(project), vcs_ref=before, defaults=True, unsafe=True, quiet=True)
    git(project, "init", "-q")
    commit_all(project, "Render")

    run_update(str(project), vcs_ref="HEAD", defaults=True, overwrite=True, unsafe=True, quiet=True)

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == git(template, "describe", "--tags", "--always").strip()
