"""The professional's side: invite links, notifications through the outbox, /agenda, /hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bot.demo.updates import Person
from bot.render import format_clock, format_day, format_instant, zone_label, zone_suffix
from bot.render.hours import format_windows
from bot.render.money import format_money
from bot.services import booking, invites
from bot.services.outbox import backoff
from bot.services.windows import parse_window
from handlers.hours import RemoveOffCb, WeekdayCb, _weekday_name
from handlers.professional import AgendaCb, MarkCb
from handlers.start import language_name
from models import Invite, Professional, TimeOff, WeeklyWindow
from tests.bot.catalog_data import only_stale_help
from tests.bot.harness import BotHarness
from tests.bot.pro_world import add_client, add_professional, book, state_of

NOT_UNDERSTOOD = "Sorry, I didn't understand that. Please answer the question below."

STALE = "This button is no longer available."
FOR_PROS = (
    "This is for professionals: it works once your chat is linked to your profile. "
    "If you are one, ask the operator for an invite link."
)
GREETING_TAIL = (
    "Here I tell you about every new, cancelled or moved booking, and you can use:\n"
    "/agenda — Your sessions today and this week\n"
    "/hours — Your weekly hours and days off\n"
    "/daily — Today's sessions every morning at 08:00: on or off\n"
    "/profile — Your profile, share link and verification"
)
# Monday 2026-11-23 in Kyiv (UTC+02:00).
MON_0900 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
MON_1000 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MON_1330 = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
TUE_0900 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
THU_0900 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
FRI_0900 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
DEC_24 = datetime(2026, 12, 24, 7, 0, tzinfo=UTC)
JAN_5 = datetime(2027, 1, 5, 7, 0, tzinfo=UTC)
DAY, WEEK, SESSION = timedelta(days=1), timedelta(days=7), timedelta(minutes=50)
# Expected wording from the render helpers (their CLDR output is pinned in tests/bot/test_render.py).
KYIV, NEW_YORK = "Europe/Kyiv", "America/New_York"
KYIV_ZONE, KYIV_LABEL = zone_suffix(KYIV, "en", MON_0900), zone_label(KYIV, "en", MON_0900)
EUR_60 = format_money(6000, "EUR", "en")


def _when(instant: datetime, zone: str = KYIV) -> str:
    return format_instant(instant, zone, "en")


def _day(instant: datetime) -> str:
    return format_day(instant, KYIV, "en")


def _clock(instant: datetime) -> str:
    return format_clock(instant, KYIV, "en")


async def _invite(harness: BotHarness, slug: str = "anna-koval", *, relink: bool = False) -> str:
    async with harness.db() as session:
        invite = await invites.create_invite(session, slug, now=harness.clock.now(), relink=relink)
        return invite.token


async def _onboard(harness: BotHarness, person: Person) -> None:
    await harness.send_text(person, "/start")
    await harness.press_button(person, language_name("en"))
    await harness.send_text(person, "kyiv")


async def _linked_id(harness: BotHarness, slug: str = "anna-koval") -> int | None:
    async with harness.db() as session:
        professional = (await session.scalars(select(Professional).where(Professional.slug == slug))).one()
        return professional.telegram_id


# --- invites ---------------------------------------------------------------------------------------


async def test_invite_link_links_the_chat_after_onboarding(harness: BotHarness) -> None:
    await add_professional(harness, verified=False)
    token = await _invite(harness)
    assert len(f"inv_{token}") <= 64 and token.replace("-", "").replace("_", "").isalnum()
    anna = harness.person("Anna")
    await harness.send_text(anna, f"/start inv_{token}")
    assert harness.last_text(anna).endswith("Which language should I use?")
    await harness.press_button(anna, language_name("en"))
    await harness.send_text(anna, "kyiv")
    # Her profile lacks a video link for her video service: the setup starts at its first step.
    assert harness.last_text(anna) == (
        "Welcome, Anna Koval! This chat is now linked to your profile.\n\n"
        f"{GREETING_TAIL}\n\n"
        "Let's set up your profile, one step at a time. Skip any step and come back to it from /profile.\n\n"
        "What name should clients see?\nNow: Anna Koval"
    )
    assert await _linked_id(harness) == anna.id
    async with harness.db() as session:
        invite = (await session.scalars(select(Invite))).one()
    assert (invite.used_at, invite.used_by_telegram_id) == (harness.clock.now(), anna.id)
    # Their own chat's command menu gets the professional's commands.
    menu = harness.calls_to("setMyCommands")[-1].params
    assert menu["scope"] == {"type": "chat", "chat_id": anna.id}
    assert [c["command"] for c in menu["commands"]][-3:] == ["hours", "daily", "profile"]

    # Tapping the link again is answered kindly.
    await harness.send_text(anna, f"/start inv_{token}")
    assert harness.last_text(anna) == (
        f"This chat is already linked to your profile, Anna Koval.\n\n{GREETING_TAIL}\n\n"
        "Still missing before you can be listed: a video link (you offer video sessions).\n\n"
        "Your profile is not verified yet: clients will find you once an operator has verified it."
    )


async def test_expired_used_and_unknown_invites(harness: BotHarness) -> None:
    await add_professional(harness)
    await add_professional(harness, "david-moreno", "David Moreno", timezone="America/New_York")
    old = await _invite(harness)
    harness.clock.advance(timedelta(days=7))
    fresh = await _invite(harness, "david-moreno")
    someone, david = harness.person("Mallory"), harness.person("David")
    for person in (someone, david):
        await _onboard(harness, person)

    await harness.send_text(someone, f"/start inv_{old}")
    assert harness.last_text(someone) == "This invite link has expired. Ask the operator for a new one."
    await harness.send_text(david, f"/start inv_{fresh}")
    assert harness.last_text(david).startswith("Welcome, David Moreno!")
    await harness.send_text(someone, f"/start inv_{fresh}")
    assert harness.last_text(someone) == "This invite link has already been used. Ask the operator for a new one."
    unknown = "I don't know this invite link. Check that you copied all of it, or ask the operator for a new one."
    for payload in ("inv_nosuchtoken", "inv_" + "x" * 60, "inv_a.b"):
        await harness.send_text(someone, f"/start {payload}")
        assert harness.last_text(someone) == unknown
    assert await _linked_id(harness) is None
    assert await _linked_id(harness, "david-moreno") == david.id


async def test_conflicting_links_are_refused_until_an_operator_relinks(harness: BotHarness) -> None:
    await add_professional(harness)
    await add_professional(harness, "david-moreno", "David Moreno", timezone="America/New_York")
    anna, new_phone = harness.person("Anna"), harness.person("Anna")
    for person in (anna, new_phone):
        await _onboard(harness, person)
    await harness.send_text(anna, f"/start inv_{await _invite(harness)}")

    # Anna's account cannot become David's chat too.
    davids = await _invite(harness, "david-moreno")
    await harness.send_text(anna, f"/start inv_{davids}")
    assert harness.last_text(anna) == (
        "This Telegram account is already linked to another professional's profile (Anna Koval). "
        "One account can be linked to one profile: ask the operator for help."
    )
    # Another account cannot take Anna's profile over with a plain invite ...
    plain = await _invite(harness)
    await harness.send_text(new_phone, f"/start inv_{plain}")
    assert harness.last_text(new_phone) == (
        "Anna Koval's profile is already linked to another Telegram account. If that account is no longer "
        "yours, ask the operator to issue a new invite that replaces it."
    )
    assert await _linked_id(harness) == anna.id
    async with harness.db() as session:
        unused = {i.token for i in await session.scalars(select(Invite).where(Invite.used_at.is_(None)))}
    assert unused == {davids, plain}
    # ... but with one the operator issued with --relink.
    await harness.send_text(new_phone, f"/start inv_{await _invite(harness, relink=True)}")
    assert harness.last_text(new_phone).startswith("Welcome, Anna Koval!")
    assert await _linked_id(harness) == new_phone.id
    await harness.send_text(anna, "/agenda")
    assert harness.last_text(anna) == FOR_PROS


# --- notifications ---------------------------------------------------------------------------------


async def test_notifications_reach_the_professional_and_survive_a_telegram_failure(harness: BotHarness) -> None:
    _, service_id = await add_professional(harness)
    anna, olena = harness.person("Anna"), harness.person("Olena")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena)
    mark = harness.mark()
    booking_id = await book(harness, olena, service_id, THU_0900, notes="Captions, please")
    harness.session.fail_next("sendMessage", 502, "Bad Gateway")
    await harness.run_worker()
    assert harness.messages_since(mark, anna) == []
    harness.clock.advance(backoff(1))
    await harness.run_worker()
    [new] = harness.messages_since(mark, anna)
    assert new.text == (
        "📅 New booking\n"
        "Client: Olena\n"
        "Service: Coaching session (video, 50 minutes)\n"
        f"When: {_when(THU_0900)}\n"
        f"Olena's time: {_when(THU_0900, NEW_YORK)}\n"
        f"Price: {EUR_60}\n"
        "Notes: Captions, please"
    )
    assert [b["text"] for b in new.inline_buttons()] == ["Open my agenda"]

    mark = harness.mark()
    async with harness.db() as session:
        await booking.reschedule(session, booking_id, FRI_0900, by="client", now=harness.clock.now())
    await harness.run_worker()
    [moved] = harness.messages_since(mark, anna)
    assert moved.text == (
        "🔁 Booking moved by the client\n"
        f"From: {_when(THU_0900)}\n"
        "Client: Olena\n"
        "Service: Coaching session (video, 50 minutes)\n"
        f"To: {_when(FRI_0900)}\n"
        f"Olena's time: {_when(FRI_0900, NEW_YORK)}\n"
        "Notes: Captions, please"
    )

    mark = harness.mark()
    async with harness.db() as session:
        await booking.cancel(session, booking_id, by="client", now=harness.clock.now(), reason="Feeling unwell")
    await harness.run_worker()
    [cancelled] = harness.messages_since(mark, anna)
    assert cancelled.text == (
        "❌ Booking cancelled by the client\n"
        "Client: Olena\n"
        "Service: Coaching session (video, 50 minutes)\n"
        f"Was: {_when(FRI_0900)}\n"
        f"Olena's time: {_when(FRI_0900, NEW_YORK)}\n"
        "Reason: Feeling unwell\n"
        "The time is free for other bookings again."
    )
    # The button under a notification opens the agenda.
    await harness.press_button(anna, "Open my agenda")
    assert harness.last_text(anna).startswith(f"Your agenda, times in {KYIV_ZONE}")


async def test_a_client_in_the_same_zone_gets_no_second_time(harness: BotHarness) -> None:
    _, service_id = await add_professional(harness)
    anna, olena = harness.person("Anna"), harness.person("Olena")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena, timezone="Europe/Kyiv")
    await book(harness, olena, service_id, MON_1330)
    await harness.run_worker()
    assert harness.last_text(anna) == (
        "📅 New booking\n"
        "Client: Olena\n"
        "Service: Coaching session (video, 50 minutes)\n"
        f"When: {_when(MON_1330)}\n"
        f"Price: {EUR_60}"
    )


# --- /agenda ---------------------------------------------------------------------------------------


async def test_agenda_is_for_linked_professionals_only(harness: BotHarness) -> None:
    await add_professional(harness)
    olena = harness.person("Olena")
    await _onboard(harness, olena)
    for command in ("/agenda", "/hours"):
        await harness.send_text(olena, command)
        assert harness.last_text(olena) == FOR_PROS
    before = harness.mark()
    await harness.press(olena, AgendaCb())
    assert harness.popup() == STALE
    assert only_stale_help(harness.messages_since(before))


async def test_help_lists_the_professional_commands_to_professionals_only(harness: BotHarness) -> None:
    await add_professional(harness)
    olena, anna = harness.person("Olena"), harness.person("Anna")
    for person in (olena, anna):
        await _onboard(harness, person)
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(olena, "/help")
    assert "/agenda" not in harness.last_text(olena)
    await harness.send_text(anna, "/help")
    assert harness.last_text(anna).endswith(GREETING_TAIL.partition("\n")[2])


async def test_agenda_marks_completed_and_no_show(harness: BotHarness) -> None:
    _, service_id = await add_professional(harness)
    anna, olena, petro = harness.person("Anna"), harness.person("Olena"), harness.person("Petro")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena)
    await add_client(harness, petro, timezone="Europe/Kyiv")
    first = await book(harness, olena, service_id, MON_0900, notes="Captions, please")
    second = await book(harness, petro, service_id, MON_1000)
    # A hold that has run out (the worker has not expired it yet) is no session.
    await book(harness, olena, service_id, datetime(2026, 11, 25, 10, 0, tzinfo=UTC), confirm=False)
    harness.clock.set(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))  # 10:30 in Kyiv
    await book(harness, olena, service_id, TUE_0900, confirm=False)

    await harness.send_text(anna, "/agenda")
    assert harness.last_text(anna) == (
        f"Your agenda, times in {KYIV_ZONE}\n\n"
        f"Today, {_day(MON_0900)}\n"
        f"• {_clock(MON_0900)}–{_clock(MON_0900 + SESSION)} Olena · Coaching session\n"
        "   Notes: Captions, please\n"
        f"• {_clock(MON_1000)}–{_clock(MON_1000 + SESSION)} Petro · Coaching session\n\n"
        f"{_day(TUE_0900)}\n"
        f"• {_clock(TUE_0900)}–{_clock(TUE_0900 + SESSION)} Olena · Coaching session (awaiting payment)"
    )
    assert [b["text"] for b in harness.buttons(anna)] == [
        f"✓ Completed: {_clock(MON_0900)} Olena",
        f"✗ No-show: {_clock(MON_0900)} Olena",
        f"✓ Completed: {_clock(MON_1000)} Petro",
        f"✗ No-show: {_clock(MON_1000)} Petro",
        f"⚙ Cancel or move: {_day(TUE_0900)}, {_clock(TUE_0900)} Olena",
        "⚡ Available now…",
        "↻ Refresh",
    ]
    agenda_message = harness.last_message(anna)

    await harness.press_button(anna, f"✓ Completed: {_clock(MON_0900)} Olena")
    assert harness.last_text(anna).startswith(f"Marked completed: Olena, {_clock(MON_0900)}.\n\nYour agenda")
    completed = f"• {_clock(MON_0900)}–{_clock(MON_0900 + SESSION)} Olena · Coaching session (completed)"
    assert completed in harness.last_text(anna)
    await harness.press_button(anna, f"✗ No-show: {_clock(MON_1000)} Petro")
    # A no-show is asked about first (tests/bot/test_pro_sessions.py follows it further).
    assert harness.last_text(anna).startswith(f"Mark Petro's session ({_when(MON_1000)}) as a no-show?")
    await harness.press_button(anna, "Yes, mark as no-show")
    assert harness.last_text(anna).startswith(f"Marked as a no-show: Petro, {_clock(MON_1000)}.")
    assert (await state_of(harness, first), await state_of(harness, second)) == ("completed", "no_show")
    assert [b["text"] for b in harness.buttons(anna)] == [
        f"↶ Undo no-show: {_clock(MON_1000)} Petro",
        f"⚙ Cancel or move: {_day(TUE_0900)}, {_clock(TUE_0900)} Olena",
        "⚡ Available now…",
        "↻ Refresh",
    ]

    # The same button once more, from the first agenda message: it says how things stand.
    await harness.press(anna, MarkCb(id=first, outcome="missed"), agenda_message)
    assert harness.last_text(anna).startswith("That session was already marked or cancelled; here is how it stands.")
    assert await state_of(harness, first) == "completed"


async def test_forged_agenda_buttons_change_nothing(harness: BotHarness) -> None:
    _, anna_service = await add_professional(harness)
    _, david_service = await add_professional(harness, "david-moreno", "David Moreno", timezone="Europe/Kyiv")
    anna, olena = harness.person("Anna"), harness.person("Olena")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena)
    davids = await book(harness, olena, david_service, MON_0900)
    upcoming = await book(harness, olena, anna_service, MON_1330)
    harness.clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    await harness.send_text(anna, "/agenda")
    before = harness.mark()

    for forged in (MarkCb(id=davids, outcome="done"), MarkCb(id=999_999, outcome="done"), "agm:1"):
        await harness.press(anna, forged)
        assert harness.popup() == STALE
    await harness.press(anna, MarkCb(id=upcoming, outcome="shrug"))
    assert harness.popup() == STALE
    await harness.press(anna, MarkCb(id=upcoming, outcome="done"))
    assert harness.popup() == "You can mark a session once it has begun."
    # Someone who is no professional at all, with Anna's own button.
    await harness.press(olena, MarkCb(id=upcoming, outcome="missed"))
    assert harness.popup() == STALE
    assert only_stale_help(harness.messages_since(before))
    assert (await state_of(harness, davids), await state_of(harness, upcoming)) == ("confirmed", "confirmed")


async def test_agenda_lists_unmarked_sessions_of_earlier_days(harness: BotHarness) -> None:
    _, service_id = await add_professional(harness)
    anna, olena = harness.person("Anna"), harness.person("Olena")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena)
    await book(harness, olena, service_id, MON_1330)
    harness.clock.set(datetime(2026, 11, 24, 6, 0, tzinfo=UTC))  # Tuesday 08:00 in Kyiv
    await harness.send_text(anna, "/agenda")
    assert harness.last_text(anna) == (
        f"Your agenda, times in {KYIV_ZONE}\n\n"
        "Waiting for your mark:\n"
        f"• {_day(MON_1330)}, {_clock(MON_1330)}–{_clock(MON_1330 + SESSION)} Olena · Coaching session\n\n"
        f"Today, {_day(TUE_0900)}\n"
        "No sessions.\n\n"
        "Nothing booked for the next six days."
    )
    await harness.press_button(anna, f"✓ Completed: {_clock(MON_1330)} Olena")
    assert harness.last_text(anna).startswith(f"Marked completed: Olena, {_clock(MON_1330)}.")


# --- /hours ----------------------------------------------------------------------------------------

# Weekday names as /hours writes them (CLDR, via Babel).
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = (_weekday_name(day, "en") for day in range(7))
MON, TUE, WED, _, FRI, SAT, _ = (_weekday_name(day, "en", "abbreviated") for day in range(7))


def _hours(*typed: str) -> str:
    """Windows as /hours shows them in English (the locale's clock style), from how they are typed."""
    return format_windows([parse_window(piece) for piece in typed], "en")


WORKDAY_TEXT = _hours("09:00-12:00", "13:30-17:00")
OVERVIEW = (
    f"Your weekly hours, in {KYIV_LABEL}:\n"
    f"{MONDAY}: {WORKDAY_TEXT}\n"
    f"{TUESDAY}: {WORKDAY_TEXT}\n"
    f"{WEDNESDAY}: {_hours('12:00-20:00')}\n"
    f"{THURSDAY}: {WORKDAY_TEXT}\n"
    f"{FRIDAY}: {_hours('09:00-13:00')}\n"
    f"{SATURDAY}: no hours\n"
    f"{SUNDAY}: no hours\n\n"
    "Days off ahead:\n"
    "none\n\n"
    "Bookings already made are never moved by a change here."
)
MONDAY_QUESTION = (
    f"{MONDAY} now: {WORKDAY_TEXT}.\n"
    f"Type the new hours for {MONDAY} in {KYIV_LABEL}, e.g. 9-17, or several separated by commas, "
    "e.g. 09:00-12:00, 13:30-17:00. Type “off” for no hours that day."
)
DAYS_OFF_QUESTION = (
    "Which days do you take off? Type a date, e.g. 23.12.2026, or a range, e.g. 23.12.2026 - 25.12.2026 "
    "(both days included). You can add several, one after another."
)


async def _weekly(harness: BotHarness, weekday: int) -> list[tuple[int, int]]:
    async with harness.db() as session:
        rows = await session.scalars(
            select(WeeklyWindow).where(WeeklyWindow.weekday == weekday).order_by(WeeklyWindow.starts)
        )
        return [(row.starts, row.ends) for row in rows]


async def _time_off(harness: BotHarness) -> list[tuple[date, date]]:
    async with harness.db() as session:
        rows = await session.scalars(select(TimeOff).order_by(TimeOff.first_day))
        return [(row.first_day, row.last_day) for row in rows]


async def test_hours_change_a_weekday_with_bad_input_first(harness: BotHarness) -> None:
    _, service_id = await add_professional(harness)
    anna, olena = harness.person("Anna"), harness.person("Olena")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena)
    await book(harness, olena, service_id, MON_0900 + WEEK)  # next Monday 09:00

    await harness.send_text(anna, "/hours")
    assert harness.last_text(anna) == OVERVIEW
    assert [b["text"] for b in harness.buttons(anna)] == [
        *(_weekday_name(day, "en", "abbreviated") for day in range(7)), "Add days off", "Remove days off",
        "Other hours on a date",
    ]  # fmt: skip
    await harness.press_button(anna, MON)
    assert harness.last_text(anna) == MONDAY_QUESTION
    bad = {
        "nine-12": "“nine-12” is not HH:MM-HH:MM, e.g. 09:00-12:00.",
        "09:00-12:00, 11:00-13:00": f"{_hours('09:00-12:00')} and {_hours('11:00-13:00')} overlap.",
        "x" * 4000: f"“{'x' * 59}…” is not HH:MM-HH:MM, e.g. 09:00-12:00.",
        "12:00-09:00": (
            "“12:00-09:00” ends before it starts. Hours cannot cross midnight: "
            "end at 24:00 and start the next day at 00:00."
        ),
        "25:00-26:00": "“25:00-26:00” starts at no time of day (00:00 to 23:59).",
        "10:00-24:30": "“10:00-24:30” ends at no time of day (00:01 to 24:00).",
        "10:00-10:00": "“10:00-10:00” starts and ends at the same time.",
    }
    for typed, problem in bad.items():
        await harness.send_text(anna, typed)
        assert harness.last_text(anna) == f"{problem}\n\n{MONDAY_QUESTION}"
    await harness.send_sticker(anna)
    assert harness.last_text(anna) == f"{NOT_UNDERSTOOD}\n\n{MONDAY_QUESTION}"
    assert await _weekly(harness, 0) == [(540, 720), (810, 1020)]

    await harness.send_text(anna, "13:00 - 24:00; 10:00-12:00")
    text = harness.last_text(anna)
    assert text.startswith(
        f"Saved: {MONDAY}: {_hours('10:00-12:00', '13:00-24:00')}.\n\n"
        "These sessions are outside your hours now. They stay booked: nothing was moved or cancelled. "
        "Talk to the client if one should change:\n"
        f"• {_day(MON_0900 + WEEK)}, {_clock(MON_0900 + WEEK)} Olena · Coaching session\n\n"
        f"Your weekly hours, in {KYIV_LABEL}:\n"
        f"{MONDAY}: {_hours('10:00-12:00', '13:00-24:00')}\n"
    )
    assert await _weekly(harness, 0) == [(600, 720), (780, 1440)]
    # The state is over: text is no longer read as hours.
    await harness.send_text(anna, "09:00-10:00")
    assert harness.last_text(anna) == "Sorry, I didn't understand that. /help lists what I can do."


