"""Reminders (README "Reminders"): outbox rows written in the transaction of the booking change that
makes them due, and checked again right before they go out.

Kinds, each about one booking ("booking", id) and keyed by (kind, booking, version, offset, recipient):

- `REMINDER_CLIENT`: N minutes before the session, one per offset of the professional's `reminders`
  (catalog, default 24 h and 1 h); a booking made later than an offset skips that one.
- `REMINDER_START`: at the start, with the video link, or the address and access notes.
- `REMINDER_PRO`: the professional's heads-up an hour before, with the client's notes.
- `HOLD_EXPIRING`: ten minutes before an unpaid hold runs out; its last look decides whether it offers
  to extend the hold once (bot.services.hold_extension).
- `REVIEW_PROMPT`: once a session is completed.

Every payload carries the booking's view (its version among it) and `send_before`, the moment the
message stops making sense (the next reminder's time, or the start for the last "before" one).
`stale_reason` is what the worker asks right before sending: a booking in another state, of another
version, or a moment past `send_before` voids the row instead of sending it. It also notes in the payload
what only that moment knows: whether a client reminder may offer Reschedule (`can_reschedule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import daily_agenda, outbox
from bot.services.booking_view import booking_view
from bot.services.errors import IllegalTransition, TooLateToChange
from bot.services.policy import Actor, can_reschedule
from bot.services.users import user_for_chat
from models import DEFAULT_REMINDERS, Booking, BookingEvent, BookingState, Review, User

SUBJECT = "booking"
REMINDER_CLIENT = "reminder_client"
REMINDER_START = "reminder_start_client"
REMINDER_PRO = "reminder_pro"
HOLD_EXPIRING = "hold_expiring_client"
REVIEW_PROMPT = "review_prompt_client"

# The reminders about a session's time: a move or a cancellation makes every one of them stale.
SESSION_KINDS = (REMINDER_CLIENT, REMINDER_START, REMINDER_PRO)
ALL_KINDS = (*SESSION_KINDS, HOLD_EXPIRING, REVIEW_PROMPT)
# The client's reminders that carry the buttons and open the hour in which any text is read as a reply.
CLIENT_REMINDER_KINDS = (REMINDER_CLIENT, REMINDER_START)

PRO_HEADS_UP = timedelta(hours=1)
HOLD_WARNING = timedelta(minutes=10)
# "Starting now" still helps a client who opens the chat a little late; later it only clutters.
START_GRACE = timedelta(minutes=15)
# A review prompt is worth sending for this long after the session was completed.
REVIEW_PROMPT_WINDOW = timedelta(days=3)
# The booking state a kind speaks about; in any other state the row is dropped.
_EXPECTED_STATE = {
    REMINDER_CLIENT: BookingState.CONFIRMED,
    REMINDER_START: BookingState.CONFIRMED,
    REMINDER_PRO: BookingState.CONFIRMED,
    HOLD_EXPIRING: BookingState.HELD,
    REVIEW_PROMPT: BookingState.COMPLETED,
}


@dataclass(frozen=True)
class Planned:
    """One reminder a booking will get: what, to whom, when, and until when it makes sense."""

    kind: str
    to_professional: bool
    due_at: datetime
    send_before: datetime
    offset_minutes: int | None = None


def offsets_of(booking: Booking) -> tuple[int, ...]:
    """The professional's client-reminder offsets, largest first."""
    configured = booking.professional.reminders
    offsets = DEFAULT_REMINDERS if configured is None else configured
    return tuple(sorted({int(minutes) for minutes in offsets if int(minutes) > 0}, reverse=True))


def plan_session(booking: Booking, now: datetime) -> list[Planned]:
    """The reminders a confirmed booking gets from `now` on; any whose moment has passed is skipped."""
    starts = booking.starts_at
    offsets = offsets_of(booking)
    planned: list[Planned] = []
    for index, minutes in enumerate(offsets):
        later = offsets[index + 1] if index + 1 < len(offsets) else 0
        planned.append(
            Planned(
                REMINDER_CLIENT,
                False,
                starts - timedelta(minutes=minutes),
                starts - timedelta(minutes=later),
                minutes,
            )
        )
    planned.append(Planned(REMINDER_START, False, starts, starts + START_GRACE))
    if booking.professional.telegram_id is not None:
        planned.append(Planned(REMINDER_PRO, True, starts - PRO_HEADS_UP, starts))
    return [item for item in planned if item.due_at > now]


async def schedule_session(session: AsyncSession, booking: Booking, now: datetime) -> int:
    """Write the reminders of a booking just confirmed or moved (its version as it stands); returns how many."""
    return await outbox.enqueue_many(session, await session_messages(session, booking, now))


