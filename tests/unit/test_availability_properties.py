"""Property tests of the slot engine across DST changes, against a brute-force reference.

The reference knows nothing of folds or gaps: it walks every UTC minute, reads the wall clock there,
and applies DESIGN.md's rules literally ("the first instant showing this reading", "the earliest
instant whose reading is at or past the window's end"). Every zone here changes offset on whole
minutes, so minute resolution is exact.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.availability import Schedule, Slot, compute_slots, first_slots_by_day, start_of_local_day

MINUTE = timedelta(minutes=1)

# Each zone with the local dates its clocks change in 2026 (Kathmandu never does: +05:45 all year).
DST_DATES = {
    "Europe/Kyiv": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
    "Asia/Kathmandu": [date(2026, 3, 29), date(2026, 10, 25)],
}
# Havana and Santiago change their clocks at midnight (on New York's and Lord Howe's dates): a day
# there can begin at 01:00 or see 23:00 twice.
VIEWER_NAMES = (
    "UTC",
    "Pacific/Kiritimati",
    "America/St_Johns",
    "Pacific/Pago_Pago",
    "America/Havana",
    "America/Santiago",
)
VIEWERS = [ZoneInfo(name) for name in VIEWER_NAMES] + [ZoneInfo(name) for name in DST_DATES]

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Case:
    schedule: Schedule
    duration: int
    step: int
    busy: list[tuple[datetime, datetime]]
    now: datetime
    range_start: datetime
    range_end: datetime

    def run(self, busy: Sequence[tuple[datetime, datetime]] | None = None) -> list[Slot]:
        return compute_slots(
            self.schedule,
            timedelta(minutes=self.duration),
            timedelta(minutes=self.step),
            self.busy if busy is None else busy,
            self.now,
            self.range_start,
            self.range_end,
        )


def _window(early: bool) -> st.SearchStrategy[tuple[int, int]]:
    # Half the windows start in the small hours, where the clocks change; lengths are drawn apart from
    # starts so that short windows (which fit nothing) do not crowd out the rest.
    # Some start on the hour, as most people's do: their slots then meet other zones' midnights, where
    # a viewer's day ends.
    first = st.one_of(st.integers(0, 300) if early else st.integers(0, 1439), st.integers(0, 23).map(lambda h: h * 60))
    return st.tuples(first, st.integers(5, 720)).map(lambda pair: (pair[0], min(1440, pair[0] + pair[1])))


windows = st.lists(st.booleans().flatmap(_window), max_size=3)
working_windows = st.lists(st.booleans().flatmap(_window), min_size=1, max_size=3)
night_window = st.integers(0, 150).flatmap(lambda start: st.tuples(st.just(start), st.integers(start + 90, 420)))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    name = draw(st.sampled_from(sorted(DST_DATES)))
    zone = ZoneInfo(name)
    change_day = draw(st.sampled_from(DST_DATES[name]))
    first_day = change_day + timedelta(days=draw(st.integers(-2, 1)))
    nearby_days = [first_day + timedelta(days=offset) for offset in range(-1, 6)]
    days_off = draw(st.sets(st.integers(0, 6), max_size=3))
    weekly = {weekday: draw(working_windows) for weekday in range(7) if weekday not in days_off}
    overrides = draw(st.dictionaries(st.sampled_from(nearby_days), st.one_of(working_windows, windows), max_size=3))
    if draw(st.booleans()):
        # Hours across the change itself (it happens between 01:30 and 04:00 in these zones).
        overrides[change_day] = [draw(night_window)]
    time_off = [
        (day, day + timedelta(days=length))
        for day, length in draw(st.lists(st.tuples(st.sampled_from(nearby_days), st.integers(0, 2)), max_size=1))
    ]
    duration = draw(st.one_of(st.integers(5, 90), st.integers(5, 240), st.sampled_from([30, 50, 60])))
    step = draw(st.one_of(st.just(duration), st.integers(5, 120), st.sampled_from([30, 60])))
    schedule = Schedule(
        zone=zone,
        weekly=weekly,
        overrides=overrides,
        time_off=time_off,
        buffer_before=timedelta(minutes=draw(st.integers(0, 30))),
        buffer_after=timedelta(minutes=draw(st.integers(0, 30))),
        min_notice=timedelta(minutes=draw(st.one_of(st.just(0), st.integers(0, 600)))),
        horizon=timedelta(days=draw(st.integers(0, 10))),
    )
    day_start = start_of_local_day(first_day, zone)
    now = day_start + timedelta(minutes=draw(st.integers(-3 * 1440, 1440)))
    range_start = day_start + timedelta(minutes=draw(st.integers(-600, 600)))
    range_end = range_start + timedelta(minutes=draw(st.one_of(st.integers(1440, 4 * 1440), st.integers(0, 1440))))
    busy = [
        (range_start + timedelta(minutes=offset), range_start + timedelta(minutes=offset + length))
        for offset, length in draw(st.lists(st.tuples(st.integers(-1440, 5 * 1440), st.integers(5, 300)), max_size=6))
    ]
    return Case(schedule, duration, step, busy, now, range_start, range_end)


@st.composite
def change_nights(draw: st.DrawFn) -> Case:
    """Only the small hours of a day the clocks change, so every example meets a gap or a repeat."""
    name = draw(st.sampled_from([name for name in sorted(DST_DATES) if name != "Asia/Kathmandu"]))
    zone = ZoneInfo(name)
    change_day = draw(st.sampled_from(DST_DATES[name]))
    duration = draw(st.integers(5, 150))
    schedule = Schedule(
        zone=zone,
        weekly={},
        overrides={change_day: draw(st.lists(night_window, min_size=1, max_size=2))},
        time_off=[],
        buffer_before=timedelta(minutes=draw(st.integers(0, 20))),
        buffer_after=timedelta(minutes=draw(st.integers(0, 20))),
        min_notice=timedelta(0),
        horizon=timedelta(days=10),
    )
    day_start = start_of_local_day(change_day, zone)
    busy = [
        (day_start + timedelta(minutes=offset), day_start + timedelta(minutes=offset + length))
        for offset, length in draw(st.lists(st.tuples(st.integers(0, 480), st.integers(5, 120)), max_size=2))
    ]
    return Case(
        schedule,
        duration,
        draw(st.one_of(st.just(duration), st.integers(5, 90))),
        busy,
        day_start - timedelta(days=1) + timedelta(minutes=draw(st.integers(0, 1440 + 240))),
        day_start,
        start_of_local_day(change_day + timedelta(days=1), zone),
    )


NAIVE_EPOCH = datetime(2000, 1, 1)


def _minutes(wall: datetime) -> int:
    return int((wall - NAIVE_EPOCH) / MINUTE)


class WallClock:
    """Every UTC minute of a span with the wall clock it shows, searched by brute force.

    Readings are kept as whole minutes after a naive epoch: plain ints keep 10,000-minute spans cheap.
    """

    def __init__(self, zone: ZoneInfo, start: datetime, end: datetime) -> None:
        self.zone = zone
        self.start = start
        count = int((end - start) / MINUTE)
        base = _minutes(start.replace(tzinfo=None))
        self.walls: list[int] = []
        # Reading the offset once per half hour, and per minute only where it changes inside one,
        # keeps this fast without assuming where the changes fall.
        for block in range(0, count, 30):
            indices = range(block, min(block + 30, count))
            first, last = self._offset(indices[0]), self._offset(indices[-1])
            if first == last:
                self.walls.extend(base + index + first for index in indices)
            else:
                self.walls.extend(base + index + self._offset(index) for index in indices)
        self.first_seen: dict[int, int] = {}
        self.running_max: list[int] = []
        highest = self.walls[0]
        for index, wall in enumerate(self.walls):
            self.first_seen.setdefault(wall, index)
            highest = max(highest, wall)
            self.running_max.append(highest)

    def _offset(self, index: int) -> int:
        return int((self.instant(index).astimezone(self.zone).utcoffset() or timedelta(0)) / MINUTE)

    def instant(self, index: int) -> datetime:
        return self.start + index * MINUTE

    def _index(self, instant: datetime) -> int:
        return int((instant - self.start) / MINUTE)

    def wall(self, instant: datetime) -> datetime:
        return NAIVE_EPOCH + self.walls[self._index(instant)] * MINUTE

    def is_first_showing(self, instant: datetime) -> bool:
        index = self._index(instant)
        return self.first_seen[self.walls[index]] == index

    def boundary(self, wall: datetime) -> datetime:
        """The earliest instant at which the clock reads `wall` or later."""
        index = bisect_left(self.running_max, _minutes(wall))
        assert index < len(self.walls), "span too short for the reference"
        return self.instant(index)


def windows_on(schedule: Schedule, day: date) -> Sequence[tuple[int, int]]:
    if any(first <= day <= last for first, last in schedule.time_off):
        return []
    if day in schedule.overrides:
        return schedule.overrides[day]
    return schedule.weekly.get(day.weekday(), [])


def overlaps_busy(case: Case, start: datetime, end: datetime) -> bool:
    low, high = start - case.schedule.buffer_before, end + case.schedule.buffer_after
    return any(busy_start < high and low < busy_end for busy_start, busy_end in case.busy)


def fits_a_window(case: Case, clock: WallClock, start: datetime) -> bool:
    """Whether `start` is a step of some window of its own local date and the slot ends by that window's end."""
    wall = clock.wall(start)
    midnight = datetime.combine(wall.date(), datetime.min.time())
    minute = int((wall - midnight) / MINUTE)
    end = start + timedelta(minutes=case.duration)
    for first, last in windows_on(case.schedule, wall.date()):
        if first <= minute < last and (minute - first) % case.step == 0:
            window_end = clock.boundary(midnight + timedelta(minutes=last))
            if end <= window_end:
                return True
    return False


