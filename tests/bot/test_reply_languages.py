"""Free-text replies to a reminder in Spanish, Russian, Ukrainian, German and French: the chat reads each
in the language that makes most of it (the client's own first, whatever language the chat speaks to
them), offers the free times nearest to what was asked, and one tap moves the booking.

Olena's session is on Thursday 2026-11-26 at 10:00 Kyiv; the 24 h reminder goes out on Wednesday at
10:00, and "tomorrow" in a reply means Thursday. Anna's Thursday starts: 9:00-11:00 and 13:30-15:30
(hourly); Friday 9:00-12:00; Tuesday like Thursday.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.updates import Person
from handlers.client_callbacks import MoveYesCb, instant_from_code
from models import Booking, Professional, User
from tests.bot.catalog_data import Catalog, booked, kyiv_time, last, onboarded, press_label, with_catalog
from tests.bot.harness import BotHarness

SESSION = kyiv_time("2026-11-26 10:00")
REMINDER_SENT = SESSION - timedelta(hours=24)
FREE_AROUND_EN = "Free around the time you asked"
NOTHING_FREE_EN = "Nothing is free then."
FREE_AROUND_UK = "Вільно приблизно тоді, коли ви просили"
NOTHING_FREE_UK = "Тоді нічого не вільно. Найближчий вільний час"


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    catalog = await with_catalog(harness)
    async with harness.db() as session:
        # Moves allowed until 12 h before, so the 24 h reminder's answer can move the session.
        (await session.get_one(Professional, catalog.anna)).free_cancellation_hours = 12
    return catalog


async def _client_reminded(harness: BotHarness, catalog: Catalog, language_code: str, chat_locale: str) -> Person:
    """A client whose Telegram speaks `language_code` (the chat speaks `chat_locale` to her), with a
    session on Thursday and its 24 h reminder just received."""
    person = harness.person("Olena", language_code=language_code)
    await onboarded(harness.app.sessions, person, "Europe/Kyiv", harness.clock.now(), locale=chat_locale)
    await booked(harness, person, catalog.coaching, SESSION)
    harness.clock.advance(REMINDER_SENT - harness.clock.now())
    await harness.run_worker()
    return person


def _offered(harness: BotHarness, person: Person) -> list[datetime]:
    """The times the newest keyboard offers to move to (in order)."""
    prefix = MoveYesCb.__prefix__ + ":"
    return [
        instant_from_code(MoveYesCb.unpack(button["callback_data"]).at)
        for button in harness.buttons(person)
        if str(button.get("callback_data", "")).startswith(prefix)
    ]


async def _starts_at(harness: BotHarness, person: Person) -> datetime:
    async with harness.db() as session:
        user = (await session.scalars(select(User).where(User.telegram_id == person.id))).one()
        return (await session.scalars(select(Booking).where(Booking.client_id == user.id))).one().starts_at


async def test_spanish_tomorrow_afternoon_offers_thursday_afternoon_and_one_tap_moves(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await _client_reminded(harness, catalog, "es", "en")  # no Spanish catalog: the chat speaks English
    reminder = harness.last_message(olena)
    await harness.feed(harness.updates.text(olena, "mañana por la tarde", reply_to=reminder))
    assert last(harness, olena).startswith(FREE_AROUND_EN)
    thursday_afternoon = [kyiv_time(f"2026-11-26 {clock}") for clock in ("13:30", "14:30", "15:30")]
    # The three inside what was asked, then the nearest others to make up to six.
    assert set(thursday_afternoon) <= set(_offered(harness, olena))

    await press_label(harness, olena, "2:30 PM")
    assert await _starts_at(harness, olena) == kyiv_time("2026-11-26 14:30"), harness.transcript(olena)
    assert any("Moved!" in text for text in harness.texts(olena)[-2:])


async def test_ukrainian_thursday_evening_says_nothing_is_free_and_shows_either_side(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await _client_reminded(harness, catalog, "uk", "uk")
    await harness.send_text(olena, "в четвер увечері")
    # The chat speaks Ukrainian to her; Anna's Thursday ends at 17:00.
    assert last(harness, olena).startswith(NOTHING_FREE_UK)
    offered = _offered(harness, olena)
    evening = kyiv_time("2026-11-26 17:00")
    assert any(start < evening for start in offered) and any(start > kyiv_time("2026-11-26 21:00") for start in offered)
    assert kyiv_time("2026-11-26 15:30") in offered

    await harness.send_text(olena, "у пʼятницю вранці")
    assert last(harness, olena).startswith(FREE_AROUND_UK)
    assert {kyiv_time(f"2026-11-27 {clock}") for clock in ("09:00", "10:00", "11:00")} <= set(_offered(harness, olena))
    await press_label(harness, olena, "11:00")
    assert await _starts_at(harness, olena) == kyiv_time("2026-11-27 11:00"), harness.transcript(olena)


async def test_german_next_tuesday_at_two_offers_the_starts_either_side(harness: BotHarness, catalog: Catalog) -> None:
    olena = await _client_reminded(harness, catalog, "de", "en")
    await harness.send_text(olena, "nächsten Dienstag um 14 Uhr")
    assert last(harness, olena).startswith(NOTHING_FREE_EN)  # 14:00 is none of Anna's starts
    offered = _offered(harness, olena)
    assert {kyiv_time("2026-12-01 13:30"), kyiv_time("2026-12-01 14:30")} <= set(offered)
    await press_label(harness, olena, "Dec 1, 2026, 1:30 PM")
    assert await _starts_at(harness, olena) == kyiv_time("2026-12-01 13:30"), harness.transcript(olena)


async def test_french_tomorrow_morning_offers_thursday_morning(harness: BotHarness, catalog: Catalog) -> None:
    olena = await _client_reminded(harness, catalog, "fr", "en")
    await harness.send_text(olena, "demain matin")
    assert last(harness, olena).startswith(FREE_AROUND_EN)
    # Her own 10:00 is not offered back to her.
    offered = _offered(harness, olena)
    assert {kyiv_time("2026-11-26 09:00"), kyiv_time("2026-11-26 11:00")} <= set(offered) and SESSION not in offered
    await press_label(harness, olena, "Nov 26, 2026, 9:00 AM")
    assert await _starts_at(harness, olena) == kyiv_time("2026-11-26 09:00"), harness.transcript(olena)


async def test_russian_tomorrow_at_three_is_thursday_not_today(harness: BotHarness, catalog: Catalog) -> None:
    """English alone reads only "15:00" of it (today, Wednesday); Russian reads it all."""
    olena = await _client_reminded(harness, catalog, "ru", "en")
    await harness.send_text(olena, "завтра в 15:00")
    assert last(harness, olena).startswith(NOTHING_FREE_EN)
    offered = _offered(harness, olena)
    assert {kyiv_time("2026-11-26 14:30"), kyiv_time("2026-11-26 15:30")} <= set(offered)
    assert all(start >= kyiv_time("2026-11-26 00:00") for start in offered)  # none today, Wednesday
    await press_label(harness, olena, "3:30 PM")
    assert await _starts_at(harness, olena) == kyiv_time("2026-11-26 15:30"), harness.transcript(olena)


async def test_the_text_decides_when_it_is_not_in_the_clients_own_language(
    harness: BotHarness, catalog: Catalog
) -> None:
    """Telegram and the chat in English, the answer in Spanish: read in Spanish all the same."""
    olena = await _client_reminded(harness, catalog, "en", "en")
    await harness.send_text(olena, "mañana por la tarde")
    assert last(harness, olena).startswith(FREE_AROUND_EN)
    assert {kyiv_time(f"2026-11-26 {clock}") for clock in ("13:30", "14:30", "15:30")} <= set(_offered(harness, olena))
    # Not about a time in any language: the short menu, never dropped.
    await harness.send_text(olena, "gracias, nos vemos")
    assert last(harness, olena).startswith("What would you like to do about your session?")
