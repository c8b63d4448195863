"""Who may call the API: a Cognito user pool, the API's app client and the JWT authorizer the routes use."""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_cognito as cognito
from aws_cdk.aws_apigatewayv2_authorizers import HttpUserPoolAuthorizer
from constructs import Construct

from infra import model
from infra.settings import StageSettings


class Auth(Construct):
    """Users are created by an admin and sign in with their e-mail; the API checks their ID or access token."""

    def __init__(self, scope: Construct, construct_id: str, *, spec: model.UserPool, settings: StageSettings) -> None:
        super().__init__(scope, construct_id)
        production = settings.is_production
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{settings.prefix}-{spec.name_suffix}",
            sign_in_aliases=cognito.SignInAliases(email=True),  # the e-mail address is the user name
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            self_sign_up_enabled=False,  # users are created by an admin (AdminCreateUser)
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=production,
            removal_policy=RemovalPolicy.RETAIN,  # users outlive the stack, like the tables
        )
        Validations.of(self.user_pool).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-COG2",
                reason="MFA is optional with authenticator apps (TOTP): users enrol themselves; making it required "
                "is a policy decision per team, one property on the pool.",
            )
        )
        Validations.of(self.user_pool).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-COG8",
                reason="The Plus feature plan (threat protection) is billed per monthly active user; the pool only "
                "holds admin-created users of the team's own API. Turn it on per stage when that changes.",
            )
        )
        self.client = self.user_pool.add_client(
            "ApiClient",
            user_pool_client_name=f"{settings.prefix}-{spec.client_suffix}",
            generate_secret=False,  # the clients are browsers and scripts, which cannot keep a secret
            auth_flows=cognito.AuthFlow(user_srp=True),  # plus refresh tokens, which CDK always allows
            prevent_user_existence_errors=True,
            disable_o_auth=True,  # no hosted UI: clients sign in with SRP through the Cognito API
        )
        # Checks the token's issuer (this pool) and audience (this client) on every protected route.
        self.authorizer = HttpUserPoolAuthorizer(
            "Cognito",
            self.user_pool,
            user_pool_clients=[self.client],
            authorizer_name=f"{settings.prefix}-cognito",
            identity_source=["$request.header.Authorization"],
        )