def reference(case: Case, clock: WallClock) -> list[datetime]:
    """Every minute-aligned start the rules allow, found by trying each UTC minute of the range."""
    earliest = case.now + case.schedule.min_notice
    latest = case.now + case.schedule.horizon
    found = []
    moment = case.range_start
    while moment < case.range_end:
        if (
            earliest <= moment <= latest
            and clock.is_first_showing(moment)
            and fits_a_window(case, clock, moment)
            and not overlaps_busy(case, moment, moment + timedelta(minutes=case.duration))
        ):
            found.append(moment)
        moment += MINUTE
    return found


def clock_for(case: Case) -> WallClock:
    return WallClock(case.schedule.zone, case.range_start - timedelta(days=1), case.range_end + timedelta(days=2))


@PROPERTY_SETTINGS
@given(st.one_of(cases(), change_nights()))
def test_every_slot_obeys_the_rules(case: Case) -> None:
    slots = case.run()
    clock = clock_for(case)
    starts = [slot.start for slot in slots]
    assert starts == sorted(set(starts)), "sorted, no duplicates"
    for slot in slots:
        assert slot.start.tzinfo is UTC and slot.end.tzinfo is UTC
        assert slot.end - slot.start == timedelta(minutes=case.duration), "duration in elapsed time"
        assert case.range_start <= slot.start < case.range_end
        assert case.now + case.schedule.min_notice <= slot.start <= case.now + case.schedule.horizon
        assert clock.is_first_showing(slot.start), "a start is a wall-clock reading's first occurrence"
        assert fits_a_window(case, clock, slot.start), "inside a window of its local date, on a step"
        assert not overlaps_busy(case, slot.start, slot.end)
        # The end reads no later than the window's end (or is the jump, where that reading is skipped).
        wall = clock.wall(slot.start)
        ends = [last for first, last in windows_on(case.schedule, wall.date())]
        midnight = datetime.combine(wall.date(), datetime.min.time())
        assert any(
            clock.wall(slot.end) <= midnight + timedelta(minutes=last)
            or slot.end == clock.boundary(midnight + timedelta(minutes=last))
            for last in ends
        )


