"""A service grows by domains: each domain deploys in its own nested stack, data stays put.

CloudFormation allows 500 resources per stack. With `domain_stacks` (the default for new
projects) the stage's stack holds the shared and data-holding resources and one nested stack per
domain holds that domain's functions; Terraform has a module per domain. Thirty domains with
every service are rendered for each tool, and every stack and every per-service quota they meet
is checked here. Projects rendered before the answer existed keep one stack per stage, and their
data-holding resources keep their logical ids and properties through the update.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import iac_inventory as inventory
import project_checks as checks
from conftest import render
from model import build_model, stacks
from template_clone import clone_working_tree, commit_all

ALL_SERVICES = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]
THIRTY_DOMAINS = [
    "orders", "payments", "customers", "invoices", "shipments", "products", "stock", "returns",
    "refunds", "reviews", "carts", "coupons", "vendors", "depots", "suppliers", "catalogs",
    "plans", "alerts", "tickets", "agents", "quotes", "leads", "deals", "audits",
    "reports", "budgets", "assets", "leases", "claims", "rebates",
]  # fmt: skip
CLOUDFORMATION_TOOLS = ("sam", "cdk", "serverless")

# CloudFormation and service quotas a stage meets (default values; the hard ones cannot be raised).
MAX_STACK_RESOURCES = 450  # of 500: headroom for what a team adds
MAX_TEMPLATE_BYTES = 1_000_000  # a template uploaded through S3
MAX_OUTPUTS = MAX_PARAMETERS = 200
MAX_ROUTES_PER_API = MAX_INTEGRATIONS_PER_API = 300
MAX_RULES_PER_BUS = 300
MAX_INLINE_POLICY_CHARS = 10_240  # every inline policy of one role together, without whitespace
MAX_ENVIRONMENT_BYTES = 4_096  # a function's variable names and values together

# What holds data: replacing one of these loses it (or, for the bus, topic and client, its
# subscribers and the apps that sign in with it).
DATA_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::Events::EventBus",
    "AWS::SNS::Topic",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::SSM::Parameter",
    "AWS::SecretsManager::Secret",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::ElastiCache::ServerlessCache",
}
# The last version of the template before `domain_stacks`: one stack per stage.
ONE_STACK_VERSION = "8c9b1cb33d6f758f374b360578eb55034729b6dd"


def _stage_stacks(project: Path, stage: str) -> dict[str, dict]:
    return checks.iac_checks(checks.load_answers(project)["iac"]).stacks(project, stage)


def _resolver(project: Path, stage: str, template: dict) -> inventory._Resolver:
    answers = checks.load_answers(project)
    parameters = {}
    if answers["iac"] == "sam":
        import sam_checks

        parameters = sam_checks._stage_parameters(project, stage)
    return inventory._Resolver(
        template, parameters, f"{answers['project_slug']}-{stage}", answers["aws_region"]
    )


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == kind}


def stack_problems(stacks: dict[str, dict]) -> list[str]:
    """What in one stage's stacks passes a CloudFormation limit."""
    problems = []
    for name, template in stacks.items():
        size = len(json.dumps(template, separators=(",", ":")))
        for what, count, limit in (
            ("resources", len(template.get("Resources", {})), MAX_STACK_RESOURCES),
            ("bytes", size, MAX_TEMPLATE_BYTES),
            ("outputs", len(template.get("Outputs", {})), MAX_OUTPUTS),
            ("parameters", len(template.get("Parameters", {})), MAX_PARAMETERS),
        ):
            if count > limit:
                problems.append(f"stack {name}: {count} {what}, more than {limit}")
    return problems


def _routes(flat: dict) -> int:
    explicit = len(_of_type(flat, "AWS::ApiGatewayV2::Route"))
    in_bodies = 0
    for api in _of_type(flat, "AWS::ApiGatewayV2::Api").values():
        paths = api.get("Properties", {}).get("Body", {}).get("paths", {})
        in_bodies += sum(len([m for m in methods if not m.startswith("x-")]) for methods in paths.values())
    return explicit + in_bodies


