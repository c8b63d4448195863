"""Answers of the wrong type or shape are refused with a message, never a traceback.

Copier parses an answer by its question's type before any validator sees it, and its parsing is
lenient or raw: a bool question takes ``maybe`` as true, a multiselect question given ``sqs`` (not
a list) raises a TypeError, broken YAML raises a YAML error, and a failed validator is a bare
ValueError that the CLI prints as a traceback under ``--data``/``--defaults``. This extension wraps
Copier's ``Question`` so that, for this template's questions:

- the answer's type is checked first against the question's type (bool: a YAML boolean; str and
  choices: one scalar; multiselect: a list of choice names; yaml: the same kind, list or mapping,
  as the question's default), and every failure of Copier's own parsing is caught;
- every refusal is one line that names the question, says what is wrong and gives an example,
  raised as an exception that is both a ValueError (what Copier's prompt expects: the question
  is asked again) and Copier's UserMessageError (which its CLI prints in red, exit 1);
- at the prompt, the refusal is shown instead of Copier's bare "Invalid input", without the
  question's name (the question is on screen above it), on one row of at most LINE_WIDTH
  columns: the prompt cuts a longer line at the terminal's edge;
- on `copier update`, an answer recorded in the project that this version refuses is not
  silently replaced by the default (Copier drops it and takes the default): the update stops
  and says so.

``Question`` is one class for every template in the process (``copier update`` renders the old
template version and the new one in one process). So the wrappers are installed once, and each
call is handled by the ``FriendlyAnswerErrors`` extension of the question's own Jinja
environment: a template version without it keeps Copier's behaviour. If a future Copier moves
these names, nothing is installed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml
from jinja2.ext import Extension

try:
    from copier._types import MISSING
    from copier._user_data import Question
    from copier.errors import UserMessageError
except ImportError:  # pragma: no cover - a Copier without these names
    MISSING = Question = UserMessageError = None

# Marks this file's handler; an extension instance is found by this attribute in a question's
# Jinja environment (each template version loads its own copy of this file).
HANDLER_MARK = "friendly_answer_rules"
_WRAPPED = ("parse_answer", "validate_answer", "get_default", "get_questionary_structure")

# The spellings of a boolean YAML 1.1 reads (and the prompt's y/n); compared in lower case.
YAML_TRUE = frozenset({"y", "yes", "true", "on"})
YAML_FALSE = frozenset({"n", "no", "false", "off"})
NOTHING_WRITTEN = "Nothing was written. Fix the answer and run Copier again."
EXAMPLE_WIDTH = 32  # the widest example a refusal quotes from a question's default


def _load_naming():
    # naming.py beside this file, loaded privately (as the model loads it) under a name made of its
    # contents: each template version in the process measures with its own copy, and a clone of the
    # same version (one per render) reuses it.
    path = Path(__file__).resolve().with_name("naming.py")
    unique = f"_copier_template_naming_{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    if unique in sys.modules:
        return sys.modules[unique]
    spec = importlib.util.spec_from_file_location(unique, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:  # never leave a half-run module for the next clone to reuse
        del sys.modules[unique]
        raise
    return module


# Terminal columns, the widest refusal the prompt shows (LINE_WIDTH) and the widest answer it echoes
# (VALUE_WIDTH): naming's, which its own refusals use too.
naming = _load_naming()
LINE_WIDTH, VALUE_WIDTH = naming.LINE_WIDTH, naming.VALUE_WIDTH


def _named(name: str) -> str:
    """What Copier (and this file) puts before a refusal to name its question."""
    return f"Validation error for question '{name}': "


if UserMessageError is not None:

    class InvalidAnswerError(UserMessageError, ValueError):
        """An answer to ``name`` was refused: ``line`` is the one-line refusal the prompt shows, and
        ``str()``, which Copier's CLI prints, names the question and adds what to do next."""

        def __init__(self, name: str, line: str):
            super().__init__(f"{_named(name)}{line}\n{NOTHING_WRITTEN}")
            self.line = line


def _show(value: Any) -> str:
    """An answer as a person wrote it (YAML-like scalars, Python-like containers), escaped and cut
    to VALUE_WIDTH columns: a refusal stays one line that fits the prompt."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return naming.shown(value, VALUE_WIDTH)


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple, set)):
        return "a list"
    return f"a {type(value).__name__}"


def _flow(value: Any) -> str:
    """``value`` as one line of YAML, e.g. ``[dev, prod]`` or ``{dev: 7}``."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return text.strip().removesuffix("...").strip()


