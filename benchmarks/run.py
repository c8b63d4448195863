#!/usr/bin/env python3
"""Speed and size of what the template renders, as ratios against references measured in this run.

    .venv/bin/python benchmarks/run.py [--repeat N] [--keep DIR]

- render: the default project and a 10-domain project, against Copier copying the same
  number of static files (its floor); target <= 1.5x.
- cold start: each rendered handler in a fresh process (import + first invocation against a
  local moto server), against a bare boto3 handler making the same DynamoDB call; target <= 1.3x.
- size: each function's code artifact zipped (target <= 200 KB) and the dependency layer
  beyond boto3 zipped (target <= 2 MB).

Needs the template's .venv (`python3 dev.py test` creates it) and PyPI for the layer build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "extensions"))

from copier import run_copy  # noqa: E402

import project_checks as checks  # noqa: E402

TARGETS = {"render": 1.5, "cold_start": 1.3, "artifact_kb": 200, "layer_mb": 2.0}


def timed_copy(src: Path, dst: Path, **kwargs) -> float:
    start = time.perf_counter()
    run_copy(str(src), str(dst), defaults=True, quiet=True, **kwargs)
    return time.perf_counter() - start


def count_files(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file())


def static_template(rendered: Path, where: Path) -> Path:
    """A template whose files are the rendered project's files, copied as static files:
    what Copier costs for the same number of files, paths and bytes without any rendering."""
    template = where / "static-template"
    shutil.copytree(rendered, template / "template", ignore=shutil.ignore_patterns(".copier-answers.yml"))
    (template / "copier.yml").write_text("_subdirectory: template\n")
    # A git repository like the real template, so both renders pay for Copier's clone.
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=template, check=True)
    subprocess.run([*git, "add", "-A"], cwd=template, check=True)
    subprocess.run([*git, "commit", "-qm", "static"], cwd=template, check=True)
    return template


def bench_render(repeat: int, work: Path) -> list[dict]:
    rows = []
    for label, data in [("defaults", {}), ("10 domains", {"domains": [f"domain_{i}" for i in range(10)]})]:
        times, files = [], 0
        for i in range(repeat):
            dst = work / f"render-{label.replace(' ', '-')}-{i}"
            times.append(timed_copy(ROOT, dst, data=data, unsafe=True, vcs_ref="HEAD"))
            files = count_files(dst)
        floor_template = static_template(dst, work / f"floor-{len(rows)}")
        floor = []
        for i in range(repeat):
            dst = work / f"floor-out-{len(rows)}-{i}"
            floor.append(timed_copy(floor_template, dst, vcs_ref="HEAD"))
        ratio = statistics.median(times) / statistics.median(floor)
        rows.append(
            {
                "case": f"render {label} ({files} files)",
                "seconds": statistics.median(times),
                "reference": statistics.median(floor),
                "ratio": ratio,
                "target": TARGETS["render"],
            }
        )
    return rows


BARE = """
import time, json, sys
t0 = time.perf_counter()
import boto3
client = boto3.client("dynamodb")
def handler(event, context):
    op = event["op"]
    table = event["table"]
    if op == "create":
        client.put_item(TableName=table, Item={"id": {"S": "bare-1"}, "name": {"S": "x"}})
        return {"statusCode": 201, "body": json.dumps({"id": "bare-1"})}
    if op == "get":
        return {"statusCode": 200, "body": json.dumps(client.get_item(TableName=table, Key={"id": {"S": "bare-1"}}).get("Item"))}
    if op == "list":
        return {"statusCode": 200, "body": json.dumps(client.scan(TableName=table, Limit=20)["Items"])}
    if op == "update":
        client.update_item(TableName=table, Key={"id": {"S": "bare-1"}}, UpdateExpression="SET #n = :v",
                           ExpressionAttributeNames={"#n": "name"}, ExpressionAttributeValues={":v": {"S": "y"}})
        return {"statusCode": 200, "body": "{}"}
    if op == "delete":
        client.delete_item(TableName=table, Key={"id": {"S": "bare-1"}})
        return {"statusCode": 204, "body": ""}
    return {"statusCode": 200, "body": json.dumps({"count": client.scan(TableName=table, Select="COUNT")["Count"]})}