def quota_problems(flat: dict, resolve: inventory._Resolver) -> list[str]:
    """What in one stage (all its stacks inlined) passes a per-service quota."""
    problems = []
    routes, integrations = _routes(flat), len(_of_type(flat, "AWS::ApiGatewayV2::Integration"))
    if routes > MAX_ROUTES_PER_API or integrations > MAX_INTEGRATIONS_PER_API:
        problems.append(f"the HTTP API has {routes} routes and {integrations} integrations")
    per_bus: dict[str, int] = {}
    for rule in _of_type(flat, "AWS::Events::Rule").values():
        bus = rule.get("Properties", {}).get("EventBusName")
        if bus:
            key = str(resolve.value(bus))
            per_bus[key] = per_bus.get(key, 0) + 1
    problems += [f"bus {b}: {n} rules" for b, n in per_bus.items() if n > MAX_RULES_PER_BUS]
    for logical_id, role in _of_type(flat, "AWS::IAM::Role").items():
        policies = resolve.value(role.get("Properties", {}).get("Policies", []))
        size = len(json.dumps([p["PolicyDocument"] for p in policies], separators=(",", ":")))
        if size > MAX_INLINE_POLICY_CHARS:
            problems.append(f"role {logical_id}: inline policies of {size} characters")
    for logical_id, function in _of_type(flat, "AWS::Lambda::Function").items():
        variables = resolve.value(function.get("Properties", {}).get("Environment", {})).get("Variables", {})
        size = sum(len(k) + len(str(v)) for k, v in variables.items())
        if size > MAX_ENVIRONMENT_BYTES:
            problems.append(f"function {logical_id}: environment of {size} bytes")
    return problems


def _flat(stacks: dict[str, dict]) -> dict:
    return inventory.flatten(stacks["root"], {k: v for k, v in stacks.items() if k != "root"})


@pytest.mark.render
@pytest.mark.parametrize("iac", CLOUDFORMATION_TOOLS)
def test_thirty_domains_with_every_service_fit_each_stack_and_quota(copie, iac):
    answers = {"iac": iac, "domains": THIRTY_DOMAINS, "services": ALL_SERVICES, "stages": ["prod"]}
    project = render(copie, answers)
    stacks = _stage_stacks(project, "prod")
    model = build_model(checks.load_answers(project))
    assert set(stacks) == {"root", *(d.stack_id for d in model.domains)}
    assert not stack_problems(stacks), "\n".join(stack_problems(stacks))
    for domain in model.domains:  # a domain's stack holds its functions and nothing that holds data
        child = stacks[domain.stack_id]
        assert len(_of_type(child, "AWS::Lambda::Function")) == len(domain.functions), domain.name
        assert not [k for k, v in child["Resources"].items() if v["Type"] in DATA_TYPES], domain.name
    flat = _flat(stacks)
    assert _routes(flat) == len(model.http_functions)  # the quota counters see what is deployed
    assert len(_of_type(flat, "AWS::Events::Rule")) > len(model.domains)  # a subscriber each, plus notify
    problems = quota_problems(flat, _resolver(project, "prod", flat))
    assert not problems, "\n".join(problems)
    # The flattened stage deploys what the model says (names, triggers, permissions). `make
    # validate` on every template is the render matrix's job, at a size that keeps CI short.
    want = inventory.expected(model, inventory.stage_config(project, "prod"))
    got = checks.iac_checks(iac).inventory(project, "prod")
    assert not inventory.differences(want, got, iac), "\n".join(inventory.differences(want, got, iac))


@pytest.mark.render
def test_thirty_domains_with_every_service_validate_with_terraform(copie):
    """Terraform has no stack limit (a module per domain); the API, bus, roles and functions
    meet the same quotas, which the model decides for every tool alike (see the parity test)."""
    answers = {"iac": "terraform", "domains": THIRTY_DOMAINS, "services": ALL_SERVICES, "stages": ["prod"]}
    project = render(copie, answers)
    checks.iac_checks("terraform").validate(project)
    model = build_model(checks.load_answers(project))
    want = inventory.expected(model, inventory.stage_config(project, "prod"))
    routes = [
        f
        for f in want["functions"].values()
        if f["trigger"].split(" ")[0] in ("GET", "POST", "PUT", "DELETE")
    ]
    assert 0 < len(routes) <= MAX_ROUTES_PER_API
    subscribers = [f for f in want["functions"].values() if f["trigger"].startswith("event ")]
    assert len(subscribers) + 1 <= MAX_RULES_PER_BUS  # one rule per subscriber, plus the notify rule
    for name, function in want["functions"].items():
        size = sum(len(k) + len(str(v)) for k, v in function["environment"].items())
        assert size <= MAX_ENVIRONMENT_BYTES, name


