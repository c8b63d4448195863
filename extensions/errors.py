"""Show invalid answers given with --data/--data-file as a message, not a traceback.

Copier re-raises a failed validator as a bare ValueError; in an interactive prompt
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


def install() -> bool:
    """Wrap Question.validate_answer once; True when the wrapper is in place."""
    if Question is None or not hasattr(Question, "validate_answer"):
        return False
    original = Question.validate_answer
    if getattr(original, "_friendly", False):
        return True

    @functools.wraps(original)
    def validate_answer(self, answer):
        try:
            return original(self, answer)
        except InvalidAnswerError:
            raise
        except ValueError as error:
            raise InvalidAnswerError(str(error)) from None

    validate_answer._friendly = True
    Question.validate_answer = validate_answer
    return True


class FriendlyAnswerErrors(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        install()
