"""What the client's day and time picker offers: a week of days with free slots in the viewer's zone,
the free times of one day, and a last check of a picked time.

Weeks run Monday to Sunday in the viewer's own zone and are bounded by the professional's booking
horizon: no week before the current one, none after the week of the last bookable day. All slot
logic stays in bot/services/availability.py; this module only slices it into what a screen shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.availability import (
    Slot,
    first_free_slots_by_day,
    free_slots,
    is_offered,
    nearest_free_slots,
    start_of_local_day,
)
from bot.services.errors import SlotUnavailable
from bot.services.timezones import zone as zone_named
from models import Service

NEAREST = 3


@dataclass(frozen=True)
class Week:
    monday: date  # the week shown, in the viewer's zone
    days: list[date]  # its days with at least one free slot, sorted
    previous: date | None  # Monday of the week before, when there is one to show
    next: date | None  # Monday of the week after, when it is within the horizon
    next_free_day: date | None  # first day with a free slot after this week (None: none within the horizon)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def day_bounds(day: date, viewer_zone: str) -> tuple[datetime, datetime]:
    """The instants of one local date in the viewer's zone."""
    zone = zone_named(viewer_zone)
    return start_of_local_day(day, zone), start_of_local_day(day + timedelta(days=1), zone)


def week_bounds(day: date, viewer_zone: str) -> tuple[datetime, datetime]:
    """The instants of the week (Monday to Sunday) of a local date in the viewer's zone."""
    zone = zone_named(viewer_zone)
    monday = monday_of(day)
    return start_of_local_day(monday, zone), start_of_local_day(monday + timedelta(days=7), zone)


def bookable_days(service: Service, viewer_zone: str, now: datetime) -> tuple[date, date]:
    """The first and last local dates (viewer's zone) that can hold a slot under the horizon."""
    zone = zone_named(viewer_zone)
    horizon = now + timedelta(days=service.professional.booking_horizon_days)
    return now.astimezone(zone).date(), horizon.astimezone(zone).date()


async def week_of(
    session: AsyncSession,
    service: Service,
    day: date,
    viewer_zone: str,
    now: datetime,
    *,
    exclude_booking_id: int | None = None,
) -> Week:
    """The week containing `day` (moved into the bookable span when outside it); `service.professional`
    must be loaded."""
    zone = zone_named(viewer_zone)
    first, last = bookable_days(service, viewer_zone, now)
    monday = min(max(monday_of(day), monday_of(first)), monday_of(last))
    following = monday + timedelta(days=7)
    # Only whether a day has a free slot matters here: the first of each day answers it.
    firsts = await first_free_slots_by_day(
        session,
        service.professional,
        service,
        start_of_local_day(monday, zone),
        start_of_local_day(following, zone),
        now,
        zone,
        exclude_booking_id=exclude_booking_id,
    )
    days = [slot.start.astimezone(zone).date() for slot in firsts]
    next_free_day = None
    if not days and following <= last:
        later = await first_free_slots_by_day(
            session,
            service.professional,
            service,
            start_of_local_day(following, zone),
            start_of_local_day(last + timedelta(days=1), zone),
            now,
            zone,
            max_days=1,
            exclude_booking_id=exclude_booking_id,
        )
        if later:
            next_free_day = later[0].start.astimezone(zone).date()
    return Week(
        monday=monday,
        days=days,
        previous=monday - timedelta(days=7) if monday > monday_of(first) else None,
        next=following if following <= last else None,
        next_free_day=next_free_day,
    )


async def times_on(
    session: AsyncSession,
    service: Service,
    day: date,
    viewer_zone: str,
    now: datetime,
    *,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """The free slots starting on local `day` in the viewer's zone."""
    zone = zone_named(viewer_zone)
    return await free_slots(
        session,
        service.professional,
        service,
        start_of_local_day(day, zone),
        start_of_local_day(day + timedelta(days=1), zone),
        now,
        exclude_booking_id=exclude_booking_id,
    )


async def check_free(
    session: AsyncSession,
    service: Service,
    starts_at: datetime,
    now: datetime,
    *,
    exclude_booking_id: int | None = None,
) -> None:
    """Nothing when `starts_at` is still offered; SlotUnavailable with the nearest free starts otherwise.

    Booking checks again (and the database has the last word): this only spares the client typing
    notes for a time that is already gone.
    """
    professional = service.professional
    if await is_offered(session, professional, service, starts_at, now, exclude_booking_id=exclude_booking_id):
        return
    nearest = await nearest_free_slots(
        session, professional, service, starts_at, now, limit=NEAREST, exclude_booking_id=exclude_booking_id
    )
    raise SlotUnavailable(starts_at, "not_offered", [slot.start for slot in nearest])
