"""Errors and warnings that zoo raises on purpose.

Every error a user can cause with bad input is a `ZooError` (a `ValueError`), and
its message names the problem and, where there is one, the fix. The command
line prints these as one line instead of a traceback.
"""


class ZooError(ValueError):
    """Bad input, a missing or corrupt file, or a setting that cannot work."""


class ZooWarning(UserWarning):
    """Something runs, but not the way a careful user would want (e.g. an
    as-written listing that sees the future)."""
