"""The render matrix: every choice of every question appears, and every pair of choices
of two questions that change what is rendered appears together at least once (pairwise),
without the full product. Questions that only set a value (the log level) need each value
once, not every pairing: they change one string in config files, not the shape of the project."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VALUE_ONLY = ("log_level",)


def choice_questions() -> dict[str, list]:
    """Each question of copier.yml that offers choices (bool counts as two), with its values."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    out = {}
    for name, question in config.items():
        if name.startswith("_") or not isinstance(question, dict):
            continue
        if question.get("type") == "bool":
            out[name] = [True, False]
        elif "choices" in question:
            choices = question["choices"]
            values = list(choices.values()) if isinstance(choices, dict) else list(choices)
            if question.get("multiselect"):
                # Two selections: the default, and every choice at once. Each choice then meets every
                # value of every other question (pairwise) without one row per choice, and both
                # selections are ones the validator accepts (e.g. sqs needs dynamodb).
                default = list(question.get("default") or [])
                out[name] = [default, default + [v for v in values if v not in default]]
            else:
                out[name] = values
    return out


def pairwise(questions: dict[str, list]) -> list[dict]:
    """A small set of combinations that covers every pair of values of every two questions."""
    names = list(questions)
    uncovered = {
        (a, i, b, j)
        for a, b in itertools.combinations(names, 2)
        for i in range(len(questions[a]))
        for j in range(len(questions[b]))
    }
    rows: list[dict[str, int]] = []
    while uncovered:
        best, best_gain = None, -1
        # Greedy: try every full combination and keep the one covering most new pairs.
        for combo in itertools.product(*(range(len(questions[n])) for n in names)):
            row = dict(zip(names, combo, strict=True))
            gain = sum((a, row[a], b, row[b]) in uncovered for a, b in itertools.combinations(names, 2))
            if gain > best_gain:
                best, best_gain = row, gain
        rows.append(best)
        uncovered -= {(a, best[a], b, best[b]) for a, b in itertools.combinations(names, 2)}
    return [{n: questions[n][i] for n, i in row.items()} for row in rows]


# Free text as hostile as a person can type it: quotes, backslashes, YAML, Markdown, Jinja, shell,
# GitHub Actions and Serverless syntax, YAML keywords, numbers, accents and emoji. Each set fits
# the length limits, and its name still gives a valid default slug. Every matrix row carries one
# set, so each IaC tool's rows lint, test and validate with it; tests/test_free_text.py renders
# every set with every tool and parses every file.
HOSTILE_TEXT = [
    {
        "project_name": 'Café "Orders" {{ 7*7 }} ${env:HOME}',
        "description": "- key: value # not a comment; 'single' & \"double\" quotes, C:\\new\\table, 100% * | > ! @",
        "author_name": "- yes",
        "author_email": "o'brien+ops@example.com",
    },
    {
        "project_name": "Ticket Desk: $(whoami) `id` #1",
        "description": (
            "{% raw %}{{ github.token }}{% endraw %} ${{ github.token }} ${self:service} {# no #} "
            "<script>alert(1)</script> [link](http://x) _under_ *star*"
        ),
        "author_name": "null",
        "author_email": "{{7*7}}&ops@example.com",
    },
    {
        "project_name": 'A Very Long "Service" Name For {{ Test }} Limits',
        "description": "null",
        "author_name": "~",
        "author_email": "x%y!{a}|b~c@example.co.uk",
    },
    {
        "project_name": "Zoë's Ñandú 🚀 日本語 Shop",
        "description": "1.5e3",
        "author_name": "yes",
        "author_email": '"quoted"@example.com',
    },
]

# Free-form answers vary across the rows so names, counts, lengths and free text are exercised too.
SHAPES = [
    {"domains": ["orders"], "stages": ["dev", "staging", "prod"], **HOSTILE_TEXT[0]},
    {"domains": ["payments", "customer_accounts", "inventory"], "stages": ["dev", "prod"], **HOSTILE_TEXT[1]},
    {"domains": ["abcdefghijklmnopqrstuvwx", "orders"], "stages": ["prod"], **HOSTILE_TEXT[2]},
    {
        "domains": ["tickets", "users"],
        "stages": ["dev", "qa", "staging", "prod"],
        "aws_region": "eu-central-1",
        **HOSTILE_TEXT[3],
    },
]


def structural_questions() -> dict[str, list]:
    return {k: v for k, v in choice_questions().items() if k not in VALUE_ONLY}


def matrix() -> list[dict]:
    rows = pairwise(structural_questions())
    values = {name: choice_questions()[name] for name in VALUE_ONLY}
    out = [
        {
            **row,
            **{name: options[i % len(options)] for name, options in values.items()},
            **SHAPES[i % len(SHAPES)],
        }
        for i, row in enumerate(rows)
    ]
    # With an authorizer, every other row opens one route, so public and protected routes both render.
    with_cognito = [row for row in out if "cognito" in row.get("services", [])]
    for row in with_cognito[::2]:
        row["public_routes"] = [f"GET /{row['domains'][0].replace('_', '-')}"]
    return out
