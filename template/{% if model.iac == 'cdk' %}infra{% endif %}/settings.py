"""One stage's settings, read from config/<stage>.json and checked before any construct is built."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

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
        if type(config[key]).__name__ != kind  # exact: True is an int to isinstance
    ]
    if config["stage"] != path.stem:
        problems.append(f"stage is {config['stage']!r} but the file is named {path.name}")
    if config["log_level"] not in LOG_LEVELS:
        problems.append(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    if config["log_retention_days"] not in RETENTION:
        problems.append(f"log_retention_days must be one of {', '.join(map(str, RETENTION))}")
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
