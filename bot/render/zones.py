"""Time zone names for people: "Kyiv (UTC+02:00)", localized where Babel knows the city.

Babel keys its zone data by the old IANA names (Europe/Kiev, Asia/Calcutta, ...), so for the renamed
zones it loses both the metazone ("GMT+03:00" instead of "Eastern European Time") and the localized
city. `_patch_babel` copies the metazones across once (the workaround checked in PITFALLS.md) and
`zone_city` looks the city up under the old names too.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, cast

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location

from bot.services.timezones import canonical_zone, zone

if TYPE_CHECKING:
    from bot.services.zone_search import ZoneMatch

UNIVERSAL = "UTC"


def _patch_babel() -> None:
    # get_global hands out Babel's own dict (typed as a read-only Mapping): patching it is the point.
    meta_zones = cast(dict[str, str], get_global("meta_zones"))
    for old, new in get_global("zone_aliases").items():
        if old in meta_zones:
            meta_zones.setdefault(new, meta_zones[old])


_patch_babel()


@lru_cache(maxsize=1)
def _old_names() -> dict[str, tuple[str, ...]]:
    """Canonical name -> the old names Babel may hold its data under."""
    found: dict[str, list[str]] = {}
    for old, new in get_global("zone_aliases").items():
        found.setdefault(new, []).append(old)
    return {new: tuple(olds) for new, olds in found.items()}


@lru_cache(maxsize=4096)
def zone_city(name: str, locale: str) -> str:
    """The zone's city in `locale` ("Київ" for Europe/Kyiv in uk); the IANA city part where Babel has none."""
    canonical = canonical_zone(name)
    if canonical == UNIVERSAL:
        return UNIVERSAL
    data = Locale.parse(locale).time_zones
    for key in (canonical, *_old_names().get(canonical, ())):
        city = data.get(key, {}).get("city")
        if city:
            return str(city)
    return str(get_timezone_location(canonical, locale=locale, return_city=True))


def utc_offset(name: str, at: datetime) -> str:
    """ "UTC+02:00", "UTC-04:00", "UTC+05:30" at the instant `at` (offsets change with DST)."""
    offset = at.astimezone(zone(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_label(name: str, locale: str, at: datetime) -> str:
    """ "Kyiv (UTC+02:00)": what onboarding shows back and every time carries."""
    if canonical_zone(name) == UNIVERSAL:
        return UNIVERSAL
    return f"{zone_city(name, locale)} ({utc_offset(name, at)})"


def zone_choice(match: ZoneMatch, at: datetime) -> str:
    """A candidate's button: "Kharkiv, Ukraine (UTC+02:00)", "UTC" for UTC itself."""
    if canonical_zone(match.zone) == UNIVERSAL:
        return UNIVERSAL
    return f"{match.place_name} ({utc_offset(match.zone, at)})"