async def session_messages(
    session: AsyncSession, booking: Booking, now: datetime, professional_user: User | None = None
) -> list[outbox.Message]:
    """The rows `schedule_session` writes, for a caller that queues them with others in one INSERT.
    `professional_user`: the linked professional's users row when the caller has it already."""
    return [await _message(session, booking, item, now, professional_user) for item in plan_session(booking, now)]


async def schedule_hold_warning(session: AsyncSession, booking: Booking, now: datetime) -> bool:
    """A held booking's "about to expire" message, unless the hold is too short for one."""
    expires = booking.hold_expires_at
    if booking.state != BookingState.HELD or expires is None or expires - HOLD_WARNING <= now:
        return False
    return await _write(session, booking, Planned(HOLD_EXPIRING, False, expires - HOLD_WARNING, expires), now) > 0


async def schedule_review_prompt(session: AsyncSession, booking: Booking, now: datetime) -> bool:
    """Ask the client for a review of a session just completed."""
    if booking.state != BookingState.COMPLETED:
        return False
    return await _write(session, booking, Planned(REVIEW_PROMPT, False, now, now + REVIEW_PROMPT_WINDOW), now) > 0


async def void(session: AsyncSession, booking: Booking, kinds: Sequence[str], now: datetime, change: str) -> int:
    """Void the unsent reminders of these kinds (call it in the transaction of the change)."""
    return await outbox.cancel_pending(
        session,
        outbox.Subject(SUBJECT, booking.id),
        kinds,
        now=now,
        reason=f"booking {change} (version {booking.version})",
    )


async def _write(session: AsyncSession, booking: Booking, item: Planned, now: datetime) -> int:
    return await outbox.enqueue_many(session, [await _message(session, booking, item, now)])


async def _message(
    session: AsyncSession, booking: Booking, item: Planned, now: datetime, professional_user: User | None = None
) -> outbox.Message:
    professional = booking.professional
    recipient: User
    if item.to_professional:
        assert professional.telegram_id is not None  # plan_session plans none for a professional not linked
        recipient = professional_user or await user_for_chat(session, professional.telegram_id, now)
        fallback_locale, fallback_zone = next(iter(professional.languages), None), professional.timezone
    else:
        recipient = booking.client
        fallback_locale, fallback_zone = None, booking.client.timezone or professional.timezone
    payload: dict[str, Any] = booking_view(booking).to_json() | {
        "send_before": item.send_before.isoformat(),
        "offset_minutes": item.offset_minutes,
    }
    offset = item.offset_minutes if item.offset_minutes is not None else 0
    return outbox.Message(
        f"{item.kind}:{booking.id}:{booking.version}:{offset}:{recipient.id}",
        recipient_id=recipient.id,
        subject=outbox.Subject(SUBJECT, booking.id),
        kind=item.kind,
        payload=payload,
        due_at=item.due_at,
        fallback_locale=fallback_locale,
        fallback_zone=fallback_zone,
    )


