"""One stack per stage: the shared pieces, one construct per domain and the admin jobs."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack, Tags
from constructs import Construct

from infra import model
from infra.admin import AdminJobs
from infra.domain import DomainService
from infra.settings import StageSettings
from infra.shared import SharedInfra


class ServiceStack(Stack):
    def __init__(self, scope: Construct, *, settings: StageSettings, code: dict[str, Path], layer_zip: Path) -> None:
        super().__init__(
            scope,
            settings.prefix,
            stack_name=settings.prefix,
            description=f"{model.SERVICE} {settings.stage}: rendered from the service model; "
            f"stage settings from config/{settings.stage}.json.",
            # Region only: the account comes from the deploying credentials, so synth needs no AWS access.
            env=Environment(region=model.REGION),
            # No AWS::CDK::Metadata resource: the template holds exactly what the service deploys.
            analytics_reporting=False,
        )
        Tags.of(self).add("service", model.SERVICE)
        Tags.of(self).add("stage", settings.stage)
        # The stage's budget counts the cost of what carries this tag.
        Tags.of(self).add("budget", settings.prefix)

        shared = SharedInfra(self, "Shared", settings=settings, layer_zip=layer_zip)
        resources = {}
        for spec in model.DOMAINS:
            domain = DomainService(self, spec.logical_id, spec=spec, settings=settings, shared=shared, code=code)
            resources.update(domain.resources)
        AdminJobs(self, "Admin", settings=settings, shared=shared, code=code, resources=resources)

        CfnOutput(self, "ApiUrl", description="Base URL of the HTTP API", value=shared.stage.url)
        if shared.auth:
            # What a client needs to sign in and call the protected routes.
            CfnOutput(self, "UserPoolId", description="Cognito user pool", value=shared.auth.user_pool.user_pool_id)
            CfnOutput(
                self,
                "UserPoolClientId",
                description="App client of the API (the tokens' audience)",
                value=shared.auth.client.user_pool_client_id,
            )
