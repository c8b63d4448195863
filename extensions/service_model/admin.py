"""Admin jobs (factor 12): one-off and scheduled work, each its own function and role in the
admin artifact, module ``<admin package>.<key>``."""

from __future__ import annotations

from . import grants
from .catalogue import ADMIN_TIMEOUT_S
from .entities import Domain, Function, Grant, Paths, Resource, Trigger
from .names import naming, suffix


def _job(
    key: str,
    description: str,
    trigger: Trigger,
    access: tuple[tuple[Grant, ...], grants.Environment],
    paths: Paths,
    budget: int,
    network: bool = False,
) -> Function:
    return Function(
        key=key,
        logical_id=f"Admin{naming.pascal(key)}",
        name=f"admin-{key}",
        suffix=suffix(f"admin-{key}", budget),
        description=description,
        module=f"{paths.admin_module}.{key}",
        attribute="handler",
        artifact="admin",
        trigger=trigger,
        grants=access[0],
        environment=access[1],
        timeout=ADMIN_TIMEOUT_S,
        network=network,
    )


def admin_jobs(
    domains: tuple[Domain, ...],
    paths: Paths,
    budget: int,
    secret: Resource | None = None,
    database: Resource | None = None,
) -> tuple[Function, ...]:
    tables = tuple(d.table for d in domains)
    every_table = grants.env(*tables)
    scans = grants.on_tables(tables, "dynamodb:Scan")
    report = (scans, every_table)
    if secret:  # the report is also posted to a chat webhook whose URL is a secret
        read = grants.secret_read(secret)
        report = (report[0] + read[0], report[1] + read[1])
    jobs = (
        _job("seed", "One-off: load sample records into every domain table",
             Trigger(kind="oneoff"), (grants.on_tables(tables, "dynamodb:PutItem"), every_table), paths, budget),
        _job("report", "Scheduled: log how many records each domain table holds",
             Trigger(kind="schedule", schedule="cron(0 6 * * ? *)"), report, paths, budget),
    )  # fmt: skip
    if not database:
        return jobs
    # The database jobs run in the private subnets, where the proxy is.
    connect, database_env = grants.database_connect(database)
    return jobs + (
        _job("migrate", "One-off: apply the pending PostgreSQL schema migrations (yoyo)",
             Trigger(kind="oneoff"), (connect, database_env), paths, budget, network=True),
        _job("snapshot", "Scheduled: store how many records each domain table holds in PostgreSQL",
             Trigger(kind="schedule", schedule="cron(0 5 * * ? *)"), (scans + connect, every_table + database_env),
             paths, budget, network=True),
    )  # fmt: skip
