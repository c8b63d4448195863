"""Free text in every file format: one escaping filter per format, and the validator of free text.

The project name, description and author are free text, and each lands in several formats. The
templates never paste free text raw: each place passes it through the filter of its format, a plain
function returning what that format reads back as the given text. ``text_error`` refuses what no
format can carry (line breaks, control characters) and text longer than the AWS field it lands in.
``FormatFilters`` only registers the functions as Jinja filters.
"""

from __future__ import annotations

import re
import unicodedata

from jinja2.ext import Extension

# The CloudFormation stack Description (at most 1024 bytes) is "<project name>: <description>";
# even at 4 bytes a character (emoji), 50 + 2 + 200 characters fit.
STACK_DESCRIPTION = "AWS stack Description"
MAX_LENGTH = {
    "project_name": (50, STACK_DESCRIPTION),
    "description": (200, STACK_DESCRIPTION),
    "author_email": (254, "longest email address"),
}
# Each refusal is one line that fits an 80-column prompt (see naming.LINE_WIDTH).
EMPTY_HINT = {
    "project_name": 'give the service a name, e.g. "Order Service".',
    "description": 'say what the service does, e.g. "Takes orders."',
    "author_name": 'name the owning team or person, e.g. "Platform Team".',
    "author_email": "give the team's address, e.g. team@example.com.",
}

LINE_BREAKS = frozenset("\n\r\v\f\x85\u2028\u2029")
# Invisible controls that make text display in another order than it is stored ("Trojan Source").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Words YAML 1.1 reads as booleans or null when unquoted (compared in lower case).
YAML_KEYWORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
# A YAML plain scalar that is a string in every context and every YAML version: starts with a
# letter, ends with no space, and has no indicator (: # , [ ] { } & * ! | > " % @ `).
_YAML_PLAIN = re.compile(r"[^\W\d_](?:[\w .()/'+-]*[\w.()/'+-])?")
# Serverless Framework v3 reads "${" as the start of a variable; "\${" is a literal "${", and
# backslashes before it are halved (parse.js), so n literal backslashes are written 2n + 1.
_SLS_VARIABLE = re.compile(r"(\\*)\$\{")
# The e-mail addresses CommonMark turns into a link when written as <address>.
_MD_AUTOLINK_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
# Markdown punctuation escaped wherever it appears ($: GitHub math, ~: strikethrough, |: tables).
_MD_ALWAYS = frozenset("\\`*[]<>&|~$")
_MD_LINE_START = frozenset("#-+=>")
_MD_ORDERED_LIST = re.compile(r"\d{1,9}[.)](?=\s|$)")


def _is_unprintable(char: str) -> bool:
    """Control characters, line and paragraph separators, BOM and non-characters."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs") or char in "\ufeff\ufffe\uffff"


def _scrub(text: object) -> str:
    """``text`` as a string that UTF-8 can encode: a lone surrogate becomes U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(c) == "Cs" else c for c in str(text))


def _unicode_escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def comment(text: object) -> str:
    """One line of ``text`` for a ``#`` comment (YAML, HCL, Python, Makefile) or a YAML block scalar.

    Line breaks and control characters become spaces; the ends are trimmed, as these formats
    (and formatters such as ruff) ignore or strip them anyway. In a Makefile, keep fixed text
    after it: a backslash at the end of a comment line continues the comment.
    """
    return "".join(" " if _is_unprintable(c) else c for c in _scrub(text)).strip()


def toml_str(text: object) -> str:
    """A TOML basic string, quotes included, that TOML reads as ``text``."""
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    body = "".join(short.get(c) or (_unicode_escape(c) if _is_unprintable(c) else c) for c in _scrub(text))
    return f'"{body}"'


