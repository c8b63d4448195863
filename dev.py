#!/usr/bin/env python3
"""The template's two entry points; needs only Python 3.11+ with pip (and README.md's list for the tests).

    python dev.py render my-service   # render a project with the default answers
    python dev.py test [pytest args]  # install the test tools into .venv, run every test
    python dev.py release 1.2.0       # cut a release: CHANGELOG section, commit, tag v1.2.0

render and test create .venv on first use from the dependencies in pyproject.toml and reinstall
only when pyproject.toml or package-lock.json change.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - say so clearly instead of failing on tomllib
    sys.exit(f"Python 3.11 or newer is required; this is {sys.version.split()[0]}.")

import tomllib  # noqa: E402

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def _stamp(*files: Path) -> str:
    return hashlib.sha256(b"".join(f.read_bytes() for f in files if f.exists())).hexdigest()


def ensure_venv(extra: str | None) -> None:
    """Create .venv and install pyproject's dependencies (plus an optional extra) when they changed."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(pyproject["dependencies"])
    if extra:
        requirements += pyproject["optional-dependencies"][extra]
    marker = VENV / f".installed-{extra or 'base'}"
    stamp = _stamp(ROOT / "pyproject.toml")
    if marker.exists() and marker.read_text() == stamp:
        return
    if not PYTHON.exists():
        print(f"Creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"Installing {len(requirements)} packages into {VENV}", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
    )
    marker.write_text(stamp)


def ensure_isolated_tools() -> None:
    """Each requirement of the `isolated` extra in a venv of its own: .venv/isolated/<name>/bin."""
    stamp = _stamp(ROOT / "pyproject.toml")
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["isolated"]:
        name = requirement.split(">")[0].split("=")[0].split("<")[0].strip()
        home = VENV / "isolated" / name
        marker = home / ".installed"
        if marker.exists() and marker.read_text() == stamp:
            continue
        print(f"Installing {requirement} into {home}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        python = home / ("Scripts" if os.name == "nt" else "bin") / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
            check=True,
        )
        marker.write_text(stamp)


def ensure_node_tools() -> None:
    npm = shutil.which("npm")
    if not npm:
        sys.exit(
            "npm (Node.js 18+) is required by the tests to lint rendered GitHub Actions workflows: install Node.js."
        )
    marker = ROOT / "node_modules" / ".installed"
    stamp = _stamp(ROOT / "package.json", ROOT / "package-lock.json")
    if marker.exists() and marker.read_text() == stamp:
        return
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    marker.write_text(stamp)


def _git(*args: str) -> str | None:
    """Output of a git command in this checkout, or None when this is not a git checkout."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:  # no git on the machine
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _exclude_from_git(destination: Path) -> None:
    """Keep a project rendered inside this checkout out of `git status` (.git/info/exclude, never
    committed): a dirty template makes Copier render uncommitted files and record a commit that
    exists nowhere, which the project's first `copier update` cannot find."""
    if not destination.is_relative_to(ROOT) or _git("rev-parse", "--git-dir") is None:
        return
    exclude = Path(_git("rev-parse", "--git-path", "info/exclude"))
    exclude = exclude if exclude.is_absolute() else ROOT / exclude
    entry = f"/{destination.relative_to(ROOT).as_posix()}/"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if entry not in lines:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("\n".join([*lines, entry]) + "\n")


def render(args: list[str]) -> int:
    if len(args) != 1:
        sys.exit("usage: python dev.py render DESTINATION")
    ensure_venv(None)
    destination = Path(args[0]).resolve()
    _exclude_from_git(destination)
    copier = [str(BIN / "copier"), "copy", "--trust", "--defaults"]
    # The commit checked out here, by its id: Copier records it in the project, and a later
    # `copier update` finds it. (HEAD by name would also pull in uncommitted changes.)
    head = _git("rev-parse", "HEAD")
    if head:
        copier += ["--vcs-ref", head]
        if _git("status", "--porcelain"):
            print("Uncommitted changes in the template are not rendered: commit them first.", flush=True)
    return subprocess.call([*copier, str(ROOT), str(destination)])


def test(args: list[str]) -> int:
    ensure_venv("test")
    ensure_isolated_tools()
    ensure_node_tools()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        args = ["-n", "auto", *args]  # renders are independent: use every core
    if not any(a.startswith("--durations") for a in args):
        args = ["--durations=15", *args]  # where CI's time goes, in its log
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env)


# The PEP 440 versions releases use: final releases and a/b/rc pre-releases, nothing else.
RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:(a|b|rc)(\d+))?$")
UNRELEASED = "## Unreleased\n"


def _release_key(version: str) -> tuple:
    major, minor, patch, pre, number = RELEASE.match(version).groups()
    # A pre-release sorts before its final release: a < b < rc < final.
    return (int(major), int(minor), int(patch), ("a", "b", "rc", "~").index(pre or "~"), int(number or 0))


def release(args: list[str]) -> int:
    """Move CHANGELOG's Unreleased notes under the new version, commit, and tag v<version>."""
    if len(args) != 1 or not RELEASE.match(args[0].removeprefix("v")):
        sys.exit("usage: python dev.py release X.Y.Z (PEP 440: 1.2.0, or a pre-release such as 1.2.0rc1)")
    version = args[0].removeprefix("v")
    if _git("rev-parse", "--git-dir") is None:
        sys.exit("A release is a git tag: run this in a clone of the template.")
    if _git("status", "--porcelain"):
        sys.exit("The working tree has uncommitted changes: commit or stash them, then release.")
    tags = [t.removeprefix("v") for t in (_git("tag", "--list", "v*") or "").split()]
    newer = [t for t in tags if RELEASE.match(t) and _release_key(t) >= _release_key(version)]
    if newer:
        sys.exit(
            f"v{version} is not newer than the release v{max(newer, key=_release_key)}: pick a higher version."
        )
    changelog = ROOT / "CHANGELOG.md"
    text = changelog.read_text()
    start = text.find(UNRELEASED)
    end = text.find("\n## ", start + len(UNRELEASED))
    notes = text[start + len(UNRELEASED) : end if end >= 0 else len(text)].strip() if start >= 0 else ""
    if not notes:
        sys.exit("CHANGELOG.md has no notes under '## Unreleased': say what the release changes first.")
    heading = f"## {version} ({datetime.date.today().isoformat()})"
    changelog.write_text(text.replace(UNRELEASED, f"{UNRELEASED}\n{heading}\n", 1))
    subprocess.run(
        ["git", "commit", "-q", "-m", f"Release {version}", "--", "CHANGELOG.md"], cwd=ROOT, check=True
    )
    subprocess.run(["git", "tag", "-a", f"v{version}", "-m", f"Release {version}"], cwd=ROOT, check=True)
    print(f"Tagged v{version}. Publish it with: git push origin HEAD v{version}")
    return 0


def main() -> int:
    commands = {"render": render, "test": test, "release": release}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
