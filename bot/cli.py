"""The operator CLI: `bookbot <command>`. Each command lives in its own module in bot.commands.

Every command module is imported here at startup, so they import only the standard library at the top
and load the heavy things (aiogram, SQLAlchemy, Alembic, pydantic, the services) inside their handler:
`bookbot --help` and the audit commands answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

import bot.commands
from bot.cli_errors import PREFIX, UsageError, report


class BookbotParser(argparse.ArgumentParser):
    """argparse's errors as one line with the one prefix (not usage plus `prog: error:`), exit code 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("bookbot").strip()
        where = f"{command}: " if command else ""
        hint = f"`{self.prog} --help`"
        self.exit(2, f"{PREFIX} {where}{message} (see {hint})\n")


def build_parser() -> argparse.ArgumentParser:
    parser = BookbotParser(prog="bookbot", description="Bookbot: a Telegram booking assistant.")
    parser.add_argument("--version", action=_PrintVersion, help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _command_modules():
        module = importlib.import_module(f"bot.commands.{name}")
        module.register(subparsers)
    return parser


def _command_modules() -> list[str]:
    """The modules of bot/commands, by name (a folder listing: pkgutil costs more to import than this)."""
    names = set()
    for folder in bot.commands.__path__:
        for entry in os.listdir(folder):
            stem, dot, suffix = entry.partition(".")
            if dot and suffix in ("py", "pyc") and stem.isidentifier() and not stem.startswith("_"):
                names.add(stem)
    return sorted(names)


class _PrintVersion(argparse.Action):
    """argparse's "version" action, but the version is looked up only when asked for (importlib.metadata
    takes a noticeable part of `bookbot --help`'s start)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"bookbot {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bookbot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # --help, --version (0) and argument errors (2): argparse has printed what it had to say.
        return exc.code if isinstance(exc.code, int) else 2
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        report(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        explained = _explain(exc)
        if explained is None:
            raise
        report(explained)
        return 2
    return code


def _explain(exc: Exception) -> str | None:
    """One line for the mistakes an operator makes (a bad setting, a refused request), else None."""
    # Imported only now: pydantic and the services are what the fast commands must not load.
    from pydantic import ValidationError

    from bot.services.errors import DomainError
    from bot.settings import describe_settings_error

    if isinstance(exc, ValidationError):
        # Bad configuration: one line naming the variable, not a traceback or pydantic's dump.
        return describe_settings_error(exc)
    if isinstance(exc, DomainError):
        return str(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
