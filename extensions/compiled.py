"""The template's compiled Jinja code, kept between renders.

Most of a render is Jinja compiling the template files, and Copier builds a new environment (and
clones the template to a new folder) for every render, so each one compiled everything again.
Jinja can keep compiled code on disk: here in its default folder (private to the user, under the
system's temporary folder), keyed by the file's name inside the template and the environment's
settings rather than its path, since the clone's path changes every time. Jinja stores the source's
checksum beside the code, so an edited file, or the same name in another template version, is
compiled afresh.

Copier also compiles every part of every file's path, for each file (a folder's name once per file
in it), and the strings of copier.yml, with ``from_string``, which Jinja never caches: those are kept
in the same folder too, keyed by the string and the same settings, and still go through each
extension's preprocess hook. Everything loaded or compiled is also kept in memory for the process's
next render.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import types
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache
from jinja2.bccache import Bucket
from jinja2.ext import Extension

PATTERN = "__serverless_twelve_factor_%s.cache"  # apart from other users of Jinja's folder
# What this process's renders compiled or loaded, by cache key and source checksum, so that one
# render after another (`copier update` makes several) reads no file again. This module is loaded
# afresh for every render, from Copier's new clone, so the table is kept in sys.modules.
_SHARED = "_serverless_twelve_factor_compiled"
_IN_MEMORY: dict[tuple[str, str], Any] = vars(
    sys.modules.setdefault(_SHARED, types.ModuleType(_SHARED, "Compiled Jinja code, by key and checksum."))
).setdefault("code", {})


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:  # Copier run from a source checkout
        return "unknown"


def _code() -> str:
    # Compiled code also depends on code beside the text: Jinja folds filters applied to constants
    # at compile time, and Copier's tags compile to calls into Copier.
    extensions = sorted(Path(__file__).parent.rglob("*.py"))
    code = hashlib.sha256(b"".join(path.read_bytes() for path in extensions))
    code.update(f"jinja2 {_version('jinja2')} copier {_version('copier')}".encode())
    return code.hexdigest()


def _settings(env: Environment) -> tuple:
    """What else decides the code Jinja compiles from a text (read once every extension has joined)."""
    return (
        env.block_start_string, env.block_end_string, env.variable_start_string, env.variable_end_string,
        env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
        env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks, env.newline_sequence,
        env.keep_trailing_newline, env.optimized, env.autoescape is True, tuple(sorted(env.extensions)),
        type(env).__qualname__, env.is_async, env.finalize is not None, env.code_generator_class.__qualname__,
    )  # fmt: skip


class TemplateNameCache(FileSystemBytecodeCache):
    def __init__(self, environment: Environment, code: str) -> None:
        super().__init__(pattern=PATTERN)
        self.environment = environment
        self.code = code
        self.settings: str | None = None

    def get_bucket(self, environment: Environment, name: str, filename: str | None, source: str) -> Bucket:
        # Compiling runs every extension's preprocess hook, and Copier's yield tag needs it (it forgets
        # the loop the file's path declared): a file loaded from here is not compiled, so run them anyway.
        environment.preprocess(source, name, filename)
        return super().get_bucket(environment, name, filename, source)

    def load_bytecode(self, bucket: Bucket) -> None:
        code = _IN_MEMORY.get((bucket.key, bucket.checksum))
        if code is None:
            super().load_bytecode(bucket)
            code = bucket.code
        if code is not None:
            bucket.code = _IN_MEMORY[(bucket.key, bucket.checksum)] = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        _IN_MEMORY[(bucket.key, bucket.checksum)] = bucket.code
        super().dump_bytecode(bucket)

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        # Read when the first file or string is loaded, once every extension has joined.
        if self.settings is None:
            self.settings = repr((_settings(self.environment), self.code))
        return hashlib.sha256(f"{name!r}{self.settings}".encode()).hexdigest()


class CompiledStrings:
    """``environment.compile`` that compiles each string once (see the module's docstring).

    Set on one environment: an ``overlay()`` of it would share this memo (Copier makes none)."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.compile = environment.compile  # Jinja's own
        self.kept: dict[str, Any] = {}  # this render's, by string

    def __call__(self, source: Any, name: str | None = None, filename: str | None = None, *args: Any) -> Any:
        # Files are the bytecode cache's (see above).
        if name is not None or filename is not None or args or not isinstance(source, str):
            return self.compile(source, name, filename, *args)
        code = self.kept.get(source)
        if code is not None:
            self.environment.preprocess(source)  # as compiling would: Copier's yield tag resets there
            return code
        cache = self.environment.bytecode_cache
        if cache is None:
            code = self.compile(source)
        else:  # kept on disk too, for the next render's environment (its extensions load afresh)
            bucket = cache.get_bucket(self.environment, f"<string>{source}", None, source)
            if bucket.code is None:
                bucket.code = self.compile(source)
                cache.set_bucket(bucket)
            code = bucket.code
        self.kept[source] = code
        return code


class CompiledTemplatesCache(Extension):
    """Sets Copier's environment to keep compiled templates (see the module's docstring)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        # Without a private folder (Jinja refuses one others can write), compile every time, as before.
        with contextlib.suppress(RuntimeError):
            environment.bytecode_cache = TemplateNameCache(environment, _code())
        environment.compile = CompiledStrings(environment)
