"""The slot engine on hand-checked examples: each expected list was worked out from DESIGN.md's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.availability import (
    Schedule,
    Slot,
    compute_slots,
    first_slots_by_day,
    start_of_local_day,
    wall_to_boundary,
    wall_to_start,
)

KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KATHMANDU = ZoneInfo("Asia/Kathmandu")

# Far enough back that notice and horizon never get in the way unless a test sets them.
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def hm(text: str) -> int:
    """'13:30' -> minutes after midnight ('24:00' -> 1440), as the models store windows."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def windows(*spans: str) -> list[tuple[int, int]]:
    return [(hm(span.split("-")[0]), hm(span.split("-")[1])) for span in spans]


def schedule(
    zone: ZoneInfo = KYIV,
    weekly: Mapping[int, Sequence[tuple[int, int]]] | None = None,
    overrides: Mapping[date, Sequence[tuple[int, int]]] | None = None,
    time_off: Sequence[tuple[date, date]] = (),
    buffer_before: int = 0,
    buffer_after: int = 0,
    min_notice: int = 0,
    horizon_days: int = 1000,
) -> Schedule:
    return Schedule(
        zone=zone,
        weekly=weekly or {},
        overrides=overrides or {},
        time_off=time_off,
        buffer_before=timedelta(minutes=buffer_before),
        buffer_after=timedelta(minutes=buffer_after),
        min_notice=timedelta(minutes=min_notice),
        horizon=timedelta(days=horizon_days),
    )


