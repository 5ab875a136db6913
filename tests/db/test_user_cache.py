"""The process's cache of `users` rows (bot/services/user_cache.py): a person's row is read from the
database once, then built from memory without SQL, and memory never holds what the database does not
(every write through the engine drops what it touches; only what committed enters)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import outbox, user_cache
from bot.services.clock import FrozenClock
from bot.services.user_cache import UserCache
from bot.services.users import find_user, get_or_create_user, user_for_chat
from models import User
from models.db import make_read_only_sessionmaker

ID = 7001


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_outbox.py explains.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
def cache(engine: AsyncEngine) -> UserCache:
    return user_cache.enable(engine)


@contextmanager
def users_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements of `engine` that name the users table."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "users" in statement:
            seen.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def make_person(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, telegram_id: int = ID) -> None:
    async with sessions.begin() as session:
        await get_or_create_user(session, telegram_id, "Olena", "en", clock.now())


async def as_stored(sessions: async_sessionmaker[AsyncSession], telegram_id: int = ID) -> User:
    """The row as the database has it (a plain SELECT, no cache)."""
    async with sessions() as session:
        return (await session.scalars(select(User).where(User.telegram_id == telegram_id))).one()


def same_row(a: User, b: User) -> bool:
    return all(getattr(a, column) == getattr(b, column) for column in user_cache._COLUMNS)


async def test_a_known_person_is_built_without_sql_and_still_written_by_the_flush(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)  # first contact: the INSERT's row enters once committed
    with users_statements(engine) as seen:
        async with sessions.begin() as session:
            user = await get_or_create_user(session, ID, "Olena", "en", clock.now())
            assert seen == []
            assert inspect(user).persistent and inspect(user).session is session.sync_session
            user.locale = "uk"
            user.timezone = "Europe/Kyiv"
        assert [s.split(" SET ")[0] for s in seen] == ["UPDATE users"]
    stored = await as_stored(sessions)
    assert (stored.locale, stored.timezone) == ("uk", "Europe/Kyiv")
    # What the update committed is what the next one gets, still without reading.
    with users_statements(engine) as seen:
        async with sessions() as session:
            again = await find_user(session, ID)
        assert seen == []
    assert again is not None and same_row(again, stored)


async def test_a_rolled_back_change_leaves_the_database_values(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    async with sessions() as session:
        user = await find_user(session, ID)
        assert user is not None
        user.locale = "uk"
        await session.flush()
        await session.rollback()
    assert cache.get(ID) is None
    async with sessions() as session:
        user = await find_user(session, ID)
        assert user is not None and user.locale is None
    assert cache.get(ID) is not None  # read again, and kept


async def test_a_change_through_any_session_of_the_engine_is_seen(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    async with sessions.begin() as session:
        # Not through find_user: loaded by a query of its own, as pro_profile or crisis records do.
        user = (await session.scalars(select(User).where(User.telegram_id == ID))).one()
        user.country = "UA"
    async with sessions() as session:
        found = await find_user(session, ID)
        assert found is not None and found.country == "UA"


async def test_an_update_of_the_table_by_statement_drops_every_row(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    await make_person(sessions, clock, ID + 1)
    assert cache.get(ID) is not None and cache.get(ID + 1) is not None
    async with sessions.begin() as session:
        await session.execute(update(User).where(User.telegram_id == ID).values(blocked_at=clock.now()))
        assert len(cache) == 0
    async with sessions() as session:
        user = await find_user(session, ID)
        assert user is not None and user.blocked_at == clock.now()

    # Textual SQL on a bare connection, which no session sees.
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE users SET first_name = 'Olenka' WHERE telegram_id = :id"), {"id": ID})
    async with sessions() as session:
        user = await find_user(session, ID)
        assert user is not None and user.first_name == "Olenka"


async def test_the_worker_marking_a_blocked_recipient_is_seen_by_their_next_update(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    async with sessions.begin() as session:
        recipient = await find_user(session, ID)
        assert recipient is not None
        await outbox.enqueue(session, "k", recipient_id=recipient.id, kind="test", payload={}, due_at=clock.now())
    async with sessions.begin() as session:
        [claimed] = await outbox.claim_due(session, clock.now())
        await outbox.mark_blocked(
            session, claimed.id, clock.now(), "TelegramForbiddenError: bot was blocked by the user"
        )
    async with sessions.begin() as session:
        user = await find_user(session, ID)
        assert user is not None and user.blocked_at == clock.now()
        # They write again: the mark is cleared, and that too is what the next update sees.
        await get_or_create_user(session, ID, "Olena", "en", clock.now())
    async with sessions() as session:
        user = await find_user(session, ID)
        assert user is not None and user.blocked_at is None
    assert (await as_stored(sessions)).blocked_at is None


async def test_nothing_uncommitted_is_kept(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    cache.clear()
    async with sessions() as session:
        await session.execute(text("UPDATE conversation_states SET data = data WHERE key = 'none'"))
        await session.flush()
        session.add(User(telegram_id=ID + 5, first_name="", created_at=clock.now()))
        await session.flush()
        assert await find_user(session, ID) is not None
        assert cache.get(ID) is None
        await session.rollback()
    assert cache.get(ID + 5) is None
    async with sessions() as session:
        # A savepoint released (as user_for_chat's), then the transaction around it rolled back.
        await user_for_chat(session, ID + 6, clock.now())
        user = await find_user(session, ID)
        assert user is not None
        async with session.begin_nested():
            user.locale = "uk"
        assert cache.get(ID) is None
        await session.rollback()
    assert cache.get(ID) is None and cache.get(ID + 6) is None
    async with sessions() as session:
        assert await find_user(session, ID + 6) is None
        user = await find_user(session, ID)
        assert user is not None and user.locale is None
    async with sessions.begin() as session:
        made = await user_for_chat(session, ID + 5, clock.now())
        made_id = made.id
    async with sessions() as session:
        found = await find_user(session, ID + 5)
        assert found is not None and found.id == made_id


async def test_a_read_only_unit_of_work_gets_the_row_and_cannot_write_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    reading = make_read_only_sessionmaker(engine)
    with users_statements(engine) as seen:
        async with reading() as session:
            user = await find_user(session, ID)
            assert user is not None and user.first_name == "Olena"
            await session.commit()
        assert seen == []


async def test_disabled_engines_read_every_time(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    with users_statements(engine) as seen:
        for _ in range(2):
            async with sessions() as session:
                assert await find_user(session, ID) is not None
        assert len(seen) == 2


async def test_a_read_that_a_write_overlapped_is_not_kept(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cache: UserCache, clock: FrozenClock
) -> None:
    await make_person(sessions, clock)
    cache.clear()
    async with make_read_only_sessionmaker(engine)() as reading:  # no transaction: SQLite's writer may go on
        token = cache.loading(ID)
        stale = (await reading.scalars(select(User).where(User.telegram_id == ID))).one()
        # Before the read is filed, another unit of work changes the row and commits.
        async with sessions.begin() as writing:
            user = await find_user(writing, ID)
            assert user is not None
            user.first_name = "Olenka"
        user_cache.loaded(reading, cache, ID, token, stale)
    async with sessions() as session:
        found = await find_user(session, ID)
        assert found is not None and found.first_name == "Olenka"


# --- the bookkeeping ----------------------------------------------------------------------------------

ROW = (1, ID, "Olena", None, None, None, None, None)
OTHER = (1, ID, "Olenka", None, None, None, None, None)


def test_a_committed_write_is_served_and_a_failed_one_dropped() -> None:
    cache = UserCache()
    cache.writing(ID)
    cache.written(ID, ROW)
    assert cache.get(ID) == ROW
    cache.writing(ID)
    assert cache.get(ID) is None  # not served while written
    cache.written(ID, None)
    assert cache.get(ID) is None


def test_two_writes_at_once_leave_the_row_to_the_database() -> None:
    cache = UserCache()
    cache.writing(ID)
    cache.writing(ID)
    cache.written(ID, ROW)
    cache.written(ID, OTHER)
    assert cache.get(ID) is None


def test_a_read_racing_a_write_is_not_kept() -> None:
    cache = UserCache()
    token = cache.loading(ID)
    cache.writing(ID)
    cache.written(ID, None)
    cache.loaded(ID, token, ROW)
    assert cache.get(ID) is None
    # Nor one that began while the row was being written.
    cache.writing(ID)
    token = cache.loading(ID)
    cache.loaded(ID, token, ROW)
    assert cache.get(ID) is None
    cache.written(ID, None)


def test_a_table_wide_write_empties_the_cache_until_its_transaction_ends() -> None:
    cache = UserCache()
    cache.loaded(ID, cache.loading(ID), ROW)
    before = cache.loading(ID + 1)
    cache.bulk_writing()
    assert cache.get(ID) is None
    cache.loaded(ID, cache.loading(ID), ROW)
    assert cache.get(ID) is None  # read while the table is being written
    cache.writing(ID + 2)
    cache.written(ID + 2, ROW)
    assert cache.get(ID + 2) is None
    cache.bulk_written()
    cache.loaded(ID + 1, before, ROW)
    assert cache.get(ID + 1) is None  # began before the write ended
    cache.loaded(ID, cache.loading(ID), ROW)
    assert cache.get(ID) == ROW


def test_it_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = UserCache(size=2)
    for telegram_id in (1, 2):
        cache.loaded(telegram_id, cache.loading(telegram_id), ROW)
    assert cache.get(1) == ROW
    cache.loaded(3, cache.loading(3), ROW)
    assert len(cache) == 2 and cache.get(2) is None and cache.get(1) == ROW


def test_writes_of_other_tables_and_adding_people_drop_nothing() -> None:
    pattern = user_cache._WRITES_USERS
    assert pattern.match("UPDATE users SET blocked_at=? WHERE users.id = ?")
    assert pattern.match('DELETE FROM "users" WHERE id = 1')
    assert pattern.match("INSERT OR REPLACE INTO users (id) VALUES (1)")
    assert not pattern.match("UPDATE users_archive SET x = 1")
    assert not pattern.match("SELECT users.id FROM users FOR UPDATE")
    insert = pattern.match("INSERT INTO users (telegram_id) VALUES (?) ON CONFLICT (telegram_id) DO NOTHING")
    assert insert is not None and insert.group(1) is not None and not user_cache._UPSERT.search(insert.string)