handler(json.loads(sys.argv[1]), None)
print(time.perf_counter() - t0)
"""

RENDERED = """
import time, json, sys, importlib
t0 = time.perf_counter()
module, attribute, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
from local.context import context_for
handler = getattr(importlib.import_module(module), attribute)
result = handler(event, context_for("bench"))
assert (result or {}).get("statusCode", 200) < 500, result
print(time.perf_counter() - t0)
"""


def http_event(method: str, path: str, params: dict | None, body: dict | None) -> dict:
    return {
        "version": "2.0", "rawPath": path, "headers": {}, "pathParameters": params,
        "queryStringParameters": None, "body": json.dumps(body) if body else None,
        "requestContext": {"requestId": "bench", "http": {"method": method, "path": path}},
    }  # fmt: skip


def bench_cold_start(repeat: int, work: Path) -> list[dict]:
    project = work / "cold-start"
    run_copy(str(ROOT), str(project), defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    checks.sync(project)
    python = str(project / ".venv" / "bin" / "python")
    sys.path.insert(0, str(project))
    import logging

    from local import env as local_env  # the rendered project's local environment
    from local.routes import ADMIN_JOBS, ROUTES
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    port = 45000 + os.getpid() % 1000
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        environment = {**os.environ, **local_env.environment(endpoint), "PYTHONPATH": str(project)}

        os.environ.update(local_env.environment(endpoint))
        local_env.create_resources(endpoint)
        table = next(iter(local_env.TABLES))
        rows = []
        cases = []
        for method, path, target in ROUTES:
            op = target.rsplit(".", 1)[1].split("_", 1)[0]
            cases.append((target, op, method, path))
        for job, (target, _) in ADMIN_JOBS.items():
            cases.append((target, job, None, None))  # admin jobs: named by job
        for target, op, method, path in cases:
            module, attribute = target.rsplit(".", 1)
            rendered, bare = [], []
            for _ in range(repeat):
                record = _create(python, environment)
                if method is None:
                    event = {"count": 1} if op == "seed" else {}
                else:
                    params = {"id": record} if "{id}" in path else None
                    body = {"name": "bench"} if method in ("POST", "PUT") else None
                    event = http_event(method, path.replace("{id}", record), params, body)
                rendered.append(_seconds(python, environment, RENDERED, module, attribute, json.dumps(event)))
                reference = {"op": op if method else ("create" if op == "seed" else "report"), "table": table}
                bare.append(_seconds(python, environment, BARE, json.dumps(reference)))
            rows.append({"case": f"cold start {attribute if method else 'admin ' + op}", "seconds": statistics.median(rendered), "reference": statistics.median(bare),
                         "ratio": statistics.median(rendered) / statistics.median(bare), "target": TARGETS["cold_start"]})  # fmt: skip
        return rows
    finally:
        server.stop()


CREATE = """
import json
from local.context import context_for
from local.routes import ROUTES
import importlib
module, attribute = ROUTES[0][2].rsplit(".", 1)
event = {"version": "2.0", "rawPath": ROUTES[0][1], "headers": {}, "body": json.dumps({"name": "bench"}),
         "requestContext": {"requestId": "bench", "http": {"method": "POST", "path": ROUTES[0][1]}}}
print(json.loads(getattr(importlib.import_module(module), attribute)(event, context_for("seed"))["body"])["id"])
"""


def _seconds(python: str, environment: dict, script: str, *args: str) -> float:
    """Run a timing script in a fresh interpreter; it prints its own elapsed seconds last."""
    out = subprocess.run([python, "-c", script, *args], env=environment, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def _create(python: str, environment: dict) -> str:
    out = subprocess.run([python, "-c", CREATE], env=environment, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def bench_sizes(work: Path) -> list[dict]:
    project = work / "cold-start"
    if not (project / ".venv").exists():
        run_copy(str(ROOT), str(project), defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
        checks.sync(project)
    checks.run(
        [checks.tool("uv"), "run", "--no-sync", "python", "scripts/package.py"],
        project,
        checks.project_env(project),
    )
    rows = []
    for artifact in sorted((project / "build" / "functions").glob("*.zip")):
        kb = artifact.stat().st_size / 1024
        rows.append(
            {
                "case": f"artifact {artifact.stem} (zipped KB)",
                "seconds": kb,
                "reference": TARGETS["artifact_kb"],
                "ratio": kb / TARGETS["artifact_kb"],
                "target": 1.0,
            }
        )
    mb = (project / "build" / "layer.zip").stat().st_size / 1024 / 1024
    rows.append(
        {
            "case": "dependency layer beyond boto3 (zipped MB)",
            "seconds": mb,
            "reference": TARGETS["layer_mb"],
            "ratio": mb / TARGETS["layer_mb"],
            "target": 1.0,
        }
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep rendered projects in this folder")
    args = parser.parse_args()
    os.environ.setdefault("COPIER_SETTINGS_PATH", str(Path(tempfile.mkdtemp()) / "settings.yml"))
    Path(os.environ["COPIER_SETTINGS_PATH"]).write_text("{}\n")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows = bench_render(args.repeat, work) + bench_cold_start(args.repeat, work) + bench_sizes(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'case':<48} {'measured':>10} {'reference':>10} {'ratio':>7} {'target':>7}  ok")
    failures = 0
    for row in rows:
        ok = row["ratio"] <= row["target"]
        failures += not ok
        print(
            f"{row['case']:<48} {row['seconds']:>10.3f} {row['reference']:>10.3f} {row['ratio']:>6.2f}x {row['target']:>6.2f}x  {'yes' if ok else 'NO'}"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
