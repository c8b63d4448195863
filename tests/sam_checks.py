"""AWS SAM: offline validation and the inventory of what one stage's stack deploys."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import project_checks as checks
from iac_inventory import sam_inventory


def validate(project: Path) -> None:
    """cfn-lint, `sam validate --lint` and checkov on infra/template.yaml."""
    template = project / "infra" / "template.yaml"
    checks.run([checks.tool("cfn-lint"), str(template)], project)
    region = checks.load_answers(project)["aws_region"]
    sam = [checks.tool("sam"), "validate", "--lint", "--template-file", str(template), "--region", region]
    checks.run(sam, project)
    checks.checkov(project, "cloudformation", template)


def _stage_parameters(project: Path, stage: str) -> dict[str, str]:
    # The rendered infra/stage_params.py is what `make deploy` passes: use it, not a copy.
    spec = importlib.util.spec_from_file_location("stage_params", project / "infra" / "stage_params.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.overrides(stage)


def inventory(project: Path, stage: str) -> dict:
    answers = checks.load_answers(project)
    template = checks.load_cfn(project / "infra" / "template.yaml")
    parameters = _stage_parameters(project, stage)
    return sam_inventory(template, parameters, f"{answers['project_slug']}-{stage}", answers["aws_region"])
