"""What a stage needs to be released and watched: the alias, alarms, saved queries, the dashboard.

Every spec here is stage-agnostic. A physical name is ``<prefix>-<name_suffix>``; thresholds are
the names of keys in ``config/<stage>.json``, so a team tunes them per stage without a render.
Functions only take the service (duck-typed) so that ``entities`` can expose them as properties.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ALIAS = "live"  # every trigger invokes this alias; a release moves it from version to version
# CodeDeploy's predefined Lambda configs, by the name SAM takes ("CodeDeployDefault.Lambda" + name).
RELEASE_TYPES = (
    "AllAtOnce",
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
)
RELEASE_CONFIG_PREFIX = "CodeDeployDefault.Lambda"
# A release rolls back when it fails, when its alarm fires, or when someone stops it.
ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
ALARM_TOPIC_SUFFIX = "alarms"
# The services that publish to the alarm topic (its policy replaces the default one).
TOPIC_PUBLISHERS = ("budgets.amazonaws.com", "cloudwatch.amazonaws.com")
BUDGET_TAG = "budget"  # every resource carries budget=<prefix>; the stage's budget filters on it
# The operations settings of config/<stage>.json and their defaults (release and budget depend on
# the stage's place in the promotion order: see ``stage_defaults``).
OPERATIONS_DEFAULTS: dict[str, Any] = {
    "alarm_email": "",
    "alarm_function_errors": 1,
    "alarm_function_throttles": 1,
    "alarm_duration_percent": 80,
    "alarm_dead_letter_messages": 1,
    "alarm_queue_age_seconds": 300,
    "alarm_api_5xx_rate": 0.05,
    "alarm_api_latency_ms": 2000,
    "alarm_table_throttles": 1,
    "reserved_concurrency": None,
    "provisioned_concurrency": 0,
    "queue_max_concurrency": 10,
    "budget_alert_percent": 80,
    "budget_forecast_percent": 100,
}
DURATION_EXPRESSION = "duration / ({timeout} * 10)"  # p99 milliseconds as a percentage of the timeout


def stage_defaults(position: int, count: int, is_production: bool) -> dict[str, Any]:
    """Release and budget for the stage at ``position`` of ``count`` stages."""
    if is_production:
        release = "Canary10Percent5Minutes"
    elif position == 0:
        release = "AllAtOnce"  # the first stage is where developers iterate: no waiting
    else:
        release = "Linear10PercentEvery1Minute"
    # Route-level API metrics are billed as custom metrics (about six per route): production's.
    return {
        "release": release,
        "budget_monthly_usd": 100 if is_production else 20,
        "api_route_metrics": is_production,
    }


@dataclass(frozen=True)
class Alarm:
    logical_id: str
    name_suffix: str  # the alarm is named <prefix>-<name_suffix>
    domain: str  # the domain it watches, "" for the API and shared tables
    scope: str  # "function" | "queue" | "dead_letter" | "table" | "api"
    target: str  # logical id of the function or resource it watches, "" for the API
    namespace: str
    metric: str
    dimension: str
    statistic: str  # "Sum" | "Maximum" | "Average" | "p99"
    period: int  # seconds
    threshold: str  # the config key that holds the threshold
    math: bool = False  # the duration alarm: DURATION_EXPRESSION over the p99 Duration
    rollback: bool = False  # the function's deployment group rolls a release back when it fires

    @property
    def extended(self) -> bool:
        """Percentiles go in ExtendedStatistic, the others in Statistic."""
        return self.statistic.startswith("p")


@dataclass(frozen=True)
class Query:
    logical_id: str
    name_suffix: str  # saved as <prefix>/<domain>/<name>: the console shows a folder per stage
    domain: str
    query: str
    functions: tuple  # of Function: their log groups are the query's


# Logs Insights queries for the questions asked first; Powertools writes level, message,
# correlation_id and cold_start on every line, Lambda writes one REPORT line per invocation.
QUERIES = (
    (
        "correlation-id",
        "Correlation",
        "fields @timestamp, level, function_name, message"
        ' | filter correlation_id = "paste-a-correlation-id"'
        " | sort @timestamp asc",
    ),
    (
        "errors",
        "Errors",
        "fields @timestamp, function_name, message, exception, correlation_id"
        ' | filter level = "ERROR"'
        " | sort @timestamp desc | limit 100",
    ),
    (
        "slowest-requests",
        "Slowest",
        'filter @type = "REPORT"'
        " | fields @timestamp, @log, @requestId, @duration, @maxMemoryUsed"
        " | sort @duration desc | limit 25",
    ),
    (
        "cold-starts",
        "ColdStarts",
        'filter @type = "REPORT" and ispresent(@initDuration)'
        " | stats count(*) as cold_starts, avg(@initDuration) as avg_init_ms, max(@initDuration) as max_init_ms"
        " by bin(1h)",
    ),
)


def function_alarms(function: Any, domain: str = "") -> tuple[Alarm, ...]:
    base = dict(domain=domain, scope="function", target=function.logical_id, namespace="AWS/Lambda")
    return (
        Alarm(
            logical_id=f"{function.logical_id}ErrorsAlarm",
            name_suffix=f"{function.suffix}-errors",
            metric="Errors",
            dimension="FunctionName",
            statistic="Sum",
            period=60,
            threshold="alarm_function_errors",
            rollback=True,
            **base,
        ),
        Alarm(
            logical_id=f"{function.logical_id}ThrottlesAlarm",
            name_suffix=f"{function.suffix}-throttles",
            metric="Throttles",
            dimension="FunctionName",
            statistic="Sum",
            period=60,
            threshold="alarm_function_throttles",
            **base,
        ),
        Alarm(
            logical_id=f"{function.logical_id}DurationAlarm",
            name_suffix=f"{function.suffix}-duration",
            metric="Duration",
            dimension="FunctionName",
            statistic="p99",
            period=300,
            threshold="alarm_duration_percent",
            math=True,
            **base,
        ),
    )


def _queue_alarms(domain: Any) -> tuple[Alarm, ...]:
    out = []
    if domain.queue is not None:
        out.append(
            Alarm(
                logical_id=f"{domain.queue.logical_id}OldestMessageAlarm",
                name_suffix=f"{domain.queue.name_suffix}-oldest-message",
                domain=domain.name,
                scope="queue",
                target=domain.queue.logical_id,
                namespace="AWS/SQS",
                metric="ApproximateAgeOfOldestMessage",
                dimension="QueueName",
                statistic="Maximum",
                period=60,
                threshold="alarm_queue_age_seconds",
            )
        )
    if domain.dead_letter_queue is not None:
        out.append(
            Alarm(
                logical_id=f"{domain.dead_letter_queue.logical_id}MessagesAlarm",
                name_suffix=f"{domain.dead_letter_queue.name_suffix}-messages",
                domain=domain.name,
                scope="dead_letter",
                target=domain.dead_letter_queue.logical_id,
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                dimension="QueueName",
                statistic="Maximum",
                period=60,
                threshold="alarm_dead_letter_messages",
            )
        )
    return tuple(out)


def _table_alarms(table: Any, domain: str) -> tuple[Alarm, ...]:
    return tuple(
        Alarm(
            logical_id=f"{table.logical_id}{kind}ThrottlesAlarm",
            name_suffix=f"{table.name_suffix}-{kind.lower()}-throttles",
            domain=domain,
            scope="table",
            target=table.logical_id,
            namespace="AWS/DynamoDB",
            metric=f"{kind}ThrottleEvents",
            dimension="TableName",
            statistic="Sum",
            period=60,
            threshold="alarm_table_throttles",
        )
        for kind in ("Read", "Write")
    )


API_ALARMS = (
    Alarm(
        logical_id="Api5xxAlarm",
        name_suffix="api-5xx",
        domain="",
        scope="api",
        target="",
        namespace="AWS/ApiGateway",
        metric="5xx",
        dimension="ApiId",
        statistic="Average",  # 5xx is 0 or 1 per request: its average is the error rate
        period=300,
        threshold="alarm_api_5xx_rate",
    ),
    Alarm(
        logical_id="ApiLatencyAlarm",
        name_suffix="api-latency",
        domain="",
        scope="api",
        target="",
        namespace="AWS/ApiGateway",
        metric="Latency",
        dimension="ApiId",
        statistic="p99",
        period=300,
        threshold="alarm_api_latency_ms",
    ),
)


def shared_alarms(service: Any) -> tuple[Alarm, ...]:
    """The alarms that live with the data and the API, in the stage's own stack."""
    out: list[Alarm] = []
    for domain in service.domains:
        out += _table_alarms(domain.table, domain.name)
        out += _queue_alarms(domain)
    if service.idempotency_table is not None:
        out += _table_alarms(service.idempotency_table, "")
    return tuple(out) + API_ALARMS


