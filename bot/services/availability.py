"""The slot engine: which starts a professional offers for a service, exactly as DESIGN.md defines slots.

The core (`compute_slots`) is a pure function of a `Schedule`, the busy intervals, the clock's `now`
and a range; `first_slots_by_day` answers a week picker's narrower question (which days have a slot)
by the same rules without walking every start. The async helpers below load those inputs from the
database and call them.

Wall-clock times become instants in two ways, and the difference matters around DST changes:

- a slot *start* is one wall-clock reading: a reading the clock skips does not exist and is no slot,
  a reading the clock shows twice means its first occurrence (`fold=0`);
- a window *end* (and a day's midnight) is a boundary: the earliest instant at which the wall clock
  reads that time or later. For a reading that exists this is its first occurrence again; for one the
  clock skips it is the instant of the jump, so a window "until 03:30" on a night that goes
  03:00 -> 04:00 ends at the jump rather than an hour after it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    Integer,
    Select,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from bot.services import schedule_cache
from bot.services.timezones import zone as zone_named
from models import (
    ACTIVE_STATES,
    Booking,
    BookingState,
    DateOverride,
    OverrideWindow,
    Professional,
    Service,
    TimeOff,
    WeeklyWindow,
)
from models.base import UTCDateTime

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Slot:
    """A bookable session: start and end are aware UTC instants."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Schedule:
    """A professional's working time, in their own zone.

    Windows are (start_minute, end_minute) after local midnight, 0 <= start < end <= 1440.
    """

    zone: ZoneInfo
    weekly: Mapping[int, Sequence[tuple[int, int]]]  # weekday (0 = Monday) -> windows
    overrides: Mapping[date, Sequence[tuple[int, int]]]  # local date -> windows; empty = day off
    time_off: Sequence[tuple[date, date]]  # whole local dates, both ends included
    buffer_before: timedelta
    buffer_after: timedelta
    min_notice: timedelta
    horizon: timedelta

    def windows_on(self, day: date) -> Sequence[tuple[int, int]]:
        """The windows of one local date after overrides and time off."""
        if any(first <= day <= last for first, last in self.time_off):
            return ()
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())


# --- wall clock <-> instants -------------------------------------------------------------------


def wall_to_start(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant a naive wall-clock start means in `zone`: None if the clock skips it, the first
    occurrence if the clock shows it twice."""
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    # zoneinfo maps a skipped reading to *some* instant without complaint; only the round trip tells.
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


def wall_to_boundary(wall: datetime, zone: ZoneInfo) -> datetime:
    """The earliest UTC instant at which the wall clock in `zone` reads `wall` or later."""
    existing = wall_to_start(wall, zone)
    if existing is not None:
        return existing
    # In a gap fold=1 lands before the jump and fold=0 after it; the jump itself lies between.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if low > high:
        low, high = high, low
    step = timedelta(seconds=1)
    while high - low > step:
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            middle = low + step
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant local `day` begins in `zone` (its midnight, or the jump where midnight is skipped)."""
    return wall_to_boundary(datetime.combine(day, time()), zone)


def _as_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


# --- the pure engine ---------------------------------------------------------------------------


class _Busy:
    """Busy intervals merged into disjoint sorted runs, so one bisect answers each overlap question.

    Merging touching intervals too is safe: half-open [a, b) and [b, c) cover exactly [a, c).
    """

    def __init__(self, intervals: Iterable[tuple[datetime, datetime]]) -> None:
        starts: list[datetime] = []
        ends: list[datetime] = []
        # What the database reads is UTC already: only the rest is converted (and checked to be aware).
        pairs = [
            (s, e) if s.tzinfo is UTC and e.tzinfo is UTC else (_as_utc(s, "busy start"), _as_utc(e, "busy end"))
            for s, e in intervals
        ]
        pairs.sort()
        for start, end in pairs:
            if end <= start:
                continue
            if ends and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        self._starts = starts
        self._ends = ends

    def met_until(self, start: datetime, end: datetime) -> datetime | None:
        """The end of the first busy run [start, end) meets, None if it meets none; touching at an end
        point is not meeting. Nothing starting before that end (and no later) can be free either."""
        index = bisect_right(self._ends, start)
        if index < len(self._starts) and self._starts[index] < end:
            return self._ends[index]
        return None


_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)


