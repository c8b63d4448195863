"""One stage's settings, read from config/<stage>.json and checked before any construct is built."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_logs as logs

from infra import model

CONFIG = Path(__file__).resolve().parent.parent / "config"

# The retention periods CloudWatch Logs accepts, in days.
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# How a new version reaches the stage: CodeDeploy's predefined configs (CodeDeployDefault.Lambda<release>).
RELEASES = {
    "AllAtOnce": codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
    "Canary10Percent5Minutes": codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
    "Canary10Percent10Minutes": codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_10_MINUTES,
    "Canary10Percent15Minutes": codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_15_MINUTES,
    "Canary10Percent30Minutes": codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_30_MINUTES,
    "Linear10PercentEvery1Minute": codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTE,
    "Linear10PercentEvery2Minutes": codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_2_MINUTES,
    "Linear10PercentEvery3Minutes": codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    "Linear10PercentEvery10Minutes": codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_10_MINUTES,
}
# What a field's annotation accepts (exact types: True is an int to isinstance); thresholds may be
# written 1 or 0.05.
TYPES = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float), "int | None": (int, type(None))}


@dataclass(frozen=True)
class StageSettings:
    """The keys of config/<stage>.json, one field each."""

    stage: str
    log_level: str
    log_retention_days: int
    memory_size: int
    function_timeout: int
    tracing: bool
    throttle_rate_limit: int
    throttle_burst_limit: int
    api_route_metrics: bool  # the HTTP API's per-route metrics, billed per route
    # Releases, alarms, concurrency and cost (scripts/check_config.py checks their ranges).
    release: str
    alarm_email: str  # "": no e-mail subscription on the alarm topic
    alarm_function_errors: float
    alarm_function_throttles: float
    alarm_duration_percent: float  # p99 duration as a percentage of the function's timeout
    alarm_dead_letter_messages: float
    alarm_queue_age_seconds: float
    alarm_api_5xx_rate: float  # 0..1
    alarm_api_latency_ms: float
    alarm_table_throttles: float
    reserved_concurrency: int | None  # None: not reserved
    provisioned_concurrency: int  # on the alias of every HTTP function; 0: off
    queue_max_concurrency: int
    budget_monthly_usd: float
    budget_alert_percent: float
    budget_forecast_percent: float

    @property
    def prefix(self) -> str:
        """Every physical name of the stage starts with this; it is also the stack name."""
        return f"{model.SERVICE}-{self.stage}"

    @property
    def is_production(self) -> bool:
        return self.stage == model.PRODUCTION_STAGE

    @property
    def retention(self) -> logs.RetentionDays:
        return RETENTION[self.log_retention_days]

    @property
    def deployment_config(self) -> codedeploy.ILambdaDeploymentConfig:
        return RELEASES[self.release]

    def threshold(self, key: str) -> float:
        """An alarm's threshold: the value of its config key."""
        return getattr(self, key)


def load(path: Path) -> StageSettings:
    """The settings in one config file, or SystemExit saying what is wrong with it."""
    config = json.loads(path.read_text())
    keys = {f.name: f.type for f in fields(StageSettings)}  # type names: annotations are postponed
    unknown, missing = sorted(set(config) - set(keys)), sorted(set(keys) - set(config))
    if unknown or missing:
        raise SystemExit(f"{path}: unknown keys {unknown}, missing keys {missing}.")
    problems = [
        f"{key} must be {kind}, not {config[key]!r}"
        for key, kind in keys.items()
        if type(config[key]) not in TYPES[kind]
    ]
    if config["stage"] != path.stem:
        problems.append(f"stage is {config['stage']!r} but the file is named {path.name}")
    if config["log_level"] not in LOG_LEVELS:
        problems.append(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    if config["log_retention_days"] not in RETENTION:
        problems.append(f"log_retention_days must be one of {', '.join(map(str, RETENTION))}")
    if config["release"] not in RELEASES:
        problems.append(f"release must be one of {', '.join(RELEASES)}")
    if problems:
        raise SystemExit(f"{path}: " + "; ".join(problems) + ".")
    return StageSettings(**config)


def stages(config_dir: Path = CONFIG) -> list[StageSettings]:
    """Every config/<stage>.json, in promotion order: each one becomes a stack."""
    paths = sorted(
        config_dir.glob("*.json"),
        key=lambda p: (model.STAGES.index(p.stem) if p.stem in model.STAGES else len(model.STAGES), p.stem),
    )
    if not paths:
        raise SystemExit(f"No stage configs in {config_dir}: expected one <stage>.json per stage.")
    return [load(path) for path in paths]
