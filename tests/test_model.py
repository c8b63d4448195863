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


@pytest.mark.parametrize(
    ("stages", "production_stage", "expected"),
    [
        (["dev", "main"], "main", "main"),  # the answer names production
        (["dev", "prod", "dr"], "dr", "dr"),
        (["dev", "staging", "prod"], None, "prod"),  # answers recorded before the question: its default
        (["dev", "main"], None, "main"),
        (["dev", "prod"], "gone", "prod"),  # not one of the stages: the default
    ],
)
def test_production_is_the_answered_stage_with_the_default_as_fallback(stages, production_stage, expected):
    answers = {"stages": stages}
    if production_stage is not None:
        answers["production_stage"] = production_stage
    service = model(**answers)
    assert [s.name for s in service.stages if s.is_production] == [expected]
    assert service.production_stage.name == expected
    production = service.production_stage
    others = [s for s in service.stages if not s.is_production]
    assert production.throttle_rate == 100 and all(s.throttle_rate == 20 for s in others)
    assert production.log_retention_days == 365  # the default retention follows production


def test_the_hook_builds_no_model_while_questions_are_asked():
    from model import ServiceModelHook

    hook = ServiceModelHook.__new__(ServiceModelHook)
    # --data answers not parsed yet are strings: a model built from them would fail.
    context = {**BASE, "log_retention_days": "{dev: 7}", "_copier_phase": "prompt"}
    hook.hook(context)
    assert "model" not in context
    context = {**BASE, "production_stage": "prod", "_copier_phase": "render"}
    hook.hook(context)
    assert context["model"].production_stage.name == "prod"


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


ALL_SERVICES = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]
# The resource kinds each service brings; a kind no chosen service brings must not appear.
KINDS = {
    "dynamodb": {"table"},
    "sqs": {"queue", "table"},
    "s3": {"bucket"},
    "events": {"bus", "topic"},
    "cognito": {"user_pool"},
    "secrets": {"parameter", "secret"},
    "postgres": {"network", "database"},
    "redis": {"network", "cache"},
}


@pytest.mark.parametrize("service_name", ALL_SERVICES[1:])
def test_each_service_brings_only_its_own_resources(service_name):
    service = model(domains=["orders", "payments"], services=["dynamodb", service_name])
    kinds = {r.kind for r in service.resources}
    assert kinds == KINDS["dynamodb"] | KINDS[service_name]
    granted = {service.resource(g.resource).kind for f in service.functions for g in f.grants}
    assert granted <= kinds


def test_every_grant_is_on_a_resource_of_a_chosen_service_and_owned_or_shared():
    """The IAM check: a function touches its own domain's resources and the shared ones it uses."""
    service = model(domains=["orders", "payments"], services=ALL_SERVICES, public_routes=["GET /orders"])
    for domain in service.domains:
        for function in domain.functions:
            for grant in function.grants:
                resource = service.resource(grant.resource)
                assert resource.domain in (domain.name, ""), (function.key, grant.resource)
                assert any(resource.kind in KINDS[s] for s in service.services)
    # The subscriber needs no grant: EventBridge invokes it.
    assert all(f.grants == () for f in service.subscribers)
    # Nothing but the list functions reads the settings, nothing but the report reads the secret.
    readers = {f.key for f in service.functions for g in f.grants if g.resource == "SettingsParameter"}
    assert readers == {"orders_list", "payments_list"}
    secret_readers = {
        f.key for f in service.functions for g in f.grants if g.resource == "ReportWebhookSecret"
    }
    assert secret_readers == {"report"}
    publishers = {f.key for f in service.functions for g in f.grants if g.resource == "EventBus"}
    assert publishers == {"orders_create", "payments_create"}
    # Only the two database jobs connect to PostgreSQL, each with its own function (and role).
    connectors = {f.key for f in service.functions for g in f.grants if g.resource == "Database"}
    assert connectors == {"migrate", "snapshot"}


def test_functions_in_the_private_network_need_nothing_the_network_cannot_reach():
    """The subnets have no internet route: only DynamoDB (gateway endpoint), PostgreSQL and Redis."""
    service = model(domains=["orders", "payments"], services=ALL_SERVICES)
    in_network = {f.key for f in service.network_functions}
    cached = {f"{d}_{op}" for d in ("orders", "payments") for op in ("get", "update", "delete")}
    assert in_network == cached | {"migrate", "snapshot"}
    for function in service.network_functions:
        kinds = {service.resource(g.resource).kind for g in function.grants}
        assert kinds <= {"table", "database"}, function.key
        used = {service.resource(r).kind for _, r in function.environment}
        assert used <= {"table", "database", "cache"}, function.key
    # Nothing outside the network is handed an endpoint it could not reach.
    outside = [f for f in service.functions if not f.network]
    assert all(r not in ("Database", "Cache") for f in outside for _, r in f.environment)
    assert service.network_ports == (5432, 6379)
    assert model(services=["dynamodb", "redis"]).network_ports == (6379,)
    assert model(services=["dynamodb", "s3"]).network_functions == ()


