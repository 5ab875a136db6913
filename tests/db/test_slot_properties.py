"""Property tests of what the database side of the slot engine adds: `free_slots` (which loads only the
overrides, time off and bookings near the range) and the client's picker (bot/services/picker.py, which
slices weeks and days in the viewer's zone).

Each example writes one random professional into the database: weekly hours, overrides (some of them
days off), time off, buffers, notice, horizon, and bookings in every state (holds that ran out too).
The expected answer comes from the pure engine (`compute_slots`, itself checked against a brute-force
reference in tests/unit/test_availability_properties.py) fed with the generated data directly, so no
query and no date slicing of the code under test is reused. The clock and the days asked for fall
around clock changes of both the professional's and the viewer's zone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.services.availability import (
    Schedule,
    Slot,
    compute_slots,
    default_step_minutes,
    free_slots,
    start_of_local_day,
)
from bot.services.picker import monday_of, times_on, week_of
from models import (
    Booking,
    BookingState,
    DateOverride,
    OverrideWindow,
    Professional,
    Service,
    ServiceMode,
    TimeOff,
    User,
    WeeklyWindow,
)

# Zones with the 2026 dates their clocks change (Kathmandu's never do). Havana and Santiago change at
# midnight, so a viewer's day there may begin at 01:00 or hold 23:00 twice.
CHANGES = {
    "Europe/Kyiv": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
    "Asia/Kathmandu": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/Havana": [date(2026, 3, 8), date(2026, 11, 1)],
    "America/Santiago": [date(2026, 4, 5), date(2026, 9, 6)],
}
PROFESSIONAL_ZONES = ["Europe/Kyiv", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
VIEWER_ZONES = [*CHANGES, "UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
# Holds are the state with rules of their own (they stop counting when they run out).
states = st.one_of(st.just(BookingState.HELD), st.sampled_from(list(BookingState)))
# A hold may run out a minute before, at or after the clock's reading: the edge of a rule.
hold_minutes_left = st.one_of(st.none(), st.sampled_from([-1, 0, 1]), st.integers(-120, 120))

# Every example writes a new professional into the one database of the test: examples never share rows.
DB_PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    # No "explain" phase: re-running a failing example's variations against a database outlasts the
    # suite's hang guard; the shrunk example says enough.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_slugs = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_slots.py does: pytest-asyncio cannot
    # resolve an async fixture through getfixturevalue from inside a running loop.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@dataclass(frozen=True)
class PlannedBooking:
    starts: datetime
    state: BookingState
    hold_expires_at: datetime | None


@dataclass(frozen=True)
class World:
    schedule: Schedule
    step: int | None
    duration: int
    bookings: list[PlannedBooking]
    now: datetime

    def busy(self, left_out: datetime | None = None) -> list[tuple[datetime, datetime]]:
        """The blocks that occupy the calendar now, worked out from the plan rather than from a query."""
        duration = timedelta(minutes=self.duration)
        return [
            (booking.starts - self.schedule.buffer_before, booking.starts + duration + self.schedule.buffer_after)
            for booking in self.bookings
            if booking.state in (BookingState.HELD, BookingState.CONFIRMED)
            and not (
                booking.state is BookingState.HELD
                and booking.hold_expires_at is not None
                and booking.hold_expires_at <= self.now
            )
            and booking.starts != left_out
        ]

    def expected(self, low: datetime, high: datetime, left_out: datetime | None = None) -> list[Slot]:
        step = timedelta(minutes=self.step or default_step_minutes(self.duration))
        return compute_slots(
            self.schedule, timedelta(minutes=self.duration), step, self.busy(left_out), self.now, low, high
        )


def window_lists(min_size: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    # Some windows start on the hour, as most people's do: their slots then meet other zones' midnights.
    first = st.one_of(st.integers(0, 1439), st.integers(0, 23).map(lambda hour: hour * 60))
    window = first.flatmap(lambda start: st.tuples(st.just(start), st.integers(start + 1, min(1440, start + 720))))
    return st.lists(window, min_size=min_size, max_size=3)


windows = window_lists(min_size=0)
day_windows = st.one_of(window_lists(min_size=1), st.just([(0, 1440)]))


@st.composite
def worlds(draw: st.DrawFn, viewer_zone: str | None = None) -> World:
    name = draw(st.sampled_from(PROFESSIONAL_ZONES))
    zone = ZoneInfo(name)
    # Near a change of the viewer's clock (where the picker's days are 23 or 25 hours long), else of
    # the professional's.
    anchor = draw(st.sampled_from(CHANGES.get(viewer_zone or name) or CHANGES[name]))
    nearby = [anchor + timedelta(days=offset) for offset in range(-3, 12)]
    duration = draw(st.sampled_from([15, 30, 45, 50, 60, 90, 120, 240]))
    schedule = Schedule(
        zone=zone,
        weekly={weekday: draw(day_windows) for weekday in range(7)},
        overrides=draw(st.dictionaries(st.sampled_from(nearby), windows, max_size=4)),
        time_off=[
            (first, first + timedelta(days=length))
            for first, length in draw(st.lists(st.tuples(st.sampled_from(nearby), st.integers(0, 2)), max_size=1))
        ],
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 5, 15, 30]))),
        buffer_after=timedelta(minutes=draw(st.sampled_from([0, 10, 15]))),
        min_notice=timedelta(minutes=draw(st.sampled_from([0, 60, 240, 1440]))),
        horizon=timedelta(days=draw(st.integers(2, 12))),
    )
    now = start_of_local_day(anchor - timedelta(days=2), zone) + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    # Bookings one after another (the database refuses overlapping active ones), from the day before
    # the clock on; states of every kind, holds live and run out.
    bookings = []
    cursor = now - timedelta(days=1)
    for gap, state, hold_left in draw(st.lists(st.tuples(st.integers(0, 600), states, hold_minutes_left), max_size=16)):
        starts = cursor + schedule.buffer_before + timedelta(minutes=gap)
        expires = now + timedelta(minutes=hold_left) if state is BookingState.HELD and hold_left is not None else None
        bookings.append(PlannedBooking(starts, state, expires))
        cursor = starts + timedelta(minutes=duration) + schedule.buffer_after
    step = draw(st.one_of(st.none(), st.sampled_from([15, 30, 60])))
    return World(schedule, step, duration, bookings, now)


async def _write(sessions: async_sessionmaker[AsyncSession], world: World) -> tuple[int, list[int]]:
    """The professional of `world` in the database: its service's id and its bookings' ids."""
    schedule = world.schedule
    async with sessions.begin() as session:
        pro = Professional(
            slug=f"property-{next(_slugs)}",
            name="Property",
            verified=True,
            timezone=schedule.zone.key,
            languages=["en"],
            categories=["career-coaching"],
            min_notice_minutes=int(schedule.min_notice / timedelta(minutes=1)),
            booking_horizon_days=schedule.horizon.days,
            buffer_before_minutes=int(schedule.buffer_before / timedelta(minutes=1)),
            buffer_after_minutes=int(schedule.buffer_after / timedelta(minutes=1)),
            slot_step_minutes=world.step,
        )
        service = Service(
            slug="s", name="S", duration_minutes=world.duration, price_minor=0, currency="EUR", mode=ServiceMode.VIDEO
        )
        pro.services.append(service)
        pro.weekly_windows.extend(
            WeeklyWindow(weekday=weekday, starts=first, ends=last)
            for weekday, spans in schedule.weekly.items()
            for first, last in spans
        )
        for on_date, spans in schedule.overrides.items():
            override = DateOverride(on_date=on_date)
            override.windows.extend(OverrideWindow(starts=first, ends=last) for first, last in spans)
            pro.date_overrides.append(override)
        pro.time_off.extend(TimeOff(first_day=first, last_day=last) for first, last in schedule.time_off)
        client = User(telegram_id=10_000_000 + next(_slugs), first_name="Client", created_at=world.now)
        session.add_all([pro, client])
        await session.flush()
        rows = []
        for planned in world.bookings:
            ends = planned.starts + timedelta(minutes=world.duration)
            booking = Booking(
                client_id=client.id,
                professional_id=pro.id,
                service_id=service.id,
                starts_at=planned.starts,
                ends_at=ends,
                block_starts_at=planned.starts - schedule.buffer_before,
                block_ends_at=ends + schedule.buffer_after,
                state=planned.state,
                hold_expires_at=planned.hold_expires_at,
                price_minor=0,
                currency="EUR",
                policy={},
                created_at=world.now,
                updated_at=world.now,
            )
            session.add(booking)
            rows.append(booking)
        await session.flush()
        return service.id, [booking.id for booking in rows]


async def _service(session: AsyncSession, service_id: int) -> Service:
    service = await session.scalar(
        select(Service).where(Service.id == service_id).options(selectinload(Service.professional))
    )
    assert service is not None
    return service


def _starts(slots: Sequence[Slot]) -> list[datetime]:
    return [slot.start for slot in slots]


@st.composite
def queried_worlds(draw: st.DrawFn) -> tuple[World, datetime, datetime, int | None]:
    """A world, a range to ask for (mostly inside the bookable span, sometimes across its ends) and which
    booking, if any, to leave out as a reschedule does."""
    world = draw(worlds())
    horizon_minutes = int(world.schedule.horizon / timedelta(minutes=1))
    soon, inside = st.integers(0, 2 * 1440), st.integers(0, horizon_minutes - 720)
    low = world.now + timedelta(minutes=draw(st.one_of(soon, inside, st.integers(-1440, horizon_minutes + 60))))
    high = low + timedelta(minutes=draw(st.one_of(st.integers(0, 1440), st.integers(1440, 6 * 1440))))
    left_out = draw(st.one_of(st.none(), st.integers(0, len(world.bookings) - 1))) if world.bookings else None
    return world, low, high, left_out


@settings(DB_PROPERTY_SETTINGS, max_examples=80)
@given(queried_worlds())
async def test_free_slots_are_what_the_engine_finds_on_everything(
    sessions: async_sessionmaker[AsyncSession], queried: tuple[World, datetime, datetime, int | None]
) -> None:
    world, low, high, excluded = queried
    service_id, booking_ids = await _write(sessions, world)
    async with sessions() as session:
        service = await _service(session, service_id)
        found = await free_slots(
            session,
            service.professional,
            service,
            low,
            high,
            world.now,
            exclude_booking_id=None if excluded is None else booking_ids[excluded],
        )
    left_out_start = None if excluded is None else world.bookings[excluded].starts
    assert found == world.expected(low, high, left_out_start)


@st.composite
def viewed_worlds(draw: st.DrawFn) -> tuple[World, str]:
    viewer_zone = draw(st.sampled_from(VIEWER_ZONES))
    return draw(worlds(viewer_zone)), viewer_zone


@DB_PROPERTY_SETTINGS
@given(viewed_worlds(), st.integers(-30, 30))
async def test_the_picker_groups_free_slots_by_the_viewers_own_days(
    sessions: async_sessionmaker[AsyncSession], viewed: tuple[World, str], day_offset: int
) -> None:
    """Every week the client can page through, and one asked for anywhere (a stale or forged button)."""
    world, viewer_zone = viewed
    service_id, _ = await _write(sessions, world)
    viewer = ZoneInfo(viewer_zone)
    # Everything bookable at all, each slot on the date the viewer's clock shows at its start.
    everything = world.expected(world.now - timedelta(days=1), world.now + world.schedule.horizon + timedelta(days=1))
    by_day: dict[date, list[datetime]] = {}
    for slot in everything:
        by_day.setdefault(slot.start.astimezone(viewer).date(), []).append(slot.start)
    first_day = world.now.astimezone(viewer).date()
    last_day = (world.now + world.schedule.horizon).astimezone(viewer).date()
    mondays = [monday_of(first_day)]
    while mondays[-1] < monday_of(last_day):
        mondays.append(mondays[-1] + timedelta(days=7))
    asked = first_day + timedelta(days=day_offset)

    async with sessions() as session:
        service = await _service(session, service_id)
        clamped = await week_of(session, service, asked, viewer_zone, world.now)
        for monday in mondays:
            following = monday + timedelta(days=7)
            week = await week_of(session, service, monday + timedelta(days=day_offset % 7), viewer_zone, world.now)
            assert week.monday == monday
            assert week.days == sorted(day for day in by_day if monday <= day < following)
            for offset in range(7):
                day = monday + timedelta(days=offset)
                assert _starts(await times_on(session, service, day, viewer_zone, world.now)) == by_day.get(day, [])
            assert week.previous == (monday - timedelta(days=7) if monday > monday_of(first_day) else None)
            assert week.next == (following if following <= last_day else None)
            later = sorted(day for day in by_day if day >= following)
            expected_next_free = later[0] if not week.days and following <= last_day and later else None
            assert week.next_free_day == expected_next_free

    assert clamped.monday == min(max(monday_of(asked), mondays[0]), mondays[-1])


def test_the_worlds_meet_the_clock_changes() -> None:
    """The anchors are real changes: a guard against a stale table turning these into plain weeks."""
    for name, days in CHANGES.items():
        zone = ZoneInfo(name)
        for day in days:
            offsets = {
                (datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour))
                .astimezone(zone)
                .utcoffset()
                for hour in range(-24, 48)
            }
            assert len(offsets) == (1 if name == "Asia/Kathmandu" else 2), (name, day)
    # Havana's day of the spring change begins at 01:00.
    assert start_of_local_day(date(2026, 3, 8), ZoneInfo("America/Havana")) == datetime(2026, 3, 8, 5, tzinfo=UTC)
