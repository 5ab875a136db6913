"""Instant sessions (seeds: "How Instant Sessions work"): a professional says "available now for N
minutes"; clients looking for someone available now see them first, with a start within
`START_WITHIN`; booking goes straight to payment with a short hold. It turns itself off when the
window ends (by the injected clock: `instant_until` in the past is off, nothing needs to run) or when
a session is booked through it.

Inside the window the professional's weekly hours and minimum notice do not apply (they said they are
free now); other bookings and their buffers still do, and the database's overlap guard has the last
word as for every booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.services import booking as bookings
from bot.services import reminders
from bot.services.errors import NotFound, SlotUnavailable
from bot.services.guard import guarded
from bot.services.payments.gateway import MIN_CHECKOUT_MINUTES
from bot.services.policy import PaidWith
from models import Booking, BookingState, Professional, Service, ServiceMode, User

WINDOW_CHOICES = (30, 60, 90, 120)  # minutes the professional can offer
START_WITHIN = timedelta(minutes=15)
START_STEP = timedelta(minutes=5)
HOLD_MINUTES = 10


def is_on(professional: Professional, now: datetime) -> bool:
    return professional.instant_until is not None and professional.instant_until > now


def hold_minutes(*, stripe: bool) -> int:
    """The instant hold: short, but Stripe refuses a Checkout Session that expires within 30 minutes."""
    return max(HOLD_MINUTES, MIN_CHECKOUT_MINUTES) if stripe else HOLD_MINUTES


async def turn_on(session: AsyncSession, professional: Professional, minutes: int, *, now: datetime) -> datetime:
    """Available now for `minutes` (one of WINDOW_CHOICES; ValueError otherwise)."""
    if minutes not in WINDOW_CHOICES:
        raise ValueError(f"minutes must be one of {WINDOW_CHOICES}")
    professional.instant_until = now + timedelta(minutes=minutes)
    await session.flush()
    return professional.instant_until


async def turn_off(session: AsyncSession, professional: Professional) -> None:
    professional.instant_until = None
    await session.flush()


def _candidates(now: datetime) -> list[datetime]:
    step = int(START_STEP.total_seconds())
    first = datetime.fromtimestamp(-(-int(now.timestamp()) // step) * step, now.tzinfo)
    starts, start = [], first
    while start <= now + START_WITHIN:
        starts.append(start)
        start += START_STEP
    return starts


async def _busy(session: AsyncSession, professional: Professional, now: datetime) -> list[tuple[datetime, datetime]]:
    assert professional.instant_until is not None
    query = select(Booking.block_starts_at, Booking.block_ends_at).where(
        Booking.professional_id == professional.id,
        or_(
            Booking.state == BookingState.CONFIRMED,
            (Booking.state == BookingState.HELD)
            & or_(Booking.hold_expires_at.is_(None), Booking.hold_expires_at > now),
        ),
        Booking.block_starts_at < professional.instant_until + timedelta(minutes=professional.buffer_after_minutes),
        Booking.block_ends_at > now - timedelta(minutes=professional.buffer_before_minutes),
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def next_start(
    session: AsyncSession, professional: Professional, service: Service, now: datetime
) -> datetime | None:
    """The first start within START_WITHIN at which `service` fits in the professional's instant
    window without touching another booking; None when off or nothing fits."""
    if not is_on(professional, now) or not service.active or service.mode == ServiceMode.PHONE:
        # A phone session needs the client's number, asked with their consent at a normal booking.
        return None
    assert professional.instant_until is not None
    busy = await _busy(session, professional, now)
    duration = timedelta(minutes=service.duration_minutes)
    for start in _candidates(now):
        if start + duration > professional.instant_until:
            break
        block_start, block_end = bookings._buffered(professional, start, start + duration)
        if all(block_end <= taken_start or block_start >= taken_end for taken_start, taken_end in busy):
            return start
    return None


@dataclass(frozen=True)
class AvailableNow:
    professional: Professional
    service: Service
    starts_at: datetime


async def available_now(session: AsyncSession, now: datetime) -> list[AvailableNow]:
    """Listed professionals available now, each with their service that starts soonest (the shorter
    on a tie), soonest first."""
    query = (
        select(Professional)
        .options(selectinload(Professional.services))
        .where(Professional.verified.is_(True), Professional.instant_until > now)
        .order_by(Professional.name, Professional.id)
    )
    found: list[AvailableNow] = []
    for professional in (await session.scalars(query)).all():
        best: AvailableNow | None = None
        for service in professional.services:
            start = await next_start(session, professional, service, now)
            if start is None:
                continue
            key = (start, service.duration_minutes, service.id)
            if best is None or key < (best.starts_at, best.service.duration_minutes, best.service.id):
                best = AvailableNow(professional, service, start)
        if best is not None:
            found.append(best)
    return sorted(found, key=lambda item: item.starts_at)


async def book(session: AsyncSession, *, client: User, service_id: int, now: datetime, stripe: bool) -> Booking:
    """Hold the service's next instant start for `client` (confirmed at once when free) and turn the
    professional's "available now" off. SlotUnavailable when nothing fits any more (the window ended,
    or someone else was quicker); NotFound for a service that is not bookable."""
    service = await session.scalar(
        select(Service).options(joinedload(Service.professional)).where(Service.id == service_id)
    )
    if service is None or not service.active or not service.professional.verified:
        raise NotFound("service", service_id)
    professional = service.professional

    async def check_and_write() -> Booking:
        await session.refresh(professional, ["instant_until"])
        await bookings._expire_overdue(session, now, professional.id)
        start = await next_start(session, professional, service, now)
        if start is None:
            raise SlotUnavailable(now, "not_offered", [])
        booking = await bookings._insert_hold(
            session, client, professional, service, start, now, None, detail={"instant": True}
        )
        if booking is None:
            raise SlotUnavailable(start, "taken", [])
        booking.hold_expires_at = now + timedelta(minutes=hold_minutes(stripe=stripe))
        professional.instant_until = None
        if booking.price_minor == 0:
            return await bookings._confirm(session, booking, now, PaidWith.FREE)
        await reminders.schedule_hold_warning(session, booking, now)
        await session.flush()
        return booking

    return await guarded(session, professional.id, check_and_write)