def _steady_offset(day: date, zone: ZoneInfo) -> timedelta | None:
    """The UTC offset `zone` keeps from local `day`'s midnight through the next one, None on a day whose
    clocks change (or whose midnights are skipped or repeated).

    Equal unambiguous offsets at both midnights rule out a change between them because no zone changes
    its offset twice within two days (true of every tzdata transition to date): on such a day every
    wall-clock reading is one instant, `offset` before it, so a window's starts are plain arithmetic."""
    midnight = datetime.combine(day, time(), zone)
    following = datetime.combine(day + _DAY, time(), zone)
    offset = midnight.utcoffset()
    if (
        offset is None
        or midnight.replace(fold=1).utcoffset() != offset
        or following.utcoffset() != offset
        or following.replace(fold=1).utcoffset() != offset
    ):
        return None
    return offset


@dataclass(frozen=True)
class _Search:
    """One question to the engine: its schedule and the bounds every start must keep."""

    schedule: Schedule
    duration: timedelta
    step: timedelta
    blocked: _Busy
    earliest: datetime
    latest: datetime  # inclusive
    range_end: datetime  # exclusive

    def days(self) -> Iterator[date]:
        """The professional's local dates whose windows can hold a start, in order.

        A start's local date is the date of its own window, so these dates cover every candidate; the
        extra day in front keeps that true should a clock ever fall back across midnight. A start read
        with `fold=0` grows with its wall-clock reading, so the starts of one date all precede the next
        date's: the dates can be searched one after another and a search stopped at any date."""
        zone = self.schedule.zone
        day = self.earliest.astimezone(zone).date() - _DAY
        last_day = min(self.range_end, self.latest).astimezone(zone).date()
        while day <= last_day:
            yield day
            day += _DAY

    def starts_on(self, day: date, earliest: datetime, viewer: ZoneInfo | None) -> list[datetime]:
        """The free starts (from `earliest` on) of the windows of local `day`, sorted. With `viewer`, a
        window stops counting the starts of one of the viewer's local dates once it has found one."""
        found: set[datetime] = set()
        windows = self.schedule.windows_on(day)
        if not windows:
            return []
        offset = _steady_offset(day, self.schedule.zone)
        for first_minute, end_minute in windows:
            if offset is None:
                self._changing_window(day, first_minute, end_minute, earliest, viewer, found)
            else:
                midnight = datetime.combine(day, time(), UTC) - offset
                self._steady_window(
                    midnight + first_minute * _MINUTE, midnight + end_minute * _MINUTE, earliest, viewer, found
                )
        return sorted(found)

    def _next_floor(self, start: datetime, viewer: ZoneInfo | None) -> datetime | None:
        """Where to look on from after a free `start`: None for the very next step, or with `viewer` the
        beginning of the viewer's next local date."""
        if viewer is None:
            return None
        return start_of_local_day(start.astimezone(viewer).date() + _DAY, viewer)

    def _steady_window(
        self,
        window_start: datetime,
        window_end: datetime,
        floor: datetime,
        viewer: ZoneInfo | None,
        found: set[datetime],
    ) -> None:
        """A window of a day without a clock change: its starts are `window_start` plus whole steps, so
        the first start at or after any instant is one division away (a busy run is jumped whole)."""
        step, duration = self.step, self.duration
        before, after = self.schedule.buffer_before, self.schedule.buffer_after
        last = min(window_end - duration, self.latest)
        start = window_start
        while True:
            if floor > start:
                # The first step at or after `floor`: ceil((floor - window_start) / step) steps in.
                start = window_start - ((window_start - floor) // step) * step
            if start > last or start >= self.range_end:
                return
            busy_until = self.blocked.met_until(start - before, start + duration + after)
            if busy_until is not None:
                floor = busy_until + before
                continue
            found.add(start)
            floor = self._next_floor(start, viewer) or start + step

    def _changing_window(
        self,
        day: date,
        first_minute: int,
        end_minute: int,
        floor: datetime,
        viewer: ZoneInfo | None,
        found: set[datetime],
    ) -> None:
        """A window of a day the clocks change: each wall-clock start is read on its own."""
        zone = self.schedule.zone
        before, after = self.schedule.buffer_before, self.schedule.buffer_after
        midnight = datetime.combine(day, time())
        window_end_wall = midnight + end_minute * _MINUTE
        last = min(wall_to_boundary(window_end_wall, zone) - self.duration, self.latest)
        wall = midnight + first_minute * _MINUTE
        while wall < window_end_wall:
            start = wall_to_start(wall, zone)
            wall += self.step
            if start is None or start < floor:
                continue
            if start > last or start >= self.range_end:
                # Starts only grow along a window, so nothing later in it can fit either.
                return
            busy_until = self.blocked.met_until(start - before, start + self.duration + after)
            if busy_until is not None:
                floor = busy_until + before
                continue
            found.add(start)
            floor = self._next_floor(start, viewer) or floor


def _search(
    schedule: Schedule,
    duration: timedelta,
    step: timedelta,
    busy: Sequence[tuple[datetime, datetime]],
    now: datetime,
    range_start: datetime,
    range_end: datetime,
) -> _Search | None:
    """The search `compute_slots` and `first_slots_by_day` run, None when nothing can be in range."""
    if duration <= timedelta(0):
        raise ValueError(f"duration must be positive, got {duration}")
    if step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step}")
    now = _as_utc(now, "now")
    earliest = max(_as_utc(range_start, "range_start"), now + schedule.min_notice)
    latest = now + schedule.horizon  # inclusive
    range_end = _as_utc(range_end, "range_end")
    if earliest >= range_end or earliest > latest:
        return None
    return _Search(schedule, duration, step, _Busy(busy), earliest, latest, range_end)