def test_postgres_and_redis_are_reached_by_url_without_a_password():
    service = model(services=["dynamodb", "postgres", "redis"])
    assert service.resource_name(service.database, "dev") == "order-service-dev-db"
    assert service.endpoint_url(service.database, "h") == "postgresql://app@h:5432/app"
    assert service.endpoint_url(service.cache, "h") == "rediss://h:6379"  # the serverless cache is TLS only
    migrate = next(f for f in service.admin_jobs if f.key == "migrate")
    assert (migrate.trigger.kind, migrate.environment) == ("oneoff", (("DATABASE_URL", "Database"),))
    get = service.domains[0].function("get")
    assert ("CACHE_URL", "Cache") in get.environment and get.grants[0].actions == ("dynamodb:GetItem",)
    # The cache's name fits ElastiCache's 40 characters for every prefix the stages validator allows.
    from naming import CACHE_PREFIX_MAX

    longest = model(
        project_slug="a" * (CACHE_PREFIX_MAX - 5), stages=["prod"], services=["dynamodb", "redis"]
    )
    assert len(longest.resource_name(longest.cache, "prod")) <= 40


def test_s3_gives_each_domain_a_bucket_and_presigned_url_routes_with_object_grants():
    service = model(services=["dynamodb", "s3"])
    orders = service.domains[0]
    assert (
        service.resource_name(orders.bucket, "dev", "111122223333")
        == "order-service-dev-orders-files-111122223333"
    )
    with pytest.raises(ValueError, match="needs the account id"):
        service.resource_name(orders.bucket, "dev")
    upload, download = orders.function("upload"), orders.function("download")
    assert (upload.trigger.method, upload.trigger.path) == ("POST", "/orders/{id}/files")
    assert (download.trigger.method, download.trigger.path) == ("GET", "/orders/{id}/files/{file_name}")
    assert [(g.resource, g.actions, g.objects) for g in upload.grants] == [
        ("OrdersTable", ("dynamodb:GetItem",), False),
        ("OrdersBucket", ("s3:PutObject",), True),
    ]
    assert ("OrdersBucket", ("s3:GetObject",), True) in [
        (g.resource, g.actions, g.objects) for g in download.grants
    ]


def test_events_route_each_domain_to_the_others_and_everything_to_the_topic():
    service = model(
        project_slug="shop", domains=["orders", "payments", "inventory"], services=["dynamodb", "events"]
    )
    orders, payments, inventory = service.domains
    assert (orders.event_source, orders.event_detail_type) == ("shop.orders", "OrderCreated")
    assert orders.event_contract == "contracts/events/orders/order-created.v1.json"
    assert inventory.event_detail_type == "InventoryItemCreated"
    assert orders.subscriber.trigger.sources == ("shop.payments", "shop.inventory")
    assert payments.subscriber.trigger.detail_types == ("OrderCreated", "InventoryItemCreated")
    assert service.topic.sources == ("shop.orders", "shop.payments", "shop.inventory")
    # Alone, a domain hears its own events.
    alone = model(services=["dynamodb", "events"]).domains[0]
    assert alone.subscriber.trigger.sources == ("order-service.orders",)


def test_cognito_protects_every_route_but_the_public_ones():
    service = model(services=["dynamodb", "cognito"], public_routes=["GET /orders", "GET /orders/{id}"])
    assert set(service.public_routes) == {"GET /orders", "GET /orders/{id}"}
    assert [f.key for f in service.http_functions if not f.trigger.public] == [
        "orders_create",
        "orders_update",
        "orders_delete",
    ]
    # Without cognito there is no authorizer, so no route is marked public.
    assert model(public_routes=["GET /orders"]).public_routes == ()


def test_secrets_are_named_per_stage_and_never_carry_a_value():
    service = model(services=["dynamodb", "secrets"])
    assert service.resource_name(service.settings_parameter, "prod") == "/order-service/prod/settings"
    assert service.resource_name(service.report_secret, "prod") == "order-service/prod/report-webhook"
    assert "webhook" not in service.runtime_settings_json


def test_new_names_fit_aws_limits_for_the_longest_answers():
    # With s3 the stages validator keeps "<slug>-<stage>" within 41 characters (bucket names).
    service = model(
        project_slug="a" * 32, domains=["b" * 24, "orders"], stages=["c" * 8], services=ALL_SERVICES
    )
    stage = "c" * 8
    assert all(len(service.resource_name(b, stage, "1" * 12)) <= 63 for b in service.buckets)
    # `make dev` and the rendered tests create the same resources as stage "local".
    assert all(len(service.resource_name(b, "local", "1" * 12)) <= 63 for b in service.buckets)
    short = model(project_slug="a" * 32, domains=["b" * 24], stages=["prod"], services=ALL_SERVICES)
    assert all(len(short.resource_name(b, "local", "1" * 12)) <= 63 for b in short.buckets)
    assert all(len(short.rule_name(f, "local")) <= 64 for f in short.subscribers)
    assert all(len(service.rule_name(f, stage)) <= 64 for f in service.subscribers)
    assert len({service.resource_name(b, stage, "1" * 12) for b in service.buckets}) == 2


@pytest.mark.parametrize(
    ("routes", "services", "message"),
    [
        ([], ["dynamodb"], ""),
        (["GET /orders"], ["dynamodb", "cognito"], ""),
        (["POST /orders/{id}/files"], ["dynamodb", "cognito", "s3"], ""),
        (["GET /orders"], ["dynamodb"], "only mean something with cognito"),
        (
            ["GET /nope"],
            ["dynamodb", "cognito"],
            "No such route: GET /nope. Public routes are written as one of",
        ),
        ("GET /orders", ["dynamodb", "cognito"], "must be a YAML list"),
    ],
)
def test_public_routes_are_checked_against_the_routes_the_api_has(routes, services, message):
    from model import public_routes_error

    error = public_routes_error(routes, services, ["orders"], "order-service")
    assert (message in error) if message else error == ""
