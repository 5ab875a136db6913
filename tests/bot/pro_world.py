"""Professionals, clients and bookings for the professional-side and admin tests, built with the ORM
and the real booking service (no catalog file needed).

The harness clock stands at Monday 2026-11-23 06:00 UTC: 08:00 in Kyiv, 01:00 in New York.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select

from bot.demo.updates import Person
from bot.services import booking
from models import Booking, Policy, User, WeeklyWindow
from tests.bot.harness import BotHarness
from tests.worlds import professional as new_professional
from tests.worlds import service as new_service

WORKDAY = ((540, 720), (810, 1020))  # 09:00-12:00, 13:30-17:00
ANNA_HOURS: Mapping[int, Sequence[tuple[int, int]]] = {
    0: WORKDAY,
    1: WORKDAY,
    2: ((720, 1200),),
    3: WORKDAY,
    4: ((540, 780),),
}


async def add_professional(
    harness: BotHarness,
    slug: str = "anna-koval",
    name: str = "Anna Koval",
    *,
    verified: bool = True,
    timezone: str = "Europe/Kyiv",
    hours: Mapping[int, Sequence[tuple[int, int]]] = ANNA_HOURS,
    headline: str = "Career coach for people changing fields",
    telegram_id: int | None = None,
) -> tuple[int, int]:
    """A professional with a 50-minute paid video service; returns (professional id, service id)."""
    async with harness.db() as session:
        professional = new_professional(
            slug,
            name,
            policy=Policy(min_notice_minutes=60, booking_horizon_days=60),
            headline=headline,
            verified=verified,
            timezone=timezone,
            languages=["en"],
            categories=["career-coaching"],
            telegram_id=telegram_id,
            slot_step_minutes=60,
        )
        service = new_service("coaching-50", "Coaching session", 50, 6000)
        professional.services.append(service)
        professional.weekly_windows.extend(
            WeeklyWindow(weekday=weekday, starts=starts, ends=ends)
            for weekday, windows in hours.items()
            for starts, ends in windows
        )
        session.add(professional)
        await session.flush()
        return professional.id, service.id


async def add_client(harness: BotHarness, person: Person, timezone: str = "America/New_York") -> None:
    """An onboarded client (as if they had gone through /start)."""
    async with harness.db() as session:
        session.add(
            User(
                telegram_id=person.id,
                first_name=person.first_name,
                locale="en",
                timezone=timezone,
                created_at=harness.clock.now(),
            )
        )


async def book(
    harness: BotHarness,
    client: Person,
    service_id: int,
    starts_at: datetime,
    *,
    notes: str | None = None,
    confirm: bool = True,
) -> int:
    """A booking made through the booking service (held, or confirmed as paid); returns its id."""
    async with harness.db() as session:
        user = (await session.scalars(select(User).where(User.telegram_id == client.id))).one()
        made = await booking.hold(
            session, client=user, service_id=service_id, starts_at=starts_at, now=harness.clock.now(), notes=notes
        )
        if confirm:
            made = await booking.confirm(session, made.id, now=harness.clock.now(), paid_with="stripe")
        return made.id


async def state_of(harness: BotHarness, booking_id: int) -> str:
    async with harness.db() as session:
        found = await session.get(Booking, booking_id)
        assert found is not None
        return str(found.state)
