"""What a rendered project deploys, as one comparable inventory per IaC tool.

Every tool's output (CloudFormation for SAM, CDK and Serverless; for Terraform, the state after
an apply against a local moto server) is reduced to the same plain structure for one stage:

    {
      "functions": {
        "<slug>-<stage>-<suffix>": {
          "handler": "orders.handlers.create_order",
          "runtime": "python3.12", "architecture": "arm64",
          "memory": 256, "timeout": 10, "tracing": True,
          "layers": ["<slug>-<stage>-dependencies"],
          "environment": {"STAGE": "dev", "ORDERS_TABLE_NAME": "<slug>-dev-orders", ...},
          "trigger": "POST /orders" | "schedule cron(0 6 * * ? *) UTC" | "none"
                     | "POST /orders jwt" (cognito: routes not marked public)
                     | "queue <name> batch 10 report-failures"
                     | "event <bus name> <source,source> <DetailType,DetailType>",
          "log_group": "/aws/lambda/<function name>",
          "permissions": {"table:<name>": ["dynamodb:PutItem"], "dbuser:app": ["rds-db:connect"],
                          "log-group:<name>": [...], "*": ["xray:...", "ec2:... (in-network only)"]},
          "network": "private",  # only functions in the private subnets (they reach postgres or redis)
        },
      },
      "tables": {"<name>": {"hash_key": "id", "billing": "PAY_PER_REQUEST",
                            "point_in_time_recovery": bool, "deletion_protection": bool}},
      "log_groups": {"<name>": <retention days>},
      "queues": {"<name>": {"dead_letter": "<name>" | "", "max_receive_count": 3,
                            "visibility_timeout": 180, "retention": 345600}},  # only with queues
      # tables with a TTL attribute also carry "ttl": "<attribute>"
      # only with the service that brings them:
      "buckets": {"<name>": {"versioning": bool, "encryption": "AES256", "public_access_blocked": True,
                             "tls_only": True}},                                           # s3
      "event_bus": "<slug>-<stage>-events",                                                   # events
      "topics": {"<name>": {"sources": [...], "detail_types": [...]}},  # events forwarded by a bus rule
      "auth": {"user_pool": "<slug>-<stage>-users", "client": "<slug>-<stage>-api"},          # cognito
      "parameters": ["/<slug>/<stage>/settings"], "secrets": ["<slug>/<stage>/report-webhook"],  # secrets
      "network": {"subnets": 2, "gateway_endpoints": ["dynamodb"], "ports": [5432, 6379]},  # postgres/redis
      "database": {"cluster": "<slug>-<stage>-db", "engine": "aurora-postgresql", "version": "15.10",
                   "instance_class": "db.serverless", "capacity": [0.5, 4], "iam_auth": True,
                   "encrypted": True, "deletion_protection": bool, "proxy": "<slug>-<stage>-db",
                   "proxy_iam_auth": True, "proxy_tls": True},                                # postgres
      "cache": {"name": "<slug>-<stage>-cache", "engine": "redis", "version": "7"},            # redis
      "api": {"throttle": [rate, burst], "access_log_group": "/aws/http-api/<slug>-<stage>",
              "route_metrics": bool},  # the API's detailed (per-route) metrics
      # operations (every stage): each function also carries "alias": "live", "release":
      # {"config": "CodeDeployDefault.Lambda<release>", "alarms": [<its errors alarm>], "rollback": [...]},
      # "trigger_alias": "live" (what its triggers invoke), and "reserved_concurrency" /
      # "provisioned_concurrency" when the stage config sets them.
      "alarm_topic": {"name": "<slug>-<stage>-alarms", "email": [...], "publishers": [budgets, cloudwatch]},
      "alarms": {"<alarm name>": {"metric": "AWS/Lambda Errors", "dimensions": {"FunctionName": ...},
                                  "statistic": "Sum", "period": 60, "threshold": 1.0, "actions": [...], ...}},
      "dashboard": {"name": "<slug>-<stage>", "body": {...}},  # the HTTP API's id reads API_ID
      "queries": {"<slug>-<stage>/<domain>/<query>": {"log_groups": [...], "query": "..."}},
      "budget": {"name": "<slug>-<stage>", "amount": 20.0, "filter": ["user:budget$<slug>-<stage>"], ...},
    }

Resources are named by their physical names, which every tool derives the same way
(``<slug>-<stage>-...``), so inventories compare with ``==``; ``differences`` says
what differs, naming the tool and the item. Endpoints AWS names at random are reduced by
``endpoint_hosts``: an RDS Proxy's host to ``<proxy name>.proxy`` and an ElastiCache Serverless
host to ``<cache name>.cache``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from model import (
    BUDGET_TAG,
    CACHE_ENGINE,
    CACHE_MAJOR_VERSION,
    DATABASE_CAPACITY,
    DATABASE_ENGINE,
    DATABASE_ENGINE_VERSION,
    DATABASE_USER,
    LOG_ACTIONS,
    NETWORK_ACTIONS,
    NETWORK_GATEWAY_ENDPOINTS,
    NETWORK_SUBNETS,
    RELEASE_CONFIG_PREFIX,
    ROLLBACK_EVENTS,
    TOPIC_PUBLISHERS,
    TRACING_ACTIONS,
    Service,
)

ACCOUNT = "123456789012"
PARTITION = "aws"


def stage_config(project: Path, stage: str) -> dict[str, Any]:
    return json.loads((project / "config" / f"{stage}.json").read_text())


_PROXY_HOST = re.compile(r"\b([a-z][a-z0-9-]*)\.proxy-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com\b")
_CACHE_HOST = re.compile(r"\b([a-z][a-z0-9-]*?)-[a-z0-9]{6}\.serverless\.[a-z0-9]+\.cache\.amazonaws\.com\b")


def endpoint_hosts(value: Any) -> Any:
    """A value with AWS's generated endpoint host names reduced to the names they serve."""
    if not isinstance(value, str):
        return value
    return _CACHE_HOST.sub(r"\1.cache", _PROXY_HOST.sub(r"\1.proxy", value))


def _value_of(model: Service, resource: Any, stage: str) -> str:
    """What a function's environment holds for a resource: its name, or its endpoint's URL."""
    name = model.resource_name(resource, stage, ACCOUNT)
    if resource.kind in ("database", "cache"):
        return model.endpoint_url(resource, f"{name}.{'proxy' if resource.kind == 'database' else 'cache'}")
    return name


