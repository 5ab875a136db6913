"""The client side's callback factories, the codes inside them and its FSM data keys (handlers/catalog.py,
booking.py, my_bookings.py, reminders.py).

Every prefix starts with "c" (the client side's namespace, so the professional side can never collide
with it). Callback data holds ids and short codes only: dates as YYYYMMDD ints, instants as minutes
since the epoch, a category as a short hash of its slug; everything is reloaded and checked by id.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from bot.services.errors import NotFound
from handlers.common import Callback


class BrowseCb(Callback, prefix="cl"):
    """The list of professionals: category code ("" = all), language code ("" = any), page (0-based)."""

    cat: str = ""
    lang: str = ""
    page: int = 0


class FilterCb(Callback, prefix="cf"):
    """Open the category ("c") or language ("l") filter, keeping the other one."""

    kind: str
    cat: str = ""
    lang: str = ""


class ProfileCb(Callback, prefix="cp"):
    """A professional's profile; the list it was opened from comes along for the way back."""

    id: int
    cat: str = ""
    lang: str = ""
    page: int = 0


class WeekCb(Callback, prefix="cw"):
    """The calendar of a service. week: a YYYYMMDD day inside the week, 0 = the current week.
    rb: the booking being rescheduled (0 = a new booking)."""

    svc: int
    week: int = 0
    rb: int = 0


class DayCb(Callback, prefix="cd"):
    svc: int
    day: int
    rb: int = 0


class TimeCb(Callback, prefix="ct"):
    svc: int
    at: int  # minutes since the epoch, UTC
    rb: int = 0


class SkipNotesCb(Callback, prefix="cn"):
    svc: int
    at: int


class NotesCb(Callback, prefix="ce"):
    """Write (or rewrite) the notes for the time picked."""

    svc: int
    at: int


class ConfirmCb(Callback, prefix="cy"):
    """Book it. n = 1 when the summary showed notes (they live in the conversation state, not here);
    c = 1 to pay with a package credit."""

    svc: int
    at: int
    n: int = 0
    c: int = 0


class BookingsCb(Callback, prefix="cu"):
    """The client's sessions: upcoming (past = 0) or past (past = 1)."""

    past: int = 0


class BookingCb(Callback, prefix="cb"):
    id: int


class CancelCb(Callback, prefix="cx"):
    """Ask before cancelling; v = the version of the booking the button was made for."""

    id: int
    v: int


class CancelYesCb(Callback, prefix="cxy"):
    """Cancel for real; p = the refund percent the client was shown."""

    id: int
    v: int
    p: int


class MoveCb(Callback, prefix="cm"):
    id: int


class MoveYesCb(Callback, prefix="cmy"):
    id: int
    at: int
    v: int


class IcsCb(Callback, prefix="ci"):
    id: int


class AgainCb(Callback, prefix="ca"):
    """New times for the service of a booking (after a cancellation, an expired hold, a past session)."""

    id: int


def day_code(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def day_from_code(code: int) -> date:
    """The date of a YYYYMMDD code. A code that is no date came from a forged button: NotFound, which
    the fallback answers like any stale button."""
    year, rest = divmod(code, 10_000)
    month, day = divmod(rest, 100)
    try:
        return date(year, month, day)
    except ValueError:
        raise NotFound("day", code) from None


def minute_code(instant: datetime) -> int:
    return int(instant.timestamp()) // 60


def instant_from_code(code: int) -> datetime:
    """The instant of a minute code; NotFound (a forged button) for one no calendar holds."""
    try:
        return datetime.fromtimestamp(code * 60, UTC)
    except (OverflowError, OSError, ValueError):
        raise NotFound("instant", code) from None


def category_code(slug: str) -> str:
    """8 hex digits: short enough for callback data whatever the slug, and free of separators."""
    return hashlib.sha1(slug.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]


# FSM data keys of the client side (prefixed: other features share the same data dict).
CAT, LANG, PAGE = "c_cat", "c_lang", "c_page"


PRO = "c_pro"


SVC, WEEK, DAY, AT, RB, NOTES = "c_svc", "c_week", "c_day", "c_at", "c_rb", "c_notes"


BOOKING, PAST = "c_booking", "c_past"


def as_int(data: dict[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    return value if isinstance(value, int) else default
