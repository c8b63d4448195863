"""JSON Schema validators (fastjsonschema), made once per schema and process.

Compiling a schema into its validator takes milliseconds, which every cold start would pay again
for each schema it checks. `make build` does it beforehand: scripts/package.py runs this module
over each function's code and ships, beside this module in ``validators/``, the validator of every
schema the code defines at module level (a dict with ``"type": "object"`` and ``"properties"``, or
an object holding one as ``schema``: an event Contract). Where none was shipped (the tests, `make
dev`, a schema made at run time), the validator is compiled on first use. Both are fastjsonschema's
code for the same schema, so they give the same answers.

    python -m <platform package>.validation OUTPUT.json MODULE...   # what the build runs
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

# Returns the data it was given; raises fastjsonschema.JsonSchemaValueException when it breaks the schema.
Validator = Callable[[Any], Any]
SHIPPED = f"{__package__}.validators"  # written by `make build` into the artifacts, never committed


def validator(schema: Mapping[str, Any]) -> Validator:
    return _validator(json.dumps(schema, sort_keys=True))


def module_name(canonical: str) -> str:
    """The shipped module of a schema (given as JSON with sorted keys): named by its digest."""
    return "schema_" + hashlib.sha256(canonical.encode()).hexdigest()[:20]


@cache
def _validator(canonical: str) -> Validator:
    name = f"{SHIPPED}.{module_name(canonical)}"
    try:
        return importlib.import_module(name).VALIDATE
    except ModuleNotFoundError as error:
        if error.name not in (name, SHIPPED):  # a shipped module whose own import failed
            raise
    import fastjsonschema

    return fastjsonschema.compile(json.loads(canonical))


def schemas(namespace: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The object schemas among a module's globals: dicts, and values that hold one as ``schema``."""
    for value in namespace.values():
        schema = value if isinstance(value, Mapping) else getattr(value, "__dict__", {}).get("schema")
        if isinstance(schema, Mapping) and schema.get("type") == "object" and "properties" in schema:
            yield schema


def shipped(modules: Iterable[str]) -> dict[str, Any]:
    """What `make build` ships for ``modules``: {"validators": {module: {file name: source}},
    "skipped": {module: [why, ...]}}. A module that does not import here, or a schema that does not
    turn into code, is skipped (and compiled on first use); the build goes on and says why."""
    from fastjsonschema import compile_to_code
    from fastjsonschema.ref_resolver import RefResolver

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
                # The code names its entry function after the schema's id ("validate" without one).
                entry = RefResolver.from_schema(json.loads(canonical), store={}).get_scope_name()
                code = f"{compile_to_code(json.loads(canonical))}\n\nVALIDATE = {entry}\n"
            except Exception as error:  # not JSON, a definition fastjsonschema refuses, a $ref it cannot fetch
                skipped.setdefault(module, []).append(f"{schema.get('title', 'a schema')}: {error}")
                continue
            found.setdefault(module, {})[f"{module_name(canonical)}.py"] = code
    return {"validators": found, "skipped": skipped}


if __name__ == "__main__":
    with open(sys.argv[1], "w") as output:
        json.dump(shipped(sys.argv[2:]), output)