@PROPERTY_SETTINGS
@given(st.one_of(cases(), change_nights()))
def test_slots_are_exactly_what_the_brute_force_reference_finds(case: Case) -> None:
    assert [slot.start for slot in case.run()] == reference(case, clock_for(case))


@PROPERTY_SETTINGS
@given(cases(), st.integers(0, 4 * 1440))
def test_splitting_the_range_changes_nothing_and_bookings_only_remove(case: Case, cut: int) -> None:
    whole = case.run()
    middle = min(case.range_start + timedelta(minutes=cut), case.range_end)
    first = Case(case.schedule, case.duration, case.step, case.busy, case.now, case.range_start, middle).run()
    second = Case(case.schedule, case.duration, case.step, case.busy, case.now, middle, case.range_end).run()
    assert first + second == whole
    assert set(whole) <= set(case.run(busy=[]))


@PROPERTY_SETTINGS
@given(cases(), st.sampled_from(VIEWERS), st.integers(-1, 1), st.integers(1, 3))
def test_slots_viewed_from_other_zones(case: Case, viewer: ZoneInfo, shift: int, days: int) -> None:
    """What the picker asks for: whole days of the viewer's calendar, one at a time or a week at once.

    Both are checked against the brute-force reference, and the days are told apart by the viewer's
    wall clock read minute by minute, not by the engine's own idea of a local midnight.
    """
    first_day = case.range_start.astimezone(viewer).date() + timedelta(days=shift)
    viewer_days = [first_day + timedelta(days=offset) for offset in range(days)]
    bounds = [start_of_local_day(day, viewer) for day in [*viewer_days, first_day + timedelta(days=days)]]
    viewer_clock = WallClock(viewer, bounds[0] - timedelta(days=1), bounds[-1] + timedelta(days=1))
    for day, bound in zip([*viewer_days, first_day + timedelta(days=days)], bounds, strict=True):
        # Each bound is the first instant of its date on the viewer's clock (midnight, or later where
        # the clocks skip it).
        assert viewer_clock.wall(bound).date() == day
        assert viewer_clock.wall(bound - MINUTE).date() < day

    whole = replace(case, range_start=bounds[0], range_end=bounds[-1])
    found = [slot.start for slot in whole.run()]
    assert found == reference(whole, clock_for(whole))
    for day, (low, high) in zip(viewer_days, itertools.pairwise(bounds), strict=True):
        on_day = [slot.start for slot in replace(case, range_start=low, range_end=high).run()]
        assert on_day == [start for start in found if viewer_clock.wall(start).date() == day]