def yaml_str(text: object) -> str:
    """A YAML scalar (a mapping value or list item) that YAML reads as the string ``text``.

    Plain when nothing in it can mean anything else (``title: Order Service``), else
    double-quoted with escapes, never Jinja's ``tojson``: its ``\\uD83D\\uDE80``-style surrogate
    pairs for emoji become two lone surrogates in PyYAML, and ``'`` becomes ``\\u0027``.
    """
    text = _scrub(text)
    if _YAML_PLAIN.fullmatch(text) and text.lower() not in YAML_KEYWORDS:
        return text
    short = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
    body = "".join(short.get(c) or (_unicode_escape(c) if _is_unprintable(c) else c) for c in text)
    return f'"{body}"'


def sls_text(text: object) -> str:
    """``text`` with the Serverless Framework's ``${...}`` variable syntax escaped.

    For a string value of serverless.yml: quote the result with ``yaml_str``.
    """
    return _SLS_VARIABLE.sub(lambda m: "\\" * (2 * len(m.group(1)) + 1) + "${", _scrub(text))


def py_doc(text: object) -> str:
    """The inside of a one-line ``\"\"\"docstring\"\"\"`` that Python reads as ``text`` (trimmed).

    Backslashes are doubled; a quote is escaped only where it could end the docstring (first,
    last, or third in a row), so ``"quoted"`` words read as written.
    """
    text = comment(text)
    out, run = [], 0
    for i, char in enumerate(text):
        if char != '"':
            run = 0
            out.append("\\\\" if char == "\\" else char)
            continue
        run += 1
        if i in (0, len(text) - 1) or run == 3:
            out.append('\\"')
            run = 0
        else:
            out.append(char)
    return "".join(out)


def md_text(text: object) -> str:
    """Inline Markdown (CommonMark and GitHub) that renders as ``text`` (trimmed), not as markup."""
    text = comment(text)
    ordered = _MD_ORDERED_LIST.match(text)  # "1. Intro" would start a numbered list
    list_marker = ordered.end() - 1 if ordered else -1
    out = []
    for i, char in enumerate(text):
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if (
            char in _MD_ALWAYS
            or (i == 0 and char in _MD_LINE_START)
            or i == list_marker
            or (char == "#" and before.isspace())  # a heading's closing sequence
            or (char == "_" and not (before.isalnum() and after.isalnum()))  # snake_case stays
        ):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def md_email(email: object) -> str:
    """``<email>``: a Markdown link when CommonMark can make one, else the same text, escaped."""
    email = comment(email)
    return f"<{email}>" if _MD_AUTOLINK_EMAIL.fullmatch(email) else md_text(f"<{email}>")


def text_error(text: object, question: str) -> str:
    """Why ``text`` cannot be the one-line answer to ``question``, or ``""`` when it can."""
    label = f"The {question.replace('_', ' ')}"
    text = "" if text is None else str(text)
    if not text.strip():
        return f"{label} is empty: {EMPTY_HINT.get(question, 'give a value.')}"
    for char in text:
        if char in LINE_BREAKS:
            return f"{label} has a line break: write it on one line."
        if char == "\t":
            return f"{label} has a tab: use spaces instead."
        if unicodedata.category(char) == "Cs":
            return f"{label} has bytes that are not valid UTF-8: type it again."
        if _is_unprintable(char):
            return f"{label} has the control character U+{ord(char):04X}: remove it."
        if char in BIDI_CONTROLS:
            # Such a control makes text display in another order than it is stored.
            return f"{label} has the invisible text-direction control U+{ord(char):04X}: remove it."
    limit, reason = MAX_LENGTH.get(question, (0, ""))
    if limit and len(text) > limit:
        return f"{label} has {len(text)} characters: use at most {limit} ({reason})."
    return ""


FILTERS = {
    "comment": comment,
    "toml_str": toml_str,
    "yaml_str": yaml_str,
    "sls_text": sls_text,
    "py_doc": py_doc,
    "md_text": md_text,
    "md_email": md_email,
    "text_error": text_error,
}


class FormatFilters(Extension):
    """Registers the filters above in Copier's Jinja environment."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update(FILTERS)
