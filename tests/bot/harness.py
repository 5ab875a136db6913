"""Drive the real dispatcher with real update JSON and look at what the bot sent.

The app is the production one (`build_app`): real middlewares, routers, FSM and database (a fresh
migrated SQLite file, or PostgreSQL), with a recording Bot session instead of Telegram and a frozen
clock (tests/conftest.py's `clock`, Monday 2026-11-23 06:00 UTC). Fixtures (tests/bot/conftest.py):
`harness` (SQLite), `pg_harness` (PostgreSQL), `bot_db_url` (a fresh SQLite database, to build a
harness of your own with `BotHarness.running(url, clock, ...)`). Each harness is an app of its own
(its own routers and registry), so several can run at once, as replicas do.

    async def test_something(harness: BotHarness) -> None:
        olena = harness.person(first_name="Olena", language_code="uk")
        await harness.send_text(olena, "/start")
        await harness.press_button(olena, "English")        # a button of a recent message, by label
        await harness.send_text(olena, "kyiv")
        assert harness.last_text(olena) == "..."             # the newest message (or edit) in her chat
        assert [b["text"] for b in harness.buttons(olena)]  # the newest inline keyboard she can press
        await harness.press(olena, ZoneCb(zone="Mars/Base"))  # any callback data, forged included
        assert harness.popup() == "This button is no longer available."
        harness.clock.advance(timedelta(hours=2))
        await harness.run_worker()                           # outbox and the other worker ticks, once
        async with harness.db() as session: ...              # look at the database

Also: `calls` / `calls_to("sendMessage")` (every Bot API call with its params), `mark()` and
`messages_since(mark)` (what one step sent, to anyone), `session.fail_next(...)` (make Telegram fail),
`load_example_catalog()`, `link_professional(slug, person)`.

An exception in a handler is re-raised by the harness (after the bot's polite error reply) so a test
never passes over a crash; set `harness.raise_errors = False` to test that reply itself.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, build_app
from bot.demo.catalog import EXAMPLE_CATALOG, import_example_catalog, link_professional
from bot.demo.fake_session import BOT_TOKEN, ApiCall, ChatMessage, RecordingSession
from bot.demo.updates import Person, UpdateFactory
from bot.services.clock import FrozenClock
from bot.settings import Settings
from bot.worker import run_worker_once

_ids = itertools.count(100_001)


class _ErrorCatcher(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


class BotHarness:
    def __init__(self, app: App, session: RecordingSession, clock: FrozenClock) -> None:
        self.app = app
        self.session = session
        self.clock = clock
        self.updates = UpdateFactory(clock, session.next_message_id, app.bot.id)
        self.raise_errors = True
        self._errors = _ErrorCatcher()

    @classmethod
    @asynccontextmanager
    async def running(
        cls,
        database_url: str,
        clock: FrozenClock,
        *,
        redis_url: str | None = None,
        key_prefix: str = "bookbot",
        **settings: Any,
    ) -> AsyncIterator[BotHarness]:
        """An app on a migrated database at `database_url`; closed (engine, Redis) on exit."""
        recording = RecordingSession(clock)
        app = build_app(
            Settings(database_url=database_url, redis_url=redis_url, _env_file=None, **settings),
            clock=clock,
            bot=Bot(BOT_TOKEN, session=recording),
            key_prefix=key_prefix,
        )
        harness = cls(app, recording, clock)
        logging.getLogger("handlers").addHandler(harness._errors)
        try:
            yield harness
        finally:
            logging.getLogger("handlers").removeHandler(harness._errors)
            await app.close()

    # -- people ------------------------------------------------------------------------------------

    def person(self, first_name: str = "Olena", language_code: str | None = "en", id: int | None = None) -> Person:
        """A new Telegram user (a fresh id each call unless given)."""
        return Person(id=id if id is not None else next(_ids), first_name=first_name, language_code=language_code)

    # -- acting ------------------------------------------------------------------------------------

    async def feed(self, update: dict[str, Any]) -> None:
        """Feed one raw update, as Telegram would deliver it (the same dict twice = a redelivery)."""
        before = len(self._errors.errors)
        await self.app.dispatcher.feed_raw_update(self.app.bot, update)
        if self.raise_errors and len(self._errors.errors) > before:
            raise self._errors.errors[-1]

    async def send_text(self, person: Person, text: str) -> None:
        await self.feed(self.updates.text(person, text))

    async def send_location(self, person: Person, latitude: float, longitude: float) -> None:
        await self.feed(self.updates.location(person, latitude, longitude))

    async def send_sticker(self, person: Person) -> None:
        await self.feed(self.updates.sticker(person))

    async def send_photo(self, person: Person, file_id: str = "photo-1") -> None:
        await self.feed(self.updates.photo(person, file_id))

    async def send_document(self, person: Person, file_id: str, file_name: str = "file.pdf") -> None:
        await self.feed(self.updates.document(person, file_id, file_name))

    async def press(self, person: Person, data: str | CallbackData, message: ChatMessage | None = None) -> None:
        """Press a button with this callback data (need not exist: stale and forged data welcome)."""
        packed = data.pack() if isinstance(data, CallbackData) else data
        if message is None:
            message = self._message_with(person, lambda button: button.get("callback_data") == packed)
        await self.feed(self.updates.callback(person, packed, message))

    async def press_button(self, person: Person, label: str) -> None:
        """Press the newest inline button in `person`'s chat whose label contains `label`."""
        message = self._message_with(person, lambda button: label in button.get("text", ""))
        if message is None:
            raise AssertionError(f"no button containing {label!r}; the chat shows:\n{self.transcript(person)}")
        button = next(b for b in message.inline_buttons() if label in b.get("text", ""))
        await self.feed(self.updates.callback(person, button["callback_data"], message))

    def _message_with(self, person: Person, wanted: Any) -> ChatMessage | None:
        for message in reversed(self.session.chat(person.id)):
            if any(wanted(button) for button in message.inline_buttons()):
                return message
        return None

    async def run_worker(self) -> None:
        await run_worker_once(self.app.worker)

    # -- observing ---------------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        return self.session.calls

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.session.calls if call.method == method]

    def mark(self) -> int:
        return len(self.session.events)

    def messages_since(self, mark: int, person: Person | None = None) -> list[ChatMessage]:
        found = self.session.events_since(mark)
        return [m for m in found if person is None or m.chat_id == person.id]

    def last_message(self, person: Person) -> ChatMessage:
        for chat_id, message_id in reversed(self.session.events):
            if chat_id == person.id:
                return self.session.messages[(chat_id, message_id)]
        raise AssertionError(f"the bot has not written to {person.first_name} ({person.id})")

    def last_text(self, person: Person) -> str:
        return self.last_message(person).text

    def texts(self, person: Person) -> list[str]:
        return [message.text for message in self.session.chat(person.id)]

    def buttons(self, person: Person) -> list[dict[str, Any]]:
        """The inline buttons of the newest message in the chat that has any."""
        for message in reversed(self.session.chat(person.id)):
            if message.inline_buttons():
                return message.inline_buttons()
        return []

    def reply_keyboard(self, person: Person) -> list[dict[str, Any]]:
        """The reply keyboard buttons last sent to `person` ([] once removed)."""
        for message in reversed(self.session.chat(person.id)):
            markup = message.reply_markup or {}
            if "keyboard" in markup or markup.get("remove_keyboard"):
                return message.reply_buttons()
        return []

    def popup(self) -> str | None:
        """The text of the newest callback answer (the toast a button press shows)."""
        return self.session.popups[-1].text if self.session.popups else None

    def transcript(self, person: Person) -> str:
        lines = []
        for message in self.session.chat(person.id):
            labels = " ".join(f"[{b.get('text')}]" for b in message.inline_buttons())
            lines.append(f"- {message.text!r} {labels}".rstrip())
        return "\n".join(lines) or "(nothing)"

    # -- data --------------------------------------------------------------------------------------

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """A session on the app's database, committed on exit."""
        async with self.app.sessions.begin() as session:
            yield session

    async def load_example_catalog(self, path: Path = EXAMPLE_CATALOG) -> None:
        await import_example_catalog(self.app.sessions, path)

    async def link_professional(self, slug: str, person: Person) -> None:
        await link_professional(self.app.sessions, slug, person.id)
