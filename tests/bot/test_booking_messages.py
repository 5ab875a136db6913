"""One message about a booking, whoever sends it: the chat's confirmation after a free booking and the
outbox's (a payment confirmed elsewhere) are built from the same BookingView and read the same."""

from __future__ import annotations

from sqlalchemy import select

from bot.demo.fake_session import ChatMessage
from bot.demo.updates import Person
from bot.services import booking as bookings
from bot.services import outbox, reminders
from bot.services.booking_view import booking_view
from handlers.booking import confirmation
from models import Booking, BookingState, OutboxMessage, User
from tests.bot.catalog_data import bookings_of, client, press_label, with_catalog
from tests.bot.harness import BotHarness


async def _book(harness: BotHarness, person: Person, service: str, day: str, time: str) -> list[ChatMessage]:
    """Book through the chat; what the Confirm press sent."""
    await harness.send_text(person, "/start")
    await harness.press_button(person, "Anna Koval")
    await harness.press_button(person, f"{service} ·")
    await harness.press_button(person, day)
    await press_label(harness, person, time)
    await harness.press_button(person, "Skip")
    before = harness.mark()
    await harness.press_button(person, "Confirm")
    return harness.messages_since(before)


async def _loaded(harness: BotHarness, person: Person) -> Booking:
    (made,) = await bookings_of(harness.app.sessions, person)
    async with harness.db() as session:
        owner = (await session.scalars(select(User).where(User.telegram_id == person.id))).one()
        return await bookings.client_booking(session, made.id, owner)


def _message(message: ChatMessage) -> tuple[str, list[str], list[str]]:
    buttons = message.inline_buttons()
    return message.text, [b["text"] for b in buttons], [b["callback_data"] for b in buttons]


async def test_the_worker_sends_the_very_confirmation_the_chat_shows(harness: BotHarness) -> None:
    await with_catalog(harness)
    olena = await client(harness)
    chat_confirmation, _calendar = await _book(harness, olena, "Free intro call", "Tue, Nov 24", "9:00 AM")
    booking = await _loaded(harness, olena)
    # The same booking's confirmation, queued as a payment webhook would queue it.
    async with harness.db() as session:
        await outbox.enqueue(
            session,
            "same",
            recipient_id=booking.client_id,
            kind=bookings.BOOKING_CONFIRMED_CLIENT,
            payload=booking_view(booking).to_json(),
            due_at=harness.clock.now(),
            subject=outbox.Subject(bookings.SUBJECT, booking.id),
        )
    before = harness.mark()
    await harness.run_worker()
    (sent,) = harness.messages_since(before, olena)
    assert chat_confirmation.text.startswith("✅")
    assert _message(sent) == _message(chat_confirmation)


async def test_a_payment_confirmed_elsewhere_sends_the_chats_confirmation_and_calendar_file(
    harness: BotHarness,
) -> None:
    await with_catalog(harness)
    nick = await client(harness, "Nick", "America/New_York")
    await _book(harness, nick, "Coaching session", "Tue, Nov 24", "2:00 AM")
    booking = await _loaded(harness, nick)
    assert booking.state == BookingState.HELD
    async with harness.db() as session:
        await bookings.confirm(session, booking.id, now=harness.clock.now(), paid_with="stripe")
    before = harness.mark()
    await harness.run_worker()
    sent, calendar = harness.messages_since(before, nick)
    confirmed = await _loaded(harness, nick)
    with harness.app.i18n.context(), harness.app.i18n.use_locale("en"):
        expected = confirmation(confirmed, "America/New_York", "en")
    assert sent.text == expected.text
    assert "Anna Koval's time" in sent.text  # both zones, as the chat shows them
    assert (
        calendar.document is not None and calendar.document[0] == "session-20261124-0200.ics"
    )  # Nick's own date and time
    assert f"UID:booking-{booking.id}@bookbot" in calendar.document[1].decode()


async def test_a_cancellation_voids_the_confirmation_still_waiting(harness: BotHarness) -> None:
    await with_catalog(harness)
    nick = await client(harness, "Nick", "America/New_York")
    await _book(harness, nick, "Coaching session", "Tue, Nov 24", "2:00 AM")
    booking = await _loaded(harness, nick)
    async with harness.db() as session:
        await bookings.confirm(session, booking.id, now=harness.clock.now(), paid_with="stripe")
    async with harness.db() as session:
        await bookings.cancel(session, booking.id, by="system", now=harness.clock.now())
    before = harness.mark()
    await harness.run_worker()
    # Only the cancellation reaches him; the confirmation and its calendar file were voided with it.
    (told,) = harness.messages_since(before, nick)
    assert told.text.startswith("Your session has been cancelled.")
    async with harness.db() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    voided = {row.kind for row in rows if row.voided_at is not None and row.kind not in reminders.ALL_KINDS}
    assert voided == {bookings.BOOKING_CONFIRMED_CLIENT, bookings.BOOKING_CALENDAR_CLIENT}
    assert all(row.sent_at is None for row in rows if row.voided_at is not None)
