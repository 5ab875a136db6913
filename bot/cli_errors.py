"""How an operator command reports a mistake of theirs: one line `bookbot: ...` on stderr, exit code 2.

Standard library only: every command module imports this at startup (see bot/cli.py).
"""

from __future__ import annotations

import sys

PREFIX = "bookbot:"


class UsageError(Exception):
    """A bad argument, setting or unusable database: one line on stderr and exit code 2."""


def report(problem: str) -> None:
    """Print one line: the prefix and the problem (several lines of a library's message are joined)."""
    line = " ".join(problem.split())
    print(f"{PREFIX} {line}", file=sys.stderr)
