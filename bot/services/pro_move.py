"""A professional moves a session: they pick another free time of theirs, the client accepts or
declines. Accepting moves the booking atomically through the guard (the old slot is freed exactly
when the new one is taken); declining, or no answer by the proposal's deadline (the hold length
before the earlier of the two times), is the professional's cancellation with a full refund
(bot/services/pro_cancel.py), and the client gets that one message with new times.

The proposed time is not held while the client thinks: if someone else books it meanwhile, Accept
says so and the session stays where it was (the professional is told).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import booking as bookings
from bot.services import outbox, pro_cancel
from bot.services.availability import is_offered
from bot.services.booking_view import booking_view
from bot.services.errors import BookingChanged, IllegalTransition, NotFound, SlotUnavailable, TooLateToChange
from bot.services.guard import guarded
from bot.services.policy import Actor, Policy
from models import Booking, BookingState, MoveProposal, Professional, User

MOVE_PROPOSED_CLIENT = "move_proposed_client"
MOVE_ANSWERED_PRO = "move_answered_pro"


async def propose(
    session: AsyncSession,
    booking_id: int,
    professional: Professional,
    starts_at: datetime,
    *,
    now: datetime,
    expected_version: int,
) -> MoveProposal:
    """Ask the client of `professional`'s confirmed booking to move it to `starts_at` (a free time of
    the professional's). A newer proposal replaces an open one."""
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    await bookings.professional_booking(session, booking_id, professional)

    async def check_and_write() -> MoveProposal:
        booking = await bookings._load(session, booking_id)
        if booking.version != expected_version:
            raise BookingChanged(booking.id, "version")
        if booking.state != BookingState.CONFIRMED:
            raise IllegalTransition(booking.id, booking.state, "propose_move")
        if now >= booking.starts_at:
            raise TooLateToChange(booking.id)
        service = booking.service
        if not await is_offered(session, professional, service, starts_at, now, exclude_booking_id=booking.id):
            raise await bookings._unavailable(
                session, professional, service, starts_at, now, exclude_booking_id=booking.id
            )
        await _close_open(session, booking.id, "replaced", now)
        earlier = min(booking.starts_at, starts_at)
        expires_at = earlier - timedelta(minutes=Policy.from_json(booking.policy).hold_minutes)
        if expires_at <= now:
            expires_at = earlier
        proposal = MoveProposal(
            booking_id=booking.id,
            starts_at=starts_at,
            booking_version=booking.version,
            expires_at=expires_at,
            created_at=now,
        )
        session.add(proposal)
        await session.flush()
        await outbox.enqueue(
            session,
            f"{MOVE_PROPOSED_CLIENT}:{booking.id}:{proposal.id}",
            recipient_id=booking.client_id,
            subject=outbox.Subject(bookings.SUBJECT, booking.id),
            kind=MOVE_PROPOSED_CLIENT,
            payload=booking_view(booking).to_json()
            | {"proposal_id": proposal.id, "proposed": starts_at.isoformat(), "answer_by": expires_at.isoformat()},
            due_at=now,
            fallback_zone=booking.client.timezone or professional.timezone,
        )
        return proposal

    return await guarded(session, professional.id, check_and_write)


async def _close_open(session: AsyncSession, booking_id: int, outcome: str, now: datetime) -> None:
    await session.execute(
        update(MoveProposal)
        .where(MoveProposal.booking_id == booking_id, MoveProposal.outcome.is_(None))
        .values(outcome=outcome, answered_at=now)
    )


@dataclass(frozen=True)
class Answered:
    """What the client's answer did: "accepted" (moved), "declined" or "expired" (cancelled by the
    professional, with the refund and new times in the client's one message), "taken" (the time went
    to someone else; nothing changed), or "gone" (answered before, or the booking changed since)."""

    outcome: str
    booking: Booking
    proposal: MoveProposal


