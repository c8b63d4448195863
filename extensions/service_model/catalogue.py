"""What the service model is made of: the operations a domain offers, the backing services'
settings and the IaC tools. Plain data; IAM actions are in ``grants``, physical names in ``names``.

Adding a backing service starts here (its settings), then ``grants`` (what its users may do),
``resources`` (what it creates) and ``domains``/``admin`` (which functions use it).
"""

from __future__ import annotations

from dataclasses import dataclass

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


# The presigned-URL routes of each domain's files (service "s3"):
# key, method, path suffix, handler name, what the URL does
FILE_OPERATIONS = (
    ("upload", "POST", "/{id}/files", "create_{entity}_upload_url", "uploads"),
    ("download", "GET", "/{id}/files/{file_name}", "get_{entity}_download_url", "downloads"),
)
# Reads of these operations go through the cache (service "redis"); writes evict.
CACHED_OPERATIONS = ("get", "update", "delete")


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
# The uv every rendered project runs: `make` installs it into .tools/ when missing, CI sets it up.
UV_VERSION = "0.13.9"
# The IaC scanners `make validate` runs, per tool (scanners/pyproject.toml): CloudFormation templates
# get cfn-lint, and checkov reads all but the CDK's (cdk-nag checks those in its tests).
SCANNERS = {"cfn-lint": "cfn-lint>=1.0,<2", "checkov": "checkov>=3.1,<4"}
IAC_SCANNERS = {
    "sam": ("cfn-lint", "checkov"),
    "cdk": ("cfn-lint",),
    "terraform": ("checkov",),
    "serverless": ("cfn-lint", "checkov"),
}
LOCAL_STAGE = "local"  # the stage name `make dev` and the rendered tests use
LOCAL_ACCOUNT = "123456789012"  # the emulator's account: `make dev` and the rendered tests
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_S = 10
ADMIN_TIMEOUT_S = 300

# Queue consumers (service "sqs"): each domain gets a work queue and a dead-letter queue.
CONSUMER_TIMEOUT_S = 30
CONSUMER_BATCH_SIZE = 10
QUEUE_MAX_RECEIVE_COUNT = 3  # a message that fails this many times moves to the dead-letter queue
# Domain events (service "events"): one EventBridge bus; an SNS topic fans them out to people.
EVENT_CONTRACT_VERSION = 1
# Configuration (service "secrets"): the parameter's first value; changed later without a deploy.
RUNTIME_SETTINGS = {"max_page_size": 100}
# Functions that reach PostgreSQL or Redis run in the service's private subnets.
NETWORK_SUBNETS = 2  # private subnets in two availability zones; no internet route (no NAT)
NETWORK_GATEWAY_ENDPOINTS = ("dynamodb",)  # in-network functions still read their tables
# PostgreSQL (service "postgres"): Aurora Serverless v2 behind RDS Proxy, IAM auth end to end.
DATABASE_ENGINE = "aurora-postgresql"
DATABASE_ENGINE_VERSION = "15.10"  # the major version `make dev` and the tests run locally
DATABASE_CAPACITY = (0.5, 4)  # Aurora capacity units: min, max
DATABASE_NAME = "app"
DATABASE_USER = "app"  # the proxy signs in as this user with the cluster's managed secret
DATABASE_PORT = 5432
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
