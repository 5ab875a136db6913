"""The client's first minutes (issue #10): no time before a zone, terms that fit the chosen time, and the
conversation's polish (restarts, forged and oversized input, overlaps, notes, past sessions, the way back
from /settings, profiles, round start times)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.demo.updates import Person
from bot.render import format_price, zone_label
from bot.render.message import MESSAGE_LIMIT
from bot.services.clock import FrozenClock
from handlers.client_callbacks import (
    AgainCb,
    BookingCb,
    BookingsCb,
    DayCb,
    MoveCb,
    ProfileCb,
    TimeCb,
    WeekCb,
    minute_code,
)
from handlers.payments import PayCb
from handlers.reminders import AttendCb
from models import Booking, BookingState, Package, User
from tests.bot.catalog_data import (
    STALE,
    STALE_HELP,
    Catalog,
    booked,
    bookings_of,
    client,
    kyiv_time,
    labels,
    last,
    press_label,
    with_catalog,
)
from tests.bot.harness import BotHarness
from tests.bot.words import KYIV, NEW_YORK, deadline, short, when, zone_of
from tests.bot.words import clock as clock_at

ZONE_FIRST = "Times are shown in your own time zone, so I need it first."
ZONE_QUESTION = (
    "Which time zone are you in? Type your city or country (e.g. Kyiv, Madrid, New York), or share your location."
)


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


async def _zoneless(harness: BotHarness, name: str = "Mia") -> Person:
    """Someone the bot knows (a language, say) who has not told their zone yet."""
    person = harness.person(name)
    async with harness.db() as session:
        session.add(User(telegram_id=person.id, first_name=name, locale="en", created_at=harness.clock.now()))
    return person


async def _zone_of(harness: BotHarness, person: Person) -> str | None:
    async with harness.db() as session:
        return (await session.scalars(select(User.timezone).where(User.telegram_id == person.id))).one()


# --- 1. the zone comes before any time -----------------------------------------------------------------


async def test_bookings_then_find_a_professional_asks_the_zone_first(harness: BotHarness, catalog: Catalog) -> None:
    mia = await _zoneless(harness)
    await harness.send_text(mia, "/bookings")
    assert last(harness, mia) == f"{ZONE_FIRST}\n\n{ZONE_QUESTION}"
    assert harness.reply_keyboard(mia) == [{"text": "📍 Share my location", "request_location": True}]
    await harness.send_text(mia, "Kharkiv")
    assert await _zone_of(harness, mia) == KYIV
    assert last(harness, mia) == "You're all set. Shall we go on where you were?"
    await harness.press_button(mia, "Continue")
    assert last(harness, mia) == "You have no upcoming sessions."
    # "Find a professional" from there, and a service's calendar: in her zone, never "UTC".
    await harness.press_button(mia, "Find a professional")
    await harness.press_button(mia, "Anna Koval")
    await harness.press_button(mia, "Coaching session ·")
    assert f"(your time zone: {zone_of()})" in last(harness, mia)
    assert "UTC)" not in last(harness, mia).replace("UTC+", "")


@pytest.mark.parametrize(
    "button",
    [
        "profile",  # a professional's profile
        "calendar",  # a service's week (an old message, a forwarded one)
        "day",  # a day's times
        "time",  # a time of day
        "list",  # /bookings' list
        "again",  # "Book this again"
        "move",  # a reminder's Reschedule
        "attend",  # a reminder's "I'll be there"
        "pay",  # a held booking's Pay
    ],
)
async def test_every_client_button_waits_for_the_zone(harness: BotHarness, catalog: Catalog, button: str) -> None:
    mia = await _zoneless(harness)
    noon = minute_code(kyiv_time("2026-11-26 10:00"))
    pressed = {
        "profile": ProfileCb(id=catalog.anna),
        "calendar": WeekCb(svc=catalog.coaching),
        "day": DayCb(svc=catalog.coaching, day=20261126),
        "again": AgainCb(id=1),
        "attend": AttendCb(id=1, t=0),
        "pay": PayCb(id=1),
        "time": TimeCb(svc=catalog.coaching, at=noon),
        "list": BookingsCb(),
        "move": MoveCb(id=1),
    }[button]
    before = harness.mark()
    await harness.press(mia, pressed)
    (asked,) = harness.messages_since(before, mia)
    assert asked.text == f"{ZONE_FIRST}\n\n{ZONE_QUESTION}"
    await harness.send_text(mia, "New York")
    assert await _zone_of(harness, mia) == NEW_YORK
    # The way on is the very button she pressed.
    assert [b["callback_data"] for b in harness.buttons(mia)] == [pressed.pack()]


async def test_the_zone_gate_resumes_a_calendar_in_the_new_zone(harness: BotHarness, catalog: Catalog) -> None:
    mia = await _zoneless(harness)
    await harness.press(mia, WeekCb(svc=catalog.coaching))
    await harness.send_text(mia, "New York")
    await harness.press_button(mia, "Continue")
    assert f"(your time zone: {zone_of(NEW_YORK)})" in last(harness, mia)


async def test_half_onboarded_commands_ask_the_zone(harness: BotHarness, catalog: Catalog) -> None:
    """Someone who left /start at the language step and comes back with a command."""
    newcomer = harness.person("Ivo")
    await harness.send_text(newcomer, "/start")
    await harness.send_text(newcomer, "/bookings")
    assert last(harness, newcomer).startswith(ZONE_FIRST)
    await harness.send_text(newcomer, "kyiv")
    await harness.press_button(newcomer, "Continue")
    assert last(harness, newcomer) == "You have no upcoming sessions."


async def test_deep_links_in_any_case(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    for payload in ("pro_ANNA-KOVAL", "PRO_Anna-Koval", "Pro_anna-koval"):
        await harness.send_text(olena, f"/start {payload}")
        assert last(harness, olena).startswith("Anna Koval\nCareer coach"), payload
    # Before onboarding too: the link waits for the zone.
    newcomer = harness.person("Ivo")
    await harness.send_text(newcomer, "/start PRO_DAVID-MORENO")
    await harness.press_button(newcomer, "English")
    await harness.send_text(newcomer, "Madrid")
    assert last(harness, newcomer).startswith("David Moreno\n")


# --- 2. terms that fit the chosen time -----------------------------------------------------------------


async def test_terms_on_the_list_and_the_session_inside_and_outside_the_window(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    far = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-03 10:00"))
    near = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-24 10:00"))
    await harness.send_text(olena, "/bookings")
    listed = last(harness, olena)
    far_terms = f"Free cancellation until {deadline('2026-12-03 10:00', 72)} (your time)."
    near_terms = "This session is less than 72 hours away: cancelling refunds 50%, and it cannot be moved."
    assert f"  {near_terms}" in listed and f"  {far_terms}" in listed

    await harness.press(olena, BookingCb(id=far))
    text = last(harness, olena)
    assert text.endswith(
        f"{far_terms}\nAfter that, cancelling refunds 50%.\nYou can move it up to 2 times until then.\n"
        "Missed session: charged in full, no refund."
    )
    assert "🗓 Reschedule" in labels(harness, olena)

    await harness.press(olena, BookingCb(id=near))
    text = last(harness, olena)
    assert text.endswith(f"{near_terms}\nMissed session: charged in full, no refund.")
    # No button that can only say no: the terms above say why it can't be moved.
    assert not any("Reschedule" in label for label in labels(harness, olena))
    assert "✖ Cancel" in labels(harness, olena)
    # The cancel screen says what comes back once.
    await harness.press_button(olena, "Cancel")
    asked = last(harness, olena)
    assert asked.count("back") == 1, asked
    assert "€30.00" in asked


async def test_a_session_moved_as_often_as_allowed_says_so_instead_of_a_button(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-03 10:00"))
    async with harness.db() as session:
        booking = await session.get_one(Booking, booking_id)
        booking.reschedule_count = 2
    await harness.press(olena, BookingCb(id=booking_id))
    assert "It has been moved as many times as allowed, so it can't be moved again." in last(harness, olena)
    assert not any("Reschedule" in label for label in labels(harness, olena))
    # The old button (a reminder's) still answers with the reason, not silence.
    await harness.press(olena, MoveCb(id=booking_id))
    assert "the most Anna Koval allows" in last(harness, olena)


# --- 3. conversation polish -----------------------------------------------------------------------------


async def test_the_other_partys_time_carries_its_weekday_and_is_left_out_at_the_same_offset(
    harness: BotHarness, catalog: Catalog
) -> None:
    # Kyiv's Tuesday 00:00-04:00 is David's Monday evening in New York.
    olena = await client(harness)
    await harness.send_text(olena, "/start pro_david-moreno")
    await harness.press_button(olena, "Therapy session")
    await press_label(harness, olena, short(date(2026, 11, 25)))
    first = labels(harness, olena)[0]
    assert first == f"{clock_at('2026-11-25 00:00')} (Tue {clock_at('2026-11-25 00:00', NEW_YORK)})"
    # Helsinki keeps Kyiv's clock: no brackets, no "Anna Koval's time".
    helsinki = await client(harness, "Aino", "Europe/Helsinki")
    await harness.send_text(helsinki, "/start pro_anna-koval")
    await harness.press_button(helsinki, "Coaching session ·")
    await press_label(harness, helsinki, short(date(2026, 11, 24)))
    assert "In brackets" not in last(harness, helsinki)
    assert labels(harness, helsinki)[0] == clock_at("2026-11-24 09:00")


async def test_the_conversation_survives_a_restart(bot_db_url: str, clock: FrozenClock) -> None:
    await _restart_keeps_the_conversation(bot_db_url, clock)


@pytest.mark.postgres
async def test_the_conversation_survives_a_restart_on_postgresql(pg_url: str, clock: FrozenClock) -> None:
    await _restart_keeps_the_conversation(pg_url, clock)


async def _restart_keeps_the_conversation(db_url: str, clock: FrozenClock) -> None:
    """Without Redis, conversation state lives in the database (SQLite or PostgreSQL): a new process
    picks it up where the old one left it."""
    async with BotHarness.running(db_url, clock) as before:
        await with_catalog(before)
        olena = await client(before)
        await before.send_text(olena, "/start pro_anna-koval")
        await before.press_button(olena, "Coaching session ·")
        await press_label(before, olena, short(date(2026, 11, 24)))
        await press_label(before, olena, clock_at("2026-11-24 09:00"))
        assert last(before, olena).endswith("Type it here, or press Skip.")
    async with BotHarness.running(db_url, clock) as after:
        # A new process: the notes step is still open, and what she types is her notes.
        await after.send_text(olena, "Captions, please.")
        assert last(after, olena).startswith("Please check your booking:")
        assert "Your notes: Captions, please." in last(after, olena)
        await after.press_button(olena, "Confirm")
        assert last(after, olena).startswith("⏳ Held for you until")
        (booking,) = await bookings_of(after.app.sessions, olena)
        assert booking.client_notes == "Captions, please."


async def test_a_stale_or_forged_button_says_what_to_do(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    for forged in ("cb:99999999999999999999999", "cu:-99999999999999999999", "zz:whatever", BookingCb(id=424242)):
        before = harness.mark()
        await harness.press(olena, forged)
        assert harness.popup() == STALE, forged
        assert [message.text for message in harness.messages_since(before, olena)] == [STALE_HELP], forged


async def test_replies_never_pass_telegrams_limit(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start")
    for huge in ("/" + "x" * 5000, "x" * 5000, "Київ " * 900):
        before = harness.mark()
        await harness.send_text(olena, huge)
        for message in harness.messages_since(before, olena):
            assert len(message.text.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
    # The zone step echoes what was typed: cut, never refused.
    await harness.send_text(olena, "/settings")
    await harness.press_button(olena, "Change time zone")
    before = harness.mark()
    await harness.send_text(olena, "q" * 5000)
    (answer,) = harness.messages_since(before, olena)
    assert len(answer.text) < 1000


async def test_an_overlap_with_another_own_session_is_warned_before_confirming(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    # Anna at 15:30 Kyiv on Monday; David's 08:00 in New York is 15:00 Kyiv the same day.
    await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-30 15:30"))
    await harness.press(olena, TimeCb(svc=catalog.therapy, at=minute_code(kyiv_time("2026-11-30 15:00"))))
    await harness.press_button(olena, "Skip")
    summary = last(harness, olena)
    assert summary.startswith(
        "⚠️ This overlaps another session of yours:\n"
        f"• Coaching session with Anna Koval, {when('2026-11-30 15:30')}\n"
        "You can still book it if that is what you want.\n\nPlease check your booking:"
    )
    # A time that overlaps nothing of hers has no warning.
    await harness.press(olena, TimeCb(svc=catalog.therapy, at=minute_code(kyiv_time("2026-12-02 00:00"))))
    assert last(harness, olena).startswith("Please check your booking:")


async def test_a_professional_cannot_book_themselves(harness: BotHarness, catalog: Catalog) -> None:
    anna = await client(harness, "Anna")
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/start pro_anna-koval")
    assert "This is your own profile, as clients see it; you can't book a session with yourself." in last(harness, anna)
    assert labels(harness, anna) == ["◀ All professionals"]
    await harness.press(anna, TimeCb(svc=catalog.coaching, at=minute_code(kyiv_time("2026-11-26 10:00"))))
    assert last(harness, anna) == "This is your own service: you can't book a session with yourself."
    await harness.press(anna, f"cy:{catalog.coaching}:{minute_code(kyiv_time('2026-11-26 10:00'))}:0")
    assert harness.popup() == STALE
    async with harness.db() as session:
        assert (await session.scalars(select(Booking))).all() == []


async def test_change_notes_shows_the_notes_and_keeps_them(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.press(olena, TimeCb(svc=catalog.coaching, at=minute_code(kyiv_time("2026-11-26 10:00"))))
    await harness.send_text(olena, "Slow pacing, please.")
    await harness.press_button(olena, "Change notes")
    assert "Your notes now: Slow pacing, please." in last(harness, olena)
    assert labels(harness, olena)[0] == "Keep these notes"
    await harness.press_button(olena, "Keep these notes")
    assert "Your notes: Slow pacing, please." in last(harness, olena)
    await harness.press_button(olena, "Change notes")
    await harness.send_text(olena, "Captions too.")
    assert "Your notes: Captions too." in last(harness, olena)


async def test_past_sessions_are_those_that_happened_and_cancelled_ones_stand_apart(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    happened = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-24 10:00"))
    called_off = await booked(harness, olena, catalog.coaching, kyiv_time("2026-12-03 10:00"))
    async with harness.db() as session:
        (await session.get_one(Booking, called_off)).state = BookingState.CANCELLED
    harness.clock.advance(timedelta(days=2))
    async with harness.db() as session:
        (await session.get_one(Booking, happened)).state = BookingState.COMPLETED
    await harness.send_text(olena, "/bookings")
    assert last(harness, olena) == "You have no upcoming sessions."
    await harness.press_button(olena, "Past sessions")
    assert last(harness, olena) == (
        "Your past sessions:\n\n"
        f"• {when('2026-11-24 10:00')}\n  Coaching session with Anna Koval (completed)\n\n"
        "Cancelled:\n\n"
        f"• {when('2026-12-03 10:00')}\n  Coaching session with Anna Koval (cancelled)"
    )
    # Buttons carry no list numbers.
    assert all(not label[:1].isdigit() for label in labels(harness, olena))


async def test_one_style_for_unknown_input(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/frobnicate now")
    assert last(harness, olena) == "I don't know the command /frobnicate. /help lists what I can do."
    await harness.send_text(olena, "hello")
    assert last(harness, olena) == "Sorry, I didn't understand that. /help lists what I can do."


async def test_settings_offers_the_way_back(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await harness.send_text(olena, "/start pro_anna-koval")
    await harness.press_button(olena, "Coaching session ·")
    await harness.send_text(olena, "/settings")
    await harness.press_button(olena, "Change time zone")
    await harness.send_text(olena, "New York")
    assert last(harness, olena) == "Saved."
    assert labels(harness, olena) == ["◀ Back to where you were"]
    await harness.press_button(olena, "Back to where you were")
    # The calendar she was looking at, now in her new zone.
    assert f"(your time zone: {zone_of(NEW_YORK)})" in last(harness, olena)
    # With nothing under way, the way back is the start.
    await harness.send_text(olena, "/cancel")
    await harness.send_text(olena, "/settings")
    await harness.press_button(olena, "Change language")
    await harness.press_button(olena, "English")
    assert labels(harness, olena) == ["◀ Back to the start"]


async def test_one_next_week_button(harness: BotHarness, catalog: Catalog) -> None:
    from models import TimeOff

    async with harness.db() as session:
        session.add(TimeOff(professional_id=catalog.anna, first_day=date(2026, 11, 30), last_day=date(2026, 12, 6)))
    olena = await client(harness)
    await harness.press(olena, WeekCb(svc=catalog.coaching, week=20261130))
    # The next free week is the next one: one button goes there.
    assert labels(harness, olena) == ["◀ Previous week", "Next week ▶", "◀ Back to Anna Koval"]


async def test_a_profile_shows_city_zone_address_and_packages(harness: BotHarness, catalog: Catalog) -> None:
    async with harness.db() as session:
        session.add(
            Package(
                professional_id=catalog.anna,
                service_id=catalog.coaching,
                slug="five",
                name="Five coaching sessions",
                sessions=5,
                price_minor=27000,
                currency="EUR",
                valid_days=180,
            )
        )
    olena = await client(harness, zone=NEW_YORK)
    await harness.send_text(olena, "/start pro_anna-koval")
    text = last(harness, olena)
    assert f"Based in: {zone_label(KYIV, 'en', harness.clock.now())}" in text
    assert "In person at: Khreshchatyk St 22, office 4, Kyiv" in text
    price = format_price(27000, "EUR", "en").replace("\u00a0", " ")
    assert (
        "Packages (1 credit = 1 session):\n"
        f"• Five coaching sessions: 5 sessions of Coaching session, valid 180 days from purchase, {price}"
    ) in text


async def test_default_steps_give_round_start_times(harness: BotHarness, catalog: Catalog) -> None:
    """David sets no step: his 50-minute sessions start on the hour (8:00, 9:00), not at 8:50 and 9:40."""
    nick = await client(harness, "Nick", NEW_YORK)
    await harness.press(nick, WeekCb(svc=catalog.therapy))
    await press_label(harness, nick, short(date(2026, 11, 24)))
    starts = [label for label in labels(harness, nick) if label[:1].isdigit()]
    kyiv_walls = [f"2026-11-24 {hour}:00" for hour in (15, 16, 17, 18)] + [
        f"2026-11-25 0{hour}:00" for hour in range(4)
    ]
    assert starts == [clock_at(wall, NEW_YORK) for wall in kyiv_walls]
