"""Dates and ranges of dates as people type them in chat (/hours: days off, other hours on a date).

"2026-12-24", "24.12.2026", "24/12/2026", "24.12" (the next 24 December from today), and ranges of any
two of them: "2026-12-28 - 2026-12-30", "24.12–26.12", "2026-12-24..2026-12-26", "24.12 to 26.12".
Pure functions: `today` is the professional's local date, passed in. Errors are the ScheduleInputError
problems of bot/services/windows.py ("blank", "date", "range_order", "too_long").
"""

from __future__ import annotations

import re
from datetime import date

from bot.services.windows import ScheduleInputError

MAX_RANGE_DAYS = 366

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})[./](\d{1,2})(?:[./](\d{2}|\d{4}))?\.?")
# Between the two ends of a range: "..", a dash with spaces around it, an en or em dash, "to", "до".
_RANGE = re.compile(r"\s*(?:\.\.|\s-\s|–|—|\bto\b|\bдо\b|\bпо\b)\s*", re.IGNORECASE)


def parse_day(text: str, today: date) -> date:
    piece = text.strip()
    try:
        iso = _ISO.fullmatch(piece)
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        dotted = _DOTTED.fullmatch(piece)
        if dotted:
            day, month, year = int(dotted.group(1)), int(dotted.group(2)), dotted.group(3)
            if year is not None:
                return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
            found = date(today.year, month, day)
            return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        pass
    raise ScheduleInputError("date", piece)


def parse_days(text: str, today: date) -> tuple[date, date]:
    """One date (first == last) or a range, both ends included."""
    cleaned = text.strip()
    if not cleaned:
        raise ScheduleInputError("blank")
    parts = [part for part in _RANGE.split(cleaned) if part.strip()]
    if len(parts) == 1 and "-" in cleaned and not _ISO.fullmatch(cleaned):
        # "24.12-26.12": a bare hyphen between two dotted dates.
        parts = [part for part in cleaned.split("-") if part.strip()]
    if len(parts) == 1:
        day = parse_day(parts[0], today)
        return day, day
    if len(parts) != 2:
        raise ScheduleInputError("date", cleaned)
    first = parse_day(parts[0], today)
    last = parse_day(parts[1], today)
    if last < first:
        raise ScheduleInputError("range_order", cleaned)
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ScheduleInputError("too_long", cleaned)
    return first, last
