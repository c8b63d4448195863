"""AWS CDK (Python) checks for a rendered project.

The project's own app (`python -m infra.app`, in the project's uv environment) synthesizes
every stage offline into a temporary cloud assembly, from empty zips standing in for
`make build`'s output (templates only name assets by hash). cfn-lint then reads each stack's
template (each stage's and, with `domain_stacks`, each domain's nested one), and the inventory
is reduced from the same templates, the nested ones inlined. The project's own tests run
cdk-nag on the app.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import zipfile
from pathlib import Path

import iac_inventory
import project_checks as checks

# lambda.Function always adds a DependsOn on its role; redundant with the Role GetAtt, harmless.
CFN_LINT_IGNORED = ["W3005"]
_SYNTHESIZED: dict[tuple[str, str], Path] = {}
_WORK = tempfile.TemporaryDirectory(prefix="cdk-checks-")  # removed when the test run ends


def _quiet_jsii() -> dict[str, str]:
    """jsii's end-of-life banner is silenced per Node major version: name the running one."""
    version = subprocess.run([checks.tool("node"), "--version"], capture_output=True, text=True).stdout
    return {
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": version.strip().lstrip("v").split(".")[0],
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }


def _fingerprint(project: Path) -> str:
    digest = hashlib.sha256()
    # infra/*.json: what the app reads besides its code (the dashboard's body)
    app_files = [*project.glob("infra/*.py"), *project.glob("infra/*.json"), *project.glob("config/*.json")]
    for path in sorted([project / "cdk.json", *app_files]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def synth(project: Path) -> Path:
    """The cloud assembly of every stage (cached while infra/ and config/ are unchanged)."""
    key = (str(project.resolve()), _fingerprint(project))
    if key in _SYNTHESIZED:
        return _SYNTHESIZED[key]
    from model import build_model

    model = build_model(checks.load_answers(project))
    work = Path(tempfile.mkdtemp(dir=_WORK.name))
    build, outdir = work / "build", work / "cdk.out"
    for path in [*(build / "functions" / f"{a.name}.zip" for a in model.artifacts), build / "layer.zip"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        zipfile.ZipFile(path, "w").close()
    checks.sync(project)
    env = {
        **checks.project_env(project),
        **_quiet_jsii(),
        "CDK_OUTDIR": str(outdir),  # read by cdk.App, as when the CDK CLI runs the app
        "CDK_CONTEXT_JSON": json.dumps({"build_dir": str(build)}),
    }
    checks.run([checks.tool("uv"), "run", "--no-sync", "python", "-m", "infra.app"], project, env)
    missing = [s for s in model.stage_names if not (outdir / f"{model.prefix(s)}.template.json").exists()]
    if missing:
        raise checks.CheckFailed(f"the CDK app synthesized no stack for stages {missing} in {outdir}")
    _SYNTHESIZED[key] = outdir
    return outdir


def validate(project: Path) -> None:
    """Synthesize every stage offline, then cfn-lint each stack's template, the nested ones included."""
    # <slug>-<stage>.template.json and, with domain_stacks, one *.nested.template.json per domain
    templates = sorted(str(p) for p in synth(project).glob("*.template.json"))
    checks.run([checks.tool("cfn-lint"), "--ignore-checks", *CFN_LINT_IGNORED, "--", *templates], project)


def cloudformation(project: Path, stage: str) -> dict:
    """The synthesized CloudFormation template of one stage's stack (with its nested ones: stacks())."""
    return stacks(project, stage)["root"]


def stacks(project: Path, stage: str) -> dict[str, dict]:
    """Every template one stage deploys: its stack ("root") and each domain's nested stack, by the
    nested stack's logical id (the domain's stack_id).

    The root names a nested template by the object key of its TemplateURL (<asset hash>.json); the
    stack's asset manifest says which file in the assembly that asset is.
    """
    outdir = synth(project)
    name = f"{checks.load_answers(project)['project_slug']}-{stage}"
    root = json.loads((outdir / f"{name}.template.json").read_text())
    files = json.loads((outdir / f"{name}.assets.json").read_text())["files"]
    found = {"root": root}
    for stack_id, resource in iac_inventory.nested_stacks(root).items():
        # https://s3.<region>.<suffix>/<bucket>/<key>, joined from parts; the key is the last one's tail
        url = resource["Properties"]["TemplateURL"]["Fn::Join"][1]
        asset = url[-1].rsplit("/", 1)[-1].removesuffix(".json")
        found[stack_id] = json.loads((outdir / files[asset]["source"]["path"]).read_text())
    return found


def inventory(project: Path, stage: str) -> dict:
    """The parity inventory of one stage's synthesized stacks, nested ones inlined (see tests/iac_inventory.py)."""
    answers = checks.load_answers(project)
    templates = stacks(project, stage)
    root = templates.pop("root")
    flat = iac_inventory.flatten(root, templates)
    return iac_inventory.cloudformation_inventory(
        flat, {}, f"{answers['project_slug']}-{stage}", answers["aws_region"]
    )
