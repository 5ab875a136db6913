"""Commit, then send: a handler's replies go out after its transaction has committed, so a Telegram that
hangs for one client holds up nobody else, and a reply Telegram refuses never undoes what the client
was told. The professional hears of every change through the outbox either way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import CallbackQuery

from bot.demo.updates import Person
from bot.middlewares import ReplyMiddleware
from bot.middlewares.replies import ATTEMPTS, TelegramCallInTransaction
from bot.services import booking as booking_service
from bot.services.clock import FrozenClock
from handlers import my_bookings
from handlers.client_callbacks import (
    BookingCb,
    CancelCb,
    DayCb,
    MoveCb,
    SkipNotesCb,
    TimeCb,
    WeekCb,
    day_code,
    minute_code,
)
from models import Booking, BookingState
from tests.bot.catalog_data import Catalog, booked, bookings_of, client, kyiv_time, with_catalog
from tests.bot.harness import BotHarness

# A hang detector, not a speed check: on a bot that calls Telegram inside its transaction the second
# client waits for the first one's lock for as long as the first one's Telegram call hangs (forever).
HANG = 60
KYIV = ZoneInfo("Europe/Kyiv")
NOV_24_9 = kyiv_time("2026-11-24 09:00")
NOV_24_10 = kyiv_time("2026-11-24 10:00")
DEC_1_9 = kyiv_time("2026-12-01 09:00")
DEC_2_12 = kyiv_time("2026-12-02 12:00")


class RecordedWaits:
    """Stands in for asyncio.sleep between reply attempts: remembers each wait, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def record_waits(harness: BotHarness) -> RecordedWaits:
    waits = RecordedWaits()
    (replies,) = [m for m in harness.app.dispatcher.update.outer_middleware if isinstance(m, ReplyMiddleware)]
    replies.sleep = waits
    return waits


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness_url(request: pytest.FixtureRequest) -> str:
    # A plain fixture picks the database: an async one cannot ask for another (tests/db/test_slots.py).
    url: str = request.getfixturevalue("bot_db_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def any_harness(harness_url: str, clock: FrozenClock) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(harness_url, clock) as running:
        yield running


@pytest.fixture
async def catalog(any_harness: BotHarness) -> Catalog:
    return await with_catalog(any_harness)


@pytest.fixture
async def anna_chat(any_harness: BotHarness, catalog: Catalog) -> Person:
    anna = any_harness.person("Anna")
    await any_harness.link_professional("anna-koval", anna)
    return anna


async def _to_summary(harness: BotHarness, person: Person, service_id: int, starts: datetime) -> None:
    """`person` at the summary of Anna's free service at `starts` (a Kyiv time), Confirm next."""
    await harness.send_text(person, "/start")
    await harness.press_button(person, "Anna Koval")
    await harness.press(person, WeekCb(svc=service_id))
    await harness.press(person, DayCb(svc=service_id, day=day_code(starts.astimezone(KYIV).date())))
    await harness.press(person, TimeCb(svc=service_id, at=minute_code(starts)))
    await harness.press(person, SkipNotesCb(svc=service_id, at=minute_code(starts)))


async def _to_move(harness: BotHarness, person: Person, booking_id: int, service_id: int, to: datetime) -> None:
    """`person` about to move their session `booking_id` to `to` (in the week after this one)."""
    await harness.send_text(person, "/bookings")
    await harness.press(person, BookingCb(id=booking_id))
    await harness.press(person, MoveCb(id=booking_id))
    await harness.press(person, WeekCb(svc=service_id, week=day_code(to.astimezone(KYIV).date()), rb=booking_id))
    await harness.press(person, DayCb(svc=service_id, day=day_code(to.astimezone(KYIV).date()), rb=booking_id))
    await harness.press(person, TimeCb(svc=service_id, at=minute_code(to), rb=booking_id))


async def _state(harness: BotHarness, booking_id: int) -> Booking:
    async with harness.db() as session:
        return await session.get_one(Booking, booking_id)


async def test_a_telegram_hanging_for_one_client_holds_up_nobody_else(
    any_harness: BotHarness, catalog: Catalog, anna_chat: Person
) -> None:
    harness = any_harness
    olena, taras = await client(harness, "Olena"), await client(harness, "Taras")
    await _to_summary(harness, olena, catalog.intro, NOV_24_9)
    await _to_summary(harness, taras, catalog.intro, NOV_24_10)

    stall = harness.session.stall(olena.id)
    olena_confirms = asyncio.create_task(harness.press_button(olena, "Confirm"))
    await asyncio.wait_for(stall.reached.wait(), HANG)
    # Olena's reply hangs in Telegram; her booking is committed already, her lock long released.
    (hers,) = await bookings_of(harness.app.sessions, olena)
    assert hers.state == BookingState.CONFIRMED

    # Meanwhile Taras books the same professional, start to finish, and is told so.
    before = harness.mark()
    await asyncio.wait_for(harness.press_button(taras, "Confirm"), HANG)
    (his,) = await bookings_of(harness.app.sessions, taras)
    assert his.state == BookingState.CONFIRMED and his.professional_id == hers.professional_id
    told = harness.messages_since(before, taras)
    assert [message.document is not None for message in told] == [False, True]  # confirmation, .ics
    assert not olena_confirms.done()

    stall.release()
    await asyncio.wait_for(olena_confirms, HANG)
    assert harness.last_message(olena).document is not None
    before = harness.mark()
    await harness.run_worker()
    assert len(harness.messages_since(before, anna_chat)) == 2  # a new booking each


async def test_a_429_on_the_calendar_file_is_waited_out_and_the_booking_kept(
    any_harness: BotHarness, catalog: Catalog, anna_chat: Person
) -> None:
    harness = any_harness
    waits = record_waits(harness)
    olena = await client(harness)
    await _to_summary(harness, olena, catalog.intro, NOV_24_9)
    harness.session.fail_next("sendDocument", 429, "Too Many Requests: retry after 5", retry_after=5)
    before = harness.mark()
    await harness.press_button(olena, "Confirm")
    confirmation, calendar = harness.messages_since(before, olena)
    assert confirmation.edited and calendar.document is not None
    assert waits.waits == [5.0]
    (booking,) = await bookings_of(harness.app.sessions, olena)
    assert booking.state == BookingState.CONFIRMED


async def test_a_refused_calendar_file_after_confirm_keeps_the_booking_and_tells_the_professional(
    any_harness: BotHarness, catalog: Catalog, anna_chat: Person
) -> None:
    harness = any_harness
    olena = await client(harness)
    await _to_summary(harness, olena, catalog.intro, NOV_24_9)
    harness.session.fail_next("sendDocument", 403, "Forbidden: bot was blocked by the user")
    before = harness.mark()
    await harness.press_button(olena, "Confirm")
    (confirmation,) = harness.messages_since(before, olena)
    assert confirmation.edited and confirmation.document is None
    (booking,) = await bookings_of(harness.app.sessions, olena)
    assert booking.state == BookingState.CONFIRMED
    before = harness.mark()
    await harness.run_worker()
    assert len(harness.messages_since(before, anna_chat)) == 1


async def test_a_refused_confirmation_after_confirm_keeps_the_booking_and_still_sends_the_file(
    any_harness: BotHarness, catalog: Catalog, anna_chat: Person
) -> None:
    harness = any_harness
    olena = await client(harness)
    await _to_summary(harness, olena, catalog.intro, NOV_24_9)
    harness.session.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    harness.session.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    before = harness.mark()
    await harness.press_button(olena, "Confirm")
    (calendar,) = harness.messages_since(before, olena)
    assert calendar.document is not None
    (booking,) = await bookings_of(harness.app.sessions, olena)
    assert booking.state == BookingState.CONFIRMED
    before = harness.mark()
    await harness.run_worker()
    assert len(harness.messages_since(before, anna_chat)) == 1


async def test_a_telegram_down_for_every_try_after_a_move_keeps_the_move_and_tells_the_professional(
    any_harness: BotHarness, catalog: Catalog, anna_chat: Person
) -> None:
    harness = any_harness
    waits = record_waits(harness)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, DEC_1_9)
    await harness.run_worker()  # Anna hears of the new booking first
    await _to_move(harness, olena, booking_id, catalog.coaching, DEC_2_12)
    for _ in range(ATTEMPTS):
        harness.session.fail_next("sendDocument", 502, "Bad Gateway")
    before = harness.mark()
    # The payment's confirmation already sent the first calendar file (through the outbox).
    files_before = len(harness.calls_to("sendDocument"))
    await harness.press_button(olena, "Move it")
    (moved,) = harness.messages_since(before, olena)
    assert moved.edited and moved.document is None
    assert len(waits.waits) == ATTEMPTS - 1  # tried again after each failure but the last
    assert len(harness.calls_to("sendDocument")) - files_before == ATTEMPTS
    booking = await _state(harness, booking_id)
    assert (booking.starts_at, booking.version) == (DEC_2_12, 3)
    before = harness.mark()
    await harness.run_worker()
    assert len(harness.messages_since(before, anna_chat)) == 1


