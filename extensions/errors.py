"""Show invalid answers given with --data/--data-file as a message, not a traceback.

Copier re-raises a failed validator (or an answer that is not one of the choices) as a
bare ValueError; in an interactive prompt
it shows the message inline, but with `--data`/`--defaults` the CLI prints a
traceback. This extension re-raises such errors as an exception that is both a
ValueError (what Copier's prompt code expects) and Copier's UserMessageError
(which its CLI prints in red and exits 1 on). Nothing else changes; if a future
Copier moves these names, the wrapper is simply not installed.
"""

from __future__ import annotations

import functools

from jinja2.ext import Extension

try:
    from copier._user_data import Question
    from copier.errors import UserMessageError
except ImportError:  # pragma: no cover - a Copier without these names
    Question = UserMessageError = None


if UserMessageError is not None:

    class InvalidAnswerError(UserMessageError, ValueError):
        """A validator rejected an answer."""

        def __init__(self, message: str):
            super().__init__(f"{message}\nNothing was written. Fix the answer and run Copier again.")


def _friendly(method):
    """``method`` re-raising a ValueError as InvalidAnswerError (once: wrapping is idempotent)."""
    if getattr(method, "_friendly", False):
        return method

    @functools.wraps(method)
    def wrapper(self, answer):
        try:
            return method(self, answer)
        except InvalidAnswerError:
            raise
        except ValueError as error:
            raise InvalidAnswerError(str(error)) from None

    wrapper._friendly = True
    return wrapper


def install() -> bool:
    """Wrap Question's answer parsing (choices) and validation (validators); True when in place."""
    if Question is None or not hasattr(Question, "validate_answer"):
        return False
    for name in ("parse_answer", "validate_answer"):
        if hasattr(Question, name):
            setattr(Question, name, _friendly(getattr(Question, name)))
    return True


class FriendlyAnswerErrors(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        install()
