"""extensions/compiled.py: compiled templates are reused across renders from different folders."""

from __future__ import annotations

import tempfile
from pathlib import Path

import jinja2
import jinja2.ext
import pytest

import compiled
from compiled import PATTERN, CompiledTemplatesCache, TemplateNameCache


@pytest.fixture
def compiles(tmp_path, monkeypatch):
    """How many template files and strings Jinja compiled, with Jinja's cache folder under tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(compiled, "_IN_MEMORY", {})  # nothing from the other tests' renders
    counted = {"files": 0, "strings": 0}
    compile_ = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        counted["files" if name is not None else "strings"] += 1
        return compile_(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return counted


def render(folder, text: str, **settings) -> str:
    """What a Copier-like render of ``text`` from a fresh clone in ``folder`` gives."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md.jinja").write_text(text)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), extensions=[CompiledTemplatesCache], **settings
    )
    return environment.get_template("README.md.jinja").render(name="orders")


def test_a_file_compiled_for_one_clone_is_reused_by_the_next(tmp_path, compiles):
    assert render(tmp_path / "clone-1", "# {{ name }}") == "# orders"
    assert compiles["files"] == 1
    assert render(tmp_path / "clone-2", "# {{ name }}") == "# orders"
    assert compiles["files"] == 1  # loaded, not compiled
    assert len(list(tmp_path.glob(f"_jinja2-cache-*/{PATTERN % '*'}"))) == 1


def test_the_next_render_in_the_process_reads_no_file(tmp_path, compiles, monkeypatch):
    render(tmp_path / "clone-1", "# {{ name }}")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "elsewhere"))  # an empty cache folder
    (tmp_path / "elsewhere").mkdir()
    assert render(tmp_path / "clone-2", "# {{ name }}") == "# orders"
    assert compiles["files"] == 1  # the first render's code, from memory
    assert not list((tmp_path / "elsewhere").glob(f"_jinja2-cache-*/{PATTERN % '*'}"))


def test_an_edited_file_is_compiled_again(tmp_path, compiles):
    render(tmp_path / "clone-1", "# {{ name }}")
    assert render(tmp_path / "clone-2", "## {{ name | upper }}") == "## ORDERS"
    assert compiles["files"] == 2


def test_other_extension_code_keeps_its_own_compiled_files(tmp_path, compiles, monkeypatch):
    render(tmp_path / "clone-1", "# {{ name }}")
    # e.g. a template version whose filters differ: Jinja folds filters of constants when it compiles
    monkeypatch.setattr(TemplateNameCache, "__init__", _other_code(TemplateNameCache.__init__))
    assert render(tmp_path / "clone-2", "# {{ name }}") == "# orders"
    assert compiles["files"] == 2


def _other_code(init):
    def patched(self, environment, code):
        init(self, environment, code)
        self.code = "other extensions"

    return patched


def test_other_environment_settings_keep_their_own_code(tmp_path, compiles):
    render(tmp_path / "clone-1", "[[ name ]] {{ name }}")
    shown = render(
        tmp_path / "clone-2", "[[ name ]] {{ name }}", variable_start_string="[[", variable_end_string="]]"
    )
    assert shown == "orders {{ name }}"
    assert compiles["files"] == 2


class Remembers(jinja2.ext.Extension):
    """Like Copier's yield tag: state set while rendering, cleared by preprocess (when compiling)."""

    def preprocess(self, source, name, filename=None):
        self.environment.loop = None
        return source


def test_a_file_loaded_from_the_cache_still_goes_through_each_extensions_preprocess(tmp_path, compiles):
    def environment(clone: str) -> jinja2.Environment:
        folder = tmp_path / clone
        folder.mkdir()
        (folder / "README.md.jinja").write_text("# {{ name }}")
        loader = jinja2.FileSystemLoader(folder)
        return jinja2.Environment(loader=loader, extensions=[Remembers, CompiledTemplatesCache])

    environment("clone-1").get_template("README.md.jinja")
    second = environment("clone-2")
    second.loop = "domain"  # what a path part's yield tag left behind
    assert second.get_template("README.md.jinja").render(name="orders") == "# orders"
    assert compiles["files"] == 1  # loaded from the cache, and yet:
    assert second.loop is None


def test_a_path_part_is_compiled_once_whatever_environment_renders_it(compiles):
    part = "{% if iac == 'cdk' %}infra{% endif %}"
    for _ in range(3):  # Copier: a new environment per render, the same part once per file under it
        environment = jinja2.Environment(extensions=[CompiledTemplatesCache])
        assert environment.from_string(part).render(iac="cdk") == "infra"
        assert environment.from_string(part).render(iac="sam") == ""
    assert compiles["strings"] == 1
    # The same string under other delimiters is other code: compiled again, not taken from the first.
    other = jinja2.Environment(extensions=[CompiledTemplatesCache], block_start_string="{%%")
    assert other.from_string(part).render(iac="cdk") == part  # plain text there
    assert compiles["strings"] == 2


def test_a_kept_string_still_goes_through_each_extensions_preprocess(compiles):
    environment = jinja2.Environment(extensions=[Remembers, CompiledTemplatesCache])
    environment.from_string("{{ domain }}")
    environment.loop = "domain"  # what the previous part's yield tag left behind
    assert environment.from_string("{{ domain }}").render(domain="orders") == "orders"
    assert compiles["strings"] == 1  # kept, and yet:
    assert environment.loop is None


def test_copier_yield_parts_render_each_file_of_each_domain(tmp_path):
    """A real Copier render with a yield folder and plain parts under it, twice in one process."""
    from copier import run_copy

    template = tmp_path / "template"
    domain = template / "{% yield d from domains %}{{ d }}{% endyield %}"
    (domain / "src").mkdir(parents=True)
    (domain / "src" / "app.py.jinja").write_text("{{ d }}\n")
    (domain / "README.md").write_text("static\n")
    (template / "copier.yml").write_text(
        "domains:\n  type: yaml\n  default: [orders, billing]\n"
        "_jinja_extensions:\n  - copier_template_extensions.TemplateExtensionLoader\n"
        f"  - {Path(compiled.__file__).as_posix()}:CompiledTemplatesCache\n"
    )
    for attempt in ("one", "two"):
        out = tmp_path / attempt
        run_copy(str(template), str(out), defaults=True, unsafe=True, quiet=True)
        found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        assert found == [
            "billing/README.md", "billing/src/app.py",
            "orders/README.md", "orders/src/app.py",
        ]  # fmt: skip
        assert (out / "billing" / "src" / "app.py").read_text() == "billing\n"
