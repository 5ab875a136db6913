"""Stale and forged buttons, errors in handlers, repeated updates; and how a feature router plugs in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy import select

import handlers
from bot.render import Rendered, zone_label
from bot.services.clock import FrozenClock
from bot.services.errors import NotAllowed
from handlers.common import Callback, Flow, inline_keyboard, replace, send
from handlers.registry import Registry
from handlers.start import LanguageCb, ZoneCb
from models import User
from tests.bot.catalog_data import only_stale_help
from tests.bot.harness import BotHarness

STALE = "This button is no longer available."


async def test_stale_and_forged_buttons_get_a_polite_answer(harness: BotHarness) -> None:
    person = harness.person()
    await harness.send_text(person, "/start")
    await harness.press_button(person, "English")
    await harness.send_text(person, "kyiv")
    before = harness.mark()
    # The language button of onboarding, pressed again after it; data no router knows; a forged zone.
    for data in (LanguageCb(code="en").pack(), "zz:1:2", "", ZoneCb(zone="Mars/Olympus").pack()):
        await harness.press(person, data)
        assert harness.popup() == STALE
    # Besides the note, the chat says what to do instead.
    assert only_stale_help(harness.messages_since(before))


async def test_forged_data_inside_the_right_step(harness: BotHarness) -> None:
    person = harness.person()
    await harness.send_text(person, "/start")
    await harness.press(person, LanguageCb(code="xx"))
    assert harness.popup() == STALE
    await harness.press_button(person, "English")
    await harness.press(person, ZoneCb(zone="Mars/Olympus"))
    assert harness.popup() == STALE
    await harness.press(person, ZoneCb(zone="Europe/Kiev"))
    assert harness.texts(person)[-2] == f"Your time zone: {zone_label('Europe/Kyiv', 'en', harness.clock.now())}"


async def test_the_same_update_twice_is_answered_once(harness: BotHarness) -> None:
    person = harness.person()
    update = harness.updates.text(person, "/help")
    await harness.feed(update)
    await harness.feed(update)
    assert len(harness.calls_to("sendMessage")) == 1


# A feature module as others will write one: its own callback factory, a state prompt-free screen,
# a handler that trusts nothing in the callback data.


class ThingCb(Callback, prefix="tt"):
    id: int


async def show_thing(message: Message, ctx: Flow) -> None:
    await send(ctx, Rendered("Thing 1", inline_keyboard([("Open", ThingCb(id=1))])))


async def open_thing(query: CallbackQuery, callback_data: ThingCb, ctx: Flow) -> None:
    if callback_data.id != 1:
        raise NotAllowed(f"thing {callback_data.id}")
    await replace(query, ctx, Rendered("Thing 1, opened"))


async def crash(message: Message, ctx: Flow) -> None:
    ctx.user.first_name = "changed by a handler that then fails"
    raise RuntimeError("boom")


def make_feature(registry: Registry) -> Router:
    feature = Router(name="test-feature")
    feature.message.register(show_thing, Command("thing"))
    feature.callback_query.register(open_thing, ThingCb.filter())
    feature.message.register(crash, Command("crash"))
    return feature


@pytest.fixture
async def with_feature(
    monkeypatch: pytest.MonkeyPatch, bot_db_url: str, clock: FrozenClock
) -> AsyncIterator[BotHarness]:
    monkeypatch.setattr(handlers, "FEATURES", [*handlers.FEATURES, make_feature])
    async with BotHarness.running(bot_db_url, clock) as harness:
        yield harness


async def test_a_feature_router_plugs_in(with_feature: BotHarness) -> None:
    harness = with_feature
    person = harness.person()
    await harness.send_text(person, "/thing")
    await harness.press_button(person, "Open")
    assert harness.last_text(person) == "Thing 1, opened"
    assert harness.last_message(person).edited
    # Someone else's id: the service says NotAllowed, the person hears "no longer available".
    await harness.press(person, ThingCb(id=2))
    assert harness.popup() == STALE


async def test_an_error_is_logged_rolled_back_and_answered_politely(
    with_feature: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = with_feature
    person = harness.person(first_name="Olena")
    await harness.send_text(person, "/help")
    with pytest.raises(RuntimeError, match="boom"):
        await harness.send_text(person, "/crash")
    assert harness.last_text(person) == "Something went wrong on our side; your progress is kept. Try again or /start."
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)
    assert "/crash" not in caplog.text  # no message text in the logs
    async with harness.db() as session:
        user = (await session.scalars(select(User).where(User.telegram_id == person.id))).one()
    assert user.first_name == "Olena"
    # The same update again (a redelivery after the failure) is tried again, not dropped as a duplicate.
    harness.raise_errors = False
    update = harness.updates.text(person, "/crash")
    await harness.feed(update)
    await harness.feed(update)
    assert len([m for m in harness.texts(person) if m.startswith("Something went wrong")]) == 3
