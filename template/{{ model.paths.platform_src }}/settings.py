"""The one place that reads configuration, and only from the environment.

Per-stage values reach the environment through the IaC (config/<stage>.json ->
function environment); secrets arrive as references (see ``secrets.py``), never
as values. A missing variable stops the cold start with a message that says
which variable and where it comes from, instead of failing later mid-request.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import NamedTuple

# Set for every function by the IaC and for local runs by local/env.py.
BASE_VARIABLES = ("STAGE", "POWERTOOLS_SERVICE_NAME")


class ConfigurationError(RuntimeError):
    """Raised when the environment lacks a required setting."""


class Settings(NamedTuple):  # not a dataclass: see http.Request
    service: str
    stage: str
    log_level: str
    values: Mapping[str, str]

    def get(self, name: str) -> str:
        """A required value declared when the settings were loaded."""
        try:
            return self.values[name]
        except KeyError:
            raise ConfigurationError(
                f"Setting {name} was not declared: pass it in load_settings(required=...)."
            ) from None


def load_settings(required: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check the environment once, at cold start."""
    env = os.environ if environ is None else environ
    names = tuple(required)
    missing = [name for name in (*BASE_VARIABLES, *names) if not env.get(name)]
    if missing:
        raise ConfigurationError(
            "Missing required environment variable(s): "
            + ", ".join(missing)
            + ". In AWS the IaC sets them on each function; locally `make dev` and the tests "
            "set them from local/env.py. Export them to run the code any other way."
        )
    return Settings(
        service=env["POWERTOOLS_SERVICE_NAME"],
        stage=env["STAGE"],
        log_level=env.get("POWERTOOLS_LOG_LEVEL", "INFO"),
        values={name: env[name] for name in names},
    )
