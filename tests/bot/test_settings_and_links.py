"""/settings changes language and zone later; /start pro_<slug> deep links before and after onboarding."""

from __future__ import annotations

from sqlalchemy import select

from bot.demo.updates import Person
from bot.render import zone_label
from models import Professional, User
from tests.bot.harness import BotHarness


async def _onboard(harness: BotHarness, person: Person, zone: str = "kyiv") -> None:
    await harness.send_text(person, "/start")
    await harness.press_button(person, "English")
    await harness.send_text(person, zone)


async def _add_professional(harness: BotHarness, slug: str, *, verified: bool = True) -> None:
    async with harness.db() as session:
        session.add(
            Professional(
                slug=slug,
                name="Anna Koval",
                headline="Career coach for people changing fields",
                verified=verified,
                timezone="Europe/Kyiv",
            )
        )


async def test_settings_shows_and_changes_language_and_zone(harness: BotHarness) -> None:
    person = harness.person()
    await _onboard(harness, person)
    await harness.send_text(person, "/settings")
    now = harness.clock.now()
    assert (
        harness.last_text(person)
        == f"Your settings\nLanguage: English\nTime zone: {zone_label('Europe/Kyiv', 'en', now)}"
    )

    await harness.press_button(person, "Change language")
    assert harness.last_text(person) == "Which language should I use?"
    await harness.press_button(person, "Українська")
    assert harness.last_text(person) == "Мова: Українська"

    await harness.send_text(person, "/settings")
    await harness.press_button(person, "Змінити часовий пояс")
    await harness.send_text(person, "Нью-Йорк")
    assert harness.texts(person)[-2] == f"Ваш часовий пояс: {zone_label('America/New_York', 'uk', now)}"
    async with harness.db() as session:
        user = (await session.scalars(select(User).where(User.telegram_id == person.id))).one()
    assert (user.locale, user.timezone, user.country) == ("uk", "America/New_York", "US")
    # The settings flow is over: text is no longer read as a zone, and the conversation is back where
    # it was (the list /start showed), with a button to see it again.
    assert harness.last_text(person) == "Збережено."
    assert [button["text"] for button in harness.buttons(person)] == ["◀ Назад, де ви були"]
    await harness.send_text(person, "Madrid")
    assert harness.last_text(person).startswith("Вибачте, я не зрозумів. Будь ласка, оберіть одну з кнопок нижче.\n\n")
    await harness.press_button(person, "Назад")
    assert harness.last_text(person).startswith("Поки що в списку немає жодного фахівця")


async def test_deep_link_waits_for_onboarding(harness: BotHarness) -> None:
    await _add_professional(harness, "anna-koval")
    person = harness.person()
    await harness.send_text(person, "/start pro_anna-koval")
    assert harness.last_text(person).endswith("Which language should I use?")
    await harness.press_button(person, "English")
    await harness.send_text(person, "kyiv")
    assert harness.texts(person)[-2:] == [
        f"Your time zone: {zone_label('Europe/Kyiv', 'en', harness.clock.now())}",
        "Anna Koval\nCareer coach for people changing fields\n✓ Verified professional\n\nLanguages: —\n"
        f"Based in: {zone_label('Europe/Kyiv', 'en', harness.clock.now())}\n"
        "Rating: No reviews yet\n\nAnna Koval has no services to book right now.",
    ]


async def test_deep_link_opens_at_once_when_onboarded(harness: BotHarness) -> None:
    await _add_professional(harness, "anna-koval")
    await _add_professional(harness, "hidden", verified=False)
    person = harness.person()
    await _onboard(harness, person)
    await harness.send_text(person, "/start pro_anna-koval")
    assert harness.last_text(person).startswith("Anna Koval\n")
    unknown = "I couldn't find that professional. The link may be old: ask them for a new one."
    for payload in ("pro_nobody", "pro_hidden", "pro_NOT%20a%20slug"):
        await harness.send_text(person, f"/start {payload}")
        assert harness.last_text(person) == unknown
    # A payload no feature knows is an ordinary /start.
    await harness.send_text(person, "/start something-else")
    assert harness.last_text(person).startswith("Hello again")
