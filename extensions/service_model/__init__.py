"""The one service model every renderer loops over, split by concern:

- ``catalogue``: the operations a domain offers, the backing services' settings, the IaC tools;
- ``entities``: the model's frozen dataclasses (Service, Domain, Function, Resource, ...);
- ``grants``: the IAM actions each kind of function needs, and the environment naming resources;
- ``names``: physical-name budgets and names derived from a domain;
- ``resources``: what each backing service creates, per domain and shared;
- ``domains``, ``admin``: the functions with their triggers and grants;
- ``operations``: what a stage needs to be released and watched (alias, alarms, queries, dashboard);
- ``stacks``: how many resources one CloudFormation stack holds (the one-stack layout);
- ``build``: ``build_model(answers)``.

Adding a backing service: its settings in ``catalogue``, its resources in ``resources``, what its
users may do in ``grants``, and which functions use it in ``domains`` or ``admin``.
The package is loaded privately by extensions/model.py (never by a plain name), so two template
versions in one process (`copier update`) each run their own.
"""

from __future__ import annotations

from . import admin, catalogue, domains, entities, grants, names, operations, resources, stacks
from .build import build_model
from .names import naming

__all__ = ["PARTS", "build_model", "naming", "public_names"]

PARTS = (catalogue, entities, grants, names, resources, domains, admin, operations, stacks)


def public_names() -> dict[str, object]:
    """The constants and types each part defines, by name (what renderers and tests import)."""
    out = {}
    for part in PARTS:
        for key, value in vars(part).items():
            defined_here = getattr(value, "__module__", part.__name__) == part.__name__
            if (key.isupper() or isinstance(value, type)) and not key.startswith("_") and defined_here:
                out[key] = value
    return out
