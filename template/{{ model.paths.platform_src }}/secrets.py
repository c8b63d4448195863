"""Configuration and secrets by name: SSM Parameter Store or Secrets Manager, never in code or config.

Config files and the IaC carry only a *name* (for example ``/<service>/<stage>/settings``);
the value is fetched at run time with Powertools Parameters and cached for ``max_age``
seconds, so warm invocations do not call AWS each time and a changed value arrives
without a deploy. JSON values are parsed into a pydantic model, so a wrong value fails
here, with the name, instead of somewhere else later. Grant the reading function
``ssm:GetParameter`` (or ``secretsmanager:GetSecretValue``) on that one name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from .settings import ConfigurationError

if TYPE_CHECKING:
    from pydantic import BaseModel

DEFAULT_MAX_AGE = 300


class MissingValueError(ConfigurationError):
    """The parameter or secret does not exist, has no value yet, or may not be read."""


class InvalidValueError(ConfigurationError):
    """The value exists but is not what the model describes."""


def _parse[M: BaseModel](kind: str, name: str, value: Any, model: type[M] | None) -> M | str:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if model is None:
        return value
    from pydantic import ValidationError  # installed wherever a model is defined

    try:
        return model.model_validate_json(value)
    except ValidationError as error:
        # Never echo the value: it may be a secret. Say where and what instead.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)
        )
        raise InvalidValueError(f"The {kind} {name} does not hold a valid {model.__name__}: {problems}.") from None


@overload
def load_parameter(name: str, model: None = None, *, max_age: int = DEFAULT_MAX_AGE) -> str: ...
@overload
def load_parameter[M: BaseModel](name: str, model: type[M], *, max_age: int = DEFAULT_MAX_AGE) -> M: ...
def load_parameter[M: BaseModel](name: str, model: type[M] | None = None, *, max_age: int = DEFAULT_MAX_AGE) -> M | str:
    """The SSM parameter ``name`` (decrypted), parsed as JSON into ``model`` when one is given."""
    # Imported on use: functions that read no parameter do not pay for it at cold start.
    from aws_lambda_powertools.utilities import parameters

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
def load_secret[M: BaseModel](name: str, model: type[M], *, max_age: int = DEFAULT_MAX_AGE) -> M: ...
def load_secret[M: BaseModel](name: str, model: type[M] | None = None, *, max_age: int = DEFAULT_MAX_AGE) -> M | str:
    """The current value of the Secrets Manager secret ``name``, parsed as JSON into ``model`` when given."""
    from aws_lambda_powertools.utilities import parameters

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
