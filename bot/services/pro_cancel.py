"""A professional cancels a session: always a full refund (or the credit back), and one message to the
client with the reason, what they get back and the professional's nearest free times; one tap on a
time rebooks at no cost (DESIGN.md, "Policies"; seeds: "If the professional cancels: you should
receive a notification with reschedule or refund options per published rules").

The payment carries over instead of being refunded when the client rebooks before the refund goes
out. The refund of a professional's cancellation therefore waits `CARRY_OVER_WINDOW` before the
worker asks the gateway for it (the cancellation's event records that moment as `carry_over_until`).
A rebooking locks the payment row and looks at it: still owed, never tried, and not claimed by the
refund worker (a claim moves `refund_due_at` past `carry_over_until`) means nothing went out, and the
refund is cancelled in the same transaction that confirms the new time. Otherwise the refund went out
(or may have: a claim in flight, an attempt that failed) and the new time is an ordinary booking
that needs paying.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import booking as bookings
from bot.services import credits, reminders
from bot.services.availability import is_offered, nearest_free_slots
from bot.services.errors import IllegalTransition
from bot.services.guard import guarded
from bot.services.payments.records import paid_payments
from bot.services.policy import Actor, PaidWith
from bot.services.timezones import zone as zone_named
from models import Booking, BookingState, Payment, Professional, RefundStatus, User

# How long the refund of a professional's cancellation waits for the client to pick a new time
# (one tap carries the payment over) before the worker sends it back.
CARRY_OVER_WINDOW = timedelta(hours=12)
OFFERED_TIMES = 3
MAX_REASON = 500

PRO_CANCELLED_CLIENT = "pro_cancelled_client"


class Reason(enum.StrEnum):
    """Why the professional cancels (the client reads it in their language)."""

    ILLNESS = "illness"
    EMERGENCY = "emergency"
    CONFLICT = "conflict"
    OTHER = "other"  # with the professional's own words
    DAY_OFF = "day_off"  # a day off added over the session
    MOVE_DECLINED = "move_declined"  # the client declined the new time the professional proposed
    MOVE_UNANSWERED = "move_unanswered"  # ... or did not answer in time


# What the professional picks from; the rest are set by the bot.
CHOSEN_REASONS = (Reason.ILLNESS, Reason.EMERGENCY, Reason.CONFLICT, Reason.OTHER)


@dataclass(frozen=True)
class ProCancelled:
    booking: Booking
    offered: tuple[datetime, ...]
    # When the refund goes out unless the client rebooks first (None: nothing to refund).
    carry_over_until: datetime | None


async def cancel_by_professional(
    session: AsyncSession,
    booking_id: int,
    professional: Professional,
    *,
    reason: Reason,
    text: str | None = None,
    now: datetime,
    expected_version: int | None = None,
) -> ProCancelled:
    """Cancel `professional`'s booking with a full refund (or the credit back) and queue the client's
    one message. NotFound / NotAllowed for a booking that is not theirs; BookingChanged when it
    changed since the professional saw it; IllegalTransition / TooLateToChange as `booking.cancel`."""
    await bookings.professional_booking(session, booking_id, professional)
    words = (text or "").strip()[:MAX_REASON] or None
    booking = await bookings.cancel(
        session,
        booking_id,
        by=Actor.PROFESSIONAL,
        now=now,
        reason=words or str(reason),
        expected_version=expected_version,
        tell_client=False,
    )
    carry_over_until: datetime | None = None
    paid = await paid_payments(session, booking.id)
    if paid and paid[0].refund_status == RefundStatus.PENDING and paid[0].refund_attempts == 0:
        carry_over_until = now + CARRY_OVER_WINDOW
        paid[0].refund_due_at = carry_over_until
        paid[0].updated_at = now
    cancel_event = booking.events[-1]
    cancel_event.detail = {
        **cancel_event.detail,
        "reason": str(reason),
        "carry_over_until": carry_over_until.isoformat() if carry_over_until else None,
    }
    offered = await offered_times(session, booking, now)
    extra: dict[str, Any] = {
        "reason_code": str(reason),
        "reason_text": words,
        "refund_minor": booking.refund_minor or 0,
        "credit_returned": booking.paid_with == PaidWith.CREDIT,
        "carry_over_until": carry_over_until.isoformat() if carry_over_until else None,
        "offered": [start.isoformat() for start in offered],
    }
    await bookings.notify_client(session, booking.id, PRO_CANCELLED_CLIENT, now, extra)
    await session.flush()
    return ProCancelled(booking, offered, carry_over_until)


async def offered_times(session: AsyncSession, booking: Booking, now: datetime) -> tuple[datetime, ...]:
    """The professional's free times nearest to the cancelled session, on other days than its own
    (the reason it was cancelled often holds all that day) unless no other day has any."""
    professional, service = booking.professional, booking.service
    zone = zone_named(professional.timezone)
    day = booking.starts_at.astimezone(zone).date()
    nearest = await nearest_free_slots(session, professional, service, booking.starts_at, now, limit=OFFERED_TIMES * 6)
    other_days = [slot.start for slot in nearest if slot.start.astimezone(zone).date() != day]
    same_day = [
        slot.start
        for slot in nearest
        if slot.start.astimezone(zone).date() == day and not booking.starts_at <= slot.start < booking.ends_at
    ]
    return tuple(sorted((other_days or same_day)[:OFFERED_TIMES]))


# --- rebooking from the client's message ---------------------------------------------------------


@dataclass(frozen=True)
class Rebooked:
    """What the client's tap on an offered time gave."""

    booking: Booking
    # True: the cancelled booking itself moved to the new time, paid as before (nothing more to pay).
    # False: the refund had already gone out; `booking` is a new one (held: it needs paying).
    carried_over: bool


