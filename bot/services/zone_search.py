"""Find a person's IANA time zone from what they type ("Kyiv", "Kiev", "new york", "Spain", "Іспанія")
or from a shared location. Telegram never tells us the zone (PITFALLS), so onboarding asks.

Searched names, compared case- and diacritics-insensitively:
- the city part of every zone name, underscores as spaces, old names included (Kiev -> Europe/Kyiv);
- Babel's localized city names in each given locale ("Київ");
- Babel's localized country names, each mapped to that country's zones: CLDR's main zones first,
  then tzdata's zone.tab order (most populous first), one zone per distinct clock (zones that always
  show the same time are one choice for a person), at most `limit` of them;
- a full IANA name ("Europe/Kyiv", "UTC").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from zoneinfo import available_timezones

import tzfpy
from babel import Locale
from babel.core import get_global

from bot.services.errors import InvalidTimeZone
from bot.services.timezones import canonical_zone, zone

MAX_RESULTS = 8
MAX_QUERY = 64
_REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}
)
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
# A January and a July instant: two zones with the same offsets at both keep the same clock.
_SEASONS = (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC))


def normalise(text: str) -> str:
    """ "São Paulo" -> "sao paulo", "New_York" -> "new york", "Київ" -> "киив" (marks dropped both sides)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", bare)).strip()


@dataclass(frozen=True)
class _ZoneRow:
    country: str
    zone: str
    latitude: float
    longitude: float


def _canonical(name: str) -> str | None:
    try:
        canonical = canonical_zone(get_global("zone_aliases").get(name, name))
        zone(canonical)
    except InvalidTimeZone:
        return None
    return canonical


@lru_cache(maxsize=1)
def _zone_table() -> tuple[_ZoneRow, ...]:
    """tzdata's zone.tab: country, coordinates and zone, countries' zones most populous first."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    rows: list[_ZoneRow] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        country, coordinates, name = line.split("\t")[:3]
        canonical = _canonical(name)
        if canonical is None:
            continue
        latitude, longitude = _parse_coordinates(coordinates)
        rows.append(_ZoneRow(country, canonical, latitude, longitude))
    return tuple(rows)


def _parse_coordinates(text: str) -> tuple[float, float]:
    """ISO 6709 as zone.tab writes it: +DDMM+DDDMM or +DDMMSS+DDDMMSS."""
    split = max(text.rfind("+"), text.rfind("-"))
    return _dms(text[:split], 2), _dms(text[split:], 3)


def _dms(part: str, degree_digits: int) -> float:
    sign = -1.0 if part[0] == "-" else 1.0
    digits = part[1:]
    degrees = int(digits[:degree_digits])
    minutes = int(digits[degree_digits : degree_digits + 2])
    seconds = int(digits[degree_digits + 2 :] or 0)
    return sign * (degrees + minutes / 60 + seconds / 3600)


def _clock(name: str) -> tuple[object, ...]:
    tz = zone(name)
    return tuple(moment.astimezone(tz).utcoffset() for moment in _SEASONS)


@lru_cache(maxsize=1)
def _country_zones() -> dict[str, tuple[str, ...]]:
    """Country code -> its zones, one per distinct clock, most populous first."""
    ordered: dict[str, list[str]] = {}
    for row in _zone_table():
        ordered.setdefault(row.country, []).append(row.zone)
    # Babel knows a few territories zone.tab files under another code; add them after.
    for country, names in get_global("territory_zones").items():
        extra = [c for c in (_canonical(n) for n in names) if c is not None]
        ordered.setdefault(country, []).extend(extra)
    # CLDR's "golden" zones (each Windows zone's IANA twin) first: Kyiv before Simferopol.
    golden = {_canonical(name) for name in get_global("windows_zone_mapping").values()}
    result: dict[str, tuple[str, ...]] = {}
    for country, names in ordered.items():
        seen_clocks: set[tuple[object, ...]] = set()
        chosen: list[str] = []
        for name in sorted(dict.fromkeys(names), key=lambda name: name not in golden):
            clock = _clock(name)
            if clock not in seen_clocks:
                seen_clocks.add(clock)
                chosen.append(name)
        result[country] = tuple(chosen)
    return result


@lru_cache(maxsize=1)
def _all_zones() -> dict[str, str]:
    """Every zone a person may pick (region/city names), old names included -> canonical name."""
    names: dict[str, str] = {}
    for name in available_timezones():
        if name.split("/")[0] not in _REGIONS:
            continue
        canonical = _canonical(name)
        if canonical is not None:
            names[name] = canonical
    return names


@lru_cache(maxsize=8)
def _index(locales: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Normalised name -> zones, over city parts, localized cities and localized country names."""
    index: dict[str, list[str]] = {}

    def add(key: str, zones: Iterable[str]) -> None:
        normal = normalise(key)
        if normal:
            index.setdefault(normal, []).extend(zones)

    for name, canonical in sorted(_all_zones().items()):
        add(name.rsplit("/", 1)[-1], [canonical])
    country_zones = _country_zones()
    for locale_name in locales:
        locale = Locale.parse(locale_name)
        for name, canonical in sorted(_all_zones().items()):
            city = locale.time_zones.get(name, {}).get("city")
            if city:
                add(str(city), [canonical])
        for code, country in locale.territories.items():
            if code in country_zones:
                add(str(country), country_zones[code])
    return {key: tuple(dict.fromkeys(zones)) for key, zones in index.items()}


