"""The calendar guard (bot/services/guard.py): a deadlock PostgreSQL breaks is retried in the guard's
savepoint until both writers are through; other errors go up at once; a write the check refuses leaves
nothing behind. And what the guard decides for the chat: the version and refund a person saw, a second
press of Confirm, the moves left, all under the lock, with the stored values of the enums unchanged."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import booking as bookings
from bot.services import guard
from bot.services.clock import FrozenClock
from bot.services.errors import BookingChanged, SlotUnavailable
from bot.services.policy import Actor, PaidWith
from models import Booking, BookingEvent, BookingState, OutboxMessage, Professional
from tests.db.booking_world import World, build_world, force_booking, kyiv, user

TUESDAY_10 = kyiv("2026-12-01 10:00")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_slots.py explains.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> World:
    return await build_world(sessions, clock.now())


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failure(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate))


# --- retrying --------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_deadlock_is_retried_until_both_writers_are_through(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    # Two writers, each guarding one professional and then reaching for the other's row: PostgreSQL
    # breaks the deadlock by failing one statement; that writer's savepoint lets go and tries again.
    async with sessions() as session:
        anna, lea = sorted((await session.scalars(select(Professional.id))).all())
    locked = {anna: asyncio.Event(), lea: asyncio.Event()}
    attempts: list[int] = []

    async def writer(mine: int, theirs: int) -> str:
        async with sessions.begin() as session:
            await session.execute(text("SET LOCAL deadlock_timeout = '100ms'"))

            async def check_and_write() -> str:
                attempts.append(mine)
                locked[mine].set()
                await locked[theirs].wait()
                await guard.lock_professional(session, theirs)
                return "through"

            return await guard.guarded(session, mine, check_and_write)

    results = await asyncio.gather(writer(anna, lea), writer(lea, anna))
    assert results == ["through", "through"]
    assert len(attempts) == 3  # one of them twice


async def test_a_serialization_failure_is_retried_and_then_given_up(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    calls = 0

    async def fails_once() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise _failure(guard.SERIALIZATION_FAILURE)
        return "written"

    async with sessions.begin() as session:
        assert await guard.guarded(session, world.pro_id, fails_once) == "written"
    assert calls == 2

    async def always_fails() -> None:
        nonlocal calls
        calls += 1
        raise _failure(guard.DEADLOCK)

    calls = 0
    async with sessions.begin() as session:
        with pytest.raises(DBAPIError):
            await guard.guarded(session, world.pro_id, always_fails, attempts=3)
    assert calls == 3


async def test_other_database_errors_are_not_retried(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise _failure("42P01")  # undefined table: trying again cannot help

    async with sessions.begin() as session:
        with pytest.raises(DBAPIError):
            await guard.guarded(session, world.pro_id, broken)
    assert calls == 1


# --- what is decided under the lock ------------------------------------------------------------------


async def _snapshot(sessions: async_sessionmaker[AsyncSession], booking_id: int) -> tuple[object, ...]:
    async with sessions() as session:
        booking = await session.get_one(Booking, booking_id)
        events = (await session.scalars(select(BookingEvent.id).where(BookingEvent.booking_id == booking_id))).all()
        outbox = (await session.scalars(select(OutboxMessage.id))).all()
        return booking.state, booking.version, booking.starts_at, len(events), len(outbox)


async def test_a_cancel_checks_the_version_and_the_refund_the_client_saw(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    before = await _snapshot(sessions, booking_id)
    async with sessions.begin() as session:
        with pytest.raises(BookingChanged) as changed:
            await bookings.cancel(session, booking_id, by=Actor.CLIENT, now=clock.now(), expected_version=2)
        assert changed.value.what == "version"
    # Shown while cancelling was free; inside the 72 hours now, so half back is not what they agreed to.
    late = TUESDAY_10 - timedelta(hours=10)
    async with sessions.begin() as session:
        with pytest.raises(BookingChanged) as changed:
            await bookings.cancel(
                session, booking_id, by=Actor.CLIENT, now=late, expected_version=1, expected_refund_percent=100
            )
        assert changed.value.what == "refund"
    assert await _snapshot(sessions, booking_id) == before
    async with sessions.begin() as session:
        done = await bookings.cancel(
            session, booking_id, by=Actor.CLIENT, now=late, expected_version=1, expected_refund_percent=50
        )
        assert (done.state, done.refund_minor) == (BookingState.CANCELLED, 3000)


async def test_a_reschedule_checks_the_version_the_client_saw(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    async with sessions.begin() as session:
        await bookings.reschedule(session, booking_id, kyiv("2026-12-02 10:00"), by=Actor.PROFESSIONAL, now=clock.now())
    before = await _snapshot(sessions, booking_id)
    async with sessions.begin() as session:
        with pytest.raises(BookingChanged):
            await bookings.reschedule(
                session, booking_id, kyiv("2026-12-03 10:00"), by=Actor.CLIENT, now=clock.now(), expected_version=1
            )
    assert await _snapshot(sessions, booking_id) == before


async def test_a_refused_write_leaves_nothing_behind(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    # A hold whose time ran out would be expired by the next write that takes a slot; when that write
    # is refused, its savepoint takes the expiry back with it (the worker's tick expires it instead).
    overdue = await force_booking(sessions, world, kyiv("2026-12-02 10:00"), BookingState.HELD, clock.now())
    clock.advance(timedelta(hours=1))
    taken = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    before = await _snapshot(sessions, overdue)
    async with sessions.begin() as session:
        client = await user(session, world.other_client_id)
        with pytest.raises(SlotUnavailable):
            await bookings.hold(session, client=client, service_id=world.paid_id, starts_at=TUESDAY_10, now=clock.now())
    assert await _snapshot(sessions, overdue) == before
    assert (await _snapshot(sessions, taken))[0] == BookingState.CONFIRMED


async def test_confirm_pressed_twice_finds_the_first_booking(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    for service_id, state in ((world.paid_id, BookingState.HELD), (world.free_id, BookingState.CONFIRMED)):
        starts = TUESDAY_10 if service_id == world.paid_id else kyiv("2026-12-02 10:00")
        made = []
        for _ in range(2):
            async with sessions.begin() as session:
                client = await user(session, world.client_id)
                made.append(
                    await bookings.book(
                        session, client=client, service_id=service_id, starts_at=starts, now=clock.now()
                    )
                )
        first, second = made
        assert (first.again, second.again) == (False, True)
        assert first.booking.id == second.booking.id and second.booking.state == state
        # Anyone else is told the time is taken, and `hold` keeps saying so to the client too.
        async with sessions.begin() as session:
            other = await user(session, world.other_client_id)
            with pytest.raises(SlotUnavailable):
                await bookings.book(session, client=other, service_id=service_id, starts_at=starts, now=clock.now())
            with pytest.raises(SlotUnavailable):
                client = await user(session, world.client_id)
                await bookings.hold(session, client=client, service_id=service_id, starts_at=starts, now=clock.now())


# --- new bookings share the lock (PostgreSQL: SQLite's BEGIN IMMEDIATE lets one writer in at a time) ----

LOCK_NOT_AVAILABLE = "55P03"


async def _until_a_statement_waits_for_a_lock(sessions: async_sessionmaker[AsyncSession]) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(2000):
        async with sessions() as session:
            if await session.scalar(waiting):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("no statement ever waited for a lock")


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_new_bookings_of_one_professional_go_ahead_side_by_side(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    async with sessions.begin() as first:
        client = await user(first, world.client_id)
        held = await bookings.hold(
            first, client=client, service_id=world.paid_id, starts_at=TUESDAY_10, now=clock.now()
        )
        # The first is still open, its calendar lock held: another client's booking of another time does not
        # wait for it (a wait would end in lock_timeout's error instead).
        async with sessions.begin() as second:
            await second.execute(text("SET LOCAL lock_timeout = '2s'"))
            other = await user(second, world.other_client_id)
            booked = await bookings.book(
                second, client=other, service_id=world.free_id, starts_at=kyiv("2026-12-02 10:00"), now=clock.now()
            )
        assert booked.booking.state == BookingState.CONFIRMED and not booked.again
    async with sessions() as session:
        assert (await session.get_one(Booking, held.id)).state == BookingState.HELD


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_move_still_waits_for_a_new_booking_in_flight(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    moving = await force_booking(sessions, world, kyiv("2026-12-03 10:00"), BookingState.CONFIRMED, clock.now())
    async with sessions.begin() as first:
        client = await user(first, world.other_client_id)
        await bookings.hold(first, client=client, service_id=world.paid_id, starts_at=TUESDAY_10, now=clock.now())
        with pytest.raises(DBAPIError) as waited:
            async with sessions.begin() as second:
                await second.execute(text("SET LOCAL lock_timeout = '200ms'"))
                await bookings.reschedule(second, moving, kyiv("2026-12-02 10:00"), by=Actor.CLIENT, now=clock.now())
        assert guard.sqlstate(waited.value) == LOCK_NOT_AVAILABLE


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_confirm_pressed_twice_at_once_finds_the_first_booking(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    starts = kyiv("2026-12-02 10:00")

    async def press(session: AsyncSession) -> bookings.Booked:
        client = await user(session, world.client_id)
        return await bookings.book(session, client=client, service_id=world.free_id, starts_at=starts, now=clock.now())

    async def second_press() -> bookings.Booked:
        async with sessions.begin() as session:
            return await press(session)

    async with sessions.begin() as session:
        first = await press(session)
        # The second press checks, finds the time free (the first is not committed) and tries to insert:
        # the database holds that insert until the first commits, then refuses it.
        second_task = asyncio.create_task(second_press())
        await _until_a_statement_waits_for_a_lock(sessions)
    second = await second_task
    assert (first.again, second.again) == (False, True)
    assert second.booking.id == first.booking.id and second.booking.state == BookingState.CONFIRMED


async def test_moves_left_after_this_one(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    left = []
    for day in ("2026-12-02 10:00", "2026-12-03 10:00"):
        async with sessions.begin() as session:
            booking = await session.get_one(Booking, booking_id)
            left.append(bookings.moves_left_after_this(booking))
            await bookings.reschedule(session, booking_id, kyiv(day), by=Actor.CLIENT, now=clock.now())
    async with sessions() as session:
        left.append(bookings.moves_left_after_this(await session.get_one(Booking, booking_id)))
    assert left == [1, 0, 0]  # the policy allows two


async def test_enums_keep_the_stored_values(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.HELD, clock.now())
    async with sessions.begin() as session:
        await bookings.confirm(session, booking_id, now=clock.now(), paid_with=PaidWith.CREDIT)
        await bookings.cancel(session, booking_id, by=Actor.OPERATOR, now=clock.now())
    async with sessions() as session:
        row = (
            await session.execute(
                text("SELECT paid_with, cancelled_by FROM bookings WHERE id = :id"), {"id": booking_id}
            )
        ).one()
        actors = (
            await session.scalars(
                text("SELECT actor FROM booking_events WHERE booking_id = :id ORDER BY id").bindparams(id=booking_id)
            )
        ).all()
    assert tuple(row) == ("credit", "operator")
    assert list(actors) == ["system", "operator"]
    with pytest.raises(ValueError, match="paid_with must be one of"):
        async with sessions.begin() as session:
            await bookings.confirm(session, booking_id, now=clock.now(), paid_with="cash")  # type: ignore[arg-type]
