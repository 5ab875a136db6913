"""The rules of a day's working windows, the one place `bookbot import` and /hours both read them from.

A window is a span of a professional's wall-clock day, written as people type it: "09:00-12:00",
"9-12", "9:00 - 12:00", "9–12", "9.30-12", "9am-5pm", "9:00 AM – 12:00 PM" (a hyphen, en dash or em
dash; minutes optional; a 12-hour clock with am/pm, as /hours shows times in English). It starts at a time
of day (00:00 to 23:59), ends later the same day (at 24:00 at the latest: windows do not cross
midnight) and is not empty. A day holds at most MAX_WINDOWS windows, and no two overlap (touching is
fine). So a day the importer takes can be saved from chat, and the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from bot.services.errors import DomainError

Window = tuple[int, int]  # minutes after local midnight, 0 <= start < end <= 1440

MINUTES_PER_DAY = 24 * 60
MAX_WINDOWS = 12
# Words that mean "no hours that day", typed in chat (the chat also offers a button for it).
OFF_WORDS = frozenset({"off", "-", "—", "none", "closed"})

_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
_WINDOW = re.compile(rf"{_TIME}\s*(?:[-–—]|to)\s*{_TIME}", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,;\n]+")


class ScheduleInputError(DomainError):
    """Typed hours or dates that cannot be used.

    `problem` names the rule:
      hours: "blank", "format", "start" (no time of day), "end" (no time of day, 00:01-24:00),
             "empty", "order" (ends before it starts), "overlap" (`windows` holds the two), "too_many";
      dates (bot/services/schedule.py): "date" (not YYYY-MM-DD), "range_order", "too_long", "past".
    `piece` is the part of the input at fault, as typed.
    """

    def __init__(self, problem: str, piece: str = "", windows: tuple[Window, ...] = ()) -> None:
        super().__init__(f"{problem}: {piece!r}")
        self.problem = problem
        self.piece = piece
        self.windows = windows


def parse_window(text: str) -> Window:
    """ "9-12", "09:00 - 12:30", "9–17:30" -> minutes after midnight; ScheduleInputError otherwise."""
    piece = text.strip()
    match = _WINDOW.fullmatch(piece)
    if match is None:
        raise ScheduleInputError("format", piece)
    start_h, start_m, start_half, end_h, end_m, end_half = match.groups()
    starts = _minute(int(start_h), int(start_m or 0), start_half, end_of_day=False)
    if starts is None:
        raise ScheduleInputError("start", piece)
    ends = _minute(int(end_h), int(end_m or 0), end_half, end_of_day=True)
    if ends is None:
        raise ScheduleInputError("end", piece)
    if starts == ends:
        raise ScheduleInputError("empty", piece)
    if starts > ends:
        raise ScheduleInputError("order", piece)
    return starts, ends


def _minute(hour: int, minute: int, half: str | None, *, end_of_day: bool) -> int | None:
    """Minutes after midnight, or None when it is no time of day (an end may be 24:00 or 12 am)."""
    if minute > 59:
        return None
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower().startswith("p") else 0)
        if end_of_day and hour == 0 and minute == 0:
            return MINUTES_PER_DAY
        return hour * 60 + minute
    if hour > 24 or (hour == 24 and (minute != 0 or not end_of_day)):
        return None
    return hour * 60 + minute


def check_windows(windows: Sequence[Window]) -> tuple[Window, ...]:
    """One day's windows, sorted; ScheduleInputError if there are too many, one is out of bounds or
    two overlap."""
    ordered = tuple(sorted(windows))
    if len(ordered) > MAX_WINDOWS:
        raise ScheduleInputError("too_many")
    for starts, ends in ordered:
        if not 0 <= starts < ends <= MINUTES_PER_DAY:
            raise ScheduleInputError("order", f"{starts}-{ends}")
    for before, after in pairwise(ordered):
        if after[0] < before[1]:
            raise ScheduleInputError("overlap", windows=(before, after))
    return ordered


def parse_windows(text: str) -> tuple[Window, ...]:
    """A day typed on one line: "09:00-12:00, 13:30-17:00" -> ((540, 720), (810, 1020));
    "off" -> () (no hours that day)."""
    cleaned = text.strip()
    if not cleaned:
        raise ScheduleInputError("blank")
    if cleaned.lower() in OFF_WORDS:
        return ()
    pieces = [piece for piece in _SEPARATORS.split(cleaned) if piece.strip()]
    return check_windows([parse_window(piece) for piece in pieces])


def format_clock(minutes: int) -> str:
    """Minutes after midnight as 24-hour HH:MM ("24:00" for the end of the day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_window(window: Window) -> str:
    """ "09:00-12:00": what the chat shows and what both the chat and the catalog file take back."""
    starts, ends = window
    return f"{format_clock(starts)}-{format_clock(ends)}"


def format_windows(windows: Sequence[Window]) -> str:
    """A day on one line, as /hours shows it and takes it: "09:00-12:00, 13:30-17:00"."""
    return ", ".join(format_window(window) for window in windows)
