"""A professional marks a missed session: asked to confirm first (the chat does that), undone within
`UNDO_WINDOW`, and the client told kindly, offered the free rebooking their policy copy gives under
`one_free_reschedule` (bot/services/policy.py, `no_show_rebook_allowed`).

The client's message waits `NOTICE_DELAY` in the outbox, so an undo right after a slip of the finger
voids it before it goes; a later undo tells the client it was a mistake.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import booking as bookings
from bot.services import outbox
from bot.services.booking_view import booking_view
from bot.services.errors import BookingChanged, IllegalTransition, TooLateToChange
from bot.services.policy import Actor, no_show_rebook_allowed
from models import Booking, BookingState, Professional

UNDO_WINDOW = timedelta(hours=24)
NOTICE_DELAY = timedelta(minutes=10)

NO_SHOW_CLIENT = "no_show_client"
NO_SHOW_UNDONE_CLIENT = "no_show_undone_client"


async def mark(
    session: AsyncSession, booking_id: int, professional: Professional, *, now: datetime, expected_version: int
) -> Booking:
    """confirmed -> no_show, as the professional confirmed it; the client hears after NOTICE_DELAY."""
    await bookings.professional_booking(session, booking_id, professional)
    locked = await bookings._load(session, booking_id)
    if locked.version != expected_version:
        raise BookingChanged(booking_id, "version")
    booking = await bookings.mark_no_show(session, booking_id, by=Actor.PROFESSIONAL, now=now)
    await _tell_client(
        session, booking, NO_SHOW_CLIENT, now + NOTICE_DELAY, {"free_rebook": no_show_rebook_allowed(booking)}
    )
    return booking


def undo_until(booking: Booking) -> datetime | None:
    """Until when the professional can take back the no-show mark (None: not marked, or no longer)."""
    if booking.state != BookingState.NO_SHOW:
        return None
    for event in reversed(booking.events):
        if event.action == "no_show":
            return event.at + UNDO_WINDOW
    return None


async def undo(session: AsyncSession, booking_id: int, professional: Professional, *, now: datetime) -> Booking:
    """no_show -> confirmed again, within UNDO_WINDOW of the mark. IllegalTransition when it is not
    (or no longer: the client took the free rebooking) a no-show; TooLateToChange after the window."""
    await bookings.professional_booking(session, booking_id, professional)
    booking = await bookings._load(session, booking_id)
    until = undo_until(booking)
    if booking.state != BookingState.NO_SHOW or until is None:
        raise IllegalTransition(booking.id, booking.state, "undo_no_show")
    if now > until:
        raise TooLateToChange(booking.id)
    bookings._record(booking, BookingState.CONFIRMED, "undo_no_show", Actor.PROFESSIONAL, now)
    voided = await outbox.cancel_pending(
        session,
        outbox.Subject(bookings.SUBJECT, booking.id),
        (NO_SHOW_CLIENT,),
        now=now,
        reason=f"no-show undone (version {booking.version})",
    )
    if not voided:
        # The client was told already: they hear it was a mistake.
        await _tell_client(session, booking, NO_SHOW_UNDONE_CLIENT, now, {})
    await session.flush()
    return booking


async def _tell_client(
    session: AsyncSession, booking: Booking, kind: str, due_at: datetime, extra: dict[str, object]
) -> None:
    await outbox.enqueue(
        session,
        f"{kind}:{booking.id}:{booking.version}:{booking.client_id}",
        recipient_id=booking.client_id,
        subject=outbox.Subject(bookings.SUBJECT, booking.id),
        kind=kind,
        payload=booking_view(booking).to_json() | extra,
        due_at=due_at,
        fallback_zone=booking.client.timezone or booking.professional.timezone,
    )
