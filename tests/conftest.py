"""Shared setup for the template's tests.

A developer's own Copier settings must not change what the tests render, so
COPIER_SETTINGS_PATH points at an empty file before Copier is imported.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_settings = Path(tempfile.mkdtemp(prefix="copier-settings-")) / "settings.yml"
_settings.write_text("{}\n")
os.environ["COPIER_SETTINGS_PATH"] = str(_settings)
os.environ.setdefault("SAM_CLI_TELEMETRY", "0")
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
os.environ.pop("VIRTUAL_ENV", None)  # uv in rendered projects must use their own .venv

# extensions/ are loaded by Copier from file paths; tests import them the same way.
sys.path.insert(0, str(ROOT / "extensions"))
sys.path.insert(0, str(ROOT / "tests"))


import pytest  # noqa: E402


def render(copie, answers: dict) -> Path:
    result = copie.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    return result.project_dir


@pytest.fixture(scope="session")
def default_project(copie_session) -> Path:
    """The project `copier copy --defaults` renders, synced once for every test that needs it."""
    import project_checks

    project = render(copie_session, {})
    project_checks.sync(project)
    return project
