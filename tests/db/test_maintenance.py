"""The worker's maintenance steps (expire holds, complete past sessions) when two replicas tick at once:
each booking is processed by exactly one of them, and neither waits on nor fails over the other's rows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import booking as bookings
from bot.services.clock import FrozenClock
from models import BookingEvent, BookingState, OutboxMessage
from tests.db.booking_world import World, build_world, force_booking, kyiv

Step = Callable[[AsyncSession, datetime], Awaitable[int]]
STEPS = {"complete": bookings.complete_past_sessions, "expire": bookings.expire_holds}
COUNT = 6


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_slots.py explains.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> World:
    return await build_world(sessions, clock.now())


async def _due(sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, step: str) -> datetime:
    """COUNT bookings the step must process at the instant it returns."""
    state = BookingState.CONFIRMED if step == "complete" else BookingState.HELD
    for day in range(COUNT):
        await force_booking(sessions, world, kyiv(f"2026-12-{day + 1:02d} 10:00"), state, clock.now())
    return kyiv("2026-12-10 10:00") if step == "complete" else clock.now() + timedelta(hours=1)


async def _actions(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(select(BookingEvent.booking_id, BookingEvent.action).order_by(BookingEvent.id))
        return [(row[0], row[1]) for row in rows]


@pytest.mark.parametrize("step", sorted(STEPS))
async def test_two_replicas_ticking_at_once_process_each_booking_once(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, step: str
) -> None:
    now = await _due(sessions, world, clock, step)

    async def tick() -> int:
        async with sessions.begin() as session:
            return await STEPS[step](session, now)

    counts = await asyncio.gather(tick(), tick())
    assert sum(counts) == COUNT
    actions = await _actions(sessions)
    assert len(actions) == COUNT and len({booking_id for booking_id, _action in actions}) == COUNT
    if step == "expire":
        async with sessions() as session:
            told = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert told == COUNT  # one "your hold ran out" per booking, not two


@pytest.mark.postgres
@pytest.mark.parametrize("step", sorted(STEPS))
async def test_a_tick_skips_the_rows_another_replica_holds(pg_url: str, clock: FrozenClock, step: str) -> None:
    from models.db import make_engine, make_sessionmaker

    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    try:
        world = await build_world(sessions, clock.now())
        now = await _due(sessions, world, clock, step)
        holder = sessions()
        await holder.begin()
        assert await STEPS[step](holder, now) == COUNT  # its transaction stays open, its rows locked
        async with sessions.begin() as other:
            # Neither waits for the holder's locks nor fails on the rows it is processing.
            assert await asyncio.wait_for(STEPS[step](other, now), timeout=5) == 0
        await holder.commit()
        await holder.close()
        assert len(await _actions(sessions)) == COUNT
    finally:
        await engine.dispose()
