"""Pure naming filters and answer validators shared by copier.yml and the model.

Everything here is a plain function of its arguments so it can be unit-tested
without Copier; ``NamingExtension`` only registers the functions as Jinja filters.
"""

from __future__ import annotations

import functools
import hashlib
import keyword
import re
import sys
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
    "pydantic": ("pydantic",),
    "pyjwt": ("jwt",),
    "pytest": ("pytest", "_pytest", "py"),
    "pytest-xdist": ("xdist",),
    "pyyaml": ("yaml",),
    "redis": ("redis",),
    "requests": ("requests",),
    "ruff": ("ruff",),
    "uv": ("uv",),  # `make install` runs uv sync
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
# Without botocore only the form of a commercial region code can be checked.
_REGION_CODE = re.compile(r"^(?!cn-)[a-z]{2}-[a-z]+-[0-9]{1,2}$")


@functools.lru_cache(maxsize=1)
def aws_regions() -> tuple[str, ...]:
    """The regions botocore knows to offer every REGION_SERVICES, or ``()`` without botocore."""
    try:
        import botocore.session
    except ImportError:
        return ()
    session = botocore.session.get_session()
    regions = set.intersection(*(set(session.get_available_regions(s)) for s in REGION_SERVICES))
    return tuple(sorted(regions))


def _botocore_version() -> str:
    try:
        import botocore
    except ImportError:
        return ""
    return botocore.__version__


# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

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
    if slug[0].isdigit():
        return f"The project slug '{slug}' starts with a digit: start it with a letter (a-z), e.g. 'service-{slug}'."
    if slug != slug.lower():
        return f"The project slug '{slug}' has capital letters: use lower case, e.g. '{kebab(slug)}'."
    if " " in slug:
        return f"The project slug '{slug}' has spaces: join words with '-', e.g. '{kebab(slug)}'."
    if len(slug) < SLUG_MIN:
        return f"The project slug '{slug}' is too short: use {SLUG_MIN} to {SLUG_MAX} characters, e.g. '{slug}-service'."
    if len(slug) > SLUG_MAX:
        return (
            f"The project slug is {len(slug)} characters long: use at most {SLUG_MAX}, "
            f"because it prefixes every AWS resource name, e.g. '{default_slug(slug)}'."
        )
    if not _SLUG.match(slug):
        return (
            f"The project slug '{slug}' has punctuation: use lower-case letters and digits, "
            "with single '-' between words, e.g. 'order-service'."
        )
    if keyword.iskeyword(snake(slug)) or keyword.issoftkeyword(snake(slug)):
        return f"The project slug '{slug}' is a Python keyword: pick another name, e.g. '{slug}-service'."
    if snake(slug) in sys.stdlib_module_names:
        return f"The project slug '{slug}' is a Python standard library module: pick another, e.g. '{slug}-service'."
    if _distribution(slug) in DEPENDENCY_NAMES:
        return (
            f"The project slug '{slug}' is the name of a package the rendered project depends on, so the "
            f"project could not install itself beside it: pick another, e.g. '{slug}-service'."
        )
    if snake(slug) in THIRD_PARTY_IMPORTS | TEST_PACKAGES | RESERVED_NAMES:
        return (
            f"The project slug '{slug}' would make a Python package '{snake(slug)}' that shadows "
            f"{_shadowed(snake(slug))}: pick another, e.g. '{slug}-service'."
        )
    return ""


