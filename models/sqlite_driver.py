"""aiosqlite with each statement in one trip to its thread.

aiosqlite runs the sqlite3 connection in a thread of its own, and every call is a trip there and back
(a queue put, a wake-up of the thread, a wake-up of the event loop: about 30-50 µs of CPU). SQLAlchemy's
aiosqlite adapter makes four of them per statement: open a cursor, execute, fetch all rows, close the
cursor. `OneTripConnection` hands the adapter a cursor that does all four in the thread at `execute`
and keeps what the adapter reads afterwards (rows, description, rowcount, lastrowid): one trip per
statement. Rows are fetched at once either way (the adapter buffers them for a client-side cursor,
the only kind this project uses).

`connect` takes what `aiosqlite.connect` takes; models.db installs it on every SQLite engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite

Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None
# What a statement leaves for SQLAlchemy to read: description, rowcount, lastrowid, rows.
_Outcome = tuple[Description, int, int | None, list[Any]]


class OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def _connect(self) -> OneTripConnection:
        """aiosqlite's own, except that a failed connect waits for its thread to stop. aiosqlite (0.22)
        queues the stop and returns at once, so a loop that closes soon after (a health check that found no
        database, then shut down) left the thread answering a closed loop ("Event loop is closed" in a
        thread of its own)."""
        if self._connection is None:
            opened = asyncio.get_running_loop().create_future()
            self._tx.put_nowait((opened, self._connector))
            try:
                self._connection = await opened
            except BaseException:
                stopped = self.stop()
                if stopped is not None:
                    with contextlib.suppress(BaseException):
                        await stopped
                self._connection = None
                raise
        return self


class OneTripCursor:
    """The part of an aiosqlite cursor SQLAlchemy's adapter uses; only `execute` and `executemany` go to
    the thread."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> OneTripCursor:
        await self._trip(
            partial(_run, self._connection._conn, sql, () if parameters is None else parameters, many=False)
        )
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> OneTripCursor:
        await self._trip(partial(_run, self._connection._conn, sql, parameters, many=True))
        return self

    async def _trip(self, run: Callable[[], _Outcome]) -> None:
        outcome: _Outcome = await self._connection._execute(run)  # type: ignore[no-untyped-call]
        self.description, self.rowcount, self.lastrowid, self._rows = outcome

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        taken = size or self.arraysize
        rows, self._rows = self._rows[:taken], self._rows[taken:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, *, many: bool) -> _Outcome:
    """In aiosqlite's thread: the whole statement, the cursor closed before the trip back."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """`aiosqlite.connect`, giving a OneTripConnection (its thread a daemon, as SQLAlchemy makes it)."""
    connection = OneTripConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True
    return connection
