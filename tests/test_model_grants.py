"""IAM (service_model/grants.py): every function gets exactly the actions it uses, on its own resources."""

from model import LOG_ACTIONS
from service_models import ALL_SERVICES, KINDS, model


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


def test_a_crud_route_gets_a_service_s_action_only_where_its_operation_uses_it():
    from model import grants, resources

    table, (queue, _) = resources.table("orders"), resources.queues("orders")
    shared = resources.shared("svc", ("dynamodb", "sqs", "events", "secrets"), ("orders",))
    bus, parameter = shared["bus"], shared["parameter"]

    def granted(operation: str) -> dict[str, tuple[str, ...]]:
        access, environment = grants.crud(operation, ("dynamodb:X",), table, queue, bus, parameter)
        assert [resource for _, resource in environment] == [g.resource for g in access]
        return {g.resource: g.actions for g in access}

    assert granted("create") == {
        "OrdersTable": ("dynamodb:X",),
        "OrdersQueue": grants.QUEUE_SEND_ACTIONS,
        "EventBus": grants.EVENT_PUBLISH_ACTIONS,
    }
    assert granted("list") == {
        "OrdersTable": ("dynamodb:X",),
        "SettingsParameter": grants.PARAMETER_READ_ACTIONS,
    }
    assert granted("get") == {"OrdersTable": ("dynamodb:X",)}


def test_file_routes_act_on_the_bucket_s_objects_after_reading_the_record():
    from model import grants, resources

    access, _ = grants.files("download", resources.table("orders"), resources.bucket("orders", 30))
    assert [(g.resource, g.actions, g.objects) for g in access] == [
        ("OrdersTable", ("dynamodb:GetItem",), False),
        ("OrdersBucket", ("s3:GetObject",), True),
    ]
