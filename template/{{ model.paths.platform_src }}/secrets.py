"""Configuration and secrets by name: SSM Parameter Store or Secrets Manager, never in code or config.

Config files and the IaC carry only a *name* (for example ``/<service>/<stage>/settings``);
the value is fetched at run time with Powertools Parameters and cached for ``max_age``
seconds, so warm invocations do not call AWS each time and a changed value arrives
without a deploy. JSON values are parsed into a dataclass, so a wrong value fails here,
with the name, instead of somewhere else later. Grant the reading function
``ssm:GetParameter`` (or ``secretsmanager:GetSecretValue``) on that one name.

The dataclass describes the JSON object: a field without a default is required, keys it
does not name are ignored, and each field is checked against a JSON Schema: its
``metadata`` (``field(metadata={"minimum": 1})``), with the type from its annotation when
that is ``str``, ``int``, ``float`` or ``bool`` (any other needs a "type" in the metadata).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import cache
from typing import Any, get_type_hints, overload

from .settings import ConfigurationError
from .validation import Invalid, validator

DEFAULT_MAX_AGE = 300
# The JSON types of the annotations a field may have without a "type" of its own.
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


class MissingValueError(ConfigurationError):
    """The parameter or secret does not exist, has no value yet, or may not be read."""


class InvalidValueError(ConfigurationError):
    """The value exists but is not what the dataclass describes."""


@cache
def _hints(model: type) -> dict[str, Any]:
    """``model``'s field annotations, resolved once per model and process."""
    return get_type_hints(model)


def schema_of(model: type) -> dict[str, Any]:
    """``model``'s fields as the JSON Schema of an object. A module that names it at module level
    (``SCHEMA = schema_of(Model)``) has its validator shipped by `make build` (validation.py)."""
    hints, properties = _hints(model), {}
    for field in dataclasses.fields(model):
        properties[field.name] = schema = dict(field.metadata)
        hint = hints[field.name]
        if "type" not in schema:
            if hint not in JSON_TYPES:
                raise TypeError(
                    f"{model.__name__}.{field.name} is a {hint.__name__ if isinstance(hint, type) else hint}: "
                    'give it a JSON Schema type, e.g. field(metadata={"type": "array"}), or use str, int, float or bool.'
                )
            schema["type"] = JSON_TYPES[hint]
    required = [f.name for f in dataclasses.fields(model) if f.default is f.default_factory is dataclasses.MISSING]
    return {"type": "object", "properties": properties, "required": required}


@cache
def _validator(model: type) -> Callable[[Any], Any]:
    return validator(schema_of(model))  # shipped with the build when a module names the schema


def _parse[M](kind: str, name: str, value: Any, model: type[M] | None) -> M | str:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if model is None:
        return value
    # Never echo the value: it may be a secret. Say where and what instead.
    invalid = f"The {kind} {name} does not hold a valid {model.__name__}"
    try:
        data = json.loads(value)
    except ValueError:
        raise InvalidValueError(f"{invalid}: value: Invalid JSON.") from None
    try:
        _validator(model)(data)
    except Invalid as error:
        where = ".".join(str(part) for part in error.path[1:])  # path[0] is "data", the whole value
        if error.rule == "required" and not where:  # a missing field, named like any other problem
            problem = "; ".join(f"{key}: Field required" for key in error.rule_definition if key not in data)
        else:  # the message starts with the place ("data.field"), said here as "where"
            problem = f"{where or 'value'}: {error.message.removeprefix(error.name).strip()}"
        raise InvalidValueError(f"{invalid}: {problem}.") from None
    hints = _hints(model)
    # A scalar field takes its annotation's type: JSON's 2.0 is an integer to the schema, 2 to an int field.
    values = {
        f.name: hints[f.name](data[f.name]) if hints[f.name] in JSON_TYPES else data[f.name]
        for f in dataclasses.fields(model)
        if f.name in data
    }
    return model(**values)


def _parameters(kind: str) -> Any:
    """Powertools' parameters helpers, their ``kind`` provider ("ssm" or "secrets") using a client
    of boto3's default session. Left alone, they build one with a session of its own, which loads
    botocore's data again (about 30 ms of a cold start). ``parameters.clear_caches()`` drops the
    providers; the next read makes them again."""
    # Imported on use: functions that read no parameter do not pay for it at cold start.
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    if kind not in DEFAULT_PROVIDERS:
        if kind == "ssm":
            DEFAULT_PROVIDERS[kind] = parameters.SSMProvider(boto3_client=boto3.client("ssm"))
        else:
            DEFAULT_PROVIDERS[kind] = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    return parameters


@overload
def load_parameter(name: str, model: None = None, *, max_age: int = DEFAULT_MAX_AGE) -> str: ...
@overload
def load_parameter[M](name: str, model: type[M], *, max_age: int = DEFAULT_MAX_AGE) -> M: ...
def load_parameter[M](name: str, model: type[M] | None = None, *, max_age: int = DEFAULT_MAX_AGE) -> M | str:
    """The SSM parameter ``name`` (decrypted), parsed as JSON into ``model`` (a dataclass) when one is given."""
    parameters = _parameters("ssm")
    try:
        value = parameters.get_parameter(name, decrypt=True, max_age=max_age)
    except parameters.exceptions.GetParameterError as error:
        raise MissingValueError(
            f"Cannot read the SSM parameter {name}: {error}. The IaC creates it in every stage "
            "(and `make dev` locally); check the name and that this function may ssm:GetParameter it."
        ) from None
    return _parse("SSM parameter", name, value, model)


@overload
def load_secret(name: str, model: None = None, *, max_age: int = DEFAULT_MAX_AGE) -> str: ...
@overload
def load_secret[M](name: str, model: type[M], *, max_age: int = DEFAULT_MAX_AGE) -> M: ...
def load_secret[M](name: str, model: type[M] | None = None, *, max_age: int = DEFAULT_MAX_AGE) -> M | str:
    """The current value of the Secrets Manager secret ``name``, parsed as JSON into ``model`` (a dataclass) when given."""
    parameters = _parameters("secrets")
    try:
        value = parameters.get_secret(name, max_age=max_age)
    except (parameters.exceptions.GetSecretError, parameters.exceptions.GetParameterError) as error:
        raise MissingValueError(
            f"Cannot read the secret {name}: {error}. Check that it exists, has a value "
            "(put-secret-value) and that this function may secretsmanager:GetSecretValue it."
        ) from None
    return _parse("secret", name, value, model)


def get_secret(reference: str, max_age: int = DEFAULT_MAX_AGE) -> str:
    """Resolve ``ssm:/path/name`` or ``secretsmanager:name`` to its current value."""
    kind, _, name = reference.partition(":")
    if kind == "ssm" and name:
        return load_parameter(name, max_age=max_age)
    if kind == "secretsmanager" and name:
        return load_secret(name, max_age=max_age)
    raise ValueError(f"Secret reference {reference!r} is not 'ssm:/path/name' or 'secretsmanager:name'.")
