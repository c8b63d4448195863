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
    assert naming.stages_error(["a" * 17], "b" * 32) == ""
    assert "needs at most 17 characters with this slug" in naming.stages_error(["a" * 18], "b" * 32)


def test_service_selections_are_checked():
    assert naming.services_error(["dynamodb", "sqs"]) == ""
    assert "Select dynamodb" in naming.services_error(["sqs"])
    assert "Unknown service 'kafka'" in naming.services_error(["dynamodb", "kafka"])
    assert "must be a YAML list, e.g. [dynamodb, sqs]" in naming.services_error("dynamodb")
    assert "must be a YAML list" in naming.services_error({"dynamodb": True})


def test_default_retention_is_short_in_dev_and_long_in_prod():
    assert naming.default_retention(["dev", "staging", "prod"]) == {"dev": 7, "staging": 30, "prod": 365}
    assert naming.retention_error(naming.default_retention(["a", "qa", "live"]), ["a", "qa", "live"]) == ""
    assert naming.default_retention(["dev", "main"], "main") == {"dev": 7, "main": 365}


@pytest.mark.parametrize(
    ("retention", "message"),
    [
        ({"dev": 7.0, "prod": 365}, "Log retention 7.0 for stage 'dev' is not a CloudWatch value"),
        ({"dev": "7", "prod": 365}, "Log retention '7' for stage 'dev'"),
        ({"dev": True, "prod": 365}, "Log retention True for stage 'dev'"),
        ({"dev": [7], "prod": 365}, "Log retention [7] for stage 'dev'"),
        ({"dev": 7, "prod": 365, 3: 7}, "Log retention names 3, which is not one of the stages"),
        ([7, 365], "Log retention must be a mapping, e.g. {dev: 7, prod: 365}, not [7, 365]."),
    ],
)
def test_retention_takes_whole_cloudwatch_days_per_stage(retention, message):
    assert message in naming.retention_error(retention, ["dev", "prod"])


@pytest.mark.parametrize(
    ("stages", "production"),
    [
        (["dev", "staging", "prod"], "prod"),
        (["dev", "main"], "main"),
        (["live"], "live"),
        (["prod", "dev"], "prod"),  # named like production: refused by production_stage_error
        (["dev", "prod", "live"], "live"),
        ([], ""),
        ("dev", ""),
    ],
)
def test_default_production_stage_is_the_one_named_so_else_the_last(stages, production):
    assert naming.default_production_stage(stages) == production


def test_production_stage_must_be_one_of_the_stages_and_the_last():
    assert naming.production_stage_error("prod", ["dev", "prod"]) == ""
    assert naming.production_stage_error("main", ["dev", "main"]) == ""
    assert naming.production_stage_error("prod", ["prod", "dev"]) == (
        "'prod' is production but not the last stage: reorder, e.g. stages=[dev, prod]."
    )
    assert naming.production_stage_error("qa", ["dev", "prod"]) == (
        "'qa' is not one of the stages: name the production stage, e.g. 'prod'."
    )
    assert "is not one of the stages" in naming.production_stage_error(["prod"], ["dev", "prod"])
    assert naming.production_stage_error("prod", "dev, prod") == ""  # stages report their own error


def test_regions_come_from_botocore_and_include_new_ones():
    import botocore.session

    session = botocore.session.get_session()
    expected = set.intersection(*(set(session.get_available_regions(s)) for s in naming.REGION_SERVICES))
    assert set(naming.aws_regions()) == expected
    for region in ("us-east-1", "eu-west-1", "mx-central-1", "ap-southeast-5"):
        assert naming.region_error(region) == "", region
    for region in ("mars-east-1", "US-EAST-1", "cn-north-1", "us-gov-west-1", "", None, ["us-east-1"]):
        assert "e.g. 'eu-west-1'" in naming.region_error(region), region


def test_without_botocore_a_region_is_checked_by_its_form(monkeypatch):
    monkeypatch.setattr(naming, "aws_regions", lambda: ())
    assert naming.region_error("xx-newplace-1") == ""
    assert "'mars-east' is not an AWS region code" in naming.region_error("mars-east")
    assert naming.region_error("cn-north-1") != ""


@pytest.mark.parametrize("name", sorted(naming.DEPENDENCY_NAMES | naming.THIRD_PARTY_IMPORTS | {"test"}))
def test_a_slug_or_domain_named_like_a_dependency_is_refused(name):
    slug = name.replace("_", "-").strip("-")  # a distribution or import name as a slug
    if len(slug) >= naming.SLUG_MIN:
        assert naming.slug_error(slug), slug
        assert naming.slug_error(f"{slug}-service") == ""  # the example the message gives is valid
    if name in naming.THIRD_PARTY_IMPORTS | {"test"} and naming._NAME.match(name):
        assert naming.domains_error([name]), name


