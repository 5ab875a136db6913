"""Browsing: the list of verified professionals (the home screen), filters, pages, profiles, the deep link."""

from __future__ import annotations

import pytest

from bot.render import format_money, zone_label
from handlers.client_callbacks import BrowseCb, FilterCb, ProfileCb, WeekCb, category_code
from handlers.client_wording import language_label
from handlers.start import language_name
from tests.bot.catalog_data import (
    SORRY,
    STALE,
    Catalog,
    add_coaches,
    add_reviews,
    client,
    labels,
    last,
    with_catalog,
)
from tests.bot.harness import BotHarness

# Language names as the render helpers write them (their CLDR wording is pinned in tests/bot/test_render.py).
ENGLISH, RUSSIAN, SPANISH, UKRAINIAN = (language_label(code, "en") for code in ("en", "ru", "es", "uk"))
ANNAS_LANGUAGES, DAVIDS_LANGUAGES = f"{UKRAINIAN}, {ENGLISH}, {RUSSIAN}", f"{ENGLISH}, {SPANISH}"

LIST = f"""Find a professional (2 listed)
Category: all · Language: any

1. Anna Koval
   Career coach for people changing fields
   {ANNAS_LANGUAGES} · No reviews yet
2. David Moreno
   Licensed therapist (CBT), anxiety and burnout
   {DAVIDS_LANGUAGES} · No reviews yet"""

# Money as the render helpers write it (their exact CLDR output is pinned in tests/bot/test_render.py).
EUR_60, EUR_70 = format_money(6000, "EUR", "en"), format_money(7000, "EUR", "en")

LIST_BUTTONS = ["1. Anna Koval", "2. David Moreno", "🗂 Category", "🌐 Language", "⚡ Available now", "My sessions"]

ANNA = f"""Anna Koval
Career coach for people changing fields
✓ Verified professional

Ten years of coaching engineers, designers and teachers through career changes.

Fields: Career coaching
Languages: {ANNAS_LANGUAGES}
Rating: No reviews yet

Services:
• Free intro call: 20 minutes, Free, video call
• Coaching session: 50 minutes, {EUR_60}, video call
• Coaching session at the office: 50 minutes, {EUR_70}, in person
Pick a service to see its free times."""

ANNA_BUTTONS = [
    "Free intro call · Free",
    f"Coaching session · {EUR_60}",
    f"Coaching session at the office · {EUR_70}",
    "◀ All professionals",
]


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


