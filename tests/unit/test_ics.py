"""bot/render/ics.py against the rules of RFC 5545 it promises to follow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.render.ics import CalendarEvent, escape_text, fold, to_ics, utc_stamp

START = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def _event(**changes: object) -> CalendarEvent:
    fields: dict[str, object] = {
        "uid": "booking-7@bookbot",
        "stamp": datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
        "start": START,
        "end": START + timedelta(minutes=50),
        "summary": "Coaching session with Anna Koval",
    }
    fields.update(changes)
    return CalendarEvent(**fields)  # type: ignore[arg-type]


def _unfold(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", ""), "a bare LF or CR"
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _properties(data: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in _unfold(data):
        name, _, value = line.partition(":")
        found.setdefault(name, value)
    return found


def test_a_minimal_event() -> None:
    data = to_ics(_event())
    assert _unfold(data) == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Bookbot//Bookbot//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        "UID:booking-7@bookbot",
        "DTSTAMP:20261123T060000Z",
        "DTSTART:20261201T070000Z",
        "DTEND:20261201T075000Z",
        "SEQUENCE:0",
        "STATUS:CONFIRMED",
        "SUMMARY:Coaching session with Anna Koval",
        "END:VEVENT",
        "END:VCALENDAR",
    ]


def test_times_are_utc_whatever_zone_they_come_in() -> None:
    kyiv_nine = datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc_stamp(kyiv_nine) == "20261201T070000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        utc_stamp(datetime(2026, 12, 1, 9, 0))


def test_text_is_escaped_and_round_trips() -> None:
    tricky = "Khreshchatyk St 22, office 4; back\\slash\nsecond line\r\nthird\rfourth\x07"
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    data = to_ics(_event(location=tricky, description=tricky, summary="Plan; review, next"))
    properties = _properties(data)
    assert properties["LOCATION"] == escape_text(tricky)
    assert _unescape(properties["LOCATION"]) == "Khreshchatyk St 22, office 4; back\\slash\nsecond line\nthird\nfourth"
    assert _unescape(properties["SUMMARY"]) == "Plan; review, next"


def test_a_url_is_a_uri_not_text() -> None:
    data = to_ics(_event(url="https://meet.example.org/anna,koval;x?a=1&b=2\r\n"))
    assert _properties(data)["URL"] == "https://meet.example.org/anna,koval;x?a=1&b=2"


def test_long_lines_fold_at_75_octets_without_splitting_characters() -> None:
    description = "Київ " * 40 + "x" * 200 + "🙂" * 30
    data = to_ics(_event(description=description, location="L" * 300))
    raw_lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in raw_lines) <= 75
    assert any(len(line) == 75 for line in raw_lines)
    for line in raw_lines:
        line.decode("utf-8")  # each physical line is valid UTF-8 on its own
    assert _unescape(_properties(data)["DESCRIPTION"]) == description
    assert _properties(data)["LOCATION"] == "L" * 300


def test_fold_boundaries() -> None:
    assert fold("x" * 75) == "x" * 75
    assert fold("x" * 76) == "x" * 75 + "\r\n x"
    # The continuation's leading space is one of its 75 octets.
    assert fold("x" * (75 + 74 + 1)).split("\r\n") == ["x" * 75, " " + "x" * 74, " x"]
    # A two-octet character that would straddle the limit moves to the next line whole.
    folded = fold("x" * 74 + "ї")
    assert folded == "x" * 74 + "\r\n ї"


def test_sequence_and_optional_fields() -> None:
    data = to_ics(_event(sequence=3, url="https://meet.example.org/a"))
    properties = _properties(data)
    assert properties["SEQUENCE"] == "3"
    assert "LOCATION" not in properties
    assert "DESCRIPTION" not in properties


def test_an_event_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end after"):
        to_ics(_event(end=START))
