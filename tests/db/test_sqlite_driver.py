"""SQLite through models.sqlite_driver: each statement is one trip to aiosqlite's thread, and SQLAlchemy
still sees what the driver reports (rows, row counts, inserted ids, errors)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
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


def test_a_failed_connect_leaves_its_thread_nothing_to_tell_a_closed_loop(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiosqlite's own connect only queues its thread's stop; when the loop closed before the thread got to
    # it, the thread answered a closed loop ("Event loop is closed" in a thread of its own). The thread is
    # made slow here so that the loop surely closes first unless the connect waits for the stop.
    failures: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    stop = sqlite_driver.OneTripConnection.stop

    def slow_stop(connection: sqlite_driver.OneTripConnection) -> Any:
        connection._tx.put_nowait((None, lambda: time.sleep(0.05)))
        return stop(connection)

    monkeypatch.setattr(sqlite_driver.OneTripConnection, "stop", slow_stop)
    connection = sqlite_driver.connect(str(tmp_path / "no-such-folder" / "bookbot.db"))

    async def connect() -> None:
        with pytest.raises(sqlite3.OperationalError):
            await connection

    asyncio.run(connect())  # the loop closes as soon as the connect has raised
    connection._thread.join(timeout=5)
    assert not connection._thread.is_alive()
    assert failures == []
