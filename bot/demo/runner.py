"""`bookbot demo`: the real dispatcher and handlers in a terminal, offline.

Updates are real Telegram JSON fed to the dispatcher; the bot's API calls land in a recording session
(bot/demo/fake_session.py) and are printed as chat messages with numbered buttons. After every step
the worker ticks once, so messages to the other side (a professional's notifications) show at once.
Input lines come from any async line source, so tests drive it the same way a person does.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar

from aiogram import Bot
from aiohttp import web
from sqlalchemy import select

from bot.app import App, build_app
from bot.demo.catalog import EXAMPLE_CATALOG, import_example_catalog, link_professional
from bot.demo.fake_session import BOT_TOKEN, ChatMessage, RecordingSession
from bot.demo.updates import Person, UpdateFactory
from bot.render import format_instant
from bot.services import zone_search
from bot.services.clock import FrozenClock
from bot.services.errors import NotFound
from bot.services.invites import create_invite
from bot.services.payments.demo import (
    DEMO_CHECKOUT_PATH,
    DemoGateway,
    demo_checkout_view,
    finish_demo_checkout,
    latest_open_demo_session,
)
from bot.services.pro_profile import create_draft
from bot.services.users import chosen_zone, get_or_create_user
from bot.settings import Settings
from bot.web import DemoCheckout, build_web_app
from bot.worker import run_worker_once
from models import User
from models.migrate import upgrade

LineReader = Callable[[], Awaitable[str | None]]

CLIENT_ID = 100_001
PRO_IDS_FROM = 900_001
NEWCOMER_IDS_FROM = 950_000
# The operator `/as admin` acts as: in the demo's ADMIN_IDS, so /admin answers.
ADMIN_ID = 800_001
# Where a shared location points in the demo (no GPS in a terminal): central Kyiv.
DEMO_LOCATION = (50.4501, 30.5234)

HELP = """\
Type text to send it to the bot, a number to press a button, or:
  /as client              act as the client (Olena)
  /as pro anna-koval      act as that professional (their chat gets linked to you)
  /as newpro              act as a newcomer an operator invited: open the invite, set up a profile
  /as admin               act as an operator (their newest message with buttons, else /admin)
  /time +2h               move the clock forward (+30m, +2h, +1d) and run the worker
  /pay                    pay the newest open demo checkout, as its page's Pay button does
  /reply TEXT             send TEXT as a Telegram reply to the bot's newest message to you
  /file NAME              send a file called NAME (a document, as for verification)
  /quit                   leave (so do Ctrl-D and Ctrl-C)"""

_TIME_STEP = re.compile(r"^\+(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# /time moves the clock at most this far in one step: further, nothing new happens that a smaller
# step would not show, and a huge number would overflow the calendar.
_MAX_STEP = timedelta(days=366)


@dataclass(frozen=True)
class Choice:
    label: str
    message: ChatMessage | None
    callback_data: str | None = None
    url: str | None = None
    reply_text: str | None = None
    location: bool = False


class DemoRunner:
    def __init__(
        self, app: App, recording: RecordingSession, clock: FrozenClock, out: TextIO, files: Path | None = None
    ) -> None:
        self.app = app
        self.recording = recording
        self.clock = clock
        self.out = out
        # Where the files the bot sends are saved (None: only their name and size are shown).
        self.files = files
        self.updates = UpdateFactory(clock, recording.next_message_id, app.bot.id)
        self.client = Person(CLIENT_ID, "Olena", "en")
        self.actor = self.client
        self.pros: dict[str, Person] = {}
        self.newcomers: list[Person] = []
        self.names: dict[int, str] = {CLIENT_ID: "Olena (client)"}
        self.choices: list[Choice] = []
        self.sent_files = 0
        self.admin = Person(ADMIN_ID, "Operator", "en")
        self.names[ADMIN_ID] = "the operator (admin)"

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    async def run(self, read_line: LineReader, echo: bool = False) -> None:
        self.say(HELP)
        self.say(f"{await self.clock_line('Clock')}. You are {self.names[self.actor.id]}.")
        while True:
            print(f"\n{self.actor.first_name}> ", end="", file=self.out, flush=True)
            line = await read_line()
            if line is None:
                self.say()
                return
            line = line.strip()
            if echo:
                self.say(line)
            if line in {"/quit", "/exit"}:
                return
            if line:
                await self.handle(line)

    async def handle(self, line: str) -> None:
        if line.startswith("/as"):
            await self.switch(line.split()[1:])
        elif line.startswith("/time"):
            await self.travel(line.removeprefix("/time").strip())
        elif line == "/pay":
            await self.pay()
        elif line.startswith("/reply "):
            await self.reply(line.removeprefix("/reply ").strip())
        elif line == "/file" or line.startswith("/file "):
            await self.send_file(line.removeprefix("/file").strip())
        elif line.isdigit():
            await self.choose(int(line))
        else:
            await self.step(self.updates.text(self.actor, line))

    async def step(self, update: dict[str, Any]) -> None:
        mark, popups = len(self.recording.events), len(self.recording.popups)
        await self.app.dispatcher.feed_raw_update(self.app.bot, update)
        await run_worker_once(self.app.worker)
        self.show(mark, popups)

    def show(self, mark: int, popups: int) -> None:
        self.choices = self._current_choices()
        for popup in self.recording.popups[popups:]:
            if popup.text:
                self.say(f"  ({popup.text})")
        for message in self.recording.events_since(mark):
            self._print_message(message)
        if not self.recording.events_since(mark) and len(self.recording.popups) == popups:
            self.say("  (nothing new)")

    def _print_message(self, message: ChatMessage) -> None:
        to = "you" if message.chat_id == self.actor.id else self.names.get(message.chat_id, str(message.chat_id))
        self.say(f"bot → {to}{' (edited)' if message.edited else ''}:")
        for line in message.text.splitlines() or [""]:
            self.say(f"  {line}")
        if message.document is not None:
            name, content = message.document
            saved = self._save(name, content)
            self.say(f"  [file: {name}, {len(content)} bytes{f', saved as {saved}' if saved else ''}]")
        if message.inline_buttons():
            labels = []
            for button in message.inline_buttons():
                number = self._number_of(message, button)
                labels.append(f"[{number}] {button['text']}" if number else f"[· {button['text']}]")
            self.say("  " + "   ".join(labels))
        reply = [c for c in self.choices if c.message is None]
        if reply and message is self._latest_reply_keyboard():
            self.say("  keyboard: " + "   ".join(f"[{self.choices.index(c) + 1}] {c.label}" for c in reply))

    def _save(self, name: str, content: bytes) -> Path | None:
        if self.files is None:
            return None
        # The name is the bot's, but only its last part is used: nothing lands outside the folder.
        path = self.files / (Path(name).name or "file")
        path.write_bytes(content)
        return path

    def _number_of(self, message: ChatMessage, button: dict[str, Any]) -> int | None:
        for index, choice in enumerate(self.choices, start=1):
            if (
                choice.message is message
                and choice.label == button["text"]
                and choice.callback_data == button.get("callback_data")
            ):
                return index
        return None

    def _latest_reply_keyboard(self) -> ChatMessage | None:
        for message in reversed(self.recording.chat(self.actor.id)):
            markup = message.reply_markup or {}
            if "keyboard" in markup or markup.get("remove_keyboard"):
                return message if "keyboard" in markup else None
        return None

    def _current_choices(self) -> list[Choice]:
        """The actor's pressable buttons: the newest inline keyboard, then an open reply keyboard."""
        choices: list[Choice] = []
        for message in reversed(self.recording.chat(self.actor.id)):
            if message.inline_buttons():
                for button in message.inline_buttons():
                    choices.append(
                        Choice(
                            button["text"], message, callback_data=button.get("callback_data"), url=button.get("url")
                        )
                    )
                break
        keyboard = self._latest_reply_keyboard()
        if keyboard is not None:
            for button in keyboard.reply_buttons():
                choices.append(
                    Choice(
                        button["text"], None, reply_text=button["text"], location=bool(button.get("request_location"))
                    )
                )
        return choices

    async def choose(self, number: int) -> None:
        if not 1 <= number <= len(self.choices):
            self.say(f"  (no button {number}; {len(self.choices)} to choose from)")
            return
        choice = self.choices[number - 1]
        if choice.url:
            self.say(f"  (opens {choice.url} in a browser)")
        elif choice.location:
            self.say(f"  (sharing the demo location: {DEMO_LOCATION[0]}, {DEMO_LOCATION[1]})")
            await self.step(self.updates.location(self.actor, *DEMO_LOCATION))
        elif choice.reply_text is not None:
            await self.step(self.updates.text(self.actor, choice.reply_text))
        elif choice.callback_data is not None:
            await self.step(self.updates.callback(self.actor, choice.callback_data, choice.message))

    async def switch(self, words: list[str]) -> None:
        if words == ["client"]:
            self.actor = self.client
        elif words == ["admin"]:
            self.actor = self.admin
            self.say(f"  (you are now {self.names[self.actor.id]})")
            waiting = self.recording.chat(self.admin.id)
            if waiting and waiting[-1].inline_buttons():
                # Something arrived for the operator (a verification request): its buttons come first.
                self.choices = self._current_choices()
                self._print_message(waiting[-1])
                self.say("  (/admin opens the operator menu)")
                return
            await self.step(self.updates.text(self.actor, "/admin"))
            return
        elif words == ["newpro"]:
            await self._newcomer()
            return
        elif len(words) == 2 and words[0] == "pro":
            slug = words[1]
            person = self.pros.get(slug) or Person(PRO_IDS_FROM + len(self.pros), slug.split("-")[0].title(), "en")
            try:
                professional = await link_professional(self.app.sessions, slug, person.id)
            except NotFound:
                self.say(f"  (no professional {slug!r} in the catalog)")
                return
            await self._give_a_language(person)
            self.pros[slug] = person
            self.names[person.id] = f"{professional.name} (professional)"
            self.actor = person
        else:
            self.say("  (use /as client, /as admin, /as newpro or /as pro <slug>)")
            return
        self.say(f"  (you are now {self.names[self.actor.id]})")
        self.choices = self._current_choices()
        if self.choices:
            self.say("  your buttons: " + "   ".join(f"[{n}] {c.label}" for n, c in enumerate(self.choices, start=1)))

    async def _newcomer(self) -> None:
        """What `bookbot invite --new --pro SLUG` and the professional opening its link do."""
        number = len(self.newcomers) + 1
        slug = f"newcomer-{number}"
        person = Person(NEWCOMER_IDS_FROM + number, "Mykola", "en")
        async with self.app.sessions.begin() as session:
            await create_draft(session, slug)
            invite = await create_invite(session, slug, now=self.clock.now())
            token = invite.token
        self.newcomers.append(person)
        self.names[person.id] = f"the newcomer ({slug})"
        self.actor = person
        self.say(f"  (an operator ran `bookbot invite --new --pro {slug}`; you are the newcomer opening its link)")
        await self.step(self.updates.text(person, f"/start inv_{token}"))

    async def _give_a_language(self, person: Person) -> None:
        """A real professional opens their invite and picks a language before anything reaches them;
        the demo links the chat at once, so it gives them the one their Telegram speaks."""
        async with self.app.sessions.begin() as session:
            user = await get_or_create_user(
                session, person.id, person.first_name, person.language_code, self.clock.now()
            )
            user.locale = user.locale or person.language_code

    async def pay(self) -> None:
        """What the demo checkout page's "Pay" does: a signed checkout.session.completed through the
        webhook's own processing, then the worker (the confirmation goes out through the outbox)."""
        gateway = self.app.gateway
        async with self.app.sessions() as session:
            user = await session.scalar(select(User).where(User.telegram_id == self.actor.id))
        session_id = await latest_open_demo_session(self.app.sessions, user.id) if user is not None else None
        view = await demo_checkout_view(self.app.sessions, session_id) if session_id is not None else None
        if not isinstance(gateway, DemoGateway) or view is None:
            self.say("  (nothing to pay: confirm a paid session first, then use its Pay button or /pay)")
            return
        mark, popups = len(self.recording.events), len(self.recording.popups)
        receiver = self.app.stripe_webhook

        async def receive(body: bytes, signature: str) -> int:
            return (await receiver.receive(body, signature)).status

        self.say(f"  (paying {gateway.page_url(view.session_id)}: a signed checkout.session.completed)")
        await finish_demo_checkout(view, gateway, receive, paid=True)
        await run_worker_once(self.app.worker)
        self.show(mark, popups)

    async def reply(self, text: str) -> None:
        chat = self.recording.chat(self.actor.id)
        if not chat or not text:
            self.say("  (nothing to reply to; /reply TEXT answers the bot's newest message)")
            return
        await self.step(self.updates.text(self.actor, text, reply_to=chat[-1]))

    async def send_file(self, name: str) -> None:
        """A document from the person acted as; Telegram would hand the bot only its id and name."""
        if not name:
            self.say("  (name the file: /file licence.pdf)")
            return
        self.sent_files += 1
        await self.step(self.updates.document(self.actor, f"demo-file-{self.sent_files}", Path(name).name or name))

    async def travel(self, argument: str) -> None:
        if not argument:
            self.say(f"  ({await self.clock_line('clock')}; move it with /time +2h)")
            return
        refusal = _time_step_refusal(argument)
        if refusal is not None:
            self.say(f"  (cannot move the clock by {argument!r}: {refusal})")
            return
        match = _TIME_STEP.match(argument)
        assert match is not None
        mark, popups = len(self.recording.events), len(self.recording.popups)
        self.clock.advance(timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}))
        self.say(f"  ({await self.clock_line('clock')})")
        await run_worker_once(self.app.worker)
        self.show(mark, popups)

    async def clock_line(self, label: str) -> str:
        """The demo clock in UTC and, once the client has chosen one, in the client's zone."""
        now = self.clock.now()
        line = f"{label}: {format_instant(now, 'UTC', 'en')}"
        async with self.app.sessions() as session:
            zone = await chosen_zone(session, CLIENT_ID)
        if zone:
            line += f"; Olena's time: {format_instant(now, zone, 'en')}"
        return line