def test_the_quota_checks_catch_what_they_guard():
    fat = {"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(MAX_STACK_RESOURCES + 1)}}
    fat["Outputs"] = {f"O{i}": {"Value": "x"} for i in range(MAX_OUTPUTS + 1)}
    assert stack_problems({"root": fat, "small": {"Resources": {}}}) == [
        f"stack root: {MAX_STACK_RESOURCES + 1} resources, more than {MAX_STACK_RESOURCES}",
        f"stack root: {MAX_OUTPUTS + 1} outputs, more than {MAX_OUTPUTS}",
    ]
    statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:x:1:table/t"}
    flat = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement] * 150}}]
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Environment": {"Variables": {f"V{i}": "x" * 100 for i in range(40)}}},
            },
            **{
                f"Route{i}": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {}}
                for i in range(MAX_ROUTES_PER_API + 1)
            },
        }
    }
    problems = quota_problems(flat, inventory._Resolver(flat, {}, "shop-prod", "us-east-1"))
    assert [p.split(":")[0] for p in problems] == [
        f"the HTTP API has {MAX_ROUTES_PER_API + 1} routes and 0 integrations",
        "role Role",
        "function Fn",
    ]


def _data_resources(template: dict) -> dict[str, tuple]:
    """Each data-holding resource's identity: what CloudFormation replaces it for if it changes."""
    out = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in DATA_TYPES:
            properties = resource.get("Properties", {})
            name = properties.get(inventory._NAME_PROPERTY.get(resource["Type"], ""))
            out[logical_id] = (resource["Type"], json.dumps(name), json.dumps(properties.get("KeySchema")))
    return out


@pytest.mark.render
@pytest.mark.parametrize("iac", CLOUDFORMATION_TOOLS)
def test_both_layouts_keep_data_under_the_same_logical_ids(copie, iac):
    """Switching `domain_stacks` later never replaces a table, queue, bucket or user pool."""
    answers = {"iac": iac, "domains": ["orders", "payments"], "services": ALL_SERVICES, "stages": ["prod"]}
    nested = _stage_stacks(render(copie, {**answers, "domain_stacks": True}), "prod")
    one_project = render(copie, {**answers, "domain_stacks": False})
    one = _stage_stacks(one_project, "prod")
    assert set(one) == {"root"} and len(nested) == 3
    # The estimate that refuses a one-stack answer past the limit counts what the tool deploys.
    model = build_model(checks.load_answers(one_project))
    assert len(one["root"]["Resources"]) == stacks.stage_stack_resources(model)
    assert _data_resources(one["root"]), "no data-holding resource found: the check would pass vacuously"
    assert _data_resources(nested["root"]) == _data_resources(one["root"])


@pytest.mark.render
@pytest.mark.parametrize("iac", CLOUDFORMATION_TOOLS)
def test_a_project_from_before_domain_stacks_updates_without_moving_data(tmp_path, iac):
    from test_update import render_committed, update

    template = clone_working_tree(tmp_path / "template")
    answers = {"iac": iac, "domains": ["orders", "payments"], "services": ALL_SERVICES, "stages": ["prod"]}
    project = render_committed(template, tmp_path / "project", ONE_STACK_VERSION, answers)
    before = _stage_stacks(project, "prod")
    commit_all(project, "Lock the dependencies the checks installed")  # Copier updates a clean tree
    update(project, template, ref="HEAD")
    assert checks.load_answers(project)["domain_stacks"] is False
    after = _stage_stacks(project, "prod")
    assert set(after) == {"root"}
    kept = _data_resources(before["root"])
    assert kept, "no data-holding resource found: the check would pass vacuously"
    after_data = _data_resources(after["root"])
    assert {k: after_data.get(k) for k in kept} == kept  # every one keeps its id, type and name
    # What the update adds that could hold data is only the stage's alarm topic.
    [added] = set(after_data) - set(kept)
    assert after_data[added][0] == "AWS::SNS::Topic" and "-alarms" in after_data[added][1]