def all_alarms(service: Any) -> tuple[Alarm, ...]:
    out: list[Alarm] = []
    for domain in service.domains:
        for function in domain.functions:
            out += function_alarms(function, domain.name)
    for job in service.admin_jobs:
        out += function_alarms(job)
    return tuple(out) + shared_alarms(service)


def domain_queries(domain: Any) -> tuple[Query, ...]:
    return tuple(
        Query(
            logical_id=f"{domain.pascal}{pascal}Query",
            name_suffix=f"{domain.kebab}/{name}",
            domain=domain.name,
            query=query,
            functions=domain.functions,
        )
        for name, pascal, query in QUERIES
    )


def duration_expression(timeout: Any) -> str:
    return DURATION_EXPRESSION.format(timeout=timeout)


def dashboard_body(service: Any, stage: str, region: str, api: str) -> str:
    """The stage's dashboard as CloudWatch's JSON: the API on top, then a row per domain.

    ``stage``, ``region`` and ``api`` are what each IaC tool puts where the stage name, the region
    and the HTTP API's id go (a value, or its own substitution syntax).
    """
    prefix = f"{service.slug}-{stage}"
    widgets: list[dict[str, Any]] = []
    y = 0

    def row(title: str, charts: list[tuple[str, str, list[list[str]]]]) -> None:
        nonlocal y
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": 24,
                "height": 1,
                "properties": {"markdown": f"## {title}"},
            }
        )
        y += 1
        for index, (name, stat, metrics) in enumerate(charts):
            widgets.append(
                {
                    "type": "metric",
                    "x": (index % 4) * 6,
                    "y": y + (index // 4) * 6,
                    "width": 6,
                    "height": 6,
                    "properties": {
                        "title": name,
                        "region": region,
                        "stat": stat,
                        "period": 300,
                        "view": "timeSeries",
                        "metrics": metrics,
                    },
                }
            )
        y += ((len(charts) + 3) // 4) * 6

    api_id = ["ApiId", api]
    row(
        "API",
        [
            ("Requests", "Sum", [["AWS/ApiGateway", "Count", *api_id]]),
            ("4xx and 5xx", "Sum", [["AWS/ApiGateway", "4xx", *api_id], ["AWS/ApiGateway", "5xx", *api_id]]),
            ("Latency p99", "p99", [["AWS/ApiGateway", "Latency", *api_id]]),
        ],
    )

    def lambda_charts(functions: tuple) -> list[tuple[str, str, list[list[str]]]]:
        names = [f"{prefix}-{f.suffix}" for f in functions]
        per = lambda metric: [["AWS/Lambda", metric, "FunctionName", n] for n in names]  # noqa: E731
        return [
            ("Invocations", "Sum", per("Invocations")),
            ("Errors", "Sum", per("Errors")),
            ("Duration p99", "p99", per("Duration")),
            ("Throttles", "Sum", per("Throttles")),
        ]

    def route(function: Any, metric: str) -> list[str]:  # a route's metric: the API's detailed metrics
        trigger = function.trigger
        return [
            "AWS/ApiGateway",
            metric,
            *api_id,
            "Stage",
            "$default",
            "Method",
            trigger.method,
            "Resource",
            trigger.path,
        ]

    for domain in service.domains:
        charts = lambda_charts(domain.functions)
        routes = [f for f in domain.functions if f.trigger.is_http]
        if routes:
            charts.append(("API 4xx and 5xx", "Sum", [route(f, m) for f in routes for m in ("4xx", "5xx")]))
            charts.append(("API latency p99", "p99", [route(f, "Latency") for f in routes]))
        queues = [q for q in (domain.queue, domain.dead_letter_queue) if q is not None]
        if queues:
            charts.append(
                (
                    "Queue depth",
                    "Maximum",
                    [
                        [
                            "AWS/SQS",
                            "ApproximateNumberOfMessagesVisible",
                            "QueueName",
                            f"{prefix}-{q.name_suffix}",
                        ]
                        for q in queues
                    ],
                )
            )
        row(domain.title, charts)
    if service.admin_jobs:
        row("Admin jobs", lambda_charts(service.admin_jobs))
    return json.dumps({"widgets": widgets}, separators=(",", ":"))