def expected(model: Service, config: dict[str, Any]) -> dict[str, Any]:
    """The inventory the service model asks for, in one stage configured by ``config``."""
    stage = config["stage"]
    is_production = stage == model.production_stage.name
    tables = {model.table_name(r, stage): r for r in model.tables}
    queues = {model.queue_name(r, stage): r for r in model.queues}
    by_id = {r.logical_id: model.resource_name(r, stage, ACCOUNT) for r in model.resources}
    values = {r.logical_id: _value_of(model, r, stage) for r in model.resources}
    kind_of = {r.logical_id: r.kind for r in model.resources}
    authorizer = model.user_pool is not None
    functions, log_groups = {}, {}
    for function in model.functions:
        name = model.function_name(function, stage)
        log_group = f"/aws/lambda/{name}"
        log_groups[log_group] = config["log_retention_days"]
        permissions: dict[str, set[str]] = {}
        for grant in function.grants:
            key = f"{kind_of[grant.resource]}:{by_id[grant.resource]}" + ("/*" if grant.objects else "")
            if kind_of[grant.resource] == "database":  # IAM names the database user, not the cluster
                key = f"dbuser:{DATABASE_USER}"
            permissions.setdefault(key, set()).update(grant.actions)
        permissions[f"log-group:{log_group}"] = set(LOG_ACTIONS)
        if config["tracing"]:
            permissions["*"] = set(TRACING_ACTIONS)
        if function.network:
            permissions.setdefault("*", set()).update(NETWORK_ACTIONS)
        trigger = function.trigger
        functions[name] = {
            "handler": function.handler,
            "runtime": model.runtime,
            "architecture": model.architecture,
            "memory": config["memory_size"],
            "timeout": function.timeout if trigger.kind != "http" else config["function_timeout"],
            "tracing": config["tracing"],
            "layers": [f"{model.prefix(stage)}-dependencies"],
            "environment": {
                "STAGE": stage,
                "POWERTOOLS_SERVICE_NAME": model.slug,
                "POWERTOOLS_LOG_LEVEL": config["log_level"],
                **{variable: values[resource] for variable, resource in function.environment},
            },
            "trigger": _trigger(
                trigger.kind,
                trigger.method,
                trigger.path,
                trigger.schedule,
                "UTC",
                by_id.get(trigger.queue, ""),
                trigger.batch_size,
                by_id.get(trigger.bus, ""),
                trigger.sources,
                trigger.detail_types,
                authorizer and not trigger.public,
            ),  # fmt: skip
            "log_group": log_group,
            "permissions": {k: sorted(v) for k, v in permissions.items()},
            **({"network": "private"} if function.network else {}),
            "alias": model.alias,
            "release": release(
                RELEASE_CONFIG_PREFIX + config["release"],
                [model.alarm_name(model.rollback_alarm(function), stage)],
                list(ROLLBACK_EVENTS),
            ),
        }
        if trigger.kind == "queue":
            functions[name]["trigger"] += f" max-concurrency {config['queue_max_concurrency']}"
        if trigger.kind != "oneoff":
            functions[name]["trigger_alias"] = model.alias
        if config["reserved_concurrency"] is not None:
            functions[name]["reserved_concurrency"] = config["reserved_concurrency"]
        if trigger.is_http and config["provisioned_concurrency"] > 0:
            functions[name]["provisioned_concurrency"] = config["provisioned_concurrency"]
    access_log_group = f"/aws/http-api/{model.prefix(stage)}"
    log_groups[access_log_group] = config["log_retention_days"]
    timeouts = {f.logical_id: functions[model.function_name(f, stage)]["timeout"] for f in model.functions}
    names = {f.logical_id: model.function_name(f, stage) for f in model.functions} | {
        r.logical_id: model.resource_name(r, stage) for r in model.tables + model.queues
    }
    topic = f"topic:{model.alarm_topic_name(stage)}"
    alarms = {
        model.alarm_name(a, stage): alarm(
            a.namespace,
            a.metric,
            {a.dimension: names.get(a.target, "API_ID")},
            a.statistic,
            a.period,
            config[a.threshold],
            1,
            "GreaterThanOrEqualToThreshold",
            "notBreaching",
            [topic],
            [topic],
            model.duration_expression(timeouts[a.target]) if a.math else "",
        )  # fmt: skip
        for a in model.alarms
    }
    prefix = model.prefix(stage)
    operations = {
        "alarm_topic": {
            "name": model.alarm_topic_name(stage),
            "email": [config["alarm_email"]] if config["alarm_email"] else [],
            "publishers": sorted(TOPIC_PUBLISHERS),
        },
        "alarms": alarms,
        "dashboard": {
            "name": prefix,
            "body": json.loads(model.dashboard_body(stage, model.region, "API_ID")),
        },
        "queries": {
            model.query_name(q, stage): {
                "log_groups": sorted(f"/aws/lambda/{model.function_name(f, stage)}" for f in q.functions),
                "query": q.query,
            }
            for q in model.queries
        },
        "budget": budget_entry(
            prefix,
            config["budget_monthly_usd"],
            "USD",
            "MONTHLY",
            "COST",
            [f"user:{BUDGET_TAG}${prefix}"],
            [
                ("ACTUAL", config["budget_alert_percent"], "PERCENTAGE", "GREATER_THAN"),
                ("FORECASTED", config["budget_forecast_percent"], "PERCENTAGE", "GREATER_THAN"),
            ],
            [f"arn:aws:sns:{model.region}:{ACCOUNT}:{model.alarm_topic_name(stage)}"],
        ),  # fmt: skip
    }
    out = {
        "functions": functions,
        "tables": {
            name: {
                "hash_key": resource.hash_key,
                "billing": "PAY_PER_REQUEST",
                "point_in_time_recovery": is_production,
                "deletion_protection": is_production,
                **({"ttl": resource.ttl_attribute} if resource.ttl_attribute else {}),
            }
            for name, resource in tables.items()
        },
        "log_groups": log_groups,
        "api": {
            "throttle": [config["throttle_rate_limit"], config["throttle_burst_limit"]],
            "access_log_group": access_log_group,
            "route_metrics": config["api_route_metrics"],
        },
        **operations,
    }
    if model.buckets:
        out["buckets"] = {
            model.resource_name(bucket, stage, ACCOUNT): {
                "versioning": is_production,  # old versions cost money; production keeps them
                "encryption": "AES256",
                "public_access_blocked": True,
                "tls_only": True,
            }
            for bucket in model.buckets
        }
    if model.event_bus:
        out["event_bus"] = model.resource_name(model.event_bus, stage)
        out["topics"] = {
            model.resource_name(model.topic, stage): {
                "sources": sorted(model.topic.sources),
                "detail_types": sorted(model.topic.detail_types),
            }
        }
    if model.user_pool:
        out["auth"] = {
            "user_pool": model.resource_name(model.user_pool, stage),
            "client": f"{model.prefix(stage)}-api",
            # Fixed when the pool is created: every tool must make the same pool.
            "sign_in": {
                "username": ["email"],
                "case_sensitive": False,
                "admin_only": True,
                "recovery": ["verified_email"],
            },
        }
    if model.settings_parameter:
        out["parameters"] = [model.resource_name(model.settings_parameter, stage)]
    if model.report_secret:
        out["secrets"] = [model.resource_name(model.report_secret, stage)]
    if model.network:
        out["network"] = {
            "subnets": NETWORK_SUBNETS,
            "gateway_endpoints": sorted(NETWORK_GATEWAY_ENDPOINTS),
            "ports": sorted(model.network_ports),  # what in-network functions may reach
        }
    if model.database:
        name = model.resource_name(model.database, stage)
        out["database"] = {
            "cluster": name,
            "engine": DATABASE_ENGINE,
            "version": DATABASE_ENGINE_VERSION,
            "instance_class": "db.serverless",
            "capacity": list(DATABASE_CAPACITY),
            "iam_auth": True,
            "encrypted": True,
            "deletion_protection": is_production,
            "proxy": name,
            "proxy_iam_auth": True,
            "proxy_tls": True,
        }
    if model.cache:
        out["cache"] = {
            "name": model.resource_name(model.cache, stage),
            "engine": CACHE_ENGINE,
            "version": CACHE_MAJOR_VERSION,
        }
    if queues:
        out["queues"] = {
            name: {
                "dead_letter": by_id.get(queue.dead_letter, ""),
                "max_receive_count": queue.max_receive_count,
                "visibility_timeout": queue.visibility_timeout,
                "retention": queue.retention_seconds,
            }
            for name, queue in queues.items()
        }
    return out


