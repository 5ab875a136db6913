"""Load (or create) the `models.User` behind every update; handlers receive it as `user`."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, cast

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.clock import Clock
from models import User


class GetOrCreateUser(Protocol):
    async def __call__(
        self, session: AsyncSession, telegram_id: int, first_name: str, language_code: str | None, now: datetime
    ) -> User: ...


async def _get_or_create_user(
    session: AsyncSession, telegram_id: int, first_name: str, language_code: str | None, now: datetime
) -> User:
    """Stand-in until bot.services.users provides get_or_create_user (same signature).

    The locale stays None until the person picks one: onboarding asks, and the locale middleware
    falls back on `language_code` meanwhile.
    """
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    if user is None:
        try:
            async with session.begin_nested():
                user = User(telegram_id=telegram_id, first_name=first_name[:128], created_at=now)
                session.add(user)
        except IntegrityError:
            # Two first updates from one person at once: the other one created the row.
            user = (await session.scalars(select(User).where(User.telegram_id == telegram_id))).one()
    if user.first_name != first_name[:128]:
        user.first_name = first_name[:128]
    return user


def _resolve() -> GetOrCreateUser:
    try:
        module = importlib.import_module("bot.services.users")
    except ModuleNotFoundError:
        return _get_or_create_user
    return cast(GetOrCreateUser, getattr(module, "get_or_create_user", _get_or_create_user))


class UserMiddleware(BaseMiddleware):
    def __init__(self, clock: Clock, get_or_create: GetOrCreateUser | None = None) -> None:
        self.clock = clock
        self.get_or_create = get_or_create or _resolve()

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
