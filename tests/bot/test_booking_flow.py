"""Booking a session end to end: profile -> service -> day -> time -> notes -> summary -> Confirm, for a
free and a paid service, in the client's zone; a time taken meanwhile; anything typed on the way."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.demo.updates import Person
from bot.render.dates import format_instant
from bot.services.booking import confirm, hold
from handlers.client_callbacks import ConfirmCb, DayCb, SkipNotesCb, TimeCb, WeekCb, minute_code
from handlers.client_wording import language_label
from models import BookingState, TimeOff, User
from tests.bot.catalog_data import (
    SORRY,
    SORRY_NOTES,
    STALE,
    Catalog,
    bookings_of,
    client,
    kyiv_time,
    labels,
    last,
    onboarded,
    only_stale_help,
    press_label,
    unknown_command,
    with_catalog,
)
from tests.bot.harness import BotHarness
from tests.bot.words import KYIV, NEW_YORK, clock, day, deadline, long, money, short, week, when, zone_of

NOTES_QUESTION = (
    "Anything Anna Koval should know before the session? For example accessibility needs (captions, language, "
    "pacing) or what you'd like to work on. Type it here, or press Skip."
)
# Expected dates, times and money come from the render helpers (their CLDR wording is pinned in test_render.py).
NOV_23, NOV_24, NOV_30 = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 30)
DEC_1, DEC_14 = date(2026, 12, 1), date(2026, 12, 14)
EUR_60 = money(6000)


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


async def _to_service(harness: BotHarness, person: Person, service: str, professional: str = "Anna Koval") -> None:
    await harness.send_text(person, "/start")
    await harness.press_button(person, professional)
    await harness.press_button(person, f"{service} ·")


async def test_a_free_session_is_booked_at_once_with_a_calendar_file(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await _to_service(harness, olena, "Free intro call")
    assert last(harness, olena) == (
        "Free intro call with Anna Koval\n"
        "20 minutes, Free, video call\n"
        "\n"
        f"Pick a day in the week of {week(NOV_23)} (your time zone: {zone_of()}):"
    )
    assert labels(harness, olena) == [
        short(NOV_23),
        short(NOV_24),
        short(NOV_23 + timedelta(days=2)),
        short(NOV_23 + timedelta(days=3)),
        short(NOV_23 + timedelta(days=4)),
        "Next week ▶",
        "◀ Back to Anna Koval",
    ]

    await press_label(harness, olena, short(NOV_24))
    assert last(harness, olena) == f"Free intro call with Anna Koval\n{long(NOV_24)}: free times ({zone_of()})"
    assert labels(harness, olena) == [
        clock("2026-11-24 09:00"),
        clock("2026-11-24 10:00"),
        clock("2026-11-24 11:00"),
        clock("2026-11-24 13:30"),
        clock("2026-11-24 14:30"),
        clock("2026-11-24 15:30"),
        clock("2026-11-24 16:30"),
        "◀ Other days",
    ]

    await press_label(harness, olena, clock("2026-11-24 09:00"))
    assert last(harness, olena) == (f"Free intro call with Anna Koval\n{when('2026-11-24 09:00')}\n\n{NOTES_QUESTION}")
    assert labels(harness, olena) == ["Skip", "◀ Other times"]

    await harness.send_text(olena, "  Captions, please: I'm hard of hearing.  ")
    assert last(harness, olena) == (
        "Please check your booking:\n"
        "\n"
        "Free intro call with Anna Koval\n"
        f"When: {when('2026-11-24 09:00')}\n"
        "Duration: 20 minutes\n"
        "Price: Free\n"
        "Where: video call (the link comes with your confirmation)\n"
        "Your notes: Captions, please: I'm hard of hearing.\n"
        "\n"
        "Free cancellation at any time before the start.\n"
        # Tomorrow is inside Anna's 72 hours: what applies to this booking now, not the policy in general.
        "It's less than 72 hours before the start, so it can't be moved any more."
    )
    assert labels(harness, olena) == ["✅ Confirm", "✏️ Change notes", "◀ Other times"]

    before = harness.mark()
    await harness.press_button(olena, "Confirm")
    confirmation, calendar = harness.messages_since(before)
    assert confirmation.edited
    assert confirmation.text.replace("\u00a0", " ") == (
        "✅ Booked!\n"
        "\n"
        "Free intro call with Anna Koval\n"
        f"When: {when('2026-11-24 09:00')}\n"
        "Duration: 20 minutes\n"
        "Price: Free\n"
        "Video call: https://meet.example.org/anna-koval\n"
        "Your notes: Captions, please: I'm hard of hearing.\n"
        "\n"
        "The calendar file below adds it to your calendar; /bookings shows your sessions."
    )
    assert [button["text"] for button in confirmation.inline_buttons()] == ["Open the booking", "My sessions"]
    assert calendar.text == "Add it to your calendar:"
    assert calendar.document is not None
    filename, content = calendar.document
    assert filename == "session-20261124-0900.ics"  # her own date and time (Kyiv), not UTC
    ics = content.decode()
    (booking,) = await bookings_of(harness.app.sessions, olena)
    for line in (
        "BEGIN:VEVENT",
        f"UID:booking-{booking.id}@bookbot",
        "DTSTART:20261124T070000Z",
        "DTEND:20261124T072000Z",
        "SUMMARY:Free intro call with Anna Koval",
        "URL:https://meet.example.org/anna-koval",
    ):
        assert f"\r\n{line}\r\n" in ics
    assert (booking.state, booking.paid_with, booking.client_notes) == (
        BookingState.CONFIRMED,
        "free",
        "Captions, please: I'm hard of hearing.",
    )
    assert booking.starts_at == kyiv_time("2026-11-24 09:00")
    # The flow is over: text is no longer taken as notes.
    await harness.send_text(olena, "more notes")
    assert last(harness, olena) == "Sorry, I didn't understand that. /help lists what I can do."


async def test_a_paid_session_is_held_with_a_pay_link(harness: BotHarness, catalog: Catalog) -> None:
    # New York is 7 hours behind Kyiv: Anna's 9:00 AM is 2:00 AM there, and both are shown.
    nick = await client(harness, "Nick", "America/New_York")
    await _to_service(harness, nick, "Coaching session")
    assert f"(your time zone: {zone_of(NEW_YORK)})" in last(harness, nick)
    await harness.press_button(nick, "Next week")
    assert last(harness, nick).endswith(
        f"Pick a day in the week of {week(NOV_30)} (your time zone: {zone_of(NEW_YORK)}):"
    )
    assert labels(harness, nick)[-3:] == ["◀ Previous week", "Next week ▶", "◀ Back to Anna Koval"]
    await harness.press_button(nick, short(DEC_1))
    assert last(harness, nick) == (
        "Coaching session with Anna Koval\n"
        f"{day('2026-12-01 09:00', NEW_YORK)}: free times ({zone_of(NEW_YORK)})\n"
        f"In brackets: Anna Koval's time ({zone_of()})."
    )
    assert labels(harness, nick)[:3] == [
        f"{clock(kyiv_wall, NEW_YORK)} ({clock(kyiv_wall)})"
        for kyiv_wall in ("2026-12-01 09:00", "2026-12-01 10:00", "2026-12-01 11:00")
    ]
    await press_label(harness, nick, clock("2026-12-01 09:00", NEW_YORK))
    await harness.press_button(nick, "Skip")
    assert last(harness, nick) == (
        "Please check your booking:\n"
        "\n"
        "Coaching session with Anna Koval\n"
        f"When: {when('2026-12-01 09:00', NEW_YORK)}\n"
        f"Anna Koval's time: {clock('2026-12-01 09:00')} ({zone_of()})\n"
        "Duration: 50 minutes\n"
        f"Price: {EUR_60}\n"
        "Where: video call (the link comes with your confirmation)\n"
        "\n"
        f"Free cancellation until {deadline('2026-12-01 09:00', 72, NEW_YORK)} (your time).\n"
        "After that, cancelling refunds 50%.\n"
        "You can move it up to 2 times until then.\n"
        "Missed session: charged in full, no refund."
    )
    assert labels(harness, nick) == ["✅ Confirm", "✏️ Add notes", "◀ Other times"]
    before = harness.mark()
    await harness.press_button(nick, "Confirm")
    (held,) = harness.messages_since(before)
    assert held.text.replace("\u00a0", " ") == (
        f"⏳ Held for you until {clock('2026-11-23 08:30', NEW_YORK)} ({zone_of(NEW_YORK)}).\n"
        "\n"
        "Coaching session with Anna Koval\n"
        f"When: {when('2026-12-01 09:00', NEW_YORK)}\n"
        f"Anna Koval's time: {clock('2026-12-01 09:00')} ({zone_of()})\n"
        "Duration: 50 minutes\n"
        f"Price: {EUR_60}\n"
        "\n"
        "Pay by then to confirm it; otherwise the time is released for others."
    )
    assert [button["text"] for button in held.inline_buttons()] == [
        f"💳 Pay {money(6000)}",
        "Release this time",
        "My sessions",
    ]
    (booking,) = await bookings_of(harness.app.sessions, nick)
    # The demo gateway's checkout page for the first payment attempt (no Stripe key in tests).
    assert held.inline_buttons()[0]["url"].endswith(f"/demo/checkout/cs_demo_{booking.id}_1")
    assert booking.state == BookingState.HELD
    assert booking.hold_expires_at == harness.clock.now() + timedelta(minutes=30)
    assert booking.client_notes is None
    assert booking.starts_at == kyiv_time("2026-12-01 09:00")


async def test_an_in_person_session_gives_the_address_and_access(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    async with harness.db() as session:
        owner = (await session.scalars(select(User).where(User.telegram_id == olena.id))).one()
        booking = await hold(
            session,
            client=owner,
            service_id=catalog.office,
            starts_at=kyiv_time("2026-12-02 13:00"),
            now=harness.clock.now(),
        )
        await confirm(session, booking.id, now=harness.clock.now(), paid_with="stripe")
    await harness.send_text(olena, "/bookings")
    await harness.press_button(olena, "Anna Koval")
    text = last(harness, olena)
    assert "Where: in person, Khreshchatyk St 22, office 4, Kyiv" in text
    assert "Access: Step-free entrance from the courtyard; lift to the 2nd floor." in text
    before = harness.mark()
    await harness.press_button(olena, "Calendar file")
    (calendar,) = harness.messages_since(before)
    assert calendar.document is not None
    ics = calendar.document[1].decode()
    assert "\r\nLOCATION:Khreshchatyk St 22\\, office 4\\, Kyiv\r\n" in ics
    assert "URL:" not in ics
    assert "\r\nSEQUENCE:2\r\n" in ics


async def test_a_time_taken_meanwhile_offers_the_nearest(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness, "Olena")
    taras = await client(harness, "Taras")
    for person in (olena, taras):
        await _to_service(harness, person, "Coaching session")
        await harness.press_button(person, short(NOV_24))
        await press_label(harness, person, clock("2026-11-24 10:00"))
    await harness.send_text(olena, "Let's talk about my CV.")
    await harness.send_text(taras, "I'd like to practise interviews.")
    await harness.press_button(olena, "Confirm")
    assert last(harness, olena).startswith("⏳ Held for you until")

    await harness.press_button(taras, "Confirm")
    assert last(harness, taras) == (
        f"Sorry, {when('2026-11-24 10:00')} was just taken by someone else.\nThe nearest free times ({zone_of()}):"
    )
    assert labels(harness, taras) == [
        f"{short(NOV_24)}, {clock('2026-11-24 09:00')}",
        f"{short(NOV_24)}, {clock('2026-11-24 11:00')}",
        f"{short(NOV_24)}, {clock('2026-11-24 13:30')}",
        "◀ Other days",
    ]
    # His notes are kept: the new time goes straight to the summary.
    await press_label(harness, taras, clock("2026-11-24 11:00"))
    assert f"When: {when('2026-11-24 11:00')}" in last(harness, taras)
    assert "Your notes: I'd like to practise interviews." in last(harness, taras)
    await harness.press_button(taras, "Confirm")
    assert last(harness, taras).startswith("⏳ Held for you until")
    (booking,) = await bookings_of(harness.app.sessions, taras)
    assert (booking.starts_at, booking.client_notes) == (
        kyiv_time("2026-11-24 11:00"),
        "I'd like to practise interviews.",
    )

    # A time that went while the client was looking at the day: told when they press it.
    mia = await client(harness, "Mia")
    await _to_service(harness, mia, "Coaching session")
    await harness.press_button(mia, short(NOV_24))
    assert clock("2026-11-24 10:00") not in labels(harness, mia)
    await harness.press(mia, TimeCb(svc=catalog.coaching, at=minute_code(kyiv_time("2026-11-24 10:00"))))
    assert last(harness, mia).startswith(f"Sorry, {when('2026-11-24 10:00')} is no longer available.")
    assert labels(harness, mia)[0] == f"{short(NOV_24)}, {clock('2026-11-24 09:00')}"


async def test_confirm_pressed_twice_books_once(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await _to_service(harness, olena, "Free intro call")
    await harness.press_button(olena, short(NOV_23 + timedelta(days=2)))
    await press_label(harness, olena, clock("2026-11-25 12:00"))
    await harness.press_button(olena, "Skip")
    summary = harness.last_message(olena)
    confirm = next(button["callback_data"] for button in summary.inline_buttons() if "Confirm" in button["text"])
    await harness.press(olena, confirm, summary)
    await harness.press(olena, confirm, summary)
    assert summary.text.startswith("✅ Booked!")
    assert len(harness.calls_to("sendDocument")) == 1
    assert len(await bookings_of(harness.app.sessions, olena)) == 1


async def test_notes_too_long_are_asked_again_and_nothing_is_lost(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await _to_service(harness, olena, "Free intro call")
    await harness.press_button(olena, short(NOV_24))
    await press_label(harness, olena, clock("2026-11-24 09:00"))
    await harness.send_text(olena, "x" * 1001)
    assert last(harness, olena).startswith("That's 1001 characters; please keep it under 1000.\n\nFree intro call")
    assert last(harness, olena).endswith(NOTES_QUESTION)
    await harness.send_text(olena, "Slow pace, please.")
    assert "Your notes: Slow pace, please." in last(harness, olena)
    # Notes can be changed from the summary.
    await harness.press_button(olena, "Change notes")
    await harness.send_text(olena, "Slower pace, please.")
    assert "Your notes: Slower pace, please." in last(harness, olena)
    await harness.press_button(olena, "Confirm")
    (booking,) = await bookings_of(harness.app.sessions, olena)
    assert booking.client_notes == "Slower pace, please."


async def test_a_summary_from_another_conversation_does_not_book_without_its_notes(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    at = minute_code(kyiv_time("2026-11-24 09:00"))
    await harness.send_text(olena, "/start")
    await harness.press(olena, ConfirmCb(svc=catalog.intro, at=at, n=1))
    assert last(harness, olena).startswith("Please write your notes again.\n\nFree intro call with Anna Koval")
    assert await bookings_of(harness.app.sessions, olena) == []
    # Without notes the button stands on its own.
    await harness.press(olena, ConfirmCb(svc=catalog.intro, at=at, n=0))
    assert harness.texts(olena)[-2].startswith("✅ Booked!")


async def test_an_empty_week_says_so_and_offers_the_next_free_one(harness: BotHarness, catalog: Catalog) -> None:
    async with harness.db() as session:
        session.add(TimeOff(professional_id=catalog.anna, first_day=date(2026, 11, 30), last_day=date(2026, 12, 13)))
    olena = await client(harness)
    await _to_service(harness, olena, "Coaching session")
    await harness.press_button(olena, "Next week")
    assert last(harness, olena) == (
        "Coaching session with Anna Koval\n"
        f"50 minutes, {EUR_60}, video call\n"
        "\n"
        f"No free times in the week of {week(NOV_30)}.\n"
        f"The next free times are in the week of {week(DEC_14)}."
    )
    assert labels(harness, olena) == [
        f"Go to the week of {short(DEC_14)} ▶",
        "◀ Previous week",
        "Next week ▶",
        "◀ Back to Anna Koval",
    ]
    await harness.press_button(olena, "Go to the week of")
    assert f"Pick a day in the week of {week(DEC_14)}" in last(harness, olena)


async def test_nothing_free_at_all(harness: BotHarness, catalog: Catalog) -> None:
    async with harness.db() as session:
        session.add(TimeOff(professional_id=catalog.anna, first_day=date(2026, 11, 23), last_day=date(2027, 3, 1)))
    olena = await client(harness)
    await _to_service(harness, olena, "Coaching session")
    assert last(harness, olena).endswith(
        f"No free times in the week of {week(NOV_23)}.\nNothing is free later either, up to 60 days ahead."
    )


async def test_anything_unexpected_keeps_the_place_in_every_step(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await _to_service(harness, olena, "Coaching session")
    steps = [
        (short(NOV_24), f"Coaching session with Anna Koval\n50 minutes, {EUR_60}, video call\n\nPick a day"),
        (clock("2026-11-24 09:00"), f"Coaching session with Anna Koval\n{long(NOV_24)}: free times"),
        (None, f"Coaching session with Anna Koval\n{when('2026-11-24 09:00')}\n\nAnything"),
    ]
    for press, screen in steps:
        assert last(harness, olena).startswith(screen)
        keyboard = labels(harness, olena)
        # What the step expects: buttons, or (the notes step) text too.
        sorry = SORRY if press is not None else SORRY_NOTES
        for unexpected, hint in (
            (harness.send_sticker(olena), sorry),
            (harness.send_text(olena, "/nonsense"), unknown_command("/nonsense")),
            (harness.send_photo(olena), sorry),
        ):
            await unexpected
            assert last(harness, olena).startswith(f"{hint}\n\n{screen}")
            assert labels(harness, olena) == keyboard
        if press is None:
            break
        # Words in a button step are not an answer either.
        await harness.send_text(olena, "tomorrow morning?")
        assert last(harness, olena).startswith(f"{SORRY}\n\n{screen}")
        await press_label(harness, olena, press)
    # /help answers and the notes step is still open.
    await harness.send_text(olena, "/help")
    await harness.send_text(olena, "Pacing: slow.")
    assert last(harness, olena).startswith("Please check your booking:")
    await harness.send_sticker(olena)
    assert last(harness, olena).startswith(f"{SORRY_NOTES}\n\nPlease check your booking:")
    assert "Your notes: Pacing: slow." in last(harness, olena)
    # Text typed on the summary can only be notes: it replaces them, and the summary shows them.
    await harness.send_text(olena, "Pacing: slow, and captions.")
    assert last(harness, olena).startswith("Please check your booking:")
    assert "Your notes: Pacing: slow, and captions." in last(harness, olena)
    await harness.press_button(olena, "Confirm")
    assert last(harness, olena).startswith("⏳ Held for you until")
    (booking,) = await bookings_of(harness.app.sessions, olena)
    assert booking.client_notes == "Pacing: slow, and captions."


async def test_forged_booking_buttons(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    before = harness.mark()
    noon = minute_code(kyiv_time("2026-11-24 12:00"))
    for forged in (
        WeekCb(svc=catalog.nutrition),  # Lea is not verified
        DayCb(svc=catalog.coaching, day=20261399),  # no such date
        DayCb(svc=catalog.office + 100, day=20261124),
        TimeCb(svc=catalog.nutrition, at=noon),
        f"ct:{catalog.coaching}:{10**15}:0",  # beyond any calendar
        f"ct:{catalog.coaching}:{10**30}:0",  # beyond any number the database holds
        "cb:99999999999999999999999",
        SkipNotesCb(svc=catalog.nutrition, at=noon),
        ConfirmCb(svc=catalog.nutrition, at=noon),
        "ct:1:soon:0",
    ):
        await harness.press(olena, forged)
        assert harness.popup() == STALE, forged
    assert only_stale_help(harness.messages_since(before))
    # A time Anna does not offer (12:00 is her lunch) is not booked, whatever the button says.
    await harness.press(olena, ConfirmCb(svc=catalog.coaching, at=noon))
    assert last(harness, olena).startswith(f"Sorry, {when('2026-11-24 12:00')} is no longer available.")
    assert await bookings_of(harness.app.sessions, olena) == []


@pytest.mark.postgres
async def test_booking_on_postgresql(pg_harness: BotHarness) -> None:
    harness = pg_harness
    catalog = await with_catalog(harness)
    olena = await client(harness)
    await _to_service(harness, olena, "Free intro call")
    await harness.press_button(olena, short(NOV_24))
    await press_label(harness, olena, clock("2026-11-24 09:00"))
    await harness.send_text(olena, "Captions, please.")
    await harness.press_button(olena, "Confirm")
    assert harness.texts(olena)[-2].startswith("✅ Booked!")
    assert harness.calls_to("sendDocument")
    nick = await client(harness, "Nick", "America/New_York")
    await _to_service(harness, nick, "Free intro call")
    await harness.press_button(nick, short(NOV_24))
    olenas = f"{clock('2026-11-24 09:00', NEW_YORK)} ({clock('2026-11-24 09:00')})"
    assert olenas not in labels(harness, nick)  # Olena has it
    await harness.press(nick, TimeCb(svc=catalog.intro, at=minute_code(kyiv_time("2026-11-24 09:00"))))
    assert last(harness, nick).startswith(f"Sorry, {when('2026-11-24 09:00', NEW_YORK)} is no longer available.")


async def test_a_ukrainian_speaker_gets_dates_and_zones_in_ukrainian(harness: BotHarness, catalog: Catalog) -> None:
    oksana = harness.person("Оксана", "uk")
    await onboarded(harness.app.sessions, oksana, "Europe/Kyiv", harness.clock.now(), locale="uk")
    await harness.send_text(oksana, "/start")
    await harness.press_button(oksana, "Anna Koval")
    assert ", ".join(language_label(code, "uk") for code in ("uk", "en", "ru")) in last(harness, oksana)
    await harness.press_button(oksana, "Free intro call")
    assert labels(harness, oksana)[:2] == [short(NOV_23, "uk"), short(NOV_24, "uk")]
    assert zone_of(KYIV, "uk") in last(harness, oksana)
    await press_label(harness, oksana, short(NOV_24, "uk"))
    await press_label(harness, oksana, clock("2026-11-24 09:00", KYIV, "uk"))
    await press_label(harness, oksana, "Пропустити")
    await press_label(harness, oksana, "Підтвердити")
    (booking,) = await bookings_of(harness.app.sessions, oksana)
    assert booking.state == BookingState.CONFIRMED
    assert format_instant(kyiv_time("2026-11-24 09:00"), KYIV, "uk") in harness.texts(oksana)[-2]