def _trigger(
    kind: str,
    method: str = "",
    path: str = "",
    schedule: str = "",
    timezone: str = "",
    queue: str = "",
    batch_size: int = 0,
    bus: str = "",
    sources: tuple[str, ...] = (),
    detail_types: tuple[str, ...] = (),
    authorized: bool = False,
) -> str:
    if kind == "http":
        return f"{method} {path}" + (" jwt" if authorized else "")
    if kind == "event":
        return f"event {bus} {','.join(sorted(sources))} {','.join(sorted(detail_types))}"
    if kind == "schedule":
        return f"schedule {schedule} {timezone}".strip()
    if kind == "queue":  # partial batch responses: only failed messages are retried
        return f"queue {queue} batch {batch_size} report-failures"
    return "none"


_ARN = re.compile(r"^arn:[^:]+:(?P<service>[^:]+):[^:]*:[^:]*:(?P<rest>.+)$")


def resource_key(arn: str) -> str:
    """An IAM statement's resource as an inventory key: table:<name>, log-group:<name>, * ..."""
    if arn == "*":
        return "*"
    match = _ARN.match(arn)
    if not match:
        return arn
    service, rest = match["service"], match["rest"]
    if service == "dynamodb" and rest.startswith("table/"):
        return "table:" + rest.removeprefix("table/")
    if service == "logs" and rest.startswith("log-group:"):
        name = rest.removeprefix("log-group:")
        return "log-group:" + re.sub(r":(\*|log-stream:.*)$", "", name)
    if service == "sqs":
        return "queue:" + rest
    if service == "s3":  # arn:aws:s3:::<bucket>[/<key pattern>]
        return "bucket:" + rest
    if service == "events" and rest.startswith("event-bus/"):
        return "bus:" + rest.removeprefix("event-bus/")
    if service == "sns":
        return "topic:" + rest
    if service == "ssm" and rest.startswith("parameter"):
        return "parameter:" + rest.removeprefix("parameter")
    if service == "secretsmanager" and rest.startswith("secret:"):
        # A secret's ARN ends in "-" and six random characters (or the pattern -?????? for them).
        return "secret:" + re.sub(r"-(\?{6}|[A-Za-z0-9]{6})$", "", rest.removeprefix("secret:"))
    if service == "rds-db" and rest.startswith("dbuser:"):  # dbuser:<proxy or cluster id>/<user>
        return "dbuser:" + rest.rsplit("/", 1)[-1]
    if service == "cognito-idp" and rest.startswith("userpool/"):
        return "user_pool:" + rest.removeprefix("userpool/")
    if service == "lambda" and rest.startswith("function:"):
        return "function:" + rest.removeprefix("function:").split(":")[0]
    return f"{service}:{rest}"


def differences(expected_inventory: dict, actual: dict, tool: str, reference: str = "the model") -> list[str]:
    """Readable differences between two inventories, each naming the tool and the item."""
    out: list[str] = []

    def walk(path: str, want: Any, got: Any) -> None:
        if isinstance(want, dict) and isinstance(got, dict):
            for key in sorted(set(want) | set(got), key=str):
                where = f"{path}.{key}" if path else str(key)
                if key not in got:
                    out.append(f"{tool}: {where} is missing ({reference} has {want[key]!r})")
                elif key not in want:
                    out.append(f"{tool}: {where} is not in {reference} (found {got[key]!r})")
                else:
                    walk(where, want[key], got[key])
        elif want != got:
            out.append(f"{tool}: {path} is {got!r}, {reference} has {want!r}")

    walk("", expected_inventory, actual)
    return out


# --- CloudFormation (SAM after its transform, CDK synth output, Serverless package output)

_DEFAULTS = {"memory": 128, "timeout": 3, "architecture": "x86_64"}  # Lambda's own defaults
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::Cognito::UserPoolClient": "ClientName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBProxy": "DBProxyName",
    "AWS::ElastiCache::ServerlessCache": "ServerlessCacheName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Logs::QueryDefinition": "Name",
}
# What a framework adds to every stack for its own use, not part of the service (Serverless
# keeps its templates and zips in this bucket).
_FRAMEWORK_RESOURCES = {"ServerlessDeploymentBucket", "ServerlessDeploymentBucketPolicy"}