class AnswerRules:
    """What a question accepts, what it expects and an example: the parts of every message."""

    def __init__(self, question: Any):
        self.question = question
        self.name = question.var_name
        self.type = question.get_type_name()

    # --- what is expected --------------------------------------------------------------
    def choices(self) -> list[Any]:
        try:
            return [choice.value for choice in self.question._formatted_choices]
        except Exception:  # noqa: BLE001 - a choice list that does not render: no choices to show
            return []

    def default(self) -> Any:
        """The question's default, parsed by its type, or None when it has none or fails to render."""
        default = self.question.default
        if default is MISSING:
            return None
        try:
            rendered = self.question.render_value(default)
            if self.type in ("yaml", "json") and isinstance(rendered, str):
                return yaml.safe_load(rendered)
            return rendered
        except Exception:  # noqa: BLE001 - an example is a courtesy; never fail on it
            return None

    def example(self, short: bool = False) -> str:
        """A right answer; ``short`` gives a list or mapping by its first item, to fit a line."""
        if self.type == "bool":
            return "true"
        choices = self.choices()
        if self.question.multiselect and choices:
            return _flow([str(c) for c in choices[:2]])
        if choices:
            default = self.default()
            return str(default if default in choices else choices[0])
        if self.type in ("yaml", "json"):
            reference = self.reference()
            if reference in (None, ""):
                return "a value"
            if (
                reference
                and isinstance(reference, (list, dict))
                and (short or naming.columns(_flow(reference)) > EXAMPLE_WIDTH)
            ):
                # A long default (many stages) is shown by its first item: still the right shape.
                reference = (
                    reference[:1] if isinstance(reference, list) else dict([next(iter(reference.items()))])
                )
            return _flow(reference)
        # A default too long for the line (the description's) is no example.
        default = self.default()
        shown = repr(str(default)) if default not in (None, "") else ""
        return shown if shown and naming.columns(shown) <= VALUE_WIDTH else "'some text'"

    def expected(self, short: bool = False) -> str:
        """What to answer; ``short`` leaves out the list of choices, which may not fit a line."""
        choices = self.choices()
        if self.type == "bool":
            return "answer true or false (yes/no)"
        if self.question.multiselect:
            return (
                "give a YAML list of its choices"
                if short
                else f"give a YAML list of some of {', '.join(map(str, choices))}"
            )
        if choices:
            return "give one of its choices" if short else f"give one of {', '.join(map(str, choices))}"
        if self.type in ("yaml", "json"):
            return f"give {self.shape()}"
        if self.type in ("int", "float"):
            return f"give a number ({self.type})"
        return "give text"

    def shape(self) -> str:
        default = self.default()
        if isinstance(default, list):
            return "a YAML list"
        if isinstance(default, dict):
            return "a YAML mapping"
        return f"{self.type.upper()}"

    def line(self, problem: str) -> str:
        """The refusal for ``problem`` in its most helpful form that fits LINE_WIDTH columns."""
        short, example, brief = self.expected(short=True), self.example(), self.example(short=True)
        forms = (
            f"{problem}: {self.expected()}, e.g. {example}.",
            f"{problem}: {short}, e.g. {example}.",
            f"{problem}: {short}, e.g. {brief}.",
            f"{problem}: e.g. {example}.",
            f"{problem}: e.g. {brief}.",
        )
        for form in forms:
            if naming.columns(form) <= LINE_WIDTH:
                return form
        # Only a parser's long words get here: cut them, keep the example.
        tail = f": e.g. {brief}."
        return naming.clip(problem, LINE_WIDTH - naming.columns(tail)) + tail

    def refusal(self, problem: str) -> Exception:
        return InvalidAnswerError(self.name, self.line(problem))

    # --- what is refused before Copier parses ---------------------------------------------
    def problem(self, answer: Any) -> str:
        """Why ``answer`` has the wrong type for this question, or ``""``."""
        if self.type == "bool":
            if isinstance(answer, bool):
                return ""
            if isinstance(answer, str) and answer.strip().lower() in YAML_TRUE | YAML_FALSE:
                return ""
            return _not(answer, "a boolean")
        if self.question.multiselect:
            items = answer
            if isinstance(answer, str):
                try:
                    items = yaml.safe_load(answer)
                except yaml.YAMLError as error:
                    return f"the answer is not valid YAML ({_first_line(error)})"
            if not isinstance(items, list):
                return _not(answer if items is not None else None, "a list")
            for item in items:
                if not isinstance(item, str):
                    return f"the item {_show(item)} is {_kind(item)}, not a choice"
            return ""
        if self.type in ("str", "path") or self.choices():
            if answer is None or isinstance(answer, (bool, list, tuple, set, dict)):
                hint = " (quote it)"  # YAML reads an unquoted yes, no, on or off as a boolean
                return _not(answer, "text") + (hint if isinstance(answer, bool) else "")
            return ""
        if self.type in ("int", "float") and (answer is None or isinstance(answer, (bool, list, dict))):
            return _not(answer, "a number")
        if self.type == "yaml" and isinstance(answer, str):
            try:
                yaml.safe_load(answer)
            except yaml.YAMLError as error:
                return f"the answer is not valid YAML ({_first_line(error)})"
        return ""

    def reference(self) -> Any:
        """What a right answer looks like: the placeholder (an example) when set, else the default."""
        placeholder = self.question.placeholder
        if placeholder:
            try:
                return yaml.safe_load(str(self.question.render_value(placeholder)).removeprefix("e.g. "))
            except Exception:  # noqa: BLE001 - a placeholder that is not YAML: use the default
                pass
        return self.default()

    def shape_problem(self, parsed: Any) -> str:
        """For yaml and json questions: why ``parsed`` is not shaped like the reference answer.

        The same kind (list or mapping) as the default, and, when the reference has items, items
        (and keys) of the kind its first item has: a validator then never sees a wrong type.
        """
        if self.type not in ("yaml", "json"):
            return ""
        default, reference = self.default(), self.reference()
        for kind, name in ((list, "a list"), (dict, "a mapping")):
            if isinstance(default, kind) and not isinstance(parsed, kind):
                return _not(parsed, name)
        if isinstance(reference, list) and reference and isinstance(parsed, list):
            for item in parsed:
                if _kind(item) != _kind(reference[0]):
                    return f"the item {_show(item)} is {_kind(item)}, not {_kind(reference[0])}"
        if isinstance(reference, dict) and reference and isinstance(parsed, dict):
            key, value = next(iter(reference.items()))
            for item_key, item_value in parsed.items():
                if _kind(item_key) != _kind(key):
                    return f"the key {_show(item_key)} is {_kind(item_key)}, not {_kind(key)}"
                if _kind(item_value) != _kind(value):
                    return f"the value {_show(item_value)} of {_show(item_key)} is {_kind(item_value)}, not {_kind(value)}"
        return ""

    def parse_error(self, answer: Any, error: Exception) -> str:
        """The problem named by Copier's parsing error ``error``."""
        if isinstance(error, yaml.YAMLError):
            return f"the answer is not valid YAML ({_first_line(error)})"
        if str(error).startswith("Invalid choice"):
            items = answer if isinstance(answer, list) else [answer]
            if isinstance(answer, str) and self.question.multiselect:
                items = yaml.safe_load(answer) or []
            choices = [str(c) for c in self.choices()]
            wrong = [i for i in items if str(i) not in choices] or items
            return f"{_show(wrong[0] if wrong else answer)} is not a choice"
        return f"{_show(answer)} is {_kind(answer)}, which does not fit"


