"""The template works with the oldest Copier that copier.yml admits (_min_copier_version)."""

from __future__ import annotations

import filecmp
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from conftest import ROOT


def _differences(left, right) -> list[str]:
    out = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        out.extend(
            f"{prefix}{name}"
            for name in cmp.left_only + cmp.right_only + cmp.diff_files
            if name != ".copier-answers.yml"
        )
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right), "")
    return out


@pytest.mark.render
def test_oldest_supported_copier_renders_the_same_project(tmp_path):
    minimum = yaml.safe_load((ROOT / "copier.yml").read_text())["_min_copier_version"]
    env_dir = tmp_path / "copier-min"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"copier=={minimum}", "copier-template-extensions>=0.3,<0.4"], check=True)
    old = str(env_dir / "bin" / "copier")
    new = str(Path(sys.executable).parent / "copier")
    for name, options in [
        ("defaults", []),
        ("single", ["--data", "layout=single", "--data", "domains=[orders, payments]"]),
    ]:
        outputs = []
        for label, copier in [("min", old), ("current", new)]:
            destination = tmp_path / f"{name}-{label}"
            subprocess.run(
                [
                    copier,
                    "copy",
                    "--trust",
                    "--defaults",
                    "--vcs-ref",
                    "HEAD",
                    *options,
                    str(ROOT),
                    str(destination),
                ],
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
            outputs.append(destination)
        assert _differences(*outputs) == [], f"Copier {minimum} renders {name} differently"
    refused = subprocess.run(
        [
            old,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            "--data",
            "project_slug=1abc",
            str(ROOT),
            str(tmp_path / "bad"),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 1
    assert "starts with a digit" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "bad").exists()