class _Resolver:
    """Evaluates the intrinsic functions of one stack for one set of parameter values."""

    def __init__(self, template: dict, parameters: dict, stack_name: str, region: str):
        self.resources = template.get("Resources", {})
        self.mappings = template.get("Mappings", {})
        self.conditions = template.get("Conditions", {})
        self.region = region
        self.parameters = {
            name: parameters.get(name, spec.get("Default"))
            for name, spec in template.get("Parameters", {}).items()
        }
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::Partition": PARTITION,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }

    def name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        prop = _NAME_PROPERTY.get(resource["Type"])
        value = resource.get("Properties", {}).get(prop) if prop else None
        return self.value(value) if value is not None else logical_id

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.resources[name]["Type"]
        if kind == "AWS::Lambda::LayerVersion":
            return f"arn:{PARTITION}:lambda:{self.region}:{ACCOUNT}:layer:{self.name(name)}:1"
        if kind == "AWS::SQS::Queue":  # Ref of a queue is its URL
            return f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{self.name(name)}"
        if kind in ("AWS::SNS::Topic", "AWS::SecretsManager::Secret"):  # Ref is the ARN
            return self.get_att(name, "Arn")
        if kind == "AWS::Cognito::UserPool":  # Ref is the pool id: <region>_<9 characters>
            return f"{self.region}_{_digest(self.name(name), 9)}"
        if kind == "AWS::Cognito::UserPoolClient":  # Ref is the client id
            return _digest(self.name(name), 26)
        if kind in ("AWS::EC2::SecurityGroup", "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable"):
            return self._id(name)
        if kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):  # Ref is the qualified ARN
            properties = self.resources[name].get("Properties", {})
            qualifier = self.value(properties["Name"]) if kind == "AWS::Lambda::Alias" else "1"
            return f"{self._function_arn(properties['FunctionName'])}:{qualifier}"
        return self.name(name)

    def _function_arn(self, node: Any) -> str:
        """A function's ARN from a FunctionName property (a name, an ARN, or either's reference)."""
        value = str(self.value(node))
        if value.startswith("arn:"):
            return value
        return f"arn:{PARTITION}:lambda:{self.region}:{ACCOUNT}:function:{value}"

    def _id(self, logical_id: str) -> str:
        """The id EC2 would give a VPC, subnet, route table or security group (stable per stack)."""
        kind = self.resources[logical_id]["Type"]
        prefix = {"AWS::EC2::SecurityGroup": "sg", "AWS::EC2::VPC": "vpc", "AWS::EC2::Subnet": "subnet"}
        return f"{prefix.get(kind, 'rtb')}-{_digest(logical_id, 17)}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name, prefix = self.name(logical_id), f"arn:{PARTITION}"
        if attribute in ("QueueName", "QueueUrl") and kind == "AWS::SQS::Queue":
            return name if attribute == "QueueName" else self.ref(logical_id)
        other = {
            ("AWS::SNS::Topic", "TopicArn"): lambda: self.get_att(logical_id, "Arn"),
            ("AWS::SNS::Topic", "TopicName"): lambda: name,
            ("AWS::Events::EventBus", "Name"): lambda: name,
            ("AWS::SecretsManager::Secret", "Id"): lambda: self.ref(logical_id),
            ("AWS::Cognito::UserPool", "UserPoolId"): lambda: self.ref(logical_id),
            ("AWS::Cognito::UserPool", "ProviderName"): lambda: self._provider(logical_id),
            ("AWS::Cognito::UserPool", "ProviderURL"): lambda: f"https://{self._provider(logical_id)}",
            ("AWS::Cognito::UserPoolClient", "ClientId"): lambda: self.ref(logical_id),
            ("AWS::Cognito::UserPoolClient", "Name"): lambda: name,
            ("AWS::S3::Bucket", "DomainName"): lambda: f"{name}.s3.amazonaws.com",
            ("AWS::S3::Bucket", "RegionalDomainName"): lambda: f"{name}.s3.{self.region}.amazonaws.com",
            ("AWS::EC2::SecurityGroup", "GroupId"): lambda: self._id(logical_id),
            ("AWS::EC2::VPC", "VpcId"): lambda: self._id(logical_id),
            ("AWS::EC2::VPC", "CidrBlock"): lambda: "10.0.0.0/16",
            ("AWS::EC2::Subnet", "SubnetId"): lambda: self._id(logical_id),
            ("AWS::RDS::DBProxy", "Endpoint"): lambda: (
                f"{name}.proxy-{_digest(name, 12)}.{self.region}.rds.amazonaws.com"
            ),
            ("AWS::RDS::DBProxy", "DBProxyArn"): lambda: (
                f"arn:{PARTITION}:rds:{self.region}:{ACCOUNT}:db-proxy:prx-{_digest(name, 17)}"
            ),
            ("AWS::RDS::DBCluster", "Endpoint.Address"): lambda: (
                f"{name}.cluster-{_digest(name, 12)}.{self.region}.rds.amazonaws.com"
            ),
            ("AWS::RDS::DBCluster", "Endpoint.Port"): lambda: "5432",
            ("AWS::RDS::DBCluster", "MasterUserSecret.SecretArn"): lambda: (
                f"arn:{PARTITION}:secretsmanager:{self.region}:{ACCOUNT}:secret:rds!cluster-{_digest(name, 8)}-AbCdEf"
            ),
            ("AWS::RDS::DBCluster", "DBClusterArn"): lambda: (
                f"arn:{PARTITION}:rds:{self.region}:{ACCOUNT}:cluster:{name}"
            ),
            ("AWS::ElastiCache::ServerlessCache", "Endpoint.Address"): lambda: (
                f"{name}-{_digest(name, 6)}.serverless.{_region_code(self.region)}.cache.amazonaws.com"
            ),
            ("AWS::ElastiCache::ServerlessCache", "Endpoint.Port"): lambda: "6379",
            ("AWS::Lambda::Version", "Version"): lambda: "1",
            ("AWS::Lambda::Version", "FunctionArn"): lambda: self.ref(logical_id).rsplit(":", 1)[0],
            ("AWS::Lambda::Alias", "AliasArn"): lambda: self.ref(logical_id),
            ("AWS::CloudWatch::Alarm", "Arn"): lambda: (
                f"{prefix}:cloudwatch:{self.region}:{ACCOUNT}:alarm:{name}"
            ),
        }.get((kind, attribute))
        if other:
            return other()
        if attribute != "Arn":
            return f"{logical_id}.{attribute}"
        here = f"{self.region}:{ACCOUNT}"
        if kind == "AWS::Events::Rule":  # a rule on a custom bus: rule/<bus name>/<rule name>
            bus = self.value(self.resources[logical_id].get("Properties", {}).get("EventBusName", "default"))
            bus = resource_key(str(bus)).removeprefix("bus:")
            return f"{prefix}:events:{here}:rule/" + (f"{bus}/{name}" if bus != "default" else name)
        if kind == "AWS::Cognito::UserPool":  # named by its id, not its name
            return f"{prefix}:cognito-idp:{here}:userpool/{self.ref(logical_id)}"
        return {
            "AWS::DynamoDB::Table": f"{prefix}:dynamodb:{here}:table/{name}",
            "AWS::Logs::LogGroup": f"{prefix}:logs:{here}:log-group:{name}:*",
            "AWS::Lambda::Function": f"{prefix}:lambda:{here}:function:{name}",
            "AWS::IAM::Role": f"{prefix}:iam::{ACCOUNT}:role/{name}",
            "AWS::SQS::Queue": f"{prefix}:sqs:{here}:{name}",
            "AWS::S3::Bucket": f"{prefix}:s3:::{name}",
            "AWS::Events::EventBus": f"{prefix}:events:{here}:event-bus/{name}",
            "AWS::SNS::Topic": f"{prefix}:sns:{here}:{name}",
            "AWS::SecretsManager::Secret": f"{prefix}:secretsmanager:{here}:secret:{name}-AbCdEf",
        }.get(kind, f"{prefix}:{kind}:{here}:{name}")

    def _provider(self, user_pool: str) -> str:
        return f"cognito-idp.{self.region}.amazonaws.com/{self.ref(user_pool)}"

    def condition(self, name: str) -> bool:
        return bool(self.value(self.conditions[name]))

    def value(self, node: Any) -> Any:  # noqa: C901 - one branch per intrinsic function
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not None]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self._sub(m.group(1), variables)), text)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.value(arg[1]))
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::Split":
                return str(self.value(arg[1])).split(arg[0])
            if key == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::FindInMap":
                top, second, third = (self.value(a) for a in arg)
                return self.mappings[top][second][third]
        return {k: self.value(v) for k, v in node.items()}

    def _sub(self, expression: str, variables: dict) -> Any:
        if expression in variables:
            return variables[expression]
        if "." in expression and expression.split(".", 1)[0] in self.resources:
            return self.get_att(*expression.split(".", 1))
        return self.ref(expression)


def _region_code(region: str) -> str:
    """ElastiCache's short region code in endpoint names: us-east-1 -> use1."""
    area, direction, number = region.split("-")
    return f"{area}{direction[0]}{number}"


