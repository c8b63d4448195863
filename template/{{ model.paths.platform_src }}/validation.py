"""JSON Schema validators (fastjsonschema's generated code), made once per schema and process.

Turning a schema into its validator takes milliseconds, which every cold start would pay again
for each schema it checks. `make build` does it beforehand: scripts/package.py runs this module
over each function's code and ships, beside this module in ``validators/``, the validator of every
schema the code defines at module level (a dict with ``"type": "object"`` and ``"properties"``, or
an object holding one as ``schema``: an event Contract). Where none was shipped (the tests, `make
dev`, a schema made at run time), the same code is generated and run on first use, so both give
the same answers. Either raises ``Invalid``, this module's own error, so that a shipped validator
runs without importing fastjsonschema at all (about 2 ms of a cold start).

    python -m <platform package>.validation OUTPUT.json MODULE...   # what the build runs
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

# Returns the data it was given; raises Invalid when it breaks the schema.
Validator = Callable[[Any], Any]
SHIPPED = f"{__package__}.validators"  # written by `make build` into the artifacts, never committed
# The one line of the generated code that imports fastjsonschema: the errors it raises and catches.
# (Patterns as strings, compiled by re on first use: not at every cold start.)
_IMPORT = r"(?m)^from fastjsonschema import (\w+(?:, \w+)*)$"


class GeneratorChanged(RuntimeError):
    """fastjsonschema makes code this module does not know how to point at Invalid: the build stops."""


class Invalid(ValueError):
    """Data that breaks its schema. The generated code builds it as it would fastjsonschema's own
    error, with the same arguments, and it offers what callers read of that: ``message`` ("data.items[0]
    must be integer"), the breaking ``value``, its ``name`` ("data.items[0]") and ``path`` (["data",
    "items", "0"]), the ``definition`` it breaks, the ``rule`` ("type") and ``rule_definition``."""

    def __init__(self, message: str, value: Any = None, name: str | None = None, definition: Any = None,
                 rule: str | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule

    @property
    def path(self) -> list[str]:
        return [part for part in re.split(r"[.\[\]]+", self.name or "") if part]

    @property
    def rule_definition(self) -> Any:
        return self.definition.get(self.rule) if self.rule and isinstance(self.definition, Mapping) else None


def validator(schema: Mapping[str, Any]) -> Validator:
    return _validator(json.dumps(schema, sort_keys=True))


def module_name(canonical: str) -> str:
    """The shipped module of a schema (given as JSON with sorted keys): named by its digest."""
    return "schema_" + hashlib.sha256(canonical.encode()).hexdigest()[:20]


@cache
def _validator(canonical: str) -> Validator:
    module = module_name(canonical)
    name = f"{SHIPPED}.{module}"
    try:
        return importlib.import_module(name).VALIDATE
    except ModuleNotFoundError as error:
        if error.name not in (name, SHIPPED):  # a shipped module whose own import failed
            raise
    namespace: dict[str, Any] = {}  # run as a shipped module's code runs on import
    exec(compile(code(canonical), f"<validator {module}>", "exec"), namespace)
    return namespace["VALIDATE"]


def code(canonical: str) -> str:
    """The validator of a schema (given as JSON with sorted keys) as a module's source: fastjsonschema's
    code, raising Invalid, with its entry function bound to ``VALIDATE``."""
    from fastjsonschema import compile_to_code
    from fastjsonschema.ref_resolver import RefResolver

    schema = json.loads(canonical)
    source, found = re.subn(_IMPORT, _import_invalid, compile_to_code(schema))
    if found != 1:  # a fastjsonschema that makes other code: refuse rather than ship it
        raise GeneratorChanged("fastjsonschema's code no longer imports its errors in one line: update validation.py")
    # The code names its entry function after the schema's id ("validate" without one).
    entry = RefResolver.from_schema(schema, store={}).get_scope_name()
    return f"{source}\n\nVALIDATE = {entry}\n"


def _import_invalid(line: re.Match[str]) -> str:
    names = line[1].split(", ")
    if not set(names) <= {"JsonSchemaValueException", "JsonSchemaValuesException"}:
        raise GeneratorChanged(f"fastjsonschema's code imports {line[1]}, not only its errors: update validation.py")
    # __package__, not __name__: the build runs this module as __main__.
    return f"from {__package__}.validation import {', '.join(f'Invalid as {name}' for name in names)}"


def schemas(namespace: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The object schemas among a module's globals: dicts, and values that hold one as ``schema``."""
    for value in namespace.values():
        schema = value if isinstance(value, Mapping) else getattr(value, "__dict__", {}).get("schema")
        if isinstance(schema, Mapping) and schema.get("type") == "object" and "properties" in schema:
            yield schema


def shipped(modules: Iterable[str]) -> dict[str, Any]:
    """What `make build` ships for ``modules``: {"validators": {module: {file name: source}},
    "skipped": {module: [why, ...]}}. A module that does not import here, or a schema that does not
    turn into code, is skipped (and made on first use); the build goes on and says why."""
    found: dict[str, dict[str, str]] = {}
    skipped: dict[str, list[str]] = {}
    for module in modules:
        try:
            found_here = list(schemas(vars(importlib.import_module(module))))
        except Exception as error:  # whatever the module's own code raises
            skipped.setdefault(module, []).append(f"{type(error).__name__}: {error}")
            continue
        for schema in found_here:
            try:
                canonical = json.dumps(schema, sort_keys=True)
                source = code(canonical)
            except GeneratorChanged:  # every schema's code would fail alike, at run time too: stop the build
                raise
            except Exception as error:  # not JSON, a definition fastjsonschema refuses, a $ref it cannot fetch
                skipped.setdefault(module, []).append(f"{schema.get('title', 'a schema')}: {error}")
                continue
            found.setdefault(module, {})[f"{module_name(canonical)}.py"] = source
    return {"validators": found, "skipped": skipped}


if __name__ == "__main__":
    with open(sys.argv[1], "w") as output:
        json.dump(shipped(sys.argv[2:]), output)