async def test_hours_day_off_by_button_and_by_word(harness: BotHarness) -> None:
    await add_professional(harness)
    anna = harness.person("Anna")
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/hours")
    await harness.press_button(anna, FRI)
    await harness.press_button(anna, f"No hours on {FRIDAY}")
    assert harness.last_text(anna).startswith(f"Saved: {FRIDAY}: no hours.\n\nYour weekly hours")
    await harness.press_button(anna, SAT)
    await harness.send_text(anna, "10:00-14:00")
    await harness.press_button(anna, WED)
    await harness.send_text(anna, "OFF")
    assert harness.last_text(anna).startswith(f"Saved: {WEDNESDAY}: no hours.")
    assert (await _weekly(harness, 4), await _weekly(harness, 5), await _weekly(harness, 2)) == ([], [(600, 840)], [])
    await harness.press(anna, WeekdayCb(weekday=9, off=True))
    assert harness.popup() == STALE


async def test_days_off_added_merged_and_removed(harness: BotHarness) -> None:
    _, service_id = await add_professional(harness)
    anna, olena = harness.person("Anna"), harness.person("Olena")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena)
    await book(harness, olena, service_id, DEC_24)
    await harness.send_text(anna, "/hours")
    await harness.press_button(anna, "Add days off")
    assert harness.last_text(anna) == DAYS_OFF_QUESTION
    bad = {
        "tomorrow": "“tomorrow” is not a date: type it as 24.12.2026, 24.12 or 2026-12-24.",
        "2026-13-01": "“2026-13-01” is not a date: type it as 24.12.2026, 24.12 or 2026-12-24.",
        "2026-12-26..2026-12-24": "“2026-12-26..2026-12-24” ends before it starts.",
        "y" * 4000: f"“{'y' * 59}…” is not a date: type it as 24.12.2026, 24.12 or 2026-12-24.",
        "2026-11-20": "That date has passed.",
        "2026-01-01..2027-06-01": "That is more than 366 days at once.",
    }
    for typed, problem in bad.items():
        await harness.send_text(anna, typed)
        assert harness.last_text(anna) == f"{problem}\n\n{DAYS_OFF_QUESTION}"
    await harness.send_photo(anna)
    assert harness.last_text(anna) == f"{NOT_UNDERSTOOD}\n\n{DAYS_OFF_QUESTION}"

    await harness.send_text(anna, "2026-12-24..2026-12-26")
    saved = harness.texts(anna)[-2]
    assert saved.startswith(f"Days off: {_day(DEC_24)} – {_day(DEC_24 + 2 * DAY)}. Clients can't book those days.\n\n")
    assert saved.endswith(DAYS_OFF_QUESTION)
    # Then each session on the new days off, to cancel or move (tests/bot/test_pro_sessions.py).
    assert harness.last_text(anna).startswith("These sessions fall on your days off.")
    # Several in a row, as people type dates: the step stays open until "Done".
    await harness.send_text(anna, "27.12")
    assert harness.last_text(anna).startswith(f"Days off: {_day(DEC_24)} – {_day(DEC_24 + 3 * DAY)}.")
    await harness.send_text(anna, "05.01.2027")
    assert await _time_off(harness) == [(date(2026, 12, 24), date(2026, 12, 27)), (date(2027, 1, 5), date(2027, 1, 5))]
    await harness.send_text(anna, "2027-01-10 - 2027-01-11")
    await harness.send_text(anna, "20.01–21.01")
    assert (await _time_off(harness))[2:] == [
        (date(2027, 1, 10), date(2027, 1, 11)),
        (date(2027, 1, 20), date(2027, 1, 21)),
    ]
    await harness.press_button(anna, "Done")
    assert f"Days off ahead:\n• {_day(DEC_24)} – {_day(DEC_24 + 3 * DAY)}\n" in harness.last_text(anna)
    for first in (date(2027, 1, 10), date(2027, 1, 20)):
        async with harness.db() as session:
            row = (await session.scalars(select(TimeOff).where(TimeOff.first_day == first))).one()
        await harness.press(anna, RemoveOffCb(id=row.id))

    await harness.press_button(anna, "Remove days off")
    assert harness.last_text(anna) == "Which days off should become working days again?"
    assert [b["text"] for b in harness.buttons(anna)] == [
        f"✕ {_day(DEC_24)} – {_day(DEC_24 + 3 * DAY)}",
        f"✕ {_day(JAN_5)}",
        "◀ Back to my hours",
    ]
    await harness.press_button(anna, f"✕ {_day(JAN_5)}")
    assert harness.last_text(anna).startswith(
        f"Removed from your days off: {_day(JAN_5)}. Clients can book those days again."
    )
    assert await _time_off(harness) == [(date(2026, 12, 24), date(2026, 12, 27))]


