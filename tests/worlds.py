"""What the test worlds (tests/bot/catalog_data.py, tests/bot/pro_world.py, tests/db/booking_world.py)
and the benchmarks (benchmarks/) build their professionals from: the profile and its one Policy, weekly
hours written as people type them, services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.services.windows import parse_windows
from models import DEFAULT_POLICY, Policy, Professional, Service, ServiceMode, WeeklyWindow


def professional(slug: str, name: str, *, policy: Policy = DEFAULT_POLICY, **profile: Any) -> Professional:
    """A professional with `policy` in their columns and the profile fields given (models' defaults else)."""
    return Professional(slug=slug, name=name, **policy.as_columns(), **profile)


def weekly_hours(hours: Mapping[int, str]) -> list[WeeklyWindow]:
    """``{0: "09:00-12:00, 13:30-17:00", 2: "12-20"}`` -> the windows of those weekdays (0 = Monday)."""
    return [
        WeeklyWindow(weekday=weekday, starts=starts, ends=ends)
        for weekday, typed in hours.items()
        for starts, ends in parse_windows(typed)
    ]


def service(
    slug: str,
    name: str,
    minutes: int,
    price_minor: int,
    *,
    currency: str = "EUR",
    mode: ServiceMode = ServiceMode.VIDEO,
    active: bool = True,
) -> Service:
    return Service(
        slug=slug,
        name=name,
        duration_minutes=minutes,
        price_minor=price_minor,
        currency=currency,
        mode=mode,
        active=active,
    )
