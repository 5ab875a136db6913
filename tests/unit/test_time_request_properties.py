"""Properties of the free-text time parser on generated replies: it never fails, never answers with the
past, and every span it gives is ordered, in the client's zone and at most a week long."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.time_request import LANGUAGES, parse_time_request
from bot.services.time_request.vocabulary import Vocabulary

ZONES = [ZoneInfo(name) for name in ("America/New_York", "Europe/Kyiv", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC")]
NUMBERS = ["3", "10", "14", "25", "305", "2000", "3pm", "15:00", "25:00", "14.12", "05.01", "31.02", "10/03", "12.50"]


def _words(lang: str) -> list[str]:
    words: Vocabulary = importlib.import_module(f"bot.services.time_request.{lang}").WORDS
    tables: list[object] = [
        words.day_words,
        words.parts,
        words.parts_of_today,
        words.weekdays,
        words.next_week,
        words.weekend,
        words.at_words,
        words.hour_words,
        words.minute_words,
        words.spoken_hours,
        words.noon,
        words.numbers,
        words.units,
        words.within,
        words.later,
        words.earlier,
        words.same_time,
        words.earlier_that_day,
        words.session_days,
        words.durations,
    ]
    return sorted({word for table in tables for word in table})  # type: ignore[attr-defined]


@st.composite
def replies(draw: st.DrawFn) -> tuple[str, str]:
    lang = draw(st.sampled_from(LANGUAGES))
    pieces = draw(st.lists(st.sampled_from(_words(lang) + NUMBERS) | st.text(max_size=6), min_size=1, max_size=6))
    return lang, " ".join(pieces)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reply=replies(),
    zone=st.sampled_from(ZONES),
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    session_after=st.none() | st.integers(min_value=30, max_value=60 * 24 * 30),
)
def test_any_reply_gets_an_ordered_span_in_the_zone_or_none(
    reply: tuple[str, str], zone: ZoneInfo, now: datetime, session_after: int | None
) -> None:
    lang, text = reply
    session = None if session_after is None else now + timedelta(minutes=session_after)
    asked = parse_time_request(text, lang=lang, zone=zone, now=now, session=session)
    if asked is None:
        return
    assert asked.earliest <= asked.latest
    assert asked.earliest.tzinfo is zone and asked.latest.tzinfo is zone
    assert asked.latest - asked.earliest < timedelta(days=7)
    start_of_today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    assert asked.latest >= start_of_today
