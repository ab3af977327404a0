"""The errors a user can act on: each message names the file, key or value at fault.

``UserError`` is what the workflow's harness prints as one line (no traceback);
``InputError`` a file or value a user gave; ``ConfigError`` a configuration value the
schema cannot catch.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure whose message says what to change (a file, key or value, a setting): a
    job prints it as one line, its traceback only in the job's log."""


class InputError(UserError, ValueError):
    """Bad input from the user: the message names the file, key or value."""


class ConfigError(UserError, ValueError):
    """A configuration value the schema cannot catch; the message names the key."""
