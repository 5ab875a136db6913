"""The crisis check (README "Safety"): every piece of client text, before any router or FSM state sees it.

Installed on the update, right after update dedupe and before the database session, so it runs for
messages, edited messages, captions and business messages, in any conversation state, for people the
bot has never seen. Detection needs no database (bot.services.crisis.detect). On a crisis:

1. the stored country and zone are read with a one-second limit (a database outage or a busy SQLite
   write lock must not hold the reply up); country: the one chosen, else the zone's, else asked;
2. the reply goes out at once, directly (never through the outbox, never rate-limited or deduplicated
   away), in the language of the message; a repeat within the hour gets the shorter form;
3. the event is recorded and the professionals and support chat alerted (bot.services.crisis.records),
   bounded too; a failure there is logged, never shown.

The update then goes no further: a crisis typed as notes is not stored as notes, and the FSM state is
untouched, so the person can carry on where they were. Presses of the country question's buttons
("cr:...") are answered here too, for the same reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.render.crisis import country_question, crisis_reply, parse_country_callback
from bot.render.message import Rendered
from bot.services.clock import Clock
from bot.services.crisis import records
from bot.services.crisis.detect import Detection, Detector, default_detector
from bot.services.crisis.resources import Resources, country_for_zone, default_resources

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 1.0
RECORD_TIMEOUT_SECONDS = 10.0
REPEAT_WINDOW = timedelta(hours=1)


def client_texts(update: Update) -> tuple[Message, list[str]] | None:
    """The message a person sent (new, edited, business) and every text it carries."""
    for message in (
        update.message,
        update.edited_message,
        update.business_message,
        update.edited_business_message,
    ):
        if message is None or message.from_user is None or message.from_user.is_bot:
            continue
        texts = [text for text in (message.text, message.caption) if text]
        if message.poll is not None:
            texts.append(message.poll.question)
        return message, texts
    return None


class CrisisMiddleware(BaseMiddleware):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        detector: Detector | None = None,
        resources: Resources | None = None,
        lookup_timeout: float = LOOKUP_TIMEOUT_SECONDS,
        record_timeout: float = RECORD_TIMEOUT_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.detector = detector or default_detector()
        self.resources = resources or default_resources()
        self.lookup_timeout = lookup_timeout
        self.record_timeout = record_timeout
        # Who had a reply lately, so a repeat within the hour is recognised even when the database is not
        # there to say so (bounded: the oldest are forgotten first).
        self._recent: OrderedDict[int, datetime] = OrderedDict()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        query = event.callback_query
        if query is not None and query.data and parse_country_callback(query.data) is not None:
            await self._country_chosen(data["bot"], query)
            return None
        found = self.check(event)
        if found is None:
            return await handler(event, data)
        message, detection = found
        settings = data.get("settings")
        await self._respond(data["bot"], message, detection, getattr(settings, "support_chat_id", None))
        if detection.by_model_alone:
            # The resources went out first; the message is still what it was typed for (a reply to a
            # reminder, notes, an answer), since the model alone also flags ordinary wordings now and then.
            return await handler(event, data)
        return None

    def check(self, update: Update) -> tuple[Message, Detection] | None:
        carried = client_texts(update)
        if carried is None:
            return None
        message, texts = carried
        language_code = message.from_user.language_code if message.from_user else None
        for text in texts:
            detection = self.detector.detect(text, language_code)
            if detection.crisis:
                return message, detection
        return None

    async def _respond(self, bot: Bot, message: Message, detection: Detection, support_chat_id: int | None) -> None:
        sender = message.from_user
        assert sender is not None
        now = self.clock.now()
        context = await self._lookup(sender.id)
        country = None
        if context is not None:
            country = context.country or country_for_zone(context.timezone)
        again = self._seen_lately(sender.id, now, context.last_crisis_at if context else None)
        if country is None:
            rendered = country_question(self.resources, detection.lang, again=again)
        else:
            rendered = crisis_reply(self.resources, detection.lang, country, again=again)
        await send_safely(bot, message.chat.id, rendered)
        log.warning("crisis reply sent (rule %s, language %s, country %s)", detection.matched, detection.lang, country)
        assert detection.matched is not None
        await self._record(sender.id, sender.first_name, now, detection, country, support_chat_id)

    def _seen_lately(self, telegram_id: int, now: datetime, last_recorded: datetime | None) -> bool:
        last = self._recent.get(telegram_id)
        self._recent[telegram_id] = now
        self._recent.move_to_end(telegram_id)
        while len(self._recent) > 10_000:
            self._recent.popitem(last=False)
        latest = max((moment for moment in (last, last_recorded) if moment is not None), default=None)
        return latest is not None and now - latest < REPEAT_WINDOW

    async def _lookup(self, telegram_id: int) -> records.ClientContext | None:
        async def run() -> records.ClientContext:
            async with self.sessions() as session:
                return await records.client_context(session, telegram_id)

        try:
            return await asyncio.wait_for(run(), self.lookup_timeout)
        except Exception as exc:
            log.warning("crisis check: the client's country could not be read (%r); replying without it", exc)
            return None

    async def _record(
        self,
        telegram_id: int,
        first_name: str,
        now: datetime,
        detection: Detection,
        country: str | None,
        support_chat_id: int | None,
    ) -> None:
        assert detection.matched is not None
        rule_id = detection.matched

        async def run() -> None:
            async with self.sessions.begin() as session:
                await records.record_crisis(
                    session,
                    telegram_id=telegram_id,
                    first_name=first_name,
                    now=now,
                    language=detection.lang,
                    rule_id=rule_id,
                    country=country,
                    support_chat_id=support_chat_id,
                    alert=not detection.by_model_alone,
                )

        try:
            await asyncio.wait_for(run(), self.record_timeout)
        except Exception:
            log.exception("crisis event not recorded (the reply was sent)")

    async def _country_chosen(self, bot: Bot, query: CallbackQuery) -> None:
        parsed = parse_country_callback(query.data or "")
        assert parsed is not None
        country, language = parsed
        if country is not None and self.resources.country(country) is None:
            country = None
        with suppress(TelegramBadRequest):
            await bot.answer_callback_query(query.id)
        rendered = crisis_reply(self.resources, language, country)
        if country is not None:
            await self._commit_country(query.from_user.id, country)
        message = query.message
        markup = rendered.reply_markup if isinstance(rendered.reply_markup, InlineKeyboardMarkup) else None
        if isinstance(message, Message):
            try:
                await bot.edit_message_text(
                    rendered.text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=markup
                )
                return
            except TelegramBadRequest:
                pass
        await send_safely(bot, query.from_user.id, rendered)

    async def _commit_country(self, telegram_id: int, country: str) -> None:
        async def run() -> None:
            async with self.sessions.begin() as session:
                await records.save_country(session, telegram_id, country)

        try:
            await asyncio.wait_for(run(), self.lookup_timeout)
        except Exception as exc:
            log.warning("crisis check: country not saved (%r)", exc)


async def send_safely(bot: Bot, chat_id: int, rendered: Rendered) -> None:
    """Send the reply; if Telegram refuses the keyboard, send the text alone rather than nothing."""
    try:
        await bot.send_message(chat_id, rendered.text, reply_markup=rendered.reply_markup)
    except TelegramBadRequest as exc:
        log.warning("crisis reply refused with its buttons (%s); sending the text alone", exc)
        await bot.send_message(chat_id, rendered.text)
