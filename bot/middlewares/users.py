"""Load (or create) the `models.User` behind every update; handlers receive it as `user`.

With the database conversation storage (one process) a person's row comes from the process's cache of
them after their first update (bot/services/user_cache.py, through `find_user`), without SQL.

In a read-only session (models.db.make_read_only_sessionmaker) the row is only read; when it needs
writing (a first contact, a new first name, an unblock) that happens in a short write transaction of
its own, and the read-only session then starts afresh to see it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.clock import Clock
from bot.services.users import find_user, get_or_create_user, user_is_current
from models import User
from models.db import READ_ONLY


class GetOrCreateUser(Protocol):
    async def __call__(
        self, session: AsyncSession, telegram_id: int, first_name: str, language_code: str | None, now: datetime
    ) -> User: ...


class UserMiddleware(BaseMiddleware):
    def __init__(self, clock: Clock, get_or_create: GetOrCreateUser | None = None) -> None:
        self.clock = clock
        self.get_or_create = get_or_create or get_or_create_user

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender: TelegramUser | None = data.get("event_from_user")
        if sender is not None and not sender.is_bot:
            session: AsyncSession = data["session"]
            if session.info.get(READ_ONLY):
                data["user"] = await self._read(session, data["sessions"], sender)
            else:
                data["user"] = await self.get_or_create(
                    session, sender.id, sender.first_name, sender.language_code, self.clock.now()
                )
        return await handler(event, data)

    async def _read(
        self, session: AsyncSession, sessions: async_sessionmaker[AsyncSession], sender: TelegramUser
    ) -> User:
        user = await find_user(session, sender.id)
        if user is not None and user_is_current(user, sender.first_name):
            return user
        async with sessions.begin() as writing:
            await self.get_or_create(writing, sender.id, sender.first_name, sender.language_code, self.clock.now())
        await session.rollback()  # end the snapshot taken before that write
        written = await find_user(session, sender.id)
        if written is None:
            raise RuntimeError(f"the user row of {sender.id} vanished while it was written")
        return written
