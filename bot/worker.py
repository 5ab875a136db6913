"""Worker ticks (DESIGN.md, data flow step 4): send the outbox, run the booking life cycle's clock.

Every process runs them (APScheduler 3, in memory: the scheduler is only the clock, the database is the
source of truth). `SKIP LOCKED` claims make each outbox row go out once across replicas; one rate
limiter (bot/rate_limit.py; in Redis when configured, shared by every replica) keeps the bot within
Telegram's limits: ~30 messages a second evenly paced, one a second to a chat, 20 a minute to a group.

Each function takes a `WorkerDeps` (sessions, bot, clock, renderers, rate limiter, i18n), not the app:
the composition root (bot/app.py, `App.worker`) builds it, and nothing here imports the app.

- `send_due(deps)`: claim due rows, batch after batch; for each, read its recipient's chat, language
  and zone as they are now (a row voided since the claim is dropped), render (bot.render.outbox), wait
  for the limiter, send, and mark it sent with Telegram's message id right after Telegram accepts it
  (the only window for a duplicate is between the two). A 429 pauses that chat and the bot for its
  `retry_after` and the row waits as long; a 5xx or network error is retried with a backoff; a
  recipient who blocked the bot (403) is marked and not written to again.
- `run_maintenance(deps)`: the time-driven steps of other services, listed in MAINTENANCE_TASKS.
- `run_worker_once(deps)`: both, until nothing is due: what the demo and tests call after each step.
- `start_scheduler(deps)`: the same on a timer, for `bookbot run`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.rate_limit import RateLimiter
from bot.render import Reader, Rendered, RendererRegistry, send_rendered
from bot.services import booking, credits, daily_agenda, outbox, pro_move, reminders
from bot.services.clock import Clock
from bot.services.payments import refunds, released
from bot.services.payments.gateway import PaymentGateway

log = logging.getLogger(__name__)

SEND_INTERVAL_SECONDS = 2
MAINTENANCE_INTERVAL_SECONDS = 30
BATCH = 50
# Rows rendered and waiting for their moment at once: enough that the next message is ready when its
# moment comes although a send or a commit is slow, few enough that each is checked just before it goes.
AHEAD = 16
# Of those, how many are checked and rendered at once (each a short transaction).
PREPARING = 4

MaintenanceTask = Callable[[AsyncSession, datetime], Awaitable[Any]]

# Time-driven steps of other services, each run in its own transaction (committed by the worker) every
# MAINTENANCE_INTERVAL_SECONDS and by `run_worker_once`; one failing does not stop the others.
MAINTENANCE_TASKS: tuple[MaintenanceTask, ...] = (
    booking.expire_holds,
    booking.complete_past_sessions,
    daily_agenda.queue_daily_agendas,
    pro_move.expire_unanswered,
    credits.expire_due,
    credits.warn_expiring,
)


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
    """Send what is due: batches of `limit` rows claimed one after another until one comes back short
    (or Telegram asked us to slow down); returns how many rows were claimed.

    Rows are checked and rendered a few at once (PREPARING), then handed on in claim order, each to a
    task of its own that sends it once the rate limiter gives it a moment: the next rows are ready
    while one waits for its moment or for Telegram. A recipient's rows go out in order, one after
    another. At most AHEAD rows are in hand at once."""
    claimed = 0
    ahead = asyncio.Semaphore(AHEAD)
    throttled = asyncio.Event()
    marks = _Marks(deps)
    last_to: dict[int, asyncio.Task[None]] = {}
    readying: deque[tuple[outbox.ClaimedMessage, asyncio.Task[tuple[outbox.Delivery, Rendered] | None]]] = deque()

    def hand_on(message: outbox.ClaimedMessage, prepared: tuple[outbox.Delivery, Rendered] | None) -> None:
        # In claim order: the limiter gives moments in the order they are asked for.
        if prepared is None:
            ahead.release()
            return
        delivery, rendered = prepared
        before = last_to.get(message.recipient_id)
        task = asyncio.create_task(_send(deps, message, delivery, rendered, before, throttled, marks))
        task.add_done_callback(lambda _task: ahead.release())
        last_to[message.recipient_id] = task

    try:
        while not throttled.is_set():
            async with deps.sessions.begin() as session:
                batch = await outbox.claim_due(session, deps.clock.now(), limit)
            claimed += len(batch)
            for message in batch:
                while readying and (readying[0][1].done() or len(readying) >= PREPARING):
                    done, task = readying[0]
                    prepared = await task
                    readying.popleft()
                    hand_on(done, prepared)
                # Never blocked by rows still being readied (fewer than AHEAD): only by rows waiting to go.
                await ahead.acquire()
                readying.append((message, asyncio.create_task(_ready(deps, message))))
            while readying:
                done, task = readying[0]
                prepared = await task
                readying.popleft()
                hand_on(done, prepared)
            if len(batch) < limit:
                break
    finally:
        # Messages on their way are finished and recorded, whatever stopped the claiming.
        for _message, task in readying:
            task.cancel()
        await asyncio.gather(*(task for _message, task in readying), *last_to.values(), return_exceptions=True)
    return claimed


async def _ready(deps: WorkerDeps, message: outbox.ClaimedMessage) -> tuple[outbox.Delivery, Rendered] | None:
    """The last look before sending, and the message rendered; None when it is not to go out."""
    async with deps.sessions.begin() as session:
        # A reminder whose booking moved, was cancelled or whose moment passed is dropped.
        stale = await reminders.stale_reason(session, message, deps.clock.now())
        if stale is not None:
            await outbox.void(session, message.id, deps.clock.now(), stale)
            return None
        delivery = await outbox.prepare(session, message.id, deps.clock.now())
    if delivery is None:
        return None  # voided or settled since the claim, or the recipient blocked the bot
    reader = Reader(locale=delivery.locale or deps.i18n.default_locale, zone=delivery.zone)
    try:
        rendered = deps.renderers.render(message.kind, message.payload, reader, deps.i18n)
    except Exception as exc:
        # A renderer bug or a kind this replica does not know yet: retry later, a deploy may fix it.
        log.exception("outbox %s: cannot render kind %r", message.id, message.kind)
        await _failed(deps, message.id, exc, permanent=False)
        return None
    return delivery, rendered


class _Marks:
    """Rows Telegram accepted, marked sent in as few transactions as keep up (a group commit): each
    waits only for the transaction in progress, never for a timer, so the window in which a crash
    could send a message twice stays one commit long."""

    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps
        self._pending: list[outbox.Accepted] = []
        self._writing = asyncio.Lock()

    async def add(self, accepted: outbox.Accepted) -> None:
        self._pending.append(accepted)
        async with self._writing:
            if not self._pending:
                return  # written with the previous transaction
            batch, self._pending = self._pending, []
            try:
                async with self._deps.sessions.begin() as session:
                    await outbox.mark_sent_many(session, batch, self._deps.clock.now())
            except Exception:
                # The rows stay claimed and come back when their lease runs out (sent again, alas).
                log.exception("outbox: could not mark %s sent rows", len(batch))


async def _send(
    deps: WorkerDeps,
    message: outbox.ClaimedMessage,
    delivery: outbox.Delivery,
    rendered: Rendered,
    before: asyncio.Task[None] | None,
    throttled: asyncio.Event,
    marks: _Marks,
) -> None:
    """One row: wait for the recipient's previous row, then for a moment the limits allow, send, record."""
    if before is not None:
        await asyncio.wait([before])
    try:
        wait = await deps.rate_limiter.acquire(delivery.chat_id)
        if wait > 0:
            # The chat or the bot is held back (a long retry_after) for longer than a claim should be
            # kept: give the row back for then, without counting an attempt.
            async with deps.sessions.begin() as session:
                retry_at = deps.clock.now() + timedelta(seconds=wait)
                await outbox.reschedule(session, message.id, retry_at, f"rate limit: {wait:.0f} s to wait")
            return
        await _deliver(deps, message, delivery, rendered, throttled, marks)
    except Exception:
        # Our own bug or the database: the row stays claimed and comes back when its lease runs out.
        log.exception("outbox %s (%s): sending failed", message.id, message.kind)