def compute_slots(
    schedule: Schedule,
    duration: timedelta,
    step: timedelta,
    busy: Sequence[tuple[datetime, datetime]],
    now: datetime,
    range_start: datetime,
    range_end: datetime,
) -> list[Slot]:
    """Free slots whose start lies in [range_start, range_end), sorted by start.

    `busy` holds the buffered intervals [block_start, block_end) of the active bookings.
    """
    search = _search(schedule, duration, step, busy, now, range_start, range_end)
    if search is None:
        return []
    return [
        Slot(start, start + duration) for day in search.days() for start in search.starts_on(day, search.earliest, None)
    ]


def first_slots_by_day(
    schedule: Schedule,
    duration: timedelta,
    step: timedelta,
    busy: Sequence[tuple[datetime, datetime]],
    now: datetime,
    range_start: datetime,
    range_end: datetime,
    viewer: ZoneInfo,
    *,
    max_days: int | None = None,
) -> list[Slot]:
    """Of the slots `compute_slots` gives, the first of each of the viewer's local dates (at most
    `max_days` of them, the earliest), sorted: what a week picker needs, found without walking every
    free start of a day (or of every day up to the horizon, to find the next free one)."""
    search = _search(schedule, duration, step, busy, now, range_start, range_end)
    if search is None or (max_days is not None and max_days < 1):
        return []
    found: list[Slot] = []
    last_date: date | None = None
    floor = search.earliest
    for day in search.days():
        for start in search.starts_on(day, floor, viewer):
            on_date = start.astimezone(viewer).date()
            if on_date == last_date:
                continue
            found.append(Slot(start, start + duration))
            last_date = on_date
            if len(found) == max_days:
                return found
        if last_date is not None:
            # Later dates of the schedule start later, so the viewer's dates found so far are complete.
            floor = max(floor, start_of_local_day(last_date + _DAY, viewer))
    return found


# --- from the database -------------------------------------------------------------------------


