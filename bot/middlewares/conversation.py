"""Conversation state (aiogram's FSM) in the bot's own database: the embedded default's answer to "a
restart forgets where everyone was". With REDIS_URL, aiogram's RedisStorage keeps it instead.

Within an update (`ConversationMiddleware`, inside the database middleware, opens the scope) a person's
row is read once through the update's own session, changes stay in memory, and when the handler
returns they are written in the update's transaction, just before it commits. So

- the conversation moves exactly when the update's changes are committed: a handler that raised leaves
  the person where they were, as the rolled-back database does;
- no second connection ever waits on the update's transaction (on SQLite there is one write lock);
- a read-only press (Registry.read_only_callbacks) stays read-only: its conversation change is one
  upsert without a transaction around it (no BEGIN/COMMIT; on SQLite queued on the process's write lock
  like every writer), run on the update's own connection once the handler has returned, so an update
  never holds two connections at once (a pool of 15 serving 20 presses at once would otherwise run
  dry). When the write lock is taken (nobody waits for it holding a connection) or several
  conversations changed, they are written once the update's unit of work has ended and its
  connection is back (`ConversationScope`, outside the database middleware).

Outside an update (a test, a script), each call reads or writes at once.

The storage also keeps the conversations it has read or written in memory (`ConversationCache`: a
bounded LRU), so a person's row is read from the database once per process, not on every update. That
is right only because the database storage serves ONE process: several replicas need REDIS_URL (and
get aiogram's RedisStorage, which this cache is no part of), and nothing else writes the table. The
cache follows the database, never leads it: a write enters it only once its transaction has committed
(a rolled-back or failed update drops the key instead, so the next update reads the database), and a
key read or written by two updates at once is dropped rather than guessed.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from aiogram import BaseMiddleware
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from aiogram.types import TelegramObject
from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.services.clock import Clock
from bot.services.committed_cache import CommittedCache
from models import ConversationState
from models.db import READ_ONLY, make_autocommit_sessionmaker, write_lock

# What the database holds for one conversation: (state, data). Shared between the cache and the records
# made from it, so never changed in place (a record's data is replaced, never mutated: `set_data` stores a
# copy, `get_data` hands one out).
Entry = tuple[str | None, dict[str, Any]]
_NOWHERE: Entry = (None, {})

# Conversations kept in memory per storage: a process serving this many people at once still reads each
# one from the database only when it comes back after a long pause.
CACHE_SIZE = 10_000


class ConversationCache(CommittedCache[str, Entry]):
    """The conversations this process read or wrote lately, as the database has them (bounded LRU; the
    bookkeeping is bot.services.committed_cache's)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        super().__init__(size)


@dataclass
class _Record:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    changed: bool = False
    # As the database has it: a change that comes back to it writes nothing.
    stored: Entry = _NOWHERE

    def differs(self) -> bool:
        return (self.state, self.data) != self.stored


@dataclass
class _Scope:
    session: AsyncSession | None = None
    records: dict[str, _Record] = field(default_factory=dict)
    # Keys this update wrote (or tried to), with what it wrote: they enter the cache once its
    # transaction is known to have committed (`DatabaseStorage.settle`).
    written: dict[str, Entry] = field(default_factory=dict)


# The update under way: its session and the records it has read or written, by storage key.
_scope: ContextVar[_Scope | None] = ContextVar("conversation_scope", default=None)


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        key_builder: KeyBuilder | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.key_builder = key_builder or DefaultKeyBuilder(prefix="fsm", with_bot_id=True)
        self.cache = ConversationCache(cache_size)
        bind = sessions.kw.get("bind")
        # One upsert needs no transaction around it (no BEGIN, no COMMIT round trip).
        self._one_statement = make_autocommit_sessionmaker(bind) if isinstance(bind, AsyncEngine) else None
        self._write_lock = write_lock(sessions)

    # -- aiogram's storage API ---------------------------------------------------------------------

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        record = await self._record(key)
        record.state = state.state if isinstance(state, State) else state
        await self._changed(key, record)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._record(key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        record = await self._record(key)
        record.data = copy.deepcopy(data)
        await self._changed(key, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._record(key)).data)

    async def close(self) -> None:
        return None

    # -- the update's scope ------------------------------------------------------------------------

    def begin(self) -> Any:
        """Open an update's scope (before its session exists); `end` with the returned token."""
        return _scope.set(_Scope())

    def end(self, token: Any) -> None:
        _scope.reset(token)

    def bind(self, session: AsyncSession) -> None:
        """The update's session, for reading and writing the conversation in its transaction."""
        scope = _scope.get()
        if scope is not None:
            scope.session = session

    async def flush(self) -> None:
        """Write what this update changed, in its transaction. A read-only update has none: its one
        changed conversation (the usual case) is written on its connection as one statement of its own
        when SQLite's write lock is free at once; otherwise (or with several changed) it waits for
        `flush_after`."""
        scope = _scope.get()
        if scope is None or scope.session is None:
            return
        if not scope.session.info.get(READ_ONLY):
            await self._flush(scope, scope.session)
            return
        if len(self._changed_records(scope)) != 1:
            return
        if self._write_lock is not None and not self._write_lock.free_now():
            # Never wait for the lock while holding a connection: its holder may be waiting for one.
            return
        queue: AbstractAsyncContextManager[Any] = nullcontext() if self._write_lock is None else self._write_lock
        # The read-only session's connection runs each statement as its own transaction (no BEGIN):
        # the upsert commits by itself, with no second connection, session or COMMIT for it. It goes
        # through the connection because the session refuses writes (models.db's read-only guard).
        async with queue:
            await self._flush(scope, await scope.session.connection())

    async def flush_after(self) -> None:
        """After the update's transaction has ended: what a read-only update changed and `flush` left (the
        write lock was taken, or several conversations changed, which must be written together), in a
        unit of work of its own."""
        scope = _scope.get()
        if scope is None:
            return
        changed = self._changed_records(scope)
        if not changed:
            return
        queue: AbstractAsyncContextManager[Any] = nullcontext() if self._write_lock is None else self._write_lock
        if len(changed) == 1 and self._one_statement is not None:
            async with queue, self._one_statement() as session:
                await self._flush(scope, session)
                await session.commit()
            return
        async with queue, self.sessions.begin() as session:
            await self._flush(scope, session)

    @staticmethod
    def _changed_records(scope: _Scope) -> list[_Record]:
        return [record for record in scope.records.values() if record.changed and record.differs()]

    def settle(self, committed: bool) -> None:
        """The update is over: what it wrote enters the cache if its transactions committed (else those
        keys are dropped from it, and the next update reads them from the database)."""
        scope = _scope.get()
        if scope is None:
            return
        for name, entry in scope.written.items():
            self.cache.written(name, entry if committed else None)
        scope.written.clear()

    async def _flush(self, scope: _Scope, session: AsyncSession | AsyncConnection) -> None:
        changed = {key: record for key, record in scope.records.items() if record.changed and record.differs()}
        for key, record in changed.items():
            if key not in scope.written:
                self.cache.writing(key)
            scope.written[key] = (record.state, record.data)
            await self._write(session, key, record)
        for record in scope.records.values():
            if record.changed:
                record.changed = False
                record.stored = (record.state, record.data)

    # -- inside ------------------------------------------------------------------------------------

    async def _record(self, key: StorageKey) -> _Record:
        name = self.key_builder.build(key)
        scope = _scope.get()
        if scope is not None and name in scope.records:
            return scope.records[name]
        entry = self.cache.get(name)
        if entry is None:
            token = self.cache.loading(name)
            try:
                if scope is not None and scope.session is not None:
                    entry = await self._read(scope.session, name)
                else:
                    async with self.sessions() as session:
                        entry = await self._read(session, name)
            except BaseException:
                self.cache.abandoned(name, token)
                raise
            self.cache.loaded(name, token, entry)
        record = _Record(entry[0], entry[1], stored=entry)
        if scope is not None:
            scope.records[name] = record
        return record

    async def _read(self, session: AsyncSession, name: str) -> Entry:
        row = (await session.execute(_SELECT, {"name": name})).first()
        if row is None:
            return _NOWHERE
        return (row.state, dict(row.data or {}))

    async def _changed(self, key: StorageKey, record: _Record) -> None:
        if _scope.get() is not None:
            record.changed = True
            return
        name = self.key_builder.build(key)
        entry: Entry = (record.state, record.data)
        committed: Entry | None = None
        self.cache.writing(name)
        try:
            async with self.sessions.begin() as session:
                await self._write(session, name, record)
            committed = record.stored = entry
        finally:
            self.cache.written(name, committed)

    async def _write(self, session: AsyncSession | AsyncConnection, name: str, record: _Record) -> None:
        if record.state is None and not record.data:
            # Nowhere in particular, nothing remembered: no row (the table holds conversations under way).
            await session.execute(_DELETE, {"name": name})
            return
        values = {"key": name, "state": record.state, "data": record.data, "updated_at": self.clock.now()}
        dialect = session.dialect if isinstance(session, AsyncConnection) else session.get_bind().dialect
        await session.execute(_UPSERT[dialect.name == "postgresql"], values)


# The statements, built once: building an INSERT ... ON CONFLICT costs about 0.5 ms of CPU, executing a
# ready one (SQLAlchemy then finds its compiled form by a memoized key) next to nothing.
_TABLE = cast(Table, ConversationState.__table__)
_SELECT = select(_TABLE.c.state, _TABLE.c.data).where(_TABLE.c.key == bindparam("name"))
_DELETE = delete(_TABLE).where(_TABLE.c.key == bindparam("name"))


def _upsert(insert: Callable[[Any], Any]) -> Any:
    statement = insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.key],
        set_={
            "state": statement.excluded.state,
            "data": statement.excluded.data,
            "updated_at": statement.excluded.updated_at,
        },
    )


# By "is this PostgreSQL".
_UPSERT = {False: _upsert(sqlite.insert), True: _upsert(postgresql.insert)}


class ConversationScope(BaseMiddleware):
    """Outside the database middleware: opens an update's scope on a DatabaseStorage, and once the
    update's transaction has ended writes what a read-only update changed and `flush` left (`flush_after`)
    and lets what the update wrote into the storage's cache (`settle`). A handler that raised changes nothing."""

    def __init__(self, storage: DatabaseStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = self.storage.begin()
        committed = False
        try:
            result = await handler(event, data)
            await self.storage.flush_after()
            committed = True
            return result
        finally:
            self.storage.settle(committed)
            self.storage.end(token)


class ConversationMiddleware(BaseMiddleware):
    """Inside the database middleware: the conversation is read and written through the update's session,
    its changes written when the handler returns (before the update's transaction commits)."""

    def __init__(self, storage: DatabaseStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.storage.bind(data["session"])
        result = await handler(event, data)
        await self.storage.flush()
        return result
