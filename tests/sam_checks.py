"""AWS SAM: offline validation and the inventory of what one stage's stacks deploy.

With domain_stacks, infra/template.yaml is the stage's (root) stack and each domain's functions
are a nested stack (an AWS::CloudFormation::Stack whose TemplateURL is infra/domains/<domain>.yaml).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import project_checks as checks
from iac_inventory import cloudformation_inventory, flatten, nested_stacks, sam_transform


def templates(project: Path) -> dict[str, Path]:
    """Every template a stage deploys: "root", then each nested stack's by its logical id."""
    root = project / "infra" / "template.yaml"
    found = {"root": root}
    for stack_id, stack in nested_stacks(checks.load_cfn(root)).items():
        found[stack_id] = root.parent / stack["Properties"]["TemplateURL"]
    return found


def validate(project: Path) -> None:
    """cfn-lint, `sam validate --lint` and checkov on every template (none follows a TemplateURL)."""
    found = list(templates(project).values())
    checks.run([checks.tool("cfn-lint"), *map(str, found)], project)
    region = checks.load_answers(project)["aws_region"]
    for path in found:
        sam = [checks.tool("sam"), "validate", "--lint", "--template-file", str(path), "--region", region]
        checks.run(sam, project)
    for path in found:
        # Relative, as `make validate` passes them: checkov leaks the file's path into SAM Globals'
        # variables, and an absolute path can match its AWS secret key pattern (40 characters).
        checks.checkov(project, "cloudformation", path.relative_to(project))


def _stage_parameters(project: Path, stage: str) -> dict[str, str]:
    # The rendered infra/stage_params.py is what `make deploy` passes: use it, not a copy.
    spec = importlib.util.spec_from_file_location("stage_params", project / "infra" / "stage_params.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.overrides(stage)


def stacks(project: Path, stage: str) -> dict[str, dict]:
    """Every template of one stage as `sam deploy` sends it: transformed, local paths packaged."""
    region = checks.load_answers(project)["aws_region"]
    parameters = _stage_parameters(project, stage)
    deployed = {}
    for stack_id, path in templates(project).items():
        template = checks.load_cfn(path)
        for nested_id, stack in nested_stacks(template).items():  # `sam package` uploads them to S3
            stack["Properties"]["TemplateURL"] = (
                f"https://s3.{region}.amazonaws.com/artifacts/{nested_id}.template"
            )
        deployed[stack_id] = sam_transform(template, parameters, region)
    return deployed


def inventory(project: Path, stage: str) -> dict:
    answers = checks.load_answers(project)
    deployed = stacks(project, stage)
    root = deployed.pop("root")
    template = flatten(root, deployed) if deployed else root
    parameters = _stage_parameters(project, stage)
    return cloudformation_inventory(
        template, parameters, f"{answers['project_slug']}-{stage}", answers["aws_region"]
    )
