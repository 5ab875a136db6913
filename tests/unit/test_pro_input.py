"""What professionals type in chat, parsed (pure): hours, dates and ranges (/hours), and the setup's
durations, prices, currencies, breaks, languages and fields (bot/services/pro_profile.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.render.hours import format_windows
from bot.services import pro_profile
from bot.services.pro_profile import ProfileInputError
from bot.services.typed_dates import parse_day, parse_days
from bot.services.windows import ScheduleInputError, parse_window, parse_windows

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("typed", "window"),
    [
        ("9-12", (540, 720)),
        ("9:00 - 12:00", (540, 720)),
        ("9–12", (540, 720)),
        ("09.30-12", (570, 720)),
        ("9am-5pm", (540, 1020)),
        ("9:00 AM – 12:00 PM", (540, 720)),
        ("1:30\u00a0PM\u00a0– 5:00\u00a0PM", (810, 1020)),
        ("10 pm - 12 am", (1320, 1440)),
        ("13:00-24:00", (780, 1440)),
        ("9 to 17", (540, 1020)),
    ],
)
def test_windows_as_people_type_them(typed: str, window: tuple[int, int]) -> None:
    assert parse_window(typed) == window


@pytest.mark.parametrize("typed", ["13pm-14", "0am-3am", "24-25", "9:60-10", "nine-ten"])
def test_what_is_no_window(typed: str) -> None:
    with pytest.raises(ScheduleInputError):
        parse_window(typed)


@pytest.mark.parametrize("locale", ["en", "uk"])
def test_shown_hours_can_be_typed_back(locale: str) -> None:
    windows = ((540, 720), (810, 1440))
    assert parse_windows(format_windows(windows, locale)) == windows


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2026-12-24", date(2026, 12, 24)),
        ("24.12.2026", date(2026, 12, 24)),
        ("24/12/2026", date(2026, 12, 24)),
        ("24.12", date(2026, 12, 24)),
        ("5.1", date(2027, 1, 5)),  # January has passed this year: the next one
        ("24.12.26", date(2026, 12, 24)),
    ],
)
def test_dates_as_people_type_them(typed: str, day: date) -> None:
    assert parse_day(typed, TODAY) == day


@pytest.mark.parametrize(
    ("typed", "days"),
    [
        ("2026-12-28 - 2026-12-30", (date(2026, 12, 28), date(2026, 12, 30))),
        ("2026-12-24..2026-12-26", (date(2026, 12, 24), date(2026, 12, 26))),
        ("28.12–03.01", (date(2026, 12, 28), date(2027, 1, 3))),
        ("24.12-26.12", (date(2026, 12, 24), date(2026, 12, 26))),
        ("24.12 to 26.12", (date(2026, 12, 24), date(2026, 12, 26))),
        ("2026-12-24", (date(2026, 12, 24), date(2026, 12, 24))),
    ],
)
def test_ranges(typed: str, days: tuple[date, date]) -> None:
    assert parse_days(typed, TODAY) == days


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("", "blank"), ("31.02", "date"), ("2026-12-30 - 2026-12-28", "range_order"), ("a - b - c", "date")],
)
def test_bad_dates(typed: str, problem: str) -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_days(typed, TODAY)
    assert caught.value.problem == problem


def test_setup_input() -> None:
    assert [pro_profile.parse_duration(t) for t in ("50", "50 min", "1h", "1 h 30", "1:30", "90m")] == [
        50,
        50,
        60,
        90,
        90,
        90,
    ]
    assert pro_profile.parse_price("60", "EUR") == 6000
    assert pro_profile.parse_price("60,50", "EUR") == 6050
    assert pro_profile.parse_price("free", "EUR") == 0
    assert pro_profile.parse_price("1500", "JPY") == 1500
    assert pro_profile.parse_currency(" usd ") == "USD"
    assert pro_profile.parse_buffers("10") == (0, 10)
    assert pro_profile.parse_buffers("5 10 min") == (5, 10)
    assert pro_profile.parse_languages("uk, EN pt-br") == ["uk", "en", "pt-BR"]
    assert pro_profile.parse_categories("Family therapy; Coaching") == ["family-therapy", "coaching"]
    assert pro_profile.slugify("Олена Kovalová") == "kovalova"
    for call, problem in [
        (lambda: pro_profile.parse_duration("2"), "duration"),
        (lambda: pro_profile.parse_price("10.5", "JPY"), "decimals"),
        (lambda: pro_profile.parse_price("-1", "EUR"), "price"),
        (lambda: pro_profile.parse_currency("EURO"), "currency"),
        (lambda: pro_profile.parse_buffers("1 2 3"), "buffer"),
        (lambda: pro_profile.parse_link("javascript:alert(1)"), "link"),
        (lambda: pro_profile.parse_languages("klingon"), "language"),
    ]:
        with pytest.raises(ProfileInputError) as caught:
            call()
        assert caught.value.problem == problem
