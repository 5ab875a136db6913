"""The outbox (DESIGN.md, data flow steps 3 and 4): every message that is not the reply to the current
update is written here, in the same transaction as the change that causes it, and sent by the worker.

Services enqueue *what* to say (`kind` and a JSON `payload`), *to whom* (a user) and *about what* (a
`Subject`, e.g. a booking); the worker resolves the recipient's chat, language and zone from the users
table when it sends (`prepare`), so a row written weeks ahead speaks as the person is then. Keys make
enqueueing idempotent: use one per (thing, kind, version, recipient), e.g.
``f"booking_new_pro:{booking.id}:{booking.version}:{user.id}"``, so a retried transaction or a
repeated event never queues a second copy.

A change that makes queued rows stale voids them in its own transaction (`cancel_pending`): they stay,
marked, for the record, and are never sent. Once Telegram accepts a message the row keeps its chat
and message id, so a reply to it leads back to its subject (`find_sent`).

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL plus a lease (`claimed_until`): the claim
transaction is short, sending happens outside it, and a worker that dies mid-batch only delays its
rows until the lease runs out. SQLite serialises writers (BEGIN IMMEDIATE), which gives the same
guarantee in one process.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import OutboxMessage, User

LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: about two hours of trying before giving up.
MAX_ATTEMPTS = 9
BLOCKED = "the recipient has blocked the bot"


@dataclass(frozen=True)
class Subject:
    """What a message is about: ("booking", 42)."""

    type: str
    id: int


@dataclass(frozen=True)
class ClaimedMessage:
    """A snapshot of a claimed row: safe to use after the claim transaction has ended."""

    id: int
    key: str
    recipient_id: int
    subject: Subject | None
    kind: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Delivery:
    """Where and how a claimed message goes out, as the users table says right before sending.

    `locale` None: the recipient has no language of their own nor a fallback; use the bot's default."""

    chat_id: int
    locale: str | None
    zone: str


@dataclass(frozen=True)
class SentMessage:
    """A message Telegram accepted, found again by the chat and message id it got."""

    id: int
    kind: str
    recipient_id: int
    subject: Subject | None
    payload: dict[str, Any]
    sent_at: datetime


def _subject(subject_type: str | None, subject_id: int | None) -> Subject | None:
    return Subject(subject_type, subject_id) if subject_type is not None and subject_id is not None else None


@dataclass(frozen=True)
class Message:
    """One row to queue (see `enqueue`)."""

    key: str
    recipient_id: int
    kind: str
    payload: Mapping[str, Any]
    due_at: datetime
    subject: Subject | None = None
    fallback_locale: str | None = None
    fallback_zone: str = "UTC"


async def enqueue(
    session: AsyncSession,
    key: str,
    *,
    recipient_id: int,
    kind: str,
    payload: Mapping[str, Any],
    due_at: datetime,
    subject: Subject | None = None,
    fallback_locale: str | None = None,
    fallback_zone: str = "UTC",
) -> bool:
    """Queue a message unless one with this key exists; True when this call queued it.

    ON CONFLICT DO NOTHING on both backends, so two transactions racing on one key never fail.
    """
    message = Message(key, recipient_id, kind, payload, due_at, subject, fallback_locale, fallback_zone)
    return await enqueue_many(session, [message]) == 1


async def enqueue_many(session: AsyncSession, messages: Sequence[Message]) -> int:
    """Queue several messages in one INSERT (in this order), each unless one with its key exists;
    returns how many this call queued."""
    if not messages:
        return 0
    rows = []
    for message in messages:
        if message.due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        # Fail here, at the call that made the payload, rather than at commit time in the worker.
        json.dumps(message.payload)
        rows.append(
            {
                "key": message.key,
                "recipient_id": message.recipient_id,
                "subject_type": message.subject.type if message.subject else None,
                "subject_id": message.subject.id if message.subject else None,
                "kind": message.kind,
                "payload": dict(message.payload),
                "fallback_locale": message.fallback_locale,
                "fallback_zone": message.fallback_zone,
                "due_at": message.due_at,
                "attempts": 0,
            }
        )
    # One statement built once per dialect, the rows bound at each call: SQLAlchemy renders them as
    # one multi-row INSERT (its "insertmanyvalues"), one round trip, from the statement's cached
    # compiled form, where `.values(rows)` made a new statement to compile on every call.
    result = await session.execute(_ENQUEUE[session.get_bind().dialect.name], rows)
    return len(result.all())


_TABLE = cast(Table, OutboxMessage.__table__)
_ENQUEUE = {
    name: insert(_TABLE).on_conflict_do_nothing(index_elements=[_TABLE.c.key]).returning(_TABLE.c.id)
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def _unsent() -> Any:
    return (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None), OutboxMessage.voided_at.is_(None))


