"""The outbox on SQLite and PostgreSQL: idempotent enqueue, claims that never hand a row out twice, backoff,
voiding stale rows, the recipient resolved at send time, and finding a sent message again."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import outbox
from bot.services.clock import FrozenClock
from bot.services.users import get_or_create_user
from models import OutboxMessage, User


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`: pytest-asyncio cannot resolve an async fixture
    # through getfixturevalue from inside a running loop, but a plain fixture can.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _people(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, *chats: int) -> list[int]:
    """Users with these Telegram ids (no language or zone of their own yet); their user ids."""
    async with sessions.begin() as session:
        people = [User(telegram_id=chat, first_name=f"P{chat}", created_at=clock.now()) for chat in chats]
        session.add_all(people)
        await session.flush()
        return [person.id for person in people]


async def _put(
    session: AsyncSession,
    key: str,
    recipient_id: int,
    due_at: datetime,
    *,
    kind: str = "test",
    payload: dict[str, Any] | None = None,
    subject: outbox.Subject | None = None,
) -> bool:
    return await outbox.enqueue(
        session,
        key,
        recipient_id=recipient_id,
        kind=kind,
        payload=payload or {},
        due_at=due_at,
        subject=subject,
        fallback_locale="en",
        fallback_zone="UTC",
    )


async def _enqueue_many(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, count: int) -> None:
    recipients = await _people(sessions, clock, *(1000 + number for number in range(count)))
    async with sessions.begin() as session:
        for number, recipient_id in enumerate(recipients):
            await _put(session, f"test:{number}", recipient_id, clock.now(), payload={"n": number})


async def test_enqueue_is_idempotent_by_key(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    [recipient] = await _people(sessions, clock, 42)
    booking = outbox.Subject("booking", 1)
    async with sessions.begin() as session:
        first = await _put(
            session, "booking_created:1:1:42", recipient, clock.now(), payload={"id": 1}, subject=booking
        )
        again = await _put(session, "booking_created:1:1:42", recipient, clock.now(), payload={"id": 2})
    async with sessions.begin() as session:
        # A second transaction (a retried handler, a repeated webhook) queues nothing either.
        later = await _put(session, "booking_created:1:1:42", recipient, clock.now(), payload={"id": 3})
    assert (first, again, later) == (True, False, False)
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert [(row.payload, row.recipient_id, row.subject_type, row.subject_id, row.attempts) for row in rows] == [
        ({"id": 1}, recipient, "booking", 1, 0)
    ]


async def test_enqueue_refuses_what_json_cannot_carry(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [recipient] = await _people(sessions, clock, 1)
    async with sessions() as session:
        with pytest.raises(TypeError):
            await _put(session, "k", recipient, clock.now(), payload={"when": clock.now()})


async def test_claim_takes_due_rows_once_until_the_lease_runs_out(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    first, second = await _people(sessions, clock, 1, 2)
    async with sessions.begin() as session:
        await _put(session, "now", first, clock.now())
        await _put(session, "later", second, clock.now() + timedelta(hours=1))
    async with sessions.begin() as session:
        claimed = await outbox.claim_due(session, clock.now(), lease=timedelta(minutes=2))
    assert [message.key for message in claimed] == ["now"]
    async with sessions.begin() as session:
        assert await outbox.claim_due(session, clock.now()) == []
    # A worker that died without marking its rows: they come back after the lease.
    clock.advance(timedelta(minutes=3))
    async with sessions.begin() as session:
        assert [message.key for message in await outbox.claim_due(session, clock.now())] == ["now"]
    async with sessions.begin() as session:
        await outbox.mark_sent(session, claimed[0].id, clock.now(), chat_id=1, telegram_message_id=77)
    clock.advance(timedelta(hours=2))
    async with sessions.begin() as session:
        assert [message.key for message in await outbox.claim_due(session, clock.now())] == ["later"]


async def test_failures_back_off_then_give_up(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    [recipient] = await _people(sessions, clock, 1)
    async with sessions.begin() as session:
        await _put(session, "flaky", recipient, clock.now())
    delays = []
    while True:
        async with sessions.begin() as session:
            (message,) = await outbox.claim_due(session, clock.now())
            retry_at = await outbox.mark_failed(session, message.id, clock.now(), "TelegramNetworkError: timeout")
        if retry_at is None:
            break
        delays.append(retry_at - clock.now())
        clock.set(retry_at)
    assert delays[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert max(delays) == outbox.BACKOFF_MAX
    assert len(delays) == outbox.MAX_ATTEMPTS - 1
    async with sessions() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
        assert row.failed_at is not None and row.sent_at is None and row.attempts == outbox.MAX_ATTEMPTS
        assert await outbox.claim_due(session, clock.now() + timedelta(days=1)) == []


async def test_permanent_failure_and_reschedule(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    first, second = await _people(sessions, clock, 1, 2)
    async with sessions.begin() as session:
        await _put(session, "blocked", first, clock.now())
        await _put(session, "throttled", second, clock.now())
    async with sessions.begin() as session:
        blocked, throttled = await outbox.claim_due(session, clock.now())
        assert await outbox.mark_failed(session, blocked.id, clock.now(), "Forbidden", permanent=True) is None
        await outbox.reschedule(session, throttled.id, clock.now() + timedelta(seconds=7), "retry after 7")
    async with sessions() as session:
        row = await session.get(OutboxMessage, throttled.id)
        assert row is not None
        # Being told to slow down is not the message's fault: no attempt is counted.
        assert (row.attempts, row.claimed_until, row.due_at) == (0, None, clock.now() + timedelta(seconds=7))


@pytest.mark.postgres
async def test_concurrent_claimers_skip_locked_rows(pg_url: str, clock: FrozenClock) -> None:
    from models.db import make_engine, make_sessionmaker

    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    try:
        await _enqueue_many(sessions, clock, 40)
        # One claimer holds its rows locked (transaction open); another must neither wait nor take them.
        holder = sessions()
        await holder.begin()
        held = await outbox.claim_due(holder, clock.now(), limit=15)
        async with sessions.begin() as other:
            other_rows = await asyncio.wait_for(outbox.claim_due(other, clock.now(), limit=40), timeout=5)
        await holder.commit()
        await holder.close()
        assert len(held) == 15 and len(other_rows) == 25
        assert not {m.id for m in held} & {m.id for m in other_rows}

        # Many claimers at once, racing on the same due rows: each row goes to exactly one.
        await _enqueue_many_more(sessions, clock)

        async def claim() -> list[int]:
            async with sessions.begin() as session:
                return [m.id for m in await outbox.claim_due(session, clock.now(), limit=7)]

        batches = await asyncio.gather(*(claim() for _ in range(8)))
        claimed = [message_id for batch in batches for message_id in batch]
        assert len(claimed) == len(set(claimed)) == 40
    finally:
        await engine.dispose()


async def _enqueue_many_more(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    recipients = await _people(sessions, clock, *(5000 + number for number in range(40)))
    async with sessions.begin() as session:
        for number, recipient_id in enumerate(recipients):
            await _put(session, f"more:{number}", recipient_id, clock.now())
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 80


# --- voiding, sending, finding again --------------------------------------------------------------


async def test_cancel_pending_voids_the_subjects_unsent_rows_of_those_kinds_only(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [recipient] = await _people(sessions, clock, 1)
    booking, other = outbox.Subject("booking", 7), outbox.Subject("booking", 8)
    async with sessions.begin() as session:
        await _put(session, "sent", recipient, clock.now(), kind="reminder", subject=booking)
    async with sessions.begin() as session:
        (sent,) = await outbox.claim_due(session, clock.now())
        await outbox.mark_sent(session, sent.id, clock.now(), chat_id=1, telegram_message_id=10)
    later = clock.now() + timedelta(hours=1)
    async with sessions.begin() as session:
        await _put(session, "reminder", recipient, later, kind="reminder", subject=booking)
        await _put(session, "notice", recipient, later, kind="notice", subject=booking)
        await _put(session, "other", recipient, later, kind="reminder", subject=other)
        # In the transaction of the change that makes them stale.
        voided = await outbox.cancel_pending(session, booking, ["reminder"], now=clock.now(), reason="rescheduled")
    assert voided == 1
    async with sessions() as session:
        rows = {row.key: row for row in await session.scalars(select(OutboxMessage))}
    assert (rows["reminder"].voided_at, rows["reminder"].void_reason) == (clock.now(), "rescheduled")
    # Kept for the record, not deleted; what was sent stays sent, and nothing else is touched.
    assert rows["sent"].voided_at is None and rows["sent"].sent_at is not None
    assert rows["notice"].voided_at is None and rows["other"].voided_at is None
    clock.set(later)
    async with sessions.begin() as session:
        assert sorted(message.key for message in await outbox.claim_due(session, clock.now())) == ["notice", "other"]


async def test_a_row_voided_after_its_claim_is_not_prepared_for_sending(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [recipient] = await _people(sessions, clock, 1)
    booking = outbox.Subject("booking", 7)
    async with sessions.begin() as session:
        await _put(session, "reminder", recipient, clock.now(), kind="reminder", subject=booking)
    async with sessions.begin() as session:
        (claimed,) = await outbox.claim_due(session, clock.now())
    async with sessions.begin() as session:
        await outbox.cancel_pending(session, booking, ["reminder"], now=clock.now(), reason="cancelled")
    async with sessions.begin() as session:
        assert await outbox.prepare(session, claimed.id, clock.now()) is None


async def test_language_and_zone_are_the_recipients_when_sent_not_when_written(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [recipient] = await _people(sessions, clock, 31)
    async with sessions.begin() as session:
        await outbox.enqueue(
            session,
            "k",
            recipient_id=recipient,
            kind="test",
            payload={},
            due_at=clock.now(),
            fallback_locale=None,
            fallback_zone="Europe/Kyiv",
        )
        (claimed,) = await outbox.claim_due(session, clock.now())
    async with sessions.begin() as session:
        # Nothing chosen yet: the fallbacks (no language at all: the bot's default, decided by the worker).
        assert await outbox.prepare(session, claimed.id, clock.now()) == outbox.Delivery(31, None, "Europe/Kyiv")
    async with sessions.begin() as session:
        person = await session.get_one(User, recipient)
        person.locale, person.timezone = "uk", "America/New_York"
    async with sessions.begin() as session:
        assert await outbox.prepare(session, claimed.id, clock.now()) == outbox.Delivery(31, "uk", "America/New_York")


async def test_a_sent_message_is_found_again_by_its_chat_and_message_id(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    first, second = await _people(sessions, clock, 41, 42)
    booking = outbox.Subject("booking", 9)
    async with sessions.begin() as session:
        await _put(session, "a", first, clock.now(), kind="reminder", payload={"n": 1}, subject=booking)
        await _put(session, "b", second, clock.now(), kind="reminder", payload={"n": 2}, subject=booking)
    async with sessions.begin() as session:
        a, b = await outbox.claim_due(session, clock.now())
        await outbox.mark_sent(session, a.id, clock.now(), chat_id=41, telegram_message_id=500)
        await outbox.mark_sent(session, b.id, clock.now(), chat_id=42, telegram_message_id=500)
    async with sessions() as session:
        found = await outbox.find_sent(session, 42, 500)
        assert found == outbox.SentMessage(b.id, "reminder", second, booking, {"n": 2}, clock.now())
        # Message ids count per chat: the same id elsewhere, or an id we never sent, finds nothing else.
        assert await outbox.find_sent(session, 43, 500) is None
        assert await outbox.find_sent(session, 41, 501) is None


async def test_a_blocked_recipient_gets_nothing_more_until_they_write_again(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [recipient] = await _people(sessions, clock, 51)
    async with sessions.begin() as session:
        await _put(session, "first", recipient, clock.now())
        await _put(session, "second", recipient, clock.now())
    async with sessions.begin() as session:
        first, second = await outbox.claim_due(session, clock.now())
        await outbox.mark_blocked(session, first.id, clock.now(), "TelegramForbiddenError: bot was blocked by the user")
    async with sessions.begin() as session:
        # Given up without asking Telegram again.
        assert await outbox.prepare(session, second.id, clock.now()) is None
    async with sessions() as session:
        rows = {row.key: row for row in await session.scalars(select(OutboxMessage))}
        assert all(row.failed_at == clock.now() for row in rows.values())
        assert rows["second"].last_error == outbox.BLOCKED
        assert (await session.get_one(User, recipient)).blocked_at == clock.now()
    async with sessions.begin() as session:
        await get_or_create_user(session, 51, "P51", "en", clock.now())
        await _put(session, "third", recipient, clock.now())
    async with sessions.begin() as session:
        (third,) = await outbox.claim_due(session, clock.now())
        assert await outbox.prepare(session, third.id, clock.now()) == outbox.Delivery(51, "en", "UTC")
