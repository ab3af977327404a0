"""The errors a user can act on: each message names the file, key or value at fault.

``UserError`` is what the workflow's harness prints as one line (no traceback);
``InputError`` a file or value a user gave; ``ConfigError`` a configuration value the
schema cannot catch.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping


class UserError(Exception):
    """A failure whose message says what to change (a file, key or value, a setting): a
    job prints it as one line, its traceback only in the job's log."""


class InputError(UserError, ValueError):
    """Bad input from the user: the message names the file, key or value."""


class ConfigError(UserError, ValueError):
    """A configuration value the schema cannot catch; the message names the key."""


class Once:
    """The one rule for every reader of a user's file: a key (a question id, an image id)
    that two records share stops the reader, naming the file and both records."""

    def __init__(self, source, what: str):
        self.source, self.what, self.first = source, what, {}

    def add(self, key: Hashable, where: str) -> None:
        """Record ``key``, found at ``where`` ("record 3", "file.tsv:12")."""
        if key in self.first:
            raise InputError(
                f"{self.source}: {self.what} {key!r} is given twice: {self.first[key]} and {where}"
            )
        self.first[key] = where


def refuse_repeats(records: Iterable[Mapping], key: str, source) -> None:
    """``Once`` over a list of records, each named by its position."""
    once = Once(source, key)
    for i, record in enumerate(records):
        once.add(record[key], f"record {i}")
