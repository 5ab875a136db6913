"""`bookbot run`: long polling with BOT_TOKEN, the worker ticking in the same process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import announce_commands, build_app
from bot.services.clock import SystemClock
from bot.settings import Settings
from bot.worker import start_scheduler
from models.migrate import upgrade

log = logging.getLogger("bookbot.run")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run the bot (long polling; needs BOT_TOKEN)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        print("bookbot: BOT_TOKEN is not set: get a token from @BotFather and export BOT_TOKEN=...", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))
    return 0


def make_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else None
    )
    return Bot(settings.bot_token.get_secret_value(), session=session)


async def serve(settings: Settings) -> None:
    await upgrade(settings.database_url)
    app = build_app(settings, clock=SystemClock(), bot=make_bot(settings))
    scheduler = start_scheduler(app)
    try:
        await announce_commands(app)
        # Polling and a webhook exclude each other; a webhook left from elsewhere would stop polling.
        await _optional(app.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
        await app.dispatcher.start_polling(app.bot, handle_signals=True)
    finally:
        scheduler.shutdown(wait=False)
        await app.close()


async def _optional(call: Awaitable[object], what: str) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("%s failed, going on without it: %r", what, exc)
