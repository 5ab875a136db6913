"""/start onboarding: language, then time zone by city, country or location; text in every step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.demo.updates import Person
from bot.render import zone_choice, zone_label
from bot.services.zone_search import search_zones
from handlers.start import LanguageCb
from models import User
from tests.bot.harness import BotHarness

ZONE_QUESTION = (
    "Which time zone are you in? Type your city or country (e.g. Kyiv, Madrid, New York), or share your location."
)


async def _user(harness: BotHarness, person: Person) -> User:
    async with harness.db() as session:
        return (await session.scalars(select(User).where(User.telegram_id == person.id))).one()


async def _to_zone_step(harness: BotHarness, person: Person) -> None:
    await harness.send_text(person, "/start")
    await harness.press_button(person, "English")
    assert harness.last_text(person) == ZONE_QUESTION


async def test_language_then_zone_by_city(harness: BotHarness) -> None:
    olena = harness.person("Olena", "en")
    await harness.send_text(olena, "/start")
    assert harness.last_text(olena).startswith("Hello, Olena!")
    assert harness.last_text(olena).endswith("Which language should I use?")
    assert [button["text"] for button in harness.buttons(olena)] == ["✓ English", "Українська"]

    await harness.press_button(olena, "English")
    # The language message is edited in place, the zone question comes with a "share location" key.
    assert harness.texts(olena)[0] == "Language: English"
    assert harness.last_text(olena) == ZONE_QUESTION
    assert harness.reply_keyboard(olena) == [{"text": "📍 Share my location", "request_location": True}]

    await harness.send_text(olena, "kyiv")
    assert harness.texts(olena)[-2:] == [
        f"Your time zone: {zone_label('Europe/Kyiv', 'en', harness.clock.now())}",
        "You're all set.\n\nNo professionals are listed yet; please come back soon. /help lists what I can do.",
    ]
    assert harness.reply_keyboard(olena) == []
    user = await _user(harness, olena)
    assert (user.locale, user.timezone, user.country) == ("en", "Europe/Kyiv", "UA")

    await harness.send_text(olena, "/start")
    assert harness.last_text(olena).startswith("Hello again, Olena!")


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("kyiv", "Europe/Kyiv"),
        ("Kiev", "Europe/Kyiv"),
        ("new york", "America/New_York"),
        ("Europe/Kiev", "Europe/Kyiv"),
    ],
)
async def test_zone_by_name(harness: BotHarness, typed: str, zone: str) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_text(person, typed)
    assert (await _user(harness, person)).timezone == zone


async def test_zone_by_country_offers_its_zones(harness: BotHarness) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_text(person, "Spain")
    assert harness.last_text(person) == "Which one is yours? Not in the list? Type the nearest big city."
    # Which zones, in which order and under which names is CLDR's data (tests/bot/test_render.py pins
    # it): here, the buttons are the search's zones, each labelled as every time is.
    labels = [button["text"] for button in harness.buttons(person)]
    now = harness.clock.now()
    # The country's zones, most populous first, each named after its biggest city.
    assert labels == [zone_choice(match, now) for match in search_zones("Spain", "en", at=now)]
    assert [match.zone for match in search_zones("Spain")] == ["Europe/Madrid", "Atlantic/Canary"]
    await harness.press_button(person, labels[0])
    assert harness.texts(person)[-2] == "Your time zone: " + zone_label("Europe/Madrid", "en", now)
    assert (await _user(harness, person)).timezone == "Europe/Madrid"


@pytest.mark.parametrize(
    ("typed", "zone"),
    [("Kharkiv", "Europe/Kyiv"), ("Харків", "Europe/Kyiv"), ("EST", "America/New_York"), ("🇩🇪", "Europe/Berlin")],
)
async def test_one_sure_answer_is_saved_at_once(harness: BotHarness, typed: str, zone: str) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_text(person, typed)
    assert harness.texts(person)[-2] == "Your time zone: " + zone_label(zone, "en", harness.clock.now())
    assert (await _user(harness, person)).timezone == zone


async def test_a_guess_is_offered_not_saved(harness: BotHarness) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_text(person, "Kharkvi")  # a typo: asked, even with one candidate
    assert harness.last_text(person) == "Which one is yours? Not in the list? Type the nearest big city."
    now = harness.clock.now()
    assert [button["text"] for button in harness.buttons(person)] == [
        zone_choice(match, now) for match in search_zones("Kharkvi", "en", at=now)
    ]
    assert (await _user(harness, person)).timezone is None
    await harness.press_button(person, "Kharkiv, Ukraine")
    assert (await _user(harness, person)).timezone == "Europe/Kyiv"


async def test_an_offset_offers_the_zones_that_have_it_now(harness: BotHarness) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_text(person, "GMT-5")
    now = harness.clock.now()
    labels = [button["text"] for button in harness.buttons(person)]
    assert labels == [zone_choice(match, now) for match in search_zones("GMT-5", "en", at=now)]
    assert labels[0] == zone_choice(search_zones("New York")[0], now)
    assert all(label.endswith("(UTC-05:00)") for label in labels)


async def test_gibberish_asks_again_and_keeps_the_step(harness: BotHarness) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_text(person, "qwzx blorp")
    assert harness.last_text(person) == f"I couldn't find a time zone for “qwzx blorp”.\n\n{ZONE_QUESTION}"
    await harness.send_text(person, "Kyiv")
    assert (await _user(harness, person)).timezone == "Europe/Kyiv"


async def test_shared_location(harness: BotHarness) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_location(person, 40.4168, -3.7038)
    assert harness.texts(person)[-2] == f"Your time zone: {zone_label('Europe/Madrid', 'en', harness.clock.now())}"


async def test_ukrainian_speaker_gets_ukrainian(harness: BotHarness) -> None:
    oksana = harness.person("Оксана", "uk")
    await harness.send_text(oksana, "/start")
    assert harness.last_text(oksana).startswith("Вітаю, Оксана!")
    assert [button["text"] for button in harness.buttons(oksana)] == ["English", "✓ Українська"]
    await harness.press_button(oksana, "Українська")
    await harness.send_text(oksana, "Київ")
    assert harness.texts(oksana)[-2] == f"Ваш часовий пояс: {zone_label('Europe/Kyiv', 'uk', harness.clock.now())}"
    assert (await _user(harness, oksana)).locale == "uk"


async def test_language_code_without_a_catalog_falls_back_to_english(harness: BotHarness) -> None:
    pierre = harness.person("Pierre", "fr")
    await harness.send_text(pierre, "/start")
    assert harness.last_text(pierre).startswith("Hello, Pierre!")
    assert [button["text"] for button in harness.buttons(pierre)] == ["✓ English", "Українська"]


async def test_anything_unexpected_in_the_language_step_repeats_the_question(harness: BotHarness) -> None:
    person = harness.person()
    await harness.send_text(person, "/start")
    for send in (harness.send_text(person, "hello?"), harness.send_sticker(person), harness.send_photo(person)):
        await send
        assert harness.last_text(person) == "Sorry, that's not what I asked.\n\nWhich language should I use?"
        assert [button["text"] for button in harness.buttons(person)] == ["✓ English", "Українська"]
    await harness.send_text(person, "/nonsense")
    assert harness.last_text(person).endswith("Which language should I use?")


async def test_anything_unexpected_in_the_zone_step_repeats_the_question(harness: BotHarness) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    for send in (harness.send_sticker(person), harness.send_photo(person), harness.send_text(person, "/nonsense")):
        await send
        assert harness.last_text(person) == f"Sorry, that's not what I asked.\n\n{ZONE_QUESTION}"
    # A language button from before is stale here; the step stays.
    await harness.press(person, LanguageCb(code="uk"))
    assert harness.popup() == "This button is no longer available."
    # /help answers and keeps the place.
    await harness.send_text(person, "/help")
    assert "/settings — Language and time zone" in harness.last_text(person)
    await harness.send_text(person, "kyiv")
    assert (await _user(harness, person)).timezone == "Europe/Kyiv"


async def test_cancel_leaves_the_flow_and_keeps_what_was_saved(harness: BotHarness) -> None:
    person = harness.person()
    await _to_zone_step(harness, person)
    await harness.send_text(person, "/cancel")
    assert harness.last_text(person) == "Stopped. Everything you saved is kept; /start to begin again."
    assert harness.last_message(person).reply_markup == {"remove_keyboard": True}
    assert (await _user(harness, person)).locale == "en"
    await harness.send_text(person, "kyiv")
    assert harness.last_text(person) == "I'm not sure what you mean. /help lists what I can do."
    await harness.send_text(person, "/cancel")
    assert harness.last_text(person) == "There is nothing to cancel."


async def test_help_and_privacy(harness: BotHarness) -> None:
    person = harness.person()
    await harness.send_text(person, "/help")
    assert harness.last_text(person).splitlines()[2:] == [
        "/start — Start over",
        "/settings — Language and time zone",
        "/help — What I can do",
        "/privacy — What I keep about you",
        "/cancel — Stop what we are doing",
        "/bookings — Your sessions",
        "/credits — Your package credits",
    ]
    await harness.send_text(person, "/privacy")
    assert "never keep the text of your other messages" in harness.last_text(person)


@pytest.mark.postgres
async def test_onboarding_on_postgresql(pg_harness: BotHarness) -> None:
    person = pg_harness.person()
    await _to_zone_step(pg_harness, person)
    await pg_harness.send_text(person, "new york")
    user = await _user(pg_harness, person)
    assert (user.locale, user.timezone, user.country) == ("en", "America/New_York", "US")