async def _deliver(
    deps: WorkerDeps,
    message: outbox.ClaimedMessage,
    delivery: outbox.Delivery,
    rendered: Rendered,
    throttled: asyncio.Event,
    marks: _Marks,
) -> None:
    try:
        sent = await send_rendered(deps.bot, delivery.chat_id, rendered)
    except TelegramRetryAfter as exc:
        # For that chat and for the whole bot: every process sharing the limiter waits it out.
        throttled.set()
        await deps.rate_limiter.pause(exc.retry_after, delivery.chat_id)
        async with deps.sessions.begin() as session:
            retry_at = deps.clock.now() + timedelta(seconds=exc.retry_after)
            await outbox.reschedule(session, message.id, retry_at, f"retry after {exc.retry_after} s")
        log.warning("Telegram asked to slow down for %s s; chat and bot paused", exc.retry_after)
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
        # 5xx, network errors: again after a backoff (outbox.backoff).
        log.warning("outbox %s (%s) failed, will retry: %r", message.id, message.kind, exc)
        await _failed(deps, message.id, exc, permanent=False)
    else:
        await marks.add(outbox.Accepted(message.id, sent.chat.id, sent.message_id))


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
    await send_due(deps)


def start_scheduler(deps: WorkerDeps) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    options = {"max_instances": 1, "coalesce": True, "next_run_time": datetime.now(UTC)}
    draining = asyncio.Lock()

    async def outbox_tick() -> None:
        # One tick drains everything due (minutes for a large backlog, at Telegram's pace); the ticks
        # that come meanwhile return at once instead of being skipped with a warning each.
        if draining.locked():
            return
        async with draining:
            await send_due(deps)

    scheduler.add_job(
        outbox_tick, "interval", seconds=SEND_INTERVAL_SECONDS, id="outbox", **(options | {"max_instances": 2})
    )
    scheduler.add_job(
        run_maintenance, "interval", seconds=MAINTENANCE_INTERVAL_SECONDS, args=[deps], id="maintenance", **options
    )
    scheduler.start()
    return scheduler
