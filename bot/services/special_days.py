"""Other hours on one local date (a date override: it replaces that date's weekly hours; no windows is a
day off that date), set and removed from /hours. Like every schedule change, it moves no booking: the
writes return the sessions now outside the hours (bot/services/schedule.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotFound
from bot.services.schedule import local_today, sessions_outside_hours
from bot.services.windows import ScheduleInputError, Window, check_windows
from models import Booking, DateOverride, OverrideWindow, Professional


async def set_special_day(
    session: AsyncSession, professional: Professional, on_date: date, windows: Sequence[Window], *, now: datetime
) -> list[Booking]:
    """These hours (none: no work) on `on_date` instead of the weekly ones; ScheduleInputError "past"
    for a date gone by."""
    if on_date < local_today(professional, now):
        raise ScheduleInputError("past", on_date.isoformat())
    ordered = check_windows(windows)
    override = await session.scalar(
        select(DateOverride).where(DateOverride.professional_id == professional.id, DateOverride.on_date == on_date)
    )
    if override is None:
        override = DateOverride(professional_id=professional.id, on_date=on_date, windows=[])
        session.add(override)
    override.windows = [OverrideWindow(starts=starts, ends=ends) for starts, ends in ordered]
    await session.flush()
    return await sessions_outside_hours(session, professional, now=now)


async def remove_special_day(session: AsyncSession, professional: Professional, on_date: date) -> None:
    """Back to the weekly hours on `on_date` (NotFound when it has no other hours)."""
    override = await session.scalar(
        select(DateOverride).where(DateOverride.professional_id == professional.id, DateOverride.on_date == on_date)
    )
    if override is None:
        raise NotFound("date override", on_date.isoformat())
    await session.delete(override)
    await session.flush()
