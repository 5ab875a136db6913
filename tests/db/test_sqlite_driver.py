"""SQLite through models.sqlite_driver: each statement is one trip to aiosqlite's thread, and SQLAlchemy
still sees what the driver reports (rows, row counts, inserted ids, errors)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from models import db, sqlite_driver


@pytest.fixture
async def engine(tmp_path: Any) -> AsyncIterator[AsyncEngine]:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)"))
    yield engine
    await engine.dispose()


async def test_each_statement_is_one_trip_to_the_thread(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    trips: list[str] = []
    original = sqlite_driver.OneTripConnection._execute

    async def counted(self: sqlite_driver.OneTripConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "func", fn).__name__)
        return await original(self, fn, *args, **kwargs)

    async with engine.connect() as connection:
        monkeypatch.setattr(sqlite_driver.OneTripConnection, "_execute", counted)
        await connection.execute(text("INSERT INTO t (v) VALUES ('a'), ('b')"))
        rows = (await connection.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
        await connection.commit()
    assert rows == ["a", "b"]
    # BEGIN IMMEDIATE, the insert, the select: one trip each; then the commit.
    assert trips == ["_run", "_run", "_run", "commit"]


async def test_sqlalchemy_sees_rows_counts_ids_and_errors(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": "a"})
        assert inserted.lastrowid == 1
        returned = await connection.execute(text("INSERT INTO t (v) VALUES (:v) RETURNING id"), {"v": "b"})
        assert returned.scalar_one() == 2
        many = await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "c"}, {"v": "d"}])
        assert many.rowcount == 2
        updated = await connection.execute(text("UPDATE t SET v = v || '!' WHERE id > :id"), {"id": 1})
        assert updated.rowcount == 3
        result = await connection.execute(text("SELECT id, v FROM t ORDER BY id"))
        assert result.fetchone() == (1, "a")
        assert result.fetchmany(2) == [(2, "b!"), (3, "c!")]
        assert result.fetchall() == [(4, "d!")]
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        with pytest.raises(OperationalError):
            await connection.execute(text("SELECT nothing FROM nowhere"))
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM t")) == 4


async def test_a_failed_connect_stops_its_thread_before_it_raises(tmp_path: Any) -> None:
    # aiosqlite's own connect only queues the stop: its thread could then answer a loop already closed.
    connection = sqlite_driver.connect(str(tmp_path / "no-such-folder" / "bookbot.db"))
    with pytest.raises(sqlite3.OperationalError):
        await connection
    assert not connection._thread.is_alive()
