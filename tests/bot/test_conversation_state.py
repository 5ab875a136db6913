"""Conversation state in the database (no REDIS_URL): each person's row is read once per process and then
served from memory, every change still written when its update commits, and memory never runs ahead of
the database (a failed update leaves the person where the database has them)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import QueuePool

from bot.demo.updates import Person
from bot.middlewares.conversation import ConversationCache, DatabaseStorage
from bot.services.clock import FrozenClock
from models import ConversationState
from models.db import write_lock
from tests.bot.catalog_data import client, last, press_label, with_catalog
from tests.bot.harness import BotHarness
from tests.bot.words import clock as clock_at
from tests.bot.words import short


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("bot_db_url" if request.param == "sqlite" else "pg_url"))


@contextmanager
def statements(harness: BotHarness) -> Iterator[list[str]]:
    engine = harness.app.engine
    assert engine is not None
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def storage_of(harness: BotHarness) -> DatabaseStorage:
    storage = harness.app.dispatcher.storage
    assert isinstance(storage, DatabaseStorage)
    return storage


def key_of(harness: BotHarness, person: Person) -> StorageKey:
    return StorageKey(bot_id=harness.app.bot.id, chat_id=person.id, user_id=person.id)


async def stored_state(harness: BotHarness, person: Person) -> str | None:
    name = storage_of(harness).key_builder.build(key_of(harness, person))
    async with harness.db() as session:
        state: str | None = await session.scalar(select(ConversationState.state).where(ConversationState.key == name))
    return state


async def to_notes_step(harness: BotHarness, person: Person) -> None:
    await harness.send_text(person, "/start pro_anna-koval")
    await harness.press_button(person, "Coaching session ·")
    await press_label(harness, person, short(date(2026, 11, 24)))
    await press_label(harness, person, clock_at("2026-11-24 09:00"))
    assert last(harness, person).endswith("Type it here, or press Skip.")


async def test_the_conversation_is_read_once_and_still_written_on_every_change(db_url: str, clock: FrozenClock) -> None:
    async with BotHarness.running(db_url, clock) as harness:
        await with_catalog(harness)
        olena = await client(harness)
        await harness.send_text(olena, "/start pro_anna-koval")
        with statements(harness) as seen:
            await harness.press_button(olena, "Coaching session ·")
            await press_label(harness, olena, short(date(2026, 11, 24)))
            await press_label(harness, olena, clock_at("2026-11-24 09:00"))
        assert [s for s in seen if s.startswith("SELECT") and "FROM conversation_states" in s] == []
        # Each step moved the conversation, and each move reached the database.
        assert len([s for s in seen if s.startswith("INSERT INTO conversation_states")]) == 3
        assert await stored_state(harness, olena) == await storage_of(harness).get_state(key_of(harness, olena))


async def test_a_read_only_press_writes_its_move_on_its_own_connection(db_url: str, clock: FrozenClock) -> None:
    """The time press (read-only) moves the conversation to the notes step: one statement on the one
    connection the update already holds, committed by itself (no BEGIN, no second unit of work)."""
    async with BotHarness.running(db_url, clock) as harness:
        await with_catalog(harness)
        olena = await client(harness)
        await harness.send_text(olena, "/start pro_anna-koval")
        await harness.press_button(olena, "Coaching session ·")
        await press_label(harness, olena, short(date(2026, 11, 24)))
        engine = harness.app.engine
        assert engine is not None
        checkouts: list[object] = []

        def checked_out(*_args: Any) -> None:
            checkouts.append(_args[0])

        event.listen(engine.sync_engine.pool, "checkout", checked_out)
        try:
            with statements(harness) as seen:
                await press_label(harness, olena, clock_at("2026-11-24 09:00"))
        finally:
            event.remove(engine.sync_engine.pool, "checkout", checked_out)
        assert last(harness, olena).endswith("Type it here, or press Skip.")
        assert len(checkouts) == 1
        assert [s.split()[0] for s in seen if "conversation_states" in s] == ["INSERT"]
        assert not [s for s in seen if s.split()[0] in {"BEGIN", "COMMIT"}]
        notes_step = await storage_of(harness).get_state(key_of(harness, olena))
        assert notes_step is not None and await stored_state(harness, olena) == notes_step


async def test_a_read_only_press_never_waits_for_the_write_lock_holding_a_connection(
    bot_db_url: str, clock: FrozenClock
) -> None:
    """With SQLite's write lock taken (a booking being written), the time press gives its connection back
    first and writes its move once the lock is free: the lock's holder may be waiting for a connection."""
    async with BotHarness.running(bot_db_url, clock) as harness:
        await with_catalog(harness)
        olena = await client(harness)
        await harness.send_text(olena, "/start pro_anna-koval")
        await harness.press_button(olena, "Coaching session ·")
        await press_label(harness, olena, short(date(2026, 11, 24)))
        engine = harness.app.engine
        lock = write_lock(harness.app.sessions)
        assert engine is not None and lock is not None
        pool = engine.sync_engine.pool
        assert isinstance(pool, QueuePool)
        with statements(harness) as seen:
            async with lock:
                press = asyncio.create_task(press_label(harness, olena, clock_at("2026-11-24 09:00")))
                for _ in range(1000):
                    await asyncio.sleep(0.005)
                    if seen and pool.checkedout() == 0:
                        break
                assert not press.done() and seen and pool.checkedout() == 0
                assert [s for s in seen if "conversation_states" in s] == []
            await press
        assert [s.split()[0] for s in seen if "conversation_states" in s] == ["INSERT"]
        notes_step = await storage_of(harness).get_state(key_of(harness, olena))
        assert notes_step is not None and await stored_state(harness, olena) == notes_step