async def rebook(
    session: AsyncSession, booking_id: int, client: User, starts_at: datetime, *, now: datetime
) -> Rebooked:
    """The client of a booking the professional cancelled takes `starts_at` instead.

    NotFound / NotAllowed for someone else's booking; IllegalTransition when it was not cancelled by
    the professional or was rebooked already; SlotUnavailable (with the nearest free times) when the
    time is gone."""
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    found = await bookings.client_booking(session, booking_id, client)
    professional_id = found.professional_id

    async def check_and_write() -> Booking | None:
        booking = await bookings._load(session, booking_id)
        if booking.state != BookingState.CANCELLED or booking.cancelled_by != Actor.PROFESSIONAL:
            raise IllegalTransition(booking.id, booking.state, "rebook")
        payment = await _untouched_refund(session, booking)
        if payment is None and not await _payment_free(session, booking, starts_at, now):
            return None
        return await _revive(session, booking, starts_at, payment, now)

    revived = await guarded(session, professional_id, check_and_write)
    if revived is not None:
        return Rebooked(revived, carried_over=True)
    booked = await bookings.book(
        session,
        client=client,
        service_id=found.service_id,
        starts_at=starts_at,
        now=now,
        notes=found.client_notes,
        phone=found.client_phone,
    )
    return Rebooked(booked.booking, carried_over=False)


def _carry_over_until(booking: Booking) -> datetime | None:
    for event in reversed(booking.events):
        if event.action == "cancel":
            until = (event.detail or {}).get("carry_over_until")
            return datetime.fromisoformat(until) if until else None
    return None


async def _untouched_refund(session: AsyncSession, booking: Booking) -> Payment | None:
    """The payment whose refund has not gone out and will not while this transaction holds it (locked
    here: the refund worker claims with SKIP LOCKED), or None."""
    if booking.paid_with != PaidWith.STRIPE:
        return None
    until = _carry_over_until(booking)
    paid = await paid_payments(session, booking.id)
    if until is None or not paid:
        return None
    payment = await session.get(Payment, paid[0].id, with_for_update=True, populate_existing=True)
    if (
        payment is None
        or payment.refund_status != RefundStatus.PENDING
        or payment.refund_attempts != 0
        or payment.refund_due_at is None
        or payment.refund_due_at > until  # claimed by the worker: the gateway may have it already
    ):
        return None
    return payment


async def _payment_free(session: AsyncSession, booking: Booking, starts_at: datetime, now: datetime) -> bool:
    """Whether the booking carries over with no payment to keep: a free one, or a credit taken again."""
    if booking.paid_with == PaidWith.FREE or booking.price_minor == 0:
        return True
    if booking.paid_with == PaidWith.CREDIT:
        return await _spend_credit_again(session, booking, starts_at, now)
    return False


async def _spend_credit_again(session: AsyncSession, booking: Booking, starts_at: datetime, now: datetime) -> bool:
    """The credit a cancelled credit booking gave back, spent on its rebooking at `starts_at` (the
    return is called off, as a refund is); False when it can't be (the rebooking is then ordinary)."""
    return await credits.call_off_return(session, booking.id, starts_at, now)


async def _revive(
    session: AsyncSession, booking: Booking, starts_at: datetime, payment: Payment | None, now: datetime
) -> Booking:
    """The cancelled booking, confirmed again at `starts_at` with what paid for it; its refund is
    called off (in this transaction)."""
    professional, service = booking.professional, booking.service
    await bookings._expire_overdue(session, now, professional.id)
    if not await is_offered(session, professional, service, starts_at, now):
        raise await bookings._unavailable(session, professional, service, starts_at, now)
    previous = booking.starts_at
    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    block_start, block_end = bookings._buffered(professional, starts_at, ends_at)
    booking_id = booking.id
    try:
        async with session.begin_nested():
            booking.starts_at, booking.ends_at = starts_at, ends_at
            booking.block_starts_at, booking.block_ends_at = block_start, block_end
            booking.cancelled_by = None
            booking.cancel_reason = None
            booking.refund_minor = None
            bookings._record(
                booking,
                BookingState.CONFIRMED,
                "rebook_after_pro_cancel",
                Actor.CLIENT,
                now,
                {"from": previous.isoformat(), "to": starts_at.isoformat(), "carried_over": True},
            )
            await session.flush()
    except IntegrityError:
        raise await bookings._unavailable(session, professional, service, starts_at, now, taken=True) from None
    if payment is not None:
        payment.refund_status = None
        payment.refund_minor = None
        payment.refund_due_at = None
        payment.updated_at = now
    booking = await bookings._load(session, booking_id)
    await bookings._notify_professional(session, booking, "booking_new_pro", now)
    await reminders.schedule_session(session, booking, now)
    await session.flush()
    return booking
