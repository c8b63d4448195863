"""extensions/service_model/stacks.py: the one-stack layout's resource count and its refusal."""

from __future__ import annotations

import pytest

from model import MAX_STACK_RESOURCES, build_model, domain_stacks_error, stacks

ALL = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]


def test_a_stack_grows_by_each_domain_and_each_service_once():
    count = stacks.one_stack_resources
    assert count("sam", ["dynamodb"], 1) == 33
    assert count("sam", ["dynamodb"], 3) - count("sam", ["dynamodb"], 2) == 21
    assert count("sam", ["dynamodb", "s3"], 2) - count("sam", ["dynamodb"], 2) == 20
    assert count("cdk", ["dynamodb", "cognito"], 5) - count("cdk", ["dynamodb"], 5) == 3


def test_postgres_and_redis_share_one_network():
    count = stacks.one_stack_resources
    both = count("serverless", ["dynamodb", "postgres", "redis"], 1)
    each = count("serverless", ["dynamodb", "postgres"], 1) + count("serverless", ["dynamodb", "redis"], 1)
    assert both == each - count("serverless", ["dynamodb"], 1) - stacks.SHARED_NETWORK_RESOURCES


def test_terraform_has_no_stack_to_fill():
    assert stacks.one_stack_resources("terraform", ALL, 30) == 0
    assert domain_stacks_error(False, "terraform", ALL, [f"d{i}" for i in range(30)]) == ""


@pytest.mark.parametrize("iac", ["sam", "cdk", "serverless"])
def test_one_stack_is_refused_past_the_limit_and_nested_stacks_never(iac):
    def total(n: int) -> int:
        return stacks.stage_stack_resources(
            build_model(
                {"project_slug": "shop", "iac": iac, "services": ALL, "domains": [f"d{i}" for i in range(n)]}
            )
        )

    fits = max(n for n in range(1, 60) if total(n) <= MAX_STACK_RESOURCES)
    domains = [f"d{i}" for i in range(fits)]
    assert domain_stacks_error(False, iac, ALL, domains) == ""
    message = domain_stacks_error(False, iac, ALL, [*domains, "one_more"])
    assert (
        message.startswith(f"{fits + 1} domains in one stack make ~") and "use domain_stacks=true" in message
    )
    assert domain_stacks_error(True, iac, ALL, [f"d{i}" for i in range(40)]) == ""
    assert (
        fits == 3
    )  # with releases and alarms, one stack holds three domains with every service (copier.yml help)


def test_releases_alarms_and_queries_are_counted_per_function_and_per_domain():
    one = build_model({"project_slug": "shop", "iac": "sam", "services": ["dynamodb"], "domains": ["orders"]})
    two = build_model(
        {"project_slug": "shop", "iac": "sam", "services": ["dynamodb"], "domains": ["orders", "refunds"]}
    )
    per_domain = stacks.stage_stack_resources(two) - stacks.stage_stack_resources(one)
    functions = len(two.domains[1].functions)
    # each function: version, alias, deployment group and three alarms; the table's two alarms; four queries
    assert per_domain == stacks.ONE_STACK_RESOURCES["sam"]["dynamodb"][1] + functions * 6 + 2 + 4
    assert stacks.stage_stack_resources(build_model({"project_slug": "shop", "iac": "terraform"})) == 0
