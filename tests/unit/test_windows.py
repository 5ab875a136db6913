"""The catalog file and /hours read a day's windows by one set of rules (bot/services/windows.py): any day
the importer takes can be typed back in chat and saved, and anything typed in chat reads the same in
the file."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.catalog import parse_catalog
from bot.services.errors import CatalogError
from bot.services.windows import (
    MAX_WINDOWS,
    MINUTES_PER_DAY,
    OFF_WORDS,
    ScheduleInputError,
    Window,
    format_windows,
    parse_window,
    parse_windows,
)

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def imported(pieces: list[str]) -> tuple[Window, ...] | None:
    """Monday's windows as `bookbot import` reads `mon: [pieces]`, or None if it refuses the file."""
    content = "\n".join(
        [
            "professionals:",
            "  - slug: olha",
            "    name: Olha",
            "    timezone: Europe/Kyiv",
            f"    weekly_hours: {{mon: [{', '.join(json.dumps(piece) for piece in pieces)}]}}",
        ]
    )
    try:
        catalog = parse_catalog(content)
    except CatalogError:
        return None
    return tuple((starts, ends) for _weekday, starts, ends in catalog.professionals[0].weekly)


def typed(line: str) -> tuple[Window, ...] | None:
    """The windows /hours saves for a line typed in chat, or None if it asks again."""
    try:
        return parse_windows(line)
    except ScheduleInputError:
        return None


def written(window: Window, style: int) -> str:
    """A window as different people type it."""
    (start_h, start_m), (end_h, end_m) = divmod(window[0], 60), divmod(window[1], 60)
    if style == 0:
        return f"{start_h:02d}:{start_m:02d}-{end_h:02d}:{end_m:02d}"
    dash = ("-", " - ", "–", " — ")[style % 4]
    start = f"{start_h}" if start_m == 0 and style > 4 else f"{start_h}:{start_m:02d}"
    end = f"{end_h}" if end_m == 0 and style > 4 else f"{end_h}:{end_m:02d}"
    return f"{start}{dash}{end}"


@st.composite
def days(draw: st.DrawFn, max_size: int = MAX_WINDOWS) -> tuple[Window, ...]:
    """Valid days: sorted, non-overlapping windows within 00:00-24:00, on quarter hours."""
    cuts = draw(st.lists(st.integers(0, MINUTES_PER_DAY // 15), min_size=0, max_size=2 * max_size, unique=True))
    edges = sorted(cut * 15 for cut in cuts)
    return tuple((edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2))


@PROPERTY_SETTINGS
@given(days())
def test_any_imported_day_can_be_saved_from_chat(day: tuple[Window, ...]) -> None:
    in_file = imported([written(window, 0) for window in day])
    assert in_file == day
    # What /hours shows is what it takes back ("off" for a day without hours).
    assert typed(format_windows(day) or "off") == day


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(st.integers(0, 24 * 60), st.integers(0, 24 * 60)), max_size=MAX_WINDOWS + 2), st.data())
def test_both_take_or_refuse_the_same_days(candidate: list[Window], data: st.DataObject) -> None:
    """Windows that may overlap, be empty, reversed or too many, written in any style: the file and the
    chat agree on each day, and where they take it they read the same windows."""
    pieces = [written(window, data.draw(st.integers(0, 8))) for window in candidate]
    assert imported(pieces) == typed(", ".join(pieces) or "off")


@PROPERTY_SETTINGS
@given(st.text(alphabet="0123456789:-–— .", min_size=1, max_size=14))
def test_any_one_window_reads_the_same_in_both(piece: str) -> None:
    if piece.strip().lower() in OFF_WORDS or not piece.strip():
        return  # the chat's words for a day off, which a file says with []
    assert imported([piece]) == typed(piece)


def test_what_people_type() -> None:
    for text in ("9-12", "9:00 - 12:00", "9–12", "09:00-12:00", "9 — 12:00"):
        assert parse_window(text) == (540, 720)
        assert imported([text]) == ((540, 720),)
    assert parse_window("0-24") == (0, MINUTES_PER_DAY)
    assert typed("9-12, 13:30-17") == ((540, 720), (810, 1020))


def test_too_many_windows_are_refused_by_both() -> None:
    day = tuple((hour * 60, hour * 60 + 30) for hour in range(MAX_WINDOWS + 1))
    assert imported([written(window, 0) for window in day]) is None
    assert typed(format_windows(day)) is None
    assert imported([written(window, 0) for window in day[:-1]]) == day[:-1]
