"""The outbox (DESIGN.md, data flow steps 3 and 4): every message that is not the reply to the current
update is written here, in the same transaction as the change that causes it, and sent by the worker.

Services enqueue *what* to say (`kind` and a JSON `payload`); the worker renders it in the recipient's
locale at send time (bot/worker.py). Keys make enqueueing idempotent: use one per (thing, kind,
version, recipient), e.g. ``f"booking_created:{booking.id}:{booking.version}:pro"``, so a retried
transaction or a repeated event never queues a second copy.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL plus a lease (`claimed_until`): the claim
transaction is short, sending happens outside it, and a worker that dies mid-batch only delays its
rows until the lease runs out. SQLite serialises writers (BEGIN IMMEDIATE), which gives the same
guarantee in one process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import OutboxMessage

LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: about two hours of trying before giving up.
MAX_ATTEMPTS = 9


@dataclass(frozen=True)
class ClaimedMessage:
    """A snapshot of a claimed row: safe to use after the claim transaction has ended."""

    id: int
    key: str
    chat_id: int
    locale: str
    kind: str
    payload: dict[str, Any]
    attempts: int


async def enqueue(
    session: AsyncSession,
    key: str,
    chat_id: int,
    kind: str,
    payload: Mapping[str, Any],
    locale: str,
    due_at: datetime,
) -> bool:
    """Queue a message unless one with this key exists; True when this call queued it.

    ON CONFLICT DO NOTHING on both backends, so two transactions racing on one key never fail.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    # Fail here, at the call that made the payload, rather than at commit time in the worker.
    json.dumps(payload)
    values = {
        "key": key,
        "chat_id": chat_id,
        "locale": locale,
        "kind": kind,
        "payload": dict(payload),
        "due_at": due_at,
        "attempts": 0,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(statement.returning(OutboxMessage.id))
    return result.scalar_one_or_none() is not None


async def claim_due(
    session: AsyncSession, now: datetime, limit: int = 50, lease: timedelta = LEASE
) -> list[ClaimedMessage]:
    """Claim up to `limit` due, unsent, unclaimed rows for `lease`; commit right after calling this."""
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.due_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
            )
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        row.claimed_until = now + lease
    await session.flush()
    return [
        ClaimedMessage(
            id=row.id,
            key=row.key,
            chat_id=row.chat_id,
            locale=row.locale,
            kind=row.kind,
            payload=dict(row.payload),
            attempts=row.attempts,
        )
        for row in rows
    ]


async def mark_sent(session: AsyncSession, message_id: int, now: datetime) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        .values(sent_at=now, claimed_until=None, last_error=None, attempts=OutboxMessage.attempts + 1)
    )


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after `attempts` failed ones: doubling from 30 s, at most an hour."""
    factor: int = 2 ** max(attempts - 1, 0)
    return min(BACKOFF_BASE * factor, BACKOFF_MAX)


async def mark_failed(
    session: AsyncSession, message_id: int, now: datetime, error: str, *, permanent: bool = False
) -> datetime | None:
    """Record a failed send; returns when it will be tried again, or None when it was given up."""
    row = await session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.sent_at is not None:
        return None
    row.attempts += 1
    row.last_error = error[:1000]
    row.claimed_until = None
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
        return None
    row.due_at = now + backoff(row.attempts)
    return row.due_at


async def reschedule(session: AsyncSession, message_id: int, due_at: datetime, reason: str) -> None:
    """Try again at `due_at` without counting an attempt (Telegram asked us to slow down)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        .values(due_at=due_at, claimed_until=None, last_error=reason[:1000])
    )


async def release(session: AsyncSession, message_ids: Sequence[int]) -> None:
    """Give claimed rows back at once (a batch stopped early), so the next tick need not wait out the lease."""
    if message_ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.sent_at.is_(None))
            .values(claimed_until=None)
        )