async def test_a_refused_reply_after_a_cancel_keeps_it_cancelled_and_tells_the_professional(
    any_harness: BotHarness, catalog: Catalog, anna_chat: Person
) -> None:
    harness = any_harness
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, DEC_1_9)
    await harness.run_worker()
    await harness.send_text(olena, "/bookings")
    await harness.press(olena, BookingCb(id=booking_id))
    await harness.press(olena, CancelCb(id=booking_id, v=2))
    harness.session.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    harness.session.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    before = harness.mark()
    await harness.press_button(olena, "Yes, cancel it")
    assert harness.messages_since(before, olena) == []
    booking = await _state(harness, booking_id)
    assert booking.state == BookingState.CANCELLED and booking.refund_minor == booking.price_minor
    before = harness.mark()
    await harness.run_worker()
    assert len(harness.messages_since(before, anna_chat)) == 1


async def test_a_handler_that_fails_sends_nothing_but_the_apology(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = await with_catalog(harness)
    olena = await client(harness)
    await _to_summary(harness, olena, catalog.intro, NOV_24_9)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the booking service fell over")

    monkeypatch.setattr(booking_service, "book", broken)
    harness.raise_errors = False
    before, popups = harness.mark(), len(harness.session.popups)
    await harness.press_button(olena, "Confirm")
    assert harness.messages_since(before, olena) == []  # no half-made confirmation
    (apology,) = harness.session.popups[popups:]  # only the error handler's
    assert apology.show_alert
    assert await bookings_of(harness.app.sessions, olena) == []


async def test_a_telegram_call_inside_the_transaction_is_refused(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The net under the rule: a handler calling Telegram itself fails loudly rather than hold locks.
    catalog = await with_catalog(harness)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, DEC_1_9)

    async def answers_at_once(query: CallbackQuery, text: str | None = None, **_kwargs: object) -> None:
        await query.answer(text)

    monkeypatch.setattr(my_bookings, "answer", answers_at_once)
    await harness.send_text(olena, "/bookings")
    await harness.press(olena, BookingCb(id=booking_id))
    calls = len(harness.calls)
    with pytest.raises(TelegramCallInTransaction):
        await harness.press_button(olena, "Calendar file")
    # Refused before it reached Telegram; only the apology went out.
    assert [call.method for call in harness.calls[calls:]] == ["answerCallbackQuery"]
    assert (await _state(harness, booking_id)).state == BookingState.CONFIRMED