def test_a_domain_may_not_complete_a_dependency_name_with_the_slug():
    assert "package 'yoyo-migrations' is a dependency" in naming.domains_error(["migrations"], None, "yoyo")
    assert "makes the package 'cfn-lint', a dependency" in naming.domains_error(["lint"], None, "cfn")
    assert "package 'aws-lambda-powertools' is a dependency" in naming.domains_error(
        ["powertools"], None, "aws-lambda"
    )
    assert naming.domains_error(["migrations"], None, "order-service") == ""


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


IAC_TOOLS = ("sam", "cdk", "terraform", "serverless")
LAYOUTS = ("workspace", "single")


@pytest.fixture(scope="module")
def every_project(tmp_path_factory) -> list:
    """Every IaC tool in both layouts, each with every backing service."""
    from copier import run_copy

    from conftest import ROOT

    projects = []
    for iac in IAC_TOOLS:
        for layout in LAYOUTS:
            destination = tmp_path_factory.mktemp("deps") / f"{iac}-{layout}"
            data = {"iac": iac, "layout": layout, "services": list(naming.SERVICES), "domains": ["orders"]}
            run_copy(
                str(ROOT), str(destination), data=data, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True
            )
            projects.append(destination)
    return projects


def _requirement_name(requirement: str) -> str:
    import re

    return naming._distribution(re.match(r"[A-Za-z0-9._-]+", requirement.strip()).group(0))


def test_every_dependency_of_the_rendered_projects_is_a_refused_name(every_project):
    """pyproject.toml (dependencies, groups, build backend) and package.json of every project."""
    import json
    import tomllib

    declared, own = set(), set()
    for project in every_project:
        for path in project.rglob("pyproject.toml"):
            data = tomllib.loads(path.read_text())
            own.add(naming._distribution(data.get("project", {}).get("name", "")))
            requirements = [*data.get("project", {}).get("dependencies", [])]
            requirements += data.get("build-system", {}).get("requires", [])
            for group in data.get("dependency-groups", {}).values():
                requirements += [r for r in group if isinstance(r, str)]
            declared |= {_requirement_name(r) for r in requirements}
        for path in project.glob("package.json"):
            data = json.loads(path.read_text())
            own.add(data["name"])
            declared |= set(data.get("dependencies", {})) | set(data.get("devDependencies", {}))
        declared.add("uv")  # the Makefile's `make install`
    missing = sorted(declared - own - naming.DEPENDENCY_NAMES)
    assert not missing, f"add these to naming.PYTHON_DEPENDENCIES or NPM_DEPENDENCIES: {missing}"
    assert {"boto3", "pytest", "moto", "ruff", "aws-cdk", "serverless", "yoyo-migrations"} <= declared


def test_every_library_the_rendered_code_imports_is_a_refused_name(every_project):
    """Top-level imports of every rendered Python file that are neither stdlib nor the project's own."""
    import re
    import sys

    # A regex, not ast: the rendered code may use syntax newer than the Python running the tests.
    statement = re.compile(r"^\s*(?:from\s+(\w+)[\w.]*\s+import\b|import\s+([\w., ]+?)\s*(?:#.*)?$)", re.M)
    imported, own = set(), set(naming.TEST_PACKAGES)
    for project in every_project:
        for path in project.rglob("*.py"):
            relative = path.relative_to(project)
            own |= {*relative.parent.parts, path.stem}
            for module, names in statement.findall(path.read_text()):
                imported |= {module} if module else {n.split()[0].split(".")[0] for n in names.split(",")}
    third_party = imported - own - set(sys.stdlib_module_names) - {"__future__"}
    missing = sorted(third_party - naming.THIRD_PARTY_IMPORTS)
    assert not missing, f"add the distributions of these imports to naming.PYTHON_DEPENDENCIES: {missing}"
    assert {"boto3", "aws_cdk", "yoyo", "jwt", "pytest", "moto"} <= third_party


def _regular_module(name: str) -> bool:
    from importlib.util import find_spec

    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, "namespace")


def test_refused_import_names_are_what_the_installed_distributions_provide():
    """Where a dependency is installed here, its import packages are the ones listed for it."""
    from importlib.metadata import packages_distributions

    provided: dict[str, set[str]] = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            provided.setdefault(naming._distribution(distribution), set()).add(module)
    checked = 0
    for distribution, modules in naming.PYTHON_DEPENDENCIES.items():
        if distribution in provided and distribution != "uv":
            checked += 1
            assert set(modules) <= provided[distribution], (distribution, provided[distribution])
            # Names a slug or domain could take (no leading "_"), regular packages and modules only:
            # some wheels also install data folders (docs/, ...).
            importable = {
                m for m in provided[distribution] if m.isidentifier() and m[0] != "_" and _regular_module(m)
            }
            assert importable <= set(modules), (distribution, importable)
    assert checked >= 5  # boto3, botocore, moto, pytest, pyyaml, ruff, ... are installed here
