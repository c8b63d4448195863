"""``build_model``: Copier's answers in, the one service model out."""

from __future__ import annotations

from typing import Any

from . import operations, resources
from .admin import admin_jobs
from .catalogue import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from .domains import Reach, build_domain
from .entities import Artifact, Domain, Paths, Service, Stage
from .grants import LOG_ACTIONS, NETWORK_ACTIONS, TRACING_ACTIONS
from .names import budgets, naming


def _paths(layout: str, pkg: str) -> Paths:
    if layout == "workspace":
        return Paths(
            platform_src="libs/platform/src/service_platform",
            platform_module="service_platform",
            platform_tests="libs/platform/tests",
            admin_src="admin/src/admin_jobs",
            admin_module="admin_jobs",
            admin_tests="admin/tests",
            package_root="",
        )
    return Paths(
        platform_src=f"src/{pkg}/platform",
        platform_module=f"{pkg}.platform",
        platform_tests="tests/platform",
        admin_src=f"src/{pkg}/admin",
        admin_module=f"{pkg}.admin",
        admin_tests="tests/admin",
        package_root=f"src/{pkg}",
    )


def _artifacts(domains: tuple[Domain, ...], paths: Paths, layout: str, pkg: str) -> tuple[Artifact, ...]:
    def inside(src: str) -> str:
        # Workspace packages are top-level imports; single-layout ones live in <pkg>/.
        return src.rsplit("/", 1)[1] if layout == "workspace" else src.split("/", 1)[1]

    root = () if layout == "workspace" else ((f"src/{pkg}/__init__.py", f"{pkg}/__init__.py"),)
    platform = ((paths.platform_src, inside(paths.platform_src)),)
    artifacts = [Artifact(d.name, root + platform + ((d.src_dir, inside(d.src_dir)),)) for d in domains]
    admin_sources = tuple((d.src_dir, inside(d.src_dir)) for d in domains)
    artifacts.append(
        Artifact("admin", root + platform + admin_sources + ((paths.admin_src, inside(paths.admin_src)),))
    )
    return tuple(artifacts)


def _stages(
    names: list[str], production_stage: str, log_level: str, retention: dict[str, int], tracing: bool
) -> tuple[Stage, ...]:
    out = []
    for position, name in enumerate(names):
        production = name == production_stage  # the answer; copier.yml makes it the last stage
        out.append(
            Stage(
                name=name,
                log_level=log_level,
                log_retention_days=int(retention.get(name, 30)),
                tracing=tracing,
                memory_size=DEFAULT_MEMORY_MB,
                timeout=DEFAULT_TIMEOUT_S,
                throttle_rate=100 if production else 20,
                throttle_burst=200 if production else 40,
                is_production=production,
                **operations.stage_defaults(position, len(names), production),
            )
        )
    return tuple(out)


def build_model(answers: dict[str, Any]) -> Service:
    """Build the service model from Copier answers (already validated by copier.yml)."""
    slug = answers["project_slug"]
    pkg = naming.snake(slug)
    layout = answers.get("layout", "workspace")
    stage_names = list(answers.get("stages") or ["dev", "staging", "prod"])
    # Answers recorded before the production_stage question get its default.
    production_stage = answers.get("production_stage")
    if production_stage not in stage_names:
        production_stage = naming.default_production_stage(stage_names)
    retention = answers.get("log_retention_days") or naming.default_retention(stage_names, production_stage)
    tracing = bool(answers.get("tracing", True))
    paths = _paths(layout, pkg)
    room = budgets(slug, stage_names)
    services = tuple(answers.get("services") or ("dynamodb",))
    domain_names = tuple(answers.get("domains") or ["orders"])
    shared_resources = resources.shared(slug, services, domain_names)
    reach = Reach(
        slug=slug,
        services=services,
        budgets=room,
        domains=domain_names,
        public_routes=tuple(answers.get("public_routes") or ()) if "cognito" in services else (),
        idempotency=shared_resources.get("idempotency"),
        bus=shared_resources.get("bus"),
        parameter=shared_resources.get("parameter"),
        cache=shared_resources.get("cache"),
    )
    domains = tuple(build_domain(name, layout, pkg, reach) for name in domain_names)
    runtime = answers.get("python_runtime", "python3.12")
    return Service(
        name=answers.get("project_name", slug),
        slug=slug,
        snake=pkg,
        pascal=naming.pascal(slug),
        description=answers.get("description", ""),
        author_name=answers.get("author_name", ""),
        author_email=answers.get("author_email", ""),
        runtime=runtime,
        python_version=runtime.removeprefix("python"),
        region=answers.get("aws_region", "us-east-1"),
        iac=answers.get("iac", "sam"),
        layout=layout,
        ci=answers.get("ci", "github-actions"),
        services=services,
        tracing=tracing,
        domain_stacks=bool(answers.get("domain_stacks", True)),
        stages=_stages(stage_names, production_stage, answers.get("log_level", "INFO"), retention, tracing),
        domains=domains,
        admin_jobs=admin_jobs(
            domains, paths, room.function, shared_resources.get("secret"), shared_resources.get("database")
        ),
        paths=paths,
        artifacts=_artifacts(domains, paths, layout, pkg),
        idempotency_table=reach.idempotency,
        event_bus=reach.bus,
        topic=shared_resources.get("topic"),
        user_pool=shared_resources.get("user_pool"),
        settings_parameter=reach.parameter,
        report_secret=shared_resources.get("secret"),
        network=shared_resources.get("network"),
        database=shared_resources.get("database"),
        cache=shared_resources.get("cache"),
        meta={
            "log_actions": LOG_ACTIONS,
            "tracing_actions": TRACING_ACTIONS,
            "network_actions": NETWORK_ACTIONS,
        },
    )
