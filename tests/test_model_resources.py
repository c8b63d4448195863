"""What each backing service creates (service_model/resources.py), per domain and shared."""

import pytest

from service_models import ALL_SERVICES, KINDS, model


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


@pytest.mark.parametrize("service_name", ALL_SERVICES[1:])
def test_each_service_brings_only_its_own_resources(service_name):
    service = model(domains=["orders", "payments"], services=["dynamodb", service_name])
    kinds = {r.kind for r in service.resources}
    assert kinds == KINDS["dynamodb"] | KINDS[service_name]
    granted = {service.resource(g.resource).kind for f in service.functions for g in f.grants}
    assert granted <= kinds


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


def test_shared_resources_are_those_of_the_chosen_services_only():
    from model import resources

    assert resources.shared("svc", ("dynamodb",), ("orders",)) == {}
    everything = resources.shared("svc", tuple(ALL_SERVICES), ("orders", "payments"))
    assert set(everything) == {
        "idempotency", "bus", "topic", "user_pool", "parameter", "secret", "network", "database", "cache"
    }  # fmt: skip
    assert everything["topic"].detail_types == ("OrderCreated", "PaymentCreated")
    assert all(r.domain == "" for r in everything.values())
