"""The service model's types: frozen dataclasses every renderer reads.

A ``Service`` has stages and domains; a ``Domain`` owns resources and functions; a ``Function``
has one trigger and the grants (resource, actions) its role is made of. The ``Service`` answers
the questions renderers ask (its functions, tables, physical names) so none derives them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import operations
from .catalogue import (
    ARCHITECTURE,
    CACHE_PORT,
    DATABASE_NAME,
    DATABASE_PORT,
    DATABASE_USER,
    DEFAULT_TIMEOUT_S,
    IAC_SCANNERS,
    IAC_TOOLS,
    LOCAL_ACCOUNT,
    RUNTIME_SETTINGS,
    SCANNERS,
    UV_VERSION,
    CacheSpec,
    DatabaseSpec,
    IacTool,
    NetworkSpec,
)


@dataclass(frozen=True)
class Trigger:
    kind: str  # "http" | "schedule" | "oneoff" | "queue"
    method: str = ""
    path: str = ""
    schedule: str = ""
    queue: str = ""  # logical id of the queue a consumer reads
    batch_size: int = 0
    bus: str = ""  # events: logical id of the bus the rule listens on
    sources: tuple[str, ...] = ()  # events: the event sources the rule matches
    detail_types: tuple[str, ...] = ()  # events: the detail types the rule matches
    public: bool = False  # http: reachable without a token when the API has an authorizer

    @property
    def is_http(self) -> bool:
        return self.kind == "http"


@dataclass(frozen=True)
class Grant:
    resource: str  # logical id of a Resource
    actions: tuple[str, ...]
    objects: bool = False  # buckets: the grant is on the bucket's objects (<arn>/*), not the bucket


@dataclass(frozen=True)
class Resource:
    # "table" | "queue" | "bucket" | "bus" | "topic" | "user_pool" | "parameter" | "secret"
    # | "network" | "database" | "cache"
    kind: str
    logical_id: str
    domain: str  # owning domain; "" for the service's shared resources
    env_var: str  # environment variable that carries its physical name ("" if no code reads it)
    name_suffix: str  # physical name is <slug>-<stage>-<suffix>
    hash_key: str = "id"  # tables
    ttl_attribute: str = ""  # tables whose items expire (epoch seconds in this attribute)
    dead_letter: str = ""  # queues: logical id of the dead-letter queue
    max_receive_count: int = 0  # queues: deliveries before a message moves to the dead-letter queue
    visibility_timeout: int = 0  # queues: seconds a received message stays hidden
    retention_seconds: int = 0  # queues: how long a message is kept
    sources: tuple[str, ...] = ()  # topics: the event sources a bus rule forwards to the topic
    detail_types: tuple[str, ...] = ()  # topics: the detail types that rule forwards


@dataclass(frozen=True)
class Function:
    key: str  # snake_case, unique in the service
    logical_id: str  # PascalCase CloudFormation id, without suffix
    name: str  # kebab-case, used in physical names
    description: str
    module: str  # dotted import path of the module that holds the handler
    attribute: str  # the handler function inside ``module``
    artifact: str  # which code artifact the function ships in
    trigger: Trigger
    grants: tuple[Grant, ...]
    environment: tuple[tuple[str, str], ...]  # (variable, resource logical id)
    timeout: int = DEFAULT_TIMEOUT_S
    operation: str = ""
    network: bool = False  # runs in the service's private subnets (it reaches PostgreSQL or Redis)
    # Physical names are <slug>-<stage>-<suffix>; the suffix is cut to fit every stage.
    suffix: str = ""

    @property
    def handler(self) -> str:
        return f"{self.module}.{self.attribute}"

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(a for g in self.grants for a in g.actions)


@dataclass(frozen=True)
class Domain:
    name: str
    pascal: str
    kebab: str
    title: str
    entity: str
    entity_pascal: str
    module: str  # dotted import path of the domain package
    src_dir: str  # folder of the domain package, relative to the project root
    project_dir: str  # folder of the domain's pyproject (workspace layout) or ""
    tests_dir: str
    route: str  # HTTP base path, e.g. /orders
    table: Resource
    functions: tuple[Function, ...]
    queue: Resource | None = None  # work queue read by the domain's consumer (service "sqs")
    dead_letter_queue: Resource | None = None
    bucket: Resource | None = None  # files of the domain's records (service "s3")
    event_source: str = ""  # the "source" of the events this domain publishes (service "events")
    event_detail_type: str = ""  # e.g. "OrderCreated"
    event_contract: str = ""  # path of the event's JSON schema, relative to the project root
    stack_id: str = ""  # logical id (CDK: construct id) of the domain's nested stack in the stage's stack

    @property
    def resources(self) -> tuple[Resource, ...]:
        return tuple(
            r for r in (self.table, self.queue, self.dead_letter_queue, self.bucket) if r is not None
        )

    @property
    def subscriber(self) -> Function | None:
        return next((f for f in self.functions if f.trigger.kind == "event"), None)

    @property
    def consumer(self) -> Function | None:
        return next((f for f in self.functions if f.trigger.kind == "queue"), None)

    def function(self, operation: str) -> Function:
        """The function that serves one CRUD operation of this domain."""
        for function in self.functions:
            if function.operation == operation:
                return function
        raise KeyError(operation)


@dataclass(frozen=True)
class Stage:
    name: str
    log_level: str
    log_retention_days: int
    tracing: bool
    memory_size: int
    timeout: int
    throttle_rate: int
    throttle_burst: int
    is_production: bool
    release: str = "AllAtOnce"  # how a new version reaches the stage (operations.RELEASE_TYPES)
    budget_monthly_usd: int = 20
    api_route_metrics: bool = False  # the HTTP API's detailed (per-route) metrics


@dataclass(frozen=True)
class Artifact:
    name: str  # folder under build/functions
    packages: tuple[tuple[str, str], ...]  # (source folder, folder inside the artifact)


@dataclass(frozen=True)
class Paths:
    platform_src: str
    platform_module: str
    platform_tests: str
    admin_src: str
    admin_module: str
    admin_tests: str
    package_root: str  # single layout: the one package's folder; workspace: ""


@dataclass(frozen=True)
class Service:
    name: str
    slug: str
    snake: str
    pascal: str
    description: str
    author_name: str
    author_email: str
    runtime: str
    python_version: str
    region: str
    iac: str
    layout: str
    ci: str
    services: tuple[str, ...]
    tracing: bool
    stages: tuple[Stage, ...]
    domains: tuple[Domain, ...]
    admin_jobs: tuple[Function, ...]
    paths: Paths
    artifacts: tuple[Artifact, ...]
    idempotency_table: Resource | None = None
    event_bus: Resource | None = None
    topic: Resource | None = None
    user_pool: Resource | None = None
    settings_parameter: Resource | None = None
    report_secret: Resource | None = None
    network: Resource | None = None  # private subnets for functions that reach postgres or redis
    database: Resource | None = None
    cache: Resource | None = None
    domain_stacks: bool = True  # each domain's functions in its own nested stack (CloudFormation tools)
    architecture: str = ARCHITECTURE
    uv_version: str = UV_VERSION
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def iac_tool(self) -> IacTool:
        return IAC_TOOLS[self.iac]

    @property
    def iac_label(self) -> str:
        return self.iac_tool.label

    @property
    def scanners(self) -> tuple[str, ...]:
        return IAC_SCANNERS[self.iac]

    @property
    def scanner_requirements(self) -> tuple[str, ...]:
        return tuple(SCANNERS[name] for name in self.scanners)

    def prefix(self, stage: str) -> str:
        """Every physical name of a stage starts with this (it is also the stack name)."""
        return f"{self.slug}-{stage}"

    def function_name(self, function: Function, stage: str) -> str:
        return f"{self.prefix(stage)}-{function.suffix}"

    def table_name(self, resource: Resource, stage: str) -> str:
        return f"{self.prefix(stage)}-{resource.name_suffix}"

    def resource_name(self, resource: Resource, stage: str, account: str | None = None) -> str:
        """The physical name of any resource in one stage (parameters and secrets are paths).

        Bucket names are global across AWS, so they end in the account id (``account``: a number,
        or the IaC expression for it such as ``${AWS::AccountId}``); nobody else can take them.
        """
        if resource.kind == "bucket":
            if not account:
                raise ValueError(f"The bucket {resource.logical_id} needs the account id in its name.")
            return f"{self.prefix(stage)}-{resource.name_suffix}-{account}"
        if resource.kind == "parameter":
            return f"/{self.slug}/{stage}/{resource.name_suffix}"
        if resource.kind == "secret":
            return f"{self.slug}/{stage}/{resource.name_suffix}"
        return f"{self.prefix(stage)}-{resource.name_suffix}"

    @property
    def database_spec(self) -> DatabaseSpec:
        return DatabaseSpec()

    @property
    def cache_spec(self) -> CacheSpec:
        return CacheSpec()

    @property
    def network_spec(self) -> NetworkSpec:
        return NetworkSpec()

    def endpoint_url(self, resource: Resource, host: str) -> str:
        """What a function's DATABASE_URL / CACHE_URL holds, given the endpoint's host name.

        The database URL has no password: functions sign an IAM token for the proxy instead.
        """
        if resource.kind == "database":
            return f"postgresql://{DATABASE_USER}@{host}:{DATABASE_PORT}/{DATABASE_NAME}"
        if resource.kind == "cache":
            return f"rediss://{host}:{CACHE_PORT}"  # ElastiCache Serverless accepts TLS only
        raise ValueError(f"{resource.logical_id} has no endpoint URL.")

    @property
    def network_functions(self) -> tuple[Function, ...]:
        return tuple(f for f in self.functions if f.network)

    @property
    def network_ports(self) -> tuple[int, ...]:
        """The ports in-network functions may open: one per data service in the network."""
        return tuple(p for r, p in ((self.database, DATABASE_PORT), (self.cache, CACHE_PORT)) if r)

    def rule_name(self, function: Function, stage: str) -> str:
        """The EventBridge rule that delivers a subscriber's events (same budget as the function)."""
        return self.function_name(function, stage)

    @property
    def functions(self) -> tuple[Function, ...]:
        return tuple(f for d in self.domains for f in d.functions) + self.admin_jobs

    @property
    def http_functions(self) -> tuple[Function, ...]:
        return tuple(f for f in self.functions if f.trigger.is_http)

    @property
    def tables(self) -> tuple[Resource, ...]:
        shared = (self.idempotency_table,) if self.idempotency_table else ()
        return tuple(d.table for d in self.domains) + shared

    @property
    def queues(self) -> tuple[Resource, ...]:
        return tuple(q for d in self.domains for q in (d.queue, d.dead_letter_queue) if q is not None)

    @property
    def buckets(self) -> tuple[Resource, ...]:
        return tuple(d.bucket for d in self.domains if d.bucket is not None)

    @property
    def shared_resources(self) -> tuple[Resource, ...]:
        """Resources no single domain owns (besides the idempotency table)."""
        candidates = (
            self.event_bus,
            self.topic,
            self.user_pool,
            self.settings_parameter,
            self.report_secret,
            self.network,
            self.database,
            self.cache,
        )
        return tuple(r for r in candidates if r is not None)

    @property
    def resources(self) -> tuple[Resource, ...]:
        return self.tables + self.queues + self.buckets + self.shared_resources

    @property
    def subscribers(self) -> tuple[Function, ...]:
        return tuple(f for f in self.functions if f.trigger.kind == "event")

    @property
    def public_routes(self) -> tuple[str, ...]:
        return tuple(f"{f.trigger.method} {f.trigger.path}" for f in self.http_functions if f.trigger.public)

    @property
    def local_account(self) -> str:
        """The emulator's account id, which local bucket names end in."""
        return LOCAL_ACCOUNT

    @property
    def runtime_settings_json(self) -> str:
        """The settings parameter's first value (service "secrets"): plain settings, never a secret."""
        return json.dumps(RUNTIME_SETTINGS, sort_keys=True)

    def uses(self, service: str) -> bool:
        return service in self.services

    def queue_name(self, resource: Resource, stage: str) -> str:
        return f"{self.prefix(stage)}-{resource.name_suffix}"

    @property
    def production_stage(self) -> Stage:
        return next(s for s in self.stages if s.is_production)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    @property
    def is_workspace(self) -> bool:
        return self.layout == "workspace"

    @property
    def layer_drivers(self) -> tuple[str, ...]:
        """The layer's import packages that only a service's functions load, on first use (the
        cache's and the database's drivers, the migrations tool): the build leaves them as source."""
        return (("redis",) if self.cache else ()) + (("pg8000", "yoyo") if self.database else ())

    @property
    def function_variables(self) -> tuple[str, ...]:
        """Every environment variable the IaC sets on some function (besides every function's own)."""
        return tuple(sorted({name for function in self.functions for name, _ in function.environment}))

    def resource(self, logical_id: str) -> Resource:
        for resource in self.resources:
            if resource.logical_id == logical_id:
                return resource
        raise KeyError(logical_id)

    # --- operations: releases, alarms, queries, the dashboard (see operations.py)

    @property
    def alias(self) -> str:
        return operations.ALIAS

    @property
    def release_types(self) -> tuple[str, ...]:
        return operations.RELEASE_TYPES

    @property
    def operations_defaults(self) -> dict[str, Any]:
        return dict(operations.OPERATIONS_DEFAULTS)

    @property
    def alarms(self) -> tuple[operations.Alarm, ...]:
        return operations.all_alarms(self)

    def function_alarms(self, function: Function) -> tuple[operations.Alarm, ...]:
        owner = next((d.name for d in self.domains if function in d.functions), "")
        return operations.function_alarms(function, owner)

    def domain_alarms(self, domain: Domain) -> tuple[operations.Alarm, ...]:
        return tuple(a for f in domain.functions for a in operations.function_alarms(f, domain.name))

    @property
    def shared_alarms(self) -> tuple[operations.Alarm, ...]:
        return operations.shared_alarms(self)

    def rollback_alarm(self, function: Function) -> operations.Alarm:
        return next(a for a in self.function_alarms(function) if a.rollback)

    def alarm_name(self, alarm: operations.Alarm, stage: str) -> str:
        return f"{self.prefix(stage)}-{alarm.name_suffix}"

    def alarm_topic_name(self, stage: str) -> str:
        return f"{self.prefix(stage)}-{operations.ALARM_TOPIC_SUFFIX}"

    def duration_expression(self, timeout: Any) -> str:
        return operations.duration_expression(timeout)

    @property
    def queries(self) -> tuple[operations.Query, ...]:
        return tuple(q for d in self.domains for q in operations.domain_queries(d))

    def domain_queries(self, domain: Domain) -> tuple[operations.Query, ...]:
        return operations.domain_queries(domain)

    def query_name(self, query: operations.Query, stage: str) -> str:
        return f"{self.prefix(stage)}/{query.name_suffix}"

    def dashboard_body(self, stage: str, region: str, api: str) -> str:
        return operations.dashboard_body(self, stage, region, api)
