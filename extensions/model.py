"""Builds the one service model every renderer loops over.

``build_model`` turns Copier answers into plain frozen dataclasses: domains own
resources and functions, functions own triggers and grants, stages own settings.
No template re-derives a function list or an IAM action: they all read them here.
``ServiceModelHook`` puts the model into Copier's render context as ``model``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook
from jinja2.ext import Extension


def _load_sibling(name: str):
    """A private copy of the module ``<name>.py`` beside this file.

    During `copier update` one process renders the project's old template version and the new
    one. A sibling registered in ``sys.modules`` under its plain name (``naming``) would be shared
    by both, and one version would call the other's functions. So the sibling is executed afresh
    for this file under a name unique to its path, and never looked up in ``sys.modules``.
    """
    path = Path(__file__).with_name(f"{name}.py")
    unique = f"_copier_template_{name}_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(unique, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naming = _load_sibling("naming")

# Every function may write its own log group; these are added to each role by
# the renderers next to the model's grants.
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# X-Ray has no resource-level permissions, so this is the one `*` resource.
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

# The HTTP operations each domain exposes, with the one table action each needs.
CRUD_OPERATIONS = (
    # key, method, path suffix, DynamoDB actions, handler name, description
    ("create", "POST", "", ("dynamodb:PutItem",), "create_{entity}", "Create one {noun}"),
    ("get", "GET", "/{id}", ("dynamodb:GetItem",), "get_{entity}", "Read one {noun}"),
    ("list", "GET", "", ("dynamodb:Scan",), "list_{domain}", "List {domain} a page at a time"),
    (
        "update",
        "PUT",
        "/{id}",
        ("dynamodb:UpdateItem",),
        "update_{entity}",
        "Replace the fields of one {noun}",
    ),
    ("delete", "DELETE", "/{id}", ("dynamodb:DeleteItem",), "delete_{entity}", "Delete one {noun}"),
)


@dataclass(frozen=True)
class IacTool:
    """What the docs say about one IaC tool; its files live in template/<tool's infra folder>."""

    label: str
    files: str  # what infra/ holds
    deploy: str  # the command `make deploy STAGE=<stage>` runs
    destroy: str  # the command `make destroy STAGE=<stage>` runs


# The IaC tools a project can be rendered for; each renders this same model.
IAC_TOOLS = {
    "sam": IacTool(
        "AWS SAM (CloudFormation)",
        "template.yaml (SAM), samconfig.toml (deploy settings per stage), stage_params.py",
        "sam deploy --config-env <stage> --parameter-overrides <config/<stage>.json as parameters>",
        "sam delete --config-env <stage>",
    ),
    "cdk": IacTool(
        "AWS CDK v2 (Python)",
        "app.py (one stack per stage), model.py (the service model as data), a construct per domain; "
        "cdk.json and package.json at the root",
        "cdk deploy <slug>-<stage>",
        "cdk destroy <slug>-<stage>",
    ),
    "terraform": IacTool(
        "Terraform (hashicorp/aws)",
        "one root module, modules/domain (one instance per domain), backends/<stage>.s3.tfbackend",
        "terraform init -backend-config=backends/<stage>.s3.tfbackend && terraform apply -var-file=../config/<stage>.json",
        "terraform destroy -var-file=../config/<stage>.json (tables are kept)",
    ),
    "serverless": IacTool(
        "Serverless Framework v3",
        "serverless.yml (per-function roles in its resources)",
        "serverless deploy --stage <stage>",
        "serverless remove --stage <stage>",
    ),
}

ARCHITECTURE = "arm64"  # Graviton: cheaper per GB-second, and the layer is built for it
LOCAL_STAGE = "local"  # the stage name `make dev` and the rendered tests use
LAMBDA_NAME_MAX = 64  # also the limit of EventBridge Scheduler schedule names
# Queue consumers (service "sqs"): each domain gets a work queue and a dead-letter queue.
CONSUMER_TIMEOUT_S = 30
CONSUMER_BATCH_SIZE = 10
QUEUE_MAX_RECEIVE_COUNT = 3  # a message that fails this many times moves to the dead-letter queue
QUEUE_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
# What a Lambda event source mapping needs on the queue it reads (with the function's role).
QUEUE_CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# Powertools idempotency keeps one record per processed message in this table.
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")

