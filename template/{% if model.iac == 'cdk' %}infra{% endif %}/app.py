"""The CDK app: one stack per config/<stage>.json, each named <service>-<stage>.

    make synth                                       # every stage into cdk.out/ (uv run python -m infra.app)
    make deploy STAGE=<stage>                        # npx --no-install cdk deploy <service>-<stage>

cdk.json runs this app with `uv run`: make puts its pinned uv first on PATH for the CDK CLI.

Function code and the dependency layer are the zips `make build` writes to build/; the
`build_dir` context value points the app at another folder (the tests use empty zips).
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import App

from infra import model, settings
from infra.stack import ServiceStack

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# The feature flags in cdk.json (the set `cdk init` writes for this aws-cdk-lib). The CLI passes
# them to the app; reading them here gives `python -m infra.app` (make validate, the tests) the
# same templates as `cdk deploy`.
FEATURE_FLAGS = json.loads((ROOT / "cdk.json").read_text())["context"]
# Code artifacts the functions ship in: build/functions/<artifact>.zip
ARTIFACTS = sorted({f.artifact for d in model.DOMAINS for f in d.functions} | {j.artifact for j in model.ADMIN_JOBS})


def artifacts(build_dir: Path) -> tuple[dict[str, Path], Path]:
    """(artifact -> function zip, layer zip) in build_dir, or SystemExit naming what is missing."""
    code = {name: build_dir / "functions" / f"{name}.zip" for name in ARTIFACTS}
    layer = build_dir / "layer.zip"
    missing = [str(path) for path in [*code.values(), layer] if not path.is_file()]
    if missing:
        raise SystemExit(
            f"Missing build artifacts: {', '.join(missing)}. Run `make build` first: the stacks deploy "
            "the zips it writes (or set the build_dir context value to a folder that has them)."
        )
    return code, layer


def build_app(build_dir: Path | None = None, outdir: str | None = None, stages: list[str] | None = None) -> App:
    """The app with a stack per stage config (or only the named ``stages``)."""
    # CDK's built-in template validation adds seconds to every synth and duplicates cfn-lint,
    # which `make validate` runs on the synthesized templates.
    app = App(context=FEATURE_FLAGS, outdir=outdir, builtin_cloud_formation_validation=False)
    code, layer = artifacts(Path(build_dir or app.node.try_get_context("build_dir") or BUILD))
    for stage in settings.stages():
        if stages is not None and stage.stage not in stages:
            continue
        ServiceStack(app, settings=stage, code=code, layer_zip=layer)
    return app


if __name__ == "__main__":
    build_app().synth()
