"""The data services in the private network: PostgreSQL (Aurora Serverless v2 behind RDS Proxy) and Redis."""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, Duration, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import model
from infra.network import Network
from infra.settings import StageSettings


class Database(Construct):
    """An Aurora PostgreSQL Serverless v2 cluster with one writer, reached only through its RDS Proxy.

    Nobody holds a password: RDS keeps the master password in a secret of its own
    (``manage_master_user_password``), the proxy signs in to the cluster with it, and the functions
    sign in to the proxy with IAM tokens (``rds-db:connect`` on the database user, see ``connect_arn``)
    over TLS, which the proxy requires.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, spec: model.Database, settings: StageSettings, network: Network
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"{settings.prefix}-{spec.name_suffix}"
        production = settings.is_production
        # The functions reach the proxy on the PostgreSQL port; the proxy shares the group with the cluster,
        # and ProxyTarget.from_cluster (below) opens the cluster's port to the group itself.
        self.security_group = network.service_security_group(
            "DatabaseSecurityGroup", port=spec.port, description=f"{name}: the proxy and the cluster"
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            cluster_identifier=name,
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.of(spec.engine_version, spec.engine_version.split(".")[0])
            ),
            default_database_name=spec.database_name,
            credentials=rds.Credentials.from_username(spec.user),
            manage_master_user_password=True,  # the password lives in RDS's own secret, never in the template
            iam_authentication=True,
            storage_encrypted=True,
            writer=rds.ClusterInstance.serverless_v2("Writer", publicly_accessible=False),
            serverless_v2_min_capacity=spec.min_capacity,
            serverless_v2_max_capacity=spec.max_capacity,
            port=spec.port,
            vpc=network.vpc,
            vpc_subnets=network.subnets,
            security_groups=[self.security_group],
            backup=rds.BackupProps(retention=Duration.days(spec.backup_retention_days)),
            deletion_protection=production,
            removal_policy=RemovalPolicy.SNAPSHOT,  # a final snapshot when the stack deletes the cluster
        )
        if not production:
            Validations.of(self.cluster).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-RDS10",
                    reason=f"Deletion protection is on in the production stage ({model.PRODUCTION_STAGE}); "
                    f"{settings.stage} is destroyed and re-created freely, and a final snapshot is kept.",
                )
            )

        # The cluster's managed secret, by the ARN RDS reports (its name is RDS's to choose).
        secret_arn = self.cluster.node.default_child.attr_master_user_secret_secret_arn
        secret = secretsmanager.Secret.from_secret_complete_arn(self, "MasterSecret", secret_arn)
        # Written out and read-only, so the proxy's grant helper cannot add DescribeSecret next to it.
        role = iam.Role(
            self,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description=f"{name} proxy: reads the cluster's master secret",
            inline_policies={
                "master-secret": iam.PolicyDocument(
                    statements=[iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret_arn])]
                )
            },
        )
        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            db_proxy_name=name,
            proxy_target=rds.ProxyTarget.from_cluster(self.cluster),
            secrets=[secret],
            role=role.without_policy_updates(),
            iam_auth=True,
            require_tls=True,
            vpc=network.vpc,
            vpc_subnets=network.subnets,
            security_groups=[self.security_group],
        )
        self.url = spec.url.format(host=self.proxy.endpoint)
        # rds-db:connect names the proxy by its resource id (prx-..., the 7th field of its ARN) and the user.
        self.connect_arn = Stack.of(self).format_arn(
            service="rds-db",
            resource="dbuser",
            resource_name=f"{Fn.select(6, Fn.split(':', self.proxy.db_proxy_arn))}/{spec.user}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )


class Cache(Construct):
    """An ElastiCache Serverless Redis cache in the private subnets: TLS only, usage capped.

    There is no auth token: only the in-network functions' security group may reach it.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, spec: model.Cache, settings: StageSettings, network: Network
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"{settings.prefix}-{spec.name_suffix}"
        self.security_group = network.service_security_group(
            "CacheSecurityGroup", port=spec.port, description=f"{name}: the serverless cache"
        )
        # L1: CDK has no L2 construct for serverless caches.
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            serverless_cache_name=name,
            description=f"{settings.prefix} read cache of single-record reads",
            engine=spec.engine,
            major_engine_version=spec.major_engine_version,
            subnet_ids=network.subnet_ids,
            security_group_ids=[self.security_group.security_group_id],
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(maximum=spec.max_storage_gb, unit="GB"),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(maximum=spec.max_ecpu_per_second),
            ),
        )
        self.url = spec.url.format(host=self.cache.attr_endpoint_address)
