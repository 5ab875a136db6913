"""bot/render/babel_locale.py: a locale code parsed once, formatting with it as with the code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton

from bot.render.babel_locale import babel_locale


def test_one_locale_object_per_code() -> None:
    assert babel_locale("uk") is babel_locale("uk")
    assert babel_locale("uk") == Locale.parse("uk")
    assert babel_locale("en") != babel_locale("uk")


def test_formats_as_the_code_does() -> None:
    day = datetime(2026, 11, 23, 6, tzinfo=UTC)
    for code in ("en", "uk"):
        assert format_skeleton("yMMMEd", day, locale=babel_locale(code)) == format_skeleton("yMMMEd", day, locale=code)


def test_an_unknown_code_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(UnknownLocaleError):
            babel_locale("xx")
