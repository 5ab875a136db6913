"""Long polling with the worker ticking in the same process: what `bookbot run` starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import announce_commands, build_app
from bot.services import zone_search
from bot.services.clock import SystemClock
from bot.settings import Settings
from bot.worker import start_scheduler
from models.migrate import upgrade

log = logging.getLogger("bookbot.run")


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
    # The place index takes seconds to build: not on the first client's time-zone question.
    warming = asyncio.create_task(asyncio.to_thread(zone_search.warm_up))
    try:
        await announce_commands(app)
        # Polling and a webhook exclude each other; a webhook left from elsewhere would stop polling.
        await _optional(app.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
        await app.dispatcher.start_polling(app.bot, handle_signals=True)
    finally:
        warming.cancel()
        scheduler.shutdown(wait=False)
        await app.close()


async def _optional(call: Awaitable[object], what: str) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("%s failed, going on without it: %r", what, exc)
