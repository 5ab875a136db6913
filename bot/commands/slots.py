"""`bookbot slots`: print a professional's free slots for one service, in any time zone."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.cli_errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services.availability import Slot
    from models import Professional, Service

MAX_DAYS = 366
SET_UP = "run `bookbot db upgrade` and `bookbot import FILE` first"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "slots",
        help="print a professional's free slots for a service",
        description=(
            "Print the free slots of one service whose start falls between local midnight of --from and "
            "local midnight --days later, both in --tz. Unverified professionals are shown too: operators "
            "check a professional's hours before verifying them. Exit code 2 on a bad argument."
        ),
    )
    parser.add_argument("--pro", required=True, metavar="SLUG", help="the professional's slug")
    parser.add_argument("--service", required=True, metavar="SLUG", help="the service's slug (of that professional)")
    parser.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD", help="first local date")
    parser.add_argument("--days", default="7", metavar="N", help=f"how many dates, 1 to {MAX_DAYS} (default: 7)")
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone the dates and times are in, e.g. Europe/Kyiv (default: the professional's own)",
    )
    parser.add_argument(
        "--now",
        metavar="ISO-8601",
        help="pretend it is this instant; needs a UTC offset, e.g. 2026-11-23T09:00:00+00:00 (default: the real now)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print a JSON array of {"start": ..., "end": ...} with the offset of --tz at each instant',
    )
    parser.set_defaults(handler=_slots)


@dataclass(frozen=True)
class _Request:
    pro: str
    service: str
    first_day: date
    days: int
    zone: ZoneInfo | None
    now: datetime
    as_json: bool


@dataclass(frozen=True)
class _Answer:
    professional: Professional
    service: Service
    zone: ZoneInfo
    slots: list[Slot]


def _slots(args: argparse.Namespace) -> int:
    import gc

    # Loading SQLAlchemy and mapping the models makes tens of thousands of objects that live as long as
    # the process: the cyclic collector's passes over them (about 160, an eighth of the command's CPU)
    # free nothing, and the command is over long before the little it allocates afterwards matters.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _slots_now(args)
    finally:
        if collecting:
            gc.enable()


def _slots_now(args: argparse.Namespace) -> int:
    import asyncio

    from bot.cli_database import configured_database_url

    request = _parse(args)
    database_url = configured_database_url()
    answer = asyncio.run(_find(database_url, request))
    if not answer.professional.verified:
        # stderr, so --json output stays machine-readable.
        print(
            f"note: {answer.professional.slug} is not verified yet: clients are not shown these slots",
            file=sys.stderr,
        )
    if request.as_json:
        print(json.dumps([_as_json(slot, answer.zone) for slot in answer.slots], indent=2))
    else:
        _print_plain(request, answer)
    return 0


def _parse(args: argparse.Namespace) -> _Request:
    from bot.services.errors import InvalidTimeZone
    from bot.services.timezones import zone as zone_named

    try:
        first_day = date.fromisoformat(args.first_day)
    except ValueError:
        raise UsageError(f"slots --from {args.first_day!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-01") from None
    try:
        days = int(args.days)
    except ValueError:
        raise UsageError(f"slots --days {args.days!r} is not a whole number") from None
    if not 1 <= days <= MAX_DAYS:
        raise UsageError(f"slots --days must be between 1 and {MAX_DAYS}, got {days}")
    zone: ZoneInfo | None = None
    if args.tz is not None:
        try:
            zone = zone_named(args.tz)
        except InvalidTimeZone:
            raise UsageError(
                f"slots --tz {args.tz!r} is not a time zone: use an IANA name such as Europe/Kyiv"
            ) from None
    if args.now is None:
        now = datetime.now(UTC)
    else:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise UsageError(f"slots --now {args.now!r} is not an ISO-8601 date and time") from None
        if now.tzinfo is None:
            raise UsageError("slots --now needs a UTC offset, e.g. 2026-11-23T09:00:00+00:00")
    try:
        first_day + timedelta(days=days + 1)
    except OverflowError:
        raise UsageError(f"slots --from {args.first_day} plus {days} days is past the last date Python knows") from None
    return _Request(args.pro, args.service, first_day, days, zone, now, args.json)


async def _find(database_url: str, request: _Request) -> _Answer:
    from bot.cli_database import open_database
    from models.db import make_sessionmaker

    async with open_database(database_url, SET_UP) as engine, make_sessionmaker(engine)() as session:
        return await _lookup_and_compute(session, request)


async def _lookup_and_compute(session: AsyncSession, request: _Request) -> _Answer:
    from sqlalchemy import select

    from bot.services.availability import free_slots, start_of_local_day
    from bot.services.timezones import zone as zone_named
    from models import Professional, Service

    professional = await session.scalar(select(Professional).where(Professional.slug == request.pro))
    if professional is None:
        raise UsageError(f"no professional with slug {request.pro!r}")
    service = await session.scalar(
        select(Service).where(Service.professional_id == professional.id, Service.slug == request.service)
    )
    if service is None:
        offered = await session.scalars(
            select(Service.slug).where(Service.professional_id == professional.id, Service.active.is_(True))
        )
        known = ", ".join(offered) or "none"
        raise UsageError(f"{request.pro} has no service {request.service!r} (services: {known})")
    if not service.active:
        raise UsageError(f"{request.pro}'s service {request.service!r} is no longer offered")
    zone = request.zone or zone_named(professional.timezone)
    slots = await free_slots(
        session,
        professional,
        service,
        start_of_local_day(request.first_day, zone),
        start_of_local_day(request.first_day + timedelta(days=request.days), zone),
        request.now,
    )
    return _Answer(professional, service, zone, slots)


def _as_json(slot: Slot, zone: ZoneInfo) -> dict[str, str]:
    return {"start": slot.start.astimezone(zone).isoformat(), "end": slot.end.astimezone(zone).isoformat()}


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _line(slot: Slot, zone: ZoneInfo) -> str:
    start = slot.start.astimezone(zone)
    end = slot.end.astimezone(zone)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    # A slot across a DST change starts and ends at different offsets: show both rather than mislead.
    offsets = _offset(start) if start.utcoffset() == end.utcoffset() else f"{_offset(start)} → {_offset(end)}"
    return f"{start:%Y-%m-%d %H:%M}–{end_text} {zone.key} ({offsets})"


def _print_plain(request: _Request, answer: _Answer) -> None:
    last_day = request.first_day + timedelta(days=request.days - 1)
    span = f"{request.first_day}" if request.days == 1 else f"{request.first_day} to {last_day}"
    what = f"{answer.service.slug} ({answer.service.duration_minutes} min) with {answer.professional.slug}"
    if not answer.slots:
        print(f"No free slots for {what} on {span} ({answer.zone.key}).")
        return
    print(f"Free slots for {what}, {span}, times in {answer.zone.key}:")
    for slot in answer.slots:
        print(_line(slot, answer.zone))
    count = len(answer.slots)
    print(f"{count} free slot{'s' if count != 1 else ''}.")
