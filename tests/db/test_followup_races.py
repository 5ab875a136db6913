"""The follow-ups under a race, on the real PostgreSQL and on SQLite: many presses of "hold it longer" at
once extend a hold once; many replicas' ticks at 08:00 write one daily agenda."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import booking as bookings
from bot.services import daily_agenda, hold_extension
from bot.services.clock import FrozenClock
from models import Booking, BookingState, OutboxMessage, Professional, User
from models.db import make_engine
from tests.db.booking_world import World, build_world, force_booking, kyiv

PRESSES = 10


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_booking_races.py does.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def engine(db_url: str) -> Any:
    # Room for every press at once, so the race is real rather than queued at the pool.
    engine = make_engine(db_url, pool_size=PRESSES, max_overflow=0) if "postgresql" in db_url else make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> World:
    return await build_world(sessions, clock.now())


async def _together(count: int, attempt: Any) -> list[Any]:
    start = asyncio.Event()

    async def one() -> Any:
        await start.wait()
        return await attempt()

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks)


async def test_presses_at_once_extend_a_hold_once(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    async with sessions.begin() as session:
        client = await session.get_one(User, world.client_id)
        held = await bookings.hold(
            session, client=client, service_id=world.paid_id, starts_at=kyiv("2026-12-01 10:00"), now=now
        )
        booking_id, first_end = held.id, held.hold_expires_at
    assert first_end is not None

    async def press() -> str:
        try:
            async with sessions.begin() as session:
                client = await session.get_one(User, world.client_id)
                await hold_extension.extend_hold(session, booking_id, client=client, now=now, expected_version=1)
                return "extended"
        except hold_extension.HoldNotExtended as refused:
            return str(refused.reason)

    results = await _together(PRESSES, press)
    assert sorted(results) == ["already"] * (PRESSES - 1) + ["extended"]
    async with sessions() as session:
        booking = await session.get_one(Booking, booking_id)
    assert (booking.state, booking.hold_extensions, booking.version) == (BookingState.HELD, 1, 2)
    assert booking.hold_expires_at == first_end + hold_extension.extension_of(booking)


async def test_ticks_of_many_replicas_at_eight_write_one_agenda(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    """The clock stands at Monday 08:00 in Kyiv, Anna's zone, and she has a session at 10:00."""
    now = clock.now()
    await force_booking(sessions, world, kyiv("2026-11-23 10:00"), BookingState.CONFIRMED, now)
    async with sessions.begin() as session:
        (await session.get_one(Professional, world.pro_id)).daily_agenda = True

    async def tick() -> int:
        async with sessions.begin() as session:
            return await daily_agenda.queue_daily_agendas(session, now)

    assert sum(await _together(PRESSES, tick)) == 1
    async with sessions() as session:
        agendas = select(OutboxMessage).where(OutboxMessage.kind == daily_agenda.DAILY_AGENDA)
        rows = (await session.scalars(agendas)).all()
        users = await session.scalar(select(func.count()).select_from(User))
    assert len(rows) == 1 and rows[0].voided_at is None and len(rows[0].payload["sessions"]) == 1
    assert users == 3  # Anna's chat already had its user row: no replica made another
