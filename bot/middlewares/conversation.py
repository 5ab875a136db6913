"""Conversation state (aiogram's FSM) in the bot's own database: the embedded default's answer to "a
restart forgets where everyone was". With REDIS_URL, aiogram's RedisStorage keeps it instead.

Within an update (`ConversationMiddleware`, inside the database middleware, opens the scope) a person's
row is read once through the update's own session, changes stay in memory, and when the handler
returns they are written in the update's transaction, just before it commits. So

- the conversation moves exactly when the update's changes are committed: a handler that raised leaves
  the person where they were, as the rolled-back database does;
- no second connection ever waits on the update's transaction (on SQLite there is one write lock);
- a read-only press (Registry.read_only_callbacks) stays read-only: its conversation change is written
  in a short transaction of its own once the update's has ended (`ConversationScope`, outside the
  database middleware), so an update never holds two connections at once (a pool of 15 serving 20
  presses at once would otherwise run dry).

Outside an update (a test, a script), each call reads or writes at once.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from aiogram.types import TelegramObject
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.clock import Clock
from models import ConversationState
from models.db import READ_ONLY


@dataclass
class _Record:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    changed: bool = False
    # As read from the database: a change that comes back to it writes nothing.
    stored: tuple[str | None, dict[str, Any]] = (None, {})

    def differs(self) -> bool:
        return (self.state, self.data) != self.stored


@dataclass
class _Scope:
    session: AsyncSession | None = None
    records: dict[str, _Record] = field(default_factory=dict)


# The update under way: its session and the records it has read or written, by storage key.
_scope: ContextVar[_Scope | None] = ContextVar("conversation_scope", default=None)


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.key_builder = key_builder or DefaultKeyBuilder(prefix="fsm", with_bot_id=True)

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
        """Write what this update changed, in its transaction; a read-only update's changes wait for
        `flush_after`."""
        scope = _scope.get()
        if scope is None or scope.session is None or scope.session.info.get(READ_ONLY):
            return
        await self._flush(scope, scope.session)

    async def flush_after(self) -> None:
        """After the update's transaction has ended: what a read-only update changed, in a short
        transaction of its own."""
        scope = _scope.get()
        if scope is None or not any(record.changed for record in scope.records.values()):
            return
        async with self.sessions.begin() as session:
            await self._flush(scope, session)

    async def _flush(self, scope: _Scope, session: AsyncSession) -> None:
        changed = {key: record for key, record in scope.records.items() if record.changed and record.differs()}
        for key, record in changed.items():
            await self._write(session, key, record)
        for record in scope.records.values():
            if record.changed:
                record.changed = False
                record.stored = (record.state, copy.deepcopy(record.data))

    # -- inside ------------------------------------------------------------------------------------

    async def _record(self, key: StorageKey) -> _Record:
        name = self.key_builder.build(key)
        scope = _scope.get()
        if scope is not None and name in scope.records:
            return scope.records[name]
        if scope is not None and scope.session is not None:
            record = await self._read(scope.session, name)
        else:
            async with self.sessions() as session:
                record = await self._read(session, name)
        if scope is not None:
            scope.records[name] = record
        return record

    async def _read(self, session: AsyncSession, name: str) -> _Record:
        row = (
            await session.execute(
                select(ConversationState.state, ConversationState.data).where(ConversationState.key == name)
            )
        ).first()
        if row is None:
            return _Record()
        data = dict(row.data or {})
        return _Record(row.state, data, stored=(row.state, copy.deepcopy(data)))

    async def _changed(self, key: StorageKey, record: _Record) -> None:
        if _scope.get() is not None:
            record.changed = True
            return
        async with self.sessions.begin() as session:
            await self._write(session, self.key_builder.build(key), record)

    async def _write(self, session: AsyncSession, name: str, record: _Record) -> None:
        if record.state is None and not record.data:
            # Nowhere in particular, nothing remembered: no row (the table holds conversations under way).
            await session.execute(delete(ConversationState).where(ConversationState.key == name))
            return
        values = {"key": name, "state": record.state, "data": record.data, "updated_at": self.clock.now()}
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(ConversationState).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[ConversationState.key],
            set_={
                "state": statement.excluded.state,
                "data": statement.excluded.data,
                "updated_at": statement.excluded.updated_at,
            },
        )
        await session.execute(statement)


class ConversationScope(BaseMiddleware):
    """Outside the database middleware: opens an update's scope on a DatabaseStorage, and once the
    update's transaction has ended writes what a read-only update changed (`flush_after`). A handler
    that raised changes nothing."""

    def __init__(self, storage: DatabaseStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = self.storage.begin()
        try:
            result = await handler(event, data)
            await self.storage.flush_after()
            return result
        finally:
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
