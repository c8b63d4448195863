"""Admin jobs: one-off functions run by hand and scheduled ones run by EventBridge Scheduler."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra import model, storage
from infra.function import ServiceFunction
from infra.settings import StageSettings
from infra.shared import SharedInfra


class AdminJobs(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        shared: SharedInfra,
        code: dict[str, Path],
        resources: storage.Resources,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions = {}
        for job in model.ADMIN_JOBS:
            built = ServiceFunction(
                self,
                job.logical_id.removeprefix("Admin"),  # AdminSeed -> Admin/Seed
                spec=job,
                settings=settings,
                code=code[job.artifact],
                layer=shared.layer,
                resources=resources,
                operations=shared.operations,
            )
            self.functions[job.logical_id] = built
            if job.trigger.kind == "schedule":
                self._schedule(built, job)

    @staticmethod
    def _schedule(target: ServiceFunction, job: model.Function) -> None:
        """A schedule whose role may invoke this one function's alias and nothing else."""
        role = iam.Role(
            target,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description=f"{target.function_name}: lets EventBridge Scheduler invoke it",
            inline_policies={
                "invoke": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["lambda:InvokeFunction"],
                            resources=[target.alias.function_arn],
                        )
                    ]
                )
            },
        )
        scheduler.CfnSchedule(
            target,
            "Schedule",
            # Schedule names are unique per account and region, like function names.
            name=target.function_name,
            description=job.description,
            schedule_expression=job.trigger.schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(arn=target.alias.function_arn, role_arn=role.role_arn),
        )
