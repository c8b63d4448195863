"""Free text (project name, description, author) is safe everywhere it lands.

Hostile text is rendered with every IaC tool: every TOML, YAML, JSON, Markdown and Terraform file
must parse, every Python file compile, the Makefile load, and the text must come out as typed
where it lands. Text no format can carry is refused with a message, and nothing is written.
Jinja in an answer stays literal at `copier copy` and at `copier update --defaults`, which
reuses the recorded answers.
"""

from __future__ import annotations

import ast
import html
import json
import os
import re
import subprocess
import tomllib
from collections import Counter
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update
from markdown_it import MarkdownIt

import formats
import project_checks as checks
from matrix import HOSTILE_TEXT, matrix
from template_clone import clone_working_tree, commit_all, git

IAC_TOOLS = ("sam", "cdk", "terraform", "serverless")
FREE_TEXT = ("project_name", "description", "author_name", "author_email")
TEXT_SETS = [
    *HOSTILE_TEXT,
    {  # YAML keywords and document markers as whole answers (the slug too), and indicators at the start
        "project_name": "yes",
        "project_slug": "yes",
        "description": "~",
        "author_name": "---",
        "author_email": "a.b-c_d@sub.example.org",
    },
    {
        "project_name": "* Alias & anchor !tag %TAG @at `tick",
        "description": '"Quoted" at both ends, {{ unclosed and a trailing backslash \\',
        "author_name": "| > ? : , [a] {b} 'single",
        "author_email": "team@example.com",
    },
    {  # the longest answers, in 4-byte characters: the stack Descriptions must still fit
        "project_name": "🚀" * formats.MAX_LENGTH["project_name"][0],
        "description": "🚀" * formats.MAX_LENGTH["description"][0],
        "author_name": "Zoë Ñandú 👨\u200d👩\u200d👧",
        "author_email": "team@example.com",
    },
]
STACK_DESCRIPTION_MAX_BYTES = 1024


