"""Fixtures shared by every test: each runs against an in-process AWS emulator, never AWS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from moto import mock_aws

from local import env

ROOT = Path(__file__).resolve().parent

# Handlers read their settings at import (cold start): give them the local
# environment before any test module imports one. No real credentials or
# endpoint from the developer's shell can leak into a test.
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.update(env.environment())


@pytest.fixture(autouse=True)
def aws():
    """A fresh emulator per test, holding the tables the IaC declares."""
    with mock_aws():
        env.create_resources()
        yield
