"""`python3 dev.py bench updates`: how fast the bot answers, update by update, beside a bare aiogram bot.

A booking conversation of 9 updates (/start, language, city, professional, service, day, time, skip notes,
confirm) by a new person goes through the production app (`build_app`: real middlewares, routers, FSM,
database) with the offline Bot session (bot/demo/fake_session.py, no network), on SQLite and on
PostgreSQL: people one after another, then 20 at once. A bare aiogram 3 echo dispatcher on the same kind of
session is fed the very same updates in the same run, as the yardstick.

Printed per database: updates/s, the ratio to the echo bot, p50/p99 per update, SQL statements per
conversation (SQLAlchemy's `before_cursor_execute`), and the goals of issue 12 beside each figure.
Nothing is asserted.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bot.demo.fake_session import BOT_TOKEN, ChatMessage, RecordingSession
from bot.demo.updates import Person
from bot.services.availability import free_slots
from bot.services.clock import FrozenClock
from bot.serving import settle_heap
from handlers.booking_picker import local_day
from handlers.client_callbacks import ConfirmCb, DayCb, SkipNotesCb, TimeCb, day_code, minute_code
from models import Booking, BookingState, Professional, Service
from tests.bot.catalog_data import build_catalog
from tests.bot.harness import BotHarness

# The tests' clock: a Monday morning in late November 2026 (08:00 in Kyiv).
MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
UPDATES_PER_CONVERSATION = 9
SEQUENTIAL_CONVERSATIONS = 24
CONCURRENT_USERS = 20
CONVERSATIONS_PER_CONCURRENT_USER = 2
WARM_UP_CONVERSATIONS = 2

GOAL_RATIO = 0.15
GOAL_P99_CONCURRENT_MS = 100.0
GOAL_STATEMENTS = 20
GOAL_RSS_RATIO = 1.3


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Run:
    """Per-update latencies (s) of one run, and its wall time."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    # Seconds of this process's CPU (every thread: aiosqlite's too) spent in the dispatcher: steadier than
    # wall time when other work shares the machine's cores, but blind to the PostgreSQL server's share.
    cpu: float = 0.0

    @property
    def per_second(self) -> float:
        """Updates per second of wall time (of the time spent in the dispatcher, for a sequential run)."""
        busy = self.wall or sum(self.latencies)
        return len(self.latencies) / busy if busy else 0.0

    def describe(self) -> str:
        cpu = f", CPU {self.cpu / len(self.latencies) * 1000:5.2f} ms/update" if self.cpu else ""
        return (
            f"{self.per_second:7.0f} updates/s, p50 {_percentile(self.latencies, 0.5) * 1000:6.2f} ms, "
            f"p99 {_percentile(self.latencies, 0.99) * 1000:7.2f} ms{cpu}"
        )


class Conversation:
    """One new person booking the free intro call at `slot`, through the buttons the bot shows."""

    def __init__(self, bench: UpdatesBench, person: Person, slot_minute: int, day: int) -> None:
        self.bench = bench
        self.person = person
        self.slot_minute = slot_minute
        self.day = day

    def _newest_with_buttons(self) -> ChatMessage:
        for message in reversed(self.bench.harness.session.chat(self.person.id)):
            if message.inline_buttons():
                return message
        raise RuntimeError(f"no buttons in the chat of {self.person.id}")

    def _button(self, label: str) -> tuple[str, ChatMessage]:
        message = self._newest_with_buttons()
        for button in message.inline_buttons():
            if label in str(button.get("text", "")).replace("\u00a0", " "):
                return str(button["callback_data"]), message
        raise RuntimeError(f"no button {label!r} for {self.person.id}: {message.text!r}")

    def _press(self, label: str) -> dict[str, Any]:
        data, message = self._button(label)
        return self.bench.updates.callback(self.person, data, message)

    def _forge(self, data: str) -> dict[str, Any]:
        return self.bench.updates.callback(self.person, data, self._newest_with_buttons())

    async def run(self, run: Run) -> None:
        service = self.bench.service_id
        steps: list[Callable[[], dict[str, Any]]] = [
            lambda: self.bench.updates.text(self.person, "/start"),
            lambda: self._press("English"),
            lambda: self.bench.updates.text(self.person, "kyiv"),
            lambda: self._press("Anna Koval"),
            lambda: self._press("Free intro call ·"),
            lambda: self._forge(DayCb(svc=service, day=self.day).pack()),
            lambda: self._forge(TimeCb(svc=service, at=self.slot_minute).pack()),
            lambda: self._forge(SkipNotesCb(svc=service, at=self.slot_minute).pack()),
            lambda: self._forge(ConfirmCb(svc=service, at=self.slot_minute).pack()),
        ]
        for step in steps:
            update = step()
            self.bench.fed.append(update)
            await self.bench.feed(update, run)


