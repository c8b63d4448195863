"""Serverless Framework v3 checks for a rendered project.

`serverless package` runs offline for every stage with the CLI this repository pins
(node_modules/serverless, 3.40.0: v4 needs a login), then cfn-lint and checkov read the
packaged CloudFormation templates: the stage's (root) template and, with domain_stacks, each
domain's nested template (nested-<stack id>.json beside it, written by infra/domain-stacks.js).
The project's package-offline plugin skips the one AWS call packaging makes (the layer
lookup), so nothing here needs credentials or a network.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import yaml

import iac_inventory
import project_checks as checks

SERVERLESS = checks.ROOT / "node_modules" / "serverless" / "bin" / "serverless.js"
TEMPLATE = "cloudformation-template-update-stack.json"
NESTED = "nested-{}.json"  # a nested stack's template, beside TEMPLATE (infra/domain-stacks.js)
LAMBDA = "AWS::Lambda::Function"
# What holds data: it never moves out of the stage's stack (a move would replace it).
DATA_KINDS = {
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::Events::EventBus",
    "AWS::SNS::Topic",
    "AWS::Cognito::UserPool",
    "AWS::SSM::Parameter",
    "AWS::SecretsManager::Secret",
    "AWS::RDS::DBCluster",
    "AWS::ElastiCache::ServerlessCache",
}
OFFLINE = {
    "SLS_PACKAGE_OFFLINE": "1",  # the project's infra/package-offline.js plugin
    "SLS_TELEMETRY_DISABLED": "1",
    "SLS_NOTIFICATIONS_MODE": "off",
    "SLS_AWS_REQUEST_MAX_RETRIES": "0",  # an unexpected AWS call fails at once, not after 20 s
}


def _cli() -> list[str]:
    if not SERVERLESS.exists():
        raise checks.CheckFailed(
            "serverless is not installed: run `npm ci` in the template repository (see README)."
        )
    return [checks.tool("node"), str(SERVERLESS)]


def _package(project: Path, stages: list[str], into: Path) -> dict[str, Path]:
    """`serverless package --stage <stage>` for each stage into into/<stage>/."""
    from model import build_model

    model = build_model(checks.load_answers(project))
    build = project / "build"
    if not all((build / "functions" / f"{a.name}.zip").exists() for a in model.artifacts):
        checks.build_functions(project)
    # The real layer needs its dependencies downloaded; any valid zip packages the same way.
    layer = build / "layer.zip"
    placeholder = not layer.exists()
    if placeholder:
        with zipfile.ZipFile(layer, "w") as archive:
            archive.writestr("python/.placeholder", "")
    cli = _cli()
    templates = {}
    try:
        # One at a time: each run starts by clearing infra/.serverless, its working folder.
        for stage in stages:
            out = into / stage
            checks.run([*cli, "package", "--stage", stage, "--package", str(out)], project / "infra", OFFLINE)
            templates[stage] = out / TEMPLATE
    finally:
        if placeholder:
            layer.unlink()
    return templates


# Packaged templates per (project, fingerprint of what packaging reads): validate and the
# inventory of every stage share one `serverless package` per stage.
_PACKAGED: dict[tuple[str, str], dict[str, Path]] = {}
_WORK = tempfile.TemporaryDirectory(prefix="sls-")


def _fingerprint(project: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(
        [
            *(project / "infra").glob("*.yml"),
            *(project / "infra").glob("*.js"),
            *project.glob("config/*.json"),
        ]
    ):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def packaged(project: Path) -> dict[str, Path]:
    """stage -> the CloudFormation template `serverless package --stage <stage>` wrote
    (packaged once while infra/ and config/ are unchanged)."""
    key = (str(project.resolve()), _fingerprint(project))
    if key not in _PACKAGED:
        stages = list(checks.load_answers(project)["stages"])
        _PACKAGED[key] = _package(project, stages, Path(tempfile.mkdtemp(dir=_WORK.name)))
    return _PACKAGED[key]


def stacks(project: Path, stage: str) -> dict[str, dict]:
    """Every template one stage deploys: "root" (the stage's stack) and each nested stack's, by
    its logical id in the root."""
    root_path = packaged(project)[stage]
    root = json.loads(root_path.read_text())
    out = {"root": root}
    for stack_id in iac_inventory.nested_stacks(root):
        path = root_path.parent / NESTED.format(stack_id)
        if not path.exists():
            raise checks.CheckFailed(f"serverless, stage {stage}: {stack_id} has no template {path.name}")
        out[stack_id] = json.loads(path.read_text())
    return out


def validate(project: Path) -> None:
    """Package every stage offline, then cfn-lint and checkov on every packaged template."""
    with tempfile.TemporaryDirectory(prefix="sls-") as tmp:
        templates = packaged(project)
        # One cfn-lint and one checkov run over all stages: <tmp>/templates/<stage>[-<stack id>].json
        folder = Path(tmp) / "templates"
        folder.mkdir()
        for stage, template in templates.items():
            shutil.copy(template, folder / f"{stage}.json")
            for stack_id in stacks(project, stage):
                if stack_id != "root":
                    shutil.copy(
                        template.parent / NESTED.format(stack_id), folder / f"{stage}-{stack_id}.json"
                    )
        checks.run([checks.tool("cfn-lint"), *sorted(map(str, folder.glob("*.json")))], project)
        checks.checkov(project, "cloudformation", folder)
        service = yaml.safe_load((project / "infra" / "serverless.yml").read_text())
        declared = service["resources"]["Resources"]
        for stage in templates:
            deployed = stacks(project, stage)
            findings = _nesting_findings(deployed, service)
            findings += _release_findings(deployed, service["custom"]["releases"]["alias"])
            # Over the stacks as deployed together: a role's resources are the root's, passed in.
            children = {stack_id: t for stack_id, t in deployed.items() if stack_id != "root"}
            findings += _role_findings(iac_inventory.flatten(deployed["root"], children), declared)
            if findings:
                raise checks.CheckFailed(f"serverless, stage {stage}: " + "; ".join(findings))


def _nesting_findings(templates: dict[str, dict], service: dict) -> list[str]:
    """What CloudFormation would only refuse at deploy time (a nested stack's parameters differ
    from the ones the root passes), and what the layout promises: each domain's functions in its
    own stack (custom.domainStacks), the admin jobs and every data-holding resource in the root."""
    findings = []
    nested = iac_inventory.nested_stacks(templates["root"])
    for stack_id, stack in nested.items():
        passed = set(stack["Properties"].get("Parameters", {}))
        declared = set(templates[stack_id].get("Parameters", {}))
        if passed != declared:
            findings.append(f"{stack_id}: parameters {sorted(declared)}, the root passes {sorted(passed)}")
    expected = service.get("custom", {}).get("domainStacks", {})
    if set(expected) != set(nested):
        findings.append(f"nested stacks {sorted(nested)}, serverless.yml names {sorted(expected)}")
    for stack_id, template in templates.items():
        resources = template["Resources"]
        functions = {k.removesuffix("LambdaFunction") for k, r in resources.items() if r["Type"] == LAMBDA}
        if stack_id == "root":
            stayed = functions & {key for keys in expected.values() for key in keys}
            if stayed:
                findings.append(f"the domain functions {sorted(stayed)} stayed in the stage's stack")
            continue
        if functions != set(expected.get(stack_id, ())):
            findings.append(
                f"{stack_id} holds the functions {sorted(functions)}, not {expected.get(stack_id)}"
            )
        data = sorted(k for k, r in resources.items() if r["Type"] in DATA_KINDS)
        if data:
            findings.append(f"{stack_id} holds data {data}: data stays in the stage's stack")
    return findings


def _of_type(resources: dict, kind: str) -> dict:
    return {k: r for k, r in resources.items() if r["Type"] == kind}


def _invokes(node: object, aliases: dict[str, str], alias: str) -> str | None:
    """The function a trigger's target (an ARN expression) invokes through ``alias``, else None."""
    if isinstance(node, dict) and "Ref" in node:
        return aliases.get(node["Ref"])
    if isinstance(node, dict) and "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        if separator == ":" and len(parts) == 2 and parts[1] == alias and "Fn::GetAtt" in parts[0]:
            return parts[0]["Fn::GetAtt"][0]
    return None


def _release_findings(templates: dict[str, dict], alias: str) -> list[str]:
    """What releases.js promises in every stack: each function's alias on a version of it, moved
    by a deployment group of the same stack that rolls back on the function's errors alarm; every
    trigger invoking an alias; a function's alarms in its function's stack."""
    findings = []
    for stack_id, template in templates.items():
        resources = template["Resources"]
        of_type = functools.partial(_of_type, resources)
        aliases = {}  # alias logical id -> its function's logical id
        for key, resource in of_type("AWS::Lambda::Alias").items():
            properties = resource["Properties"]
            function = properties["FunctionName"]["Ref"]
            version = resources.get(properties["FunctionVersion"]["Fn::GetAtt"][0], {})
            if version.get("Properties", {}).get("FunctionName") != {"Ref": function}:
                findings.append(f"{stack_id}: {key} is not on a version of {function}")
            update = resource.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate", {})
            group = resources.get(update.get("DeploymentGroupName", {}).get("Ref"), {}).get("Properties", {})
            watched = [a["Name"].get("Ref") for a in group.get("AlarmConfiguration", {}).get("Alarms", [])]
            errors = [
                k
                for k in watched
                if resources.get(k, {}).get("Properties", {}).get("MetricName") == "Errors"
                and resources[k]["Properties"]["Dimensions"]
                == [{"Name": "FunctionName", "Value": {"Ref": function}}]
            ]
            if not errors or group.get("AutoRollbackConfiguration", {}).get("Enabled") is not True:
                findings.append(
                    f"{stack_id}: {key} has no deployment group rolling back on {function}'s errors"
                )
            if properties["Name"] == alias:
                aliases[key] = function
        missing = set(of_type(LAMBDA)) - set(aliases.values())
        if missing:
            findings.append(f"{stack_id}: no {alias} alias for {sorted(missing)}")
        targets = [
            *(
                (k, r["Properties"]["IntegrationUri"])
                for k, r in of_type("AWS::ApiGatewayV2::Integration").items()
            ),
            *(
                (k, r["Properties"]["FunctionName"])
                for k, r in of_type("AWS::Lambda::EventSourceMapping").items()
            ),
            *((k, r["Properties"]["FunctionName"]) for k, r in of_type("AWS::Lambda::Permission").items()),
            *((k, r["Properties"]["Target"]["Arn"]) for k, r in of_type("AWS::Scheduler::Schedule").items()),
            *(
                (k, target["Arn"])
                for k, r in of_type("AWS::Events::Rule").items()
                for target in r["Properties"].get("Targets", [])
                if "Fn::GetAtt" in json.dumps(target["Arn"])  # a function's, not a topic's
            ),
        ]
        for key, target in targets:
            if _invokes(target, aliases, alias) is None:
                findings.append(f"{stack_id}: {key} does not invoke a function's {alias} alias")
        for key, alarm in of_type("AWS::CloudWatch::Alarm").items():
            properties = alarm["Properties"]
            metric = (
                properties["Metrics"][0]["MetricStat"]["Metric"] if "Metrics" in properties else properties
            )
            value = metric["Dimensions"][0]["Value"]
            if metric["Dimensions"][0]["Name"] == "FunctionName" and value.get("Ref") not in of_type(LAMBDA):
                findings.append(f"{stack_id}: {key} watches a function of another stack ({value})")
    outputs = len(templates["root"].get("Outputs", {}))
    if outputs > 200:
        findings.append(f"the stage's stack has {outputs} outputs; CloudFormation allows 200")
    return findings


def _role_findings(template: dict, declared: dict) -> list[str]:
    """Over-broad IAM, plus what only the framework could add to the roles, queues and buses
    that serverless.yml declares in `resources` (``declared``): its shared execution role, a
    statement (an `sqs` event adds one when that role exists), a queue, a bus (an `eventBridge`
    event naming its bus by a string creates one), an invoke permission open to any rule."""
    resources = template["Resources"]
    findings = checks.iam_violations(template)
    if "IamRoleLambdaExecution" in resources:
        findings.append("the framework created its shared IamRoleLambdaExecution role")
    roles = [
        json.dumps(r["Properties"].get("Role"))
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    if len(set(roles)) != len(roles):
        findings.append("a role is shared by several functions")
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Permission" and "SourceArn" not in properties:
            findings.append(f"{logical_id}: {properties.get('Principal')} may invoke from any source")
    for kind in ("AWS::IAM::Role", "AWS::SQS::Queue", "AWS::Events::EventBus"):
        added = {k for k, r in resources.items() if r["Type"] == kind} - set(declared)
        if added:
            findings.append(f"the framework added {kind} {sorted(added)}, not declared in resources")
    for logical_id, role in declared.items():
        packaged = resources.get(logical_id, {}).get("Properties")
        if role["Type"] == "AWS::IAM::Role" and _actions(packaged) != _actions(role["Properties"]):
            findings.append(f"{logical_id}: the framework changed the statements serverless.yml declares")
    return findings


def _actions(node: object) -> list[list[str]]:
    """Every statement's actions under ``node``, in order (both branches of an Fn::If)."""
    if isinstance(node, list):
        return [actions for item in node for actions in _actions(item)]
    if not isinstance(node, dict):
        return []
    action = node.get("Action")
    own = [] if action is None else [sorted(action if isinstance(action, list) else [action])]
    return own + _actions([value for key, value in node.items() if key != "Action"])


def cloudformation(project: Path, stage: str) -> dict:
    """The CloudFormation template `serverless package --stage <stage>` writes, as a dict."""
    return json.loads(packaged(project)[stage].read_text())


def inventory(project: Path, stage: str) -> dict:
    """The parity inventory of one stage's packaged templates, nested stacks flattened into the
    root (see tests/iac_inventory.py)."""
    from model import build_model

    model = build_model(checks.load_answers(project))
    children = stacks(project, stage)
    template = iac_inventory.flatten(children.pop("root"), children)
    return iac_inventory.cloudformation_inventory(template, {}, model.prefix(stage), model.region)
