"""Carry an answer forward when a release renames its question (a Copier `_migrations` step).

Runs in the project before the update renders (`when: "{{ _stage == 'before' }}"`), with
Copier's own Python, so PyYAML is available. It names no `version`: Copier would run a
versioned migration only between two tagged releases and skip it silently in a clone without
tags, so it runs on every update and does nothing once the old name is gone:

    _migrations:
      - when: "{{ _stage == 'before' }}"
        command:
          - "{{ _copier_python }}"
          - "{{ _copier_conf.src_path }}/migrations/rename_answer.py"
          - "{{ _copier_conf.answers_file }}"
          - old_name
          - new_name

The project's answers file keeps its comments' order; a value already recorded under the
new name wins, so running it twice changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def rename(answers_file: Path, old: str, new: str) -> bool:
    answers = yaml.safe_load(answers_file.read_text()) or {}
    if old not in answers:
        return False
    value = answers.pop(old)
    answers.setdefault(new, value)
    header = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"
    answers_file.write_text(header + yaml.safe_dump(answers, sort_keys=False))
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: rename_answer.py ANSWERS_FILE OLD_NAME NEW_NAME", file=sys.stderr)
        return 2
    path, old, new = Path(argv[0]), argv[1], argv[2]
    if not path.is_file():
        print(f"rename_answer: no answers file at {path}; nothing to migrate", file=sys.stderr)
        return 0
    if rename(path, old, new):
        print(f"rename_answer: '{old}' is now '{new}' in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
