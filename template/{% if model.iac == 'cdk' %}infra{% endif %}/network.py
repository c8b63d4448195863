"""The private network of the functions that reach PostgreSQL or Redis: two subnets, no way out but DynamoDB."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra import model
from infra.settings import StageSettings

SUBNET_MASK = 20  # 10.0.0.0/20 and 10.0.16.0/20: 4,091 addresses each for Lambda's network interfaces
SUBNETS = 2  # one per availability zone, in the region's first two
HTTPS = 443


class Network(Construct):
    """A VPC with two isolated subnets sharing one route table, a DynamoDB gateway endpoint on it, and
    the functions' security group.

    ``ec2.Vpc`` is configured so that it makes nothing else: no public subnets, internet gateway or
    NAT (nothing in here calls the internet, and a NAT gateway costs per hour per zone), and no
    custom resource (a Lambda function of CDK's own) to empty the default security group, which
    nothing here uses.
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: model.Network, settings: StageSettings) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"{settings.prefix}-{spec.name_suffix}",
            ip_addresses=ec2.IpAddresses.cidr(spec.cidr),
            max_azs=SUBNETS,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=SUBNET_MASK
                )
            ],
            nat_gateways=0,
            create_internet_gateway=False,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # the proxy's and the cache's endpoints are names
            restrict_default_security_group=False,
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.subnet_ids = [subnet.subnet_id for subnet in self.vpc.isolated_subnets]
        # ec2.Subnet makes a route table per subnet; the subnets route alike, so the first one's table
        # serves both and the other is dropped (one table for the gateway endpoint to add its routes to).
        first, *others = self.vpc.isolated_subnets
        for subnet in others:
            subnet.node.find_child("RouteTableAssociation").add_property_override(
                "RouteTableId", first.route_table.route_table_id
            )
            subnet.node.try_remove_child("RouteTable")
        for service in spec.gateway_endpoints:
            self.vpc.add_gateway_endpoint(
                f"{service.title()}Endpoint",
                service=ec2.GatewayVpcEndpointAwsService(service),
                subnets=[ec2.SubnetSelection(subnets=[first])],  # its route table is both subnets' table
            )
        Validations.of(self.vpc).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-VPC7",
                reason="No VPC flow logs: the only traffic is the functions' calls to the database, the cache and "
                "DynamoDB, each already logged by the function; flow logs would add a log group and a role per stage.",
            )
        )

        # Every in-network function: nothing may connect to it; it may open HTTPS (only the DynamoDB
        # endpoint is routable) and the data services' ports inside the VPC.
        self.function_security_group = ec2.SecurityGroup(
            self,
            "FunctionSecurityGroup",
            vpc=self.vpc,
            description=f"{settings.prefix} functions in the private subnets",
            allow_all_outbound=False,
        )
        self.function_security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(HTTPS), "DynamoDB endpoint")
        for port in spec.ports:
            self.function_security_group.add_egress_rule(
                ec2.Peer.ipv4(self.vpc.vpc_cidr_block), ec2.Port.tcp(port), f"data services on {port}"
            )

    def service_security_group(self, construct_id: str, *, port: int, description: str) -> ec2.SecurityGroup:
        """A data service's group: the in-network functions may connect to it on its port, nobody else."""
        group = ec2.SecurityGroup(self, construct_id, vpc=self.vpc, description=description)
        group.add_ingress_rule(self.function_security_group, ec2.Port.tcp(port), "from the functions")
        return group