def _not(answer: Any, expected: str) -> str:
    """The problem of ``answer`` that is not ``expected`` (e.g. "a list")."""
    if answer is None or answer == "":
        return "the answer is empty"
    return f"{_show(answer)} is {_kind(answer)}, not {expected}"


def _first_line(error: Exception) -> str:
    """A YAML error in one line: what is wrong and where."""
    problem = getattr(error, "problem", None)
    mark = getattr(error, "problem_mark", None)
    if problem and mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"  # where first: a cut keeps it
    return " ".join(str(error).split())


class FriendlyAnswerErrors(Extension):
    """Handles the wrapped Question methods for the questions of its own template."""

    friendly_answer_rules = True

    def __init__(self, environment):
        super().__init__(environment)
        install()

    @staticmethod
    def parse_answer(question: Any, original: Any, answer: Any) -> Any:
        rules = AnswerRules(question)
        try:
            if problem := rules.problem(answer):
                raise rules.refusal(problem)
            try:
                parsed = original(question, answer)
            except UserMessageError:
                raise
            except (ValueError, TypeError, AttributeError, KeyError, yaml.YAMLError) as error:
                raise rules.refusal(rules.parse_error(answer, error)) from None
            if problem := rules.shape_problem(parsed):
                raise rules.refusal(problem)
        except UserMessageError as error:
            _note_refused_record(question, answer, error)
            raise
        return parsed

    @staticmethod
    def validate_answer(question: Any, original: Any, answer: Any) -> None:
        try:
            try:
                original(question, answer)
            except UserMessageError:
                raise
            except ValueError as error:  # Copier names the question before the validator's message
                name = question.var_name
                raise InvalidAnswerError(name, str(error).removeprefix(_named(name))) from None
        except UserMessageError as error:
            _note_refused_record(question, answer, error)
            raise

    @staticmethod
    def get_default(question: Any, original: Any) -> Any:
        """The default, unless it would silently replace an answer the project recorded.

        On `copier update`, Copier drops a recorded answer that is refused now (by this version's
        checks, or next to other answers given with --data) and takes the default in its place
        without a word: a slug refused since would rename every resource, a retention mapping that
        no longer matches the stages would lose its values.
        """
        default = original(question)
        refused = _refused_records(question).get(question.var_name)
        if refused and question.var_name not in question.answers.init and question.get_when():
            recorded, reason = refused
            raise InvalidAnswerError(
                question.var_name,
                f"the answer recorded in the project, {_show(recorded)}, is no longer accepted: {reason} "
                f"Answer it again with --data {question.var_name}=<new answer>.",
            )
        return default

    @staticmethod
    def get_questionary_structure(question: Any, original: Any) -> dict[str, Any]:
        """Copier's prompt structure, with the refusal's message instead of "Invalid input"."""
        structure = original(question)
        if "validate" in structure:

            def validate(answer: Any) -> str | bool:
                try:
                    question.validate_answer(question.parse_answer(answer))
                except Exception as error:  # noqa: BLE001 - as Copier's own prompt: show, ask again
                    return getattr(error, "line", str(error))
                return True

            structure["validate"] = validate
        return structure