def search_zones(query: str, locales: Iterable[str] = ("en",), limit: int = MAX_RESULTS) -> list[str]:
    """Canonical zone names matching `query`, best first, at most `limit`; [] when nothing matches.

    Exact names first, then names starting with the query, then names containing it. "New York, USA"
    is also tried part by part when the whole finds nothing.
    """
    query = query.strip()[:MAX_QUERY]
    if "/" in query or query.upper() in {"UTC", "GMT"}:
        canonical = _canonical(query.replace(" ", "_"))
        if canonical is not None:
            return [canonical]
    index = _index(tuple(sorted({"en", *locales})))
    found = _lookup(normalise(query), index)
    if not found and "," in query:
        for part in query.split(","):
            found.extend(_lookup(normalise(part), index))
    return list(dict.fromkeys(found))[:limit]


def _lookup(needle: str, index: dict[str, tuple[str, ...]]) -> list[str]:
    if not needle:
        return []
    found = list(index.get(needle, ()))
    if len(needle) >= 3:
        for key in sorted(index):
            if key != needle and key.startswith(needle):
                found.extend(index[key])
    if len(needle) >= 4:
        for key in sorted(index):
            if needle in key and not key.startswith(needle):
                found.extend(index[key])
    return found


def zone_at(latitude: float, longitude: float) -> str | None:
    """The zone of a shared location: tzfpy's polygons, else (open sea) the nearest zone.tab city."""
    found = tzfpy.get_tz(longitude, latitude)
    return _canonical(found) if found else _nearest_zone(latitude, longitude)


def _nearest_zone(latitude: float, longitude: float) -> str | None:
    def distance(row: _ZoneRow) -> float:
        # Haversine: the globe, not the map, decides what is near across the antimeridian.
        lat1, lat2 = math.radians(latitude), math.radians(row.latitude)
        dlat, dlon = lat2 - lat1, math.radians(row.longitude - longitude)
        a = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return 2 * math.asin(min(1.0, math.sqrt(a)))

    table = _zone_table()
    return min(table, key=distance).zone if table else None


def zone_country(name: str) -> str | None:
    """ISO 3166 code of the country a zone lies in (Europe/Kyiv -> "UA"), for crisis lines and the like."""
    canonical = _canonical(name)
    if canonical is None:
        return None
    for row in _zone_table():
        if row.zone == canonical:
            return row.country
    territory = get_global("zone_territories").get(canonical)
    return str(territory) if territory and territory != "001" else None
