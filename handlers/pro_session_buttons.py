"""The buttons of a professional's sessions (cancel, move, no-show) that /agenda and /hours show, and
the client's buttons in the messages those changes send. Kept apart from handlers/pro_sessions.py so
handlers/professional.py can draw them without importing the feature that handles them.

Professional prefixes start with "ps"; the client's with "cp" (the client side's "c" namespace).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.render import Rendered, format_clock, format_day, format_instant
from bot.services import instant, no_show
from handlers.common import Button, Callback, inline_keyboard
from models import Booking, BookingState, Professional

MAX_SESSION_BUTTONS = 8


class SessionCb(Callback, prefix="pss"):
    """A professional's session: what can be done with it."""

    id: int


class CancelAskCb(Callback, prefix="psc"):
    """Ask why the session is cancelled; v = the booking's version the button was made for."""

    id: int
    v: int


class ReasonCb(Callback, prefix="psr"):
    id: int
    v: int
    r: str  # pro_cancel.Reason: illness | emergency | conflict | other


class CancelYesCb(Callback, prefix="psy"):
    id: int
    v: int
    r: str


class MoveWeekCb(Callback, prefix="psw"):
    """The professional's free days for moving a session; week: a YYYYMMDD day inside it (0 = now)."""

    id: int
    week: int = 0


class MoveDayCb(Callback, prefix="psd"):
    id: int
    day: int


class MoveTimeCb(Callback, prefix="pst"):
    id: int
    at: int  # minutes since the epoch, UTC


class ProposeCb(Callback, prefix="psp"):
    id: int
    at: int
    v: int


class NoShowYesCb(Callback, prefix="psn"):
    """The professional confirms the no-show the agenda's button asked about."""

    id: int
    v: int


class NoShowUndoCb(Callback, prefix="psu"):
    id: int


class InstantAskCb(Callback, prefix="psi"):
    """Ask for how long the professional is available now."""


class InstantOnCb(Callback, prefix="psj"):
    m: int  # minutes, one of instant.WINDOW_CHOICES


class InstantOffCb(Callback, prefix="psk"):
    pass


class RebookCb(Callback, prefix="cpr"):
    """One tap on a time the client's "cancelled by the professional" message offers."""

    id: int
    at: int


class MoveAnswerCb(Callback, prefix="cpa"):
    """The client's answer to a proposed move: a = 1 accept, 0 decline."""

    p: int
    a: int


def _label(booking: Booking, professional: Professional, locale: str, *, with_day: bool = False) -> str:
    when = format_clock(booking.starts_at, professional.timezone, locale)
    if with_day:
        when = f"{format_day(booking.starts_at, professional.timezone, locale)}, {when}"
    return f"{when} {booking.client.first_name}"


def agenda_rows(
    bookings: Sequence[Booking], professional: Professional, locale: str, now: datetime
) -> list[list[Button]]:
    """A button per session still ahead (cancel or move it), and an undo for a recent no-show mark."""
    rows: list[list[Button]] = []
    for booking in bookings:
        if booking.state == BookingState.NO_SHOW and (until := no_show.undo_until(booking)) and now <= until:
            label = _("↶ Undo no-show: {session}").format(session=_label(booking, professional, locale))
            rows.append([(label, NoShowUndoCb(id=booking.id))])
    ahead = [b for b in bookings if b.state in (BookingState.HELD, BookingState.CONFIRMED) and b.starts_at > now]
    for booking in ahead[:MAX_SESSION_BUTTONS]:
        label = _("⚙ Cancel or move: {session}").format(session=_label(booking, professional, locale, with_day=True))
        rows.append([(label, SessionCb(id=booking.id))])
    if instant.is_on(professional, now) and professional.instant_until is not None:
        clock = format_clock(professional.instant_until, professional.timezone, locale)
        rows.append([(_("⚡ Available now until {time}: turn off").format(time=clock), InstantOffCb())])
    else:
        rows.append([(_("⚡ Available now…"), InstantAskCb())])
    return rows


def no_show_question(booking: Booking, professional: Professional, locale: str) -> Rendered:
    """The step before a no-show mark: what it does, and a way back."""
    when = format_instant(booking.starts_at, professional.timezone, locale)
    lines = [
        _("Mark {name}'s session ({when}) as a no-show?").format(name=booking.client.first_name, when=when),
        _("{name} will get a kind message about it. You can undo the mark for 24 hours.").format(
            name=booking.client.first_name
        ),
    ]
    keyboard = inline_keyboard(
        [(_("Yes, mark as no-show"), NoShowYesCb(id=booking.id, v=booking.version))],
        [("◀ " + _("Back to my agenda"), SessionBackCb())],
    )
    return Rendered("\n".join(lines), keyboard)


class SessionBackCb(Callback, prefix="psb"):
    """Back to the agenda from a session's screens."""
