"""Each escaping filter of extensions/formats.py: its format reads back exactly the text it was given."""

from __future__ import annotations

import ast
import html
import json
import re
import subprocess
import tomllib

import pytest
import yaml
from markdown_it import MarkdownIt

import formats
import project_checks as checks
from matrix import HOSTILE_TEXT

TEXTS = sorted({text for answers in HOSTILE_TEXT for text in answers.values()}) + [
    'Order "Best" Service',
    "O'Brien's \\ back\\slash\\",
    "key: value",
    "- leading dash",
    "# not a comment",
    "{{ 7*7 }}",
    "{% raw %}",
    "${{ github.token }}",
    "$(whoami) `id`",
    "100% & more * | > ! @",
    "Café déjà vu 🚀 👨\u200d👩\u200d👧",
    "yes",
    "No",
    "null",
    "~",
    "1.5e3",
    "0o17",
    "2024-01-01",
    "---",
    "<script>alert(1)</script>",
    '"""',
    '"',
    'ends with "quote"',
    "\\",
    "a\\${env:HOME}b ${self:x} \\\\${opt:stage}",
    "1. Intro",
    "*emph* _u_ snake_case",
    "[link](http://x) ![img](y)",
    "&copy; &amp;",
    "C# is #1 #",
    "| a | b |",
    "~~strike~~ $x$",
    "=== setext",
    "> quote",
    "+ plus",
    "&anchor *alias !tag %TAG @at `tick ,comma [a] {b} ?q :c",
]
# What no one-line answer may hold (validators refuse them), yet the filters must still carry.
UNPRINTABLE = [
    "a\nb",
    "a\r\nb",
    "tab\there",
    "nul\x00",
    "esc\x1b[31m",
    "del\x7f",
    "nel\x85",
    "ls\u2028ps\u2029",
]


@pytest.mark.parametrize("text", TEXTS + UNPRINTABLE)
def test_toml_str_reads_back_as_the_text(text):
    assert tomllib.loads(f"x = {formats.toml_str(text)}") == {"x": text}


@pytest.mark.parametrize("text", TEXTS + UNPRINTABLE)
def test_yaml_str_reads_back_as_the_text_as_value_and_list_item(text):
    scalar = formats.yaml_str(text)
    assert yaml.safe_load(f"key: {scalar}") == {"key": text}
    assert yaml.safe_load(f"- {scalar}\n- end") == [text, "end"]
    assert yaml.safe_load(f"outer:\n  key: {scalar}  # comment") == {"outer": {"key": text}}


def test_yaml_str_quotes_only_what_needs_it():
    assert formats.yaml_str("Order Service") == "Order Service"
    assert formats.yaml_str("A serverless service on AWS built with 12-factor practices.") == (
        "A serverless service on AWS built with 12-factor practices."
    )
    for text in ("yes", "Off", "NULL", "1.5e3", "---", "key: value", "a #b", "~", " padded", ""):
        assert formats.yaml_str(text).startswith('"'), text
    # Emoji stay one character: Jinja's tojson writes surrogate pairs, which PyYAML splits.
    assert formats.yaml_str("Go 🚀: now") == '"Go 🚀: now"'


@pytest.mark.parametrize("text", TEXTS + UNPRINTABLE)
def test_py_doc_is_a_docstring_of_the_text(text):
    source = f'"""{formats.py_doc(text)}"""\n'
    assert ast.literal_eval(source) == formats.comment(text)
    compile(source, "<docstring>", "exec")


def test_py_doc_docstrings_are_already_formatted(tmp_path):
    module = tmp_path / "docstrings.py"
    module.write_text(
        "".join(f'def f{i}():\n    """{formats.py_doc(t)}"""\n\n\n' for i, t in enumerate(TEXTS))
    )
    module.write_text(module.read_text().rstrip() + "\n")
    ruff = checks.tool("ruff")
    checks.run([ruff, "format", "--isolated", "--check", "--diff", str(module)], tmp_path)
    # The rendered projects' rules (their pyproject.toml); the formatter owns line length.
    rules = ["--select", "E,F,W,I,B,UP,SIM,C4,RUF100", "--ignore", "E501"]
    checks.run([ruff, "check", "--isolated", *rules, str(module)], tmp_path)
    assert formats.py_doc('Order "Best" Service') == 'Order "Best" Service'


def _markdown_text(markdown: str) -> str:
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


@pytest.mark.parametrize("text", TEXTS + UNPRINTABLE)
def test_md_text_renders_as_the_text_in_a_heading_and_a_paragraph(text):
    escaped = formats.md_text(text)
    assert _markdown_text(escaped) == formats.comment(text)
    assert _markdown_text(f"# {escaped}") == formats.comment(text)
    assert _markdown_text(f"Owned by {escaped}.") == f"Owned by {formats.comment(text)}."