class _TaggedLoader(yaml.SafeLoader):
    """YAML with CloudFormation short forms (!Ref, !Sub, ...): a tagged node is read as its data."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_TaggedLoader.add_multi_constructor("!", _untagged)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """This template as it is checked out (uncommitted edits included), as a git repository."""
    return clone_working_tree(tmp_path_factory.mktemp("free-text") / "template")


def _copy(template: Path, destination: Path, answers: dict, quiet: bool = True) -> Path:
    run_copy(
        str(template), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=quiet
    )
    return destination


def _markdown_blocks(markdown: str) -> tuple[str, str, str]:
    """The text of a README's heading, first paragraph and second paragraph, as a reader sees them."""
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    heading = re.search(r"<h1>(.*?)</h1>", rendered, re.S)[1]
    paragraphs = re.findall(r"<p>(.*?)</p>", rendered, re.S)

    def text(fragment: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()

    return text(heading), text(paragraphs[0]), text(paragraphs[1])


def parse_every_file(project: Path) -> Counter:
    """Parse or compile every file of a format free text can land in; count them by format."""
    counts: Counter = Counter()
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            list(yaml.load_all(text, Loader=_TaggedLoader))
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".py":
            pass  # compiled below, by the project's own Python
        elif path.suffix == ".md":
            MarkdownIt("commonmark").parse(text)
        elif path.suffix == ".tf":
            pass  # terraform fmt below reads them all
        elif path.name != "Makefile" and path.suffix != ".mk":
            continue
        counts[path.suffix or path.name] += 1
    python = checks.find_python((project / ".python-version").read_text().strip())
    compile_all = "import sys\nfor f in sys.argv[1:]: compile(open(f, encoding='utf-8').read(), f, 'exec')"
    checks.run([python, "-c", compile_all, *map(str, project.rglob("*.py"))], project)
    if counts[".tf"]:  # syntax (and canonical layout) of every .tf file, offline
        checks.run([checks.tool("terraform"), "fmt", "-check", "-recursive", "-no-color"], project / "infra")
    checks.run([checks.tool("make"), "-n", "help"], project)  # the Makefile and infra/tasks.mk load
    return counts


def assert_text_lands_intact(project: Path, answers: dict) -> None:
    name, description = answers["project_name"], answers["description"]
    author, email = answers["author_name"], answers["author_email"]
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {k: recorded[k] for k in FREE_TEXT} == {k: answers[k] for k in FREE_TEXT}

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == description
    assert pyproject["authors"] == [{"name": author, "email": email}]
    for member in project.glob(
        "*/**/pyproject.toml"
    ):  # workspace packages: "The Orders domain of <name>", ...
        assert name in tomllib.loads(member.read_text())["project"]["description"], member

    openapi = yaml.safe_load((project / "contracts" / "openapi.yaml").read_text())
    assert (openapi["info"]["title"], openapi["info"]["description"]) == (name, description)

    heading, summary, owner = _markdown_blocks((project / "README.md").read_text())
    assert (heading, summary) == (name.strip(), description.strip())
    shown = email if formats.md_email(email).startswith("<") else f"<{email}>"  # a link shows the address
    assert owner.startswith(f"Owned by {author.strip()} {shown}. Runs on AWS Lambda")

    assert (project / "Makefile").read_text().startswith(f"# {formats.comment(name)}: the one entry point")
    for init in project.glob("src/*/__init__.py"):  # single layout: the package docstring
        docstring = ast.get_docstring(ast.parse(init.read_text()), clean=False)
        assert docstring == formats.comment(f"{name}: {description}")

    iac = recorded["iac"]
    if iac == "sam":
        sam = checks.load_cfn(project / "infra" / "template.yaml")
        stack_description = sam["Description"]
        assert stack_description == f"{name}: {description}"
        assert (
            sam["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
            == recorded["project_slug"]
        )
        assert len(stack_description.encode()) <= STACK_DESCRIPTION_MAX_BYTES
    if iac == "serverless":  # ${...} is escaped for the framework; test_formats proves it reads it back
        service = yaml.safe_load((project / "infra" / "serverless.yml").read_text())
        assert service["service"] == recorded["project_slug"]
        stack_description = service["resources"]["Description"]
        assert stack_description.startswith(f"{formats.sls_text(name)} (${{sls:stage}}), packaged")
        assert len(stack_description.encode()) <= STACK_DESCRIPTION_MAX_BYTES
    if iac == "terraform":
        assert f"# {formats.comment(name)}: one root module" in (project / "infra" / "main.tf").read_text()


@pytest.mark.parametrize("iac", IAC_TOOLS)
def test_hostile_text_renders_parseable_files_with_every_tool(template, tmp_path, iac):
    totals: Counter = Counter()
    for i, text in enumerate(TEXT_SETS):
        layout = ("workspace", "single")[(i + IAC_TOOLS.index(iac)) % 2]
        answers = {"project_slug": "hostile-text", **text, "iac": iac, "layout": layout}
        project = _copy(template, tmp_path / f"set-{i}", answers)
        totals += parse_every_file(project)
        assert_text_lands_intact(project, answers)
    assert totals[".toml"] and totals[".yaml"] + totals[".yml"] and totals[".py"] and totals[".md"]
    assert totals[".tf"] if iac == "terraform" else not totals[".tf"]


def test_serverless_reads_the_stack_description_as_typed(template, tmp_path):
    """`serverless print` resolves every variable: ${...} in the name must stay text."""
    import serverless_checks

    answers = {**HOSTILE_TEXT[0], "project_slug": "hostile-text", "iac": "serverless", "stages": ["dev"]}
    assert "${" in answers["project_name"]
    project = _copy(template, tmp_path / "service", answers)
    command = [checks.tool("node"), str(serverless_checks.SERVERLESS), "print", "--stage", "dev"]
    printed = subprocess.run(
        [*command, "--path", "resources.Description", "--format", "json"],
        cwd=project / "infra",
        env={**os.environ, **serverless_checks.OFFLINE},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == (
        f"{answers['project_name']} (dev), packaged by the Serverless Framework from infra/serverless.yml"
    )


REFUSED = [
    ("project_name", "Order\nService", "The project name has a line break: write it on one line."),
    ("description", "Line one.\r\nLine two.", "The description has a line break: write it on one line."),
    ("author_email", "team@example.com\n", "The author email has a line break: write it on one line."),
    ("project_name", "Order\u2028Service", "The project name has a line break: write it on one line."),
    ("author_name", "Ops\tTeam", "The author name has a tab: use spaces instead."),
    ("description", "Red \x1b[31malert", "The description has the control character U+001B: remove it."),
    ("author_name", "Ops\x00", "The author name has the control character U+0000: remove it."),
    (
        "author_name",
        "Ops\u202eTeam",
        "The author name has the invisible text-direction control U+202E: remove it.",
    ),
    (
        "project_name",
        "N" * 51,
        "The project name has 51 characters: use at most 50 (AWS stack Description).",
    ),
    (
        "description",
        "D" * 201,
        "The description has 201 characters: use at most 200 (AWS stack Description).",
    ),
    (
        "description",
        " ",
        'The description is empty: say what the service does, e.g. "Takes orders."',
    ),
    ("author_name", "", 'The author name is empty: name the owning team or person, e.g. "Platform Team".'),
]


@pytest.mark.parametrize(("question", "text", "message"), REFUSED, ids=lambda v: repr(v)[:24])
def test_text_no_format_can_carry_is_refused(template, tmp_path, question, text, message):
    destination = tmp_path / "service"
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        _copy(template, destination, {"project_slug": "refused-text", question: text})
    assert "Nothing was written" in str(raised.value)
    assert not destination.exists(), "a refused answer must not leave a half-rendered project"


def test_jinja_in_answers_stays_literal_through_copy_and_update(tmp_path, capfd):
    template = clone_working_tree(tmp_path / "template")
    answers = {
        "project_name": "{{ 7*7 }} {% raw %} Shop",
        "description": "{% if true %}yes{% endif %} {{ _copier_conf.dst_path }} {# not a comment #}",
        "author_name": "{{ author_email }}",
        "author_email": "{{7*7}}@example.com",
        "project_slug": "jinja-text",
    }
    project = _copy(template, tmp_path / "service", answers, quiet=False)
    assert f'Your service "{answers["project_name"]}" is ready' in capfd.readouterr().err
    assert (
        tomllib.loads((project / "pyproject.toml").read_text())["project"]["description"]
        == (answers["description"])
    )
    git(project, "init", "-q")
    commit_all(project, "Render from template")
    rendered = _files(project)

    (template / "template" / "NEXT_RELEASE.md").write_text("A file the next release adds.\n")
    commit_all(template, "Next release")
    run_update(str(project), defaults=True, overwrite=True, unsafe=True, vcs_ref="HEAD", quiet=False)

    assert f'"{answers["project_name"]}" is updated' in capfd.readouterr().err
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {k: recorded[k] for k in answers} == answers
    # The recorded answers were reused as they are: the update renders every file the same.
    updated = _files(project)
    assert updated.pop("NEXT_RELEASE.md") == "A file the next release adds.\n", "the update did not run"
    assert updated == rendered


def _files(project: Path) -> dict[str, str]:
    """Every file of a project but its answers file (it records the commit) and .git."""
    return {
        str(p.relative_to(project)): p.read_text(encoding="utf-8")
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(project).parts and p.name != ".copier-answers.yml"
    }


def test_every_iac_tool_renders_hostile_text_in_the_render_matrix():
    """tests/test_render.py runs each row's own install, lint, tests and IaC validation."""
    rows = matrix()
    for iac in IAC_TOOLS:
        assert any(
            row["iac"] == iac and {k: row.get(k) for k in FREE_TEXT} in HOSTILE_TEXT for row in rows
        ), f"no matrix row renders {iac} with hostile free text"
    for text in HOSTILE_TEXT:
        assert all(formats.text_error(text[k], k) == "" for k in FREE_TEXT), text


def test_the_hostile_sets_cover_the_usual_suspects():
    typed = " ".join(text for answers in TEXT_SETS for text in answers.values())
    for suspect in ('"', "'", "\\", ": ", "- ", "# ", "{{", "{%", "${{ github.token }}", "$(whoami)", "`",
                    "%", "&", "*", "|", ">", "!", "@", "é", "🚀", "<script>", "---", "~", "null", "yes", "1.5e3"):  # fmt: skip
        assert suspect in typed, suspect
