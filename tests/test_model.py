"""Unit tests of the service model every renderer loops over."""

import importlib.util
import shutil
from pathlib import Path

import pytest

from service_models import BASE, model


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


def test_the_build_knows_every_variable_some_function_is_given():
    # The tables, the queues the create functions send to, and the consumers' idempotency table.
    assert model(domains=["orders", "payments"], services=["dynamodb", "sqs"]).function_variables == (
        "IDEMPOTENCY_TABLE_NAME",
        "ORDERS_QUEUE_NAME",
        "ORDERS_TABLE_NAME",
        "PAYMENTS_QUEUE_NAME",
        "PAYMENTS_TABLE_NAME",
    )
    assert model(domains=["orders"]).function_variables == ("ORDERS_TABLE_NAME",)


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


def test_runtime_sets_the_python_version():
    assert model(python_runtime="python3.13").python_version == "3.13"


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


def _load_model(extensions: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, extensions / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_versions_of_the_model_never_share_modules(tmp_path):
    """`copier update` loads the old and the new template's model.py in one process: each must
    run its own package and its own naming filters, even where a file changed between them. A
    clone of the same files (Copier clones the template for each render) reuses the package."""
    source = Path(__file__).resolve().parent.parent / "extensions"
    old, new = tmp_path / "old", tmp_path / "new"
    for copy in (old, new):
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    names = new / "service_model" / "names.py"
    names.write_text(names.read_text().replace("LAMBDA_NAME_MAX = 64", "LAMBDA_NAME_MAX = 60"))
    naming = new / "naming.py"
    naming.write_text(
        naming.read_text().replace("def fit_name(", "def fit_within(") + "\nfit_name = fit_within\n"
    )

    old_model, new_model = _load_model(old, "old_model"), _load_model(new, "new_model")

    assert old_model.service_model is not new_model.service_model
    assert old_model.naming is not new_model.naming and not hasattr(old_model.naming, "fit_within")
    assert (old_model.LAMBDA_NAME_MAX, new_model.LAMBDA_NAME_MAX) == (64, 60)
    answers = {**BASE, "project_slug": "a" * 32, "domains": ["customer_accounts"]}
    old_suffix = old_model.build_model(answers).domains[0].functions[0].suffix
    new_suffix = new_model.build_model(answers).domains[0].functions[0].suffix
    assert len(old_suffix) > len(new_suffix)
    assert _load_model(old, "old_model_again").service_model is old_model.service_model  # same files
    clone = tmp_path / "clone"
    shutil.copytree(old, clone, ignore=shutil.ignore_patterns("__pycache__"))
    assert _load_model(clone, "cloned_model").service_model is old_model.service_model
