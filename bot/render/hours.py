"""Working windows (minutes after local midnight) as a reader's locale writes times of day: "9:00 AM –
12:00 PM" in en, "09:00–12:00" in uk. What /hours and /profile show; both take either style back
(bot/services/windows.py reads "9-12", "09:00-12:00", "9am-5pm", ...)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from functools import lru_cache

from babel import Locale
from babel.dates import format_time

from bot.render.babel_locale import babel_locale
from bot.render.dates import tidy_spaces
from bot.services.windows import MINUTES_PER_DAY, Window


@lru_cache(maxsize=32)
def uses_24_hours(locale: str) -> bool:
    pattern = Locale.parse(locale).time_formats["short"].pattern
    return "H" in pattern or "k" in pattern


def format_minute(minutes: int, locale: str) -> str:
    """A time of day; the end of the day reads "24:00" where clocks go to 24, midnight elsewhere."""
    if minutes >= MINUTES_PER_DAY:
        if uses_24_hours(locale):
            return "24:00"
        minutes = 0
    return tidy_spaces(format_time(time(minutes // 60, minutes % 60), format="short", locale=babel_locale(locale)))


def format_window(window: Window, locale: str) -> str:
    starts, ends = window
    separator = " – " if not uses_24_hours(locale) else "–"
    return f"{format_minute(starts, locale)}{separator}{format_minute(ends, locale)}"


def format_windows(windows: Sequence[Window], locale: str) -> str:
    return ", ".join(format_window(window, locale) for window in windows)
