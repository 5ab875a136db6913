"""The outbox on SQLite and PostgreSQL: idempotent enqueue, claims that never hand a row out twice, backoff."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import outbox
from bot.services.clock import FrozenClock
from models import OutboxMessage


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`: pytest-asyncio cannot resolve an async fixture
    # through getfixturevalue from inside a running loop, but a plain fixture can.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _enqueue_many(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, count: int) -> None:
    async with sessions.begin() as session:
        for number in range(count):
            await outbox.enqueue(session, f"test:{number}", 1000 + number, "test", {"n": number}, "en", clock.now())


async def test_enqueue_is_idempotent_by_key(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with sessions.begin() as session:
        first = await outbox.enqueue(
            session, "booking_created:1:1:pro", 42, "booking_created", {"id": 1}, "uk", clock.now()
        )
        again = await outbox.enqueue(
            session, "booking_created:1:1:pro", 42, "booking_created", {"id": 2}, "en", clock.now()
        )
    async with sessions.begin() as session:
        # A second transaction (a retried handler, a repeated webhook) queues nothing either.
        later = await outbox.enqueue(
            session, "booking_created:1:1:pro", 42, "booking_created", {"id": 3}, "en", clock.now()
        )
    assert (first, again, later) == (True, False, False)
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert [(row.payload, row.locale, row.attempts) for row in rows] == [({"id": 1}, "uk", 0)]


async def test_enqueue_refuses_what_json_cannot_carry(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessions() as session:
        with pytest.raises(TypeError):
            await outbox.enqueue(session, "k", 1, "test", {"when": clock.now()}, "en", clock.now())


async def test_claim_takes_due_rows_once_until_the_lease_runs_out(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessions.begin() as session:
        await outbox.enqueue(session, "now", 1, "test", {}, "en", clock.now())
        await outbox.enqueue(session, "later", 2, "test", {}, "en", clock.now() + timedelta(hours=1))
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
        await outbox.mark_sent(session, claimed[0].id, clock.now())
    clock.advance(timedelta(hours=2))
    async with sessions.begin() as session:
        assert [message.key for message in await outbox.claim_due(session, clock.now())] == ["later"]


async def test_failures_back_off_then_give_up(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with sessions.begin() as session:
        await outbox.enqueue(session, "flaky", 1, "test", {}, "en", clock.now())
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
    async with sessions.begin() as session:
        await outbox.enqueue(session, "blocked", 1, "test", {}, "en", clock.now())
        await outbox.enqueue(session, "throttled", 2, "test", {}, "en", clock.now())
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
    async with sessions.begin() as session:
        for number in range(40):
            await outbox.enqueue(session, f"more:{number}", 5000 + number, "test", {}, "en", clock.now())
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 80
