"""One more hold for a client who needs it (README "Reminders"): the warning ten minutes before a hold
runs out offers to extend it once, by the hold's own length (the policy copied onto the booking),
when the time is still free for it and payment has not started.

"Payment has started" means a checkout session (Stripe's or the demo's) was opened for the booking:
its expiry was fixed from the hold's, and a session that runs out releases the booking
(bot/services/payments/webhooks.py), so such a hold is not extended; the client finishes paying
instead. After an extension the next checkout link is made for the new end.

`refusal` says whether a hold may be extended now (the warning's last look before it goes out asks it
to decide whether to show the button; the press asks again under the lock). `extend_hold` writes it
through bot.services.guard, like every other change of a professional's calendar: lock, check, write.
The database allows one extension per booking (`ck_bookings_hold_extended_once`).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services import reminders
from bot.services.availability import is_offered
from bot.services.errors import DomainError, NotAllowed, NotFound
from bot.services.guard import guarded
from bot.services.policy import Actor, Policy
from models import Booking, BookingEvent, BookingState, Payment, PaymentStatus, Professional, Service, User

MAX_EXTENSIONS = 1


class Refusal(enum.StrEnum):
    NOT_HELD = "not_held"  # paid, released or cancelled meanwhile
    RAN_OUT = "ran_out"  # the hold's time is over
    ALREADY = "already"  # extended once already
    PAYING = "paying"  # a checkout was opened for it
    NOT_FREE = "not_free"  # the time is no longer bookable (hours changed, too close to the start)
    CHANGED = "changed"  # the booking changed since the button was shown


class HoldNotExtended(DomainError):
    def __init__(self, booking_id: int, reason: Refusal) -> None:
        super().__init__(f"booking {booking_id}: hold not extended ({reason})")
        self.booking_id = booking_id
        self.reason = reason


def extension_of(booking: Booking) -> timedelta:
    """How much longer an extension holds the time: the hold's own length when the booking was made."""
    return timedelta(minutes=Policy.from_json(booking.policy).hold_minutes)


async def payment_started(session: AsyncSession, booking_id: int) -> bool:
    """Whether a checkout session was opened for the booking (or a payment went through)."""
    found = await session.scalar(
        select(Payment.id)
        .where(
            Payment.booking_id == booking_id,
            or_(Payment.checkout_session_id.is_not(None), Payment.status == PaymentStatus.PAID),
        )
        .limit(1)
    )
    return found is not None


async def refusal(session: AsyncSession, booking: Booking, now: datetime) -> Refusal | None:
    """Why this booking's hold cannot be extended now; None when it can."""
    if booking.state != BookingState.HELD:
        return Refusal.NOT_HELD
    expires = booking.hold_expires_at
    if expires is None or expires <= now:
        return Refusal.RAN_OUT
    if booking.hold_extensions >= MAX_EXTENSIONS:
        return Refusal.ALREADY
    if await payment_started(session, booking.id):
        return Refusal.PAYING
    if expires + extension_of(booking) > booking.starts_at:
        return Refusal.NOT_FREE
    # By id: the caller's booking may come without its relationships loaded (the worker's last look).
    professional = await session.get_one(Professional, booking.professional_id)
    service = await session.get_one(Service, booking.service_id)
    if not await is_offered(session, professional, service, booking.starts_at, now, exclude_booking_id=booking.id):
        return Refusal.NOT_FREE
    return None


async def extend_hold(
    session: AsyncSession, booking_id: int, *, client: User, now: datetime, expected_version: int
) -> Booking:
    """Extend the client's hold once by its own length; raises HoldNotExtended (with the reason), or
    NotFound / NotAllowed for a booking that is not theirs. `expected_version` is the booking as the
    warning showed it: a press on an older warning changes nothing."""
    professional_id = await session.scalar(select(Booking.professional_id).where(Booking.id == booking_id))
    if professional_id is None:
        raise NotFound("booking", booking_id)

    async def check_and_write() -> Booking:
        booking = await session.get(
            Booking,
            booking_id,
            with_for_update=True,
            populate_existing=True,
            options=[
                selectinload(Booking.service),
                selectinload(Booking.professional),
                selectinload(Booking.client),
                selectinload(Booking.events),
            ],
        )
        if booking is None:
            raise NotFound("booking", booking_id)
        if booking.client_id != client.id:
            raise NotAllowed(f"booking {booking_id} is not this client's")
        reason = await refusal(session, booking, now)
        if reason is None and booking.version != expected_version:
            reason = Refusal.CHANGED
        if reason is not None:
            raise HoldNotExtended(booking.id, reason)
        assert booking.hold_expires_at is not None
        before = booking.hold_expires_at
        booking.hold_expires_at = before + extension_of(booking)
        booking.hold_extensions += 1
        booking.version += 1
        booking.updated_at = now
        booking.events.append(
            BookingEvent(
                at=now,
                actor=Actor.CLIENT,
                action="extend_hold",
                from_state=str(BookingState.HELD),
                to_state=str(BookingState.HELD),
                version=booking.version,
                detail={"from": before.isoformat(), "to": booking.hold_expires_at.isoformat()},
            )
        )
        await session.flush()
        # A warning for the new end (without the offer: it was used).
        await reminders.void(session, booking, [reminders.HOLD_EXPIRING], now, "hold extended")
        await reminders.schedule_hold_warning(session, booking, now)
        return booking

    return await guarded(session, professional_id, check_and_write)