async def test_forged_day_off_removal_changes_nothing(harness: BotHarness) -> None:
    await add_professional(harness)
    david_id, _ = await add_professional(harness, "david-moreno", "David Moreno")
    async with harness.db() as session:
        davids = TimeOff(professional_id=david_id, first_day=date(2026, 12, 1), last_day=date(2026, 12, 2))
        session.add(davids)
        await session.flush()
        davids_id = davids.id
    anna = harness.person("Anna")
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/hours")
    await harness.press_button(anna, "Remove days off")
    assert harness.last_text(anna) == "You have no days off ahead."
    await harness.press(anna, RemoveOffCb(id=davids_id))
    assert harness.popup() == STALE
    assert await _time_off(harness) == [(date(2026, 12, 1), date(2026, 12, 2))]


async def test_hours_text_from_someone_unlinked_meanwhile(harness: BotHarness) -> None:
    await add_professional(harness)
    anna = harness.person("Anna")
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/hours")
    await harness.press_button(anna, TUE)
    async with harness.db() as session:
        professional = (await session.scalars(select(Professional))).one()
        professional.telegram_id = None
    await harness.send_text(anna, "10:00-11:00")
    assert harness.last_text(anna) == FOR_PROS
    assert await _weekly(harness, 1) == [(540, 720), (810, 1020)]