def _listify(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _digest(text: str, length: int) -> str:
    """A stable stand-in for an id AWS generates (user pools, app clients)."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def cloudformation_inventory(
    template: dict, parameters: dict, stack_name: str, region: str
) -> dict[str, Any]:
    """The inventory of one CloudFormation template (already transformed: no AWS::Serverless::*)."""
    r = _Resolver(template, parameters, stack_name, region)
    resources = {
        k: v
        for k, v in template["Resources"].items()
        if k not in _FRAMEWORK_RESOURCES and ("Condition" not in v or r.condition(v["Condition"]))
    }
    of_type = lambda kind: {k: v for k, v in resources.items() if v["Type"] == kind}  # noqa: E731
    props = lambda resource: r.value(resource.get("Properties", {}))  # noqa: E731

    role_ids = {r.get_att(k, "Arn"): k for k in of_type("AWS::IAM::Role")}
    statements: dict[str, list[dict]] = {k: [] for k in role_ids.values()}
    managed: dict[str, list[str]] = {k: [] for k in role_ids.values()}
    for logical_id, role in of_type("AWS::IAM::Role").items():
        properties = props(role)
        for policy in properties.get("Policies", []):
            statements[logical_id] += _listify(policy["PolicyDocument"]["Statement"])
        managed[logical_id] += _listify(properties.get("ManagedPolicyArns", []))
    for policy in list(of_type("AWS::IAM::Policy").values()) + list(
        of_type("AWS::IAM::ManagedPolicy").values()
    ):
        properties = props(policy)
        for role_name in properties.get("Roles", []):
            role_id = next((k for k in statements if r.name(k) == role_name), role_name)
            statements.setdefault(role_id, []).extend(_listify(properties["PolicyDocument"]["Statement"]))

    triggers: dict[str, list[str]] = {}
    qualifiers: dict[str, set[str]] = {}  # the alias (or "" for none) each function's triggers invoke
    function_by_arn = {r.get_att(k, "Arn"): r.name(k) for k in of_type("AWS::Lambda::Function")}

    def target_function(uri: str) -> str:
        for arn, name in function_by_arn.items():
            if arn in str(uri):
                qualifier = re.match(r":([A-Za-z0-9_-]+)", str(uri).split(arn, 1)[1])
                qualifiers.setdefault(name, set()).add(qualifier[1] if qualifier else "")
                return name
        return f"unknown:{uri}"

    integrations = {
        k: props(v).get("IntegrationUri") for k, v in of_type("AWS::ApiGatewayV2::Integration").items()
    }
    for route in of_type("AWS::ApiGatewayV2::Route").values():
        properties = route["Properties"]
        target = properties.get("Target")
        integration = (
            target["Fn::Join"][1][-1]["Ref"] if isinstance(target, dict) and "Fn::Join" in target else None
        )
        if integration is None:
            integration = str(r.value(target)).removeprefix("integrations/")
        function = target_function(integrations.get(integration, integration))
        jwt = " jwt" if r.value(properties.get("AuthorizationType")) == "JWT" else ""
        triggers.setdefault(function, []).append(r.value(properties["RouteKey"]) + jwt)
    apis = of_type("AWS::ApiGatewayV2::Api")
    for api in apis.values():
        body = props(api).get("Body") or {}
        schemes = (body.get("components") or {}).get("securitySchemes") or {}
        jwt_schemes = {
            name
            for name, scheme in schemes.items()
            if (scheme.get("x-amazon-apigateway-authorizer") or {}).get("type") == "jwt"
        }
        for path, item in body.get("paths", {}).items():
            for method, operation in item.items():
                uri = operation.get("x-amazon-apigateway-integration", {}).get("uri", "")
                security = operation.get("security", body.get("security")) or []
                jwt = " jwt" if any(set(entry) & jwt_schemes for entry in security) else ""
                triggers.setdefault(target_function(uri), []).append(f"{method.upper()} {path}{jwt}")
    for schedule in of_type("AWS::Scheduler::Schedule").values():
        properties = props(schedule)
        if properties.get("State", "ENABLED") == "ENABLED":
            text = _trigger(
                "schedule", schedule=properties["ScheduleExpression"],
                timezone=properties.get("ScheduleExpressionTimezone", "UTC"),
            )  # fmt: skip
            triggers.setdefault(target_function(properties["Target"]["Arn"]), []).append(text)
    for mapping in of_type("AWS::Lambda::EventSourceMapping").values():
        properties = props(mapping)
        source = resource_key(str(properties.get("EventSourceArn", "")))
        if source.startswith("queue:") and properties.get("Enabled", True) not in (False, "false"):
            reports = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
            text = f"queue {source.removeprefix('queue:')} batch {_number(properties.get('BatchSize', 10))}"
            text += " report-failures" if reports else ""
            scaling = (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
            text += f" max-concurrency {_number(scaling)}" if scaling is not None else ""
            triggers.setdefault(target_function(r._function_arn(properties["FunctionName"])), []).append(text)
    topic_by_arn = {r.ref(k): r.name(k) for k in of_type("AWS::SNS::Topic")}
    # A topic's events are what the bus rule that targets it forwards (none without a rule).
    topics = {name: {"sources": [], "detail_types": []} for name in topic_by_arn.values()}
    for rule in of_type("AWS::Events::Rule").values():
        properties = props(rule)
        if properties.get("State", "ENABLED") != "ENABLED":
            continue
        if "ScheduleExpression" in properties:
            for target in properties.get("Targets", []):
                text = f"rule {properties['ScheduleExpression']}"
                triggers.setdefault(target_function(target["Arn"]), []).append(text)
            continue
        pattern = properties.get("EventPattern") or {}
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        sources = sorted(_listify(pattern.get("source", [])))
        detail_types = sorted(_listify(pattern.get("detail-type", [])))
        bus = resource_key(str(properties.get("EventBusName", "default"))).removeprefix("bus:")
        for target in properties.get("Targets", []):
            arn = str(target["Arn"])
            if arn in topic_by_arn:
                topics[topic_by_arn[arn]] = {"sources": sources, "detail_types": detail_types}
            else:
                text = _trigger("event", bus=bus, sources=tuple(sources), detail_types=tuple(detail_types))
                triggers.setdefault(target_function(arn), []).append(text)

    functions = {}
    for logical_id, function in of_type("AWS::Lambda::Function").items():
        properties = props(function)
        name = properties.get("FunctionName", logical_id)
        role = role_ids.get(properties.get("Role"), properties.get("Role"))
        permissions: dict[str, set[str]] = {}
        for statement in statements.get(role, []):
            if statement.get("Effect") != "Allow":
                continue
            for resource in _listify(statement.get("Resource", [])):
                permissions.setdefault(resource_key(resource), set()).update(_listify(statement["Action"]))
        for arn in managed.get(role, []):
            permissions[f"managed-policy:{arn}"] = {"*"}
        functions[name] = {
            "handler": properties.get("Handler"),
            "runtime": properties.get("Runtime"),
            "architecture": (properties.get("Architectures") or [_DEFAULTS["architecture"]])[0],
            "memory": int(properties.get("MemorySize", _DEFAULTS["memory"])),
            "timeout": int(properties.get("Timeout", _DEFAULTS["timeout"])),
            "tracing": (properties.get("TracingConfig") or {}).get("Mode") == "Active",
            "layers": [
                str(layer).split(":layer:")[-1].rsplit(":", 1)[0] for layer in properties.get("Layers", [])
            ],
            "environment": {
                k: endpoint_hosts(v)
                for k, v in ((properties.get("Environment") or {}).get("Variables") or {}).items()
            },
            "trigger": " | ".join(sorted(triggers.get(name, []))) or "none",
            "log_group": (properties.get("LoggingConfig") or {}).get("LogGroup", f"/aws/lambda/{name}"),
            "permissions": {k: sorted(v) for k, v in permissions.items()},
        }
        if (properties.get("VpcConfig") or {}).get("SubnetIds"):
            functions[name]["network"] = "private"
        if properties.get("ReservedConcurrentExecutions") is not None:
            functions[name]["reserved_concurrency"] = _number(properties["ReservedConcurrentExecutions"])
        if name in qualifiers:
            functions[name]["trigger_alias"] = ",".join(sorted(qualifiers[name]))
    _releases(r, of_type, props, functions)

    tables = {}
    for table in of_type("AWS::DynamoDB::Table").values():
        properties = props(table)
        pitr = (properties.get("PointInTimeRecoverySpecification") or {}).get(
            "PointInTimeRecoveryEnabled", False
        )
        tables[properties["TableName"]] = {
            "hash_key": next(k["AttributeName"] for k in properties["KeySchema"] if k["KeyType"] == "HASH"),
            "billing": properties.get("BillingMode", "PROVISIONED"),
            "point_in_time_recovery": _bool(pitr),
            "deletion_protection": _bool(properties.get("DeletionProtectionEnabled", False)),
        }
        ttl = properties.get("TimeToLiveSpecification") or {}
        if _bool(ttl.get("Enabled", False)):
            tables[properties["TableName"]]["ttl"] = ttl["AttributeName"]
    log_groups = {
        props(g)["LogGroupName"]: int(props(g).get("RetentionInDays", 0))
        for g in of_type("AWS::Logs::LogGroup").values()
    }
    api: dict[str, Any] = {}
    for stage in of_type("AWS::ApiGatewayV2::Stage").values():
        properties = props(stage)
        settings = properties.get("DefaultRouteSettings") or {}
        destination = (properties.get("AccessLogSettings") or {}).get("DestinationArn", "")
        api = {
            "throttle": [
                _number(settings.get("ThrottlingRateLimit")),
                _number(settings.get("ThrottlingBurstLimit")),
            ],
            "access_log_group": resource_key(destination).removeprefix("log-group:"),
            "route_metrics": _bool(settings.get("DetailedMetricsEnabled", False)),
        }
    out = {"functions": functions, "tables": tables, "log_groups": log_groups, "api": api}
    queues = {}
    for queue in of_type("AWS::SQS::Queue").values():
        properties = props(queue)
        redrive = properties.get("RedrivePolicy") or {}
        if isinstance(redrive, str):
            redrive = json.loads(redrive)
        queues[properties["QueueName"]] = {
            "dead_letter": resource_key(str(redrive.get("deadLetterTargetArn", ""))).removeprefix("queue:"),
            "max_receive_count": _number(redrive.get("maxReceiveCount", 0)),
            "visibility_timeout": _number(properties.get("VisibilityTimeout", 30)),
            "retention": _number(properties.get("MessageRetentionPeriod", 345600)),
        }
    if queues:
        out["queues"] = queues
    out.update(_operations_inventory(r, of_type, props, topics))
    out.update(_services_inventory(r, of_type, props, topics))
    out.update(_data_services_inventory(of_type, props))
    return out


def _releases(r: _Resolver, of_type, props, functions: dict) -> None:
    """Each function's aliases, and how CodeDeploy moves its alias to a new version."""
    groups = {r.ref(k): props(v) for k, v in of_type("AWS::CodeDeploy::DeploymentGroup").items()}
    for alias in of_type("AWS::Lambda::Alias").values():
        properties = props(alias)
        name = str(r._function_arn(properties["FunctionName"])).rsplit(":function:", 1)[-1].split(":")[0]
        if name not in functions:
            continue
        function = functions[name]
        function["alias"] = ",".join(sorted(filter(None, [function.get("alias"), properties["Name"]])))
        provisioned = (properties.get("ProvisionedConcurrencyConfig") or {}).get(
            "ProvisionedConcurrentExecutions"
        )
        if provisioned is not None and _number(provisioned) > 0:
            function["provisioned_concurrency"] = _number(provisioned)
        update = r.value((alias.get("UpdatePolicy") or {}).get("CodeDeployLambdaAliasUpdate") or {})
        group = groups.get(update.get("DeploymentGroupName"))
        if group is not None:
            function["release"] = release(
                group.get("DeploymentConfigName", ""),
                [a["Name"] for a in (group.get("AlarmConfiguration") or {}).get("Alarms", [])],
                (group.get("AutoRollbackConfiguration") or {}).get("Events", []),
            )


def release(config: str, alarms: list[str], rollback: list[str]) -> dict[str, Any]:
    return {"config": config, "alarms": sorted(alarms), "rollback": sorted(rollback)}


def normalize_api_id(value: Any, api_ids: set[str]) -> Any:
    """The HTTP API's id, which AWS generates, as API_ID wherever a metric names it."""
    if isinstance(value, list):
        return [normalize_api_id(v, api_ids) for v in value]
    if isinstance(value, dict):
        return {k: normalize_api_id(v, api_ids) for k, v in value.items()}
    return "API_ID" if isinstance(value, str) and value in api_ids else value


def alarm(
    namespace: str, metric: str, dimensions: dict, statistic: str, period: Any, threshold: Any,
    evaluation_periods: Any, comparison: str, missing_data: str, actions: list, ok_actions: list,
    expression: str = "",
) -> dict[str, Any]:  # fmt: skip
    """One alarm in the inventory's terms (shared by every tool's reader)."""
    out = {
        "metric": f"{namespace} {metric}",
        "dimensions": dict(dimensions),
        "statistic": statistic,
        "period": _number(period),
        "evaluation_periods": _number(evaluation_periods),
        "threshold": float(threshold),
        "comparison": comparison,
        "missing_data": missing_data,
        "actions": sorted(resource_key(str(a)) for a in actions),
        "ok_actions": sorted(resource_key(str(a)) for a in ok_actions),
    }
    if expression:
        out["expression"] = expression
    return out


def _operations_inventory(r: _Resolver, of_type, props, topics: dict) -> dict[str, Any]:
    """Alarms and their topic, the dashboard, saved queries and the budget."""
    out: dict[str, Any] = {}
    api_ids = {str(r.ref(k)) for k in of_type("AWS::ApiGatewayV2::Api")}
    alarms = {}
    for alarm_resource in of_type("AWS::CloudWatch::Alarm").values():
        p = props(alarm_resource)
        metrics = p.get("Metrics") or []
        stat = next((m["MetricStat"] for m in metrics if "MetricStat" in m), None)
        math = next((m for m in metrics if m.get("Expression")), {})
        source = stat["Metric"] if stat else p
        dimensions = {d["Name"]: d["Value"] for d in source.get("Dimensions", [])}
        alarms[p["AlarmName"]] = alarm(
            source["Namespace"], source["MetricName"], normalize_api_id(dimensions, api_ids),
            stat["Stat"] if stat else p.get("ExtendedStatistic") or p.get("Statistic"),
            stat["Period"] if stat else p.get("Period"), p["Threshold"], p.get("EvaluationPeriods"),
            p.get("ComparisonOperator"), p.get("TreatMissingData", "missing"), p.get("AlarmActions", []),
            p.get("OKActions", []), math.get("Expression", ""),
        )  # fmt: skip
    if alarms:
        out["alarms"] = alarms
    watched = {a for item in alarms.values() for a in item["actions"] + item["ok_actions"]}
    for logical_id in of_type("AWS::SNS::Topic"):
        name = r.name(logical_id)
        if f"topic:{name}" not in watched:
            continue
        topics.pop(name, None)  # the alarm topic is not one of the events' topics
        arn = r.ref(logical_id)
        emails = sorted(
            props(s)["Endpoint"]
            for s in of_type("AWS::SNS::Subscription").values()
            if props(s).get("TopicArn") == arn and props(s).get("Protocol") == "email"
        )
        publishers = sorted(
            service
            for policy in of_type("AWS::SNS::TopicPolicy").values()
            if arn in _listify(props(policy).get("Topics", []))
            for statement in _listify(props(policy)["PolicyDocument"]["Statement"])
            if statement.get("Effect") == "Allow" and "sns:Publish" in _listify(statement.get("Action", []))
            for service in _listify((statement.get("Principal") or {}).get("Service", []))
        )
        out["alarm_topic"] = {"name": name, "email": emails, "publishers": publishers}
    for dashboard in of_type("AWS::CloudWatch::Dashboard").values():
        p = props(dashboard)
        out["dashboard"] = {
            "name": p["DashboardName"],
            "body": normalize_api_id(json.loads(p["DashboardBody"]), api_ids),
        }
    queries = {
        props(q)["Name"]: {
            "log_groups": sorted(props(q).get("LogGroupNames", [])),
            "query": props(q)["QueryString"],
        }
        for q in of_type("AWS::Logs::QueryDefinition").values()
    }
    if queries:
        out["queries"] = queries
    for budget in of_type("AWS::Budgets::Budget").values():
        p = props(budget)
        data = p["Budget"]
        out["budget"] = budget_entry(
            data["BudgetName"], data["BudgetLimit"]["Amount"], data["BudgetLimit"]["Unit"], data["TimeUnit"],
            data["BudgetType"], (data.get("CostFilters") or {}).get("TagKeyValue", []),
            [
                (n["Notification"]["NotificationType"], n["Notification"]["Threshold"],
                 n["Notification"].get("ThresholdType", "PERCENTAGE"), n["Notification"]["ComparisonOperator"])
                for n in p.get("NotificationsWithSubscribers", [])
            ],
            [s["Address"] for n in p.get("NotificationsWithSubscribers", []) for s in n["Subscribers"]],
        )  # fmt: skip
    return out


def budget_entry(
    name: str,
    amount: Any,
    unit: str,
    period: str,
    kind: str,
    tags: list,
    notifications: list,
    subscribers: list,
) -> dict[str, Any]:
    """A budget in the inventory's terms: notifications as [type, threshold] (percentages, "over")."""
    return {
        "name": name,
        "amount": float(amount),
        "unit": unit,
        "period": period,
        "type": kind,
        "filter": sorted(tags),
        "notifications": sorted(
            [kind_, float(threshold)]
            if (unit_, operator) == ("PERCENTAGE", "GREATER_THAN")
            else [kind_, f"{threshold} {unit_} {operator}"]
            for kind_, threshold, unit_, operator in notifications
        ),
        "subscribers": sorted({resource_key(str(s)) for s in subscribers}),
    }


def _data_services_inventory(of_type, props) -> dict[str, Any]:
    """The private network, the PostgreSQL cluster and proxy, and the Redis cache (postgres/redis)."""
    out: dict[str, Any] = {}
    function_groups = {
        group
        for function in of_type("AWS::Lambda::Function").values()
        for group in (props(function).get("VpcConfig") or {}).get("SecurityGroupIds", [])
    }
    if of_type("AWS::EC2::VPC"):
        endpoints = [
            str(props(e).get("ServiceName", "")).rsplit(".", 1)[-1]
            for e in of_type("AWS::EC2::VPCEndpoint").values()
            if props(e).get("VpcEndpointType", "Gateway") == "Gateway"
        ]
        ports = set()  # ingress ports open to the functions' security group
        rules = [props(i) for i in of_type("AWS::EC2::SecurityGroupIngress").values()]
        rules += [
            rule
            for g in of_type("AWS::EC2::SecurityGroup").values()
            for rule in props(g).get("SecurityGroupIngress", [])
        ]
        for rule in rules:
            if rule.get("SourceSecurityGroupId") in function_groups:
                ports.update(range(_number(rule["FromPort"]), _number(rule["ToPort"]) + 1))
        out["network"] = {
            "subnets": len(of_type("AWS::EC2::Subnet")),
            "gateway_endpoints": sorted(endpoints),
            "ports": sorted(ports),
        }
    for cluster in of_type("AWS::RDS::DBCluster").values():
        properties = props(cluster)
        scaling = properties.get("ServerlessV2ScalingConfiguration") or {}
        classes = sorted({props(i).get("DBInstanceClass") for i in of_type("AWS::RDS::DBInstance").values()})
        proxies = [props(p) for p in of_type("AWS::RDS::DBProxy").values()]
        auth = [a for proxy in proxies for a in proxy.get("Auth", [])]
        out["database"] = {
            "cluster": properties.get("DBClusterIdentifier"),
            "engine": properties.get("Engine"),
            "version": str(properties.get("EngineVersion")),
            "instance_class": ", ".join(str(c) for c in classes),
            "capacity": [float(scaling.get("MinCapacity", 0)), float(scaling.get("MaxCapacity", 0))],
            "iam_auth": _bool(properties.get("EnableIAMDatabaseAuthentication", False)),
            "encrypted": _bool(properties.get("StorageEncrypted", False)),
            "deletion_protection": _bool(properties.get("DeletionProtection", False)),
            "proxy": ", ".join(str(p.get("DBProxyName")) for p in proxies),
            "proxy_iam_auth": bool(auth) and all(a.get("IAMAuth") == "REQUIRED" for a in auth),
            "proxy_tls": bool(proxies) and all(_bool(p.get("RequireTLS", False)) for p in proxies),
        }
    for cache in of_type("AWS::ElastiCache::ServerlessCache").values():
        properties = props(cache)
        out["cache"] = {
            "name": properties.get("ServerlessCacheName"),
            "engine": properties.get("Engine"),
            "version": str(properties.get("MajorEngineVersion")),
        }
    return out


def _services_inventory(r: _Resolver, of_type, props, topics: dict) -> dict[str, Any]:
    """Buckets, the event bus and topics, the user pool, parameters and secrets (each key only
    when the stack has such resources)."""
    out: dict[str, Any] = {}
    tls_only = set()  # names of the buckets whose policy denies requests without TLS
    for policy in of_type("AWS::S3::BucketPolicy").values():
        properties = props(policy)
        bucket = str(properties.get("Bucket"))
        arn = f"arn:{PARTITION}:s3:::{bucket}"
        for statement in _listify((properties.get("PolicyDocument") or {}).get("Statement", [])):
            secure = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
            principal = statement.get("Principal")
            if (
                statement.get("Effect") == "Deny"
                and str(secure).lower() == "false"
                and principal in ("*", {"AWS": "*"}, {"AWS": ["*"]})
                and "s3:*" in _listify(statement.get("Action", []))
                and {arn, f"{arn}/*"} <= set(_listify(statement.get("Resource", [])))
            ):
                tls_only.add(bucket)
    buckets = {}
    for logical_id, bucket in of_type("AWS::S3::Bucket").items():
        properties = props(bucket)
        name = properties.get("BucketName", logical_id)
        rules = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration", [])
        algorithms = {(rule.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") for rule in rules}
        block = properties.get("PublicAccessBlockConfiguration") or {}
        settings = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        buckets[name] = {
            "versioning": (properties.get("VersioningConfiguration") or {}).get("Status") == "Enabled",
            "encryption": ",".join(sorted(str(a) for a in algorithms)),
            "public_access_blocked": all(_bool(block.get(setting, False)) for setting in settings),
            "tls_only": name in tls_only,
        }
    if buckets:
        out["buckets"] = buckets
    buses = sorted(r.name(k) for k in of_type("AWS::Events::EventBus"))
    if buses:
        out["event_bus"] = ", ".join(buses)
    if topics:
        out["topics"] = topics
    pools = sorted(r.name(k) for k in of_type("AWS::Cognito::UserPool"))
    clients = sorted(r.name(k) for k in of_type("AWS::Cognito::UserPoolClient"))
    if pools or clients:
        out["auth"] = {"user_pool": ", ".join(pools), "client": ", ".join(clients)}
        for pool in of_type("AWS::Cognito::UserPool").values():
            properties = props(pool)
            recovery = (properties.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms", [])
            out["auth"]["sign_in"] = sign_in(
                properties.get("UsernameAttributes", []),
                (properties.get("UsernameConfiguration") or {}).get("CaseSensitive", True),
                (properties.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly", False),
                [m["Name"] for m in sorted(recovery, key=lambda m: m.get("Priority", 0))],
            )
    parameters = sorted(r.name(k) for k in of_type("AWS::SSM::Parameter"))
    if parameters:
        out["parameters"] = parameters
    secrets = sorted(r.name(k) for k in of_type("AWS::SecretsManager::Secret"))
    if secrets:
        out["secrets"] = secrets
    return out


def sign_in(username: list, case_sensitive: Any, admin_only: Any, recovery: list) -> dict[str, Any]:
    """How users of a pool sign in, from the settings a pool cannot change after it is created."""
    return {
        "username": sorted(username),
        "case_sensitive": _bool(case_sensitive),
        "admin_only": _bool(admin_only),
        "recovery": list(recovery),
    }


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _number(value: Any) -> Any:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return value


def sam_transform(template: dict, parameters: dict, region: str) -> dict:
    """A SAM template transformed as `sam deploy` would, offline: plain CloudFormation."""
    import copy
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template must not use SAM policy templates or managed policies
        def load(self) -> dict:
            return {}

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):  # what `sam package` does: local path -> S3 object
                properties[key] = "s3://artifacts/" + properties[key].rsplit("/", 1)[-1]
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    return transform(template, dict(parameters), NoManagedPolicies())


def sam_inventory(template: dict, parameters: dict, stack_name: str, region: str) -> dict[str, Any]:
    """Transform a SAM template as `sam deploy` would, offline, then reduce it like any stack."""
    return cloudformation_inventory(
        sam_transform(template, parameters, region), parameters, stack_name, region
    )


# --- Nested stacks -------------------------------------------------------------------------------
# A stage deploys as a root stack plus one nested stack per domain. The inventory is of what the
# stage deploys, so the nested templates are inlined into the root first.

_NESTED_STACK = "AWS::CloudFormation::Stack"
_PER_STACK_IDS = {"ServerlessDeploymentApplication", "CodeDeployServiceRole"}
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def nested_stacks(template: dict) -> dict[str, dict]:
    """The root's nested-stack resources, by logical id."""
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == _NESTED_STACK}


def flatten(root: dict, children: dict[str, dict]) -> dict:
    """One template holding the root's resources and every nested stack's, as deployed together.

    ``children`` maps each nested stack's logical id to its template (transformed, synthesized or
    packaged). A child's parameters become the expressions the root passes them, its conditions are
    renamed ``<stack id><name>``, and the root's ``Fn::GetAtt [<stack id>, Outputs.<name>]`` becomes
    the child's output value. A child's own ``AWS::StackName`` is the nested stack's generated name,
    not the root's, so names built from it show up as such in the inventory.
    """
    stacks = nested_stacks(root)
    if set(stacks) != set(children):
        raise ValueError(f"nested stacks {sorted(stacks)} but templates for {sorted(children)}")
    flat = copy.deepcopy(root)
    resources = {k: v for k, v in flat["Resources"].items() if k not in stacks}
    conditions = dict(flat.get("Conditions", {}))
    outputs: dict[str, dict[str, Any]] = {}
    for stack_id, child in children.items():
        passed = stacks[stack_id].get("Properties", {}).get("Parameters", {})
        # What a tool adds to every stack under one fixed id (SAM's CodeDeploy application and
        # role) is renamed <stack id><id> inside the child; another clash is a mistake.
        clashes = {k for k in child.get("Resources", {}) if k in resources}
        if clashes - _PER_STACK_IDS:
            raise ValueError(f"{stack_id} and another stack both declare the logical ids {sorted(clashes)}")
        inline = _Inliner(stack_id, child, passed, {k: stack_id + k for k in clashes})
        for name, condition in child.get("Conditions", {}).items():
            conditions[inline.condition_name(name)] = inline.node(condition)
        for logical_id, resource in child.get("Resources", {}).items():
            resources[inline.renamed.get(logical_id, logical_id)] = inline.resource(resource)
        outputs[stack_id] = {name: inline.node(o["Value"]) for name, o in child.get("Outputs", {}).items()}
    flat["Resources"] = _read_outputs(resources, outputs)
    flat["Conditions"] = _read_outputs(conditions, outputs)
    return flat


class _Inliner:
    """Rewrites one child template's nodes into the root's terms."""

    def __init__(self, stack_id: str, child: dict, passed: dict, renamed: dict[str, str] | None = None):
        self.stack_id = stack_id
        self.renamed = renamed or {}
        self.conditions = set(child.get("Conditions", {}))
        self.values = {
            name: passed[name] if name in passed else spec.get("Default")
            for name, spec in child.get("Parameters", {}).items()
        }
        missing = [name for name, value in self.values.items() if value is None]
        if missing:
            raise ValueError(f"{stack_id}: no value passed for parameters {missing}")
        self.values["AWS::StackName"] = {"Fn::Sub": "${AWS::StackName}-" + stack_id + "-NESTED1234"}

    def condition_name(self, name: str) -> str:
        return self.stack_id + name if name in self.conditions else name

    def resource(self, resource: dict) -> dict:
        out = self.node(resource)
        if "DependsOn" in resource:
            out["DependsOn"] = [self.renamed.get(d, d) for d in _listify(resource["DependsOn"])]
        if "Condition" in resource:
            out["Condition"] = self.condition_name(resource["Condition"])
        return out

    def node(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.node(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref" and arg in self.values:
                return copy.deepcopy(self.values[arg])
            if key == "Ref" and arg in self.renamed:
                return {"Ref": self.renamed[arg]}
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return {"Fn::GetAtt": [self.renamed.get(logical_id, logical_id), attribute]}
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], dict(arg[1]))
                variables = {name: self.node(value) for name, value in variables.items()}
                for name in _SUB_VARIABLE.findall(text):
                    if name not in variables and name in self.values:
                        variables[name] = copy.deepcopy(self.values[name])
                    target = name.split(".", 1)[0]
                    if name not in variables and target in self.renamed:
                        variables[name] = (
                            {"Fn::GetAtt": [self.renamed[target], name.split(".", 1)[1]]}
                            if "." in name
                            else {"Ref": self.renamed[target]}
                        )
                return {"Fn::Sub": [text, variables] if variables else text}
            if key == "Fn::If":
                return {"Fn::If": [self.condition_name(arg[0]), *self.node(arg[1:])]}
            if key == "Condition" and isinstance(arg, str):
                return {"Condition": self.condition_name(arg)}
        return {k: self.node(v) for k, v in node.items()}


def _read_outputs(node: Any, outputs: dict[str, dict[str, Any]]) -> Any:
    """The root's references to nested stacks' outputs, replaced by the outputs' values."""
    if isinstance(node, list):
        return [_read_outputs(item, outputs) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Fn::GetAtt":
            stack_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if stack_id in outputs:
                return copy.deepcopy(outputs[stack_id][attribute.removeprefix("Outputs.")])
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], dict(arg[1]))
            variables = {name: _read_outputs(value, outputs) for name, value in variables.items()}
            for name in _SUB_VARIABLE.findall(text):
                stack_id, _, attribute = name.partition(".")
                if name not in variables and stack_id in outputs:
                    variables[name] = copy.deepcopy(outputs[stack_id][attribute.removeprefix("Outputs.")])
            return {"Fn::Sub": [text, variables] if variables else text}
    return {k: _read_outputs(v, outputs) for k, v in node.items()}