async def answer(session: AsyncSession, proposal_id: int, client: User, *, accept: bool, now: datetime) -> Answered:
    proposal = await session.get(MoveProposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise NotFound("move proposal", proposal_id)
    booking = await bookings.client_booking(session, proposal.booking_id, client)
    if proposal.outcome is not None:
        return Answered("gone", booking, proposal)
    if now >= proposal.expires_at:
        return await _expire(session, proposal, now)
    if booking.version != proposal.booking_version or booking.state != BookingState.CONFIRMED:
        proposal.outcome, proposal.answered_at = "void", now
        return Answered("gone", booking, proposal)
    if not accept:
        proposal.outcome, proposal.answered_at = "declined", now
        cancelled = await pro_cancel.cancel_by_professional(
            session, booking.id, booking.professional, reason=pro_cancel.Reason.MOVE_DECLINED, now=now
        )
        await _tell_professional(session, cancelled.booking, proposal, "declined", now)
        return Answered("declined", cancelled.booking, proposal)

    async def move() -> Booking:
        locked = await bookings._load(session, booking.id)
        if locked.version != proposal.booking_version:
            raise BookingChanged(locked.id, "version")
        moved = await bookings._move(session, locked, proposal.starts_at, Actor.PROFESSIONAL, now)
        # The client answers in chat: the "moved" notice the move queued would say it twice.
        await outbox.cancel_pending(
            session,
            outbox.Subject(bookings.SUBJECT, moved.id),
            (bookings.BOOKING_RESCHEDULED_CLIENT,),
            now=now,
            reason="the client accepted the move in chat",
        )
        return moved

    try:
        moved = await guarded(session, booking.professional_id, move)
    except SlotUnavailable:
        proposal.outcome, proposal.answered_at = "void", now
        booking = await bookings.client_booking(session, proposal.booking_id, client)
        await _tell_professional(session, booking, proposal, "taken", now)
        return Answered("taken", booking, proposal)
    proposal.outcome, proposal.answered_at = "accepted", now
    await _tell_professional(session, moved, proposal, "accepted", now)
    return Answered("accepted", moved, proposal)


async def _expire(session: AsyncSession, proposal: MoveProposal, now: datetime) -> Answered:
    booking = await bookings._load(session, proposal.booking_id)
    if (
        booking.version != proposal.booking_version
        or booking.state != BookingState.CONFIRMED
        or now >= booking.starts_at
    ):
        proposal.outcome, proposal.answered_at = "void", now
        return Answered("gone", booking, proposal)
    proposal.outcome, proposal.answered_at = "expired", now
    cancelled = await pro_cancel.cancel_by_professional(
        session, booking.id, booking.professional, reason=pro_cancel.Reason.MOVE_UNANSWERED, now=now
    )
    await _tell_professional(session, cancelled.booking, proposal, "expired", now)
    return Answered("expired", cancelled.booking, proposal)


async def expire_unanswered(session: AsyncSession, now: datetime) -> int:
    """Worker tick: proposals nobody answered by their deadline become the professional's cancellation."""
    query = (
        select(MoveProposal)
        .where(MoveProposal.outcome.is_(None), MoveProposal.expires_at <= now)
        .order_by(MoveProposal.id)
        .with_for_update(skip_locked=True)
    )
    due = list((await session.scalars(query)).all())
    for proposal in due:
        await _expire(session, proposal, now)
    await session.flush()
    return len(due)


async def open_proposal(session: AsyncSession, booking_id: int) -> MoveProposal | None:
    query = select(MoveProposal).where(MoveProposal.booking_id == booking_id, MoveProposal.outcome.is_(None))
    return (await session.scalars(query.order_by(MoveProposal.id.desc()).limit(1))).first()


async def _tell_professional(
    session: AsyncSession, booking: Booking, proposal: MoveProposal, outcome: str, now: datetime
) -> None:
    extra = {"answer": outcome, "proposed": proposal.starts_at.isoformat(), "proposal_id": proposal.id}
    await bookings._notify_professional(session, booking, MOVE_ANSWERED_PRO, now, extra)
