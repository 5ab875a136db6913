"""A client's free-text answer to a reminder, read as a time request and turned into free slots to offer.

`offer_for_text` reads the text with the time parser (bot.services.time_request) in whichever of the
six languages reads most of it, the client's own first, relative to their zone, when they were asked
and the booked session; then it looks up the free slots of the booking's service: the free starts
inside what was asked first, then the nearest others, up to `MAX_OFFERED`, in time order. Moving is
then the ordinary reschedule (booking.reschedule), with its policy checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.availability import free_slots, nearest_free_slots
from bot.services.time_request import LANGUAGES, TimeRequest, read_in_languages
from models import Booking

MAX_OFFERED = 6


@dataclass(frozen=True)
class TimeOffer:
    """What was asked (`request`), whether any free start lies inside it, and the starts to offer."""

    request: TimeRequest
    asked_is_free: bool
    slots: tuple[datetime, ...]


def reply_languages(*preferred: str | None) -> list[str]:
    """The languages a client's reply is read in: theirs first (in the order given: the one their
    Telegram app is set to, then the chat's), then every other the parser knows. The chat speaks only some languages,
    so a Spanish speaker may read it in English and still answer "mañana por la tarde"."""
    own = [base for base in (tag.split("-")[0].split("_")[0].lower() for tag in preferred if tag) if base in LANGUAGES]
    return list(dict.fromkeys([*own, *LANGUAGES]))


async def offer_for_text(
    session: AsyncSession,
    booking: Booking,
    text: str,
    *,
    languages: Sequence[str],
    zone: ZoneInfo,
    now: datetime,
    asked_at: datetime,
) -> TimeOffer | None:
    """The slots to offer for `text`, or None when it is not about a time.

    The text is read in each of `languages` (`reply_languages`); the reading that makes most of it
    wins, the client's own language on a tie. Day words count from `asked_at` (when the reminder went
    out, for an answer within its hour), phrases about the session ("an hour later") from the booked
    start; free slots are as of `now`."""
    reading = read_in_languages(text, languages, zone=zone, now=asked_at, session=booking.starts_at)
    if reading is None:
        return None
    return await offer_for_request(session, booking, reading.request, now)


async def offer_for_request(session: AsyncSession, booking: Booking, request: TimeRequest, now: datetime) -> TimeOffer:
    professional, service = booking.professional, booking.service
    inside = await free_slots(
        session,
        professional,
        service,
        request.earliest,
        request.latest + timedelta(microseconds=1),
        now,
        exclude_booking_id=booking.id,
    )
    chosen = [slot.start for slot in inside if slot.start != booking.starts_at][:MAX_OFFERED]
    asked_is_free = bool(chosen)
    if len(chosen) < MAX_OFFERED:
        middle = request.earliest + (request.latest - request.earliest) / 2
        nearest = await nearest_free_slots(
            session, professional, service, middle, now, limit=MAX_OFFERED + 1, exclude_booking_id=booking.id
        )
        extra = sorted(
            (slot.start for slot in nearest if slot.start not in chosen and slot.start != booking.starts_at),
            key=lambda start: (abs(start - middle), start),
        )
        chosen += extra[: MAX_OFFERED - len(chosen)]
    return TimeOffer(request, asked_is_free, tuple(sorted(chosen)))
