"""A professional's weekly hours and days off, as they edit them from chat.

Typed hours follow the rules the catalog file follows too (bot/services/windows.py). Days off are
whole local dates, both ends included ("2026-12-24" or "2026-12-24..2026-12-26"); the parsers are pure.

Changing the schedule never touches a booking: a session already made stays where it is. The writes
return the held and confirmed sessions that now lie outside the working hours, so the professional
can be told (and sort them out with the client if they want).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services.availability import MINUTES_PER_DAY, Schedule
from bot.services.errors import NotAllowed, NotFound
from bot.services.timezones import zone as zone_named
from bot.services.windows import ScheduleInputError, Window, check_windows
from models import Booking, BookingState, DateOverride, Professional, TimeOff, WeeklyWindow

MAX_DAYS_OFF = 366

_RANGE = re.compile(r"\s*(\S+?)\s*(?:\.\.|–|—)\s*(\S+)\s*")


# --- parsing (pure) --------------------------------------------------------------------------------


def parse_date(text: str) -> date:
    piece = text.strip()
    try:
        if len(piece) != 10:
            raise ValueError(piece)
        return date.fromisoformat(piece)
    except ValueError:
        raise ScheduleInputError("date", piece) from None


def parse_days(text: str) -> tuple[date, date]:
    """ "2026-12-24" -> (that day, that day); "2026-12-24..2026-12-26" -> both ends, included."""
    cleaned = text.strip()
    if not cleaned:
        raise ScheduleInputError("blank")
    match = _RANGE.fullmatch(cleaned)
    if match is None:
        day = parse_date(cleaned)
        return day, day
    first, last = parse_date(match.group(1)), parse_date(match.group(2))
    if last < first:
        raise ScheduleInputError("range_order", cleaned)
    if (last - first).days + 1 > MAX_DAYS_OFF:
        raise ScheduleInputError("too_long", cleaned)
    return first, last


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaysOff:
    id: int
    first_day: date
    last_day: date


@dataclass(frozen=True)
class SpecialDay:
    """A date override: other hours than the weekly ones on one date (none: a day off)."""

    on_date: date
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class WeeklySchedule:
    zone: str
    weekly: tuple[tuple[Window, ...], ...]  # seven entries, Monday first
    days_off: tuple[DaysOff, ...]  # ending today or later, soonest first
    special_days: tuple[SpecialDay, ...]  # today or later


def local_today(professional: Professional, now: datetime) -> date:
    return now.astimezone(zone_named(professional.timezone)).date()


async def _weekly(session: AsyncSession, professional: Professional) -> tuple[tuple[Window, ...], ...]:
    rows = await session.execute(
        select(WeeklyWindow.weekday, WeeklyWindow.starts, WeeklyWindow.ends)
        .where(WeeklyWindow.professional_id == professional.id)
        .order_by(WeeklyWindow.weekday, WeeklyWindow.starts)
    )
    week: list[list[Window]] = [[] for _day in range(7)]
    for weekday, starts, ends in rows:
        week[weekday].append((starts, ends))
    return tuple(tuple(windows) for windows in week)


async def _days_off(session: AsyncSession, professional: Professional, since: date) -> tuple[DaysOff, ...]:
    rows = await session.scalars(
        select(TimeOff)
        .where(TimeOff.professional_id == professional.id, TimeOff.last_day >= since)
        .order_by(TimeOff.first_day, TimeOff.id)
    )
    return tuple(DaysOff(row.id, row.first_day, row.last_day) for row in rows)


async def _special_days(session: AsyncSession, professional: Professional, since: date) -> tuple[SpecialDay, ...]:
    rows = await session.scalars(
        select(DateOverride)
        .options(selectinload(DateOverride.windows))
        .where(DateOverride.professional_id == professional.id, DateOverride.on_date >= since)
        .order_by(DateOverride.on_date)
        .execution_options(populate_existing=True)
    )
    return tuple(SpecialDay(row.on_date, tuple((w.starts, w.ends) for w in row.windows)) for row in rows)


async def weekly_schedule(session: AsyncSession, professional: Professional, *, now: datetime) -> WeeklySchedule:
    today = local_today(professional, now)
    return WeeklySchedule(
        zone=professional.timezone,
        weekly=await _weekly(session, professional),
        days_off=await _days_off(session, professional, today),
        special_days=await _special_days(session, professional, today),
    )


async def sessions_outside_hours(session: AsyncSession, professional: Professional, *, now: datetime) -> list[Booking]:
    """Held and confirmed sessions not yet over that no working window holds (after time off and
    date overrides), soonest first."""
    bookings = list(
        (
            await session.scalars(
                select(Booking)
                .options(selectinload(Booking.client), selectinload(Booking.service))
                .where(
                    Booking.professional_id == professional.id,
                    or_(
                        Booking.state == BookingState.CONFIRMED,
                        # A hold that ran out is nobody's session, even before the worker expires it.
                        and_(Booking.state == BookingState.HELD, Booking.hold_expires_at > now),
                    ),
                    Booking.ends_at > now,
                )
                .order_by(Booking.starts_at, Booking.id)
            )
        ).all()
    )
    if not bookings:
        return []
    today = local_today(professional, now)
    weekly = await _weekly(session, professional)
    off = await _days_off(session, professional, today - timedelta(days=1))
    special = await _special_days(session, professional, today - timedelta(days=1))
    schedule = Schedule(
        zone=zone_named(professional.timezone),
        weekly=dict(enumerate(weekly)),
        overrides={day.on_date: day.windows for day in special},
        time_off=[(days.first_day, days.last_day) for days in off],
        buffer_before=timedelta(0),
        buffer_after=timedelta(0),
        min_notice=timedelta(0),
        horizon=timedelta(0),
    )
    return [booking for booking in bookings if not _inside(schedule, booking)]


def _inside(schedule: Schedule, booking: Booking) -> bool:
    """Whether the session lies within one window of its local date, compared in wall-clock time."""
    start = booking.starts_at.astimezone(schedule.zone)
    end = booking.ends_at.astimezone(schedule.zone)
    day = start.date()
    start_minute = start.hour * 60 + start.minute
    end_minute = (end.date() - day).days * MINUTES_PER_DAY + end.hour * 60 + end.minute
    return any(starts <= start_minute and end_minute <= ends for starts, ends in schedule.windows_on(day))


# --- changing --------------------------------------------------------------------------------------


async def set_weekday_hours(
    session: AsyncSession, professional: Professional, weekday: int, windows: Sequence[Window], *, now: datetime
) -> list[Booking]:
    """Replace one weekday's windows (0 = Monday; none = no hours that day). Returns the sessions
    outside the hours afterwards (they stay booked)."""
    if weekday not in range(7):
        raise NotFound("weekday", weekday)
    ordered = check_windows(windows)
    await session.execute(
        delete(WeeklyWindow).where(WeeklyWindow.professional_id == professional.id, WeeklyWindow.weekday == weekday)
    )
    session.add_all(
        WeeklyWindow(professional_id=professional.id, weekday=weekday, starts=starts, ends=ends)
        for starts, ends in ordered
    )
    await session.flush()
    return await sessions_outside_hours(session, professional, now=now)


async def add_days_off(
    session: AsyncSession, professional: Professional, first: date, last: date, *, now: datetime
) -> tuple[DaysOff, list[Booking]]:
    """Take local dates [first, last] off (the part before today is dropped; ScheduleInputError "past"
    if nothing is left). Ranges that overlap or touch it are merged into one. Returns the merged range
    and the sessions outside the hours afterwards (they stay booked)."""
    if last < first:
        raise ScheduleInputError("range_order", f"{first}..{last}")
    if (last - first).days + 1 > MAX_DAYS_OFF:
        raise ScheduleInputError("too_long", f"{first}..{last}")
    today = local_today(professional, now)
    if last < today:
        raise ScheduleInputError("past", last.isoformat())
    # Days already gone cannot be booked anyway: a range reaching back into them starts today.
    first = max(first, today)
    touching = list(
        (
            await session.scalars(
                select(TimeOff).where(
                    TimeOff.professional_id == professional.id,
                    TimeOff.first_day <= last + timedelta(days=1),
                    TimeOff.last_day >= first - timedelta(days=1),
                )
            )
        ).all()
    )
    merged_first = min([first, *(row.first_day for row in touching)])
    merged_last = max([last, *(row.last_day for row in touching)])
    for row in touching:
        await session.delete(row)
    added = TimeOff(professional_id=professional.id, first_day=merged_first, last_day=merged_last)
    session.add(added)
    await session.flush()
    outside = await sessions_outside_hours(session, professional, now=now)
    return DaysOff(added.id, added.first_day, added.last_day), outside


async def remove_days_off(session: AsyncSession, professional: Professional, days_off_id: int) -> DaysOff:
    """Work again on a range of days off (NotFound / NotAllowed for an id that is not theirs)."""
    row = await session.get(TimeOff, days_off_id)
    if row is None:
        raise NotFound("time off", days_off_id)
    if row.professional_id != professional.id:
        raise NotAllowed(f"time off {days_off_id} is not this professional's")
    removed = DaysOff(row.id, row.first_day, row.last_day)
    await session.delete(row)
    await session.flush()
    return removed
