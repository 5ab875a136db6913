"""Synthetic data for the benchmarks, written straight through the ORM."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Booking,
    BookingState,
    DateOverride,
    OverrideWindow,
    Policy,
    Professional,
    Service,
    User,
    WeeklyWindow,
)
from tests.worlds import professional
from tests.worlds import service as new_service

ZONE = "Europe/Kyiv"


async def busy_professional(
    session: AsyncSession, now: datetime, *, bookings: int = 5000, overrides: int = 200, slug: str = "busy-pro"
) -> tuple[Professional, Service]:
    """A professional working 08:00-20:00 Monday to Saturday, with `overrides` date overrides and
    `bookings` confirmed 50-minute bookings spread before and after `now` (none overlapping)."""
    pro = professional(
        slug,
        "Busy Professional",
        policy=Policy(min_notice_minutes=60, booking_horizon_days=120),
        verified=True,
        timezone=ZONE,
        languages=["en"],
        categories=["coaching"],
        video_link="https://meet.example.org/busy",
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        slot_step_minutes=15,
    )
    service = new_service("session-50", "Session", 50, 6000)
    pro.services.append(service)
    pro.weekly_windows.extend(WeeklyWindow(weekday=day, starts=8 * 60, ends=20 * 60) for day in range(6))
    first_local_day = now.date()
    for index in range(overrides):
        override = DateOverride(on_date=first_local_day + timedelta(days=index))
        if index % 5:  # every fifth override is a day off
            override.windows.extend(
                [OverrideWindow(starts=9 * 60, ends=12 * 60), OverrideWindow(starts=14 * 60, ends=18 * 60 + 30)]
            )
        pro.date_overrides.append(override)
    client = User(telegram_id=10_000_000, first_name="Bench", locale="en", timezone=ZONE, created_at=now)
    session.add_all([pro, client])
    await session.flush()

    # 5,000 bookings, 6 a day every 90 minutes from 06:00 UTC, half before `now` and half after: the
    # mornings are full, late afternoons keep a few free starts.
    rows = []
    start_day = now - timedelta(days=bookings // 12)
    for index in range(bookings):
        day, hour = divmod(index, 6)
        starts = datetime.combine(start_day.date() + timedelta(days=day), datetime.min.time(), UTC) + timedelta(
            hours=6 + hour * 1.5
        )
        ends = starts + timedelta(minutes=50)
        rows.append(
            {
                "client_id": client.id,
                "professional_id": pro.id,
                "service_id": service.id,
                "starts_at": starts,
                "ends_at": ends,
                "block_starts_at": starts - timedelta(minutes=5),
                "block_ends_at": ends + timedelta(minutes=10),
                "state": BookingState.CONFIRMED,
                "version": 1,
                "price_minor": 6000,
                "currency": "EUR",
                "policy": {},
                "reschedule_count": 0,
                "paid_with": "stripe",
                "created_at": now,
                "updated_at": now,
            }
        )
    await session.execute(insert(Booking), rows)
    await session.flush()
    return pro, service


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
