#!/usr/bin/env python3
"""The template's two entry points; needs only Python 3.11+ with pip (and Node, redis-server and PostgreSQL for the tests).

    python dev.py render my-service   # render a project with the default answers
    python dev.py test [pytest args]  # install the test tools into .venv, run every test

Both create .venv on first use from the dependencies in pyproject.toml and reinstall
only when pyproject.toml or package-lock.json change.
"""

from __future__ import annotations

import hashlib
import os
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


def ensure_system_tool(command: str, package: str, hint: str) -> None:
    """A server the rendered projects' tests start (e.g. redis-server): installed with apt-get when
    missing and running as root (CI on a fresh machine), else a clear failure saying how to get it."""
    if shutil.which(command):
        return
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt, "install", "-y", "-q", "--no-install-recommends", package]
        print(f"Installing {package} with apt-get", flush=True)
        if subprocess.run(install, env=env, check=False).returncode != 0:  # package lists missing or stale
            subprocess.run([apt, "update", "-q"], env=env, check=False)
            subprocess.run(install, env=env, check=False)
    if not shutil.which(command):
        sys.exit(f"{command} is required by the tests (rendered projects start it): {hint}.")


def ensure_postgresql() -> None:
    """The PostgreSQL server binaries the rendered projects' tests start a server from, looked for
    where their local/postgres_server.py looks (Debian keeps them off PATH)."""
    folders = [Path(found).parent for found in [shutil.which("initdb")] if found]
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        folders.append(Path(bindir))
    folders += Path("/usr/lib/postgresql").glob("*/bin")  # Debian, Ubuntu
    for homebrew in (Path("/opt/homebrew/opt"), Path("/usr/local/opt")):  # postgresql@15 is not linked
        folders += homebrew.glob("postgresql@*/bin")
    if not any((folder / "initdb").is_file() and (folder / "postgres").is_file() for folder in folders):
        sys.exit(
            "PostgreSQL server binaries (initdb, postgres) are required by the tests (rendered projects "
            "with postgres start a server): install PostgreSQL 15 (Debian/Ubuntu: apt-get install "
            "postgresql; macOS: brew install postgresql@15)."
        )


def render(args: list[str]) -> int:
    if len(args) != 1:
        sys.exit("usage: python dev.py render DESTINATION")
    ensure_venv(None)
    # HEAD, not the latest release tag: this renders the template as checked out here.
    copier = [str(BIN / "copier"), "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
    return subprocess.call([*copier, str(ROOT), args[0]])


def test(args: list[str]) -> int:
    ensure_venv("test")
    ensure_isolated_tools()
    ensure_node_tools()
    ensure_system_tool(
        "redis-server",
        "redis-server",
        "install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)",
    )
    ensure_postgresql()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        args = ["-n", "auto", *args]  # renders are independent: use every core
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env)


def main() -> int:
    commands = {"render": render, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
