"""Dates, times and durations for people, in their zone and locale (Babel), always with the zone shown.

en (Babel's en is en_US): "Tue, Dec 1, 2026, 9:00 AM (Kyiv, UTC+02:00)";
uk: "вт, 1 груд. 2026 р., 09:00 (Київ, UTC+02:00)".
"""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton, format_time

from bot.render.babel_locale import babel_locale
from bot.render.zones import UNIVERSAL, utc_offset, zone_city
from bot.services.timezones import canonical_zone, zone

# CLDR puts U+202F (narrow no-break space) before AM/PM and in some date patterns; some Telegram
# clients and fonts show it as a box. U+00A0 keeps "9:00 AM" on one line and renders everywhere.
_NARROW_NBSP = "\u202f"
_NBSP = "\u00a0"


def tidy_spaces(text: str) -> str:
    """Babel output with U+202F replaced by U+00A0 (see above)."""
    return text.replace(_NARROW_NBSP, _NBSP)


def _local(instant: datetime, zone_name: str) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware (UTC)")
    return instant.astimezone(zone(zone_name))


def format_day(instant: datetime, zone_name: str, locale: str) -> str:
    """ "Tue, Dec 1, 2026": the local date of `instant` in `zone_name`."""
    return tidy_spaces(format_skeleton("yMMMEd", _local(instant, zone_name), locale=babel_locale(locale)))


def format_clock(instant: datetime, zone_name: str, locale: str) -> str:
    """ "9:00 AM" / "09:00": the local time of day, no zone (use where the zone is shown nearby)."""
    return tidy_spaces(format_time(_local(instant, zone_name), format="short", locale=babel_locale(locale)))


def zone_suffix(zone_name: str, locale: str, at: datetime) -> str:
    """ "Kyiv, UTC+02:00": the zone part of `format_instant`, for headers over lists of bare times."""
    if canonical_zone(zone_name) == UNIVERSAL:
        return UNIVERSAL
    return f"{zone_city(zone_name, locale)}, {utc_offset(zone_name, at)}"


def format_instant(instant: datetime, zone_name: str, locale: str) -> str:
    """ "Tue, Dec 1, 2026, 9:00 AM (Kyiv, UTC+02:00)": an instant as the viewer in `zone_name` reads it."""
    return (
        f"{format_day(instant, zone_name, locale)}, {format_clock(instant, zone_name, locale)} "
        f"({zone_suffix(zone_name, locale, instant)})"
    )


def format_duration(minutes: int) -> str:
    """ "50 minutes", "1 hour", "1 hour 30 minutes" in the current locale (plural rules via ngettext)."""
    hours, rest = divmod(minutes, 60)
    parts: list[str] = []
    if hours:
        parts.append(ngettext("{n} hour", "{n} hours", hours).format(n=hours))
    if rest or not hours:
        parts.append(ngettext("{n} minute", "{n} minutes", rest).format(n=rest))
    return " ".join(parts)
