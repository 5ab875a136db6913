"""Drop repeated updates: Telegram delivers at least once, and retries what it thinks failed.

In one process an LRU of recent update ids is enough; with Redis (several replicas) the first replica
to `SET NX` the id wins. An update whose handling raised is forgotten again, so a redelivery gets a
second chance (its transaction was rolled back).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours; a day of ids covers every redelivery.
REDIS_TTL_SECONDS = 24 * 3600


class Deduplicator(Protocol):
    async def first_time(self, bot_id: int, update_id: int) -> bool:
        """True the first time an update is seen (and remembers it)."""
        ...

    async def forget(self, bot_id: int, update_id: int) -> None: ...


class MemoryDeduplicator:
    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[int, int], None] = OrderedDict()

    async def first_time(self, bot_id: int, update_id: int) -> bool:
        key = (bot_id, update_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    async def forget(self, bot_id: int, update_id: int) -> None:
        self._seen.pop((bot_id, update_id), None)


class RedisDeduplicator:
    def __init__(self, redis: Redis, prefix: str = "bookbot", ttl_seconds: int = REDIS_TTL_SECONDS) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds

    def _key(self, bot_id: int, update_id: int) -> str:
        return f"{self._prefix}:update:{bot_id}:{update_id}"

    async def first_time(self, bot_id: int, update_id: int) -> bool:
        return bool(await self._redis.set(self._key(bot_id, update_id), 1, nx=True, ex=self._ttl))

    async def forget(self, bot_id: int, update_id: int) -> None:
        await self._redis.delete(self._key(bot_id, update_id))


class DedupeMiddleware(BaseMiddleware):
    def __init__(self, deduplicator: Deduplicator) -> None:
        self.deduplicator = deduplicator

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        bot_id: int = data["bot"].id
        if not await self.deduplicator.first_time(bot_id, event.update_id):
            log.info("update %s seen before: skipped", event.update_id)
            return None
        try:
            return await handler(event, data)
        except Exception:
            await self.deduplicator.forget(bot_id, event.update_id)
            raise