def _time_step_refusal(argument: str) -> str | None:
    """Why `/time argument` cannot be done, or None when it can."""
    if argument.startswith("-"):
        return "the demo clock only moves forward (holds that expired and sessions that ended stay so)"
    match = _TIME_STEP.match(argument)
    if match is None:
        return "write a step forward as +30m, +2h or +1d"
    amount = int(match.group(1))
    if amount == 0:
        return "a step of zero changes nothing"
    minutes = {"m": 1, "h": 60, "d": 24 * 60}[match.group(2)] * amount
    if minutes > _MAX_STEP.total_seconds() // 60:
        return f"at most {_MAX_STEP.days} days at a time"
    return None


async def run_demo(
    read_line: LineReader,
    out: TextIO,
    *,
    database: Path | None = None,
    files: Path | None = None,
    now: datetime | None = None,
    echo: bool = False,
) -> None:
    """The whole demo: migrate a SQLite file, load the example catalog, then the conversation loop.

    Files the bot sends are saved into `files` (made if missing; default: a new folder in the system's
    temporary folder, kept after the demo so they can be opened)."""
    with tempfile.TemporaryDirectory(prefix="bookbot-demo-") as scratch:
        path = database or Path(scratch) / "bookbot-demo.db"
        url = f"sqlite+aiosqlite:///{path}"
        if files is None:
            files = Path(tempfile.mkdtemp(prefix="bookbot-demo-files-"))
        files.mkdir(parents=True, exist_ok=True)
        print(f"Bookbot demo: offline, the real handlers on the SQLite file {path}", file=out)
        print(f"Files the bot sends are saved in {files}", file=out)
        await upgrade(url)
        clock = FrozenClock(now or datetime.now(UTC))
        recording = RecordingSession(clock)
        settings = Settings(database_url=url, redis_url=None, bot_token=None, admin_ids=[ADMIN_ID], _env_file=None)
        app = build_app(settings, clock=clock, bot=Bot(BOT_TOKEN, session=recording))
        checkout_pages: web.AppRunner | None = None
        # The place index takes seconds to build: while the newcomer picks a language, not after. In a
        # daemon thread, so leaving the demo (Ctrl-D, Ctrl-C) does not wait for it to finish.
        warming = in_daemon_thread(zone_search.warm_up)
        try:
            await import_example_catalog(app.sessions, EXAMPLE_CATALOG)
            checkout_pages = await _serve_checkout_pages(app, out)
            await DemoRunner(app, recording, clock, out, files).run(read_line, echo=echo)
        finally:
            if checkout_pages is not None:
                await checkout_pages.cleanup()
            warming.cancel()
            await app.close()