def _distribution(name: str) -> str:
    """A package name as pip, uv and npm compare them (PEP 503: lower case, runs of -_. as -)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _shadowed(module: str) -> str:
    """What a package named ``module`` would hide, for messages."""
    if module in THIRD_PARTY_IMPORTS:
        return f"the library the project imports as '{module}'"
    if module == "test":
        return "Python's own regression-test package 'test'"
    if module in TEST_PACKAGES:
        return f"the project's own '{module}'"
    return f"the template's own folder or package '{module}'"


def _name_error(kind: str, name: object, example: str) -> str:
    if name is not None and not isinstance(name, str):
        return (
            f"The {kind} name {name!r} is not text: write each {kind} as a lower-case word, e.g. [{example}]."
        )
    if not name:
        return f"A {kind} name is empty: use lower-case words, e.g. [{example}]."
    if not _NAME.match(name):
        return (
            f"The {kind} name '{name}' is not valid: use lower-case letters, digits and single "
            f"'_' between words, starting with a letter, e.g. '{snake(name) or example}'."
        )
    if len(name) > NAME_MAX:
        return f"The {kind} name '{name}' is longer than {NAME_MAX} characters: shorten it, e.g. '{name[:NAME_MAX].rstrip('_')}'."
    if name in RESERVED_NAMES:
        return (
            f"The {kind} name '{name}' collides with a folder or package the template owns "
            f"({', '.join(sorted(RESERVED_NAMES))}): pick another name, e.g. '{_another(kind, name)}'."
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return (
            f"The {kind} name '{name}' is a Python keyword: pick another name, e.g. '{_another(kind, name)}'."
        )
    return ""


def _another(kind: str, name: str) -> str:
    """A valid name near ``name`` for a message's example (stage names take no '_')."""
    return f"{name}_records" if kind == "domain" else f"{name}2"


def _shorter(slug: str, stage: str, limit: int) -> str:
    """An example of a stage name that fits ``limit`` with ``slug``, or of a shorter slug."""
    room = limit - len(slug) - 1
    if room >= 2:
        return f"the stage '{stage[:room]}'"
    return f"the slug '{slug[: limit - len(stage) - 1].rstrip('-') or slug[:3]}'"


