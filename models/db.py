"""Engine and session setup for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import MutableMapping
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.pool import Pool

from models import sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bookbot.db"


def normalise_url(url: str) -> str:
    """Accept the URLs operators paste (postgres://, postgresql://, sqlite://) and pick the async driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("is not a database URL: use sqlite:///path.db or postgresql://user:pass@host/db") from None
    backend = parsed.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> AsyncEngine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    return engine


# A pooled PostgreSQL connection is replaced after this long, so none outlives a server's or a proxy's
# idle timeout.
POOL_RECYCLE_SECONDS = 1800
# Connections the pool keeps open once a burst has opened them. SQLAlchemy's default (5, and 10 of
# overflow closed again on return) made each burst of 20 updates at once wait for a connection and open
# up to 15 anew (a server process forked, asyncpg's set-up, every statement prepared again on it): p99
# of 20 at once on PostgreSQL 96-115 ms, 63-87 ms with 20 kept, and about 0.5 ms less CPU per update
# (bench updates, after a first burst). Overflow still serves a larger burst.
POOL_SIZE = 20
POOL_OVERFLOW = 10
# A connection that sat in the pool longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a connection at checkout only when it has been idle, instead of `pool_pre_ping` on every one.

    `pool_pre_ping` costs a round trip on every checkout (about 1.7 ms per update, measured in
    `bench updates`). A server restart or a dropped idle connection is found on the first checkout after
    a quiet spell: the ping fails, the pool throws that connection away and retries with a fresh one
    (raising `DisconnectionError` from a checkout hook is SQLAlchemy's documented way). A disconnect in
    the middle of busy traffic still fails that one unit of work, and SQLAlchemy then invalidates every
    older connection of the pool, so the next update starts on a new one.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"stale pooled connection: {exc!r}") from exc


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Foreign keys on, WAL, BEGIN IMMEDIATE, and each statement in one trip to aiosqlite's thread
    (models.sqlite_driver).

    pysqlite's lazy BEGIN lets two check-then-write transactions both read and then fail with
    SQLITE_BUSY on write; taking the write lock at BEGIN serialises them instead (SQLAlchemy's
    documented recipe for pysqlite, which aiosqlite shares).
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _one_trip_per_statement(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=sqlite_driver.connect, **cparams)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A read-only unit of work (make_read_only_sessionmaker) and a one-statement one
        # (make_autocommit_sessionmaker) open no transaction: each statement is its own (the driver runs
        # in autocommit mode, `isolation_level = None` above), so a read never queues for the write lock
        # behind a booking being written, and neither pays a BEGIN.
        options = connection.get_execution_options()
        if options.get(READ_ONLY) or options.get(AUTOCOMMIT):
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    _end_only_open_transactions(engine)


def _end_only_open_transactions(engine: AsyncEngine) -> None:
    """COMMIT and ROLLBACK only when SQLite has a transaction open.

    SQLAlchemy ends every unit of work with a COMMIT or ROLLBACK, and the pool rolls back each
    connection it gets back after a commit, whether or not a transaction is open: a read-only or
    one-statement unit of work (which opens none, see above) and every committed one pay one or two
    of them. Each is a trip to aiosqlite's thread and back (about 30-50 µs of CPU, and a wake-up of
    the loop) that SQLite answers with nothing to do. `in_transaction` is a field read of the driver's
    connection (no SQL, no thread), so asking it is free."""
    dialect = engine.sync_engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        if _transaction_open(dbapi_connection):
            commit(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        if _transaction_open(dbapi_connection):
            rollback(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


def _transaction_open(dbapi_connection: Any) -> bool:
    """Whether SQLite has a transaction open on this (pooled aiosqlite) connection; True when that cannot
    be told (a closed connection), so the driver's own COMMIT or ROLLBACK decides."""
    try:
        return bool(dbapi_connection.driver_connection.in_transaction)
    except (AttributeError, ValueError):
        return True


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# The execution option and `Session.info` key of a read-only unit of work.
READ_ONLY = "bookbot_read_only"


class ReadOnlyViolation(RuntimeError):
    """A unit of work declared read-only tried to write: its declaration is wrong, fix the declaration."""


# The execution option of a unit of work that runs without a transaction of its own (see below).
AUTOCOMMIT = "bookbot_autocommit"


def _autocommit(engine: AsyncEngine, **options: Any) -> AsyncEngine:
    """`engine` with each statement its own transaction: no BEGIN, no COMMIT round trip. SQLite's begin
    hook above opens none when it sees AUTOCOMMIT (SQLAlchemy's own AUTOCOMMIT isolation level would
    instead switch pysqlite's implicit transactions back on when the connection returns to the pool);
    PostgreSQL uses SQLAlchemy's AUTOCOMMIT isolation level (asyncpg then starts no transaction)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{AUTOCOMMIT: True}, **options)
    return engine.execution_options(isolation_level="AUTOCOMMIT", **{AUTOCOMMIT: True}, **options)


def make_read_only_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work that only read. They open no transaction (each statement reads what is
    committed when it runs; a screen is a view, and whatever it offers is checked again by the write that
    acts on it), so on SQLite they never wait for, nor hold, the write lock, and pay no BEGIN on either
    database. A write in one raises `ReadOnlyViolation` (on PostgreSQL too, so the tests catch a wrong
    declaration on either database)."""
    return async_sessionmaker(_autocommit(engine, **{READ_ONLY: True}), expire_on_commit=False, info={READ_ONLY: True})


def make_autocommit_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for a unit of work of ONE statement (an upsert), which is atomic by itself: no BEGIN and
    no COMMIT around it. On SQLite the statement takes the write lock itself: queue on `write_lock` first,
    as every writer does. Never for two statements that must stand or fall together."""
    return async_sessionmaker(_autocommit(engine), expire_on_commit=False)


@event.listens_for(Session, "before_flush")
def _refuse_flush_when_read_only(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (
        session.new or session.deleted or any(session.is_modified(item) for item in session.dirty)
    ):
        raise ReadOnlyViolation("a read-only unit of work tried to write")


@event.listens_for(Session, "do_orm_execute")
def _refuse_dml_when_read_only(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlyViolation("a read-only unit of work tried to write")


class WriteLock(asyncio.Lock):
    """`asyncio.Lock` that can tell whether taking it now would wait (`free_now`)."""

    def __init__(self) -> None:
        super().__init__()
        self._queued = 0

    async def acquire(self) -> Literal[True]:
        self._queued += 1
        try:
            return await super().acquire()
        finally:
            self._queued -= 1

    def free_now(self) -> bool:
        """Nobody holds it and nobody waits for it: `acquire` returns at once. A unit of work that holds a
        pooled connection asks before taking it, so it never waits for the lock while holding a connection
        the lock's holder may need (a pool of 15 would otherwise deadlock under 20 presses at once)."""
        return not self.locked() and self._queued == 0


_write_locks: MutableMapping[Pool, WriteLock] = weakref.WeakKeyDictionary()


def write_lock(sessions: async_sessionmaker[AsyncSession]) -> WriteLock | None:
    """On SQLite, the one lock this process's writing units of work queue on (None on PostgreSQL).

    SQLite lets one writer in at a time, and a connection that finds the write lock taken sleeps and
    polls for it (busy_timeout), with back-off sleeps of up to 100 ms: twenty people booking at once made
    a p99 of seconds. Queued on an asyncio lock instead, each writer starts the moment the one before it
    commits, in arrival order."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    pool = bind.sync_engine.pool
    lock = _write_locks.get(pool)
    if lock is None:
        lock = _write_locks[pool] = WriteLock()
    return lock