def _schedule(
    professional: Professional,
    weekly: Iterable[tuple[int, int, int]],
    overrides: Iterable[tuple[date, int | None, int | None]],
    time_off: Iterable[tuple[date, date]],
) -> Schedule:
    week: dict[int, list[tuple[int, int]]] = {}
    for weekday, starts, ends in weekly:
        week.setdefault(weekday, []).append((starts, ends))
    days: dict[date, list[tuple[int, int]]] = {}
    for on_date, first, last in overrides:
        windows = days.setdefault(on_date, [])
        # An override without windows still counts: it is a day off.
        if first is not None and last is not None:
            windows.append((first, last))
    return Schedule(
        zone=zone_named(professional.timezone),
        weekly={weekday: sorted(windows) for weekday, windows in week.items()},
        overrides={on_date: sorted(windows) for on_date, windows in days.items()},
        time_off=list(time_off),
        buffer_before=timedelta(minutes=professional.buffer_before_minutes),
        buffer_after=timedelta(minutes=professional.buffer_after_minutes),
        min_notice=timedelta(minutes=professional.min_notice_minutes),
        horizon=timedelta(days=professional.booking_horizon_days),
    )


def schedule_of(professional: Professional) -> Schedule:
    """The Schedule of a professional whose weekly windows, overrides and time off are loaded."""
    return _schedule(
        professional,
        ((w.weekday, w.starts, w.ends) for w in professional.weekly_windows),
        [
            (override.on_date, window.starts, window.ends)
            for override in professional.date_overrides
            for window in override.windows
        ]
        + [(override.on_date, None, None) for override in professional.date_overrides if not override.windows],
        ((off.first_day, off.last_day) for off in professional.time_off),
    )


# Without a `slot_step_minutes` of the professional's, starts step by the service's duration rounded up
# to this many minutes: a 50-minute session starts on the hour (5:00, 6:00 PM), not at 5:50 and 6:40.
ROUND_STEP_MINUTES = 15


