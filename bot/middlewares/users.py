"""Load (or create) the `models.User` behind every update; handlers receive it as `user`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.clock import Clock
from bot.services.users import get_or_create_user
from models import User


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
            data["user"] = await self.get_or_create(
                data["session"], sender.id, sender.first_name, sender.language_code, self.clock.now()
            )
        return await handler(event, data)
