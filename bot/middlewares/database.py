"""One database session per update: committed when the handler returns, rolled back when it raises.

Handlers receive it as `session`. Whatever a handler writes, including outbox rows for other people,
commits together or not at all; the handler's own replies go out only after that commit
(bot/middlewares/replies.py), so no Telegram call is ever made while this transaction is open
(DESIGN.md, data flow step 3).

Presses of buttons the routers declared read-only (`Registry.read_only_callbacks`) get a read-only
session (models.db.make_read_only_sessionmaker), which opens no transaction (no BEGIN: each statement
reads what is committed): on SQLite it never takes the write lock, so browsing the calendar never waits
behind someone's booking. The other updates on SQLite queue on
the process's write lock (models.db.write_lock) rather than in SQLite's busy loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.replies import transaction_open
from models.db import write_lock


class DbSessionMiddleware(BaseMiddleware):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        read_only_sessions: async_sessionmaker[AsyncSession] | None = None,
        reads_only: Callable[[TelegramObject], bool] | None = None,
    ) -> None:
        self.sessions = sessions
        self.read_only_sessions = read_only_sessions
        self.reads_only = reads_only
        self.write_lock = write_lock(sessions)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sessions = self.sessions
        queue: AbstractAsyncContextManager[Any] = nullcontext() if self.write_lock is None else self.write_lock
        if self.read_only_sessions is not None and self.reads_only is not None and self.reads_only(event):
            sessions = self.read_only_sessions
            queue = nullcontext()
        async with queue, sessions() as session:
            with transaction_open():
                data["session"] = session
                try:
                    result = await handler(event, data)
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
                return result