def default_step_minutes(duration_minutes: int) -> int:
    """The step of a service's starts when the professional sets none: its duration rounded up to a
    quarter of an hour (20 -> 30, 45 -> 45, 50 -> 60, 90 -> 90), so that starts from a round window
    start stay round."""
    return -(-duration_minutes // ROUND_STEP_MINUTES) * ROUND_STEP_MINUTES


def step_of(professional: Professional, service: Service) -> timedelta:
    return timedelta(minutes=professional.slot_step_minutes or default_step_minutes(service.duration_minutes))


async def _load_schedule(session: AsyncSession, professional: Professional, first: date, last: date) -> Schedule:
    """The professional's schedule (overrides and time off from local `first` on), from this process's
    cache while the professional's `schedule_version` says it is current (bot/services/schedule_cache.py).

    Otherwise one round trip: weekly windows, date overrides, time off and the version they belong to
    come as one UNION ALL, told apart by `kind` (it is on every calendar screen, where each statement
    costs as much as the slot engine)."""
    found = schedule_cache.cached(session.sync_session, professional, first)
    if found is not None:
        return found
    since = first - timedelta(days=1)
    no_day = cast(null(), Date)
    no_minute = cast(null(), Integer)
    weekly = select(
        literal(_WEEKLY).label("kind"),
        WeeklyWindow.weekday.label("weekday"),
        no_day.label("first_day"),
        no_day.label("last_day"),
        WeeklyWindow.starts.label("starts"),
        WeeklyWindow.ends.label("ends"),
    ).where(WeeklyWindow.professional_id == professional.id)
    overrides = (
        select(
            literal(_OVERRIDE),
            no_minute,
            DateOverride.on_date,
            no_day,
            OverrideWindow.starts,
            OverrideWindow.ends,
        )
        .select_from(DateOverride)
        .outerjoin(OverrideWindow, OverrideWindow.override_id == DateOverride.id)
        .where(DateOverride.professional_id == professional.id, DateOverride.on_date >= since)
    )
    time_off = select(literal(_TIME_OFF), no_minute, TimeOff.first_day, TimeOff.last_day, no_minute, no_minute).where(
        TimeOff.professional_id == professional.id, TimeOff.last_day >= since
    )
    version = select(literal(_VERSION), Professional.schedule_version, no_day, no_day, no_minute, no_minute).where(
        Professional.id == professional.id
    )
    rows = (await session.execute(union_all(weekly, overrides, time_off, version))).all()
    schedule = _schedule(
        professional,
        [(row.weekday, row.starts, row.ends) for row in rows if row.kind == _WEEKLY],
        [(row.first_day, row.starts, row.ends) for row in rows if row.kind == _OVERRIDE],
        [(row.first_day, row.last_day) for row in rows if row.kind == _TIME_OFF],
    )
    read = [row.weekday for row in rows if row.kind == _VERSION]
    # Kept only when the professional's row (whose settings the schedule holds too) has that very version.
    if read and read[0] == schedule_cache.fresh_version(session.sync_session, professional):
        schedule_cache.store(session.sync_session, professional.id, read[0], since, schedule)
    return schedule


_WEEKLY, _OVERRIDE, _TIME_OFF, _VERSION = 0, 1, 2, 3


# --- busy intervals read with the service (the calendar screens) -------------------------------------

# How far a calendar screen's busy intervals are read beyond the range it shows: the buffers and the
# session's length reach that far at most for any professional of a sane setup; one that reaches further
# is read again by `_load_busy` (the range is checked, never assumed).
PREFETCH_SLACK = timedelta(days=1)
_PREFETCH = "bookbot_busy_prefetch"


@dataclass(frozen=True)
class _Prefetched:
    stamp: int  # the transaction it was read in (schedule_cache.transaction_stamp)
    professional_id: int
    low: datetime
    high: datetime
    # (block start, block end, state, hold expiry) of every active booking meeting [low, high)
    rows: tuple[tuple[datetime, datetime, str, datetime | None], ...]


def busy_window(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """What to read beside the service for a screen of the slots starting in [first, last)."""
    return first - PREFETCH_SLACK, last + PREFETCH_SLACK


# Made once: an alias of a mapped class proxies every column (foreign keys and their events included),
# which cost a third of a calendar screen's CPU when made on every call.
_BUSY = aliased(Booking, name="busy")
_EARLIER = aliased(Booking, name="earlier")
# The range of a `with_busy` statement, bound at each execution (`busy_range`), so that the statement
# itself can be built once.
_LOW = bindparam("busy_low", type_=UTCDateTime())
_HIGH = bindparam("busy_high", type_=UTCDateTime())


def _occupying(booking: Any, professional_id: Any) -> list[ColumnElement[bool]]:
    """`booking` (Booking or an alias of it) is an active booking of the professional meeting the range
    `busy_range` binds. Active bookings of one professional never overlap (the database enforces it), so
    the intervals sorted by start are sorted by end too: of those starting before the range, only the
    latest can reach into it. Bounding the start from below by it lets the (professional, block start)
    index skip the whole history instead of scanning it for block ends."""
    latest_before = (
        select(_EARLIER.block_starts_at)
        .where(
            _EARLIER.professional_id == professional_id,
            _EARLIER.state.in_(ACTIVE_STATES),
            _EARLIER.block_starts_at <= _LOW,
        )
        .order_by(_EARLIER.block_starts_at.desc())
        .limit(1)
        # The professional's id may come from a table two levels up (`with_busy`'s subquery).
        .correlate_except(_EARLIER)
        .scalar_subquery()
    )
    return [
        booking.professional_id == professional_id,
        booking.state.in_(ACTIVE_STATES),
        booking.block_starts_at >= func.coalesce(latest_before, _LOW),
        booking.block_starts_at < _HIGH,
        booking.block_ends_at > _LOW,
    ]


class _busy_list(FunctionElement[Any]):
    """A JSON list of one list per row aggregated: json_group_array(json_array(...)) on SQLite,
    json_agg(json_build_array(...)) on PostgreSQL (NULL there when there are no rows)."""

    type = JSON()
    name = "busy_list"
    inherit_cache = True


@compiles(_busy_list)
def _busy_list_postgresql(element: _busy_list, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))"


@compiles(_busy_list, "sqlite")
def _busy_list_sqlite(element: _busy_list, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


def with_busy(query: Select[Any], professional_id: Any) -> Select[Any]:
    """`query` (one row per service) with one more column: the active bookings of the service's
    professional that meet the range `busy_range` binds, as one JSON list of [block start, block end,
    state, hold expiry]; `remember_busy` keeps them for `free_slots`. Lapsed holds come too: `_load_busy`
    tells them apart with the `now` it is called with.

    One list rather than the bookings outer-joined: joined, each booking repeated the service's and the
    professional's columns and the ORM went through both entities again, about 10 us of CPU a booking
    (a calendar screen meets 10 to 25 of them)."""
    busy = (
        select(_busy_list(_BUSY.block_starts_at, _BUSY.block_ends_at, _BUSY.state, _BUSY.hold_expires_at))
        .where(*_occupying(_BUSY, professional_id))
        .scalar_subquery()
    )
    return query.add_columns(busy)


def busy_range(low: datetime, high: datetime) -> dict[str, datetime]:
    """The parameters of a `with_busy` statement: the bookings meeting [low, high)."""
    return {_LOW.key: low, _HIGH.key: high}


def remember_busy(session: AsyncSession, professional_id: int, low: datetime, high: datetime, busy: Any) -> None:
    """Keep what `with_busy` read (its column's value) for the rest of this transaction, while it writes
    nothing."""
    stamp = schedule_cache.transaction_stamp(session.sync_session)
    if stamp is None:
        return
    found = tuple(
        (_instant(start), _instant(end), str(state), None if expires is None else _instant(expires))
        for start, end, state, expires in busy or ()
    )
    session.info[_PREFETCH] = _Prefetched(stamp, professional_id, _as_utc(low, "low"), _as_utc(high, "high"), found)


def _instant(text: str) -> datetime:
    """An instant as JSON spells it: SQLite's stored naive UTC text, PostgreSQL's ISO form with an offset
    (what models.base.UTCDateTime makes of either)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _prefetched(
    session: AsyncSession, professional_id: int, low: datetime, high: datetime, now: datetime
) -> list[tuple[datetime, datetime]] | None:
    found = session.info.get(_PREFETCH)
    if (
        not isinstance(found, _Prefetched)
        or found.stamp != schedule_cache.transaction_stamp(session.sync_session)
        or found.professional_id != professional_id
        or not (found.low <= low and high <= found.high)
    ):
        return None
    held = str(BookingState.HELD)
    return [
        (start, end)
        for start, end, state, expires in found.rows
        if start < high and end > low and (state != held or expires is None or expires > now)
    ]


def _busy_of() -> Select[datetime, datetime]:
    """The buffered intervals of one professional's bookings that occupy the bound range at `now`."""
    return select(Booking.block_starts_at, Booking.block_ends_at).where(
        *_occupying(Booking, bindparam("professional_id")),
        # A hold the client let run out frees the slot even before the worker marks it expired.
        or_(
            Booking.state != BookingState.HELD,
            Booking.hold_expires_at.is_(None),
            Booking.hold_expires_at > bindparam("now", type_=UTCDateTime()),
        ),
    )


# Built once: every calendar screen and booking asks it (only the values are bound at each call).
_BUSY_OF = _busy_of()


async def _load_busy(
    session: AsyncSession,
    professional_id: int,
    low: datetime,
    high: datetime,
    now: datetime,
    exclude_booking_id: int | None,
) -> list[tuple[datetime, datetime]]:
    """Buffered intervals of the bookings that occupy the calendar somewhere in [low, high)."""
    if exclude_booking_id is None and (found := _prefetched(session, professional_id, low, high, now)) is not None:
        return found
    query = _BUSY_OF if exclude_booking_id is None else _BUSY_OF.where(Booking.id != exclude_booking_id)
    params = {"professional_id": professional_id, "now": now, **busy_range(low, high)}
    rows = await session.execute(query, params)
    return [(row[0], row[1]) for row in rows]


class _EngineInputs(NamedTuple):
    """`compute_slots`' and `first_slots_by_day`'s leading arguments, in their order."""

    schedule: Schedule
    duration: timedelta
    step: timedelta
    busy: list[tuple[datetime, datetime]]
    now: datetime
    range_start: datetime
    range_end: datetime


async def _search_inputs(
    session: AsyncSession,
    professional: Professional,
    service: Service,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    exclude_booking_id: int | None,
) -> _EngineInputs | None:
    """What the slot engine needs for a search of starts in [range_start, range_end) (the instants made
    UTC), None when no start can lie there."""
    now = _as_utc(now, "now")
    range_start = _as_utc(range_start, "range_start")
    range_end = _as_utc(range_end, "range_end")
    duration = timedelta(minutes=service.duration_minutes)
    earliest = max(range_start, now + timedelta(minutes=professional.min_notice_minutes))
    horizon_end = now + timedelta(days=professional.booking_horizon_days)
    if earliest >= range_end or earliest > horizon_end:
        return None
    # The latest start that could be offered; every start is below it or (the horizon) equal to it.
    latest = min(range_end, horizon_end)
    zone = zone_named(professional.timezone)
    schedule = await _load_schedule(
        session, professional, earliest.astimezone(zone).date(), latest.astimezone(zone).date()
    )
    busy = await _load_busy(
        session,
        professional.id,
        earliest - schedule.buffer_before,
        latest + duration + schedule.buffer_after,
        now,
        exclude_booking_id,
    )
    return _EngineInputs(schedule, duration, step_of(professional, service), busy, now, range_start, range_end)


async def free_slots(
    session: AsyncSession,
    professional: Professional,
    service: Service,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    *,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """Free slots for `service` starting in [range_start, range_end).

    `exclude_booking_id` leaves one booking out of the busy intervals (a booking being rescheduled
    must not block its own move).
    """
    inputs = await _search_inputs(session, professional, service, range_start, range_end, now, exclude_booking_id)
    return [] if inputs is None else compute_slots(*inputs)


async def first_free_slots_by_day(
    session: AsyncSession,
    professional: Professional,
    service: Service,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    viewer: ZoneInfo,
    *,
    max_days: int | None = None,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """Of `free_slots`, the first of each of the viewer's local dates (the earliest `max_days` dates
    with one, when given), sorted (`first_slots_by_day`)."""
    inputs = await _search_inputs(session, professional, service, range_start, range_end, now, exclude_booking_id)
    return [] if inputs is None else first_slots_by_day(*inputs, viewer, max_days=max_days)


async def is_offered(
    session: AsyncSession,
    professional: Professional,
    service: Service,
    start: datetime,
    now: datetime,
    *,
    exclude_booking_id: int | None = None,
) -> bool:
    """Whether a slot starting exactly at `start` is free now."""
    start = _as_utc(start, "start")
    slots = await free_slots(
        session,
        professional,
        service,
        start,
        start + timedelta(microseconds=1),
        now,
        exclude_booking_id=exclude_booking_id,
    )
    return any(slot.start == start for slot in slots)


async def nearest_free_slots(
    session: AsyncSession,
    professional: Professional,
    service: Service,
    around: datetime,
    now: datetime,
    *,
    limit: int = 3,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """Up to `limit` free slots nearest in time to `around` (before or after), sorted by start."""
    if limit < 1:
        return []
    around = _as_utc(around, "around")
    now = _as_utc(now, "now")
    first_possible = now + timedelta(minutes=professional.min_notice_minutes)
    last_possible = now + timedelta(days=professional.booking_horizon_days)
    # Outside the bookable span every slot lies on one side, so the span's nearest edge ranks them
    # the same way `around` would, and the search starts where slots can be.
    around = min(max(around, first_possible), last_possible)
    radius = timedelta(days=1)
    while True:
        low, high = around - radius, around + radius
        slots = await free_slots(session, professional, service, low, high, now, exclude_booking_id=exclude_booking_id)
        # Every slot outside [low, high) is at least `radius` away, so once `limit` slots lie inside,
        # they are the nearest; ties go to the earlier slot, which also keeps the answer stable.
        nearest = sorted(slots, key=lambda slot: (abs(slot.start - around), slot.start))[:limit]
        if len(nearest) == limit or (low <= first_possible and high > last_possible):
            return sorted(nearest, key=lambda slot: slot.start)
        radius *= 2


async def days_with_slots(
    session: AsyncSession,
    professional: Professional,
    service: Service,
    first_day: date,
    days: int,
    viewer_zone: ZoneInfo,
    now: datetime,
) -> list[date]:
    """The viewer's local dates in [first_day, first_day + days) with at least one free slot, sorted."""
    if days < 1:
        return []
    firsts = await first_free_slots_by_day(
        session,
        professional,
        service,
        start_of_local_day(first_day, viewer_zone),
        start_of_local_day(first_day + timedelta(days=days), viewer_zone),
        now,
        viewer_zone,
    )
    return [slot.start.astimezone(viewer_zone).date() for slot in firsts]
