"""The shape of one language's words for times: what `parser` looks for, filled in by en.py, es.py, ...

Phrases are written in lower case as people type them (accents included); the parser folds accents
on both sides, so "manana" and "mañana" both match. Spaces in a phrase match any run of spaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Part(Enum):
    """A part of the day. The first three are spans a person can ask for; the rest only say which
    half of the day a clock time is in ("3 in the morning", "11 at night", "3 pm")."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    NIGHT = "night"
    AM = "am"
    PM = "pm"


class Unit(Enum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True)
class Vocabulary:
    code: str
    # Numeric dates: "05.01" is 5 January where True, May 1st where False (en).
    day_first: bool
    # "today", "tomorrow", "the day after tomorrow" -> days from today.
    day_words: dict[str, int]
    # Words for a part of the day, or for the half of the day a clock time is in.
    parts: dict[str, Part]
    # A part of today: "tonight", "this evening", "esta tarde", "ce soir".
    parts_of_today: dict[str, Part]
    # Every form of each weekday (0 = Monday), inflected forms included.
    weekdays: dict[str, int]
    next_week: tuple[str, ...]
    weekend: tuple[str, ...]
    # Words before a number that make it a clock time: "at 3", "um 3", "в 3", "a las 3".
    at_words: tuple[str, ...]
    # Words after a number that make it a clock time: "3 o'clock", "14 Uhr", "15 heures", "15h".
    hour_words: tuple[str, ...]
    # Hour words that also name a duration ("2 часа"): a clock time only after an at-word or before a part.
    weak_hour_words: tuple[str, ...]
    # ":30" and ":15" said in words after the hour: "y media", "et demie", "с половиной".
    minute_words: dict[str, int]
    # Clock hours said in words with their at-word: "о третій" (at three).
    spoken_hours: dict[str, int]
    noon: tuple[str, ...]
    midnight: tuple[str, ...]
    # "on the 14th", "el 14", "le 14", "am 14.", "14-го", "14 числа": regexes with a (?P<day>) group.
    day_of_month: tuple[str, ...]
    numbers: dict[str, int]
    units: dict[str, Unit]
    # "in 2 days", "en 2 días", "через 2 дня", "dans 2 jours".
    within: tuple[str, ...]
    # About the session: "[на] 2 hours later/earlier".
    shift_prefix: tuple[str, ...]
    later: tuple[str, ...]
    earlier: tuple[str, ...]
    same_time: tuple[str, ...]
    earlier_that_day: tuple[str, ...]
    later_that_day: tuple[str, ...]
    # A span of clock times: ("between", "and") in "between 2 and 4pm"; a dash works in every language.
    between: tuple[tuple[str, str], ...] = ()
    # "after 5pm" (until the end of that day), "before noon" (from its start).
    after: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    # Parts of the day written glued to a weekday ("Donnerstagabend"): read as "<weekday> am <part>".
    glued_parts: tuple[str, ...] = ()
    # Durations said without a number: "half an hour", "полчаса" -> minutes.
    durations: dict[str, int] = field(default_factory=dict)
    # "the day after", "the next day", "the day before": the session's day +- n, a whole day.
    session_days: dict[str, int] = field(default_factory=dict)
