"""What every domain shares: the dependency layer, the HTTP API with its access logs, the shared resources."""

from __future__ import annotations

import json
from pathlib import Path

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import data, eventbus, model, storage
from infra.auth import Auth
from infra.network import Network
from infra.operations import Operations, alarm
from infra.settings import StageSettings

# One JSON line per request in the access log group.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "ip": "$context.identity.sourceIp",
}


class SharedInfra(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings, layer_zip: Path) -> None:
        super().__init__(scope, construct_id)
        prefix = settings.prefix

        # Third-party code, locked by uv.lock and built by `make build`; boto3 comes with the runtime.
        self.layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            layer_version_name=f"{prefix}-dependencies",
            description=f"{prefix} locked dependencies",
            code=lambda_.Code.from_asset(str(layer_zip)),
            compatible_runtimes=[lambda_.Runtime(model.RUNTIME, lambda_.RuntimeFamily.PYTHON)],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            removal_policy=RemovalPolicy.DESTROY,
        )
        # The alarm topic, and what the functions' releases share.
        self.operations = Operations(self, "Operations", settings=settings)
        # What no single domain owns; every domain's functions (and the admin jobs) may be granted on it.
        self.resources: storage.Resources = {}
        for spec in model.SHARED_TABLES:
            self.resources[spec.logical_id] = storage.table(self, spec.logical_id, spec, settings)
            self.watch(self, spec.logical_id, "table", f"{prefix}-{spec.name_suffix}")
        self.notifications: eventbus.Notifications | None = None
        if model.EVENT_BUS:
            bus = eventbus.bus(self, model.EVENT_BUS.logical_id, model.EVENT_BUS, settings)
            self.resources[model.EVENT_BUS.logical_id] = bus
            if model.TOPIC:
                self.notifications = eventbus.Notifications(
                    self, model.TOPIC.logical_id, spec=model.TOPIC, bus=bus, settings=settings
                )
        for spec, build in ((model.SETTINGS_PARAMETER, storage.parameter), (model.REPORT_SECRET, storage.secret)):
            if spec:
                self.resources[spec.logical_id] = build(self, spec.logical_id, spec, settings)
        # PostgreSQL and Redis live in a private network; the functions that reach them run in it too.
        if model.NETWORK:
            network = Network(self, model.NETWORK.logical_id, spec=model.NETWORK, settings=settings)
            self.resources[model.NETWORK.logical_id] = network
            if model.DATABASE:
                self.resources[model.DATABASE.logical_id] = data.Database(
                    self, model.DATABASE.logical_id, spec=model.DATABASE, settings=settings, network=network
                )
            if model.CACHE:
                self.resources[model.CACHE.logical_id] = data.Cache(
                    self, model.CACHE.logical_id, spec=model.CACHE, settings=settings, network=network
                )
        # With a user pool, every route needs its token unless the model marks the route public.
        self.auth = Auth(self, "Auth", spec=model.USER_POOL, settings=settings) if model.USER_POOL else None

        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/http-api/{prefix}",
            retention=settings.retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Routes are added by each domain; the API itself only knows its name and stage.
        self.api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=prefix,
            description=f"{prefix} HTTP API (contract: contracts/openapi.yaml)",
            create_default_stage=False,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=settings.throttle_rate_limit,
                burst_limit=settings.throttle_burst_limit,
            ),
            detailed_metrics_enabled=settings.api_route_metrics,  # per-route metrics, billed per route
            access_log_settings=AccessLogs(self.access_logs),
        )
        self.operations.watch(api_id=self.api.api_id)

    def watch(self, scope: Construct, logical_id: str, kind: str, name: str) -> None:
        """The alarms of a table or a queue (``kind``, a key of model.ALARMS) named ``name``, beside it."""
        for spec in model.ALARMS.get(kind, []):
            alarm(
                scope,
                spec,
                construct_id=logical_id + spec.logical_id,
                name=f"{name}-{spec.name_suffix}",
                watched=name,
                settings=self.operations.settings,
                notify=self.operations,
            )


@jsii.implements(apigwv2.IAccessLogSettings)
class AccessLogs:
    """Stage access log settings: JSON lines into the given log group."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._log_group)

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")))
