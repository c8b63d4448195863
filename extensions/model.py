"""The Copier side of the service model: loads it and puts it in every render's context.

The model itself is the package ``service_model/`` beside this file (see its docstring for the
parts). ``ServiceModelHook`` adds ``model`` to the render context; ``ModelFilters`` registers the
validators that need the model. The model's constants and types are re-exported here, so tests
and tools can ``from model import build_model, Service, LOG_ACTIONS``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook
from jinja2.ext import Extension


def _load_package(name: str):
    """A private copy of the package ``<name>/`` beside this file.

    During `copier update` one process renders the project's old template version and the new
    one. A package registered in ``sys.modules`` under its plain name would be shared by both,
    and one version would call the other's functions. So it is loaded under a name made of the
    contents of the extension files (its own and the siblings it loads, such as naming.py): a
    changed file gets another name (the relative imports inside the package need the name in
    ``sys.modules``). Copier clones the template again for each render; a clone with the same
    files runs the same code, and reuses the package instead of compiling and running it again
    (its functions keep no state of a render).
    """
    folder = Path(__file__).resolve().with_name(name)
    digest = hashlib.sha256()
    for path in sorted([*folder.glob("*.py"), *folder.parent.glob("*.py")]):
        digest.update(str(path.relative_to(folder.parent)).encode() + path.read_bytes())
    unique = f"_copier_template_{name}_{digest.hexdigest()[:16]}"
    if unique in sys.modules:
        return sys.modules[unique]
    spec = importlib.util.spec_from_file_location(
        unique, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[unique] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:  # never leave a half-run package for the next clone to reuse
        for loaded in [name for name in sys.modules if name == unique or name.startswith(f"{unique}.")]:
            del sys.modules[loaded]
        raise
    return package


service_model = _load_package("service_model")
catalogue, entities, grants, names, operations, resources, stacks = (
    service_model.catalogue,
    service_model.entities,
    service_model.grants,
    service_model.names,
    service_model.operations,
    service_model.resources,
    service_model.stacks,
)
naming = service_model.naming
build_model = service_model.build_model
Service = service_model.entities.Service
globals().update(service_model.public_names())


_ANSWER_KEYS = (
    "project_name",
    "project_slug",
    "description",
    "author_name",
    "author_email",
    "python_runtime",
    "aws_region",
    "iac",
    "layout",
    "domains",
    "services",
    "public_routes",
    "stages",
    "production_stage",
    "ci",
    "log_level",
    "tracing",
    "log_retention_days",
    "domain_stacks",
)


class ServiceModelHook(ContextHook):
    """Adds ``model`` to the render context once the answers are complete."""

    _cache: dict[str, Service] = {}

    def hook(self, context: dict[str, Any]) -> None:
        # Called for every file and path Copier renders: answer from the cache when possible.
        # While questions are asked, the context also holds `--data` answers not yet parsed
        # (strings): a model built from them would fail inside another question's validator.
        if context.get("_copier_phase") == "prompt":
            return
        answers = {k: context[k] for k in _ANSWER_KEYS if k in context}
        key = repr(answers)  # in _ANSWER_KEYS' order; cheaper than JSON, and this runs ~700 times
        model = self._cache.get(key)
        if model is None:
            # While questions are still being asked, there is nothing to model yet.
            if "project_slug" not in answers or naming.slug_error(answers["project_slug"]):
                return
            if naming.domains_error(answers.get("domains", ["orders"])) or naming.stages_error(
                answers.get("stages", ["dev"]), answers["project_slug"], answers.get("services", ())
            ):
                return
            model = self._cache[key] = build_model(answers)
        context["model"] = model


def public_routes_error(routes: object, services: object, domains: object, slug: str = "service") -> str:
    """Why the list of public routes is unusable, or ``""`` (each must be a route the API has)."""
    if not routes:
        return ""
    if isinstance(routes, str) or not isinstance(routes, list):
        return f'Public routes must be a YAML list, e.g. ["GET /orders"], not {naming.shown(routes, 16)}.'
    if "cognito" not in (services or ()):
        return "Public routes only mean something with cognito: select it or leave them empty."
    if naming.domains_error(domains) or naming.slug_error(slug):
        return ""  # those answers report their own errors
    model = build_model({"project_slug": slug, "services": list(services), "domains": list(domains)})
    known = [f"{f.trigger.method} {f.trigger.path}" for f in model.http_functions]
    unknown = [r for r in routes if r not in known]
    if unknown:
        # README.md lists the routes (What the refusals refer to): too many for one line.
        route = naming.shown(unknown[0], 30, quote=False)
        return naming.fit(
            f"No such route: {route}. Public routes are written as one of: {min(known, key=len)}, ...",
            f"No such route: {naming.shown(unknown[0], quote=False)}: use a route of the API (README.md).",
        )
    return ""


def domain_stacks_error(domain_stacks: object, iac: object, services: object, domains: object) -> str:
    """Why one stack per stage cannot hold this service, or ``""``."""
    if domain_stacks or not isinstance(domains, list) or not isinstance(services, list):
        return ""  # nested stacks grow with the domains; other answers report their own errors
    try:
        service = build_model(
            {"project_slug": "estimate", "iac": iac, "services": services, "domains": domains}
        )
    except Exception:  # noqa: BLE001 - an invalid domain or service answer reports its own error
        return ""
    count = stacks.stage_stack_resources(service)
    if count <= stacks.MAX_STACK_RESOURCES:
        return ""
    # A stack allows 500 resources; the limit leaves room for the team's own (see the help).
    limit = stacks.MAX_STACK_RESOURCES
    return naming.fit(
        f"{len(domains)} domains in one stack make ~{count} resources (max {limit}): use domain_stacks=true.",
        f"One stack would hold ~{count} resources (max {limit}): use domain_stacks=true.",
    )


class ModelFilters(Extension):
    """Registers the validators that need the model (the route list) as Jinja filters."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["public_routes_error"] = public_routes_error
        environment.filters["domain_stacks_error"] = domain_stacks_error