def at(zone: ZoneInfo, text: str, fold: int = 0) -> datetime:
    """An aware UTC instant from a wall-clock 'YYYY-MM-DD HH:MM' in `zone`."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold).astimezone(UTC)


def slots(
    sched: Schedule,
    first_day: date,
    days: int = 1,
    duration: int = 50,
    step: int | None = None,
    busy: Sequence[tuple[datetime, datetime]] = (),
    now: datetime = LONG_AGO,
) -> list[Slot]:
    return compute_slots(
        sched,
        timedelta(minutes=duration),
        timedelta(minutes=step or duration),
        busy,
        now,
        start_of_local_day(first_day, sched.zone),
        start_of_local_day(first_day + timedelta(days=days), sched.zone),
    )


def shown(found: Sequence[Slot], zone: ZoneInfo) -> list[str]:
    """Slots as 'start..end' wall clock with offsets in `zone`, so DST cases read unambiguously."""
    return [
        f"{slot.start.astimezone(zone).isoformat(timespec='minutes')}..{slot.end.astimezone(zone):%H:%M%z}"
        for slot in found
    ]


def starts(found: Sequence[Slot], zone: ZoneInfo = KYIV) -> list[str]:
    return [f"{slot.start.astimezone(zone):%m-%d %H:%M}" for slot in found]


ANNA_WEEK = {
    MON: windows("09:00-12:00", "13:30-17:00"),
    TUE: windows("09:00-12:00", "13:30-17:00"),
    WED: windows("12:00-20:00"),
    FRI: windows("09:00-13:00"),
}


def test_weekly_windows_step_from_each_window_start_and_must_fit() -> None:
    found = slots(schedule(weekly=ANNA_WEEK), date(2026, 12, 7), days=1, duration=50, step=60)
    # 16:30 would end at 17:20, after the window; 11:00 ends at 11:50, inside.
    assert starts(found) == ["12-07 09:00", "12-07 10:00", "12-07 11:00", "12-07 13:30", "12-07 14:30", "12-07 15:30"]
    assert all(slot.end - slot.start == timedelta(minutes=50) for slot in found)
    assert found[0].start == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def test_days_without_windows_have_no_slots() -> None:
    # 2026-12-10 is a Thursday and 12-12/13 a weekend: absent from the week.
    found = slots(schedule(weekly=ANNA_WEEK), date(2026, 12, 10), days=4, duration=60, step=60)
    assert starts(found) == ["12-11 09:00", "12-11 10:00", "12-11 11:00", "12-11 12:00"]


def test_an_override_replaces_the_weekly_hours_of_its_date_only() -> None:
    sched = schedule(weekly=ANNA_WEEK, overrides={date(2026, 12, 7): windows("10:00-13:00")})
    found = slots(sched, date(2026, 12, 7), days=2, duration=50, step=60)
    assert starts(found) == [
        "12-07 10:00",
        "12-07 11:00",
        "12-07 12:00",
        "12-08 09:00",
        "12-08 10:00",
        "12-08 11:00",
        "12-08 13:30",
        "12-08 14:30",
        "12-08 15:30",
    ]


def test_an_override_can_open_a_day_the_week_leaves_off() -> None:
    sched = schedule(weekly=ANNA_WEEK, overrides={date(2026, 12, 12): windows("10:00-12:00")})
    assert starts(slots(sched, date(2026, 12, 12), duration=60)) == ["12-12 10:00", "12-12 11:00"]


def test_an_empty_override_is_a_day_off() -> None:
    sched = schedule(weekly=ANNA_WEEK, overrides={date(2026, 12, 7): []})
    assert slots(sched, date(2026, 12, 7), duration=50, step=60) == []
    assert len(slots(sched, date(2026, 12, 8), duration=50, step=60)) == 6


def test_time_off_removes_whole_dates_both_ends_included_even_over_an_override() -> None:
    sched = schedule(
        weekly={day: windows("10:00-11:00") for day in range(7)},
        overrides={date(2026, 12, 25): windows("09:00-10:00")},
        time_off=[(date(2026, 12, 24), date(2026, 12, 26))],
    )
    found = slots(sched, date(2026, 12, 23), days=5, duration=60)
    assert starts(found) == ["12-23 10:00", "12-27 10:00"]


def test_a_step_smaller_than_the_duration_offers_overlapping_starts() -> None:
    sched = schedule(weekly={MON: windows("09:00-11:00")})
    found = slots(sched, date(2026, 12, 7), duration=50, step=15)
    # 10:15 would end at 11:05.
    assert starts(found) == ["12-07 09:00", "12-07 09:15", "12-07 09:30", "12-07 09:45", "12-07 10:00"]


def test_a_step_larger_than_the_duration_leaves_gaps() -> None:
    sched = schedule(weekly={MON: windows("09:00-12:00")})
    assert starts(slots(sched, date(2026, 12, 7), duration=20, step=45)) == [
        "12-07 09:00",
        "12-07 09:45",
        "12-07 10:30",
        "12-07 11:15",
    ]


def test_a_window_ending_at_24_00_ends_at_the_next_local_midnight() -> None:
    sched = schedule(weekly={MON: windows("22:00-24:00")})
    found = slots(sched, date(2026, 12, 7), duration=60)
    assert shown(found, KYIV) == ["2026-12-07T22:00+02:00..23:00+0200", "2026-12-07T23:00+02:00..00:00+0200"]
    assert found[-1].end == datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    assert starts(slots(sched, date(2026, 12, 7), duration=90, step=60)) == ["12-07 22:00"]


def test_overlapping_windows_on_one_day_give_each_start_once() -> None:
    sched = schedule(weekly={MON: windows("09:00-11:00", "10:00-12:00")})
    assert starts(slots(sched, date(2026, 12, 7), duration=60)) == ["12-07 09:00", "12-07 10:00", "12-07 11:00"]


def test_only_starts_inside_the_half_open_range_are_returned() -> None:
    sched = schedule(weekly={MON: windows("09:00-12:00")})
    found = compute_slots(
        sched,
        timedelta(minutes=60),
        timedelta(minutes=60),
        [],
        LONG_AGO,
        at(KYIV, "2026-12-07 10:00"),
        at(KYIV, "2026-12-07 11:00"),
    )
    assert starts(found) == ["12-07 10:00"]


def test_min_notice_is_measured_from_now_and_its_boundary_is_bookable() -> None:
    sched = schedule(weekly={MON: windows("09:00-12:00")}, min_notice=120)
    found = slots(sched, date(2026, 12, 7), duration=60, now=at(KYIV, "2026-12-07 08:00"))
    assert starts(found) == ["12-07 10:00", "12-07 11:00"]
    found = slots(sched, date(2026, 12, 7), duration=60, now=at(KYIV, "2026-12-07 08:01"))
    assert starts(found) == ["12-07 11:00"]


def test_the_horizon_is_inclusive_and_counted_from_now() -> None:
    sched = schedule(weekly={day: windows("09:00-12:00") for day in range(7)}, horizon_days=1)
    found = slots(sched, date(2026, 12, 6), days=3, duration=60, now=at(KYIV, "2026-12-06 09:00"))
    assert starts(found) == ["12-06 09:00", "12-06 10:00", "12-06 11:00", "12-07 09:00"]


def test_nothing_before_now_even_without_notice() -> None:
    sched = schedule(weekly={MON: windows("09:00-12:00")})
    assert starts(slots(sched, date(2026, 12, 7), duration=60, now=at(KYIV, "2026-12-07 09:30"))) == [
        "12-07 10:00",
        "12-07 11:00",
    ]


def test_buffers_widen_the_slot_and_touching_a_booking_is_fine() -> None:
    # A booking 10:00-10:50 whose own buffered interval (10 minutes after) runs to 11:00.
    busy = [(at(KYIV, "2026-12-07 10:00"), at(KYIV, "2026-12-07 11:00"))]
    after_only = schedule(weekly={MON: windows("09:00-12:00")}, buffer_after=10)
    # 09:00 + 50 + 10 ends at 10:00 and 11:00 starts where the block ends: both merely touch.
    assert starts(slots(after_only, date(2026, 12, 7), step=60, busy=busy)) == ["12-07 09:00", "12-07 11:00"]

    both = schedule(weekly={MON: windows("09:00-12:00")}, buffer_before=5, buffer_after=10)
    # 11:00 needs 10:55 free now.
    assert starts(slots(both, date(2026, 12, 7), step=60, busy=busy)) == ["12-07 09:00"]

    before_only = schedule(weekly={MON: windows("09:00-12:00")}, buffer_before=5)
    # 09:10 ends at 10:00 (no buffer after), touching; 11:00 would need 10:55, but 11:10 needs only 11:05.
    assert starts(slots(before_only, date(2026, 12, 7), step=10, busy=busy)) == [
        "12-07 09:00",
        "12-07 09:10",
        "12-07 11:10",
    ]


def test_busy_intervals_may_come_unsorted_and_overlapping() -> None:
    sched = schedule(weekly={MON: windows("08:00-14:00")})
    busy = [
        (at(KYIV, "2026-12-07 12:00"), at(KYIV, "2026-12-07 12:30")),
        (at(KYIV, "2026-12-07 09:00"), at(KYIV, "2026-12-07 10:00")),
        (at(KYIV, "2026-12-07 09:30"), at(KYIV, "2026-12-07 10:30")),
        (at(KYIV, "2026-12-07 10:30"), at(KYIV, "2026-12-07 11:00")),
    ]
    assert starts(slots(sched, date(2026, 12, 7), duration=60, busy=busy)) == [
        "12-07 08:00",
        "12-07 11:00",
        "12-07 13:00",
    ]


def test_kyiv_spring_forward_skips_the_missing_hour_and_keeps_elapsed_duration() -> None:
    # 2026-03-29: 03:00 EET -> 04:00 EEST.
    sched = schedule(weekly={SUN: windows("00:00-06:00")})
    assert shown(slots(sched, date(2026, 3, 29), duration=60), KYIV) == [
        "2026-03-29T00:00+02:00..01:00+0200",
        "2026-03-29T01:00+02:00..02:00+0200",
        "2026-03-29T02:00+02:00..04:00+0300",
        "2026-03-29T04:00+03:00..05:00+0300",
        "2026-03-29T05:00+03:00..06:00+0300",
    ]


def test_a_window_ending_inside_the_gap_ends_at_the_jump() -> None:
    sched = schedule(weekly={SUN: windows("01:00-03:30")})
    assert shown(slots(sched, date(2026, 3, 29), duration=60), KYIV) == [
        "2026-03-29T01:00+02:00..02:00+0200",
        "2026-03-29T02:00+02:00..04:00+0300",
    ]
    assert shown(slots(sched, date(2026, 3, 29), duration=30), KYIV)[-1] == "2026-03-29T02:30+02:00..04:00+0300"


def test_kyiv_fall_back_offers_the_repeated_hour_once_at_its_first_occurrence() -> None:
    # 2026-10-25: 04:00 EEST -> 03:00 EET; 03:00-03:59 happen twice.
    sched = schedule(weekly={SUN: windows("02:00-05:00")})
    assert shown(slots(sched, date(2026, 10, 25), duration=30), KYIV) == [
        "2026-10-25T02:00+03:00..02:30+0300",
        "2026-10-25T02:30+03:00..03:00+0300",
        "2026-10-25T03:00+03:00..03:30+0300",
        "2026-10-25T03:30+03:00..03:00+0200",
        "2026-10-25T04:00+02:00..04:30+0200",
        "2026-10-25T04:30+02:00..05:00+0200",
    ]


def test_new_york_spring_forward_and_fall_back() -> None:
    spring = schedule(NEW_YORK, weekly={SUN: windows("01:00-04:00")})
    # 2026-03-08: 02:00 EST -> 03:00 EDT.
    assert shown(slots(spring, date(2026, 3, 8), duration=30), NEW_YORK) == [
        "2026-03-08T01:00-05:00..01:30-0500",
        "2026-03-08T01:30-05:00..03:00-0400",
        "2026-03-08T03:00-04:00..03:30-0400",
        "2026-03-08T03:30-04:00..04:00-0400",
    ]
    fall = schedule(NEW_YORK, weekly={SUN: windows("00:00-03:00")})
    # 2026-11-01: 02:00 EDT -> 01:00 EST; 01:00 means 01:00 EDT (fold=0).
    found = slots(fall, date(2026, 11, 1), duration=60)
    assert shown(found, NEW_YORK) == [
        "2026-11-01T00:00-04:00..01:00-0400",
        "2026-11-01T01:00-04:00..01:00-0500",
        "2026-11-01T02:00-05:00..03:00-0500",
    ]
    assert found[1].start == datetime(2026, 11, 1, 5, 0, tzinfo=UTC)


def test_lord_howe_half_hour_shift_in_october_and_april() -> None:
    # 2026-10-04: 02:00 +10:30 -> 02:30 +11:00, a 30-minute gap.
    october = schedule(LORD_HOWE, weekly={SUN: windows("01:00-04:00")})
    assert shown(slots(october, date(2026, 10, 4), duration=30), LORD_HOWE) == [
        "2026-10-04T01:00+10:30..01:30+1030",
        "2026-10-04T01:30+10:30..02:30+1100",
        "2026-10-04T02:30+11:00..03:00+1100",
        "2026-10-04T03:00+11:00..03:30+1100",
        "2026-10-04T03:30+11:00..04:00+1100",
    ]
    # 2026-04-05: 02:00 +11:00 -> 01:30 +10:30; 01:30-01:59 happen twice.
    april = schedule(LORD_HOWE, weekly={SUN: windows("01:00-03:00")})
    assert shown(slots(april, date(2026, 4, 5), duration=30), LORD_HOWE) == [
        "2026-04-05T01:00+11:00..01:30+1100",
        "2026-04-05T01:30+11:00..01:30+1030",
        "2026-04-05T02:00+10:30..02:30+1030",
        "2026-04-05T02:30+10:30..03:00+1030",
    ]


def test_kathmandu_quarter_hour_offset_and_viewed_from_new_york() -> None:
    sched = schedule(KATHMANDU, weekly={MON: windows("09:00-11:00")})
    found = slots(sched, date(2026, 12, 7), duration=60)
    assert [slot.start for slot in found] == [
        datetime(2026, 12, 7, 3, 15, tzinfo=UTC),
        datetime(2026, 12, 7, 4, 15, tzinfo=UTC),
    ]
    # The professional's Monday morning is the New York viewer's Sunday evening.
    assert shown(found, NEW_YORK) == ["2026-12-06T22:15-05:00..23:15-0500", "2026-12-06T23:15-05:00..00:15-0500"]


def test_a_viewer_range_in_another_zone_selects_by_the_viewers_midnights() -> None:
    sched = schedule(KATHMANDU, weekly={MON: windows("09:00-11:00"), TUE: windows("09:00-11:00")})
    # The New York viewer's Monday 2026-12-07 holds Kathmandu's Tuesday morning, not its Monday.
    found = compute_slots(
        sched,
        timedelta(minutes=60),
        timedelta(minutes=60),
        [],
        LONG_AGO,
        start_of_local_day(date(2026, 12, 7), NEW_YORK),
        start_of_local_day(date(2026, 12, 8), NEW_YORK),
    )
    assert starts(found, KATHMANDU) == ["12-08 09:00", "12-08 10:00"]


def test_wall_clock_helpers_around_gaps_and_overlaps() -> None:
    assert wall_to_start(datetime(2026, 3, 29, 3, 30), KYIV) is None
    assert wall_to_boundary(datetime(2026, 3, 29, 3, 30), KYIV) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert wall_to_start(datetime(2026, 10, 25, 3, 30), KYIV) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert wall_to_boundary(datetime(2026, 10, 4, 2, 10), LORD_HOWE) == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    # Santiago skips midnight itself: the day begins at the jump, 01:00 local.
    santiago = ZoneInfo("America/Santiago")
    assert start_of_local_day(date(2026, 9, 6), santiago).astimezone(santiago).hour == 1
    assert start_of_local_day(date(2026, 12, 7), KYIV) == datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


def test_nonsense_arguments_are_refused() -> None:
    sched = schedule(weekly={MON: windows("09:00-12:00")})
    day = start_of_local_day(date(2026, 12, 7), KYIV)
    with pytest.raises(ValueError, match="step"):
        compute_slots(sched, timedelta(minutes=50), timedelta(0), [], LONG_AGO, day, day + timedelta(days=1))
    with pytest.raises(ValueError, match="duration"):
        compute_slots(sched, timedelta(0), timedelta(minutes=5), [], LONG_AGO, day, day + timedelta(days=1))
    with pytest.raises(ValueError, match="aware"):
        compute_slots(
            sched, timedelta(minutes=50), timedelta(minutes=5), [], datetime(2026, 1, 1), day, day + timedelta(days=1)
        )


# Zones whose clocks change at unusual times or by unusual amounts: at midnight (Havana, Santiago),
# by half an hour (Lord Howe), twice a year around Ramadan (Casablanca), never (Kathmandu).
ODD_ZONES = [
    "Europe/Kyiv",
    "America/New_York",
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
]


def slots_read_one_by_one(
    sched: Schedule,
    duration: timedelta,
    step: timedelta,
    busy: Sequence[tuple[datetime, datetime]],
    first: date,
    last: date,
) -> list[Slot]:
    """DESIGN.md's rules applied start by start, each wall-clock reading converted on its own (how the
    engine worked before it did days without a clock change by arithmetic)."""
    found: set[Slot] = set()
    day = first
    while day <= last:
        midnight = datetime.combine(day, datetime.min.time())
        for first_minute, end_minute in sched.windows_on(day):
            window_end = wall_to_boundary(midnight + timedelta(minutes=end_minute), sched.zone)
            wall = midnight + timedelta(minutes=first_minute)
            while wall < midnight + timedelta(minutes=end_minute):
                start = wall_to_start(wall, sched.zone)
                wall += step
                if start is None or start + duration > window_end:
                    continue
                low, high = start - sched.buffer_before, start + duration + sched.buffer_after
                if not any(busy_start < high and low < busy_end for busy_start, busy_end in busy):
                    found.add(Slot(start, start + duration))
        day += timedelta(days=1)
    return sorted(found, key=lambda slot: slot.start)


@pytest.mark.parametrize("name", ODD_ZONES)
def test_a_whole_year_of_starts_matches_reading_each_start_on_its_own(name: str) -> None:
    zone = ZoneInfo(name)
    # Windows over the small hours (where most clocks change), the evening (Havana and Santiago change at
    # midnight) and a whole day, overlapping, with a step that does not divide the hour.
    week = {
        MON: windows("00:00-04:30", "22:00-24:00"),
        TUE: windows("01:15-03:45", "02:00-06:00"),
        WED: windows("00:00-24:00"),
        THU: windows("09:00-17:00"),
        SAT: windows("23:00-24:00", "00:00-02:30"),
        SUN: windows("00:30-05:00", "21:00-24:00"),
    }
    sched = schedule(zone, week, buffer_before=5, buffer_after=10)
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    busy = [
        (at(zone, f"2026-{month:02}-{day:02} {hour:02}:10"), at(zone, f"2026-{month:02}-{day:02} {hour:02}:55"))
        for month in range(1, 13)
        for day, hour in ((3, 2), (11, 23), (17, 10), (28, 1))
    ]
    duration, step = timedelta(minutes=35), timedelta(minutes=25)
    found = compute_slots(
        sched,
        duration,
        step,
        busy,
        LONG_AGO - timedelta(days=30),
        start_of_local_day(first, zone),
        start_of_local_day(last + timedelta(days=1), zone),
    )
    assert found == slots_read_one_by_one(sched, duration, step, busy, first, last)
    assert len(found) > 5000


def test_first_slots_by_day_gives_each_viewer_date_its_earliest_start() -> None:
    # Overlapping windows: the earliest start of Monday comes from the second window.
    sched = schedule(weekly={MON: windows("10:00-12:00", "09:00-11:00"), TUE: windows("09:00-12:00")})
    busy = [(at(KYIV, "2026-12-08 09:00"), at(KYIV, "2026-12-08 10:30"))]
    found = first_slots_by_day(
        sched,
        timedelta(minutes=50),
        timedelta(minutes=30),
        busy,
        LONG_AGO,
        start_of_local_day(date(2026, 12, 7), KYIV),
        start_of_local_day(date(2026, 12, 14), KYIV),
        KYIV,
    )
    assert starts(found) == ["12-07 09:00", "12-08 10:30"]
    # In New York Monday 09:00 in Kyiv is still Monday (02:00), Tuesday's first is Tuesday's too.
    assert starts(
        first_slots_by_day(
            sched,
            timedelta(minutes=50),
            timedelta(minutes=30),
            busy,
            LONG_AGO,
            start_of_local_day(date(2026, 12, 7), KYIV),
            start_of_local_day(date(2026, 12, 14), KYIV),
            NEW_YORK,
            max_days=1,
        )
    ) == ["12-07 09:00"]
