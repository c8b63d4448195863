"""Releases are real: `dev.py release` cuts a PEP 440 tag with its CHANGELOG section, and
`copier update` and `copier check-update` tell the truth whether or not the template has tags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from template_clone import ROOT, clone_working_tree, commit_all, git

COPIER = str(Path(sys.executable).parent / "copier")
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def run(cwd: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def release(template: Path, version: str) -> subprocess.CompletedProcess:
    return run(template, sys.executable, "dev.py", "release", version)


def check_update(project: Path) -> tuple[int, str]:
    """`copier check-update --quiet`: 2 when a newer version exists, 0 when up to date."""
    result = run(project, COPIER, "check-update", "--quiet")
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr


def render_committed(template: Path, project: Path, ref: str) -> Path:
    result = run(
        template.parent,
        COPIER,
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        ref,
        str(template),
        str(project),
    )
    assert result.returncode == 0, result.stderr
    git(project, "init", "-q")
    commit_all(project, f"Render {ref}")
    return project


def update(project: Path) -> str:
    """`copier update` as the README and the rendered template-update workflow run it: no ref."""
    result = run(project, COPIER, "update", "--trust", "--defaults", "--conflict", "inline")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    commit_all(project, "Update")
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]


@pytest.fixture
def template(tmp_path) -> Path:
    return clone_working_tree(tmp_path / "template")


def test_a_release_moves_the_unreleased_notes_under_its_version_and_tags_it(template):
    notes = (template / "CHANGELOG.md").read_text().split("## Unreleased\n", 1)[1].split("\n## ", 1)[0]
    assert notes.strip(), "CHANGELOG.md has unreleased notes to release"

    result = release(template, "1.0.0")

    assert result.returncode == 0, result.stderr
    assert git(template, "tag", "--list", "v1.0.0").strip() == "v1.0.0"
    assert git(template, "status", "--porcelain") == ""
    changelog = (template / "CHANGELOG.md").read_text()
    unreleased, rest = changelog.split("## Unreleased\n", 1)[1].split("\n## 1.0.0 (", 1)
    assert unreleased.strip() == ""
    assert rest.split("\n## ", 1)[0].split("\n", 1)[1].strip() == notes.strip()


@pytest.mark.parametrize(
    ("version", "prepare", "message"),
    [
        ("1.0", None, "usage: python dev.py release X.Y.Z"),
        ("v1.0.0-beta", None, "usage: python dev.py release X.Y.Z"),
        ("1.0.0", "dirty", "uncommitted changes"),
        ("1.0.0rc1", "after 1.0.0", "v1.0.0rc1 is not newer than the release v1.0.0"),
        ("1.0.0", "after 1.0.0", "v1.0.0 is not newer than the release v1.0.0"),
        ("1.1.0", "after 1.0.0", "no notes under '## Unreleased'"),
        ("1.0.0", "no heading", "no notes under '## Unreleased'"),
    ],
)
def test_a_release_is_refused_with_the_reason(template, version, prepare, message):
    if prepare == "dirty":
        (template / "README.md").write_text("edited\n")
    elif prepare == "after 1.0.0":  # the notes went into 1.0.0: none are left
        assert release(template, "1.0.0").returncode == 0
    elif prepare == "no heading":
        changelog = template / "CHANGELOG.md"
        changelog.write_text(changelog.read_text().replace("## Unreleased\n", ""))
        commit_all(template, "A CHANGELOG without an Unreleased section")
    tags = git(template, "tag", "--list")

    result = release(template, version)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert git(template, "tag", "--list") == tags


def test_updates_and_check_update_work_without_tags(template, tmp_path):
    assert git(template, "tag", "--list") == ""
    older = git(template, "rev-parse", "HEAD~1").strip()
    project = render_committed(template, tmp_path / "service", older)

    assert check_update(project)[0] == 2  # the working tree is newer than its parent commit
    assert update(project) == git(template, "describe", "--tags", "--always").strip()
    assert check_update(project)[0] == 0


def test_updates_and_check_update_follow_release_tags(template, tmp_path):
    git(template, "tag", "v0.9.0", "HEAD~1")
    project = render_committed(template, tmp_path / "service", "v0.9.0")
    assert release(template, "1.0.0").returncode == 0

    assert check_update(project)[0] == 2
    assert update(project) == "v1.0.0"
    assert check_update(project)[0] == 0


def test_no_migration_depends_on_a_tag():
    """Copier runs a migration with a `version` only between two tagged versions: in a template
    or mirror without tags it would be skipped without a word. So migrations carry no version;
    each runs on every update and changes nothing when there is nothing to migrate."""
    migrations = yaml.safe_load((ROOT / "copier.yml").read_text())["_migrations"]
    for migration in migrations:
        assert isinstance(migration, dict) and "version" not in migration, migration
        assert "_stage" in migration["when"], migration
        script = next(part for part in migration["command"] if part.endswith(".py"))
        assert (ROOT / script.split("}}/")[-1]).is_file(), script