def _refused_records(question: Any) -> dict[str, tuple[Any, str]]:
    """Recorded answers (.copier-answers.yml) this template version refused, by question."""
    return question.answers.__dict__.setdefault("_friendly_refused_records", {})


def _note_refused_record(question: Any, answer: Any, error: Exception) -> None:
    """Remember ``error`` when ``answer`` is the project's recorded answer to ``question``."""
    name, answers = question.var_name, question.answers
    if name in answers.last and name not in answers.init and answers.last[name] == answer:
        line = getattr(error, "line", str(error).partition("\n")[0].removeprefix(_named(name)))
        _refused_records(question)[name] = (answer, line)


def _handler(question: Any) -> Any:
    """The FriendlyAnswerErrors of ``question``'s own template, or None."""
    environment = getattr(question, "jinja_env", None)
    for extension in getattr(environment, "extensions", {}).values():
        if getattr(extension, HANDLER_MARK, False):
            return extension
    return None


def _dispatcher(name: str, original: Any) -> Any:
    @functools.wraps(original)
    def method(self, *args: Any) -> Any:
        handler = _handler(self)
        if handler is None:
            return original(self, *args)
        return getattr(handler, name)(self, original, *args)

    # `_friendly` tells the wrappers of earlier versions of this file that Question is wrapped.
    method._friendly = method._friendly_dispatch = True
    return method


def install() -> bool:
    """Wrap Question's parsing, validation and prompt structure; True when in place."""
    if Question is None or not all(hasattr(Question, name) for name in _WRAPPED):
        return False
    for name in _WRAPPED:
        current = getattr(Question, name)
        if getattr(current, "_friendly_dispatch", False):
            continue
        if getattr(current, "_friendly", False):  # an earlier version's wrapper: wrap what it wrapped
            current = current.__wrapped__
        setattr(Question, name, _dispatcher(name, current))
    return True
