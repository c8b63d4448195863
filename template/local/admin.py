"""Run an admin job by hand: locally against `make dev`'s emulator, or in a deployed stage.

python -m local.admin seed                 # local: `make dev` must be running
python -m local.admin seed --stage dev     # invokes the deployed function
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import urllib.request

from local import env
from local.context import context_for
from local.routes import ADMIN_JOBS


def run_local(job: str, payload: dict, aws_endpoint: str) -> dict:
    try:
        urllib.request.urlopen(aws_endpoint, timeout=2)
    except OSError:
        sys.exit(f"No local AWS emulator at {aws_endpoint}: start it with `make dev` in another terminal.")
    os.environ.update(env.environment(aws_endpoint))
    module, _, attribute = ADMIN_JOBS[job][0].rpartition(".")
    return getattr(importlib.import_module(module), attribute)(payload, context_for(f"admin-{job}"))


def run_remote(job: str, payload: dict, stage: str) -> dict:
    import boto3
    from botocore.config import Config

    # Every IaC tool names functions <service>-<stage>-<name>, so no stack lookup is needed.
    function_name = f"{env.SERVICE}-{stage}-{ADMIN_JOBS[job][1]}"
    # Jobs may run for minutes: wait for them, and never retry (a retry would run the job twice).
    config = Config(read_timeout=310, retries={"max_attempts": 0})
    lambda_client = boto3.client("lambda", region_name=env.REGION, config=config)
    try:
        # Through the alias, as its schedule invokes it: the version the last release moved it to.
        response = lambda_client.invoke(
            FunctionName=function_name, Qualifier=env.ALIAS, Payload=json.dumps(payload).encode()
        )
    except lambda_client.exceptions.ResourceNotFoundException:
        sys.exit(f"No function {function_name}:{env.ALIAS}: deploy the stage first with `make deploy STAGE={stage}`.")
    result = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        sys.exit(f"Job {job} failed in {stage}: {json.dumps(result)}")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run an admin job once.")
    parser.add_argument("job", choices=sorted(ADMIN_JOBS))
    parser.add_argument("--stage", default="local", help="'local' (default) or a deployed stage")
    parser.add_argument("--payload", default="{}", help="JSON event for the job, e.g. '{\"count\": 10}'")
    parser.add_argument("--aws-endpoint", default=f"http://127.0.0.1:{int(os.environ.get('PORT', '3000')) + 1}")
    args = parser.parse_args(argv)
    payload = json.loads(args.payload)
    if args.stage == "local":
        result = run_local(args.job, payload, args.aws_endpoint)
    else:
        result = run_remote(args.job, payload, args.stage)
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
