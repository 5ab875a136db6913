"""Slots from the database (SQLite and PostgreSQL) and `bookbot slots`.

The data is built with the ORM directly, so these tests stand on their own. The professional works
09:00-12:00 in Kyiv on weekdays, 50-minute sessions every hour with 10 minutes' buffer after; the
clock stands at Monday 2026-11-23 08:00 Kyiv (06:00 UTC).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.cli import main
from bot.services import availability
from bot.services.availability import (
    Slot,
    compute_slots,
    days_with_slots,
    first_free_slots_by_day,
    free_slots,
    is_offered,
    nearest_free_slots,
    schedule_of,
    step_of,
)
from bot.services.clock import FrozenClock
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
from tests.conftest import _pg_admin, _pg_url

KYIV = ZoneInfo("Europe/Kyiv")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url` (as tests/db/test_outbox.py does): pytest-asyncio
    # cannot resolve an async fixture through getfixturevalue from inside a running loop.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


def kyiv(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KYIV).astimezone(UTC)


def shown(slots: list[datetime], zone: ZoneInfo = KYIV) -> list[str]:
    return [f"{start.astimezone(zone):%m-%d %H:%M}" for start in slots]


@dataclass(frozen=True)
class World:
    pro_id: int
    service_id: int
    confirmed_id: int
    expired_hold_id: int
    live_hold_id: int


async def _booking(
    session: AsyncSession,
    pro: Professional,
    service: Service,
    client: User,
    starts: datetime,
    state: BookingState,
    now: datetime,
    hold_expires_at: datetime | None = None,
) -> Booking:
    ends = starts + timedelta(minutes=service.duration_minutes)
    booking = Booking(
        client_id=client.id,
        professional_id=pro.id,
        service_id=service.id,
        starts_at=starts,
        ends_at=ends,
        block_starts_at=starts - timedelta(minutes=pro.buffer_before_minutes),
        block_ends_at=ends + timedelta(minutes=pro.buffer_after_minutes),
        state=state,
        hold_expires_at=hold_expires_at,
        price_minor=service.price_minor,
        currency=service.currency,
        policy={},
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    await session.flush()
    return booking


def _professional(slug: str, verified: bool = True) -> Professional:
    return Professional(
        slug=slug,
        name="Anna Koval",
        verified=verified,
        timezone="Europe/Kyiv",
        languages=["en"],
        categories=["career-coaching"],
        min_notice_minutes=240,
        booking_horizon_days=60,
        buffer_before_minutes=0,
        buffer_after_minutes=10,
        slot_step_minutes=60,
    )


async def build_world(sessions: async_sessionmaker[AsyncSession], now: datetime) -> World:
    async with sessions.begin() as session:
        pro = _professional("anna-koval")
        service = Service(
            slug="coaching-50",
            name="Coaching session",
            duration_minutes=50,
            price_minor=6000,
            currency="EUR",
            mode=ServiceMode.VIDEO,
        )
        pro.services.append(service)
        pro.services.append(
            Service(
                slug="retired",
                name="Old",
                duration_minutes=30,
                price_minor=0,
                currency="EUR",
                mode=ServiceMode.VIDEO,
                active=False,
            )
        )
        pro.weekly_windows.extend(WeeklyWindow(weekday=day, starts=9 * 60, ends=12 * 60) for day in range(5))
        pro.date_overrides.append(DateOverride(on_date=date(2026, 12, 3)))  # Thursday: a day off
        pro.time_off.append(TimeOff(first_day=date(2026, 12, 4), last_day=date(2026, 12, 4)))  # Friday
        client = User(telegram_id=555, first_name="Client", created_at=now)
        session.add_all([pro, client])
        await session.flush()
        confirmed = await _booking(session, pro, service, client, kyiv("2026-12-01 10:00"), BookingState.CONFIRMED, now)
        expired = await _booking(
            session, pro, service, client, kyiv("2026-12-01 11:00"), BookingState.HELD, now, now - timedelta(minutes=1)
        )
        live = await _booking(
            session, pro, service, client, kyiv("2026-12-02 09:00"), BookingState.HELD, now, now + timedelta(minutes=30)
        )
        await _booking(session, pro, service, client, kyiv("2026-12-02 10:00"), BookingState.CANCELLED, now)
        return World(pro.id, service.id, confirmed.id, expired.id, live.id)


async def _load(session: AsyncSession, world: World) -> tuple[Professional, Service]:
    pro = await session.get_one(Professional, world.pro_id)
    service = await session.get_one(Service, world.service_id)
    return pro, service


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> World:
    return await build_world(sessions, clock.now())


async def _starts_between(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    now: datetime,
    first: str,
    last: str,
    exclude: int | None = None,
) -> list[str]:
    async with sessions() as session:
        pro, service = await _load(session, world)
        found = await free_slots(session, pro, service, kyiv(first), kyiv(last), now, exclude_booking_id=exclude)
    assert all(slot.end - slot.start == timedelta(minutes=50) for slot in found)
    return shown([slot.start for slot in found])


async def test_free_slots_honour_bookings_holds_overrides_and_time_off(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    found = await _starts_between(sessions, world, clock.now(), "2026-12-01 00:00", "2026-12-07 00:00")
    # 12-01 10:00 is confirmed; 12-01 11:00's hold ran out; 12-02 09:00 is held; 12-02 10:00 was cancelled;
    # Thursday is overridden off and Friday is time off.
    assert found == ["12-01 09:00", "12-01 11:00", "12-02 10:00", "12-02 11:00"]


async def test_a_hold_blocks_until_it_expires(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    before = await _starts_between(sessions, world, clock.now(), "2026-12-02 00:00", "2026-12-03 00:00")
    at_expiry = await _starts_between(
        sessions, world, clock.now() + timedelta(minutes=30), "2026-12-02 00:00", "2026-12-03 00:00"
    )
    assert before == ["12-02 10:00", "12-02 11:00"]
    assert at_expiry == ["12-02 09:00", "12-02 10:00", "12-02 11:00"]


async def test_excluding_a_booking_frees_its_own_slot(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    found = await _starts_between(
        sessions, world, clock.now(), "2026-12-01 00:00", "2026-12-02 00:00", exclude=world.confirmed_id
    )
    assert found == ["12-01 09:00", "12-01 10:00", "12-01 11:00"]


async def test_is_offered(sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock) -> None:
    now = clock.now()
    async with sessions() as session:
        pro, service = await _load(session, world)
        assert await is_offered(session, pro, service, kyiv("2026-12-01 09:00"), now)
        assert not await is_offered(session, pro, service, kyiv("2026-12-01 10:00"), now)
        assert await is_offered(
            session, pro, service, kyiv("2026-12-01 10:00"), now, exclude_booking_id=world.confirmed_id
        )
        assert await is_offered(session, pro, service, kyiv("2026-12-01 11:00"), now)  # the hold ran out
        assert not await is_offered(session, pro, service, kyiv("2026-12-01 09:30"), now)  # not on the step
        assert not await is_offered(session, pro, service, kyiv("2026-12-03 09:00"), now)  # day off
        assert not await is_offered(session, pro, service, kyiv("2026-11-23 09:00"), now)  # already past
        assert not await is_offered(session, pro, service, kyiv("2027-02-01 09:00"), now)  # beyond the horizon


async def test_nearest_free_slots_look_both_ways(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    async with sessions() as session:
        pro, service = await _load(session, world)
        around_taken = await nearest_free_slots(session, pro, service, kyiv("2026-12-01 10:00"), now)
        # Monday 11:00 is 23 hours away, Wednesday 10:00 is 24: Monday wins the third place.
        assert shown([slot.start for slot in around_taken]) == ["11-30 11:00", "12-01 09:00", "12-01 11:00"]

        freed = await nearest_free_slots(
            session, pro, service, kyiv("2026-12-01 10:00"), now, limit=1, exclude_booking_id=world.confirmed_id
        )
        assert shown([slot.start for slot in freed]) == ["12-01 10:00"]

        # From "now" the notice rules out this morning; the nearest are tomorrow's.
        soonest = await nearest_free_slots(session, pro, service, now, now, limit=2)
        assert shown([slot.start for slot in soonest]) == ["11-24 09:00", "11-24 10:00"]

        # Four free-less days (Thursday off, Friday off, the weekend): the search widens both ways and
        # finds Wednesday 11:00 and Monday 09:00 both 2 days 11 hours away.
        across_gap = await nearest_free_slots(session, pro, service, kyiv("2026-12-04 22:00"), now, limit=2)
        assert shown([slot.start for slot in across_gap]) == ["12-02 11:00", "12-07 09:00"]
        later = await nearest_free_slots(session, pro, service, kyiv("2026-12-05 12:00"), now, limit=2)
        assert shown([slot.start for slot in later]) == ["12-07 09:00", "12-07 10:00"]

        assert await nearest_free_slots(session, pro, service, now, now, limit=0) == []

        # Far outside the bookable span (a forged button, say): the slots at that end of it.
        far_future = await nearest_free_slots(session, pro, service, datetime(9000, 1, 1, tzinfo=UTC), now, limit=2)
        assert shown([slot.start for slot in far_future]) == ["01-21 10:00", "01-21 11:00"]
        far_past = await nearest_free_slots(session, pro, service, datetime(1900, 1, 1, tzinfo=UTC), now, limit=2)
        assert shown([slot.start for slot in far_past]) == ["11-24 09:00", "11-24 10:00"]


async def test_nearest_free_slots_stop_at_the_horizon_when_there_are_none(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessions.begin() as session:
        pro = _professional("never-works")
        service = Service(
            slug="s", name="S", duration_minutes=30, price_minor=0, currency="EUR", mode=ServiceMode.VIDEO
        )
        pro.services.append(service)
        session.add(pro)
    async with sessions() as session:
        assert await nearest_free_slots(session, pro, service, clock.now(), clock.now(), limit=5) == []


async def test_days_with_slots_in_the_viewers_zone(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    async with sessions() as session:
        pro, service = await _load(session, world)
        in_kyiv = await days_with_slots(session, pro, service, date(2026, 11, 29), 8, KYIV, now)
        assert in_kyiv == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
        # Kyiv's Monday 09:00 is 23:00 on Sunday in Los Angeles.
        in_la = await days_with_slots(session, pro, service, date(2026, 11, 29), 2, LOS_ANGELES, now)
        assert in_la == [date(2026, 11, 29), date(2026, 11, 30)]
        assert await days_with_slots(session, pro, service, date(2026, 12, 3), 2, KYIV, now) == []
        assert await days_with_slots(session, pro, service, date(2026, 12, 3), 0, KYIV, now) == []


async def test_the_first_free_slot_of_each_day_honours_bookings_and_an_excluded_one(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    async with sessions() as session:
        pro, service = await _load(session, world)
        first, last = kyiv("2026-12-01 00:00"), kyiv("2026-12-08 00:00")
        firsts = await first_free_slots_by_day(session, pro, service, first, last, now, KYIV)
        # Tuesday's 10:00 is confirmed (09:00 comes first anyway), Wednesday's 09:00 is held.
        assert shown([slot.start for slot in firsts]) == ["12-01 09:00", "12-02 10:00", "12-07 09:00"]
        moved = await first_free_slots_by_day(
            session, pro, service, first, last, now, KYIV, exclude_booking_id=world.live_hold_id
        )
        assert shown([slot.start for slot in moved]) == ["12-01 09:00", "12-02 09:00", "12-07 09:00"]
        # Kyiv's 09:00 is 23:00 the evening before in Los Angeles; the first of two days only.
        (only,) = await first_free_slots_by_day(session, pro, service, first, last, now, LOS_ANGELES, max_days=1)
        assert only.start == kyiv("2026-12-01 09:00")
        by_day: dict[date, Slot] = {}
        for slot in await free_slots(session, pro, service, first, last, now):
            by_day.setdefault(slot.start.astimezone(KYIV).date(), slot)
        assert firsts == list(by_day.values())


async def test_a_booking_starting_before_the_range_still_blocks_what_it_reaches(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    async with sessions.begin() as session:
        pro = _professional("long-sessions")
        pro.weekly_windows.extend(WeeklyWindow(weekday=day, starts=0, ends=24 * 60) for day in range(7))
        short = Service(slug="s", name="S", duration_minutes=60, price_minor=0, currency="EUR", mode=ServiceMode.VIDEO)
        retreat = Service(
            slug="r", name="R", duration_minutes=11 * 60, price_minor=0, currency="EUR", mode=ServiceMode.VIDEO
        )
        pro.services.extend([short, retreat])
        client = User(telegram_id=777, created_at=now)
        session.add_all([pro, client])
        await session.flush()
        await _booking(session, pro, short, client, kyiv("2026-11-30 12:00"), BookingState.CONFIRMED, now)
        # 22:00 to 09:00 (and 10 minutes' buffer): the latest booking starting before the range below.
        await _booking(session, pro, retreat, client, kyiv("2026-11-30 22:00"), BookingState.CONFIRMED, now)
    async with sessions() as session:
        found = await free_slots(session, pro, short, kyiv("2026-12-01 00:00"), kyiv("2026-12-01 12:00"), now)
    assert shown([slot.start for slot in found]) == ["12-01 10:00", "12-01 11:00"]


async def test_schedule_of_a_loaded_professional_agrees_with_the_query(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    first, last = kyiv("2026-11-30 00:00"), kyiv("2026-12-07 00:00")
    async with sessions() as session:
        pro = await session.scalar(
            select(Professional)
            .where(Professional.id == world.pro_id)
            .options(
                selectinload(Professional.weekly_windows),
                selectinload(Professional.date_overrides).selectinload(DateOverride.windows),
                selectinload(Professional.time_off),
            )
        )
        assert pro is not None
        service = await session.get_one(Service, world.service_id)
        busy = [
            (row.block_starts_at, row.block_ends_at)
            for row in await session.scalars(select(Booking).where(Booking.id == world.confirmed_id))
        ]
        from_schedule = compute_slots(
            schedule_of(pro), timedelta(minutes=50), step_of(pro, service), busy, now, first, last
        )
        from_db = await free_slots(session, pro, service, first, last, now, exclude_booking_id=None)
    # The query also knows the live hold on Wednesday 09:00, which the hand-made busy list leaves out.
    assert [slot for slot in from_schedule if slot.start != kyiv("2026-12-02 09:00")] == from_db
    assert schedule_of(pro).overrides == {date(2026, 12, 3): []}


async def test_override_windows_replace_the_week(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    async with sessions.begin() as session:
        override = DateOverride(professional_id=world.pro_id, on_date=date(2026, 12, 5))  # a Saturday
        override.windows.extend(
            [OverrideWindow(starts=14 * 60, ends=16 * 60), OverrideWindow(starts=15 * 60, ends=16 * 60)]
        )
        session.add(override)
    found = await _starts_between(sessions, world, clock.now(), "2026-12-05 00:00", "2026-12-06 00:00")
    assert found == ["12-05 14:00", "12-05 15:00"]


# --- bookbot slots ------------------------------------------------------------------------------

NOW = "--now=2026-11-23T06:00:00+00:00"
ANNA = ["--pro", "anna-koval", "--service", "coaching-50"]


async def _cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    return await asyncio.to_thread(main, ["slots", *args])


async def test_cli_json_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, world: World
) -> None:
    code = await _cli(monkeypatch, db_url, *ANNA, "--from=2026-12-01", "--days=1", "--tz=Europe/Kyiv", NOW, "--json")
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {"start": "2026-12-01T09:00:00+02:00", "end": "2026-12-01T09:50:00+02:00"},
        {"start": "2026-12-01T11:00:00+02:00", "end": "2026-12-01T11:50:00+02:00"},
    ]


async def test_cli_json_in_another_zone_uses_its_offset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, world: World
) -> None:
    code = await _cli(
        monkeypatch, db_url, *ANNA, "--from=2026-11-30", "--days=1", "--tz=America/Los_Angeles", NOW, "--json"
    )
    out, _ = capsys.readouterr()
    assert code == 0
    # Los Angeles' Monday holds Kyiv's Tuesday 09:00 and 11:00, and Kyiv's Monday 10:00 and 11:00.
    assert [item["start"] for item in json.loads(out)] == [
        "2026-11-30T00:00:00-08:00",
        "2026-11-30T01:00:00-08:00",
        "2026-11-30T23:00:00-08:00",
    ]


async def test_cli_plain_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, world: World
) -> None:
    code = await _cli(monkeypatch, db_url, *ANNA, "--from=2026-12-01", "--days=2", "--tz=Europe/Kiev", NOW)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Free slots for coaching-50 (50 min) with anna-koval, 2026-12-01 to 2026-12-02, times in Europe/Kyiv:",
        "2026-12-01 09:00–09:50 Europe/Kyiv (UTC+02:00)",
        "2026-12-01 11:00–11:50 Europe/Kyiv (UTC+02:00)",
        "2026-12-02 10:00–10:50 Europe/Kyiv (UTC+02:00)",
        "2026-12-02 11:00–11:50 Europe/Kyiv (UTC+02:00)",
        "4 free slots.",
    ]


async def test_cli_runs_without_the_cyclic_collector_and_turns_it_back_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, world: World
) -> None:
    collecting: list[bool] = []

    async def observed_free_slots(*args: Any, **kwargs: Any) -> list[Slot]:
        collecting.append(gc.isenabled())
        return await free_slots(*args, **kwargs)

    monkeypatch.setattr(availability, "free_slots", observed_free_slots)
    assert await _cli(monkeypatch, db_url, *ANNA, "--from=2026-12-01", "--days=2", NOW) == 0
    assert "4 free slots." in capsys.readouterr().out
    assert (collecting, gc.isenabled()) == ([False], True)
    # A refusal turns it back on too.
    assert await _cli(monkeypatch, db_url, "--pro=nobody", "--service=x", "--from=2026-12-01", NOW) == 2
    assert gc.isenabled()


async def test_cli_says_when_there_are_none_and_defaults_to_the_professionals_zone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, world: World
) -> None:
    code = await _cli(monkeypatch, db_url, *ANNA, "--from=2026-12-03", "--days=2", NOW)
    out, _ = capsys.readouterr()
    assert code == 0
    assert out == "No free slots for coaching-50 (50 min) with anna-koval on 2026-12-03 to 2026-12-04 (Europe/Kyiv).\n"

    code = await _cli(monkeypatch, db_url, *ANNA, "--from=2026-12-03", "--days=1", NOW, "--json")
    out, _ = capsys.readouterr()
    assert (code, out) == (0, "[]\n")


async def test_cli_notes_unverified_professionals_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        pro = _professional("lea-schmidt", verified=False)
        pro.weekly_windows.append(WeeklyWindow(weekday=0, starts=10 * 60, ends=11 * 60))
        pro.services.append(
            Service(slug="n", name="N", duration_minutes=45, price_minor=0, currency="EUR", mode=ServiceMode.VIDEO)
        )
        session.add(pro)
    code = await _cli(
        monkeypatch, db_url, "--pro=lea-schmidt", "--service=n", "--from=2026-11-30", "--days=1", NOW, "--json"
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == [{"start": "2026-11-30T10:00:00+02:00", "end": "2026-11-30T10:45:00+02:00"}]
    assert "not verified" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pro=nobody", "--service=coaching-50", "--from=2026-12-01"], "no professional with slug 'nobody'"),
        (["--pro=anna-koval", "--service=nothing", "--from=2026-12-01"], "has no service 'nothing'"),
        (["--pro=anna-koval", "--service=retired", "--from=2026-12-01"], "no longer offered"),
        ([*ANNA, "--from=2026-12-01", "--tz=Mars/Olympus"], "--tz 'Mars/Olympus' is not a time zone"),
        ([*ANNA, "--from=2026-13-01"], "is not a date"),
        ([*ANNA, "--from=tomorrow"], "is not a date"),
        ([*ANNA, "--from=2026-12-01", "--days=0"], "between 1 and 366"),
        ([*ANNA, "--from=2026-12-01", "--days=367"], "between 1 and 366"),
        ([*ANNA, "--from=2026-12-01", "--days=a week"], "not a whole number"),
        ([*ANNA, "--from=2026-12-01", "--now=2026-11-23T06:00"], "needs a UTC offset"),
        ([*ANNA, "--from=2026-12-01", "--now=soon"], "not an ISO-8601"),
        ([*ANNA, "--from=9999-12-31", "--days=5"], "past the last date"),
    ],
)
async def test_cli_refuses_bad_input_with_exit_code_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db_url: str,
    world: World,
    args: list[str],
    message: str,
) -> None:
    code = await _cli(monkeypatch, db_url, *args, *([] if any(a.startswith("--now") for a in args) else [NOW]))
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert err.startswith("bookbot: ")


async def test_cli_on_a_database_without_tables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.db"
    code = await _cli(monkeypatch, f"sqlite:///{missing}", "--pro", "a", "--service", "b", "--from", "2026-12-01")
    _, err = capsys.readouterr()
    assert code == 2
    assert "run `bookbot db upgrade` and `bookbot import FILE` first" in err
    assert not missing.exists()  # nothing created behind the operator's back

    empty = tmp_path / "empty.db"
    empty.touch()
    code = await _cli(monkeypatch, f"sqlite:///{empty}", "--pro", "a", "--service", "b", "--from", "2026-12-01")
    _, err = capsys.readouterr()
    assert code == 2
    assert "no tables yet: run `bookbot db upgrade` and `bookbot import FILE` first" in err


@pytest.mark.postgres
async def test_cli_on_an_empty_or_missing_postgres_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pg_template: str
) -> None:
    name = f"bookbot_slots_empty_{os.getpid()}"
    await _pg_admin(f"CREATE DATABASE {name}")
    try:
        code = await _cli(monkeypatch, _pg_url(name), "--pro=a", "--service=b", "--from=2026-12-01")
    finally:
        await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _, err = capsys.readouterr()
    assert code == 2
    assert "no tables yet: run `bookbot db upgrade` and `bookbot import FILE` first" in err

    code = await _cli(monkeypatch, _pg_url(name), "--pro=a", "--service=b", "--from=2026-12-01")
    _, err = capsys.readouterr()
    assert code == 2
    assert "cannot open the database" in err
    assert "Traceback" not in err


def test_cli_help_mentions_unverified_professionals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slots", "--help"]) == 0
    assert "Unverified professionals are shown too" in " ".join(capsys.readouterr().out.split())
