"""A small world for booking tests, built with the ORM so the tests stand on their own.

Anna works 09:00-12:00 Kyiv on weekdays, starts every 30 minutes, 10 minutes' buffer after each
session; policy: free cancellation up to 72 hours before, then 50 % back, two reschedules, one free
rebooking after a no-show. She sells a paid 50-minute session (EUR 60), a free 20-minute intro and a
retired service. Lea is not verified. The clock (tests/conftest.py) stands at Monday 2026-11-23
08:00 Kyiv (06:00 UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.policy import Policy
from models import Booking, BookingState, NoShowRule, Professional, Service, User, WeeklyWindow
from tests.worlds import professional, service

KYIV = ZoneInfo("Europe/Kyiv")
PRO_CHAT = 700_001


def kyiv(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KYIV).astimezone(UTC)


@dataclass(frozen=True)
class World:
    pro_id: int
    paid_id: int
    free_id: int
    retired_id: int
    unverified_service_id: int
    client_id: int
    other_client_id: int


def _pro(slug: str, verified: bool, telegram_id: int | None) -> Professional:
    return professional(
        slug,
        slug.replace("-", " ").title(),
        policy=Policy(
            free_cancellation_hours=72,
            late_cancellation_refund_percent=50,
            max_reschedules=2,
            no_show=NoShowRule.ONE_FREE_RESCHEDULE,
            min_notice_minutes=240,
        ),
        verified=verified,
        telegram_id=telegram_id,
        timezone="Europe/Kyiv",
        languages=["uk", "en"],
        categories=["coaching"],
        video_link="https://meet.example.org/anna",
        buffer_before_minutes=0,
        buffer_after_minutes=10,
        slot_step_minutes=30,
    )


def _service(slug: str, minutes: int, price: int, active: bool = True) -> Service:
    return service(slug, slug.replace("-", " ").capitalize(), minutes, price, active=active)


async def build_world(sessions: async_sessionmaker[AsyncSession], now: datetime) -> World:
    async with sessions.begin() as session:
        anna = _pro("anna-koval", True, PRO_CHAT)
        paid, free, retired = _service("coaching-50", 50, 6000), _service("intro", 20, 0), _service("old", 30, 0, False)
        anna.services.extend([paid, free, retired])
        anna.weekly_windows.extend(WeeklyWindow(weekday=day, starts=9 * 60, ends=12 * 60) for day in range(5))
        lea = _pro("lea-schmidt", False, None)
        hidden = _service("nutrition", 45, 5500)
        lea.services.append(hidden)
        lea.weekly_windows.extend(WeeklyWindow(weekday=day, starts=9 * 60, ends=12 * 60) for day in range(5))
        client = User(telegram_id=555, first_name="Olena", locale="uk", timezone="America/New_York", created_at=now)
        other = User(telegram_id=556, first_name="Mark", locale="en", timezone="Europe/Kyiv", created_at=now)
        # Anna's own chat, so notifications to her have a locale to speak.
        anna_user = User(telegram_id=PRO_CHAT, first_name="Anna", locale="en", timezone="Europe/Kyiv", created_at=now)
        session.add_all([anna, lea, client, other, anna_user])
        await session.flush()
        return World(anna.id, paid.id, free.id, retired.id, hidden.id, client.id, other.id)


async def user(session: AsyncSession, user_id: int) -> User:
    return await session.get_one(User, user_id)


async def force_booking(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    starts: datetime,
    state: BookingState,
    now: datetime,
    *,
    paid_with: str | None = "stripe",
) -> int:
    """A booking put straight into `state`, as if its history had happened."""
    async with sessions.begin() as session:
        pro = await session.get_one(Professional, world.pro_id)
        service = await session.get_one(Service, world.paid_id)
        ends = starts + timedelta(minutes=service.duration_minutes)
        booking = Booking(
            client_id=world.client_id,
            professional_id=pro.id,
            service_id=service.id,
            starts_at=starts,
            ends_at=ends,
            block_starts_at=starts,
            block_ends_at=ends + timedelta(minutes=pro.buffer_after_minutes),
            state=state,
            version=1,
            hold_expires_at=now + timedelta(minutes=30) if state == BookingState.HELD else None,
            price_minor=service.price_minor,
            currency=service.currency,
            policy=Policy.of(pro).to_json(),
            reschedule_count=0,
            paid_with=None if state == BookingState.HELD else paid_with,
            created_at=now,
            updated_at=now,
        )
        session.add(booking)
        await session.flush()
        return booking.id


async def states(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(select(Booking.id, Booking.state).order_by(Booking.id))
        return [(row[0], str(row[1])) for row in rows]