async def _serve_checkout_pages(app: App, out: TextIO) -> web.AppRunner | None:
    """The demo gateway's checkout pages on a free local port, so a Pay link opens in a browser."""
    gateway = app.gateway
    if not isinstance(gateway, DemoGateway):
        return None
    receiver = app.stripe_webhook
    runner = web.AppRunner(
        build_web_app(app.sessions, stripe=receiver, demo_checkout=DemoCheckout(gateway, receiver, app.i18n)),
        access_log=None,
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    try:
        await site.start()
    except OSError as exc:
        print(f"(no checkout pages: cannot listen on 127.0.0.1: {exc}; /pay still pays)", file=out)
        await runner.cleanup()
        return None
    host, port = runner.addresses[0][:2]
    gateway.public_base_url = f"http://{host}:{port}"
    print(f"Demo checkout pages: {gateway.public_base_url}{DEMO_CHECKOUT_PATH}/... (nothing is charged)", file=out)
    return runner


_Result = TypeVar("_Result")


def in_daemon_thread(work: Callable[[], _Result]) -> asyncio.Future[_Result]:
    """`work()` in a daemon thread, as a future of this loop. Unlike asyncio.to_thread, the program
    does not wait for the thread at exit: a blocked read of the terminal must not keep the demo open."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_Result] = loop.create_future()

    def settle(outcome: Callable[[], _Result]) -> None:
        if future.done():
            return
        try:
            future.set_result(outcome())
        except BaseException as exc:  # work() failed: the awaiting coroutine gets its exception
            future.set_exception(exc)

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:
            failure = exc

            def outcome() -> _Result:
                raise failure
        else:

            def outcome() -> _Result:
                return result

        # The demo may have ended meanwhile: its loop is closed and nobody waits for the answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="bookbot-demo", daemon=True).start()
    return future


def stdin_reader(stream: TextIO | None = None) -> LineReader:
    """Lines from `stream` (standard input by default); None at end of input (Ctrl-D)."""

    async def read_line() -> str | None:
        line = await in_daemon_thread((stream or sys.stdin).readline)
        return line if line else None

    return read_line
