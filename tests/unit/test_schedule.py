"""The hours and days-off parsers: bot/services/windows.py (the rules the catalog file follows too) and
bot/services/schedule.py."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.schedule import parse_days
from bot.services.windows import MAX_WINDOWS, ScheduleInputError, check_windows, parse_windows


@pytest.mark.parametrize(
    ("typed", "windows"),
    [
        ("09:00-12:00", ((540, 720),)),
        ("09:00-12:00, 13:30-17:00", ((540, 720), (810, 1020))),
        ("13:30-17:00;09:00-12:00", ((540, 720), (810, 1020))),
        (" 9:00 - 12:00 ,\n13:30–17:00 ", ((540, 720), (810, 1020))),
        ("00:00-24:00", ((0, 1440),)),
        ("09:00-12:00, 12:00-13:00", ((540, 720), (720, 780))),  # touching is not overlapping
        ("off", ()),
        ("OFF", ()),
        ("-", ()),
    ],
)
def test_windows_that_parse(typed: str, windows: tuple[tuple[int, int], ...]) -> None:
    assert parse_windows(typed) == windows


@pytest.mark.parametrize(
    ("typed", "problem", "piece"),
    [
        ("", "blank", ""),
        ("   ", "blank", ""),
        ("9h-12h", "format", "9h-12h"),
        ("09:00", "format", "09:00"),
        ("09:00-12:00 13:00-14:00", "format", "09:00-12:00 13:00-14:00"),
        ("09:00-12:00, nonsense", "format", "nonsense"),
        ("9:00-12:00:00", "format", "9:00-12:00:00"),
        ("24:00-24:00", "start", "24:00-24:00"),
        ("10:60-11:00", "start", "10:60-11:00"),
        ("10:00-24:01", "end", "10:00-24:01"),
        ("10:00-25:00", "end", "10:00-25:00"),
        ("10:00-11:75", "end", "10:00-11:75"),
        ("10:00-10:00", "empty", "10:00-10:00"),
        ("22:00-02:00", "order", "22:00-02:00"),
    ],
)
def test_windows_that_do_not(typed: str, problem: str, piece: str) -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_windows(typed)
    assert (caught.value.problem, caught.value.piece) == (problem, piece)


def test_overlap_names_both_windows() -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_windows("13:00-15:00, 09:00-12:00, 11:30-12:30")
    assert caught.value.problem == "overlap"
    assert caught.value.windows == ((540, 720), (690, 750))


def test_too_many_windows() -> None:
    many = ", ".join(f"{hour:02d}:00-{hour:02d}:30" for hour in range(MAX_WINDOWS + 1))
    with pytest.raises(ScheduleInputError) as caught:
        parse_windows(many)
    assert caught.value.problem == "too_many"
    assert len(parse_windows(many.rsplit(",", 1)[0])) == MAX_WINDOWS


def test_check_windows_refuses_out_of_bounds_minutes() -> None:
    assert check_windows([(600, 660), (0, 60)]) == ((0, 60), (600, 660))
    for bad in ([(-1, 60)], [(60, 1441)], [(60, 60)]):
        with pytest.raises(ScheduleInputError):
            check_windows(bad)


@pytest.mark.parametrize(
    ("typed", "days"),
    [
        ("2026-12-24", (date(2026, 12, 24), date(2026, 12, 24))),
        (" 2026-12-24..2026-12-26 ", (date(2026, 12, 24), date(2026, 12, 26))),
        ("2026-12-24 .. 2026-12-26", (date(2026, 12, 24), date(2026, 12, 26))),
        ("2026-12-24–2026-12-26", (date(2026, 12, 24), date(2026, 12, 26))),
        ("2026-12-24..2026-12-24", (date(2026, 12, 24), date(2026, 12, 24))),
        ("2026-01-01..2026-12-31", (date(2026, 1, 1), date(2026, 12, 31))),
    ],
)
def test_days_that_parse(typed: str, days: tuple[date, date]) -> None:
    assert parse_days(typed) == days


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", "blank"),
        ("24.12.2026", "date"),
        ("2026-12-32", "date"),
        ("2026-2-3", "date"),
        ("20261224", "date"),
        ("2026-12-24..", "date"),
        ("2026-12-24..soon", "date"),
        ("2026-12-24-2026-12-26", "date"),
        ("2026-12-26..2026-12-24", "range_order"),
        ("2026-01-01..2027-01-02", "too_long"),
    ],
)
def test_days_that_do_not(typed: str, problem: str) -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_days(typed)
    assert caught.value.problem == problem
