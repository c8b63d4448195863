"""One domain: its table (queues, bucket), its functions (each with its role and log group), routes and triggers.

With DOMAIN_STACKS the functions, and everything per function, deploy in the domain's nested stack
(construct id Domain.stack_id); the table, queues and bucket stay in the stage's stack.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, NestedStack, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from infra import eventbus, model, storage
from infra.function import ServiceFunction
from infra.settings import StageSettings
from infra.shared import SharedInfra


class DomainService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: model.Domain,
        settings: StageSettings,
        shared: SharedInfra,
        code: dict[str, Path],
    ) -> None:
        super().__init__(scope, construct_id)

        def child_id(logical_id: str) -> str:
            return logical_id.removeprefix(spec.logical_id)  # OrdersTable -> Orders/Table

        self.table = storage.table(self, child_id(spec.table.logical_id), spec.table, settings)
        # Alarms live beside what they watch: those of the data here, the functions' with the functions.
        shared.watch(self, child_id(spec.table.logical_id), "table", f"{settings.prefix}-{spec.table.name_suffix}")
        # What this domain's functions may be granted on: its own table, queues and bucket, and the shared resources.
        self.resources: storage.Resources = {**shared.resources, spec.table.logical_id: self.table}
        for queue in (spec.dead_letter_queue, spec.queue):  # a dead-letter queue before the queue using it
            if queue:
                self.resources[queue.logical_id] = storage.queue(
                    self, child_id(queue.logical_id), queue, settings, self.resources
                )
                kind = "queue" if queue is spec.queue else "dead_letter"
                shared.watch(self, child_id(queue.logical_id), kind, f"{settings.prefix}-{queue.name_suffix}")
        if spec.bucket:
            self.resources[spec.bucket.logical_id] = storage.bucket(
                self, child_id(spec.bucket.logical_id), spec.bucket, settings
            )

        # Where the functions go. In the nested stack a construct with this domain's id holds them, so their
        # logical ids there are the ones they have in a single stack; CloudFormation passes in what they
        # use from the stage's stack (ARNs, names, the layer, the API) as the nested stack's parameters.
        home: Construct = self
        if model.DOMAIN_STACKS:
            stack = NestedStack(
                scope, spec.stack_id, description=f"{settings.prefix} {spec.name}: the domain's functions"
            )
            stack.nested_stack_resource.override_logical_id(spec.stack_id)  # OrdersStack, not a hashed id
            home = Construct(stack, construct_id)

        self.functions = {}
        for function in spec.functions:
            name = child_id(function.logical_id)  # OrdersCreate -> Orders/Create
            built = ServiceFunction(
                home,
                name,
                spec=function,
                settings=settings,
                code=code[function.artifact],
                layer=shared.layer,
                resources=self.resources,
                operations=shared.operations,
            )
            self.functions[function.logical_id] = built
            # Every trigger invokes the function's alias, so a release decides which version gets the traffic.
            if function.trigger.kind == "queue":
                # The function's role already holds the consume actions (from the model's grants) and is
                # read-only: the event source adds only the mapping, not a second copy of them.
                built.alias.add_event_source(
                    SqsEventSource(
                        self.resources[function.trigger.queue],
                        batch_size=function.trigger.batch_size,
                        # Only the messages the function reports as failed are retried.
                        report_batch_item_failures=True,
                        # A backlog runs at most this many copies, whatever the account's concurrency.
                        max_concurrency=settings.queue_max_concurrency,
                    )
                )
            if function.trigger.kind == "event":
                eventbus.subscribe(
                    home, f"{name}Rule", subscriber=built, spec=function, bus=self.resources[function.trigger.bus]
                )
            if function.trigger.kind != "http":
                continue
            # With a user pool, a route needs a valid token unless the model marks it public.
            authorizer = shared.auth.authorizer if shared.auth and not function.trigger.public else None
            # The route, its integration and the permission to invoke live beside the function: the root API
            # never points at a nested resource, so the stacks depend one way only.
            route = apigwv2.HttpRoute(
                home,
                f"{name}Route",
                http_api=shared.api,
                route_key=apigwv2.HttpRouteKey.with_(
                    function.trigger.path, apigwv2.HttpMethod(function.trigger.method)
                ),
                integration=HttpLambdaIntegration("Integration", built.alias),
                authorizer=authorizer,
            )
            if authorizer:
                continue
            if shared.auth:
                reason = (
                    "The route is listed in the public_routes answer: it answers without a token by design; "
                    "every other route needs one from the user pool."
                )
            else:
                reason = (
                    "The service has no user pool (the cognito service is not selected): routes are public "
                    "until it is added, which puts a JWT authorizer on every route."
                )
            Validations.of(route).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-APIG4", reason=reason))

        # Saved Logs Insights queries over the domain's functions' log groups, beside them.
        for query in spec.queries:
            logs.CfnQueryDefinition(
                home,
                child_id(query.logical_id),
                name=f"{settings.prefix}/{query.name_suffix}",
                query_string=query.query,
                log_group_names=[f.log_group.log_group_name for f in self.functions.values()],
            )
