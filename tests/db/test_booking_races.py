"""No double booking under a race, on the real PostgreSQL and on SQLite, and the database's own guard
tested directly: a raw overlapping write fails whatever the application checked.

Every race runs twice: with the professional's row lock (bot/services/guard.py), and with it switched
off, where the database constraint alone decides and PostgreSQL's deadlocks between overlapping
inserts must be retried by the guard, never reach a client."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import booking as bookings
from bot.services import guard
from bot.services.clock import FrozenClock
from bot.services.errors import BookingChanged, SlotUnavailable
from bot.services.policy import Actor
from models import ACTIVE_STATES, Booking, BookingState, User
from models.db import make_engine
from tests.db.booking_world import World, build_world, force_booking, kyiv

CLIENTS = 50
TUESDAY_10 = kyiv("2026-12-01 10:00")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_slots.py explains.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def engine(db_url: str) -> Any:
    # Room for every client at once, so the race is real rather than queued at the pool.
    engine = make_engine(db_url, pool_size=CLIENTS, max_overflow=0) if "postgresql" in db_url else make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture(params=["locked", "constraint only"])
def professional_lock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The guard's row lock as shipped, or switched off (the database constraint alone decides)."""
    if request.param == "constraint only":

        async def no_lock(*_args: object) -> None:
            return None

        monkeypatch.setattr(guard, "lock_professional", no_lock)
    return str(request.param)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> World:
    world = await build_world(sessions, clock.now())
    async with sessions.begin() as session:
        session.add_all(
            User(telegram_id=10_000 + n, first_name=f"Client {n}", created_at=clock.now()) for n in range(CLIENTS)
        )
    return world


async def _client_ids(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    query = select(User.id).where(User.telegram_id.between(10_000, 10_000 + CLIENTS - 1)).order_by(User.id)
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def _race(
    sessions: async_sessionmaker[AsyncSession],
    attempts: list[tuple[int, int, datetime]],
    now: datetime,
    start: asyncio.Event | None = None,
) -> tuple[list[int], list[SlotUnavailable]]:
    """Every (client, service, start) tries to hold at once, each in its own transaction (at `start`,
    when given, so others can join the race)."""
    start = start or asyncio.Event()

    async def attempt(client_id: int, service_id: int, starts_at: datetime) -> int | SlotUnavailable:
        await start.wait()
        try:
            async with sessions.begin() as session:
                client = await session.get_one(User, client_id)
                booking = await bookings.hold(
                    session, client=client, service_id=service_id, starts_at=starts_at, now=now
                )
                return booking.id
        except SlotUnavailable as lost:
            return lost

    tasks = [asyncio.create_task(attempt(*args)) for args in attempts]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    won = [r for r in results if isinstance(r, int)]
    lost = [r for r in results if isinstance(r, SlotUnavailable)]
    return won, lost


async def _active(sessions: async_sessionmaker[AsyncSession], world: World) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.professional_id == world.pro_id, Booking.state.in_(ACTIVE_STATES))
            )
            or 0
        )


async def test_fifty_clients_racing_for_one_slot_one_wins(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, professional_lock: str
) -> None:
    clients = await _client_ids(sessions)
    won, lost = await _race(sessions, [(c, world.paid_id, TUESDAY_10) for c in clients], clock.now())
    assert len(won) == 1
    assert len(lost) == CLIENTS - 1
    assert {error.reason for error in lost} == {"taken"}
    assert all(error.nearest and TUESDAY_10 not in error.nearest for error in lost)
    assert await _active(sessions, world) == 1


async def test_overlapping_slots_of_different_services_one_wins(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, professional_lock: str
) -> None:
    # Three bookings whose buffered intervals all cover 10:15: the 50-minute session at 10:00 (blocking
    # until 11:00) and at 09:30 (until 10:30), the free 20-minute intro at 10:00 (until 10:30).
    clients = await _client_ids(sessions)
    choices = [
        (world.paid_id, TUESDAY_10),
        (world.free_id, TUESDAY_10),
        (world.paid_id, TUESDAY_10 - timedelta(minutes=30)),
    ]
    attempts = [(client, *choices[n % len(choices)]) for n, client in enumerate(clients)]
    won, lost = await _race(sessions, attempts, clock.now())
    assert len(won) == 1 and len(lost) == CLIENTS - 1
    assert await _active(sessions, world) == 1


async def test_the_database_decides_when_every_check_in_code_says_yes(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    professional_lock: str,
) -> None:
    # Blind the application's check: only the constraint (PostgreSQL) or the trigger (SQLite) is left.
    async def always_free(*_args: object, **_kwargs: object) -> bool:
        return True

    monkeypatch.setattr(bookings, "is_offered", always_free)
    clients = await _client_ids(sessions)
    won, lost = await _race(sessions, [(c, world.paid_id, TUESDAY_10) for c in clients[:10]], clock.now())
    assert len(won) == 1 and len(lost) == 9
    assert {error.reason for error in lost} == {"taken"}
    assert await _active(sessions, world) == 1