def _list_error(kind: str, values: object, example: str) -> tuple[str, list[str]]:
    if not isinstance(values, list):
        return f"The {kind}s must be a YAML list, e.g. [{example}], got {values!r}.", []
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
            f"The {kind} '{duplicates[0]}' is listed twice: each {kind} must be unique, e.g. [{unique}].",
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
        return (
            f"Removing the domain '{removed[0]}' is not supported: an update would leave its code, tests and "
            f"table behind. Keep '{removed[0]}' in the list; to retire it, delete its folders and routes by hand "
            "and then edit 'domains' in .copier-answers.yml."
        )
    for name in values:
        if name in SHARED_RESOURCE_NAMES:
            return (
                f"The domain name '{name}' is taken by a resource the domains share "
                f"(<slug>-<stage>-{name}): pick another name, e.g. '{name}_records'."
            )
        if name in sys.stdlib_module_names or name in THIRD_PARTY_IMPORTS | TEST_PACKAGES:
            return (
                f"The domain name '{name}' would shadow the Python module '{name}': "
                f"pick another name, e.g. '{name}_domain'."
            )
        if isinstance(slug, str) and slug and _distribution(f"{slug}-{name}") in DEPENDENCY_NAMES:
            return (
                f"The domain name '{name}' makes the package '{kebab(slug)}-{kebab(name)}', which is the "
                f"name of a package the project depends on: pick another name, e.g. '{name}_domain'."
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
        return "The stage name 'local' is reserved for `make dev` on your machine: pick another name, e.g. 'dev'."
    error, values = _list_error("stage", stages, "dev, staging, prod")
    if error:
        return error
    for name in values:
        if "_" in name:
            return (
                f"The stage name '{name}' has '_': AWS stack names allow only letters, digits and '-': "
                f"e.g. '{name.replace('_', '')}'."
            )
        prefix = f"{slug}-{name}"
        if slug and len(prefix) > PREFIX_MAX:
            return (
                f"'{prefix}' is {len(prefix)} characters; it prefixes every Lambda function name, which AWS "
                f"limits to 64, so it may be at most {PREFIX_MAX}: shorten the stage name or the project slug, "
                f"e.g. {_shorter(slug, name, PREFIX_MAX)}."
            )
        if slug and "s3" in (services or ()) and len(prefix) > BUCKET_PREFIX_MAX:
            return (
                f"'{prefix}' is {len(prefix)} characters; with s3 it starts every bucket name, which AWS "
                f"limits to 63 with the account id at its end, so it may be at most {BUCKET_PREFIX_MAX}: "
                f"shorten the stage name or the project slug, e.g. {_shorter(slug, name, BUCKET_PREFIX_MAX)}."
            )
        if slug and "redis" in (services or ()) and len(prefix) > CACHE_PREFIX_MAX:
            return (
                f"'{prefix}' is {len(prefix)} characters; with redis it starts the cache's name, which "
                f"ElastiCache limits to 40, so it may be at most {CACHE_PREFIX_MAX}: shorten the stage "
                f"name or the project slug, e.g. {_shorter(slug, name, CACHE_PREFIX_MAX)}."
            )
    return ""


# Backing services a project can select, and what each needs beside it.
SERVICES = ("dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis")
SERVICE_NEEDS = {
    "sqs": ("dynamodb", "queue consumers record processed messages in a DynamoDB idempotency table")
}


def services_error(services: object) -> str:
    """Why the selection of backing services is unusable, or ``""``."""
    if not isinstance(services, list):
        return f"The services must be a YAML list, e.g. [dynamodb, sqs], got {services!r}."
    chosen = list(services)
    unknown = [s for s in chosen if s not in SERVICES]
    if unknown:
        return (
            f"Unknown service(s) {', '.join(map(str, unknown))}: choose from {', '.join(SERVICES)}, "
            "e.g. [dynamodb, sqs]."
        )
    if "dynamodb" not in chosen:
        return "Select dynamodb: every domain keeps its records in its own DynamoDB table, e.g. [dynamodb]."
    for service in chosen:
        need, why = SERVICE_NEEDS.get(service, ("", ""))
        if need and need not in chosen:
            return f"'{service}' needs '{need}': {why}. Select both, e.g. [{need}, {service}]."
    return ""


def region_error(region: object) -> str:
    """Why ``region`` is not a region to deploy to, or ``""`` (see REGION_SERVICES)."""
    if not isinstance(region, str) or not region:
        return f"The region {region!r} is not a region code: use one, e.g. 'eu-west-1'."
    known = aws_regions()
    if region in known or (not known and _REGION_CODE.match(region)):
        return ""
    source = f"botocore {_botocore_version()}'s" if known else "the AWS region code pattern (no botocore)"
    return (
        f"'{region}' is not an AWS region with Lambda, HTTP APIs, DynamoDB and Scheduler in {source} "
        "data: use a region code, e.g. 'eu-west-1' (see README.md, aws_region)."
    )


def email_error(email: object) -> str:
    if isinstance(email, str) and _EMAIL.match(email):
        return ""
    return f"'{email}' is not an email address: use the form name@example.com."


def retention_error(retention: object, stages: object) -> str:
    """Why the per-stage log retention mapping is unusable, or ``""``."""
    if not isinstance(retention, dict):
        return f"Log retention must be a mapping of stage to days, e.g. {{dev: 7, prod: 365}}, got {retention!r}."
    stages = list(stages) if isinstance(stages, list) else []
    missing = [s for s in stages if s not in retention]
    if missing:
        return f"Log retention has no value for stage '{missing[0]}': add it, e.g. '{missing[0]}: 30'."
    extra = [s for s in retention if s not in stages]
    if extra:
        return (
            f"Log retention names {extra[0]!r}, which is not one of the stages {stages}: remove it, "
            f"e.g. {default_retention(stages)}."
        )
    for stage, days in retention.items():
        if type(days) is not int or days not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
            return (
                f"Log retention {days!r} for stage '{stage}' is not a CloudWatch value: use one of {allowed}, "
                f"e.g. '{stage}: 30'."
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
        return (
            f"{stage!r} is not one of the stages {stages}: name the stage that is production, "
            f"e.g. '{default_production_stage(stages)}'."
        )
    if stage != stages[-1]:
        reordered = ", ".join([s for s in stages if s != stage] + [stage])
        return (
            f"'{stage}' is production but is not the last stage: stages are in promotion order and "
            f"production comes last: reorder, e.g. stages=[{reordered}]."
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
