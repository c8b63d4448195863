"""Physical names: what is left of each AWS name limit once ``<slug>-<stage>-`` is taken, and
the names derived from a domain's (its entity, its event). The case filters and the cut with a
stable hash are ``naming``'s (extensions/naming.py), loaded privately for this copy of the model.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .catalogue import LOCAL_STAGE


def _load_naming():
    # A name under this package's own (unique) name: two template versions in one process
    # (`copier update`) never share it.
    path = Path(__file__).resolve().parent.parent / "naming.py"
    spec = importlib.util.spec_from_file_location(f"{__package__}._naming", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naming = _load_naming()

LAMBDA_NAME_MAX = 64  # also the limit of EventBridge Scheduler schedule names
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12  # bucket names end in "-<account id>"


@dataclass(frozen=True)
class Budgets:
    """What is left of a name after ``<slug>-<longest stage>-``, per kind of name."""

    function: int  # Lambda functions, schedules and rules (64 characters)
    bucket: int  # buckets (63 characters, ending in "-<account id>")


def budgets(slug: str, stages: list[str]) -> Budgets:
    # `make dev` creates the same resources as stage "local", so its names must fit too.
    longest_stage = max(len(s) for s in [*stages, LOCAL_STAGE])
    prefix = len(slug) + 2 + longest_stage
    return Budgets(
        function=LAMBDA_NAME_MAX - prefix,
        bucket=BUCKET_NAME_MAX - prefix - 1 - ACCOUNT_ID_LENGTH,
    )


def suffix(name: str, budget: int) -> str:
    """The part of a physical name after the prefix, cut (with a stable hash) to fit ``budget``."""
    return naming.fit_name(name, budget)


def entity(domain: str) -> str:
    """The singular noun of a domain's records, e.g. ``order`` for ``orders``."""
    singular = naming.singular(domain)
    return f"{domain}_item" if singular == domain else singular  # e.g. "inventory": keep names distinct


def detail_type(domain: str) -> str:
    """The detail type of the event a domain publishes when it creates a record."""
    return f"{naming.pascal(entity(domain))}Created"
