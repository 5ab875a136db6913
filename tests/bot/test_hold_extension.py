"""The hold-expiry warning offers to hold the time once more, by the hold's own length, while the time is
still free and no checkout was opened; one tap extends it, once; a second tap, a stale or a forged
button gets a clear answer and changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.demo.updates import Person
from bot.render import format_instant
from bot.services import reminders
from handlers.reminders import ExtendCb
from models import Booking, BookingEvent, BookingState, DateOverride, OutboxMessage, Payment, PaymentStatus
from tests.bot.catalog_data import Catalog, booked, client, kyiv_time, labels, last, press_label, with_catalog
from tests.bot.harness import BotHarness

# Thursday 10:00 Kyiv; the clock starts on Monday 08:00 Kyiv and Anna holds a slot 30 minutes.
SESSION = kyiv_time("2026-11-26 10:00")
KYIV = "Europe/Kyiv"
OFFER = "Hold it 30 minutes longer"


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


async def _walk(harness: BotHarness, step: timedelta, person: Person) -> list[str]:
    harness.clock.advance(step)
    mark = harness.mark()
    await harness.run_worker()
    await harness.run_worker()
    return [message.text for message in harness.messages_since(mark, person)]


async def _held(harness: BotHarness, catalog: Catalog, person: Person) -> int:
    return await booked(harness, person, catalog.coaching, SESSION, paid_with=None)


async def _booking(harness: BotHarness, booking_id: int) -> Booking:
    async with harness.db() as session:
        return await session.get_one(Booking, booking_id)


async def test_one_tap_holds_the_time_once_more(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    start = harness.clock.now()
    booking_id = await _held(harness, catalog, olena)
    (warning,) = await _walk(harness, timedelta(minutes=20), olena)
    assert warning.startswith("⌛ The time held for you runs out")
    assert "Need more time? I can hold it 30 minutes longer, once." in warning
    assert labels(harness, olena) == [f"⏳ {OFFER}", "Open the booking"]
    offer = harness.last_message(olena)

    await press_label(harness, olena, OFFER)
    until = start + timedelta(minutes=60)
    held_until = format_instant(until, KYIV, "en").replace("\u00a0", " ")
    assert last(harness, olena).startswith(f"⏳ Done: the time is held for you until {held_until}")
    assert labels(harness, olena) == ["💳 Pay €60.00", "Open the booking"]
    booking = await _booking(harness, booking_id)
    assert (booking.state, booking.hold_expires_at, booking.hold_extensions) == (BookingState.HELD, until, 1)

    # The same button again: already done, nothing changes.
    await harness.press(olena, ExtendCb(id=booking_id, v=booking.version - 1), offer)
    assert harness.popup() == "This hold was already extended once; it can't be extended again."
    assert (await _booking(harness, booking_id)).hold_expires_at == until

    # Still held when the first hold would have ended; a second warning, without the offer, 10 minutes
    # before the new end; then it runs out.
    assert await _walk(harness, timedelta(minutes=11), olena) == []
    (second,) = await _walk(harness, timedelta(minutes=19), olena)
    assert second.startswith("⌛ The time held for you runs out") and "Need more time" not in second
    assert OFFER not in " ".join(labels(harness, olena))
    await _walk(harness, timedelta(minutes=10), olena)
    assert (await _booking(harness, booking_id)).state == BookingState.EXPIRED
    async with harness.db() as session:
        actions = list(await session.scalars(select(BookingEvent.action).where(BookingEvent.booking_id == booking_id)))
    assert actions.count("extend_hold") == 1


async def test_no_offer_once_a_checkout_was_opened(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await _held(harness, catalog, olena)
    now = harness.clock.now()
    async with harness.db() as session:
        session.add(
            Payment(
                booking_id=booking_id,
                attempt=1,
                status=PaymentStatus.OPEN,
                amount_minor=6000,
                currency="EUR",
                checkout_session_id="cs_test_1",
                checkout_url="https://checkout.example/cs_test_1",
                checkout_expires_at=now + timedelta(minutes=31),
                refund_attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
    (warning,) = await _walk(harness, timedelta(minutes=20), olena)
    assert "Need more time" not in warning and labels(harness, olena) == ["Open the booking"]
    # A button from elsewhere (forged, or shown before paying began) is refused with the reason.
    await harness.press(olena, ExtendCb(id=booking_id, v=1))
    assert harness.popup() == "You've started paying for this session: please finish the payment to keep it."
    assert (await _booking(harness, booking_id)).hold_extensions == 0


async def test_no_offer_when_the_time_is_no_longer_free(harness: BotHarness, catalog: Catalog) -> None:
    """Anna took Thursday off after the hold was made: the time is no longer bookable."""
    olena = await client(harness)
    booking_id = await _held(harness, catalog, olena)
    async with harness.db() as session:
        session.add(DateOverride(professional_id=catalog.anna, on_date=date(2026, 11, 26), windows=[]))
    (warning,) = await _walk(harness, timedelta(minutes=20), olena)
    assert "Need more time" not in warning
    await harness.press(olena, ExtendCb(id=booking_id, v=1))
    assert harness.popup() == "This time can't be held any longer."


async def test_a_stale_button_after_the_hold_ran_out_or_was_paid(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await _held(harness, catalog, olena)
    await _walk(harness, timedelta(minutes=20), olena)
    offer = harness.last_message(olena)
    await _walk(harness, timedelta(minutes=10), olena)
    await harness.press(olena, ExtendCb(id=booking_id, v=1), offer)
    assert harness.popup() == "This booking is no longer waiting for payment."  # the worker expired it

    other = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-27 10:00"), paid_with=None)
    async with harness.db() as session:
        booking = await session.get_one(Booking, other)
        booking.hold_expires_at = harness.clock.now() - timedelta(seconds=1)  # run out, not yet marked
    await harness.press(olena, ExtendCb(id=other, v=1))
    assert harness.popup() == "The time held for you has already run out."


async def test_someone_elses_button_changes_nothing(harness: BotHarness, catalog: Catalog) -> None:
    olena, petro = await client(harness), await client(harness, "Petro")
    booking_id = await _held(harness, catalog, olena)
    await harness.press(petro, ExtendCb(id=booking_id, v=1))
    assert harness.popup() == "This button is no longer available."
    assert (await _booking(harness, booking_id)).hold_extensions == 0


async def test_the_database_allows_one_extension(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await _held(harness, catalog, olena)
    with pytest.raises(IntegrityError):
        async with harness.db() as session:
            (await session.get_one(Booking, booking_id)).hold_extensions = 2


async def test_the_warning_for_a_hold_extended_is_written_for_its_new_end(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    start: datetime = harness.clock.now()
    booking_id = await _held(harness, catalog, olena)
    await _walk(harness, timedelta(minutes=20), olena)
    await press_label(harness, olena, OFFER)
    async with harness.db() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == reminders.HOLD_EXPIRING, OutboxMessage.subject_id == booking_id)
                .order_by(OutboxMessage.id)
            )
        ).all()
    assert [(row.due_at, row.sent_at is not None) for row in rows] == [
        (start + timedelta(minutes=20), True),
        (start + timedelta(minutes=50), False),
    ]
