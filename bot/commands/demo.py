"""`bookbot demo`: the whole client and professional experience in a terminal, offline (no token, no network)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from bot.cli_errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="talk to the bot in this terminal, offline",
        description=(
            "The real dispatcher, handlers and worker on a SQLite file with the example catalog, Telegram "
            "replaced by a recorder that prints each message with its buttons numbered. Type /help in the demo "
            "for its own commands. Files the bot sends are saved into a folder the demo names."
        ),
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="FILE",
        help="keep the demo's SQLite database in this file (default: a temporary file, removed on exit)",
    )
    parser.add_argument(
        "--files",
        type=Path,
        metavar="DIR",
        help="save the files the bot sends (.ics) here (default: a new folder in the system's temporary folder)",
    )
    parser.add_argument(
        "--now",
        type=_instant,
        metavar="ISO-8601",
        help="start the demo clock here, e.g. 2026-11-23T09:00:00+00:00 (default: the real now)",
    )
    parser.set_defaults(handler=_demo)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 date and time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2026-11-23T09:00:00+00:00")
    return moment


def _folder_must_exist(option: str, path: Path) -> None:
    if not path.parent.is_dir():
        raise UsageError(f"demo {option} {path}: there is no folder {path.parent}")


def _demo(args: argparse.Namespace) -> int:
    if args.db is not None:
        _folder_must_exist("--db", args.db)
        if args.db.is_dir():
            raise UsageError(f"demo --db {args.db}: that is a folder; give a file name in it")
    if args.files is not None:
        _folder_must_exist("--files", args.files)
        if args.files.exists() and not args.files.is_dir():
            raise UsageError(f"demo --files {args.files}: that is a file, not a folder")
    import logging

    # Only problems on stderr: the conversation is the output.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Imported here: aiogram's types take seconds to load, which `bookbot import` and the like need not pay.
    import asyncio

    from bot.demo.runner import run_demo, stdin_reader
    from bot.services.crisis.model import start_model_layer

    # In the background: until it has loaded, the crisis check's phrase data answers alone.
    start_model_layer()

    try:
        asyncio.run(
            run_demo(
                stdin_reader(),
                sys.stdout,
                database=args.db,
                files=args.files,
                now=args.now,
                echo=not sys.stdin.isatty(),
            )
        )
    except KeyboardInterrupt:
        # Ctrl-C at the prompt: end the line it was typed on, leave at once (exit code 130, as a shell does).
        print()
        return 130
    return 0
