"""Render the defaults and the pairwise matrix; each project must pass its own checks."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

import project_checks as checks
from conftest import ROOT, render
from matrix import matrix

DEFAULTS = {
    key: q["default"]
    for key, q in yaml.safe_load((ROOT / "copier.yml").read_text()).items()
    if not key.startswith("_")
    and isinstance(q.get("default"), (bool, str, list))
    and "{{" not in str(q.get("default"))
}


def _is_defaults(row: dict) -> bool:
    parsed = {k: yaml.safe_load(v) if k in ("domains", "stages") else v for k, v in DEFAULTS.items()}
    return all(parsed.get(k) == v for k, v in row.items())


# The defaults render is a row of its own (and shared with test_local_dev), so a matrix row
# that only repeats the defaults is dropped.
ROWS = [row for row in matrix() if not _is_defaults(row)]


def check_project(project) -> None:
    checks.lint_and_test(project)
    checks.validate_iac(project)
    checks.iac_matches_model(project)
    checks.build_functions(project, summary=True)
    checks.lint_workflows(project)


@pytest.mark.render
def test_defaults_pass_their_own_checks(default_project):
    check_project(default_project)
    answers = checks.load_answers(default_project)
    assert (answers["iac"], answers["layout"], answers["domains"]) == ("sam", "workspace", ["orders"])
    assert sorted(p.name for p in (default_project / "config").glob("*.json")) == [
        "dev.json",
        "prod.json",
        "staging.json",
    ]


@pytest.mark.render
def test_make_validate_refuses_a_bad_stage_config_first(default_project):
    path = default_project / "config" / "staging.json"
    original = path.read_text()
    config = json.loads(original)
    config.update(release="BlueGreen", reserved_concurrency=-3, alarm_email="ops")
    path.write_text(json.dumps(config))
    try:
        result = subprocess.run(
            ["make", "validate", f"UV={checks.tool('uv')}"],
            cwd=default_project,
            env={**os.environ, **checks.project_env(default_project)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        path.write_text(original)
    assert result.returncode != 0
    for key in ("release", "reserved_concurrency", "alarm_email"):
        assert f"config/staging.json: {key} is " in result.stderr
    assert 'allowed: one of "AllAtOnce"' in result.stderr
    assert "cfn-lint" not in result.stdout  # nothing was validated against a broken config


@pytest.mark.render
@pytest.mark.parametrize(
    "answers",
    ROWS,
    ids=lambda r: (
        "-".join(
            str(v) for k, v in r.items() if k in ("iac", "python_runtime", "layout", "log_level", "tracing")
        )
        + ("-all-services" if len(r.get("services", [])) > 1 else "")
    ),
)
def test_matrix_row_passes_its_own_checks(copie, answers):
    project = render(copie, answers)
    check_project(project)
    assert checks.load_answers(project)["iac"] == answers["iac"]
    for domain in answers["domains"]:
        assert domain in (project / "local" / "routes.py").read_text()
    for stage in answers["stages"]:
        config = json.loads((project / "config" / f"{stage}.json").read_text())
        assert config["log_level"] == answers["log_level"]
        assert config["tracing"] is answers["tracing"]


def test_matrix_covers_every_choice_and_every_pair():
    from itertools import combinations
    from math import prod

    from matrix import choice_questions, structural_questions

    rows = matrix()
    for name, values in choice_questions().items():
        for value in values:
            assert any(row[name] == value for row in rows), (name, value)
    questions = structural_questions()
    assert "iac" in questions and "layout" in questions
    for a, b in combinations(questions, 2):
        for va in questions[a]:
            for vb in questions[b]:
                assert any(row[a] == va and row[b] == vb for row in rows), (a, va, b, vb)
    assert len(rows) < prod(len(v) for v in questions.values())  # smaller than the product


def test_iam_check_catches_over_broad_policies():
    template = {
        "Resources": {
            "FnRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [
                        {
                            "PolicyDocument": {
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": "dynamodb:*",
                                        "Resource": {"Fn::GetAtt": ["T", "Arn"]},
                                    },
                                    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
                                ]
                            }
                        }
                    ]
                },
            },
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["FnRole", "Arn"]}},
            },
            "Other": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["FnRole", "Arn"]}, "Policies": ["AmazonS3FullAccess"]},
            },
        }
    }
    findings = checks.iam_violations(template)
    assert "FnRole: wildcard action dynamodb:*" in findings
    assert "FnRole: Resource '*' for ['s3:GetObject']" in findings
    assert "Other: uses SAM Policies instead of its own narrow role" in findings
    assert "FnRole: shared by several functions" in findings


ALL_SERVICES = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]


@pytest.mark.parametrize("layout", ["single", "workspace"])
@pytest.mark.parametrize("iac", ["sam", "cdk", "terraform", "serverless"])
def test_the_longest_names_render_code_that_passes_the_linter(copie, iac, layout):
    """The longest slug and domain the validators accept (30 characters with redis and a 3-letter
    stage, 24 for a domain) make the longest module paths and names: every rendered Python line
    must still fit the project's line length and format stably. The matrix rows carry shorter
    names; this renders only and runs ruff, so every tool and layout is cheap to cover."""
    answers = {
        "project_slug": "abcdefghij-klmnopqrst-uvwxyza",
        "domains": ["abcdefghijklmnopqrstuvwx", "orders"],
        "stages": ["dev", "prd"],
        "log_retention_days": {"dev": 7, "prd": 365},
        "services": ALL_SERVICES,
        "iac": iac,
        "layout": layout,
    }
    project = render(copie, answers)
    ruff = checks.tool("ruff")
    checks.run([ruff, "check", "--no-cache", "."], project)
    checks.run([ruff, "format", "--check", "--no-cache", "."], project)


def test_from_five_domains_the_tests_run_on_workers_with_the_iac_tests_on_one(copie):
    """From five domains the rendered suite runs under pytest-xdist, and its conftest.py groups the
    IaC's tests on one worker (they share one load of the IaC tooling): xdist reads the group from
    a marker the conftest adds, so a hook that ran after xdist's would silently spread them."""
    project = render(copie, {"domains": ["orders", "payments", "customers", "invoices", "shipments"]})
    checks.sync(project)
    out = checks.run(
        [
            checks.tool("uv"),
            "run",
            "--no-sync",
            "pytest",
            "-v",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "infra/tests",
        ],
        project,
        checks.project_env(project),
    )
    ran = [line.split() for line in out.splitlines() if line.startswith("[gw") and " PASSED " in line]
    assert len(ran) > 5, out
    assert {words[-1].rsplit("@", 1)[-1] for words in ran} == {"infra"}, out
    assert len({words[0] for words in ran}) == 1, out
