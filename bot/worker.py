"""Worker ticks (DESIGN.md, data flow step 4): send the outbox, run the booking life cycle's clock.

Every process runs them (APScheduler 3, in memory: the scheduler is only the clock, the database is the
source of truth). `SKIP LOCKED` claims make each outbox row go out once across replicas; one token
bucket (in Redis when configured, shared by every replica) keeps the bot under Telegram's ~30 msg/s.

Each function takes a `WorkerDeps` (sessions, bot, clock, renderers, rate limiter, i18n), not the app:
the composition root (bot/app.py, `App.worker`) builds it, and nothing here imports the app.

- `send_due(deps)`: claim due rows; for each, read its recipient's chat, language and zone as they
  are now (a row voided since the claim is dropped), render (bot.render.outbox), send, and mark it
  sent with Telegram's message id right after Telegram accepts it (the only window for a duplicate
  is between the two). A recipient who blocked the bot (403) is marked and not written to again.
- `run_maintenance(deps)`: the time-driven steps of other services, listed in MAINTENANCE_TASKS.
- `run_worker_once(deps)`: both, until nothing is due: what the demo and tests call after each step.
- `start_scheduler(deps)`: the same on a timer, for `bookbot run`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.render import Reader, RendererRegistry, send_rendered
from bot.services import booking, credits, outbox, reminders
from bot.services.clock import Clock
from bot.services.payments import refunds, released
from bot.services.payments.gateway import PaymentGateway

log = logging.getLogger(__name__)

SEND_INTERVAL_SECONDS = 2
MAINTENANCE_INTERVAL_SECONDS = 30
BATCH = 50
# Telegram allows about 30 messages a second per bot; stay below it.
RATE_PER_SECOND = 25.0

MaintenanceTask = Callable[[AsyncSession, datetime], Awaitable[Any]]

# Time-driven steps of other services, each run in its own transaction (committed by the worker) every
# MAINTENANCE_INTERVAL_SECONDS and by `run_worker_once`; one failing does not stop the others.
MAINTENANCE_TASKS: tuple[MaintenanceTask, ...] = (
    booking.expire_holds,
    booking.complete_past_sessions,
    credits.expire_due,
    credits.warn_expiring,
)


# --- rate limiting ---------------------------------------------------------------------------------


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Wait until one more message may go out."""
        ...

    async def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nobody sends for that long."""
        ...


MonotonicClock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """In-process token bucket on a monotonic clock (the app's clock may be frozen in tests); `clock` and
    `sleep` are injectable so tests can run it on virtual time."""

    def __init__(
        self,
        rate: float = RATE_PER_SECOND,
        capacity: float | None = None,
        *,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._at = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)


# Both return milliseconds. The bucket answers 0 when a token was taken, else how long to wait. Time is
# Redis's own clock, so replicas with skewed clocks still share one bucket, unless the caller passes
# "now" in milliseconds (ARGV[3]; tests on virtual time).
_NOW = """
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""
_BUCKET_SCRIPT = (
    _NOW
    + """
local paused_until = tonumber(redis.call('GET', KEYS[2]))
if paused_until and paused_until > now then return paused_until - now end
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""
)
# ARGV[1]: the pause in milliseconds; ARGV[2] unused, ARGV[3]: "now" as above. A later "until" wins.
_PAUSE_SCRIPT = (
    _NOW
    + """
local ms = tonumber(ARGV[1])
local until_ms = now + ms
local current = tonumber(redis.call('GET', KEYS[2]))
if current and current > until_ms then return current end
redis.call('SET', KEYS[2], tostring(until_ms), 'PX', ms + 60000)
return until_ms
"""
)


class RedisTokenBucket:
    """One bucket for every replica of the bot. `clock` (seconds, monotonic) replaces Redis's own clock
    and `sleep` the event loop's, for tests on virtual time; every replica must then share that clock."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        rate: float = RATE_PER_SECOND,
        *,
        clock: MonotonicClock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._keys = [f"{key}:bucket", f"{key}:paused"]
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._script = redis.register_script(_BUCKET_SCRIPT)
        self._pause_script = redis.register_script(_PAUSE_SCRIPT)

    def _now_ms(self) -> list[int]:
        return [] if self._clock is None else [round(self._clock() * 1000)]

    async def acquire(self) -> None:
        while True:
            wait_ms = int(await self._script(keys=self._keys, args=[self.rate, self.rate, *self._now_ms()]))
            if wait_ms <= 0:
                return
            await self._sleep(wait_ms / 1000)

    async def pause(self, seconds: float) -> None:
        await self._pause_script(keys=self._keys, args=[max(1, int(seconds * 1000)), 0, *self._now_ms()])


def make_rate_limiter(redis: Redis | None, key_prefix: str, bot_id: int) -> RateLimiter:
    if redis is None:
        return TokenBucket()
    return RedisTokenBucket(redis, f"{key_prefix}:rate:{bot_id}")


# --- ticks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerDeps:
    """What the worker's ticks use, and all they use."""

    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    clock: Clock
    renderers: RendererRegistry
    rate_limiter: RateLimiter
    i18n: I18n
    # Refunds owed are asked for on the maintenance tick; None: no payments (some tests).
    gateway: PaymentGateway | None = None


async def send_due(deps: WorkerDeps, limit: int = BATCH) -> int:
    """One batch of due outbox rows; returns how many rows were claimed."""
    async with deps.sessions.begin() as session:
        batch = await outbox.claim_due(session, deps.clock.now(), limit)
    for index, message in enumerate(batch):
        async with deps.sessions.begin() as session:
            # The last look: a reminder whose booking moved, was cancelled or whose moment passed is dropped.
            stale = await reminders.stale_reason(session, message, deps.clock.now())
            if stale is not None:
                await outbox.void(session, message.id, deps.clock.now(), stale)
                continue
            delivery = await outbox.prepare(session, message.id, deps.clock.now())
        if delivery is None:
            continue  # voided or settled since the claim, or the recipient blocked the bot
        reader = Reader(locale=delivery.locale or deps.i18n.default_locale, zone=delivery.zone)
        try:
            rendered = deps.renderers.render(message.kind, message.payload, reader, deps.i18n)
        except Exception as exc:
            # A renderer bug or a kind this replica does not know yet: retry later, a deploy may fix it.
            log.exception("outbox %s: cannot render kind %r", message.id, message.kind)
            await _failed(deps, message.id, exc, permanent=False)
            continue
        await deps.rate_limiter.acquire()
        try:
            sent = await send_rendered(deps.bot, delivery.chat_id, rendered)
        except TelegramRetryAfter as exc:
            await deps.rate_limiter.pause(exc.retry_after)
            async with deps.sessions.begin() as session:
                retry_at = deps.clock.now() + timedelta(seconds=exc.retry_after)
                await outbox.reschedule(session, message.id, retry_at, f"retry after {exc.retry_after} s")
                await outbox.release(session, [rest.id for rest in batch[index + 1 :]])
            log.warning("Telegram asked to slow down for %s s; outbox paused", exc.retry_after)
            break
        except TelegramForbiddenError as exc:
            # The person blocked the bot (or the chat is gone): no retry, and no more tries to them.
            log.warning("outbox %s (%s) given up, recipient blocked the bot: %s", message.id, message.kind, exc)
            async with deps.sessions.begin() as session:
                await outbox.mark_blocked(session, message.id, deps.clock.now(), f"{type(exc).__name__}: {exc}")
        except TelegramBadRequest as exc:
            # A message Telegram will never accept: retrying won't help.
            log.warning("outbox %s (%s) given up: %s", message.id, message.kind, exc)
            await _failed(deps, message.id, exc, permanent=True)
        except Exception as exc:
            log.warning("outbox %s (%s) failed, will retry: %r", message.id, message.kind, exc)
            await _failed(deps, message.id, exc, permanent=False)
        else:
            async with deps.sessions.begin() as session:
                await outbox.mark_sent(
                    session,
                    message.id,
                    deps.clock.now(),
                    chat_id=sent.chat.id,
                    telegram_message_id=sent.message_id,
                )
    return len(batch)


async def _failed(deps: WorkerDeps, message_id: int, exc: BaseException, *, permanent: bool) -> None:
    async with deps.sessions.begin() as session:
        await outbox.mark_failed(
            session, message_id, deps.clock.now(), f"{type(exc).__name__}: {exc}", permanent=permanent
        )


async def run_maintenance(deps: WorkerDeps) -> None:
    for task in MAINTENANCE_TASKS:
        try:
            async with deps.sessions.begin() as session:
                await task(session, deps.clock.now())
        except Exception:
            log.exception("worker task %s.%s failed", task.__module__, task.__qualname__)
    if deps.gateway is not None:
        try:
            # Each refund's gateway call runs outside any transaction (see refunds.process_due).
            await refunds.process_due(deps.sessions, deps.gateway, deps.clock)
        except Exception:
            log.exception("worker task refunds.process_due failed")
        try:
            # Checkout Sessions of released holds, expired at the gateway outside any transaction.
            await released.process_due(deps.sessions, deps.gateway, deps.clock)
        except Exception:
            log.exception("worker task released.process_due failed")


async def run_worker_once(deps: WorkerDeps) -> None:
    """Every tick once, then the outbox until nothing more is due now."""
    await run_maintenance(deps)
    while await send_due(deps) == BATCH:
        pass


def start_scheduler(deps: WorkerDeps) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    options = {"max_instances": 1, "coalesce": True, "next_run_time": datetime.now(UTC)}
    scheduler.add_job(send_due, "interval", seconds=SEND_INTERVAL_SECONDS, args=[deps], id="outbox", **options)
    scheduler.add_job(
        run_maintenance, "interval", seconds=MAINTENANCE_INTERVAL_SECONDS, args=[deps], id="maintenance", **options
    )
    scheduler.start()
    return scheduler