def first_of_each_date(found: Sequence[Slot], viewer: ZoneInfo) -> list[Slot]:
    """The first slot of each of the viewer's dates, picked from the whole computation's list."""
    firsts: dict[date, Slot] = {}
    for slot in found:
        firsts.setdefault(slot.start.astimezone(viewer).date(), slot)
    return list(firsts.values())


@PROPERTY_SETTINGS
@given(st.one_of(cases(), change_nights()), st.sampled_from(VIEWERS), st.one_of(st.none(), st.integers(1, 3)))
def test_the_first_slot_of_each_viewer_date_is_the_one_the_whole_computation_gives(
    case: Case, viewer: ZoneInfo, max_days: int | None
) -> None:
    """What the week picker asks for (which days have a slot, and the next free one after a week),
    found without walking every start: the same as picking from every slot, across DST changes."""
    expected = first_of_each_date(case.run(), viewer)
    found = first_slots_by_day(
        case.schedule,
        timedelta(minutes=case.duration),
        timedelta(minutes=case.step),
        case.busy,
        case.now,
        case.range_start,
        case.range_end,
        viewer,
        max_days=max_days,
    )
    assert found == (expected if max_days is None else expected[:max_days])


def test_a_viewer_far_enough_away_sees_another_date() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")
    schedule = Schedule(
        zone=kathmandu,
        weekly={0: [(9 * 60, 10 * 60)]},
        overrides={},
        time_off=[],
        buffer_before=timedelta(0),
        buffer_after=timedelta(0),
        min_notice=timedelta(0),
        horizon=timedelta(days=30),
    )
    monday = date(2026, 12, 7)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    (slot,) = compute_slots(
        schedule,
        timedelta(hours=1),
        timedelta(hours=1),
        [],
        now,
        start_of_local_day(monday, kathmandu),
        start_of_local_day(monday + timedelta(days=1), kathmandu),
    )
    assert slot.start.astimezone(kathmandu).date() == monday
    assert slot.start.astimezone(ZoneInfo("Pacific/Pago_Pago")).date() == monday - timedelta(days=1)
    assert slot.start.astimezone(ZoneInfo("Pacific/Kiritimati")).date() == monday
