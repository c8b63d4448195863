"""How many resources one CloudFormation stack holds, for the one-stack layout.

CloudFormation allows 500 resources per stack. With ``domain_stacks`` each domain's functions
deploy in a nested stack of their own; without it (projects rendered before nested stacks) the
stage's one stack grows by every domain, and an answer that takes it past ``MAX_STACK_RESOURCES``
is refused. The counts are what each tool's output holds (SAM after its transform, `cdk synth`,
`serverless package`); tests/test_stack_layout.py checks them against real renders.
Releases and alarms (operations.py) are counted from the model itself: they grow by function.
"""

from __future__ import annotations

MAX_STACK_RESOURCES = 450  # of CloudFormation's 500: headroom for what a team adds

# tool -> service -> (resources once per stack, resources per domain). "dynamodb" is always there
# and carries the layer, the API and the admin jobs; the others add to it. SAM keeps HTTP routes
# inside the API's definition, so its domains are smaller.
ONE_STACK_RESOURCES: dict[str, dict[str, tuple[int, int]]] = {
    "sam": {
        "dynamodb": (12, 21),
        "sqs": (1, 6),
        "s3": (0, 10),
        "events": (4, 5),
        "cognito": (2, 0),
        "secrets": (2, 0),
        "postgres": (24, 0),
        "redis": (10, 0),
    },
    "cdk": {
        "dynamodb": (12, 31),
        "sqs": (1, 8),
        "s3": (0, 14),
        "events": (4, 5),
        "cognito": (3, 0),
        "secrets": (2, 0),
        "postgres": (25, 0),
        "redis": (11, 0),
    },
    "serverless": {
        "dynamodb": (14, 31),
        "sqs": (1, 6),
        "s3": (0, 14),
        "events": (4, 5),
        "cognito": (3, 0),
        "secrets": (2, 0),
        "postgres": (24, 0),
        "redis": (10, 0),
    },
}
# PostgreSQL and Redis each bring the private network (VPC, two subnets and their route table
# associations, route table, DynamoDB endpoint, the functions' security group); together, once.
SHARED_NETWORK_RESOURCES = 8


# tool -> (per function, per stack): what releases and the stage's operations add besides the
# alarms and queries. Per function: a version, the alias and a deployment group. Per stack: a
# CodeDeploy application and its role, the alarm topic and its policy, the dashboard, the budget
# and, where the tool declares it under a condition (SAM, Serverless), the e-mail subscription;
# CDK adds the subscription only when the stage config names an address.
OPERATIONS_RESOURCES: dict[str, tuple[int, int]] = {"sam": (3, 7), "cdk": (3, 6), "serverless": (3, 7)}


def one_stack_resources(iac: str, services: tuple[str, ...] | list[str], domains: int) -> int:
    """Resources in a stage's one stack with ``domains`` domains, before operations; 0 for a tool
    without stacks."""
    weights = ONE_STACK_RESOURCES.get(iac)
    if weights is None:
        return 0
    chosen = {"dynamodb", *services}
    total = sum(weights[s][0] + domains * weights[s][1] for s in chosen if s in weights)
    if {"postgres", "redis"} <= chosen:
        total -= SHARED_NETWORK_RESOURCES
    return total


def operations_resources(iac: str, service) -> int:
    """What releases, alarms, saved queries, the dashboard and the budget add to one stack."""
    if iac not in OPERATIONS_RESOURCES:
        return 0
    per_function, per_stack = OPERATIONS_RESOURCES[iac]
    return per_function * len(service.functions) + per_stack + len(service.alarms) + len(service.queries)


def stage_stack_resources(service) -> int:
    """Resources in the stage's one stack of ``service`` (a model with ``domain_stacks`` off)."""
    own = one_stack_resources(service.iac, service.services, len(service.domains))
    return own + operations_resources(service.iac, service) if own else 0
