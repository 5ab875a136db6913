"""A calendar file (RFC 5545 iCalendar) for one session, written by hand: one VEVENT, nothing to install.

What the RFC asks of us, and why each rule is here:

- content lines end with CRLF (section 3.1);
- a line longer than 75 octets is folded: CRLF then one space, and the space counts towards the next
  line's 75 (3.1); we never split a UTF-8 sequence, so every line stays valid UTF-8;
- TEXT values escape backslash, semicolon, comma and newlines (3.3.11); URI values are not escaped;
- DTSTAMP/DTSTART/DTEND in UTC "form #2" (`19980119T070000Z`, 3.3.5), so no VTIMEZONE is needed;
- UID stays the same for a booking and SEQUENCE grows with each change (3.8.4.7, 3.8.7.4), so a
  calendar that imported the first file updates the event instead of adding a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//Bookbot//Bookbot//EN"
MEDIA_TYPE = "text/calendar"

# Control characters other than horizontal tab are not allowed in TEXT (3.3.11); newlines are handled first.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NEWLINES = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    stamp: datetime  # when this file was made (DTSTAMP)
    start: datetime
    end: datetime
    summary: str
    sequence: int = 0
    location: str | None = None
    url: str | None = None
    description: str | None = None


def utc_stamp(instant: datetime) -> str:
    """ "20261201T070000Z": an aware instant in UTC basic form."""
    if instant.tzinfo is None:
        raise ValueError("calendar instants must be timezone-aware")
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, newlines as \\n, other controls dropped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = _NEWLINES.sub("\\\\n", value)
    return _CONTROL.sub("", value)


def _uri(value: str) -> str:
    # A URI is not TEXT: no escaping, but it must not break the line structure.
    return _CONTROL.sub("", _NEWLINES.sub("", value))


def fold(line: str) -> str:
    """A content line folded into pieces of at most 75 octets each (continuations start with a space)."""
    if len(line.encode("utf-8")) <= MAX_OCTETS:
        return line  # most lines: no walk through their characters
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
            limit = MAX_OCTETS - 1  # the leading space of a continuation line is one of its octets
        current.append(char)
        size += width
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces)


def to_ics(event: CalendarEvent) -> bytes:
    """The whole file, UTF-8, CRLF line endings."""
    if event.end <= event.start:
        raise ValueError("an event must end after it starts")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{utc_stamp(event.stamp)}",
        f"DTSTART:{utc_stamp(event.start)}",
        f"DTEND:{utc_stamp(event.end)}",
        f"SEQUENCE:{event.sequence}",
        "STATUS:CONFIRMED",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.url:
        lines.append(f"URL:{_uri(event.url)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + CRLF for line in lines).encode("utf-8")
