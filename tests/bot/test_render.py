"""Presentation helpers: zones, instants, money and durations as people read them; zone search; catalogs."""

from __future__ import annotations

import gettext
import importlib.metadata
import os
import re
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import I18n
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, build_i18n, ensure_compiled, pick_locale
from bot.render import Rendered, format_clock, format_duration, format_instant, format_money, format_price, zone_label
from bot.services.zone_search import normalise, zone_at, zone_country
from handlers.client_wording import deadline_label, other_clock, percent_label, week_label
from tests.conftest import REPO_ROOT

WINTER = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return build_i18n("en")


def test_the_render_tests_run_on_the_locked_babel() -> None:
    # The exact CLDR wording below is Babel's data at the version requirements/lock.txt pins; flow tests
    # build their expected text with the render helpers instead, so only this file changes with Babel.
    lock = (REPO_ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8")
    (pinned,) = re.findall(r"^babel==(\S+)", lock, flags=re.MULTILINE)
    assert importlib.metadata.version("babel") == pinned, "run `python3 dev.py setup` to install the lock"


def test_renamed_zones_keep_their_names() -> None:
    # Babel before 2.19 printed these as "GMT+03:00": its data was keyed by the old names.
    assert zone_label("Europe/Kyiv", "en", WINTER) == "Kyiv (UTC+02:00)"
    assert zone_label("Europe/Kiev", "en", SUMMER) == "Kyiv (UTC+03:00)"
    assert zone_label("Europe/Kyiv", "uk", WINTER) == "Київ (UTC+02:00)"
    assert zone_label("Asia/Kolkata", "en", WINTER) == "Kolkata (UTC+05:30)"
    assert zone_label("America/St_Johns", "en", WINTER) == "St. John’s (UTC-03:30)"
    assert zone_label("UTC", "en", WINTER) == "UTC"
    assert "GMT" not in format_instant(WINTER, "Asia/Ho_Chi_Minh", "en")


def test_instants_carry_their_zone_in_the_viewers_locale() -> None:
    assert format_instant(WINTER, "Europe/Kyiv", "en") == "Tue, Dec 1, 2026, 9:00\u00a0AM (Kyiv, UTC+02:00)"
    assert format_instant(WINTER, "Europe/Kyiv", "uk") == "вт, 1 груд. 2026\u00a0р., 09:00 (Київ, UTC+02:00)"
    assert format_instant(WINTER, "America/New_York", "en_GB") == "Tue, 1 Dec 2026, 02:00 (New York, UTC-05:00)"
    # CLDR's narrow no-break space (U+202F) never reaches a chat.
    assert "\u202f" not in format_instant(WINTER, "Europe/Kyiv", "en") + format_instant(WINTER, "Europe/Kyiv", "uk")
    with pytest.raises(ValueError):
        format_instant(datetime(2026, 12, 1, 7), "Europe/Kyiv", "en")


def test_week_labels() -> None:
    assert week_label(date(2026, 11, 23), date(2026, 11, 29), "en") == "Nov 23 – 29, 2026"
    assert week_label(date(2026, 12, 28), date(2027, 1, 3), "en") == "Dec 28, 2026 – Jan 3, 2027"


def test_money_uses_the_currencys_precision() -> None:
    assert format_money(6000, "EUR", "en") == "€60.00"
    assert format_money(6000, "EUR", "uk") == "60,00\u00a0EUR"
    assert format_money(500, "JPY", "en") == "¥500"
    assert format_money(1234, "KWD", "en") == "KWD1.234"


def test_plurals_follow_each_languages_rules(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        assert [format_duration(m) for m in (1, 50, 60, 90, 120)] == [
            "1 minute",
            "50 minutes",
            "1 hour",
            "1 hour 30 minutes",
            "2 hours",
        ]
        assert format_price(0, "EUR", "en") == "Free"
    with i18n.context(), i18n.use_locale("uk"):
        assert [format_duration(m) for m in (1, 2, 5, 21, 22, 25, 11)] == [
            "1 хвилина",
            "2 хвилини",
            "5 хвилин",
            "21 хвилина",
            "22 хвилини",
            "25 хвилин",
            "11 хвилин",
        ]
        assert format_duration(300) == "5 годин"
        assert format_price(0, "EUR", "uk") == "Безкоштовно"


def test_zone_labels_of_the_locked_babel() -> None:
    # Babel 2.19's data calls the islands' zone "Canaries"; 2.18's said "Canary".
    assert zone_label("Europe/Madrid", "en", WINTER) == "Madrid (UTC+01:00)"
    assert zone_label("Atlantic/Canary", "en", WINTER) == "Canaries (UTC+00:00)"


def test_locations_and_countries() -> None:
    assert zone_at(50.4501, 30.5234) == "Europe/Kyiv"
    assert zone_at(40.7128, -74.0060) == "America/New_York"
    assert zone_country("Europe/Kiev") == "UA"
    assert zone_country("UTC") is None
    assert normalise("São_Paulo!") == "sao paulo"


def test_missing_or_stale_mo_files_are_compiled(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
    with pytest.raises(RuntimeError, match="not compiled"):
        I18n(path=locales)  # aiogram's own behaviour, which ensure_compiled exists for
    written = ensure_compiled(locales)
    assert sorted(path.parent.parent.name for path in written) == ["en", "uk"]
    assert ensure_compiled(locales) == []  # up to date: nothing to do
    uk_po = locales / "uk" / "LC_MESSAGES" / "messages.po"
    later = time.time() + 10
    os.utime(uk_po, (later, later))
    assert [path.parent.parent.name for path in ensure_compiled(locales)] == ["uk"]
    with (locales / "uk" / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert catalog.gettext("Start over") == "Почати спочатку"
    assert catalog.ngettext("{n} hour", "{n} hours", 3) == "{n} години"


def test_every_string_has_its_ukrainian_translation() -> None:
    with (LOCALES_DIR / "uk" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    assert catalog.num_plurals == 3
    untranslated = [
        message.id
        for message in catalog
        if message.id and (not all(message.string) if isinstance(message.string, tuple) else not message.string)
    ]
    assert untranslated == []
    assert {m.id for m in template if m.id} <= {m.id for m in catalog if m.id}


def test_locale_choice(i18n: I18n) -> None:
    assert pick_locale(i18n, None, "uk") == "uk"
    assert pick_locale(i18n, "en", "uk") == "en"
    assert pick_locale(i18n, None, "uk-UA") == "uk"
    assert pick_locale(i18n, None, "pt-br") == "en"
    assert pick_locale(i18n, None, None) == "en"


def test_clock_times_follow_the_locale() -> None:
    """24-hour clocks in uk, de, fr, es and ru; 12-hour in en (Babel's en is en_US), on every screen
    (every screen formats times through format_clock)."""
    late = datetime(2026, 12, 1, 22, 40, tzinfo=UTC)  # 00:40 on Wednesday in Kyiv
    clocks = {locale: format_clock(late, "Europe/Kyiv", locale) for locale in ("en", "uk", "de", "fr", "es", "ru")}
    assert clocks == {
        "en": "12:40\u00a0AM",
        "uk": "00:40",
        "de": "00:40",
        "fr": "00:40",
        "es": "0:40",
        "ru": "00:40",
    }


def test_the_other_partys_clock_carries_its_weekday_when_the_day_differs() -> None:
    late = datetime(2026, 12, 1, 22, 40, tzinfo=UTC)  # Wed 00:40 in Kyiv, Tue 5:40 PM in New York
    assert other_clock(late, "America/New_York", "Europe/Kyiv", "en") == "Tue 5:40\u00a0PM"
    assert other_clock(late, "America/New_York", "Europe/Kyiv", "uk") == "вт 17:40"
    assert other_clock(WINTER, "America/New_York", "Europe/London", "en") == "2:00\u00a0AM"
    # The same offset at that moment: nothing to add, whatever the zones are called.
    assert other_clock(late, "Europe/Helsinki", "Europe/Kyiv", "en") is None
    assert other_clock(late, "Europe/Paris", "Europe/Berlin", "en") is None


def test_deadlines_and_percents_in_the_terms() -> None:
    late = datetime(2026, 12, 1, 22, 40, tzinfo=UTC)
    assert deadline_label(late, "Europe/Kyiv", "en") == "Wed, Dec 2, 12:40\u00a0AM"
    assert deadline_label(late, "Europe/Kyiv", "uk") == "ср, 2 груд., 00:40"
    assert (percent_label(50, "en"), percent_label(50, "uk"), percent_label(50, "fr")) == ("50%", "50%", "50\u00a0%")


def test_messages_never_pass_telegrams_limit() -> None:
    assert Rendered("x" * 5000).text == "x" * 4095 + "…"
    assert Rendered("ok").text == "ok"
    # Telegram counts UTF-16 code units: an emoji is two, and is never split.
    emoji = Rendered("🙂" * 3000).text
    assert emoji == "🙂" * 2047 + "…"
    assert len(emoji.encode("utf-16-le")) // 2 == 4095
    # A caption's limit is 1,024.
    assert len(Rendered("y" * 2000, document=BufferedInputFile(b"", "a.ics")).text) == 1024
