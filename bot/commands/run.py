"""`bookbot run`: long polling with BOT_TOKEN, the worker ticking in the same process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run the bot (long polling; needs BOT_TOKEN)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        print("bookbot: BOT_TOKEN is not set: get a token from @BotFather and export BOT_TOKEN=...", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Imported here: aiogram's types take seconds to load, which `bookbot import` and the like need not pay.
    from bot.serving import serve

    asyncio.run(serve(settings))
    return 0
