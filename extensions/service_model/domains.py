"""A domain: its resources, and its functions with their triggers and grants (the CRUD routes,
and what the chosen services add: file routes, a queue consumer, an event subscriber)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import grants, resources
from .catalogue import (
    CACHED_OPERATIONS,
    CONSUMER_BATCH_SIZE,
    CONSUMER_TIMEOUT_S,
    CRUD_OPERATIONS,
    EVENT_CONTRACT_VERSION,
    FILE_OPERATIONS,
)
from .entities import Domain, Function, Grant, Resource, Trigger
from .names import Budgets, detail_type, entity, naming, suffix


@dataclass(frozen=True)
class Reach:
    """What every domain may reach besides its own resources, from the chosen services."""

    slug: str
    services: tuple[str, ...]
    budgets: Budgets
    domains: tuple[str, ...]
    public_routes: tuple[str, ...]
    idempotency: Resource | None = None
    bus: Resource | None = None
    parameter: Resource | None = None
    cache: Resource | None = None


def _function(name: str, key: str, budget: int, **fields) -> Function:
    """A function of domain ``name`` in the domain's artifact: ``<Domain><Key>``, ``<domain>-<key>``."""
    return Function(
        key=f"{name}_{key}",
        logical_id=f"{naming.pascal(name)}{key.capitalize()}",
        name=f"{naming.kebab(name)}-{key}",
        suffix=suffix(f"{naming.kebab(name)}-{key}", budget),
        artifact=name,
        **fields,
    )


def _http(
    name: str,
    op: str,
    route: tuple[str, str],
    text: tuple[str, str],
    module: str,
    reach: Reach,
    access: tuple[tuple[Grant, ...], grants.Environment],
) -> Function:
    (method, path), (attribute, description), (function_grants, environment) = route, text, access
    return _function(
        name,
        op,
        reach.budgets.function,
        description=description,
        module=f"{module}.handlers",
        attribute=attribute,
        trigger=Trigger(
            kind="http", method=method, path=path, public=f"{method} {path}" in reach.public_routes
        ),
        grants=function_grants,
        environment=environment,
        operation=op,
    )


def build_domain(name: str, layout: str, pkg: str, reach: Reach) -> Domain:
    record = entity(name)
    noun = record.replace("_", " ")
    table = resources.table(name)
    if layout == "workspace":
        module, src_dir = name, f"domains/{name}/src/{name}"
        project_dir, tests_dir = f"domains/{name}", f"domains/{name}/tests"
    else:
        module, src_dir = f"{pkg}.{name}", f"src/{pkg}/{name}"
        project_dir, tests_dir = "", f"tests/{name}"
    route = f"/{naming.kebab(name)}"
    queue, dead_letter = resources.queues(name) if reach.idempotency else (None, None)
    bucket = resources.bucket(name, reach.budgets.bucket) if "s3" in reach.services else None
    functions = []
    for op, method, path, actions, attribute, description in CRUD_OPERATIONS:
        access = grants.crud(op, actions, table, queue, reach.bus, reach.parameter)
        text = (attribute.format(entity=record, domain=name), description.format(noun=noun, domain=name))
        function = _http(name, op, (method, route + path), text, module, reach, access)
        if reach.cache and op in CACHED_OPERATIONS:  # reads go through the cache; writes evict
            cache_env = function.environment + grants.env(reach.cache)
            function = replace(function, environment=cache_env, network=True)
        functions.append(function)
    if bucket:
        for op, method, path, attribute, verb in FILE_OPERATIONS:
            text = (
                attribute.format(entity=record),
                f"Hand out a presigned URL that {verb} a file of one {noun}",
            )
            access = grants.files(op, table, bucket)
            functions.append(_http(name, op, (method, route + path), text, module, reach, access))
    if queue:
        consumer_grants, consumer_env = grants.consumer(table, queue, reach.idempotency)
        functions.append(
            _function(
                name,
                "process",
                reach.budgets.function,
                description=f"Process {name} jobs from the queue, each exactly once",
                module=f"{module}.consumer",
                attribute=f"process_{name}_jobs",
                trigger=Trigger(kind="queue", queue=queue.logical_id, batch_size=CONSUMER_BATCH_SIZE),
                grants=consumer_grants,
                environment=consumer_env,
                timeout=CONSUMER_TIMEOUT_S,
                operation="process",
            )
        )
    event_source = event_detail_type = event_contract = ""
    if reach.bus:
        event_source, event_detail_type = f"{reach.slug}.{name}", detail_type(name)
        contract = f"{naming.kebab(event_detail_type)}.v{EVENT_CONTRACT_VERSION}.json"
        event_contract = f"contracts/events/{name}/{contract}"
        # A domain reacts to the other domains' events; alone, it hears its own (the wiring to copy).
        others = [d for d in reach.domains if d != name] or [name]
        functions.append(
            _function(
                name,
                "events",
                reach.budgets.function,
                description=f"React to the domain events {name} subscribes to",
                module=f"{module}.subscriber",
                attribute=f"handle_{name}_events",
                trigger=Trigger(
                    kind="event",
                    bus=reach.bus.logical_id,
                    sources=tuple(f"{reach.slug}.{d}" for d in others),
                    detail_types=tuple(detail_type(d) for d in others),
                ),
                grants=(),
                environment=(),
                operation="events",
            )
        )
    return Domain(
        name=name,
        pascal=naming.pascal(name),
        kebab=naming.kebab(name),
        title=naming.title(name),
        entity=record,
        entity_pascal=naming.pascal(record),
        module=module,
        src_dir=src_dir,
        project_dir=project_dir,
        tests_dir=tests_dir,
        route=route,
        table=table,
        functions=tuple(functions),
        queue=queue,
        dead_letter_queue=dead_letter,
        bucket=bucket,
        event_source=event_source,
        event_detail_type=event_detail_type,
        event_contract=event_contract,
        stack_id=f"{naming.pascal(name)}Stack",
    )
