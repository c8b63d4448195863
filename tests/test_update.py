"""`copier update` brings template improvements to a rendered project without losing the team's work."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from copier import run_copy, run_recopy, run_update

import project_checks as checks
from template_clone import clone_working_tree, commit_all, git


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def release_chain(tmp_path: Path, change: Callable[[Path], None], message: str, tags: bool = True) -> Path:
    """A clone of this template with two releases: v1.0.0 (the working tree under test), then
    v1.1.0 after ``change``. Without ``tags`` the two are the commits HEAD~1 and HEAD, as in a
    template nobody tagged yet."""
    template = clone_working_tree(tmp_path / "template")
    if tags:
        git(template, "tag", "v1.0.0")
    change(template)
    commit_all(template, message)
    if tags:
        git(template, "tag", "v1.1.0")
    return template


@pytest.fixture
def releases(tmp_path) -> Path:
    """Two releases: v1.0.0 (the working tree under test) and v1.1.0, which adds `make clean`."""

    def add_make_clean(template: Path) -> None:
        edit(
            template / "template" / "Makefile.jinja",
            "check-stage:\n",
            "clean: ## Remove build output and tool caches\n\trm -rf build .pytest_cache .ruff_cache\n\ncheck-stage:\n",
        )

    return release_chain(tmp_path, add_make_clean, "Add make clean")


def update(project: Path, template: Path, ref: str = "v1.1.0", **kwargs) -> None:
    run_update(
        str(project),
        vcs_ref=ref,
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
        conflict="inline",
        **kwargs,
    )


def render_committed(template: Path, project: Path, release: str, data: dict | None = None) -> Path:
    """Render a release into a fresh git repository, as a team starts."""
    run_copy(str(template), str(project), vcs_ref=release, data=data, defaults=True, unsafe=True, quiet=True)
    git(project, "init", "-q")
    commit_all(project, f"Render {release}")
    return project


def conflicted(project: Path) -> list[str]:
    out = []
    for path in project.rglob("*"):
        if ".venv" in path.parts or ".git" in path.parts or not path.is_file():
            continue
        if re.search(r"^<{7} ", path.read_text(errors="ignore"), re.MULTILINE):
            out.append(str(path.relative_to(project)))
    return out


@pytest.mark.render
def test_update_keeps_team_edits_and_brings_improvements(releases, tmp_path):
    project = render_committed(releases, tmp_path / "service", "v1.0.0")

    orders = project / "domains" / "orders"
    # The edits a team makes: a handler, service logic, a dependency, a config value, a file of its own.
    edit(
        orders / "src" / "orders" / "handlers.py",
        'request.query("limit", "20")',
        'request.query("limit", "50")',
    )
    edit(
        orders / "src" / "orders" / "service.py",
        "MAX_PAGE_SIZE = 100",
        "MAX_PAGE_SIZE = 100  # agreed with the UI team",
    )
    edit(
        project / "libs" / "platform" / "pyproject.toml",
        '"boto3>=1.34,<2",',
        '"boto3>=1.34,<2",\n    "pyyaml>=6.0,<7",',
    )
    edit(project / "config" / "dev.json", '"memory_size": 256', '"memory_size": 512')
    (orders / "src" / "orders" / "pricing.py").write_text(
        '"""Team code."""\n\n\ndef total(prices: list[int]) -> int:\n    return sum(prices)\n'
    )
    (orders / "tests" / "test_pricing.py").write_text(
        "from orders.pricing import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    )
    commit_all(project, "Team edits")

    update(project, releases)

    assert "clean: ## Remove build output" in (project / "Makefile").read_text()  # the improvement arrived
    assert 'request.query("limit", "50")' in (orders / "src" / "orders" / "handlers.py").read_text()
    assert "# agreed with the UI team" in (orders / "src" / "orders" / "service.py").read_text()
    assert '"pyyaml>=6.0,<7"' in (project / "libs" / "platform" / "pyproject.toml").read_text()
    assert '"memory_size": 512' in (project / "config" / "dev.json").read_text()
    assert (orders / "src" / "orders" / "pricing.py").exists()
    assert (orders / "tests" / "test_pricing.py").exists()
    assert conflicted(project) == []
    assert "_commit: v1.1.0" in (project / ".copier-answers.yml").read_text()
    checks.lint_and_test(project)


@pytest.mark.render
def test_conflicting_edits_become_inline_markers_not_overwrites(releases, tmp_path):
    project = render_committed(releases, tmp_path / "service", "v1.0.0")
    edit(
        project / "Makefile",
        "check-stage:\n",
        "release-notes: ## Team target\n\t@cat CHANGELOG.md\n\ncheck-stage:\n",
    )
    commit_all(project, "Team target where the template adds one")

    update(project, releases)

    makefile = (project / "Makefile").read_text()
    assert conflicted(project) == ["Makefile"]
    assert "release-notes: ## Team target" in makefile  # the team's lines are kept...
    assert "clean: ## Remove build output" in makefile  # ...next to the template's


@pytest.mark.render
def test_update_adds_a_domain_and_a_stage_everywhere_and_refuses_removal(releases, tmp_path):
    project = render_committed(releases, tmp_path / "service", "v1.1.0")

    update(project, releases, data={"domains": ["orders", "payments"]})
    commit_all(project, "Add payments")
    assert (project / "domains" / "payments" / "src" / "payments" / "handlers.py").exists()
    assert (project / "domains" / "payments" / "tests" / "test_handlers.py").exists()
    for path, needle in [
        ("infra/template.yaml", "PaymentsTable:"),
        ("local/routes.py", '"/payments/{id}"'),
        ("contracts/openapi.yaml", "/payments/{id}:"),
        ("README.md", "`/payments`"),
        ("pyproject.toml", "service-payments"),
        ("scripts/package.py", '"payments": ['),
    ]:
        assert needle in (project / path).read_text(), (path, needle)

    update(
        project,
        releases,
        data={
            "stages": ["dev", "qa", "staging", "prod"],
            "log_retention_days": {"dev": 7, "qa": 7, "staging": 30, "prod": 365},
        },
    )
    commit_all(project, "Add qa")
    assert '"stage": "qa"' in (project / "config" / "qa.json").read_text()
    assert "deploy-qa:" in (project / ".github" / "workflows" / "ci.yml").read_text()
    assert conflicted(project) == []
    checks.lint_and_test(project)
    checks.validate_iac(project)
    commit_all(project, "Lock dependencies")  # a team commits uv.lock after the first install

    with pytest.raises(ValueError, match="Removing the domain 'payments' is not supported"):
        update(project, releases, data={"domains": ["orders"]})
    assert (project / "domains" / "payments").exists()
    assert "- payments" in (project / ".copier-answers.yml").read_text()


@pytest.mark.render
def test_update_adds_backing_services_and_keeps_the_team_s_logic(releases, tmp_path):
    project = render_committed(releases, tmp_path / "service", "v1.1.0")
    service = project / "domains" / "orders" / "src" / "orders" / "service.py"
    edit(service, "MAX_PAGE_SIZE = 100", "MAX_PAGE_SIZE = 50  # our own limit")
    commit_all(project, "Smaller pages")

    services = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]
    update(project, releases, data={"services": services, "public_routes": ["GET /orders"]})
    commit_all(project, "Add every backing service")
    assert conflicted(project) == []
    assert "MAX_PAGE_SIZE = 50  # our own limit" in service.read_text()
    for path, needle in [
        ("infra/template.yaml", "OrdersQueue:"),
        ("infra/template.yaml", "IdempotencyTable:"),
        ("domains/orders/src/orders/consumer.py", "process_orders_jobs = consumer(_work)"),
        ("domains/orders/src/orders/jobs.py", "def handle("),
        ("libs/platform/src/service_platform/queues.py", "class WorkQueue"),
        ("local/routes.py", '"orders.consumer.process_orders_jobs"'),
        ("tests/test_queues.py", "def test_a_job_fails_once_is_retried_and_is_worked_on_once"),
        (".copier-answers.yml", "- sqs"),
        ("infra/template.yaml", "OrdersBucket:"),
        ("infra/template.yaml", "EventBus:"),
        ("infra/template.yaml", "UserPool:"),
        ("infra/template.yaml", "SettingsParameter:"),
        ("infra/template.yaml", "ReportWebhookSecret:"),
        ("contracts/events/orders/order-created.v1.json", '"title"'),
        (".copier-answers.yml", "- GET /orders"),
        ("domains/orders/src/orders/handlers.py", "read_through(get_cache(), CACHE_KEY.format(record_id)"),
        ("libs/platform/src/service_platform/cache.py", "class DynamoCache"),
        ("tests/test_cache.py", "def test_reads_are_served_from_the_cache_and_writes_evict("),
        ("infra/template.yaml", "DatabaseProxy:"),
        ("infra/template.yaml", "AWS::ElastiCache::ServerlessCache"),
        ("admin/src/admin_jobs/migrations/0001_record_counts.sql", "CREATE TABLE record_counts"),
        ("libs/platform/src/service_platform/database.py", "generate_db_auth_token"),
    ]:
        assert needle in (project / path).read_text(), (path, needle)
    checks.lint_and_test(project)
    checks.validate_iac(project)
    checks.iac_matches_model(project)


@pytest.mark.render
@pytest.mark.parametrize("tags", [True, False], ids=["tagged", "untagged"])
def test_a_renamed_answer_is_carried_forward_by_a_migration(tmp_path, tags):
    """A release that renames a question updates projects rendered before the rename cleanly,
    whether or not the template's releases are tagged (the migration names no version)."""

    def rename_author_email(template: Path) -> None:
        # Release v1.1.0 renames `author_email` to `owner_email` everywhere and adds the migration.
        for name in git(template, "grep", "-l", "author_email").split():
            path = template / name
            path.write_text(path.read_text().replace("author_email", "owner_email"))
        edit(
            template / "copier.yml",
            "_migrations: []",
            "_migrations:\n"
            "  - when: \"{{ _stage == 'before' }}\"\n"
            "    command:\n"
            '      - "{{ _copier_python }}"\n'
            '      - "{{ _copier_conf.src_path }}/migrations/rename_answer.py"\n'
            '      - "{{ _copier_conf.answers_file }}"\n'
            "      - author_email\n"
            "      - owner_email",
        )

    template = release_chain(tmp_path, rename_author_email, "Rename author_email to owner_email", tags)
    before, after = ("v1.0.0", "v1.1.0") if tags else (git(template, "rev-parse", "HEAD~1").strip(), "HEAD")
    project = render_committed(template, tmp_path / "service", before, {"author_email": "orders@example.org"})

    update(project, template, after)

    answers = checks.load_answers(project)
    assert answers["owner_email"] == "orders@example.org"
    assert "author_email" not in answers
    assert 'email = "orders@example.org"' in (project / "pyproject.toml").read_text()
    assert conflicted(project) == []


