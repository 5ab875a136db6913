"""The engine's connection handling: a pooled PostgreSQL connection the server dropped while it sat idle
is replaced on the next checkout, so the next unit of work succeeds (no `pool_pre_ping` on every checkout);
read-only units of work never take SQLite's write lock and cannot write."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from models import User, db
from tests.conftest import _pg_admin

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_slots.py explains.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.mark.postgres
async def test_a_connection_dropped_while_idle_is_replaced(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            first_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        await _pg_admin(f"SELECT pg_terminate_backend({first_pid})")
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
        async with engine.connect() as connection:
            second_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert second_pid != first_pid
    finally:
        await engine.dispose()


async def test_the_postgresql_pool_keeps_a_burst_of_connections_open() -> None:
    """Twenty updates at once each hold a connection: the pool keeps that many between bursts rather than
    opening (and preparing every statement on) most of them again each time; a caller's sizes still win."""
    url = "postgresql://bookbot@localhost/bookbot"
    engine = db.make_engine(url)
    sized = db.make_engine(url, pool_size=1, max_overflow=0)
    try:
        assert engine.sync_engine.pool.size() == db.POOL_SIZE >= 20
        assert engine.sync_engine.pool._max_overflow == db.POOL_OVERFLOW  # type: ignore[attr-defined]
        assert sized.sync_engine.pool.size() == 1
        assert sized.sync_engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
        await sized.dispose()


@pytest.mark.postgres
async def test_a_busy_connection_is_not_pinged(pg_url: str) -> None:
    """Within the idle limit the pooled connection is handed out as it is: a dropped one fails that unit
    of work, and the pool then replaces it (SQLAlchemy invalidates it on the disconnect)."""
    engine = db.make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            first_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        await _pg_admin(f"SELECT pg_terminate_backend({first_pid})")
        with pytest.raises(DBAPIError):
            async with engine.connect() as connection:
                await connection.scalar(text("SELECT 1"))
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != first_pid
    finally:
        await engine.dispose()


async def test_a_read_only_unit_of_work_does_not_wait_for_the_sqlite_write_lock(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    writes, reads = db.make_sessionmaker(engine), db.make_read_only_sessionmaker(engine)
    try:
        async with writes.begin() as writing:
            writing.add(User(telegram_id=1, first_name="Olena", created_at=NOW))
            await writing.flush()  # BEGIN IMMEDIATE: the write lock is held until the commit below
            async with reads() as reading:
                # Were this a BEGIN IMMEDIATE it would wait for the lock held above, which never comes.
                assert await reading.scalar(select(func.count()).select_from(User)) == 0
        async with reads() as reading:
            assert await reading.scalar(select(func.count()).select_from(User)) == 1
    finally:
        await engine.dispose()


async def test_a_read_only_unit_of_work_refuses_to_write(engine: AsyncEngine) -> None:
    reads = db.make_read_only_sessionmaker(engine)
    async with reads() as reading:
        reading.add(User(telegram_id=2, first_name="Nick", created_at=NOW))
        with pytest.raises(db.ReadOnlyViolation):
            await reading.flush()
    async with reads() as reading:
        with pytest.raises(db.ReadOnlyViolation):
            await reading.execute(update(User).values(first_name="x"))


async def test_sqlite_is_sent_commit_and_rollback_only_inside_a_transaction(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit of work with no transaction open ends without a COMMIT or ROLLBACK trip to the driver's
    thread; one with a transaction still commits, or rolls back, as before."""
    ended: list[str] = []
    for name in ("commit", "rollback"):
        original = getattr(aiosqlite.Connection, name)

        async def ending(self: aiosqlite.Connection, name: str = name, original: Any = original) -> None:
            ended.append(f"{name} {'in' if self.in_transaction else 'outside'} a transaction")
            await original(self)

        monkeypatch.setattr(aiosqlite.Connection, name, ending)
    engine = db.make_engine(sqlite_url)
    writes, reads = db.make_sessionmaker(engine), db.make_read_only_sessionmaker(engine)
    try:
        async with reads() as reading:
            await reading.scalar(select(func.count()).select_from(User))
            await reading.commit()
        assert ended == []
        async with writes.begin() as writing:
            writing.add(User(telegram_id=3, first_name="Olena", created_at=NOW))
        assert ended == ["commit in a transaction"]
        with pytest.raises(RuntimeError):
            async with writes.begin() as writing:
                writing.add(User(telegram_id=4, first_name="Nick", created_at=NOW))
                await writing.flush()
                raise RuntimeError("the handler failed")
        assert ended == ["commit in a transaction", "rollback in a transaction"]
        async with reads() as reading:
            assert await reading.scalar(select(User.telegram_id)) == 3
    finally:
        await engine.dispose()
