"""/bookings: upcoming and past sessions, cancelling with the refund shown first, rescheduling, stale and
forged buttons, and the messages the client gets when the professional (or the clock) changes a booking."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from bot.demo.updates import Person
from bot.services import booking as booking_service
from handlers.client_callbacks import (
    AgainCb,
    BookingCb,
    CancelCb,
    CancelYesCb,
    DayCb,
    IcsCb,
    MoveCb,
    MoveYesCb,
    TimeCb,
    WeekCb,
    minute_code,
)
from models import Booking, BookingState
from tests.bot.catalog_data import (
    SORRY,
    STALE,
    Catalog,
    booked,
    client,
    kyiv_time,
    labels,
    last,
    only_stale_help,
    press_label,
    unknown_command,
    with_catalog,
)
from tests.bot.harness import BotHarness
from tests.bot.words import NEW_YORK, clock, deadline, long, money, short, week, when, zone_of

DEC_1 = when("2026-12-01 09:00")
NOV_24 = when("2026-11-24 09:00")
EUR_60, EUR_30 = money(6000), money(3000)


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


async def _booking(harness: BotHarness, booking_id: int) -> Booking:
    async with harness.db() as session:
        return await session.get_one(Booking, booking_id)


async def _open_first(harness: BotHarness, person: Person) -> None:
    await harness.send_text(person, "/bookings")
    await harness.press(person, harness.buttons(person)[0]["callback_data"])


async def test_upcoming_and_past_sessions(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/bookings")
    assert last(harness, olena) == "You have no upcoming sessions."
    assert labels(harness, olena) == ["Past sessions", "Find a professional"]

    await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    await booked(harness, olena, catalog.intro, kyiv_time("2026-11-24 09:00"))
    cancelled = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-25 12:00"))
    async with harness.db() as session:
        await booking_service.cancel(session, cancelled, by="client", now=harness.clock.now())
    await harness.send_text(olena, "/bookings")
    assert last(harness, olena) == (
        "Your upcoming sessions:\n"
        "\n"
        f"• {NOV_24}\n"
        "  Free intro call with Anna Koval (confirmed)\n"
        f"• {DEC_1}\n"
        "  Coaching session with Anna Koval (confirmed)\n"
        # What cancelling means now, for each (the free intro call costs nothing to cancel).
        f"  Free cancellation until {deadline('2026-12-01 09:00', 72)} (your time)."
    )
    assert labels(harness, olena) == [
        f"{short(date(2026, 11, 24))}, {clock('2026-11-24 09:00')} · Anna Koval",
        f"{short(date(2026, 12, 1))}, {clock('2026-12-01 09:00')} · Anna Koval",
        "Past sessions",
        "Find a professional",
    ]
    await harness.press_button(olena, "Past sessions")
    assert last(harness, olena) == (
        # Cancelled sessions stand under their own heading, never as "past" while their date is ahead.
        f"Cancelled:\n\n• {when('2026-11-25 12:00')}\n  Coaching session with Anna Koval (cancelled by you)"
    )
    await harness.press_button(olena, "· Anna Koval")
    assert last(harness, olena).startswith("Coaching session with Anna Koval\nStatus: cancelled by you\n")
    assert f"Refund: {EUR_30}" in last(harness, olena)  # late: 50% of €60.00
    assert labels(harness, olena) == ["🔁 Book this again", "◀ My sessions"]
    await harness.press_button(olena, "Book this again")
    assert last(harness, olena).startswith(f"Coaching session with Anna Koval\n50 minutes, {EUR_60}, video call\n")


async def test_one_session_in_detail(harness: BotHarness, catalog: Catalog) -> None:
    nick = await client(harness, "Nick", "America/New_York")
    await booked(harness, nick, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    await _open_first(harness, nick)
    assert last(harness, nick) == (
        "Coaching session with Anna Koval\n"
        "Status: confirmed\n"
        f"When: {when('2026-12-01 09:00', NEW_YORK)}\n"
        f"Anna Koval's time: {clock('2026-12-01 09:00')} ({zone_of()})\n"
        "Duration: 50 minutes\n"
        f"Price: {EUR_60}\n"
        "Video call: https://meet.example.org/anna-koval\n"
        "\n"
        f"Free cancellation until {deadline('2026-12-01 09:00', 72, NEW_YORK)} (your time).\n"
        "After that, cancelling refunds 50%.\n"
        "You can move it up to 2 times until then.\n"
        "Missed session: charged in full, no refund."
    )
    assert labels(harness, nick) == ["🗓 Reschedule", "✖ Cancel", "📅 Calendar file", "◀ My sessions"]
    before = harness.mark()
    await harness.press_button(nick, "Calendar file")
    (calendar,) = harness.messages_since(before)
    assert calendar.document is not None
    assert "\r\nDTSTART:20261201T070000Z\r\n" in calendar.document[1].decode()


async def test_cancelling_early_is_free(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    await _open_first(harness, olena)
    await harness.press_button(olena, "Cancel")
    assert last(harness, olena) == (
        f"Cancel this session?\nCoaching session with Anna Koval\n{DEC_1}\n\n"
        f"This is free: you'll get {EUR_60} back in full."
    )
    assert labels(harness, olena) == ["Yes, cancel it", "No, keep it"]
    await harness.press_button(olena, "Yes, cancel it")
    assert last(harness, olena) == (
        f"✖ Cancelled.\nCoaching session with Anna Koval\n{DEC_1}\n\nThis is free: you'll get {EUR_60} back in full."
    )
    assert labels(harness, olena) == ["🗓 Pick another time", "My sessions"]
    booking = await _booking(harness, booking_id)
    assert (booking.state, booking.refund_minor, booking.cancelled_by) == (BookingState.CANCELLED, 6000, "client")
    # The time is free again.
    await harness.press_button(olena, "Pick another time")
    await harness.press_button(olena, "Next week")
    await harness.press_button(olena, short(date(2026, 12, 1)))
    assert clock("2026-12-01 09:00") in labels(harness, olena)


async def test_cancelling_late_refunds_the_policys_share(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    anna_id = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-24 09:00"))
    await _open_first(harness, olena)
    await harness.press_button(olena, "Cancel")
    assert last(harness, olena).endswith(f"It's less than 72 hours before the start. You'll get {EUR_30} back (50%).")
    await harness.press_button(olena, "Yes, cancel it")
    assert last(harness, olena).startswith("✖ Cancelled.\n")
    assert (await _booking(harness, anna_id)).refund_minor == 3000

    # David refunds nothing inside his 48 hours.
    await booked(harness, olena, catalog.therapy, kyiv_time("2026-11-24 15:00"))
    await _open_first(harness, olena)
    await harness.press_button(olena, "Cancel")
    assert last(harness, olena).endswith("It's less than 48 hours before the start, so there is no refund.")


async def test_releasing_a_hold_and_the_terms_changing_meanwhile(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    held = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-30 09:00"), paid_with=None)
    await _open_first(harness, olena)
    assert labels(harness, olena) == ["💳 Pay €60.00", "✖ Release this time", "◀ My sessions"]
    await harness.press_button(olena, "Release this time")
    assert last(harness, olena).endswith("Nothing has been paid yet, so this is free.")
    await harness.press_button(olena, "Yes, release it")
    assert last(harness, olena).startswith("✖ Released.\n")
    assert (await _booking(harness, held)).state == BookingState.CANCELLED

    paid = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    await _open_first(harness, olena)
    await harness.press_button(olena, "Cancel")
    assert last(harness, olena).endswith(f"you'll get {EUR_60} back in full.")
    # She thinks it over until the free window has closed.
    harness.clock.set(kyiv_time("2026-11-28 10:00"))
    await harness.press_button(olena, "Yes, cancel it")
    assert last(harness, olena) == (
        "Something changed since; please check again.\n\n"
        f"Cancel this session?\nCoaching session with Anna Koval\n{DEC_1}\n\n"
        f"It's less than 72 hours before the start. You'll get {EUR_30} back (50%)."
    )
    assert (await _booking(harness, paid)).state == BookingState.CONFIRMED
    await harness.press_button(olena, "Yes, cancel it")
    assert (await _booking(harness, paid)).refund_minor == 3000


async def test_rescheduling_moves_the_session_and_frees_the_old_time(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    await _open_first(harness, olena)
    await harness.press_button(olena, "Reschedule")
    assert last(harness, olena) == (
        "Moving your session: Coaching session with Anna Koval\n"
        f"Now: {DEC_1}\n"
        "\n"
        f"Pick a day in the week of {week(date(2026, 11, 23))} (your time zone: {zone_of()}):"
    )
    assert labels(harness, olena)[-1] == "◀ Back to the session"
    await harness.press_button(olena, "Next week")
    await harness.press_button(olena, short(date(2026, 12, 2)))
    await press_label(harness, olena, clock("2026-12-02 12:00"))
    assert last(harness, olena) == (
        "Move this session?\n"
        "Coaching session with Anna Koval\n"
        f"From: {DEC_1}\n"
        f"To: {when('2026-12-02 12:00')}\n"
        "After this you can move it once more."
    )
    assert labels(harness, olena) == ["✅ Move it", "◀ Other times"]
    before = harness.mark()
    await harness.press_button(olena, "Move it")
    moved, calendar = harness.messages_since(before)
    assert moved.text.replace("\u00a0", " ").startswith(
        f"✅ Moved!\n\nCoaching session with Anna Koval\nWhen: {when('2026-12-02 12:00')}\n"
    )
    assert calendar.document is not None
    ics = calendar.document[1].decode()
    assert f"\r\nUID:booking-{booking_id}@bookbot\r\n" in ics
    assert "\r\nDTSTART:20261202T100000Z\r\n" in ics
    assert "\r\nSEQUENCE:3\r\n" in ics  # held, confirmed, moved: calendars replace the old event
    booking = await _booking(harness, booking_id)
    assert (booking.starts_at, booking.reschedule_count) == (kyiv_time("2026-12-02 12:00"), 1)

    # Dec 1, 9:00 is free for anyone again.
    taras = await client(harness, "Taras")
    await harness.send_text(taras, "/start")
    await harness.press_button(taras, "Anna Koval")
    await harness.press_button(taras, "Coaching session ·")
    await harness.press_button(taras, "Next week")
    await harness.press_button(taras, short(date(2026, 12, 1)))
    assert labels(harness, taras)[0] == clock("2026-12-01 09:00")


async def test_a_move_to_a_time_taken_meanwhile(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    await _open_first(harness, olena)
    await harness.press_button(olena, "Reschedule")
    await harness.press_button(olena, "Next week")
    await harness.press_button(olena, short(date(2026, 12, 2)))
    await press_label(harness, olena, clock("2026-12-02 12:00"))
    taras = await client(harness, "Taras")
    await booked(harness, taras, catalog.coaching, kyiv_time("2026-12-02 12:00"))
    await harness.press_button(olena, "Move it")
    assert last(harness, olena) == (
        f"Sorry, {when('2026-12-02 12:00')} was just taken by someone else.\nThe nearest free times ({zone_of()}):"
    )
    assert labels(harness, olena) == [
        f"{short(date(2026, 12, 2))}, {clock('2026-12-02 13:00')}",
        f"{short(date(2026, 12, 2))}, {clock('2026-12-02 14:00')}",
        f"{short(date(2026, 12, 2))}, {clock('2026-12-02 15:00')}",
        "◀ Other days",
    ]
    await harness.press_button(olena, "1:00")
    assert last(harness, olena).startswith("Move this session?\n")
    await harness.press_button(olena, "Move it")
    assert harness.texts(olena)[-2].startswith("✅ Moved!")


async def test_rescheduling_refusals_in_plain_words(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    soon = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-24 09:00"))
    await _open_first(harness, olena)
    # No Reschedule button that could only say no: the terms say why.
    assert "and it cannot be moved" in last(harness, olena)
    assert not any("Reschedule" in label for label in labels(harness, olena))
    # A Reschedule button from before (a reminder's) answers with the reason.
    await harness.press(olena, MoveCb(id=soon))
    assert last(harness, olena) == "It's less than 72 hours before the start, so it can't be moved any more."
    assert labels(harness, olena) == ["Cancel it instead", "◀ Back to the session"]

    later = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    async with harness.db() as session:
        await session.execute(update(Booking).where(Booking.id == later).values(reschedule_count=2))
    await harness.press(olena, MoveCb(id=later))
    assert last(harness, olena) == "This session has been moved 2 times already, the most Anna Koval allows."

    held = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-03 09:00"), paid_with=None)
    await harness.press(olena, MoveCb(id=held))
    assert last(harness, olena) == "A time that is only held can't be moved: release it and pick another time."
    assert soon != later


async def test_a_session_the_professional_cancelled_meanwhile(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    await _open_first(harness, olena)
    detail = harness.last_message(olena)
    pressable = {button["text"]: button["callback_data"] for button in detail.inline_buttons()}
    async with harness.db() as session:
        await booking_service.cancel(
            session, booking_id, by="professional", now=harness.clock.now(), reason="I'm ill, sorry."
        )
    # The buttons of the detail she still sees are stale now: each says what happened instead.
    for label in ("✖ Cancel", "🗓 Reschedule"):
        await harness.press(olena, pressable[label], detail)
        if label == "✖ Cancel":
            assert last(harness, olena).startswith(
                "This session is cancelled by Anna Koval.\n\nCoaching session with Anna Koval\n"
            )
        else:
            assert last(harness, olena) == "Only an upcoming confirmed session can be moved."
    await harness.press(olena, CancelYesCb(id=booking_id, v=2, p=100))
    assert last(harness, olena).startswith("This session is cancelled by Anna Koval.")
    assert (await _booking(harness, booking_id)).cancelled_by == "professional"

    before = harness.mark()
    await harness.run_worker()
    (notice,) = harness.messages_since(before, olena)
    assert notice.text.replace("\u00a0", " ") == (
        "Anna Koval had to cancel your session.\n"
        "Coaching session with Anna Koval\n"
        f"{DEC_1}\n"
        "Reason: I'm ill, sorry.\n"
        "\n"
        f"You'll get {EUR_60} back in full.\n"
        "Would you like another time?"
    )
    assert [button["text"] for button in notice.inline_buttons()] == ["🗓 New times with Anna Koval"]
    await harness.press_button(olena, "New times with Anna Koval")
    assert last(harness, olena).startswith(
        f"Coaching session with Anna Koval\n50 minutes, {EUR_60}, video call\n\nPick a day in the week of"
    )


async def test_the_professional_moved_it(harness: BotHarness, catalog: Catalog) -> None:
    nick = await client(harness, "Nick", "America/New_York")
    booking_id = await booked(harness, nick, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    async with harness.db() as session:
        await booking_service.reschedule(
            session, booking_id, kyiv_time("2026-12-01 10:00"), by="professional", now=harness.clock.now()
        )
    before = harness.mark()
    await harness.run_worker()
    (notice,) = harness.messages_since(before, nick)
    assert notice.text.replace("\u00a0", " ") == (
        "Anna Koval moved your session.\n"
        "Coaching session with Anna Koval\n"
        f"Was: {when('2026-12-01 09:00', NEW_YORK)}\n"
        f"Now: {when('2026-12-01 10:00', NEW_YORK)}\n"
        f"Anna Koval's time: {clock('2026-12-01 10:00')} ({zone_of()})\n"
        "\n"
        "If the new time doesn't suit you, open the booking to change it."
    )
    await harness.press_button(nick, "Open the booking")
    assert f"When: {when('2026-12-01 10:00', NEW_YORK)}" in last(harness, nick)


async def test_a_hold_that_ran_out(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"), paid_with=None)
    await _open_first(harness, olena)
    await harness.press(olena, IcsCb(id=booking_id))
    assert harness.popup() == "Only a confirmed session has a calendar file."
    harness.clock.advance(timedelta(minutes=31))
    before = harness.mark()
    await harness.run_worker()
    (notice,) = harness.messages_since(before, olena)
    assert notice.text.replace("\u00a0", " ") == (
        f"The time held for you has run out, so it is free for others again.\nCoaching session with Anna Koval\n{DEC_1}"
    )
    assert (await _booking(harness, booking_id)).state == BookingState.EXPIRED
    await harness.press_button(olena, "Pick a time again")
    assert last(harness, olena).startswith("Coaching session with Anna Koval\n50 minutes")
    # Its old detail is stale: the hold is gone.
    await harness.send_text(olena, "/bookings")
    assert last(harness, olena) == "You have no upcoming sessions."
    await harness.press_button(olena, "Past sessions")
    assert "(not paid in time; released)" in last(harness, olena)


async def test_forged_buttons_never_reach_another_clients_booking(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness, "Olena")
    taras = await client(harness, "Taras")
    theirs = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    before_state = await _booking(harness, theirs)
    await harness.send_text(taras, "/bookings")
    mark = harness.mark()
    at = minute_code(kyiv_time("2026-12-02 12:00"))
    for forged in (
        BookingCb(id=theirs),
        CancelCb(id=theirs, v=2),
        CancelYesCb(id=theirs, v=2, p=100),
        MoveCb(id=theirs),
        MoveYesCb(id=theirs, at=at, v=2),
        IcsCb(id=theirs),
        AgainCb(id=theirs),
        WeekCb(svc=catalog.coaching, rb=theirs),
        DayCb(svc=catalog.coaching, day=20261202, rb=theirs),
        TimeCb(svc=catalog.coaching, at=at, rb=theirs),
        BookingCb(id=theirs + 1000),
        "cxy:1:2",
    ):
        await harness.press(taras, forged)
        assert harness.popup() == STALE, forged
    assert only_stale_help(harness.messages_since(mark))
    after = await _booking(harness, theirs)
    assert (after.state, after.version, after.starts_at) == (
        before_state.state,
        before_state.version,
        before_state.starts_at,
    )


async def test_anything_typed_in_my_sessions_keeps_the_place(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))

    async def unexpected_everything(screen: str) -> None:
        keyboard = labels(harness, olena)
        for send, hint in (
            (harness.send_text(olena, "cancel my session"), SORRY),
            (harness.send_sticker(olena), SORRY),
            (harness.send_text(olena, "/nonsense"), unknown_command("/nonsense")),
        ):
            await send
            assert last(harness, olena).startswith(f"{hint}\n\n{screen}")
            assert labels(harness, olena) == keyboard

    await harness.send_text(olena, "/bookings")
    await unexpected_everything("Your upcoming sessions:")
    await harness.press_button(olena, "· Anna Koval")
    await unexpected_everything("Coaching session with Anna Koval\nStatus: confirmed")
    await harness.press_button(olena, "Cancel")
    await unexpected_everything("Cancel this session?")
    await harness.press_button(olena, "No, keep it")
    await harness.press_button(olena, "Reschedule")
    await unexpected_everything("Moving your session: Coaching session with Anna Koval")
    await harness.press_button(olena, "Next week")
    await harness.press_button(olena, short(date(2026, 12, 2)))
    await unexpected_everything(f"Coaching session with Anna Koval\n{long(date(2026, 12, 2))}: free times")
    await press_label(harness, olena, clock("2026-12-02 12:00"))
    await unexpected_everything("Move this session?")
    await harness.press_button(olena, "Move it")
    assert harness.texts(olena)[-2].startswith("✅ Moved!")