def test_md_text_leaves_plain_words_alone():
    assert formats.md_text("Order Service for snake_case and 12-factor apps.") == (
        "Order Service for snake_case and 12-factor apps."
    )


@pytest.mark.parametrize(
    ("email", "markdown"),
    [
        ("team@example.com", "<team@example.com>"),
        ("o'brien+ops@example.com", "<o'brien+ops@example.com>"),
        ('"quoted"@example.com', '\\<"quoted"@example.com\\>'),
        ("{{7*7}}&ops@example.com", "<{{7*7}}&ops@example.com>"),
    ],
)
def test_md_email_links_what_commonmark_can_link_and_escapes_the_rest(email, markdown):
    assert formats.md_email(email) == markdown
    rendered = MarkdownIt("commonmark").render(markdown)
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip() in (email, f"<{email}>")
    assert ("mailto:" in rendered) is markdown.startswith("<")


@pytest.mark.parametrize("text", TEXTS + UNPRINTABLE)
def test_comment_is_one_line_that_yaml_ignores(text):
    line = formats.comment(text)
    assert len(line.splitlines()) <= 1
    assert yaml.safe_load(f"key: 1  # {line}\n# {line}\nother: 2") == {"key": 1, "other": 2}


def test_sls_text_is_read_by_the_serverless_framework_as_the_text():
    """serverless.yml strings go through the framework's variable parser: none may become a variable."""
    parse = checks.ROOT / "node_modules" / "serverless" / "lib" / "configuration" / "variables" / "parse.js"
    if not parse.exists():
        raise checks.CheckFailed("serverless is not installed: run `npm ci` in the template repository.")
    # Apply each escape the parser reports; any real variable (it has sources) is a failure.
    script = f"""
        const parse = require({json.dumps(str(parse))});
        const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(JSON.stringify(texts.map((text) => {{
          let out = text;
          for (const v of [...(parse(text) || [])].reverse()) {{
            if (v.sources) return {{ variable: text.slice(v.start, v.end) }};
            out = out.slice(0, v.start ?? 0) + v.value + out.slice(v.end ?? text.length);
          }}
          return out;
        }})));
    """
    texts = [*TEXTS, "${sls:stage}", "\\${sls:stage}", "\\\\\\${opt:stage}"]
    result = subprocess.run(
        [checks.tool("node"), "-e", script],
        input=json.dumps([formats.sls_text(t) for t in texts]),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == texts


@pytest.mark.parametrize("text", TEXTS)
def test_hostile_but_printable_text_is_accepted(text):
    assert formats.text_error(text, "author_name") == ""


@pytest.mark.parametrize(
    ("question", "text", "message"),
    [
        ("project_name", "   ", 'The project name is empty: give the service a name, e.g. "Order Service".'),
        ("description", "", 'The description is empty: say what the service does, e.g. "Takes orders."'),
        ("description", None, 'The description is empty: say what the service does, e.g. "Takes orders."'),
        ("author_name", "Ops\nTeam", "The author name has a line break: write it on one line."),
        ("description", "one\r\ntwo", "The description has a line break: write it on one line."),
        ("description", "one\u2028two", "The description has a line break: write it on one line."),
        ("project_name", "Order\tService", "The project name has a tab: use spaces instead."),
        ("author_name", "\x1b[31mred", "The author name has the control character U+001B: remove it."),
        (
            "author_email",
            "team\x00@example.com",
            "The author email has the control character U+0000: remove it.",
        ),
        (
            "description",
            "bad \udcff byte",
            "The description has bytes that are not valid UTF-8: type it again.",
        ),
        (
            "project_name",
            "admin\u202etxt.exe",
            "The project name has the invisible text-direction control U+202E: remove it.",
        ),
        (
            "project_name",
            "x" * 51,
            "The project name has 51 characters: use at most 50 (AWS stack Description).",
        ),
        (
            "description",
            "x" * 201,
            "The description has 201 characters: use at most 200 (AWS stack Description).",
        ),
        (
            "author_email",
            "a" * 243 + "@example.com",
            "The author email has 255 characters: use at most 254 (longest email address).",
        ),
    ],
)
def test_text_error_refuses_what_no_format_can_carry(question, text, message):
    assert formats.text_error(text, question) == message


def test_the_longest_answers_fit_a_stack_description():
    name = "🚀" * formats.MAX_LENGTH["project_name"][0]
    description = "🚀" * formats.MAX_LENGTH["description"][0]
    assert formats.text_error(name, "project_name") == formats.text_error(description, "description") == ""
    assert len(f"{name}: {description}".encode()) <= 1024
