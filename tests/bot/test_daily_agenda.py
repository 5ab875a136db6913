"""The professional's daily agenda: off by default; once on, one message at 08:00 in their zone listing
that day's sessions, exactly once per day, across DST and zone changes; nothing on a day without
sessions; /daily turns it on and off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.updates import Person
from bot.render import Reader, format_clock, format_day
from bot.services import daily_agenda
from handlers.daily_agenda import DailyCb
from models import Booking, OutboxMessage, Professional
from tests.bot.catalog_data import Catalog, booked, client, kyiv_time, labels, last, press_label, with_catalog
from tests.bot.harness import BotHarness

KYIV = "Europe/Kyiv"
NEW_YORK = "America/New_York"


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


async def _anna(harness: BotHarness, catalog: Catalog, *, daily: bool = True) -> Person:
    """Anna, linked, reading English, with the daily agenda on (or left off)."""
    anna = await client(harness, "Anna")
    await harness.link_professional("anna-koval", anna)
    async with harness.db() as session:
        (await session.get_one(Professional, catalog.anna)).daily_agenda = daily
    return anna


async def _walk_to(harness: BotHarness, instant: datetime, person: Person) -> list[str]:
    """Move the clock to `instant`, run the worker twice; the texts `person` got meanwhile."""
    harness.clock.advance(instant - harness.clock.now())
    mark = harness.mark()
    await harness.run_worker()
    await harness.run_worker()
    return [message.text for message in harness.messages_since(mark, person)]


def _agendas(texts: list[str]) -> list[str]:
    return [text for text in texts if text.startswith("🗓 Today")]


def _line(starts: datetime, minutes: int, name: str, service: str, mode: str, zone: str = KYIV) -> str:
    ends = starts + timedelta(minutes=minutes)
    return f"• {format_clock(starts, zone, 'en')}–{format_clock(ends, zone, 'en')} {name} · {service} ({mode})"


async def _notes(harness: BotHarness, booking_id: int, notes: str) -> None:
    async with harness.db() as session:
        (await session.get_one(Booking, booking_id)).client_notes = notes


async def test_the_agenda_comes_at_eight_once_a_day_with_the_days_sessions(
    harness: BotHarness, catalog: Catalog
) -> None:
    anna = await _anna(harness, catalog)
    olena, petro = await client(harness, "Olena"), await client(harness, "Petro", zone=NEW_YORK)
    tue_10, tue_1430 = kyiv_time("2026-11-24 10:00"), kyiv_time("2026-11-24 14:30")
    wed_12 = kyiv_time("2026-11-25 12:00")
    first = await booked(harness, olena, catalog.coaching, tue_10)
    await _notes(harness, first, "Captions, please.")
    await booked(harness, petro, catalog.office, tue_1430)
    await booked(harness, olena, catalog.coaching, wed_12)

    assert _agendas(await _walk_to(harness, kyiv_time("2026-11-24 07:59"), anna)) == []
    (agenda,) = _agendas(await _walk_to(harness, kyiv_time("2026-11-24 08:00"), anna))
    day = format_day(tue_10, KYIV, "en")
    assert agenda.splitlines()[0].startswith(f"🗓 Today, {day}: 2 sessions (times in Kyiv")
    assert _line(tue_10, 50, "Olena", "Coaching session", "video") in agenda
    assert "   Notes: Captions, please." in agenda
    # Petro's zone is New York: the agenda speaks Anna's.
    assert _line(tue_1430, 50, "Petro", "Coaching session at the office", "in person") in agenda
    assert format_day(wed_12, KYIV, "en") not in agenda

    assert _agendas(await _walk_to(harness, kyiv_time("2026-11-24 08:30"), anna)) == []
    assert _agendas(await _walk_to(harness, kyiv_time("2026-11-24 11:00"), anna)) == []
    (wednesday,) = _agendas(await _walk_to(harness, kyiv_time("2026-11-25 08:00"), anna))
    assert ": 1 session (times in" in wednesday and _line(wed_12, 50, "Olena", "Coaching session", "video") in wednesday


async def test_it_is_off_unless_turned_on(harness: BotHarness, catalog: Catalog) -> None:
    anna = await _anna(harness, catalog, daily=False)
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-24 10:00"))
    assert _agendas(await _walk_to(harness, kyiv_time("2026-11-24 08:00"), anna)) == []
    async with harness.db() as session:
        kinds = set(await session.scalars(select(OutboxMessage.kind)))
    assert daily_agenda.DAILY_AGENDA not in kinds


async def test_a_day_without_sessions_sends_nothing_even_once_one_is_booked(
    harness: BotHarness, catalog: Catalog
) -> None:
    """Monday 08:00 Kyiv (the tests' start): nothing booked, no message; a booking at 09:00 for that
    afternoon brings Anna its notification, not a late agenda."""
    anna = await _anna(harness, catalog)
    assert _agendas(await _walk_to(harness, kyiv_time("2026-11-23 08:00"), anna)) == []
    olena = await client(harness)
    harness.clock.advance(timedelta(hours=1))
    await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-23 15:30"))
    texts = await _walk_to(harness, kyiv_time("2026-11-23 09:01"), anna)
    assert _agendas(texts) == [] and any(text.startswith("📅 New booking") for text in texts)
    async with harness.db() as session:
        (row,) = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == daily_agenda.DAILY_AGENDA))
    assert row.key == f"daily_agenda_pro:{catalog.anna}:2026-11-23"
    assert (row.sent_at, row.void_reason) == (None, daily_agenda.NO_SESSIONS)


async def test_eight_oclock_follows_the_zone_across_a_dst_change(harness: BotHarness, catalog: Catalog) -> None:
    """Kyiv moves to summer time (UTC+3) on Sunday 2027-03-28: 08:00 is 06:00 UTC on Friday the 26th
    and 05:00 UTC on Monday the 29th."""
    anna = await _anna(harness, catalog)
    harness.clock.advance(datetime(2027, 3, 22, 6, 0, tzinfo=UTC) - harness.clock.now())
    olena = await client(harness)
    fri, mon = kyiv_time("2027-03-26 10:00"), datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # both 10:00 in Kyiv
    await booked(harness, olena, catalog.coaching, fri)
    await booked(harness, olena, catalog.coaching, mon)

    assert _agendas(await _walk_to(harness, datetime(2027, 3, 26, 5, 59, tzinfo=UTC), anna)) == []
    (friday,) = _agendas(await _walk_to(harness, datetime(2027, 3, 26, 6, 0, tzinfo=UTC), anna))
    assert _line(fri, 50, "Olena", "Coaching session", "video") in friday
    assert _agendas(await _walk_to(harness, datetime(2027, 3, 29, 4, 59, tzinfo=UTC), anna)) == []
    (monday,) = _agendas(await _walk_to(harness, datetime(2027, 3, 29, 5, 0, tzinfo=UTC), anna))
    assert format_clock(mon, KYIV, "en") == format_clock(fri, KYIV, "en")  # 10:00 both days
    assert _line(mon, 50, "Olena", "Coaching session", "video") in monday
    assert _agendas(await _walk_to(harness, datetime(2027, 3, 29, 12, 0, tzinfo=UTC), anna)) == []


async def test_a_zone_change_brings_no_second_agenda_the_same_day(harness: BotHarness, catalog: Catalog) -> None:
    anna = await _anna(harness, catalog)
    olena = await client(harness)
    tue, wed = kyiv_time("2026-11-24 14:30"), kyiv_time("2026-11-25 14:00")
    await booked(harness, olena, catalog.coaching, tue)
    await booked(harness, olena, catalog.coaching, wed)
    assert len(_agendas(await _walk_to(harness, kyiv_time("2026-11-24 08:00"), anna))) == 1

    # She flies to New York: Tuesday 08:00 there is 15:00 in Kyiv, and Tuesday had its agenda.
    async with harness.db() as session:
        (await session.get_one(Professional, catalog.anna)).timezone = NEW_YORK
    assert _agendas(await _walk_to(harness, datetime(2026, 11, 24, 13, 0, tzinfo=UTC), anna)) == []
    # Wednesday comes at 08:00 New York time (13:00 UTC), not Kyiv's, in New York's times.
    assert _agendas(await _walk_to(harness, datetime(2026, 11, 25, 12, 59, tzinfo=UTC), anna)) == []
    (wednesday,) = _agendas(await _walk_to(harness, datetime(2026, 11, 25, 13, 0, tzinfo=UTC), anna))
    assert "(times in New York" in wednesday
    assert _line(wed, 50, "Olena", "Coaching session", "video", zone=NEW_YORK) in wednesday


async def test_turned_off_after_it_was_queued_it_is_not_sent(harness: BotHarness, catalog: Catalog) -> None:
    anna = await _anna(harness, catalog)
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-24 10:00"))
    harness.clock.advance(kyiv_time("2026-11-24 08:00") - harness.clock.now())
    async with harness.db() as session:
        assert await daily_agenda.queue_daily_agendas(session, harness.clock.now()) == 1
        (await session.get_one(Professional, catalog.anna)).daily_agenda = False
    assert _agendas(await _walk_to(harness, kyiv_time("2026-11-24 08:01"), anna)) == []
    async with harness.db() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == daily_agenda.DAILY_AGENDA))
    assert row is not None and row.sent_at is None and "turned the daily agenda off" in (row.void_reason or "")


async def test_daily_turns_it_on_and_off_in_chat(harness: BotHarness, catalog: Catalog) -> None:
    anna = await _anna(harness, catalog, daily=False)
    olena = await client(harness)
    await harness.send_text(olena, "/daily")
    assert last(harness, olena).startswith("This is for professionals")

    await harness.send_text(anna, "/daily")
    assert last(harness, anna).startswith("🗓 Daily agenda: off.") and "08:00 (Kyiv" in last(harness, anna)
    assert labels(harness, anna) == ["Turn it on"]
    stale_on = harness.last_message(anna)
    await press_label(harness, anna, "Turn it on")
    assert last(harness, anna).startswith("Turned on.\n\n🗓 Daily agenda: on.")
    assert labels(harness, anna) == ["Turn it off"]
    # The old "Turn it on" pressed again: nothing changes, and it says so.
    await harness.press(anna, DailyCb(on=1), stale_on)
    assert last(harness, anna).startswith("It was already on.")
    async with harness.db() as session:
        assert (await session.get_one(Professional, catalog.anna)).daily_agenda is True

    # Someone not linked pressing a forged one changes nobody's setting.
    await harness.press(olena, DailyCb(on=0))
    assert harness.popup() == "This button is no longer available."
    async with harness.db() as session:
        assert (await session.get_one(Professional, catalog.anna)).daily_agenda is True

    await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-24 10:00"))
    assert len(_agendas(await _walk_to(harness, kyiv_time("2026-11-24 08:00"), anna))) == 1
    await press_label(harness, anna, "Turn it off")
    assert last(harness, anna).startswith("Turned off.")
    assert _agendas(await _walk_to(harness, kyiv_time("2026-11-25 08:00"), anna)) == []


def test_a_long_day_fits_in_one_message_and_speaks_the_professionals_language(harness: BotHarness) -> None:
    """Forty sessions with long notes: whole sessions are left out from the end, and it says how many."""
    starts = kyiv_time("2026-11-24 08:00")
    sessions = [
        daily_agenda.AgendaSession(
            starts + timedelta(minutes=20 * n),
            starts + timedelta(minutes=20 * n + 15),
            "Olena",
            "Call",
            "video",
            "x" * 300,
        ).to_json()
        for n in range(40)
    ]
    payload = {"day": "2026-11-24", "day_starts_at": starts.isoformat(), "zone": KYIV, "sessions": sessions}
    worker = harness.app.worker
    english = worker.renderers.render(daily_agenda.DAILY_AGENDA, payload, Reader("en", KYIV), worker.i18n).text
    assert len(english) <= 4096 and english.startswith("🗓 Today, ") and ": 40 sessions (times in" in english
    shown = english.count("\n• ")
    assert 0 < shown < 40 and english.endswith(f"… and {40 - shown} more sessions: see /agenda.")
    assert english.count("Notes: ") == shown  # each session shown whole, with its notes
    ukrainian = worker.renderers.render(daily_agenda.DAILY_AGENDA, payload, Reader("uk", KYIV), worker.i18n).text
    assert ukrainian.startswith("🗓 Сьогодні, ") and "(відео)" in ukrainian
