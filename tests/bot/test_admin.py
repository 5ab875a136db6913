"""/admin: verifying professionals and the holds waiting for payment, for configured operators only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.render import format_clock, format_day, zone_suffix
from bot.services.clock import FrozenClock
from handlers.admin import AdminCb, VerifyCb
from models import Professional
from tests.bot.catalog_data import only_stale_help
from tests.bot.harness import BotHarness
from tests.bot.pro_world import add_client, add_professional, book

OPERATOR_ID = 777_001
UNKNOWN = "I don't know the command /admin. /help lists what I can do."
STALE = "This button is no longer available."


@pytest.fixture
async def admin_harness(bot_db_url: str, clock: FrozenClock) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(bot_db_url, clock, admin_ids=[OPERATOR_ID]) as running:
        yield running


async def _verified(harness: BotHarness) -> dict[str, bool]:
    async with harness.db() as session:
        return {p.slug: p.verified for p in await session.scalars(select(Professional))}


async def test_operator_verifies_and_unverifies(admin_harness: BotHarness) -> None:
    harness = admin_harness
    await add_professional(harness)
    await add_professional(harness, "lea-schmidt", "Lea Schmidt", verified=False, headline="Nutrition counselling")
    operator = harness.person("Ivan", id=OPERATOR_ID)

    await harness.send_text(operator, "/admin")
    assert harness.last_text(operator) == "Operator menu"
    assert [b["text"] for b in harness.buttons(operator)] == [
        "Unverified (1)",
        "Verified (1)",
        "Holds awaiting payment (0)",
    ]
    await harness.press_button(operator, "Unverified (1)")
    assert harness.last_text(operator) == (
        "Unverified professionals (not listed to clients)\n\n"
        "• Lea Schmidt (lea-schmidt) — Nutrition counselling; Europe/Kyiv; chat not linked"
    )
    await harness.press_button(operator, "✓ Verify Lea Schmidt")
    assert harness.last_text(operator) == (
        "Lea Schmidt is verified: clients can find them now.\n\n"
        "Unverified professionals (not listed to clients)\n\nNone."
    )
    assert await _verified(harness) == {"anna-koval": True, "lea-schmidt": True}

    await harness.press_button(operator, "◀ Operator menu")
    await harness.press_button(operator, "Verified (2)")
    assert harness.last_text(operator).splitlines()[2:] == [
        "• Anna Koval (anna-koval) — Career coach for people changing fields; Europe/Kyiv; chat not linked",
        "• Lea Schmidt (lea-schmidt) — Nutrition counselling; Europe/Kyiv; chat not linked",
    ]
    await harness.press_button(operator, "Unverify Anna Koval")
    assert harness.last_text(operator).startswith(
        "Anna Koval is no longer verified: clients don't see them; bookings already made stay.\n\n"
        "Verified professionals (listed to clients)\n\n• Lea Schmidt"
    )
    assert await _verified(harness) == {"anna-koval": False, "lea-schmidt": True}
    # A stale button for a professional who is gone.
    await harness.press(operator, VerifyCb(id=999, verified=True))
    assert harness.popup() == STALE


async def test_professionals_are_paged(admin_harness: BotHarness) -> None:
    harness = admin_harness
    for number in range(12):
        await add_professional(harness, f"pro-{number:02d}", f"Pro {number:02d}", verified=False)
    operator = harness.person("Ivan", id=OPERATOR_ID)
    await harness.send_text(operator, "/admin")
    await harness.press_button(operator, "Unverified (12)")
    assert harness.last_text(operator).startswith("Unverified professionals (not listed to clients) — page 1 of 2")
    assert harness.buttons(operator)[-2:] == [
        {"text": "Next ▶", "callback_data": AdminCb(view="unverified", page=1).pack()},
        {"text": "◀ Operator menu", "callback_data": AdminCb(view="menu").pack()},
    ]
    await harness.press_button(operator, "Next ▶")
    assert harness.last_text(operator).splitlines()[2:] == [
        "• Pro 10 (pro-10) — Career coach for people changing fields; Europe/Kyiv; chat not linked",
        "• Pro 11 (pro-11) — Career coach for people changing fields; Europe/Kyiv; chat not linked",
    ]
    await harness.press_button(operator, "✓ Verify Pro 11")
    # Back on the same page, which now holds one professional.
    assert harness.last_text(operator).splitlines()[-1] == (
        "• Pro 10 (pro-10) — Career coach for people changing fields; Europe/Kyiv; chat not linked"
    )


async def test_pending_holds_in_the_operators_zone(admin_harness: BotHarness) -> None:
    harness = admin_harness
    _, service_id = await add_professional(harness)
    olena = harness.person("Olena")
    await add_client(harness, olena)
    held = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    await book(harness, olena, service_id, held, confirm=False)
    await book(harness, olena, service_id, datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # confirmed: not a hold
    operator = harness.person("Ivan", id=OPERATOR_ID)
    await add_client(harness, operator, timezone="Europe/Lisbon")
    # The wording comes from the render helpers (their CLDR output is pinned in tests/bot/test_render.py).
    lisbon = zone_suffix("Europe/Lisbon", "en", held)
    hold_ends = harness.clock.now() + timedelta(minutes=30)

    await harness.send_text(operator, "/admin")
    await harness.press_button(operator, "Holds awaiting payment (1)")
    assert harness.last_text(operator) == (
        f"Holds awaiting payment, times in {lisbon}:\n\n"
        f"• Anna Koval · Coaching session · Olena · {format_day(held, 'Europe/Lisbon', 'en')}, "
        f"{format_clock(held, 'Europe/Lisbon', 'en')}\n"
        f"   held until {format_clock(hold_ends, 'Europe/Lisbon', 'en')}"
    )
    harness.clock.set(datetime(2026, 11, 23, 6, 31, tzinfo=UTC))
    await harness.press_button(operator, "↻ Refresh")
    assert harness.last_text(operator) == f"Holds awaiting payment, times in {lisbon}:\n\nNone."


async def test_everyone_else_gets_the_unknown_command_answer(admin_harness: BotHarness) -> None:
    harness = admin_harness
    await add_professional(harness, "lea-schmidt", "Lea Schmidt", verified=False)
    async with harness.db() as session:
        lea_id = (await session.scalars(select(Professional.id))).one()
    mallory = harness.person("Mallory")
    await harness.send_text(mallory, "/admin")
    assert harness.last_text(mallory) == UNKNOWN
    before = harness.mark()
    for forged in (AdminCb(view="holds"), VerifyCb(id=lea_id, verified=True), AdminCb(view="unverified")):
        await harness.press(mallory, forged)
        assert harness.popup() == STALE
    assert only_stale_help(harness.messages_since(before))
    assert await _verified(harness) == {"lea-schmidt": False}


async def test_no_operators_configured_means_no_admin(harness: BotHarness) -> None:
    person = harness.person("Ivan", id=OPERATOR_ID)
    await harness.send_text(person, "/admin")
    assert harness.last_text(person) == UNKNOWN


async def test_a_forged_view_is_stale_for_an_operator_too(admin_harness: BotHarness) -> None:
    operator = admin_harness.person("Ivan", id=OPERATOR_ID)
    await admin_harness.send_text(operator, "/admin")
    await admin_harness.press(operator, AdminCb(view="everything"))
    assert admin_harness.popup() == STALE