async def test_a_reschedule_racing_holds_for_the_time_it_moves_to(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, professional_lock: str
) -> None:
    # Olena moves her Monday session to Tuesday 10:00 while nine clients try to hold Tuesday 10:00.
    monday = await force_booking(sessions, world, kyiv("2026-11-30 10:00"), BookingState.CONFIRMED, clock.now())
    start = asyncio.Event()

    async def move() -> str:
        await start.wait()
        try:
            async with sessions.begin() as session:
                await bookings.reschedule(session, monday, TUESDAY_10, by=Actor.CLIENT, now=clock.now())
        except SlotUnavailable:
            return "lost"
        return "moved"

    task = asyncio.create_task(move())
    clients = await _client_ids(sessions)
    holds = _race(sessions, [(c, world.paid_id, TUESDAY_10) for c in clients[:9]], clock.now(), start)
    (won, lost), outcome = await asyncio.gather(holds, task)
    assert len(won) + (outcome == "moved") == 1
    assert len(lost) + (outcome == "lost") == 9
    async with sessions() as session:
        moved = await session.get_one(Booking, monday)
        assert moved.starts_at == (TUESDAY_10 if outcome == "moved" else kyiv("2026-11-30 10:00"))
        assert moved.state == BookingState.CONFIRMED
    assert await _active(sessions, world) == 1 + len(won)


async def test_a_cancel_racing_a_reschedule_of_the_same_booking(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, professional_lock: str
) -> None:
    # Both presses carry the version their screen showed: whichever goes second finds it changed.
    booking_id = await force_booking(sessions, world, kyiv("2026-12-02 10:00"), BookingState.CONFIRMED, clock.now())
    start = asyncio.Event()

    async def cancel() -> str:
        await start.wait()
        try:
            async with sessions.begin() as session:
                await bookings.cancel(
                    session,
                    booking_id,
                    by=Actor.CLIENT,
                    now=clock.now(),
                    expected_version=1,
                    expected_refund_percent=100,
                )
        except BookingChanged:
            return "changed"
        return "done"

    async def move() -> str:
        await start.wait()
        try:
            async with sessions.begin() as session:
                await bookings.reschedule(
                    session, booking_id, TUESDAY_10, by=Actor.CLIENT, now=clock.now(), expected_version=1
                )
        except BookingChanged:
            return "changed"
        return "done"

    tasks = [asyncio.create_task(cancel()), asyncio.create_task(move())]
    await asyncio.sleep(0)
    start.set()
    cancelled, moved = await asyncio.gather(*tasks)
    assert sorted([cancelled, moved]) == ["changed", "done"]
    async with sessions() as session:
        booking = await session.get_one(Booking, booking_id)
    assert booking.version == 2
    if cancelled == "done":
        assert (booking.state, booking.starts_at) == (BookingState.CANCELLED, kyiv("2026-12-02 10:00"))
    else:
        assert (booking.state, booking.starts_at) == (BookingState.CONFIRMED, TUESDAY_10)


# --- the guard itself, in raw SQL ------------------------------------------------------------------

_INSERT = text(
    "INSERT INTO bookings (client_id, professional_id, service_id, starts_at, ends_at, block_starts_at, "
    "block_ends_at, state, version, price_minor, currency, policy, reschedule_count, created_at, updated_at) "
    "VALUES (:client, :pro, :service, :start, :end, :start, :end, :state, 1, 0, 'EUR', '{}', 0, :start, :start)"
)


async def _raw_insert(engine: AsyncEngine, world: World, start: str, end: str, state: str = "confirmed") -> None:
    params = {
        "client": world.client_id,
        "pro": world.pro_id,
        "service": world.paid_id,
        "start": kyiv(start),
        "end": kyiv(end),
        "state": state,
    }
    if engine.dialect.name == "sqlite":
        # SQLite keeps naive UTC text (models.base.UTCDateTime); raw SQL must write the same.
        params |= {k: v.replace(tzinfo=None) for k, v in params.items() if isinstance(v, datetime)}
    async with engine.begin() as connection:
        await connection.execute(_INSERT, params)


async def test_a_raw_overlapping_insert_is_refused_by_the_database(engine: AsyncEngine, world: World) -> None:
    await _raw_insert(engine, world, "2026-12-01 10:00", "2026-12-01 11:00")
    with pytest.raises(IntegrityError):
        await _raw_insert(engine, world, "2026-12-01 10:30", "2026-12-01 11:30")
    with pytest.raises(IntegrityError):
        await _raw_insert(engine, world, "2026-12-01 09:00", "2026-12-01 12:00", state="held")
    # Touching is not overlapping; cancelled and expired bookings do not occupy the calendar.
    await _raw_insert(engine, world, "2026-12-01 11:00", "2026-12-01 12:00")
    await _raw_insert(engine, world, "2026-12-01 10:15", "2026-12-01 10:45", state="cancelled")
    await _raw_insert(engine, world, "2026-12-01 10:15", "2026-12-01 10:45", state="expired")


async def test_a_raw_update_onto_another_booking_or_back_to_active_is_refused(
    engine: AsyncEngine, world: World
) -> None:
    await _raw_insert(engine, world, "2026-12-01 10:00", "2026-12-01 11:00")
    await _raw_insert(engine, world, "2026-12-01 11:00", "2026-12-01 12:00")
    await _raw_insert(engine, world, "2026-12-01 10:15", "2026-12-01 10:45", state="cancelled")
    shift = {"start": kyiv("2026-12-01 10:30"), "end": kyiv("2026-12-01 11:30")}
    if engine.dialect.name == "sqlite":
        shift = {k: v.replace(tzinfo=None) for k, v in shift.items()}
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE bookings SET starts_at = :start, ends_at = :end, block_starts_at = :start, "
                    "block_ends_at = :end WHERE id = 2"
                ),
                shift,
            )
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE bookings SET state = 'confirmed' WHERE id = 3"))