class UpdatesBench:
    def __init__(self, harness: BotHarness, service_id: int, slots: list[tuple[int, int]]) -> None:
        self.harness = harness
        self.updates = harness.updates
        self.service_id = service_id
        self.slots = iter(slots)
        self.fed: list[dict[str, Any]] = []
        self.statements = 0
        # The echo bot and its run, fed each update right after the bookbot when set: machine load (the
        # benchmark shares its cores) then weighs on both alike.
        self.echo: tuple[Dispatcher, Bot, Run] | None = None
        self._ids = itertools.count(7_000_001)

    async def feed(self, update: dict[str, Any], run: Run) -> None:
        errors = len(self.harness._errors.errors)
        started, cpu = time.perf_counter(), time.process_time()
        await self.harness.app.dispatcher.feed_raw_update(self.harness.app.bot, update)
        run.latencies.append(time.perf_counter() - started)
        run.cpu += time.process_time() - cpu
        if len(self.harness._errors.errors) > errors:
            raise self.harness._errors.errors[-1]
        if self.echo is not None:
            dispatcher, bot, echo_run = self.echo
            started, cpu = time.perf_counter(), time.process_time()
            await dispatcher.feed_raw_update(bot, update)
            echo_run.latencies.append(time.perf_counter() - started)
            echo_run.cpu += time.process_time() - cpu

    def conversation(self) -> Conversation:
        minute, day = next(self.slots)
        person = Person(id=next(self._ids), first_name="Olena", language_code="en")
        return Conversation(self, person, minute, day)


@contextmanager
def _counting(engine: Any, bench: UpdatesBench) -> Iterator[None]:
    def count(*_args: Any) -> None:
        bench.statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def _free_intro_slots(harness: BotHarness, anna: int, intro: int) -> list[tuple[int, int]]:
    now = harness.clock.now()
    async with harness.app.sessions() as session:
        professional = await session.get_one(Professional, anna)
        service = await session.get_one(Service, intro)
        slots = await free_slots(session, professional, service, now, now + timedelta(days=90), now)
    return [(minute_code(slot.start), day_code(local_day(slot.start, "Europe/Kyiv"))) for slot in slots]


async def bench_bookbot(url: str) -> tuple[Run, Run, Run, float]:
    """(sequential run, the echo bot's run on the same updates, concurrent run, statements per conversation)."""
    clock = FrozenClock(MONDAY)
    async with BotHarness.running(url, clock) as harness:
        catalog = await build_catalog(harness.app.sessions)
        slots = await _free_intro_slots(harness, catalog.anna, catalog.intro)
        concurrent_conversations = CONCURRENT_USERS * CONVERSATIONS_PER_CONCURRENT_USER
        needed = WARM_UP_CONVERSATIONS + CONCURRENT_USERS + SEQUENTIAL_CONVERSATIONS + concurrent_conversations
        if len(slots) < needed:
            raise RuntimeError(f"only {len(slots)} free slots for {needed} conversations")
        bench = UpdatesBench(harness, catalog.intro, slots)
        engine = harness.app.engine
        assert engine is not None

        warm = Run()
        for _ in range(WARM_UP_CONVERSATIONS):
            await bench.conversation().run(warm)
        # And once with everyone at once, so the pool holds the connections the concurrent run will use,
        # each with its statements prepared, as a bot that has been running does (what the pool keeps
        # between bursts is then the engine's setting, as in production).
        await asyncio.gather(*(bench.conversation().run(warm) for _ in range(CONCURRENT_USERS)))
        # As `bookbot run` does once started: start-up's objects frozen out of the collector's full passes.
        settle_heap()

        dispatcher, bot = echo_dispatcher()
        for update in bench.fed:  # the echo bot's warm-up: the same updates
            await dispatcher.feed_raw_update(bot, update)
        echo = Run()
        bench.echo = (dispatcher, bot, echo)
        sequential = Run()
        with _counting(engine, bench):
            for _ in range(SEQUENTIAL_CONVERSATIONS):
                await bench.conversation().run(sequential)
        bench.echo = None
        await bot.session.close()
        statements = bench.statements / SEQUENTIAL_CONVERSATIONS

        concurrent = Run()

        async def one_user() -> None:
            for _ in range(CONVERSATIONS_PER_CONCURRENT_USER):
                await bench.conversation().run(concurrent)

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one_user() for _ in range(CONCURRENT_USERS)))
        concurrent.wall = time.perf_counter() - started
        concurrent.cpu = time.process_time() - cpu  # the updates overlap: their own sums would count twice

        gc.unfreeze()  # the next database's run settles its own
        async with harness.app.sessions() as session:
            confirmed = await session.scalar(
                select(func.count()).select_from(Booking).where(Booking.state == BookingState.CONFIRMED)
            )
        expected = needed
        if confirmed != expected:
            raise RuntimeError(f"{confirmed} bookings confirmed, {expected} expected: the conversation went wrong")
        return sequential, echo, concurrent, statements