async def test_start_shows_the_verified_professionals(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    assert last(harness, olena) == "Hello again, Olena!\n\n" + LIST
    assert labels(harness, olena) == LIST_BUTTONS
    assert "Lea Schmidt" not in last(harness, olena)


async def test_a_profile_and_back(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    await harness.press_button(olena, "Anna Koval")
    assert last(harness, olena) == ANNA
    assert labels(harness, olena) == ANNA_BUTTONS
    assert harness.last_message(olena).edited
    await harness.press_button(olena, "All professionals")
    assert last(harness, olena) == LIST


async def test_ratings_in_the_list_and_the_profile(harness: BotHarness, catalog: Catalog) -> None:
    await add_reviews(harness.app.sessions, catalog.anna, [5, 4, 4], harness.clock.now())
    await add_reviews(harness.app.sessions, catalog.david, [5], harness.clock.now())
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    assert f"{ANNAS_LANGUAGES} · ★ 4.3 (3 reviews)" in last(harness, olena)
    assert f"{DAVIDS_LANGUAGES} · ★ 5.0 (1 review)" in last(harness, olena)
    await harness.press_button(olena, "Anna Koval")
    assert "Rating: ★ 4.3 (3 reviews)" in last(harness, olena)


async def test_pages_of_five(harness: BotHarness, catalog: Catalog) -> None:
    await add_coaches(harness.app.sessions, 9)
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    text = last(harness, olena)
    assert text.startswith("Hello again, Olena!\n\nFind a professional (11 listed)\n")
    assert text.endswith("Page 1 of 3")
    assert labels(harness, olena) == [
        "1. Anna Koval",
        "2. Coach 01",
        "3. Coach 02",
        "4. Coach 03",
        "5. Coach 04",
        "🗂 Category",
        "🌐 Language",
        "⚡ Available now",
        "Next ▶",
        "My sessions",
    ]
    await harness.press_button(olena, "Next")
    assert labels(harness, olena)[:5] == ["6. Coach 05", "7. Coach 06", "8. Coach 07", "9. Coach 08", "10. Coach 09"]
    assert labels(harness, olena)[-3:] == ["◀ Previous", "Next ▶", "My sessions"]
    assert last(harness, olena).endswith("Page 2 of 3")
    await harness.press_button(olena, "Next")
    assert labels(harness, olena)[0] == "11. David Moreno"
    assert last(harness, olena).endswith("Page 3 of 3")
    # A profile opened from page 3 goes back to page 3.
    await harness.press_button(olena, "David Moreno")
    await harness.press_button(olena, "All professionals")
    assert last(harness, olena).endswith("Page 3 of 3")
    await harness.press_button(olena, "Previous")
    assert last(harness, olena).endswith("Page 2 of 3")


async def test_filters_by_category_and_language(harness: BotHarness, catalog: Catalog) -> None:
    await add_coaches(harness.app.sessions, 2, language="es")
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    await harness.press_button(olena, "Category")
    assert last(harness, olena) == "Which kind of professional are you looking for?"
    assert labels(harness, olena) == ["✓ All categories", "Career coaching", "Therapy"]
    await harness.press_button(olena, "Career coaching")
    assert last(harness, olena).splitlines()[:2] == [
        "Find a professional (3 listed)",
        "Category: Career coaching · Language: any",
    ]
    await harness.press_button(olena, "Language")
    assert last(harness, olena) == "Which language should they speak?"
    assert labels(harness, olena) == ["✓ Any language", ENGLISH, RUSSIAN, SPANISH, UKRAINIAN]
    await harness.press_button(olena, SPANISH)
    assert last(harness, olena).splitlines()[:2] == [
        "Find a professional (2 listed)",
        f"Category: Career coaching · Language: {SPANISH}",
    ]
    assert labels(harness, olena)[:2] == ["1. Coach 01", "2. Coach 02"]
    # Both filters are kept while one changes.
    await harness.press_button(olena, "Category")
    assert labels(harness, olena) == ["All categories", "✓ Career coaching", "Therapy"]
    await harness.press_button(olena, "Therapy")
    assert last(harness, olena).splitlines()[:2] == [
        "Find a professional (1 listed)",
        f"Category: Therapy · Language: {SPANISH}",
    ]
    await harness.press_button(olena, "Language")
    await harness.press_button(olena, UKRAINIAN)
    assert last(harness, olena) == f"Nobody matches these filters.\nCategory: Therapy\nLanguage: {UKRAINIAN}"
    assert labels(harness, olena) == ["🗂 Category", "🌐 Language", "⚡ Available now", "Clear filters"]
    await harness.press_button(olena, "Clear filters")
    assert last(harness, olena).startswith("Find a professional (4 listed)")


async def test_an_empty_directory(harness: BotHarness) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    assert last(harness, olena) == (
        "Hello again, Olena!\n\nNo professionals are listed yet; please come back soon. /help lists what I can do."
    )
    assert labels(harness, olena) == ["My sessions"]


async def test_the_deep_link_opens_the_profile(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start pro_anna-koval")
    assert last(harness, olena) == ANNA
    assert labels(harness, olena) == ANNA_BUTTONS
    await harness.press_button(olena, "Coaching session ·")
    assert last(harness, olena).startswith("Coaching session with Anna Koval\n")
    for unknown in ("pro_lea-schmidt", "pro_nobody"):
        await harness.send_text(olena, f"/start {unknown}")
        assert last(harness, olena) == (
            "I couldn't find that professional. The link may be old: ask them for a new one."
        )
        assert labels(harness, olena) == ["Find a professional"]


async def test_the_deep_link_waits_for_onboarding(harness: BotHarness, catalog: Catalog) -> None:
    newcomer = harness.person("Mia")
    await harness.send_text(newcomer, "/start pro_david-moreno")
    await harness.press_button(newcomer, language_name("en"))
    await harness.send_text(newcomer, "Madrid")
    assert harness.texts(newcomer)[-2] == f"Your time zone: {zone_label('Europe/Madrid', 'en', harness.clock.now())}"
    assert last(harness, newcomer).startswith("David Moreno\nLicensed therapist (CBT), anxiety and burnout\n")
    assert labels(harness, newcomer) == [f"Therapy session · {format_money(9500, 'USD', 'en')}", "◀ All professionals"]


async def test_stale_and_forged_browse_buttons(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    before = harness.mark()
    for forged in (
        ProfileCb(id=catalog.lea),  # not verified
        ProfileCb(id=987_654),
        BrowseCb(cat="deadbeef"),
        BrowseCb(cat=category_code("nutrition")),  # only Lea's, so not offered
        BrowseCb(lang="de"),
        FilterCb(kind="x"),
        WeekCb(svc=catalog.nutrition),
        WeekCb(svc=987_654),
        "cp:abc:::0",
        "cl:::-5:extra",
    ):
        await harness.press(olena, forged)
        assert harness.popup() == STALE, forged
    assert harness.messages_since(before) == []
    # A page number from a list that has since shrunk shows the last page there is.
    await harness.press(olena, BrowseCb(page=40))
    assert last(harness, olena) == LIST


async def test_anything_typed_while_browsing_keeps_the_place(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    await harness.press_button(olena, "Category")
    await harness.press_button(olena, "Therapy")
    for send in (harness.send_text(olena, "therapist please"), harness.send_sticker(olena)):
        await send
        assert last(harness, olena).startswith(f"{SORRY}\n\nFind a professional (1 listed)\nCategory: Therapy")
        assert labels(harness, olena)[0] == "1. David Moreno"
    await harness.press_button(olena, "David Moreno")
    await harness.send_text(olena, "/nonsense")
    assert last(harness, olena).startswith(f"{SORRY}\n\nDavid Moreno\n")
    await harness.send_text(olena, "/help")
    assert "/bookings — Your sessions" in last(harness, olena)
    await harness.send_photo(olena)
    assert last(harness, olena).startswith(f"{SORRY}\n\nDavid Moreno\n")
    # The way back still knows the filter the profile was opened from.
    await harness.press_button(olena, "All professionals")
    assert last(harness, olena).startswith("Find a professional (1 listed)\nCategory: Therapy")