# Files (service "s3"): a private bucket per domain, reached through presigned URLs.
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12  # bucket names end in "-<account id>"
LOCAL_ACCOUNT = "123456789012"  # the emulator's account: `make dev` and the rendered tests
BUCKET_UPLOAD_ACTIONS = ("s3:PutObject",)  # a presigned URL carries the signer's permissions
BUCKET_DOWNLOAD_ACTIONS = ("s3:GetObject",)
# Domain events (service "events"): one EventBridge bus; an SNS topic fans them out to people.
EVENT_PUBLISH_ACTIONS = ("events:PutEvents",)
EVENT_CONTRACT_VERSION = 1
# Configuration and secrets (service "secrets"): read through the platform's cached helper.
PARAMETER_READ_ACTIONS = ("ssm:GetParameter",)
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
RUNTIME_SETTINGS = {"max_page_size": 100}  # the parameter's first value; changed later without a deploy
# Functions that reach PostgreSQL or Redis run in the service's private subnets. Lambda creates
# their network interfaces with the function's role; EC2 has no resource-level scoping for these.
NETWORK_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
NETWORK_SUBNETS = 2  # private subnets in two availability zones; no internet route (no NAT)
NETWORK_GATEWAY_ENDPOINTS = ("dynamodb",)  # in-network functions still read their tables
# PostgreSQL (service "postgres"): Aurora Serverless v2 behind RDS Proxy, IAM auth end to end.
DATABASE_ENGINE = "aurora-postgresql"
DATABASE_ENGINE_VERSION = "15.10"  # the major version `make dev` and the tests run locally
DATABASE_CAPACITY = (0.5, 4)  # Aurora capacity units: min, max
DATABASE_NAME = "app"
DATABASE_USER = "app"  # the proxy signs in as this user with the cluster's managed secret
DATABASE_PORT = 5432
DATABASE_CONNECT_ACTIONS = ("rds-db:connect",)
# Redis (service "redis"): ElastiCache Serverless; TLS only, reached from the private subnets.
CACHE_ENGINE = "redis"
CACHE_MAJOR_VERSION = "7"
CACHE_PORT = 6379
CACHE_TTL_S = 60  # bounds how stale a cached record can be (queue consumers write without evicting)


@dataclass(frozen=True)
class DatabaseSpec:
    """The PostgreSQL cluster and proxy every IaC tool renders (service "postgres")."""

    engine: str = DATABASE_ENGINE
    engine_version: str = DATABASE_ENGINE_VERSION
    min_capacity: float = DATABASE_CAPACITY[0]
    max_capacity: float = DATABASE_CAPACITY[1]
    name: str = DATABASE_NAME
    user: str = DATABASE_USER
    port: int = DATABASE_PORT
    backup_retention_days: int = 7


@dataclass(frozen=True)
class CacheSpec:
    """The ElastiCache Serverless cache every IaC tool renders (service "redis")."""

    engine: str = CACHE_ENGINE
    major_version: str = CACHE_MAJOR_VERSION
    port: int = CACHE_PORT
    max_storage_gb: int = 5  # usage limits cap the bill of a runaway workload
    max_ecpu_per_second: int = 5000
    ttl_seconds: int = CACHE_TTL_S


@dataclass(frozen=True)
class NetworkSpec:
    """The private network of the functions that reach PostgreSQL or Redis."""

    cidr: str = "10.0.0.0/16"
    subnet_cidrs: tuple[str, ...] = ("10.0.0.0/20", "10.0.16.0/20")  # one per availability zone
    gateway_endpoints: tuple[str, ...] = NETWORK_GATEWAY_ENDPOINTS


CACHED_OPERATIONS = ("get", "update", "delete")  # get reads through the cache; update and delete evict

DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_S = 10
ADMIN_TIMEOUT_S = 300


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
    architecture: str = ARCHITECTURE
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def iac_tool(self) -> IacTool:
        return IAC_TOOLS[self.iac]

    @property
    def iac_label(self) -> str:
        return self.iac_tool.label

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

    def resource(self, logical_id: str) -> Resource:
        for resource in self.resources:
            if resource.logical_id == logical_id:
                return resource
        raise KeyError(logical_id)


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


def _queues(name: str, pascal: str) -> tuple[Resource, Resource]:
    dead_letter = Resource(
        kind="queue",
        logical_id=f"{pascal}DeadLetterQueue",
        domain=name,
        env_var="",
        name_suffix=f"{naming.kebab(name)}-dlq",
        visibility_timeout=30,  # SQS's default; nothing consumes it automatically
        retention_seconds=14 * 24 * 3600,  # the longest SQS keeps a message: time to look and redrive
    )
    queue = Resource(
        kind="queue",
        logical_id=f"{pascal}Queue",
        domain=name,
        env_var=f"{name.upper()}_QUEUE_NAME",
        name_suffix=naming.kebab(name),
        dead_letter=dead_letter.logical_id,
        max_receive_count=QUEUE_MAX_RECEIVE_COUNT,
        visibility_timeout=6 * CONSUMER_TIMEOUT_S,  # AWS: at least 6x the consumer's timeout
        retention_seconds=4 * 24 * 3600,
    )
    return queue, dead_letter


def _idempotency_table() -> Resource:
    return Resource(
        kind="table",
        logical_id="IdempotencyTable",
        domain="",
        env_var="IDEMPOTENCY_TABLE_NAME",
        name_suffix="idempotency",
        ttl_attribute="expiration",  # Powertools' default; expired records are deleted by DynamoDB
    )


@dataclass(frozen=True)
class _Shared:
    """What every domain may reach besides its own resources, from the chosen services."""

    slug: str
    services: tuple[str, ...]
    budget: int  # what is left of a 64-character name after "<slug>-<longest stage>-"
    bucket_budget: int  # the same for 63-character bucket names
    domains: tuple[str, ...]
    public_routes: tuple[str, ...]
    idempotency: Resource | None = None
    bus: Resource | None = None
    parameter: Resource | None = None
    cache: Resource | None = None


def _shared_resources(slug: str, services: tuple[str, ...], domains: tuple[str, ...]) -> dict[str, Resource]:
    out = {}
    if "sqs" in services:
        out["idempotency"] = _idempotency_table()
    if "events" in services:
        out["bus"] = Resource(
            kind="bus", logical_id="EventBus", domain="", env_var="EVENT_BUS_NAME", name_suffix="events"
        )
        out["topic"] = Resource(
            kind="topic",
            logical_id="NotificationsTopic",
            domain="",
            env_var="",  # nothing in the code publishes to it: a bus rule forwards every domain event
            name_suffix="notifications",
            sources=tuple(f"{slug}.{d}" for d in domains),
            detail_types=tuple(_detail_type(d) for d in domains),
        )
    if "cognito" in services:
        out["user_pool"] = Resource(
            kind="user_pool", logical_id="UserPool", domain="", env_var="", name_suffix="users"
        )
    if "secrets" in services:
        out["parameter"] = Resource(
            kind="parameter",
            logical_id="SettingsParameter",
            domain="",
            env_var="SETTINGS_PARAMETER_NAME",
            name_suffix="settings",
        )
        out["secret"] = Resource(
            kind="secret",
            logical_id="ReportWebhookSecret",
            domain="",
            env_var="REPORT_WEBHOOK_SECRET_NAME",
            name_suffix="report-webhook",
        )
    if "postgres" in services or "redis" in services:
        out["network"] = Resource(
            kind="network", logical_id="Network", domain="", env_var="", name_suffix="network"
        )
    if "postgres" in services:
        out["database"] = Resource(
            kind="database", logical_id="Database", domain="", env_var="DATABASE_URL", name_suffix="db"
        )
    if "redis" in services:
        out["cache"] = Resource(
            kind="cache", logical_id="Cache", domain="", env_var="CACHE_URL", name_suffix="cache"
        )
    return out


def _entity(domain: str) -> str:
    entity = naming.singular(domain)
    return f"{domain}_item" if entity == domain else entity  # e.g. "inventory": keep names distinct


