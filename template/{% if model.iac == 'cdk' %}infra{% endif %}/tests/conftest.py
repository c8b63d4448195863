"""The CDK tests run the app in-process; jsii starts Node for it when aws_cdk is first imported."""

import os
import shutil
import subprocess

import pytest


def _node_major() -> str:
    node = shutil.which("node")
    if not node:
        return ""  # importing aws_cdk says that Node is needed
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    return version.strip().lstrip("v").split(".")[0]


# jsii prints a large banner on every start when Node is past its end of life or close to it.
# The CI pins a supported Node; on a workstation it is noise in every test report. The first
# variable takes the Node major versions to stay quiet about.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", _node_major())
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


@pytest.fixture(autouse=True)
def aws():
    """No emulator here: synthesis is offline and calls no AWS API (overrides the project's fixture,
    which would create every backing service in moto before each test for nothing)."""
    yield
