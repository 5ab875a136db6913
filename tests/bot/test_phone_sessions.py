"""Phone sessions: the client's number is asked only for them, with consent (Telegram's contact button
or a typed number, checked), kept on that booking only and shown to that professional only; the
confirmation and the reminders say who calls whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.services import instant, phone
from handlers.client_callbacks import TimeCb, minute_code
from models import Booking, Professional, Service, ServiceMode
from tests.bot.harness import BotHarness
from tests.bot.pro_world import add_client, add_professional
from tests.worlds import service as new_service

TUE_0900 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
QUESTION = (
    "This is a phone session: Anna Koval calls you. May I give Anna Koval your phone number, for this session "
    "only? Share it with the button below, or type it with the country code (e.g. +380 67 123 4567). "
    "Nobody else sees it."
)


async def _phone_service(harness: BotHarness, professional_id: int) -> int:
    async with harness.db() as session:
        added = new_service("call-30", "Phone consultation", 30, 0, mode=ServiceMode.PHONE)
        added.professional_id = professional_id
        session.add(added)
        await session.flush()
        return added.id


def test_numbers_are_checked_and_kept_in_international_form() -> None:
    assert phone.normalize("+380 67 123-45-67") == "+380671234567"
    assert phone.normalize("00380 (67) 123.45.67") == "+380671234567"
    assert phone.from_contact("380671234567") == "+380671234567"
    for bad in ("067 123 4567", "+0 671234567", "+38067", "+3806712345678901", "call me", "+٣٨٠٦٧١٢٣٤٥٦٧"):
        assert phone.normalize(bad) is None, bad


async def test_a_phone_session_asks_for_the_number_with_consent_and_shares_it_with_the_professional(
    harness: BotHarness,
) -> None:
    professional_id, video_id = await add_professional(harness)
    call_id = await _phone_service(harness, professional_id)
    anna, olena, petro = harness.person("Anna"), harness.person("Olena"), harness.person("Petro")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena, timezone="Europe/Kyiv")
    await add_client(harness, petro, timezone="Europe/Kyiv")

    await harness.press(olena, TimeCb(svc=call_id, at=minute_code(TUE_0900)))
    await harness.press_button(olena, "Skip")
    assert "Where: phone call (Anna Koval calls you at the number you give)" in harness.last_text(olena)
    await harness.press_button(olena, "Confirm")
    assert harness.last_text(olena) == QUESTION
    assert harness.reply_keyboard(olena) == [{"text": "📞 Share my number", "request_contact": True}]

    # A number without its country code, or someone else's contact, is asked again; nothing is booked.
    await harness.send_text(olena, "067 123 4567")
    assert harness.last_text(olena) == (
        f"That does not look like a phone number with its country code, e.g. +380 67 123 4567.\n\n{QUESTION}"
    )
    await harness.feed(harness.updates.contact(olena, "380500000000", user_id=petro.id))
    assert harness.last_text(olena).startswith("Please share your own number with the button, or type it.")
    async with harness.db() as session:
        assert (await session.scalars(select(Booking))).all() == []

    await harness.feed(harness.updates.contact(olena, "380671234567"))
    texts = harness.texts(olena)
    assert texts[-2] == "Thank you. Anna Koval will call you at +380671234567."
    assert harness.reply_keyboard(olena) == []
    assert "Your number for this call: +380671234567 (only Anna Koval sees it, for this session)." in texts[-1]
    await harness.press_button(olena, "Confirm")
    confirmation = harness.texts(olena)[-2]
    assert confirmation.startswith("✅ Booked!")
    assert "Phone call: Anna Koval will call you at +380671234567." in confirmation
    async with harness.db() as session:
        booking = (await session.scalars(select(Booking))).one()
    assert (booking.state, booking.client_phone) == ("confirmed", "+380671234567")

    # The professional gets it with the booking and an hour before; nobody else ever does.
    await harness.run_worker()
    assert "Call Olena at +380671234567" in harness.last_text(anna)
    harness.clock.set(TUE_0900 - timedelta(minutes=59))
    await harness.run_worker()
    assert harness.last_text(anna).startswith("⏰ Starting in 1 hour")
    assert "Call Olena at +380671234567" in harness.last_text(anna)
    assert not any("+380671234567" in text for text in harness.texts(petro))

    # Any other service never asks, and its booking keeps no number.
    harness.clock.set(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    await harness.press(petro, TimeCb(svc=video_id, at=minute_code(TUE_0900 + timedelta(days=2))))
    await harness.press_button(petro, "Skip")
    await harness.press_button(petro, "Confirm")
    assert "phone" not in harness.last_text(petro).lower()
    async with harness.db() as session:
        video = (await session.scalars(select(Booking).where(Booking.service_id == video_id))).one()
        assert video.client_phone is None
        assert (await session.get(Service, call_id)) is not None


async def test_a_phone_service_is_never_booked_instantly(harness: BotHarness) -> None:
    professional_id, video_id = await add_professional(harness)
    await _phone_service(harness, professional_id)
    now = harness.clock.now()
    async with harness.db() as session:
        professional = await session.get_one(Professional, professional_id)
        await instant.turn_on(session, professional, 60, now=now)
        (offer,) = await instant.available_now(session, now)
    # The 30-minute call would start as soon, and is shorter: it is left out all the same.
    assert offer.service.id == video_id
