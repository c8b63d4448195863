"""The README's quick start leaves the template clean, and the project it renders records a
commit that exists, so its first `copier update` works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from template_clone import ROOT, clone_working_tree, commit_all, git

COPIER = str(Path(sys.executable).parent / "copier")


def test_dev_py_render_records_a_real_commit_and_leaves_the_checkout_clean(tmp_path):
    template = clone_working_tree(tmp_path / "template")
    (template / ".venv").symlink_to(ROOT / ".venv")  # dev.py's own environment, already installed
    readme = template / "README.md"
    readme.write_text(readme.read_text() + "\nAn uncommitted edit.\n")

    result = subprocess.run(
        [sys.executable, "dev.py", "render", "my-service"], cwd=template, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "Uncommitted changes in the template are not rendered" in result.stdout
    assert git(template, "status", "--porcelain").splitlines() == [" M README.md"]
    project = template / "my-service"
    commit = yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]
    assert commit == git(template, "describe", "--tags", "--always").strip()
    git(template, "rev-parse", "--verify", f"{commit}^{{commit}}")  # it exists in the template
    assert "An uncommitted edit." not in (project / "README.md").read_text()

    git(template, "checkout", "--", "README.md")
    git(project, "init", "-q")
    commit_all(project, "Render")
    update = subprocess.run(
        [COPIER, "update", "--trust", "--defaults"],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert update.returncode == 0, update.stderr
    assert "DirtyLocalWarning" not in update.stderr
    assert git(project, "status", "--porcelain") == ""  # the same version: nothing changes
