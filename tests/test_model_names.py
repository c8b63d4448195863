"""Physical names (service_model/names.py): budgets, cuts and names derived from a domain."""

from service_models import ALL_SERVICES, model


def test_entity_names_stay_distinct_from_uncountable_domains():
    inventory = model(domains=["inventory"]).domains[0]
    assert inventory.entity == "inventory_item"
    assert inventory.function("create").attribute == "create_inventory_item"
    assert inventory.function("list").attribute == "list_inventory"


def test_queue_names_fit_sqs_limit_for_the_longest_names():
    service = model(
        project_slug="a" * 32, domains=["b" * 24], stages=["c" * 17], services=["dynamodb", "sqs"]
    )
    assert all(len(service.queue_name(q, "c" * 17)) <= 80 for q in service.queues)
    assert all(len(service.function_name(f, "c" * 17)) <= 64 for f in service.functions)


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


def test_budgets_leave_room_after_the_longest_stage_the_local_one_included():
    from model import names

    # "order-service-local-": 20 characters, as "local" (make dev) is longer than "dev" and "prod".
    assert names.budgets("order-service", ["dev", "prod"]) == names.Budgets(function=44, bucket=30)
    assert names.budgets("order-service", ["preproduction"]).function == 64 - len(
        "order-service-preproduction-"
    )


def test_a_domain_names_its_records_and_its_event():
    from model import names

    assert (names.entity("orders"), names.detail_type("orders")) == ("order", "OrderCreated")
    assert names.detail_type("customer_accounts") == "CustomerAccountCreated"
    assert names.suffix("customer-accounts-create", 14) != names.suffix("customer-accounts-delete", 14)
