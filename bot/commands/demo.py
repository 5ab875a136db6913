"""`bookbot demo`: the whole client and professional experience in a terminal, offline (no token, no network)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="talk to the bot in this terminal, offline")
    parser.add_argument(
        "--db",
        type=Path,
        help="keep the demo's SQLite database in this file (default: a temporary file, removed on exit)",
    )
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        help="start the demo clock here, e.g. 2026-11-23T09:00:00+00:00 (default: the real now)",
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    if args.now is not None and args.now.tzinfo is None:
        print("bookbot: --now needs a UTC offset, e.g. 2026-11-23T09:00:00+00:00", file=sys.stderr)
        return 2
    # Only problems on stderr: the conversation is the output.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Imported here: aiogram's types take seconds to load, which `bookbot import` and the like need not pay.
    from bot.demo.runner import run_demo, stdin_reader

    asyncio.run(run_demo(stdin_reader(), sys.stdout, database=args.db, now=args.now, echo=not sys.stdin.isatty()))
    return 0
