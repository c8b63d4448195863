"""One Lambda function with its own log group and its own role, holding only what the model grants, released
through its alias by CodeDeploy and watched by its alarms."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Names, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import model, storage
from infra.network import Network
from infra.operations import Operations, alarm
from infra.settings import StageSettings


class ServiceFunction(Construct):
    """Log group, role and function for one record of infra/model.py.

    The role is written out statement by statement from the model: logging to this function's
    log group, exactly the granted actions on each resource, X-Ray when the stage traces and, for a
    function in the private subnets, the network interface actions Lambda needs there.
    It is handed to the function read-only (``without_policy_updates``), so nothing CDK would add
    on its own (tracing, event sources, grant helpers, the VPC access managed policy) can widen it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: model.Function,
        settings: StageSettings,
        code: Path,
        layer: lambda_.ILayerVersion,
        resources: storage.Resources,
        operations: Operations,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function_name = f"{settings.prefix}-{spec.suffix}"

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{self.function_name}",
            retention=settings.retention,
            removal_policy=RemovalPolicy.DESTROY,
        )

        statements = [
            iam.PolicyStatement(actions=model.LOG_ACTIONS, resources=[self.log_group.log_group_arn]),
            *(
                iam.PolicyStatement(
                    actions=grant.actions, resources=[storage.arn(resources[grant.resource], grant.objects)]
                )
                for grant in spec.grants
            ),
        ]
        if settings.tracing:
            statements.append(iam.PolicyStatement(actions=model.TRACING_ACTIONS, resources=["*"]))
        network: Network | None = resources[model.NETWORK.logical_id] if spec.network else None
        if network:
            statements.append(iam.PolicyStatement(actions=model.NETWORK_ACTIONS, resources=["*"]))
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.function_name}: only what this function uses",
            inline_policies={"least-privilege": iam.PolicyDocument(statements=statements)},
        )
        for grant in spec.grants:
            if grant.objects:
                bucket_arn = self._arn_in_policy(resources[grant.resource])
                Validations.of(self.role).acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{bucket_arn}>/*]",
                        reason="The function signs URLs for objects whose keys are only known per request; the "
                        "grant names the bucket's objects and only the model's object actions.",
                    )
                )
        # The statements on "*": what they allow, when the role has them.
        wildcard = [
            actions
            for actions, granted in (
                ("X-Ray PutTraceSegments/PutTelemetryRecords", settings.tracing),
                ("the EC2 network interface actions Lambda uses in the private subnets", network is not None),
            )
            if granted
        ]
        if wildcard:
            Validations.of(self.role).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                    reason=f"{' and '.join(wildcard)} have no resource-level permissions; "
                    "'*' is the narrowest resource AWS accepts for them.",
                )
            )

        environment = {
            "STAGE": settings.stage,
            "POWERTOOLS_SERVICE_NAME": model.SERVICE,
            "POWERTOOLS_LOG_LEVEL": settings.log_level,
        }
        environment.update({variable: storage.name(resources[resource]) for variable, resource in spec.environment})
        timeout = spec.timeout or settings.function_timeout
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=self.function_name,
            description=spec.description,
            runtime=lambda_.Runtime(model.RUNTIME, lambda_.RuntimeFamily.PYTHON),
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(code)),
            layers=[layer],
            memory_size=settings.memory_size,
            timeout=Duration.seconds(timeout),
            environment=environment,
            role=self.role.without_policy_updates(),
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE if settings.tracing else lambda_.Tracing.PASS_THROUGH,
            vpc=network.vpc if network else None,
            vpc_subnets=network.subnets if network else None,
            security_groups=[network.function_security_group] if network else None,
            # None: the function draws on the account's unreserved concurrency.
            reserved_concurrent_executions=settings.reserved_concurrency,
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-L1",
                reason=f"{model.RUNTIME} is the project's Python (.python-version): tests run on the same version "
                "as the functions, so the runtime is upgraded with the project, not by the newest release.",
            )
        )

        # Triggers invoke the alias; CloudFormation publishes a version when the code or the configuration
        # changes, and CodeDeploy moves the alias to it the stage's way (config "release"), rolling back
        # when the function's errors alarm fires meanwhile. The stack update waits for it.
        provisioned = settings.provisioned_concurrency if spec.trigger.kind == "http" else 0
        self.alias = lambda_.Alias(
            self,
            "Alias",
            alias_name=model.ALIAS,
            version=self.function.current_version,
            # Warm instances for the API; billed by the hour whether they serve requests or not.
            provisioned_concurrent_executions=provisioned or None,
        )
        alarms = {
            kind.logical_id: alarm(
                self,
                kind,
                name=f"{self.function_name}-{kind.name_suffix}",
                watched=self.function_name,
                settings=settings,
                notify=operations,
                timeout=timeout,
            )
            for kind in model.ALARMS["function"]
        }
        (rollback,) = [kind for kind in model.ALARMS["function"] if kind.rollback]
        release = codedeploy.LambdaDeploymentGroup(
            self,
            "Release",
            alias=self.alias,
            application=operations.application,
            role=operations.role,
            deployment_config=settings.deployment_config,
            alarms=[cloudwatch.Alarm.from_alarm_name(self, "RollbackAlarm", alarms[rollback.logical_id].alarm_name)],
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        release.node.add_dependency(alarms[rollback.logical_id])  # named, not referenced: create it first

    def _arn_in_policy(self, bucket: storage.Resource) -> str:
        """How cdk-nag writes the bucket's ARN in this function's stack: <logical id>.Arn in the same stack,
        the parameter CDK passes it in as (reference-to-<bucket's unique id>Arn) in a domain's nested stack."""
        resource = bucket.node.default_child
        if Stack.of(resource).node.path == Stack.of(self).node.path:
            return f"{Stack.of(self).get_logical_id(resource)}.Arn"
        return f"referenceto{Names.node_unique_id(resource.node)}Arn"