async def stale_reason(session: AsyncSession, message: outbox.ClaimedMessage, now: datetime) -> str | None:
    """Why a claimed reminder (or daily agenda) must not go out now (None: send it). Other kinds are
    not judged here."""
    if message.kind == daily_agenda.DAILY_AGENDA:
        return await daily_agenda.stale_reason(session, message, now)
    expected = _EXPECTED_STATE.get(message.kind)
    if expected is None or message.subject is None or message.subject.type != SUBJECT:
        return None
    booking = await session.get(Booking, message.subject.id, populate_existing=True)
    if booking is None:
        return "the booking is gone"
    if booking.state != expected:
        return f"the booking is {booking.state}"
    if booking.version != int(message.payload.get("version", -1)):
        return f"the booking changed (version {booking.version})"
    send_before = message.payload.get("send_before")
    if send_before is not None and now >= datetime.fromisoformat(send_before):
        return "too late to make sense"
    if message.kind == REVIEW_PROMPT:
        reviewed = await session.scalar(select(Review.id).where(Review.booking_id == booking.id))
        if reviewed is not None:
            return "already reviewed"
    if message.kind in CLIENT_REMINDER_KINDS:
        # A Reschedule button is offered only while the policy lets the client move the session now (not
        # inside the free-cancellation window, not past the reschedule limit): otherwise it could only refuse.
        message.payload["can_reschedule"] = can_reschedule(booking, by=Actor.CLIENT, now=now) is None
    if message.kind == HOLD_EXPIRING:
        # What only the moment of sending knows goes into the payload the worker renders: whether the
        # warning may offer to extend the hold (time still free, no checkout opened, not extended yet).
        # Imported here: the extension writes its new warning through this module.
        from bot.services import hold_extension

        message.payload["can_extend"] = await hold_extension.refusal(session, booking, now) is None
        message.payload["extend_minutes"] = int(hold_extension.extension_of(booking).total_seconds() // 60)
    return None


async def find_reply_target(session: AsyncSession, chat_id: int, telegram_message_id: int) -> outbox.SentMessage | None:
    """The client reminder a Telegram reply answers, if it answers one."""
    sent = await outbox.find_sent(session, chat_id, telegram_message_id)
    return sent if sent is not None and sent.kind in CLIENT_REMINDER_KINDS else None


async def latest_client_reminder(session: AsyncSession, client: User, since: datetime) -> outbox.SentMessage | None:
    """The newest client reminder sent to `client` at or after `since` (a text after it may answer it)."""
    return await outbox.latest_sent(session, client.id, CLIENT_REMINDER_KINDS, since)


# --- what a client does with a reminder ------------------------------------------------------------

ATTENDANCE_CONFIRMED_PRO = "attendance_confirmed_pro"
RUNNING_LATE_PRO = "running_late_pro"
MAX_LATE_MINUTES = 180
# Lateness is worth reporting from a while before the session until it is over.
LATE_FROM = timedelta(hours=3)


@dataclass(frozen=True)
class Attendance:
    """The client said they will be there; `told_professional` when that went to the professional."""

    booking: Booking
    again: bool
    told_professional: bool


async def confirm_attendance(
    session: AsyncSession, booking: Booking, now: datetime, *, tell_professional: bool
) -> Attendance:
    """Record "I'll be there" for a confirmed, upcoming booking (once per version of it); the
    professional hears of it only when asked (the 24 h reminder's button)."""
    if booking.state != BookingState.CONFIRMED:
        raise IllegalTransition(booking.id, booking.state, "confirm attendance")
    if now >= booking.ends_at:
        raise TooLateToChange(booking.id)
    already = any(e.action == "attendance" and e.version == booking.version for e in booking.events)
    if already:
        return Attendance(booking, again=True, told_professional=False)
    booking.events.append(_event(booking, "attendance", now, {}))
    told = False
    if tell_professional:
        told = await _notify_professional(session, booking, ATTENDANCE_CONFIRMED_PRO, f"{booking.version}", now, {})
    await session.flush()
    return Attendance(booking, again=False, told_professional=told)


async def report_late(session: AsyncSession, booking: Booking, minutes: int, now: datetime) -> bool:
    """The client is running `minutes` late: record it and tell the professional at once (through the
    outbox). True when the professional will be told (they may not have linked a chat)."""
    if not 1 <= minutes <= MAX_LATE_MINUTES:
        raise ValueError(f"minutes must be 1-{MAX_LATE_MINUTES}, got {minutes}")
    if booking.state != BookingState.CONFIRMED:
        raise IllegalTransition(booking.id, booking.state, "report lateness")
    if not booking.starts_at - LATE_FROM <= now < booking.ends_at:
        raise TooLateToChange(booking.id)
    reports = sum(1 for e in booking.events if e.action == "late")
    booking.events.append(_event(booking, "late", now, {"minutes": minutes}))
    told = await _notify_professional(
        session, booking, RUNNING_LATE_PRO, f"{booking.version}:{reports + 1}", now, {"late_minutes": minutes}
    )
    await session.flush()
    return told


def _event(booking: Booking, action: str, now: datetime, detail: dict[str, Any]) -> BookingEvent:
    """A note in the booking's log that changes neither its state nor its version (reminders stay valid)."""
    state = str(booking.state)
    return BookingEvent(
        at=now,
        actor=Actor.CLIENT,
        action=action,
        from_state=state,
        to_state=state,
        version=booking.version,
        detail=detail,
    )


async def _notify_professional(
    session: AsyncSession, booking: Booking, kind: str, key: str, now: datetime, extra: dict[str, Any]
) -> bool:
    professional = booking.professional
    if professional.telegram_id is None:
        return False
    recipient = await user_for_chat(session, professional.telegram_id, now)
    await outbox.enqueue(
        session,
        f"{kind}:{booking.id}:{key}:{recipient.id}",
        recipient_id=recipient.id,
        subject=outbox.Subject(SUBJECT, booking.id),
        kind=kind,
        payload=booking_view(booking).to_json() | extra,
        due_at=now,
        fallback_locale=next(iter(professional.languages), None),
        fallback_zone=professional.timezone,
    )
    return True
