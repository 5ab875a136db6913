"""One database session per update: committed when the handler returns, rolled back when it raises.

Handlers receive it as `session`. Whatever a handler writes, including outbox rows for other people,
commits together or not at all; the handler's own replies go out only after that commit
(bot/middlewares/replies.py), so no Telegram call is ever made while this transaction is open
(DESIGN.md, data flow step 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.replies import transaction_open


class DbSessionMiddleware(BaseMiddleware):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.sessions() as session:
            with transaction_open():
                data["session"] = session
                try:
                    result = await handler(event, data)
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
                return result