def _detail_type(domain: str) -> str:
    return f"{naming.pascal(_entity(domain))}Created"


def _http(
    name: str,
    op: str,
    route: tuple[str, str],
    text: tuple[str, str],
    module: str,
    shared: _Shared,
    grants: tuple[Grant, ...],
    environment: tuple[tuple[str, str], ...],
) -> Function:
    (method, path), (attribute, description) = route, text
    return Function(
        key=f"{name}_{op}",
        logical_id=f"{naming.pascal(name)}{op.capitalize()}",
        name=f"{naming.kebab(name)}-{op}",
        suffix=naming.fit_name(f"{naming.kebab(name)}-{op}", shared.budget),
        description=description,
        module=f"{module}.handlers",
        attribute=attribute,
        artifact=name,
        trigger=Trigger(
            kind="http", method=method, path=path, public=f"{method} {path}" in shared.public_routes
        ),
        grants=grants,
        environment=environment,
        operation=op,
    )


def _domain(name: str, layout: str, pkg: str, shared: _Shared) -> Domain:
    budget, idempotency = shared.budget, shared.idempotency
    pascal = naming.pascal(name)
    entity = _entity(name)
    noun = entity.replace("_", " ")
    table = Resource(
        kind="table",
        logical_id=f"{pascal}Table",
        domain=name,
        env_var=f"{name.upper()}_TABLE_NAME",
        name_suffix=naming.kebab(name),
    )
    if layout == "workspace":
        module, src_dir = name, f"domains/{name}/src/{name}"
        project_dir, tests_dir = f"domains/{name}", f"domains/{name}/tests"
    else:
        module, src_dir = f"{pkg}.{name}", f"src/{pkg}/{name}"
        project_dir, tests_dir = "", f"tests/{name}"
    route = f"/{naming.kebab(name)}"
    queue, dead_letter = _queues(name, pascal) if idempotency else (None, None)
    bucket = None
    if "s3" in shared.services:
        bucket = Resource(
            kind="bucket",
            logical_id=f"{pascal}Bucket",
            domain=name,
            env_var=f"{name.upper()}_BUCKET_NAME",
            name_suffix=naming.fit_name(f"{naming.kebab(name)}-files", shared.bucket_budget),
        )
    bus, parameter = shared.bus, shared.parameter
    table_env = ((table.env_var, table.logical_id),)
    functions = []
    for op, method, suffix, actions, attribute, description in CRUD_OPERATIONS:
        grants, environment = (Grant(table.logical_id, actions),), table_env
        if queue and op == "create":  # a new record is handed to the domain's consumer as a job
            grants += (Grant(queue.logical_id, QUEUE_SEND_ACTIONS),)
            environment += ((queue.env_var, queue.logical_id),)
        if bus and op == "create":  # ... and announced to the other domains as an event
            grants += (Grant(bus.logical_id, EVENT_PUBLISH_ACTIONS),)
            environment += ((bus.env_var, bus.logical_id),)
        if parameter and op == "list":  # the page size cap is runtime configuration
            grants += (Grant(parameter.logical_id, PARAMETER_READ_ACTIONS),)
            environment += ((parameter.env_var, parameter.logical_id),)
        text = (attribute.format(entity=entity, domain=name), description.format(noun=noun, domain=name))
        function = _http(name, op, (method, route + suffix), text, module, shared, grants, environment)
        if shared.cache and op in CACHED_OPERATIONS:  # reads go through the cache; writes evict
            cache_env = environment + ((shared.cache.env_var, shared.cache.logical_id),)
            function = replace(function, environment=cache_env, network=True)
        functions.append(function)
    if bucket:
        files = (
            ("upload", "POST", "/{id}/files", BUCKET_UPLOAD_ACTIONS, f"create_{entity}_upload_url", "uploads"),
            ("download", "GET", "/{id}/files/{file_name}", BUCKET_DOWNLOAD_ACTIONS,
             f"get_{entity}_download_url", "downloads"),
        )  # fmt: skip
        for op, method, suffix, actions, attribute, verb in files:
            # The record must exist (GetItem) before a URL for its files is signed.
            grants = (
                Grant(table.logical_id, ("dynamodb:GetItem",)),
                Grant(bucket.logical_id, actions, objects=True),
            )
            text = (attribute, f"Hand out a presigned URL that {verb} a file of one {noun}")
            environment = table_env + ((bucket.env_var, bucket.logical_id),)
            functions.append(
                _http(name, op, (method, route + suffix), text, module, shared, grants, environment)
            )
    if queue:
        functions.append(
            Function(
                key=f"{name}_process",
                logical_id=f"{pascal}Process",
                name=f"{naming.kebab(name)}-process",
                suffix=naming.fit_name(f"{naming.kebab(name)}-process", budget),
                description=f"Process {name} jobs from the queue, each exactly once",
                module=f"{module}.handlers",
                attribute=f"process_{name}_jobs",
                artifact=name,
                trigger=Trigger(kind="queue", queue=queue.logical_id, batch_size=CONSUMER_BATCH_SIZE),
                grants=(
                    Grant(queue.logical_id, QUEUE_CONSUME_ACTIONS),
                    Grant(table.logical_id, ("dynamodb:UpdateItem",)),
                    Grant(idempotency.logical_id, IDEMPOTENCY_ACTIONS),
                ),
                environment=(
                    (table.env_var, table.logical_id),
                    (idempotency.env_var, idempotency.logical_id),
                ),
                timeout=CONSUMER_TIMEOUT_S,
                operation="process",
            )
        )
    event_source = event_detail_type = event_contract = ""
    if bus:
        event_source, event_detail_type = f"{shared.slug}.{name}", _detail_type(name)
        contract = f"{naming.kebab(event_detail_type)}.v{EVENT_CONTRACT_VERSION}.json"
        event_contract = f"contracts/events/{name}/{contract}"
        # A domain reacts to the other domains' events; alone, it hears its own (the wiring to copy).
        others = [d for d in shared.domains if d != name] or [name]
        functions.append(
            Function(
                key=f"{name}_events",
                logical_id=f"{pascal}Events",
                name=f"{naming.kebab(name)}-events",
                suffix=naming.fit_name(f"{naming.kebab(name)}-events", budget),
                description=f"React to the domain events {name} subscribes to",
                module=f"{module}.handlers",
                attribute=f"handle_{name}_events",
                artifact=name,
                trigger=Trigger(
                    kind="event",
                    bus=bus.logical_id,
                    sources=tuple(f"{shared.slug}.{d}" for d in others),
                    detail_types=tuple(_detail_type(d) for d in others),
                ),
                grants=(),
                environment=(),
                operation="events",
            )
        )
    return Domain(
        name=name,
        pascal=pascal,
        kebab=naming.kebab(name),
        title=naming.title(name),
        entity=entity,
        entity_pascal=naming.pascal(entity),
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
    )


