"""The .ics file a confirmed session comes with, named by the client's own local date and time."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import gettext as _

from bot.render import (
    format_duration,
)
from bot.render.ics import CalendarEvent, to_ics
from bot.services.booking_view import BookingView, booking_view
from bot.services.timezones import zone as zone_named
from models import Booking, ServiceMode


def calendar_file(booking: Booking, now: datetime) -> BufferedInputFile:
    """The session as an .ics file; the same UID for every version of the booking, so calendars update."""
    return calendar_file_of(booking_view(booking), now)


def calendar_file_of(view: BookingView, now: datetime) -> BufferedInputFile:
    """`calendar_file` from a booking's view (what the outbox carries)."""
    what = _("{service} with {name}").format(service=view.service_name, name=view.professional_name)
    location: str | None = None
    url: str | None = None
    if view.mode == ServiceMode.VIDEO:
        url = view.video_link
        location = view.video_link
    else:
        location = view.address
    description_lines = [what, format_duration(view.duration_minutes)]
    if view.mode == ServiceMode.IN_PERSON and view.access_notes:
        description_lines.append(_("Access: {notes}").format(notes=view.access_notes))
    description_lines.append(_("Change or cancel it in the chat: /bookings"))
    event = CalendarEvent(
        uid=f"booking-{view.booking_id}@bookbot",
        stamp=now,
        start=view.starts_at,
        end=view.ends_at,
        summary=what,
        sequence=view.version,
        location=location,
        url=url,
        description="\n".join(description_lines),
    )
    # Named by the client's own date and time: the file they see in their downloads matches the chat.
    local_start = view.starts_at.astimezone(zone_named(view.client_zone))
    filename = f"session-{local_start:%Y%m%d-%H%M}.ics"
    return BufferedInputFile(to_ics(event), filename=filename)