def test_recopy_keeps_and_overwrites_what_the_readme_says(releases, tmp_path):
    project = render_committed(releases, tmp_path / "service", "v1.1.0")
    service = next(project.glob("**/orders/service.py"))
    edit(service, "MAX_PAGE_SIZE = 100", "MAX_PAGE_SIZE = 50  # team-owned")
    edit(project / "Makefile", "check-stage:\n", "team: ## Team target\n\t@true\n\ncheck-stage:\n")
    (project / "docs").mkdir()
    (project / "docs" / "runbook.md").write_text("Team notes.\n")
    (project / "local" / "admin.py").unlink()
    commit_all(project, "Team edits")

    run_recopy(str(project), vcs_ref="v1.1.0", defaults=True, overwrite=True, unsafe=True, quiet=True)

    assert "MAX_PAGE_SIZE = 50  # team-owned" in service.read_text()  # team-owned: kept
    assert (project / "docs" / "runbook.md").read_text() == "Team notes.\n"  # never rendered: kept
    assert (project / "local" / "admin.py").exists()  # deleted template file: rendered again
    assert "team: ## Team target" not in (project / "Makefile").read_text()  # edited: overwritten...
    git(project, "restore", "Makefile")  # ...and taken back from git, as the README says
    assert "team: ## Team target" in (project / "Makefile").read_text()
