"""Reading a free-text reply as the span of session starts it asks for.

The text is folded (lower case, accents and apostrophe variants removed) and read piece by piece, most
specific first: phrases about the session, dates with a month name (dateparser), clock times, numeric
dates, "in 2 days", parts of the day, day words, weekdays. Each piece found is blanked out so a
shorter reading cannot take it again ("por la mañana" before "mañana", "через 2 дня" before "дня").
What is left over is ignored; a text in which nothing was found is not understood.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from functools import cache
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.services.time_request import months
from bot.services.time_request.vocabulary import Part, Unit, Vocabulary

LANGUAGES = ("en", "es", "ru", "uk", "de", "fr")

# Where a part of the day starts and ends (the span a person asking for "the evening" means).
PART_SPANS = {
    Part.MORNING: (time(8), time(12)),
    Part.AFTERNOON: (time(12), time(17)),
    Part.EVENING: (time(17), time(21)),
}
LAST_MINUTE = time(23, 59)
MINUTE = timedelta(minutes=1)
_T = TypeVar("_T")


@dataclass(frozen=True)
class TimeRequest:
    """The earliest and latest session start asked for, aware, in the client's zone (equal for an exact time)."""

    earliest: datetime
    latest: datetime


@dataclass(frozen=True)
class _ClockTime:
    hour: int
    minute: int
    # "15:00" and "3 pm" say which half of the day they mean; "at 3" does not.
    explicit: bool


class _Span(Enum):
    BETWEEN = "between"
    AFTER = "after"
    BEFORE = "before"


@dataclass
class _Found:
    """Every piece the reading found; `_resolve` turns them into a span."""

    clock: _ClockTime | None = None
    # A span of clock times: "between 2 and 4pm" (clock to until), "after 5pm", "before noon".
    until: _ClockTime | None = None
    span: _Span | None = None
    part: Part | None = None
    part_is_today: bool = False
    day_offset: int | None = None
    exact_date: date | None = None
    date_has_year: bool = False
    day_of_month: int | None = None
    weekday: int | None = None
    next_week: bool = False
    weekend: bool = False
    from_now: timedelta | None = None
    # About the session
    shift: timedelta | None = None
    same_time: bool = False
    session_day: int | None = None
    earlier_that_day: bool = False
    later_that_day: bool = False

    def about_session(self) -> bool:
        return (
            self.shift is not None
            or self.same_time
            or self.session_day is not None
            or self.earlier_that_day
            or self.later_that_day
        )

    def anything(self) -> bool:
        return (
            self.about_session()
            or any(
                value is not None
                for value in (self.clock, self.part, self.day_offset, self.exact_date, self.day_of_month, self.weekday)
            )
            or (self.next_week or self.weekend or self.from_now is not None)
        )


def parse_time_request(
    text: str, *, lang: str, zone: ZoneInfo, now: datetime, session: datetime | None = None
) -> TimeRequest | None:
    """The session starts `text` asks for, or None when it is not about a time.

    `now` and `session` are aware instants; day words count from `now` in `zone`, phrases about the
    session ("an hour later", "same time next week") from `session`, keeping its wall-clock time.
    """
    return _read_in(text, lang, zone, now, session)[0]


@dataclass(frozen=True)
class LanguageReading:
    """A text read in the language that made the most of it."""

    request: TimeRequest
    lang: str
    # How many letters and digits of the (folded) text the reading used.
    covered: int


def read_in_languages(
    text: str, langs: Iterable[str], *, zone: ZoneInfo, now: datetime, session: datetime | None = None
) -> LanguageReading | None:
    """`text` read in each of `langs` (as `parse_time_request` does); the reading that used the most of
    it wins, the earlier language on a tie. So a client whose chat is in English but who writes
    "mañana por la tarde" is read in Spanish, and "завтра в 15:00" is not taken for "15:00 today"
    because English reads only the clock time. None when no language understands it."""
    best: LanguageReading | None = None
    for lang in dict.fromkeys(langs):
        request, covered = _read_in(text, lang, zone, now, session)
        if request is not None and (best is None or covered > best.covered):
            best = LanguageReading(request, lang, covered)
    return best