def echo_dispatcher() -> tuple[Dispatcher, Bot]:
    """The yardstick: a bare aiogram 3 bot that echoes texts and answers button presses."""
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    @router.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher, Bot(BOT_TOKEN, session=RecordingSession(FrozenClock(MONDAY)))


def _goal(met: bool) -> str:
    return "goal met" if met else "goal missed"


STEP_NAMES = ("/start", "language", "city", "professional", "service", "day", "time", "skip notes", "confirm")


async def profile_bookbot(url: str, conversations: int = 12) -> None:
    """Where a conversation's time and statements go: SQL statements per step (with their text, first
    words), and cProfile's top functions by own and cumulative time over `conversations` conversations."""
    import cProfile
    import pstats
    from collections import Counter

    clock = FrozenClock(MONDAY)
    async with BotHarness.running(url, clock) as harness:
        catalog = await build_catalog(harness.app.sessions)
        slots = await _free_intro_slots(harness, catalog.anna, catalog.intro)
        bench = UpdatesBench(harness, catalog.intro, slots)
        engine = harness.app.engine
        assert engine is not None
        warm = Run()
        for _ in range(WARM_UP_CONVERSATIONS):
            await bench.conversation().run(warm)
        per_step: list[Counter[str]] = [Counter() for _ in STEP_NAMES]
        bench.fed.clear()

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            # The update being fed was appended last: its place in the conversation is the step.
            per_step[(len(bench.fed) - 1) % UPDATES_PER_CONVERSATION][" ".join(statement.split())[:110]] += 1

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        profiler = cProfile.Profile()
        profiler.enable()
        run = Run()
        for _ in range(conversations):
            await bench.conversation().run(run)
        profiler.disable()
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    total = sum(sum(counter.values()) for counter in per_step) / conversations
    print(f"  {make_url(url).get_backend_name()}: {total:.1f} statements per conversation; {run.describe()}")
    for name, counter in zip(STEP_NAMES, per_step, strict=True):
        print(f"    {name}: {sum(counter.values()) / conversations:.1f}")
        for statement, count in counter.most_common():
            print(f"      {count / conversations:4.1f}  {statement}")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)


async def main(profile: bool = False) -> None:
    from benchmarks.__main__ import Databases

    logging.getLogger("aiogram").setLevel(logging.WARNING)
    print(
        f"Booking conversations of {UPDATES_PER_CONVERSATION} updates: {SEQUENTIAL_CONVERSATIONS} one after "
        f"another, then {CONCURRENT_USERS} people at once ({CONVERSATIONS_PER_CONCURRENT_USER} each)"
    )
    with tempfile.TemporaryDirectory(prefix="bookbot-bench-") as scratch:
        databases = Databases(Path(scratch))
        try:
            for backend in ("sqlite", "postgres"):
                url = await (databases.sqlite("updates") if backend == "sqlite" else databases.postgres("updates"))
                if url is None:
                    continue
                if profile:
                    await profile_bookbot(url)
                    continue
                gc.collect()
                sequential, echo, concurrent, statements = await bench_bookbot(url)
                ratio = sequential.per_second / echo.per_second
                cpu_ratio = echo.cpu / sequential.cpu
                p99 = _percentile(concurrent.latencies, 0.99) * 1000
                name = make_url(url).get_backend_name()
                print(f"  {name}")
                print(f"    echo bot, sequential:   {echo.describe()}")
                print(f"    bookbot, sequential:    {sequential.describe()}")
                print(f"    bookbot, {CONCURRENT_USERS} at once:    {concurrent.describe()}")
                ratio_goal = _goal(ratio >= GOAL_RATIO)
                print(f"    ratio to the echo bot (sequential): {ratio:.3f} (>= {GOAL_RATIO}: {ratio_goal})")
                print(f"    ratio of CPU per update (echo / bookbot): {cpu_ratio:.3f}")
                p99_goal = _goal(p99 < GOAL_P99_CONCURRENT_MS)
                print(
                    f"    p99 with {CONCURRENT_USERS} at once: {p99:.1f} ms "
                    f"(< {GOAL_P99_CONCURRENT_MS:.0f} ms: {p99_goal})"
                )
                print(
                    f"    SQL statements per conversation: {statements:.1f} "
                    f"(<= {GOAL_STATEMENTS}: {_goal(statements <= GOAL_STATEMENTS)})"
                )
        finally:
            await databases.drop()


if __name__ == "__main__":
    asyncio.run(main())
