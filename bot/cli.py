"""The operator CLI: `bookbot <command>`. Each command lives in its own module in bot.commands."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from pydantic import ValidationError

import bot.commands
from bot.services.errors import DomainError
from bot.settings import describe_settings_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookbot", description="Bookbot: a Telegram booking assistant.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(bot.commands.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"bot.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ValidationError as exc:
        # Bad configuration: one line naming the variable, not a traceback or pydantic's dump.
        print(f"bookbot: {describe_settings_error(exc)}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"bookbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
