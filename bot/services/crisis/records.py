"""What the crisis reply needs from the database, and what it leaves there: the client's stored
country and zone, their last crisis event, the event record itself (never the text) and the alerts to
their professionals and the support chat, through the outbox.

The reply never waits on these for long: the middleware bounds each call with a timeout and sends the
reply from what it has (bot/middlewares/crisis.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.crisis.detect import MODEL_RULE_PREFIX
from bot.services.users import user_for_chat
from models import Booking, BookingState, CrisisEvent, Professional, User

# "An upcoming or recent booking": any not cancelled or expired, starting from 30 days ago on.
RECENT = timedelta(days=30)
ALERT_STATES = (BookingState.HELD, BookingState.CONFIRMED, BookingState.COMPLETED, BookingState.NO_SHOW)
# One alert per client in this window: a person repeating themselves gets the resources every time, but
# their professional and the support chat are not messaged for each line.
ALERT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class ClientContext:
    user_id: int | None
    first_name: str
    country: str | None
    timezone: str | None
    last_crisis_at: datetime | None


async def client_context(session: AsyncSession, telegram_id: int) -> ClientContext:
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    last = await session.scalar(
        select(CrisisEvent.occurred_at)
        .where(CrisisEvent.telegram_id == telegram_id)
        .order_by(CrisisEvent.occurred_at.desc())
        .limit(1)
    )
    if user is None:
        return ClientContext(None, "", None, None, last)
    return ClientContext(user.id, user.first_name, user.country, user.timezone, last)


async def save_country(session: AsyncSession, telegram_id: int, country: str) -> bool:
    """Remember the country the person picked; False when they have no users row yet."""
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    if user is None:
        return False
    user.country = country
    return True


@dataclass(frozen=True)
class Recorded:
    event_id: int
    professionals_alerted: int
    support_alerted: bool


async def record_crisis(
    session: AsyncSession,
    *,
    telegram_id: int,
    first_name: str,
    now: datetime,
    language: str,
    rule_id: str,
    country: str | None,
    support_chat_id: int | None,
    alert: bool = True,
) -> Recorded:
    """Record the event and queue the alerts (unless this client had some within ALERT_WINDOW), in the
    caller's transaction. `alert=False` (the model layer's match alone, bot/middlewares/crisis.py)
    records the event and alerts nobody; such an event does not count as an alert already sent."""
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    alerted_lately = await session.scalar(
        select(CrisisEvent.id)
        .where(
            CrisisEvent.telegram_id == telegram_id,
            CrisisEvent.occurred_at > now - ALERT_WINDOW,
            ~CrisisEvent.rule_id.startswith(MODEL_RULE_PREFIX),
        )
        .limit(1)
    )
    event = CrisisEvent(
        telegram_id=telegram_id,
        user_id=user.id if user else None,
        occurred_at=now,
        language=language,
        rule_id=rule_id,
        country=country,
        professionals_alerted=0,
    )
    session.add(event)
    await session.flush()
    name = (user.first_name if user else "") or first_name
    alerted = 0
    if alert and user is not None and alerted_lately is None:
        for professional, booking in await _professionals_to_alert(session, user, now):
            assert professional.telegram_id is not None
            recipient = await user_for_chat(session, professional.telegram_id, now)
            queued = await outbox.enqueue(
                session,
                f"crisis_alert_pro:{event.id}:{professional.id}",
                recipient_id=recipient.id,
                kind="crisis_alert_pro",
                payload=_alert_payload(name, booking),
                due_at=now,
                subject=outbox.Subject("crisis_event", event.id),
                fallback_locale=next(iter(professional.languages), None),
                fallback_zone=professional.timezone,
            )
            alerted += int(queued)
    event.professionals_alerted = alerted
    support = False
    if alert and support_chat_id is not None and alerted_lately is None:
        payload = {"client_name": name, "telegram_id": telegram_id, "language": language, "rule_id": rule_id}
        # The support chat (often a group) gets a users row of its own: outbox rows name a recipient user.
        support_chat = await user_for_chat(session, support_chat_id, now)
        support = await outbox.enqueue(
            session,
            f"crisis_alert_support:{event.id}",
            recipient_id=support_chat.id,
            kind="crisis_alert_support",
            payload=payload,
            due_at=now,
            subject=outbox.Subject("crisis_event", event.id),
            fallback_locale="en",
        )
    return Recorded(event.id, alerted, support)


def _alert_payload(client_name: str, booking: Booking) -> dict[str, Any]:
    return {"client_name": client_name, "booking_id": booking.id, "starts_at": booking.starts_at.isoformat()}


async def _professionals_to_alert(
    session: AsyncSession, client: User, now: datetime
) -> list[tuple[Professional, Booking]]:
    """Each professional (linked, alerts on) with a booking of this client from 30 days ago on, with the
    booking to name: the next one to come, else the latest past one."""
    bookings = (
        await session.scalars(
            select(Booking)
            .where(
                Booking.client_id == client.id,
                Booking.state.in_(ALERT_STATES),
                Booking.starts_at >= now - RECENT,
            )
            .order_by(Booking.starts_at)
        )
    ).all()
    chosen: dict[int, Booking] = {}
    for booking in bookings:
        current = chosen.get(booking.professional_id)
        # Ascending order: a later booking beats a past one (more recent, or the first to come).
        if current is None or current.starts_at < now:
            chosen[booking.professional_id] = booking
    found = []
    for professional_id, booking in chosen.items():
        professional = await session.get(Professional, professional_id)
        if professional is not None and professional.crisis_alerts and professional.telegram_id is not None:
            found.append((professional, booking))
    return found
