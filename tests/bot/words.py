"""Expected wording built with the render helpers the bot itself uses, so flow tests keep their full-string
assertions without spelling out Babel's CLDR output (that is pinned once, in tests/bot/test_render.py).

Times are given as Kyiv wall-clock text ("2026-11-24 09:00", as `kyiv_time` reads it) and shown in any zone.
No-break spaces are made plain, as `last` and `labels` in catalog_data read the chat.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.render.dates import format_clock, format_day, format_instant, zone_suffix
from bot.render.money import format_money
from handlers.client_wording import deadline_label, long_day, short_day, week_label
from tests.bot.catalog_data import kyiv_time

KYIV = "Europe/Kyiv"
NEW_YORK = "America/New_York"
# The test clock's week (Monday 2026-11-23): both zones keep one offset through it.
_SOME_INSTANT = "2026-11-24 09:00"


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def when(kyiv_wall: str, zone: str = KYIV, locale: str = "en") -> str:
    """ "Tue, Nov 24, 2026, 9:00 AM (Kyiv, UTC+02:00)" for the instant at `kyiv_wall` in Kyiv."""
    return plain(format_instant(kyiv_time(kyiv_wall), zone, locale))


def deadline(kyiv_wall: str, hours: int, zone: str = KYIV, locale: str = "en") -> str:
    """ "Sat, Nov 28, 2:00 AM": `hours` before the instant at `kyiv_wall`, as the terms name a deadline."""
    return plain(deadline_label(kyiv_time(kyiv_wall) - timedelta(hours=hours), zone, locale))


def clock(kyiv_wall: str, zone: str = KYIV, locale: str = "en") -> str:
    """ "9:00 AM": the time of day only."""
    return plain(format_clock(kyiv_time(kyiv_wall), zone, locale))


def day(kyiv_wall: str, zone: str = KYIV, locale: str = "en") -> str:
    """ "Tue, Nov 24, 2026": the local date only."""
    return plain(format_day(kyiv_time(kyiv_wall), zone, locale))


def zone_of(zone: str = KYIV, locale: str = "en", kyiv_wall: str = _SOME_INSTANT) -> str:
    """ "Kyiv, UTC+02:00"."""
    return zone_suffix(zone, locale, kyiv_time(kyiv_wall))


def short(on: date, locale: str = "en") -> str:
    """ "Tue, Nov 24": a day button."""
    return plain(short_day(on, locale))


def long(on: date, locale: str = "en") -> str:
    """ "Tue, Nov 24, 2026"."""
    return plain(long_day(on, locale))


def week(monday: date, locale: str = "en") -> str:
    """ "Nov 23 – 29, 2026"."""
    return plain(week_label(monday, monday + timedelta(days=6), locale))


def money(amount_minor: int, currency: str = "EUR", locale: str = "en") -> str:
    """ "€60.00"."""
    return plain(format_money(amount_minor, currency, locale))