async def test_a_failed_commit_leaves_the_person_where_the_database_has_them(
    db_url: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with BotHarness.running(db_url, clock) as harness:
        await with_catalog(harness)
        olena = await client(harness)
        await to_notes_step(harness, olena)
        notes_step = await storage_of(harness).get_state(key_of(harness, olena))
        assert notes_step is not None and notes_step == await stored_state(harness, olena)

        commit = AsyncSession.commit

        async def fails_once(session: AsyncSession) -> None:
            # The update's writes (its conversation's included) were sent; the commit never happens.
            monkeypatch.setattr(AsyncSession, "commit", commit)
            await session.rollback()
            raise RuntimeError("the database went away at COMMIT")

        monkeypatch.setattr(AsyncSession, "commit", fails_once)
        harness.raise_errors = False
        await harness.send_text(olena, "Captions, please.")
        assert last(harness, olena).startswith("Something went wrong on our side")
        assert await stored_state(harness, olena) == notes_step
        assert await storage_of(harness).get_state(key_of(harness, olena)) == notes_step

        # Still at the notes step: what she types now is her notes.
        harness.raise_errors = True
        await harness.send_text(olena, "Captions, please.")
        assert "Your notes: Captions, please." in last(harness, olena)


# --- the cache's bookkeeping --------------------------------------------------------------------------

A = ("asking", {"x": 1})
B = ("other", {"x": 2})


def test_a_committed_write_is_served_and_a_failed_one_dropped() -> None:
    cache = ConversationCache()
    cache.writing("k")
    assert cache.get("k") is None
    cache.written("k", A)
    assert cache.get("k") == A
    cache.writing("k")
    assert cache.get("k") is None  # not served while its write is under way
    cache.written("k", None)  # rolled back (or unknown): the database decides next time
    assert cache.get("k") is None


def test_two_writes_at_once_leave_the_key_to_the_database() -> None:
    cache = ConversationCache()
    cache.writing("k")
    cache.writing("k")
    cache.written("k", A)
    cache.written("k", B)
    assert cache.get("k") is None
    cache.writing("k")  # one at a time again: cached
    cache.written("k", B)
    assert cache.get("k") == B


def test_a_read_overlapping_a_write_is_not_kept() -> None:
    cache = ConversationCache()
    token = cache.loading("k")
    cache.writing("k")
    cache.written("k", B)
    cache.loaded("k", token, A)  # read before the write committed: older than what is cached
    assert cache.get("k") == B

    cache = ConversationCache()
    cache.writing("k")
    token = cache.loading("k")
    cache.written("k", B)
    cache.loaded("k", token, A)
    assert cache.get("k") == B

    cache = ConversationCache()
    token = cache.loading("k")
    cache.loaded("k", token, A)
    assert cache.get("k") == A


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = ConversationCache(size=2)
    for name in ("a", "b"):
        cache.loaded(name, cache.loading(name), A)
    assert cache.get("a") == A  # "b" is now the least recently used
    cache.loaded("c", cache.loading("c"), B)
    assert len(cache) == 2
    assert cache.get("b") is None and cache.get("a") == A and cache.get("c") == B
