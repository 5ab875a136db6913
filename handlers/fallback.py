"""The last router: whatever no feature handled, and every error.

- A message nobody expected (text, unknown command, sticker, photo, ...) gets a hint and the question
  of the current step again (the prompt its feature registered: Registry.state_prompt), so the person keeps their place.
- A button nobody handles (stale, or forged) gets "This button is no longer available."
- An exception is logged and the person told, politely, that their progress is kept; a
  NotFound / NotAllowed from a service (a stale or forged id) reads like a stale button.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.render import Rendered
from bot.services.errors import NotAllowed, NotFound
from handlers.common import Flow, answer_stale, send, stale_button_help, stale_button_text
from handlers.registry import Registry

log = logging.getLogger(__name__)

COMMAND_ECHO = 32


async def unexpected_message(message: Message, ctx: Flow) -> None:
    """One style everywhere: what was wrong and what is expected, then the current question again."""
    text = message.text or ""
    state = await ctx.state.get_state()
    prompt = ctx.registry.prompt_for(state)
    if text.startswith("/"):
        # Only the command's own word is echoed, and never more than a short one.
        command = text.split(maxsplit=1)[0][:COMMAND_ECHO]
        hint = _("I don't know the command {command}. /help lists what I can do.").format(command=command)
    elif prompt is None:
        hint = _("Sorry, I didn't understand that. /help lists what I can do.")
    else:
        expects = ctx.registry.expectation_for(state)
        hint = (
            _("Sorry, I didn't understand that.")
            + " "
            + (expects() if expects else _("Please answer the question below."))
        )
    if prompt is None:
        await send(ctx, Rendered(hint))
        return
    question = await prompt(ctx)
    await send(ctx, Rendered(f"{hint}\n\n{question.text}", question.reply_markup, question.document))


async def unexpected_button(query: CallbackQuery) -> None:
    await answer_stale(query)


async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n, locale: str | None = None) -> bool:
    update = event.update
    stale = isinstance(event.exception, NotFound | NotAllowed)
    if not stale:
        # Exception and update id only: message text may be confidential (DESIGN.md, Privacy).
        log.error("update %s failed", update.update_id, exc_info=event.exception)
    with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
        sorry = (
            stale_button_text()
            if stale
            else _("Something went wrong on our side; your progress is kept. Try again or /start.")
        )
        query = update.callback_query
        chat_id = _chat_id(update.message, query)
        # The answer may fail too (the query already answered, Telegram down): then at least it is logged.
        with suppress(TelegramAPIError):
            if query is not None:
                await bot.answer_callback_query(query.id, sorry, show_alert=not stale)
                if stale:
                    await bot.send_message(query.from_user.id, stale_button_help())
                return True
        if chat_id is not None:
            with suppress(TelegramAPIError):
                await bot.send_message(chat_id, sorry)
    return True


def _chat_id(message: Message | None, query: CallbackQuery | None) -> int | None:
    if message is not None:
        return message.chat.id
    if query is not None:
        return query.from_user.id
    return None


def make_router(registry: Registry) -> Router:
    router = Router(name="fallback")
    router.message.register(unexpected_message)
    router.callback_query.register(unexpected_button)
    router.errors.register(on_error)
    return router