def _admin_job(
    key: str,
    description: str,
    trigger: Trigger,
    grants: tuple[Grant, ...],
    environment: tuple[tuple[str, str], ...],
    paths: Paths,
    budget: int,
    network: bool = False,
) -> Function:
    """One admin job: its own function (and role) in the admin artifact, module ``<admin>.<key>``."""
    return Function(
        key=key,
        logical_id=f"Admin{naming.pascal(key)}",
        name=f"admin-{key}",
        suffix=naming.fit_name(f"admin-{key}", budget),
        description=description,
        module=f"{paths.admin_module}.{key}",
        attribute="handler",
        artifact="admin",
        trigger=trigger,
        grants=grants,
        environment=environment,
        timeout=ADMIN_TIMEOUT_S,
        network=network,
    )


def _admin_jobs(
    domains: tuple[Domain, ...],
    paths: Paths,
    budget: int,
    secret: Resource | None = None,
    database: Resource | None = None,
) -> tuple[Function, ...]:
    tables = [d.table for d in domains]
    env = tuple((t.env_var, t.logical_id) for t in tables)
    scans = tuple(Grant(t.logical_id, ("dynamodb:Scan",)) for t in tables)
    report_grants, report_env = scans, env
    if secret:  # the report is also posted to a chat webhook whose URL is a secret
        report_grants += (Grant(secret.logical_id, SECRET_READ_ACTIONS),)
        report_env += ((secret.env_var, secret.logical_id),)
    puts = tuple(Grant(t.logical_id, ("dynamodb:PutItem",)) for t in tables)
    jobs = (
        _admin_job("seed", "One-off: load sample records into every domain table",
                   Trigger(kind="oneoff"), puts, env, paths, budget),
        _admin_job("report", "Scheduled: log how many records each domain table holds",
                   Trigger(kind="schedule", schedule="cron(0 6 * * ? *)"), report_grants, report_env, paths, budget),
    )  # fmt: skip
    if not database:
        return jobs
    # The database jobs run in the private subnets, where the proxy is.
    connect = (Grant(database.logical_id, DATABASE_CONNECT_ACTIONS),)
    database_env = ((database.env_var, database.logical_id),)
    return jobs + (
        _admin_job("migrate", "One-off: apply the pending PostgreSQL schema migrations (yoyo)",
                   Trigger(kind="oneoff"), connect, database_env, paths, budget, network=True),
        _admin_job("snapshot", "Scheduled: store how many records each domain table holds in PostgreSQL",
                   Trigger(kind="schedule", schedule="cron(0 5 * * ? *)"), scans + connect, env + database_env,
                   paths, budget, network=True),
    )  # fmt: skip


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
    for name in names:
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
    # What is left of a Lambda name after "<slug>-<longest stage>-"; `make dev` creates the same
    # resources as stage "local", so its names must fit too.
    longest_stage = max(len(s) for s in [*stage_names, LOCAL_STAGE])
    budget = LAMBDA_NAME_MAX - len(slug) - 2 - longest_stage
    services = tuple(answers.get("services") or ("dynamodb",))
    domain_names = tuple(answers.get("domains") or ["orders"])
    shared_resources = _shared_resources(slug, services, domain_names)
    shared = _Shared(
        slug=slug,
        services=services,
        budget=budget,
        bucket_budget=BUCKET_NAME_MAX - len(slug) - 2 - longest_stage - 1 - ACCOUNT_ID_LENGTH,
        domains=domain_names,
        public_routes=tuple(answers.get("public_routes") or ()) if "cognito" in services else (),
        idempotency=shared_resources.get("idempotency"),
        bus=shared_resources.get("bus"),
        parameter=shared_resources.get("parameter"),
        cache=shared_resources.get("cache"),
    )
    domains = tuple(_domain(name, layout, pkg, shared) for name in domain_names)
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
        stages=_stages(stage_names, production_stage, answers.get("log_level", "INFO"), retention, tracing),
        domains=domains,
        admin_jobs=_admin_jobs(
            domains, paths, budget, shared_resources.get("secret"), shared_resources.get("database")
        ),
        paths=paths,
        artifacts=_artifacts(domains, paths, layout, pkg),
        idempotency_table=shared.idempotency,
        event_bus=shared.bus,
        topic=shared_resources.get("topic"),
        user_pool=shared_resources.get("user_pool"),
        settings_parameter=shared.parameter,
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
        key = json.dumps(answers, sort_keys=True, default=str)
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
        return f'The public routes must be a YAML list such as ["GET /orders"], got {routes!r}.'
    if "cognito" not in (services or ()):
        return (
            "Public routes only mean something with cognito: select cognito, or leave public_routes empty, "
            "e.g. services=[dynamodb, cognito]."
        )
    if naming.domains_error(domains) or naming.slug_error(slug):
        return ""  # those answers report their own errors
    model = build_model({"project_slug": slug, "services": list(services), "domains": list(domains)})
    known = [f"{f.trigger.method} {f.trigger.path}" for f in model.http_functions]
    unknown = [str(r) for r in routes if r not in known]
    if unknown:
        return (
            f"No such route: {', '.join(unknown)}. Public routes are written as one of: {', '.join(known)}, "
            f'e.g. ["{known[0]}"].'
        )
    return ""


class ModelFilters(Extension):
    """Registers the validators that need the model (the route list) as Jinja filters."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["public_routes_error"] = public_routes_error
