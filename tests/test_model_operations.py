"""extensions/service_model/operations.py: the alarms, queries, dashboard and release defaults."""

from __future__ import annotations

import json

import pytest

from model import OPERATIONS_DEFAULTS, RELEASE_TYPES
from service_models import model

ALL = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]


def test_every_function_gets_errors_throttles_and_duration_alarms_and_rolls_back_on_errors():
    service = model(domains=["orders"], services=["dynamodb"])
    for function in service.functions:
        alarms = service.function_alarms(function)
        assert [a.metric for a in alarms] == ["Errors", "Throttles", "Duration"]
        assert {a.target for a in alarms} == {function.logical_id}
        assert service.rollback_alarm(function).metric == "Errors"
        assert [a.name_suffix for a in alarms] == [
            f"{function.suffix}-{kind}" for kind in ("errors", "throttles", "duration")
        ]
    names = [service.alarm_name(a, "prod") for a in service.alarms]
    assert len(names) == len(set(names))  # one alarm per name
    assert {a.logical_id for a in service.alarms} >= {"Api5xxAlarm", "ApiLatencyAlarm"}


def test_queues_and_tables_get_their_alarms_in_the_stages_own_stack():
    service = model(domains=["orders", "refunds"], services=ALL)
    shared = {(a.scope, a.metric) for a in service.shared_alarms}
    assert ("queue", "ApproximateAgeOfOldestMessage") in shared
    assert ("dead_letter", "ApproximateNumberOfMessagesVisible") in shared
    assert {("table", "ReadThrottleEvents"), ("table", "WriteThrottleEvents")} <= shared
    tables = {a.target for a in service.shared_alarms if a.scope == "table"}
    assert tables == {t.logical_id for t in service.tables}  # the idempotency table too
    assert not [a for a in service.shared_alarms if a.scope == "function"]
    per_domain = service.domain_alarms(service.domains[0])
    assert {a.domain for a in per_domain} == {"orders"} and len(per_domain) == 3 * len(
        service.domains[0].functions
    )


def test_every_threshold_is_a_stage_setting():
    service = model(domains=["orders"], services=ALL)
    assert {a.threshold for a in service.alarms} <= set(OPERATIONS_DEFAULTS)


@pytest.mark.parametrize(
    ("stages", "releases"),
    [
        (["dev", "staging", "prod"], ["AllAtOnce", "Linear10PercentEvery1Minute", "Canary10Percent5Minutes"]),
        (["dev", "prod"], ["AllAtOnce", "Canary10Percent5Minutes"]),
        (["prod"], ["Canary10Percent5Minutes"]),
    ],
)
def test_releases_get_more_careful_towards_production(stages, releases):
    service = model(stages=stages)
    assert [s.release for s in service.stages] == releases
    assert set(releases) <= set(RELEASE_TYPES)
    assert [s.budget_monthly_usd for s in service.stages][-1] == 100
    assert [s.api_route_metrics for s in service.stages] == [s.is_production for s in service.stages]


def test_queries_cover_each_domains_functions():
    service = model(domains=["orders", "refunds"], services=["dynamodb"])
    orders = service.domain_queries(service.domains[0])
    assert [q.name_suffix for q in orders] == [
        "orders/correlation-id", "orders/errors", "orders/slowest-requests", "orders/cold-starts"
    ]  # fmt: skip
    assert all(q.functions == service.domains[0].functions for q in orders)
    assert len(service.queries) == 8
    assert service.query_name(orders[1], "dev").startswith(f"{service.slug}-dev/orders/")


def test_the_dashboard_has_the_api_then_a_row_per_domain():
    service = model(domains=["orders", "refunds"], services=["dynamodb", "sqs"])
    body = json.loads(service.dashboard_body("STAGE", "REGION", "API"))
    titles = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert titles == ["## API", "## Orders", "## Refunds", "## Admin jobs"]
    charts = [w for w in body["widgets"] if w["type"] == "metric"]
    assert all(w["properties"]["region"] == "REGION" for w in charts)
    metrics = [m for w in charts for m in w["properties"]["metrics"]]
    assert ["AWS/ApiGateway", "5xx", "ApiId", "API"] in metrics
    create = service.domains[0].function("create")
    assert ["AWS/Lambda", "Errors", "FunctionName", f"{service.slug}-STAGE-{create.suffix}"] in metrics
    assert any(m[0] == "AWS/SQS" for m in metrics)
    # each domain's routes, from the API's per-route metrics
    route = ["ApiId", "API", "Stage", "$default", "Method", "POST", "Resource", "/orders"]
    assert ["AWS/ApiGateway", "5xx", *route] in metrics and ["AWS/ApiGateway", "Latency", *route] in metrics
    # widgets never overlap: each occupies its own cells of the 24-column grid
    cells = [
        (x, y)
        for w in body["widgets"]
        for x in range(w["x"], w["x"] + w["width"])
        for y in range(w["y"], w["y"] + w["height"])
    ]
    assert len(cells) == len(set(cells))


def test_the_duration_alarm_compares_p99_with_the_timeout_in_percent():
    service = model()
    assert service.duration_expression(10) == "duration / (10 * 10)"  # 8,000 ms of 10 s -> 80


def test_thirty_domains_fit_one_dashboard():
    service = model(domains=[f"domain{i:02d}" for i in range(30)], services=ALL)
    widgets = json.loads(service.dashboard_body("STAGE", "REGION", "API"))["widgets"]
    assert len(widgets) <= 500  # CloudWatch's limit per dashboard
    assert max(len(w["properties"].get("metrics", [])) for w in widgets) <= 100
