"""`bookbot run`: the bot (webhook or long polling), its web server and the worker ticks, in one process."""

from __future__ import annotations

import argparse

from bot.cli_errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the bot (needs BOT_TOKEN): webhook when WEBHOOK_BASE_URL is set, else long polling",
        description=(
            "Run the bot with its web server on WEB_HOST:WEB_PORT (GET /healthz; POST /webhooks/telegram "
            "when WEBHOOK_BASE_URL is set, else long polling) and the worker ticks, until SIGTERM or Ctrl-C. "
            "The embedded SQLite database is migrated on start; PostgreSQL needs `bookbot db upgrade` first."
        ),
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.settings import Settings

    settings = Settings()
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        raise UsageError("BOT_TOKEN is not set: get a token from @BotFather and export BOT_TOKEN=...")
    configure_logging()
    from bot.services.crisis.model import start_model_layer

    # In the background: until it has loaded, the crisis check's phrase data answers alone.
    start_model_layer()
    # Imported here: aiogram's types take seconds to load, which `bookbot import` and the like need not pay.
    from bot.serving import serve

    asyncio.run(serve(settings))
    return 0


def configure_logging() -> None:
    """INFO from Bookbot itself; only warnings from the libraries whose INFO lines are every job run
    (APScheduler: "Running job ...", "Job ... executed successfully") and every migration step (Alembic)."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in CHATTY_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)


CHATTY_LOGGERS = ("alembic", "apscheduler")
