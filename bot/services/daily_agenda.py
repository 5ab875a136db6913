"""The professional's daily agenda (README "Reminders"): one message at 08:00 in their zone listing
that day's sessions, for a professional who turned it on (catalog `daily_agenda: true`, or /daily in chat).

`queue_daily_agendas` runs on the worker's maintenance tick. For every linked professional who wants
it and whose local time is between SEND_FROM and SEND_UNTIL, it writes one outbox row keyed by
(professional, local date): the unique key makes it once per date across ticks and replicas. The local
date and 08:00 come from the professional's zone as it is at that tick, so a DST change moves nothing
(08:00 always exists) and a zone change takes effect at the next local 08:00; a date that already had
its agenda in the old zone gets no second one. A worker that was down at 08:00 sends it when it comes
back, until noon; after that the day is skipped.

A day without sessions sends nothing: its row is written and voided at once ("no sessions today"), so
a booking made later that morning does not bring a late agenda (the professional hears of it anyway).
The payload holds the day's sessions as they are when the row is written (it goes out within seconds);
right before sending, the worker drops it when noon has passed or the professional turned it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services import outbox
from bot.services.availability import start_of_local_day
from bot.services.users import user_for_chat
from models import Booking, BookingState, OutboxMessage, Professional

SUBJECT = "professional"
DAILY_AGENDA = "daily_agenda_pro"
SEND_FROM = time(8)
# A worker that was down at 08:00 still sends the day's agenda until then; later it is not worth it.
SEND_UNTIL = time(12)
NOTES_LIMIT = 300
# Real sessions of the day; a hold still waiting for payment is no session yet.
LISTED = (BookingState.CONFIRMED, BookingState.COMPLETED, BookingState.NO_SHOW)
NO_SESSIONS = "no sessions today"


@dataclass(frozen=True)
class AgendaSession:
    """One line of the agenda: what the professional needs to prepare."""

    starts_at: datetime
    ends_at: datetime
    client_name: str
    service_name: str
    mode: str
    notes: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "client_name": self.client_name,
            "service_name": self.service_name,
            "mode": self.mode,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgendaSession:
        return cls(
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            client_name=str(data.get("client_name") or ""),
            service_name=str(data.get("service_name") or ""),
            mode=str(data.get("mode") or ""),
            notes=data.get("notes") or None,
        )


def agenda_key(professional_id: int, day: date) -> str:
    return f"{DAILY_AGENDA}:{professional_id}:{day.isoformat()}"


def due_day(zone_name: str, now: datetime) -> date | None:
    """The local date whose agenda is due at `now` in `zone_name` (between 08:00 and noon), or None."""
    local = now.astimezone(ZoneInfo(zone_name))
    return local.date() if SEND_FROM <= local.time() < SEND_UNTIL else None


async def day_sessions(session: AsyncSession, professional: Professional, day: date) -> list[AgendaSession]:
    """The professional's sessions starting on local `day` in their zone, in time order."""
    zone = ZoneInfo(professional.timezone)
    start, end = start_of_local_day(day, zone), start_of_local_day(day + timedelta(days=1), zone)
    bookings = await session.scalars(
        select(Booking)
        .options(selectinload(Booking.client), selectinload(Booking.service))
        .where(
            Booking.professional_id == professional.id,
            Booking.state.in_(LISTED),
            Booking.starts_at >= start,
            Booking.starts_at < end,
        )
        .order_by(Booking.starts_at, Booking.id)
    )
    listed: list[AgendaSession] = []
    for booking in bookings:
        notes = (booking.client_notes or "").strip()
        if len(notes) > NOTES_LIMIT:
            notes = notes[:NOTES_LIMIT].rstrip() + "…"
        listed.append(
            AgendaSession(
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                client_name=booking.client.first_name,
                service_name=booking.service.name,
                mode=str(booking.service.mode),
                notes=notes or None,
            )
        )
    return listed


async def queue_daily_agendas(session: AsyncSession, now: datetime) -> int:
    """Worker tick: write today's agenda for each professional whose 08:00 has come; returns how many
    were queued to send (a day without sessions is recorded, not sent)."""
    wanting = await session.scalars(
        select(Professional)
        .where(Professional.daily_agenda.is_(True), Professional.telegram_id.is_not(None))
        .order_by(Professional.id)
    )
    queued = 0
    for professional in wanting.all():
        day = due_day(professional.timezone, now)
        if day is None or professional.telegram_id is None:
            continue
        key = agenda_key(professional.id, day)
        if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
            continue  # this date had its agenda (or its "no sessions") already
        sessions = await day_sessions(session, professional, day)
        recipient = await user_for_chat(session, professional.telegram_id, now)
        day_starts_at = start_of_local_day(day, ZoneInfo(professional.timezone))
        send_before = datetime.combine(day, SEND_UNTIL, tzinfo=ZoneInfo(professional.timezone))
        subject = outbox.Subject(SUBJECT, professional.id)
        written = await outbox.enqueue(
            session,
            key,
            recipient_id=recipient.id,
            subject=subject,
            kind=DAILY_AGENDA,
            payload={
                "day": day.isoformat(),
                "day_starts_at": day_starts_at.isoformat(),
                "zone": professional.timezone,
                "send_before": send_before.isoformat(),
                "sessions": [item.to_json() for item in sessions],
            },
            due_at=now,
            fallback_locale=next(iter(professional.languages), None),
            fallback_zone=professional.timezone,
        )
        if not written:
            continue
        if sessions:
            queued += 1
        else:
            await outbox.cancel_pending(session, subject, [DAILY_AGENDA], now=now, reason=NO_SESSIONS)
    return queued


async def stale_reason(session: AsyncSession, message: outbox.ClaimedMessage, now: datetime) -> str | None:
    """Why a claimed agenda must not go out now (None: send it)."""
    send_before = message.payload.get("send_before")
    if send_before is not None and now >= datetime.fromisoformat(send_before):
        return "too late to make sense"
    if message.subject is None or message.subject.type != SUBJECT:
        return None
    professional = await session.get(Professional, message.subject.id, populate_existing=True)
    if professional is None or professional.telegram_id is None:
        return "the professional is not linked any more"
    if not professional.daily_agenda:
        return "the professional turned the daily agenda off"
    return None


async def set_daily_agenda(session: AsyncSession, professional: Professional, on: bool) -> bool:
    """Turn the professional's daily agenda on or off; True when that changed it."""
    if professional.daily_agenda == on:
        return False
    professional.daily_agenda = on
    await session.flush()
    return True
