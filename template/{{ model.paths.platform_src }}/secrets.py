"""Secrets by reference: SSM Parameter Store or Secrets Manager, never in code or config.

Config files and the IaC carry only a parameter *name* (for example
``/<service>/<stage>/payment-api-key``); the value is fetched at run time with
Powertools Parameters, decrypted and cached for ``max_age`` seconds so warm
invocations do not call AWS each time. Grant the reading function
``ssm:GetParameter`` (or ``secretsmanager:GetSecretValue``) on that one name.
"""

from __future__ import annotations

DEFAULT_MAX_AGE = 300


def get_secret(reference: str, max_age: int = DEFAULT_MAX_AGE) -> str:
    """Resolve ``ssm:/path/name`` or ``secretsmanager:name`` to its current value."""
    # Imported on use: functions that read no secret do not pay for it at cold start.
    from aws_lambda_powertools.utilities import parameters

    kind, _, name = reference.partition(":")
    if kind == "ssm" and name:
        return parameters.get_parameter(name, decrypt=True, max_age=max_age)
    if kind == "secretsmanager" and name:
        return parameters.get_secret(name, max_age=max_age)
    raise ValueError(f"Secret reference {reference!r} is not 'ssm:/path/name' or 'secretsmanager:name'.")