async def cancel_pending(
    session: AsyncSession, subject: Subject, kinds: Collection[str], *, now: datetime, reason: str
) -> int:
    """Void the unsent rows of these kinds about `subject` (call it in the transaction of the change that
    makes them stale); returns how many. A voided row is kept, never claimed, never sent."""
    if not kinds:
        return 0
    voided = await session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.subject_type == subject.type,
            OutboxMessage.subject_id == subject.id,
            OutboxMessage.kind.in_(list(kinds)),
            *_unsent(),
        )
        .values(voided_at=now, void_reason=reason[:200], claimed_until=None)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return len(voided.all())


async def claim_due(
    session: AsyncSession, now: datetime, limit: int = 50, lease: timedelta = LEASE
) -> list[ClaimedMessage]:
    """Claim up to `limit` due, unsent, unclaimed rows for `lease`; commit right after calling this."""
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                *_unsent(),
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
            recipient_id=row.recipient_id,
            subject=_subject(row.subject_type, row.subject_id),
            kind=row.kind,
            payload=dict(row.payload),
            attempts=row.attempts,
        )
        for row in rows
    ]


async def prepare(session: AsyncSession, message_id: int, now: datetime) -> Delivery | None:
    """Right before sending a claimed row: its recipient's chat, language and zone as they are now.

    None when it must not go out: voided (or otherwise settled) since it was claimed, or the recipient
    has blocked the bot (the row is then given up without calling Telegram)."""
    found = (
        await session.execute(
            select(OutboxMessage, User)
            .join(User, User.id == OutboxMessage.recipient_id)
            .where(OutboxMessage.id == message_id, *_unsent())
        )
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    if user.blocked_at is not None:
        await mark_failed(session, message_id, now, BLOCKED, permanent=True)
        return None
    return Delivery(
        chat_id=user.telegram_id,
        locale=user.locale or row.fallback_locale,
        zone=user.timezone or row.fallback_zone,
    )


async def mark_sent(
    session: AsyncSession, message_id: int, now: datetime, *, chat_id: int, telegram_message_id: int
) -> None:
    """Telegram accepted it: record when, where and the message id it got (call right after the send)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        .values(
            sent_at=now,
            claimed_until=None,
            last_error=None,
            attempts=OutboxMessage.attempts + 1,
            chat_id=chat_id,
            telegram_message_id=telegram_message_id,
        )
    )


@dataclass(frozen=True)
class Accepted:
    """A message Telegram accepted: its row, and the chat and message id it got."""

    message_id: int
    chat_id: int
    telegram_message_id: int


async def mark_sent_many(session: AsyncSession, accepted: Sequence[Accepted], now: datetime) -> None:
    """`mark_sent` for several rows in one statement (the worker's group commit)."""
    if not accepted:
        return
    table = cast(Table, OutboxMessage.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.sent_at.is_(None))
        .values(
            sent_at=now,
            claimed_until=None,
            last_error=None,
            attempts=table.c.attempts + 1,
            chat_id=bindparam("to_chat"),
            telegram_message_id=bindparam("to_message"),
        )
    )
    await session.execute(
        statement,
        [{"row_id": a.message_id, "to_chat": a.chat_id, "to_message": a.telegram_message_id} for a in accepted],
    )


async def find_sent(session: AsyncSession, chat_id: int, telegram_message_id: int) -> SentMessage | None:
    """The outbox message Telegram gave this id in this chat (what a reply's `reply_to_message` names)."""
    row = await session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.telegram_message_id == telegram_message_id,
            OutboxMessage.sent_at.is_not(None),
        )
    )
    return _sent(row)


async def latest_sent(
    session: AsyncSession, recipient_id: int, kinds: Collection[str], since: datetime
) -> SentMessage | None:
    """The newest message of these kinds sent to `recipient_id` at or after `since`."""
    row = await session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.recipient_id == recipient_id,
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.sent_at >= since,
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )
    return _sent(row)


def _sent(row: OutboxMessage | None) -> SentMessage | None:
    if row is None or row.sent_at is None:
        return None
    return SentMessage(
        id=row.id,
        kind=row.kind,
        recipient_id=row.recipient_id,
        subject=_subject(row.subject_type, row.subject_id),
        payload=dict(row.payload),
        sent_at=row.sent_at,
    )


async def void(session: AsyncSession, message_id: int, now: datetime, reason: str) -> None:
    """Drop one claimed row that no longer makes sense (the worker's last look found it stale)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, *_unsent())
        .values(voided_at=now, void_reason=reason[:200], claimed_until=None)
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


async def mark_blocked(session: AsyncSession, message_id: int, now: datetime, error: str) -> None:
    """Telegram said the recipient blocked the bot (403): this row is given up, and so is every later
    one to them until they write to the bot again (bot.services.users clears the mark)."""
    await mark_failed(session, message_id, now, error, permanent=True)
    recipient_id = await session.scalar(select(OutboxMessage.recipient_id).where(OutboxMessage.id == message_id))
    if recipient_id is not None:
        await session.execute(update(User).where(User.id == recipient_id).values(blocked_at=now))


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