def _read_in(
    text: str, lang: str, zone: ZoneInfo, now: datetime, session: datetime | None
) -> tuple[TimeRequest | None, int]:
    if now.tzinfo is None or (session is not None and session.tzinfo is None):
        raise ValueError("now and session must be aware datetimes")
    reading = _Reading(text, _patterns(lang))
    before = reading.folded
    found = reading.read()
    if found is None or not found.anything():
        return None, 0
    covered = sum(1 for was, left in zip(before, reading.folded, strict=True) if was.isalnum() and left == " ")
    local_session = session.astimezone(zone) if session is not None else None
    return _resolve(found, now.astimezone(zone), local_session, zone), covered


# --- text folding ----------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})
_KEPT_PUNCTUATION = set(".:/-'@")


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` lower-cased without accents, other punctuation as spaces; and, for each folded
    character, the index of the original character it came from."""
    folded: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text.translate(_APOSTROPHES)):
        decomposed = unicodedata.normalize("NFD", char.lower())
        for piece in decomposed:
            if unicodedata.combining(piece):
                continue
            if not (piece.isalnum() or piece.isspace() or piece in _KEPT_PUNCTUATION):
                piece = " "
            folded.append(piece)
            origins.append(index)
    return "".join(folded), origins


def fold_phrase(phrase: str) -> str:
    return _fold(phrase)[0]


# --- patterns --------------------------------------------------------------------------------------


def _alternation(phrases: Iterable[str]) -> str:
    """A regex matching any of `phrases` (folded, longest first; a space or hyphen matches either)."""
    folded = sorted({fold_phrase(phrase) for phrase in phrases}, key=len, reverse=True)
    escaped = [re.sub(r"\\-|\\ | ", lambda _: r"[\s\-]+", re.escape(phrase)) for phrase in folded]
    return "(?:" + "|".join(escaped) + ")" if escaped else "(?!x)x"


def _word(pattern: str) -> str:
    return rf"(?<!\w)(?:{pattern})(?!\w)"


@dataclass(frozen=True)
class _Patterns:
    words: Vocabulary
    folded_numbers: dict[str, int]
    folded_units: dict[str, Unit]
    folded_parts: dict[str, Part]
    folded_parts_of_today: dict[str, Part]
    folded_day_words: dict[str, int]
    folded_weekdays: dict[str, int]
    folded_minute_words: dict[str, int]
    folded_spoken_hours: dict[str, int]
    folded_durations: dict[str, int]
    folded_session_days: dict[str, int]
    folded_earlier: frozenset[str]
    earlier_that_day: re.Pattern[str]
    later_that_day: re.Pattern[str]
    shifts: tuple[re.Pattern[str], ...]
    same_time: re.Pattern[str]
    session_days: re.Pattern[str]
    within: tuple[re.Pattern[str], ...]
    time_spans: tuple[re.Pattern[str], ...]
    dash_span: re.Pattern[str]
    after: re.Pattern[str]
    before: re.Pattern[str]
    am_pm: re.Pattern[str]
    colon_time: re.Pattern[str]
    hour_word_time: re.Pattern[str]
    at_time: re.Pattern[str]
    time_before_part: re.Pattern[str]
    spoken_hours: re.Pattern[str]
    iso_date: re.Pattern[str]
    numeric_dates: tuple[re.Pattern[str], ...]
    parts_of_today: re.Pattern[str]
    parts: re.Pattern[str]
    noon: re.Pattern[str]
    midnight: re.Pattern[str]
    day_words: re.Pattern[str]
    next_week: re.Pattern[str]
    weekend: re.Pattern[str]
    weekdays: re.Pattern[str]
    day_of_month: tuple[re.Pattern[str], ...]
    glued: re.Pattern[str] | None


def _folded_keys(table: dict[str, _T]) -> dict[str, _T]:
    return {_spaced(fold_phrase(key)): value for key, value in table.items()}


@cache
def _patterns(lang: str) -> _Patterns:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    words: Vocabulary = importlib.import_module(f"bot.services.time_request.{lang}").WORDS
    number = rf"(?:\d{{1,3}}|{_alternation(words.numbers)})"
    unit = _alternation(words.units)
    later_or_earlier = rf"(?P<dir>{_alternation(words.later + words.earlier)})"
    prefix = rf"(?:{_alternation(words.shift_prefix)}\s+)?" if words.shift_prefix else ""
    amount = rf"(?:(?:(?P<n>{number})\s*)?(?P<unit>{unit})|(?P<dur>{_alternation(words.durations)}))"
    # "позже на час" (ru, uk) puts the direction first, with its "на"; "après 17h" (fr) is no shift.
    shift_after_direction = (
        (re.compile(_word(rf"{later_or_earlier}\s+{_alternation(words.shift_prefix)}\s+{amount}")),)
        if words.shift_prefix
        else ()
    )
    hour_words = _alternation(words.hour_words)
    weak_hour_words = _alternation(words.weak_hour_words)
    minute_words = rf"(?:\s+(?P<mw>{_alternation(words.minute_words)}))?"
    any_part = _alternation(list(words.parts) + list(words.parts_of_today))
    not_a_date_after = r"(?![\d/]|\.\d|:\d)"
    # "il y a 2 semaines", "at 2 hours" are not clock times; "в 3 часа" is.
    durations_only = set(words.units) - set(words.hour_words) - set(words.weak_hour_words)
    not_a_duration_after = rf"(?!\s*{_alternation(durations_only)}(?!\w))"
    at = rf"(?:{_alternation(words.at_words)}\s+)?"

    def clock(key: str) -> str:
        """A clock time in a span, its pieces in groups named <key>h, <key>m, <key>ap, <key>noon, <key>midnight."""
        digits = (
            rf"(?P<{key}h>\d{{1,2}})(?:[:.h](?P<{key}m>\d{{2}}))?(?![\d/]|\.\d){not_a_duration_after}"
            rf"(?:\s*(?P<{key}ap>a\.?\s?m\.?|p\.?\s?m\.?)(?!\w))?"
            rf"(?:\s*(?P<{key}word>{_alternation(words.hour_words + words.weak_hour_words)})(?!\w))?"
        )
        named = rf"(?P<{key}noon>{_alternation(words.noon)})|(?P<{key}midnight>{_alternation(words.midnight)})"
        return rf"{at}(?:{digits}|{named})"

    return _Patterns(
        words=words,
        time_spans=tuple(
            re.compile(
                rf"(?<![\w.:/-]){_alternation([opening])}\s+{clock('a')}\s*{_alternation([joining])}\s+{clock('b')}(?!\w)"
            )
            for opening, joining in words.between
        ),
        dash_span=re.compile(rf"(?<![\w.:/-]){clock('a')}\s*[-–—]\s*{clock('b')}(?!\w)"),
        after=re.compile(rf"(?<!\w){_alternation(words.after)}\s+{clock('a')}(?!\w)"),
        before=re.compile(rf"(?<!\w){_alternation(words.before)}\s+{clock('a')}(?!\w)"),
        folded_numbers=_folded_keys(words.numbers),
        folded_units=_folded_keys(words.units),
        folded_parts=_folded_keys(words.parts),
        folded_parts_of_today=_folded_keys(words.parts_of_today),
        folded_day_words=_folded_keys(words.day_words),
        folded_weekdays=_folded_keys(words.weekdays),
        folded_minute_words=_folded_keys(words.minute_words),
        folded_spoken_hours=_folded_keys(words.spoken_hours),
        folded_durations=_folded_keys(words.durations),
        folded_session_days=_folded_keys(words.session_days),
        folded_earlier=frozenset(_folded_keys(dict.fromkeys(words.earlier, True))),
        earlier_that_day=re.compile(_word(_alternation(words.earlier_that_day))),
        later_that_day=re.compile(_word(_alternation(words.later_that_day))),
        shifts=(
            re.compile(_word(rf"{prefix}{amount}\s+{later_or_earlier}")),
            *shift_after_direction,
        ),
        same_time=re.compile(_word(_alternation(words.same_time))),
        session_days=re.compile(_word(_alternation(words.session_days))),
        within=(re.compile(_word(rf"{_alternation(words.within)}\s+{amount}")),),
        am_pm=re.compile(r"(?<![\w.:])(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ampm>a\.?\s?m\.?|p\.?\s?m\.?)(?!\w)"),
        colon_time=re.compile(rf"(?<![\w.:])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?:\s*{hour_words})?(?![\w:])"),
        hour_word_time=re.compile(
            rf"(?<![\w.:])(?P<h>\d{{1,2}})(?:[.](?P<m>\d{{2}}))?\s*{hour_words}(?:\s*(?P<m2>\d{{2}}))?{minute_words}(?!\w)"
        ),
        at_time=re.compile(
            rf"(?<!\w){_alternation(words.at_words)}\s+(?P<h>\d{{1,2}})(?:[.h](?P<m>\d{{2}}))?{not_a_date_after}"
            rf"{not_a_duration_after}(?:\s*{weak_hour_words})?{minute_words}(?!\w)"
        ),
        time_before_part=re.compile(
            rf"(?<![\w.:/])(?P<h>\d{{1,2}})(?:[.](?P<m>\d{{2}}))?{not_a_date_after}(?:\s*{weak_hour_words})?"
            rf"{minute_words}(?=\s+{any_part}(?!\w))"
        ),
        spoken_hours=re.compile(_word(rf"(?P<spoken>{_alternation(words.spoken_hours)}){minute_words}")),
        iso_date=re.compile(r"(?<![\w.:/-])(?P<y>\d{4})-(?P<a>\d{1,2})-(?P<b>\d{1,2})(?![\w:/-])"),
        # "14.12", "5.01", "5.1." and "14/12" (with a year or without); not "2.5" (hours) or "15.50" (money).
        numeric_dates=(
            re.compile(r"(?<![\w.:/])(?P<a>\d{1,2})\.(?P<b>\d{2}|\d(?=\.))(?:\.(?P<y>\d{4}|\d{2}))?\.?(?![\w:/]|\.\d)"),
            re.compile(r"(?<![\w.:/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\w:/.])"),
        ),
        parts_of_today=re.compile(_word(_alternation(words.parts_of_today))),
        parts=re.compile(_word(_alternation(words.parts))),
        noon=re.compile(_word(_alternation(words.noon))),
        midnight=re.compile(_word(_alternation(words.midnight))),
        day_words=re.compile(_word(_alternation(words.day_words))),
        next_week=re.compile(_word(_alternation(words.next_week))),
        weekend=re.compile(_word(_alternation(words.weekend))),
        weekdays=re.compile(_word(_alternation(words.weekdays))),
        day_of_month=tuple(re.compile(_word(pattern)) for pattern in words.day_of_month),
        glued=(
            re.compile(rf"(?<!\w){_alternation(words.weekdays)}(?P<part>{_alternation(words.glued_parts)})(?!\w)")
            if words.glued_parts
            else None
        ),
    )


# --- reading ---------------------------------------------------------------------------------------


class _Reading:
    def __init__(self, text: str, patterns: _Patterns) -> None:
        self.original = text
        self.folded, self.origins = _fold(text)
        self.patterns = patterns
        self.found = _Found()
        if patterns.glued is not None:
            self._unglue(patterns.glued)

    def _unglue(self, glued: re.Pattern[str]) -> None:
        """ "donnerstagabend" -> "donnerstag am abend", keeping each character's origin."""
        for match in reversed(list(glued.finditer(self.folded))):
            cut = match.start("part")
            self.folded = self.folded[:cut] + " am " + self.folded[cut:]
            self.origins[cut:cut] = [self.origins[cut]] * 4

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """The first match of `pattern` in what is left; its span is blanked so nothing reads it again."""
        match = pattern.search(self.folded)
        if match is not None:
            start, end = match.span()
            self.folded = self.folded[:start] + " " * (end - start) + self.folded[end:]
        return match

    def read(self) -> _Found | None:
        """What the text says; None when a piece is out of range (the 31st of a 30-day month, 25:00)."""
        try:
            self._read_session_phrases()
            self._read_within()
            self._read_dates()
            self._read_clock_times()
            self._read_days()
        except _OutOfRange:
            return None
        return self.found

    # -- pieces

    def _read_session_phrases(self) -> None:
        p, found = self.patterns, self.found
        found.earlier_that_day = self.take(p.earlier_that_day) is not None
        found.later_that_day = self.take(p.later_that_day) is not None
        for pattern in p.shifts:
            match = self.take(pattern)
            if match is not None:
                sign = -1 if _spaced(match["dir"]) in p.folded_earlier else 1
                found.shift = sign * self._amount(match)
                break
        found.same_time = self.take(p.same_time) is not None
        match = self.take(p.session_days)
        if match is not None:
            found.session_day = p.folded_session_days[_spaced(match[0])]

    def _read_within(self) -> None:
        for pattern in self.patterns.within:
            match = self.take(pattern)
            if match is not None:
                self.found.from_now = self._amount(match)
                return

    def _amount(self, match: re.Match[str]) -> timedelta:
        p = self.patterns
        if match["dur"]:
            return timedelta(minutes=p.folded_durations[_spaced(match["dur"])])
        count_text = match["n"]
        count = (
            1 if not count_text else int(count_text) if count_text.isdigit() else p.folded_numbers[_spaced(count_text)]
        )
        unit = p.folded_units[_spaced(match["unit"])]
        return {
            Unit.MINUTE: timedelta(minutes=count),
            Unit.HOUR: timedelta(hours=count),
            Unit.DAY: timedelta(days=count),
            Unit.WEEK: timedelta(weeks=count),
        }[unit]

    def _read_dates(self) -> None:
        found = self.found
        if any(char.isdigit() for char in self.folded):
            month_date = months.find_month_date(self.folded, self.patterns.words.code)
            if month_date is not None:
                start, end = month_date.span
                fragment = self.original[self.origins[start] : self.origins[end - 1] + 1]
                parsed = months.parse_fragment(fragment, self.patterns.words.code)
                if parsed is not None:
                    self.folded = self.folded[:start] + " " * (end - start) + self.folded[end:]
                    found.exact_date, found.date_has_year = parsed, month_date.has_year
                    return
        match = self.take(self.patterns.iso_date)
        if match is not None:
            found.exact_date = _date(int(match["y"]), int(match["a"]), int(match["b"]))
            found.date_has_year = True

    def _read_clock_times(self) -> None:
        p, found = self.patterns, self.found
        self._read_time_span()
        if found.clock is not None:
            self._read_numeric_date()
            return
        match = self.take(p.am_pm)
        if match is not None:
            hour, minute = int(match["h"]), int(match["m"] or 0)
            if not 1 <= hour <= 12:
                raise _OutOfRange
            is_pm = match["ampm"].startswith("p")
            found.clock = _clock(hour % 12 + (12 if is_pm else 0), minute, explicit=True)
        for pattern, says_24_hour in ((p.colon_time, True), (p.hour_word_time, True), (p.at_time, False)):
            if found.clock is not None:
                break
            match = self.take(pattern)
            if match is not None:
                minute = int(match["m"] or (match.groupdict().get("m2") or 0))
                minute += self._minute_words(match)
                hour = int(match["h"])
                # "15:00" and "09:30" are 24-hour times; "3:30" or "at 3" might be either half.
                found.clock = _clock(hour, minute, explicit=says_24_hour and (hour > 12 or match["h"].startswith("0")))
        self._read_numeric_date()
        if found.clock is None:
            for pattern in (p.time_before_part, p.spoken_hours):
                match = self.take(pattern)
                if match is not None:
                    if "spoken" in match.groupdict() and match["spoken"]:
                        hour = p.folded_spoken_hours[_spaced(match["spoken"])]
                    else:
                        hour = int(match["h"])
                    minute = int(match.groupdict().get("m") or 0) + self._minute_words(match)
                    found.clock = _clock(hour, minute, explicit=False)
                    break

    def _read_time_span(self) -> None:
        p, found = self.patterns, self.found
        for pattern in p.time_spans:
            match = self.take(pattern)
            if match is not None:
                found.clock, found.until, found.span = _span_clock(match, "a"), _span_clock(match, "b"), _Span.BETWEEN
                return
        match = p.dash_span.search(self.folded)
        # "2-3 questions" is not a span of hours: a dash needs a clock time that says it is one.
        if match is not None and any(match[f"{key}{piece}"] for key in "ab" for piece in ("m", "ap", "word", "noon")):
            self.take(p.dash_span)
            found.clock, found.until, found.span = _span_clock(match, "a"), _span_clock(match, "b"), _Span.BETWEEN
            return
        for pattern, span in ((p.after, _Span.AFTER), (p.before, _Span.BEFORE)):
            match = self.take(pattern)
            if match is not None:
                found.clock, found.span = _span_clock(match, "a"), span
                return

    def _minute_words(self, match: re.Match[str]) -> int:
        words = match.groupdict().get("mw")
        return self.patterns.folded_minute_words[_spaced(words)] if words else 0

    def _read_numeric_date(self) -> None:
        found = self.found
        if found.exact_date is not None:
            return
        match = next(filter(None, map(self.take, self.patterns.numeric_dates)), None)
        if match is None:
            return
        first, second = int(match["a"]), int(match["b"])
        day, month = (first, second) if self.patterns.words.day_first else (second, first)
        if not 1 <= month <= 12 and 1 <= day <= 12:
            day, month = month, day  # "14/12" in English, "12/31" in German: only one reading is a date
        year_text = match["y"]
        year = (2000 + int(year_text) if len(year_text) == 2 else int(year_text)) if year_text else 2000
        try:
            found.exact_date = date(year, month, day)
        except ValueError:
            return  # not a date after all ("31.02", a score "3/40"): a number that is not a time is ignored
        found.date_has_year = year_text is not None

    def _read_days(self) -> None:
        p, found = self.patterns, self.found
        match = self.take(p.parts_of_today)
        if match is not None:
            found.part, found.part_is_today = p.folded_parts_of_today[_spaced(match[0])], True
        match = self.take(p.parts)
        if match is not None and found.part is None:
            found.part = p.folded_parts[_spaced(match[0])]
        # After the parts of the day, so "midi" in "après-midi" is not noon.
        if found.clock is None and self.take(p.noon) is not None:
            found.clock = _clock(12, 0, explicit=True)
        if found.clock is None and self.take(p.midnight) is not None:
            found.clock = _clock(0, 0, explicit=True)
        match = self.take(p.day_words)
        if match is not None:
            found.day_offset = p.folded_day_words[_spaced(match[0])]
        found.next_week = self.take(p.next_week) is not None
        found.weekend = self.take(p.weekend) is not None
        match = self.take(p.weekdays)
        if match is not None:
            found.weekday = p.folded_weekdays[_spaced(match[0])]
        if found.exact_date is None:
            for pattern in p.day_of_month:
                match = self.take(pattern)
                if match is not None:
                    day = int(match["day"])
                    if not 1 <= day <= 31:
                        raise _OutOfRange
                    found.day_of_month = day
                    break


class _OutOfRange(Exception):
    """A number where a time or date was expected, but not a valid one ("25:00", "31.02")."""


def _spaced(text: str) -> str:
    """A matched phrase as its table key: hyphens and runs of spaces as one space."""
    return re.sub(r"[\s\-]+", " ", text.strip())


def _span_clock(match: re.Match[str], key: str) -> _ClockTime:
    """One end of a span of clock times."""
    if match[f"{key}noon"]:
        return _clock(12, 0, explicit=True)
    if match[f"{key}midnight"]:
        return _clock(0, 0, explicit=True)
    hour, minute, meridiem = int(match[f"{key}h"]), int(match[f"{key}m"] or 0), match[f"{key}ap"]
    if meridiem:
        if not 1 <= hour <= 12:
            raise _OutOfRange
        return _clock(hour % 12 + (12 if meridiem.startswith("p") else 0), minute, explicit=True)
    return _clock(hour, minute, explicit=hour > 12 or match[f"{key}h"].startswith("0"))


def _clock(hour: int, minute: int, *, explicit: bool) -> _ClockTime:
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise _OutOfRange
    return _ClockTime(hour, minute, explicit)


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _OutOfRange from None


# --- from pieces to a span -------------------------------------------------------------------------


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time on a local date means: the first of two in a repeated hour, and
    the hour after a skipped one (02:30 on a spring-forward night is 03:30)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


def _whole_days(first: date, last: date, zone: ZoneInfo) -> TimeRequest:
    return TimeRequest(_at(first, time(0), zone), _at(last, LAST_MINUTE, zone))


def _exact(moment: datetime) -> TimeRequest:
    return TimeRequest(moment, moment)


def _hour_of(clock: _ClockTime, part: Part | None) -> int:
    """The 24-hour hour of a clock time, from its part of the day, or else from working hours."""
    hour = clock.hour
    if clock.explicit or hour > 12:
        return hour
    if part in (Part.AFTERNOON, Part.EVENING, Part.PM):
        return hour + 12 if hour < 12 else hour
    if part is Part.NIGHT:
        return hour + 12 if 6 <= hour <= 11 else 0 if hour == 12 else hour
    if part in (Part.MORNING, Part.AM):
        return 0 if hour == 12 and part is Part.AM else hour
    # "at 3" with nothing else: sessions happen in the day, so 1 to 7 mean the afternoon and evening.
    return hour + 12 if 1 <= hour <= 7 else hour


def _next_weekday(today: date, weekday: int) -> date:
    """The next such day after today (a week ahead when today is that day)."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _next_day_of_month(today: date, day: int) -> date | None:
    """Today or the next date with this day of the month."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _resolve(found: _Found, now: datetime, session: datetime | None, zone: ZoneInfo) -> TimeRequest | None:
    today = now.date()
    if found.about_session():
        if session is None:
            return None
        asked = _resolve_about_session(found, now, session, zone)
        # "an hour earlier" than a session starting in 30 minutes asks for the past: nothing to offer.
        return asked if asked is not None and asked.latest > now else None
    if found.from_now is not None:
        if found.from_now < timedelta(days=1):
            moment = (now + found.from_now).replace(second=0, microsecond=0)
            return _exact(moment.astimezone(UTC).astimezone(zone))
        found.day_offset = found.from_now.days
    day = _day_asked(found, today)
    if day is None and found.exact_date is not None:
        return None  # a date with its year, in the past
    if day is None and (found.next_week or found.weekend):
        return _span_of_weeks(found, today, zone)
    window = _window(found)
    if found.clock is not None and window is None:
        return None
    span_part = found.part if found.part in PART_SPANS else None
    if day is None and found.weekday is not None:
        # A weekday is today only with a clock time still ahead today.
        if window is not None and found.weekday == today.weekday() and _at(today, window[1], zone) > now:
            day = today
        else:
            day = _next_weekday(today, found.weekday)
    if day is None:
        if window is not None:
            day = today if _at(today, window[1], zone) > now else today + timedelta(days=1)
        elif span_part is not None:
            part_ends = _at(today, PART_SPANS[span_part][1], zone)
            day = today if found.part_is_today or part_ends > now else today + timedelta(days=1)
        else:
            return None
    if window is not None:
        if _at(day, window[1], zone) <= now and (found.day_of_month is not None or found.exact_date is not None):
            # "the 1st at 9am" said at 10am on the 1st: next month's, never the past.
            if found.date_has_year:
                return None
            tomorrow = today + timedelta(days=1)
            later = (
                _next_day_of_month(tomorrow, found.day_of_month)
                if found.day_of_month is not None
                else _next_occurrence(found.exact_date, tomorrow)
                if found.exact_date is not None
                else None
            )
            if later is None:
                return None
            day = later
        return TimeRequest(_at(day, window[0], zone), _at(day, window[1], zone))
    if span_part is not None:
        starts, ends = PART_SPANS[span_part]
        return TimeRequest(_at(day, starts, zone), _at(day, ends, zone))
    return _whole_days(day, day, zone)


def _window(found: _Found) -> tuple[time, time] | None:
    """The first and last clock time asked for (the same for an exact time); None for an empty span."""
    if found.clock is None:
        return None
    start = time(_hour_of(found.clock, found.part), found.clock.minute)
    if found.span is _Span.AFTER:
        return (start, LAST_MINUTE)
    if found.span is _Span.BEFORE:
        if start == time(0):
            return None
        return (time(0), (datetime.combine(date.min, start) - MINUTE).time())
    if found.until is None:
        return (start, start)
    end = time(_hour_of(found.until, found.part), found.until.minute)
    if not found.clock.explicit and found.until.explicit and found.clock.hour <= 12 < end.hour:
        # "2 to 4pm": the first end is in the same half of the day as the second.
        start = time(found.clock.hour % 12 + 12, found.clock.minute)
        if start > end:
            start = time(found.clock.hour % 12, found.clock.minute)
    return (start, end) if start < end else None


def _day_asked(found: _Found, today: date) -> date | None:
    """The local date named by a date, a day of the month, a day word or a weekday of next week."""
    if found.exact_date is not None:
        asked = found.exact_date
        if not found.date_has_year:
            asked = _next_occurrence(asked, today)
        return asked if asked >= today else None
    if found.day_of_month is not None:
        return _next_day_of_month(today, found.day_of_month)
    if found.day_offset is not None:
        return today + timedelta(days=found.day_offset)
    if found.weekday is not None and found.next_week:
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday + timedelta(days=found.weekday)
    if found.part_is_today:
        return today
    return None


def _next_occurrence(asked: date, today: date) -> date:
    """This year's date with that day and month, or next year's once it has passed (29 February: the next leap year)."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = asked.replace(year=year)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return asked


def _span_of_weeks(found: _Found, today: date, zone: ZoneInfo) -> TimeRequest:
    monday = today - timedelta(days=today.weekday())
    if found.next_week:
        next_monday = monday + timedelta(days=7)
        if found.weekend:
            return _whole_days(next_monday + timedelta(days=5), next_monday + timedelta(days=6), zone)
        return _whole_days(next_monday, next_monday + timedelta(days=6), zone)
    saturday = monday + timedelta(days=5)
    return _whole_days(max(saturday, today), saturday + timedelta(days=1), zone)


def _on_session_clock(day: date, session: datetime, zone: ZoneInfo) -> datetime:
    return _at(day, session.time().replace(tzinfo=None), zone)


def _resolve_about_session(found: _Found, now: datetime, session: datetime, zone: ZoneInfo) -> TimeRequest | None:
    session_day = session.date()
    wall = session.replace(tzinfo=None)
    if found.earlier_that_day:
        latest = session - MINUTE
        return TimeRequest(_at(session_day, time(0), zone), latest) if latest.date() == session_day else None
    if found.later_that_day:
        earliest = session + MINUTE
        if earliest.date() != session_day:
            return None
        return TimeRequest(earliest, _at(session_day, LAST_MINUTE, zone))
    if found.shift is not None:
        # Counted on the wall clock: "a day later" keeps the clock time across a DST change.
        moved = wall + found.shift
        return _exact(_at(moved.date(), moved.time(), zone))
    if found.session_day is not None:
        day = session_day + timedelta(days=found.session_day)
        found.session_day, found.day_offset = None, None
        asked = _resolve(
            _Found(
                clock=found.clock,
                until=found.until,
                span=found.span,
                part=found.part,
                exact_date=day,
                date_has_year=True,
            ),
            now,
            None,
            zone,
        )
        return asked
    # The same clock time as the session, on another day.
    if found.from_now is not None and found.from_now >= timedelta(days=1):
        day = session_day + timedelta(days=found.from_now.days)
    elif found.day_offset is not None:
        day = session_day + timedelta(days=found.day_offset)
    elif found.next_week and found.weekday is None:
        day = session_day + timedelta(days=7)
    else:
        plain = _Found(
            exact_date=found.exact_date,
            date_has_year=found.date_has_year,
            day_of_month=found.day_of_month,
            weekday=found.weekday,
            next_week=found.next_week,
        )
        named = _day_asked(plain, now.date())
        if named is None and found.weekday is not None:
            named = _next_weekday(now.date(), found.weekday)
        if named is None:
            return None
        day = named
    return _exact(_on_session_clock(day, session, zone))
