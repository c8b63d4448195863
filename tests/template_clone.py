"""A git clone of this template whose last commit is the working tree under test.

Copier renders committed code, and `--vcs-ref <commit>` needs the real history: the clone
has both, so a test can render any earlier version and update it to exactly what is checked
out here, uncommitted edits included.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-qm", message, "--allow-empty")


def _listed(*args: str) -> list[str]:
    return [name for name in git(ROOT, "ls-files", "-z", *args).split("\0") if name]


def clone_working_tree(destination: Path) -> Path:
    """Clone this repository with its whole history and commit the working tree on top."""
    if git(ROOT, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise AssertionError(
            f"{ROOT} is a shallow clone: the update tests render earlier commits of the template. "
            "Run them in a full clone (`git fetch --unshallow`)."
        )
    subprocess.run(["git", "clone", "-q", str(ROOT), str(destination)], check=True)
    for name in _listed("--deleted"):
        (destination / name).unlink(missing_ok=True)
    for name in _listed("--cached", "--others", "--exclude-standard"):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    commit_all(destination, "The working tree under test")
    return destination
