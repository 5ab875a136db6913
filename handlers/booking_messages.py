"""Messages about one booking built from its view (bot/services/booking_view.py), so the chat and the
outbox say the same thing: the client's confirmation reads the same whether the chat answers the
press that booked it or the worker sends it after a payment confirmed it elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.render import Reader, Rendered, format_duration, format_price
from bot.services.booking_view import BookingView
from bot.services.policy import PaidWith
from handlers.calendar_file import calendar_file_of
from handlers.client_callbacks import BookingCb, BookingsCb
from handlers.client_wording import notes_line, place_lines_of, when_lines_of
from handlers.common import inline_keyboard


def confirmation_message(view: BookingView, zone: str, locale: str, *, moved: bool = False) -> Rendered:
    """A confirmed session: when (in both zones where they differ), where, and what comes next."""
    lines = [
        ("✅ " + _("Moved!")) if moved else ("✅ " + _("Booked!")),
        "",
        _("{service} with {name}").format(service=view.service_name, name=view.professional_name),
        *when_lines_of(view.starts_at, view.professional_name, view.professional_zone, zone, locale),
        _("Duration: {duration}").format(duration=format_duration(view.duration_minutes)),
        _("Price: {price}").format(price=format_price(view.price_minor, view.currency, locale)),
        *([_("Paid with 1 package credit.")] if view.paid_with == PaidWith.CREDIT else []),
        *place_lines_of(
            view.mode,
            view.professional_name,
            video_link=view.video_link,
            address=view.address,
            access_notes=view.access_notes,
            confirmed=True,
            phone=view.client_phone,
        ),
        *notes_line(view.notes),
        "",
        _("The calendar file below adds it to your calendar; /bookings shows your sessions."),
    ]
    keyboard = inline_keyboard(
        [(_("Open the booking"), BookingCb(id=view.booking_id)), (_("My sessions"), BookingsCb())]
    )
    return Rendered("\n".join(lines), keyboard)


def confirmed_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """A booking confirmed outside the chat (a payment webhook): the very message the chat sends."""
    return confirmation_message(BookingView.from_json(payload), reader.zone, reader.locale)


def calendar_message(view: BookingView, now: datetime) -> Rendered:
    """The session's .ics file, which follows a confirmation."""
    return Rendered(_("Add it to your calendar:"), document=calendar_file_of(view, now))


def calendar_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    return calendar_message(BookingView.from_json(payload), datetime.fromisoformat(payload["stamp"]))
