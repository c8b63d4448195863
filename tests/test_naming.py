"""Unit tests of the pure naming filters and answer validators."""

import pytest

import naming


@pytest.mark.parametrize(
    ("text", "snake", "kebab", "pascal"),
    [
        ("Order Service", "order_service", "order-service", "OrderService"),
        ("order-service", "order_service", "order-service", "OrderService"),
        ("customer_accounts", "customer_accounts", "customer-accounts", "CustomerAccounts"),
        ("myHTTPService2", "my_http_service_2", "my-http-service-2", "MyHttpService2"),
    ],
)
def test_case_filters(text, snake, kebab, pascal):
    assert (naming.snake(text), naming.kebab(text), naming.pascal(text)) == (snake, kebab, pascal)


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("orders", "order"),
        ("categories", "category"),
        ("boxes", "box"),
        ("address", "address"),
        ("customer_accounts", "customer_account"),
    ],
)
def test_singular(plural, singular):
    assert naming.singular(plural) == singular


def test_resource_name_is_per_stage():
    assert (
        naming.resource_name("order-service", "prod", "customer_accounts")
        == "order-service-prod-customer-accounts"
    )


def test_default_slug_fits_at_a_word_boundary():
    slug = naming.default_slug("A Very Long Project Name That Keeps Going On")
    assert slug == "a-very-long-project-name-that"
    assert naming.slug_error(slug) == ""


def test_valid_answers_have_no_error():
    assert naming.slug_error("order-service") == ""
    assert naming.domains_error(["orders", "customer_accounts"]) == ""
    assert naming.stages_error(["dev", "staging", "prod"]) == ""
    assert naming.region_error("eu-west-1") == ""
    assert naming.email_error("team@example.com") == ""
    assert naming.retention_error({"dev": 7, "prod": 365}, ["dev", "prod"]) == ""


def test_names_are_cut_to_fit_with_a_stable_hash():
    assert naming.fit_name("orders-create", 20) == "orders-create"
    cut = naming.fit_name("customer-accounts-create", 14)
    assert (
        len(cut) <= 14 and cut.startswith("custom") and cut == naming.fit_name("customer-accounts-create", 14)
    )
    assert cut != naming.fit_name("customer-accounts-delete", 14)  # cut names stay distinct


def test_stage_and_slug_leave_room_for_function_names():
    assert naming.stages_error(["dev", "prod"], "a" * 32) == ""
    assert "shorten the stage name or the project slug" in naming.stages_error(["a" * 18], "b" * 32)


def test_service_selections_are_checked():
    assert naming.services_error(["dynamodb", "sqs"]) == ""
    assert "Select dynamodb" in naming.services_error(["sqs"])
    assert "Unknown service(s) kafka" in naming.services_error(["dynamodb", "kafka"])
    assert "must be a list" in naming.services_error("dynamodb")


def test_default_retention_is_short_in_dev_and_long_in_prod():
    assert naming.default_retention(["dev", "staging", "prod"]) == {"dev": 7, "staging": 30, "prod": 365}
    assert naming.retention_error(naming.default_retention(["a", "qa", "live"]), ["a", "qa", "live"]) == ""


def test_filters_are_registered_for_copier():
    from jinja2 import Environment

    env = Environment(extensions=[naming.NamingExtension])
    assert env.from_string("{{ 'Order Service' | kebab }}").render() == "order-service"
    assert (
        env.from_string("{{ '1x' | slug_error }}")
        .render()
        .startswith("The project slug '1x' starts with a digit")
    )


def test_readme_documents_every_question():
    import yaml

    from conftest import ROOT

    questions = [k for k in yaml.safe_load((ROOT / "copier.yml").read_text()) if not k.startswith("_")]
    readme = (ROOT / "README.md").read_text()
    missing = [q for q in questions if f"| `{q}` |" not in readme]
    assert not missing, f"README question table lacks {missing}"
