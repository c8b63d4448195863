"""Unit tests of the service model every renderer loops over."""

import pytest

from model import LOG_ACTIONS, build_model

BASE = {
    "project_name": "Order Service",
    "project_slug": "order-service",
    "domains": ["orders"],
    "stages": ["dev", "staging", "prod"],
}


def model(**answers):
    return build_model({**BASE, **answers})


def test_each_domain_gets_five_http_functions_with_one_table_action_each():
    service = model(domains=["orders", "payments"])
    assert [d.name for d in service.domains] == ["orders", "payments"]
    orders = service.domains[0]
    assert [(f.trigger.method, f.trigger.path) for f in orders.functions] == [
        ("POST", "/orders"),
        ("GET", "/orders/{id}"),
        ("GET", "/orders"),
        ("PUT", "/orders/{id}"),
        ("DELETE", "/orders/{id}"),
    ]
    assert [f.actions for f in orders.functions] == [
        ("dynamodb:PutItem",),
        ("dynamodb:GetItem",),
        ("dynamodb:Scan",),
        ("dynamodb:UpdateItem",),
        ("dynamodb:DeleteItem",),
    ]
    assert all(g.resource == "OrdersTable" for f in orders.functions for g in f.grants)
    assert len(service.functions) == 2 * 5 + 2


def test_functions_only_touch_their_own_domain_table():
    service = model(domains=["orders", "payments"])
    for domain in service.domains:
        for function in domain.functions:
            assert {g.resource for g in function.grants} == {domain.table.logical_id}
            assert dict(function.environment) == {domain.table.env_var: domain.table.logical_id}


def test_admin_jobs_are_separate_functions_with_narrow_grants():
    service = model(domains=["orders", "payments"])
    seed, report = service.admin_jobs
    assert seed.trigger.kind == "oneoff" and report.trigger.kind == "schedule"
    assert {g.resource: g.actions for g in seed.grants} == {
        "OrdersTable": ("dynamodb:PutItem",),
        "PaymentsTable": ("dynamodb:PutItem",),
    }
    assert {g.resource: g.actions for g in report.grants} == {
        "OrdersTable": ("dynamodb:Scan",),
        "PaymentsTable": ("dynamodb:Scan",),
    }
    assert report.trigger.schedule.startswith("cron(")


def test_no_grant_is_a_wildcard():
    for function in model(domains=["a_b", "orders"]).functions:
        for action in function.actions + LOG_ACTIONS:
            assert "*" not in action


@pytest.mark.parametrize(
    ("layout", "handler", "src", "tests", "platform"),
    [
        (
            "workspace",
            "orders.handlers.create_order",
            "domains/orders/src/orders",
            "domains/orders/tests",
            "service_platform",
        ),
        (
            "single",
            "order_service.orders.handlers.create_order",
            "src/order_service/orders",
            "tests/orders",
            "order_service.platform",
        ),
    ],
)
def test_layout_decides_paths_and_modules(layout, handler, src, tests, platform):
    service = model(layout=layout)
    orders = service.domains[0]
    assert (orders.functions[0].handler, orders.src_dir, orders.tests_dir) == (handler, src, tests)
    assert service.paths.platform_module == platform


def test_artifacts_hold_only_the_code_each_function_needs():
    service = model(domains=["orders", "payments"])
    artifacts = {a.name: [target for _, target in a.packages] for a in service.artifacts}
    assert artifacts == {
        "orders": ["service_platform", "orders"],
        "payments": ["service_platform", "payments"],
        "admin": ["service_platform", "orders", "payments", "admin_jobs"],
    }
    assert {f.artifact for f in service.functions} == set(artifacts)


def test_stages_carry_their_settings_and_the_last_is_production():
    service = model(
        log_retention_days={"dev": 7, "staging": 30, "prod": 365}, log_level="WARNING", tracing=False
    )
    assert [(s.name, s.log_retention_days, s.is_production) for s in service.stages] == [
        ("dev", 7, False),
        ("staging", 30, False),
        ("prod", 365, True),
    ]
    assert {s.log_level for s in service.stages} == {"WARNING"}
    assert not any(s.tracing for s in service.stages)
    assert service.production_stage.name == "prod"


def test_entity_names_stay_distinct_from_uncountable_domains():
    inventory = model(domains=["inventory"]).domains[0]
    assert inventory.entity == "inventory_item"
    assert inventory.function("create").attribute == "create_inventory_item"
    assert inventory.function("list").attribute == "list_inventory"


def test_runtime_sets_the_python_version():
    assert model(python_runtime="python3.13").python_version == "3.13"


def test_without_sqs_there_are_no_queues_and_no_idempotency_table():
    service = model()
    assert service.queues == () and service.idempotency_table is None
    assert [r.kind for r in service.resources] == ["table"]
    assert all(d.consumer is None for d in service.domains)


def test_sqs_gives_each_domain_a_queue_a_dead_letter_queue_and_an_idempotent_consumer():
    service = model(domains=["orders", "payments"], services=["dynamodb", "sqs"])
    orders = service.domains[0]
    assert orders.queue.dead_letter == orders.dead_letter_queue.logical_id == "OrdersDeadLetterQueue"
    assert orders.queue.max_receive_count == 3
    consumer = orders.consumer
    assert consumer.trigger.kind == "queue" and consumer.trigger.queue == "OrdersQueue"
    assert orders.queue.visibility_timeout >= 6 * consumer.timeout
    assert {g.resource: g.actions for g in consumer.grants} == {
        "OrdersQueue": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
        "OrdersTable": ("dynamodb:UpdateItem",),
        "IdempotencyTable": (
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ),
    }
    create = orders.function("create")
    assert ("OrdersQueue", ("sqs:GetQueueUrl", "sqs:SendMessage")) in [
        (g.resource, g.actions) for g in create.grants
    ]
    # Only the producer may send, and no other domain's function touches this queue.
    others = [f for f in service.functions if f not in (create, consumer)]
    assert all(g.resource != "OrdersQueue" for f in others for g in f.grants)
    assert service.idempotency_table.ttl_attribute == "expiration"
    assert len(service.tables) == 3 and len(service.queues) == 4


def test_queue_names_fit_sqs_limit_for_the_longest_names():
    service = model(
        project_slug="a" * 32, domains=["b" * 24], stages=["c" * 17], services=["dynamodb", "sqs"]
    )
    assert all(len(service.queue_name(q, "c" * 17)) <= 80 for q in service.queues)
    assert all(len(service.function_name(f, "c" * 17)) <= 64 for f in service.functions)
