"""The catalog importer (bot.services.catalog, `bookbot import`) on SQLite and PostgreSQL.

The example catalog imports as it is, and twice with the same result; records are updated in place
and what bookings refer to is deactivated, never deleted; a file with any error is rejected whole,
with its line, and leaves the database exactly as it was.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.services.catalog.sync as catalog_module
from bot.cli import main
from bot.demo.catalog import link_professional
from bot.services.catalog import ImportSummary, ProfessionalSpec, import_file, parse_catalog
from bot.services.errors import CatalogError
from models import Base, Booking, BookingState, Package, Professional, Service, User
from models.migrate import MIGRATIONS_DIR, upgrade
from tests.conftest import EXAMPLE_CATALOG

EXAMPLE = EXAMPLE_CATALOG.read_text(encoding="utf-8")
TABLES = (
    "professionals",
    "services",
    "packages",
    "weekly_windows",
    "date_overrides",
    "override_windows",
    "time_off",
    "users",
    "bookings",
)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _block(first: str, end: str) -> str:
    """The example's text from the line starting with `first` up to (not including) `end`."""
    start = EXAMPLE.index(first)
    return EXAMPLE[start : EXAMPLE.index(end, start)]


ANNA_LOCATION = _block("    location:", "    video_link:")
OFFICE_SERVICE = _block("      - slug: coaching-50-office", "    packages:")
ANNA_PACKAGES = _block("    packages:\n      - slug: five-sessions", "\n  - slug: david-moreno")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url` (as tests/db/test_slots.py does): pytest-asyncio
    # cannot resolve an async fixture through getfixturevalue from inside a running loop.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


def edited(*changes: tuple[str, str], source: str = EXAMPLE) -> str:
    """The example with each (old, new) replaced once; `old` must be there, so a test cannot go stale."""
    for old, new in changes:
        assert old in source, f"{old!r} is not in the catalog"
        source = source.replace(old, new, 1)
    return source


def line_of(content: str, *markers: str) -> int:
    """The line of the last marker, each searched for on the lines after the previous one's."""
    lines = content.splitlines()
    index = -1
    for marker in markers:
        index = next(number for number in range(index + 1, len(lines)) if marker in lines[number])
    return index + 1


def write(directory: Path, content: str, name: str = "catalog.yaml") -> Path:
    path = directory / name
    path.write_text(content, encoding="utf-8")
    return path


async def dump(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the catalog tables (and the bookings on them), ids included, in id order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for name in TABLES:
            table = Base.metadata.tables[name]
            rows = await session.execute(select(table).order_by(table.c.id))
            found[name] = [tuple(row) for row in rows]
    return found


async def professional(sessions: async_sessionmaker[AsyncSession], slug: str) -> Professional:
    async with sessions() as session:
        found = await session.scalar(select(Professional).where(Professional.slug == slug))
        assert found is not None
        return found


async def services_of(sessions: async_sessionmaker[AsyncSession], slug: str) -> dict[str, Service]:
    async with sessions() as session:
        rows = await session.scalars(select(Service).join(Professional).where(Professional.slug == slug))
        return {row.slug: row for row in rows}


async def packages_of(sessions: async_sessionmaker[AsyncSession], slug: str) -> dict[str, Package]:
    async with sessions() as session:
        rows = await session.scalars(select(Package).join(Professional).where(Professional.slug == slug))
        return {row.slug: row for row in rows}


async def windows(sessions: async_sessionmaker[AsyncSession], slug: str) -> dict[str, list[tuple[Any, ...]]]:
    pro = await professional(sessions, slug)
    async with sessions() as session:
        weekly = await session.execute(
            text("SELECT id, weekday, starts, ends FROM weekly_windows WHERE professional_id = :p ORDER BY id"),
            {"p": pro.id},
        )
        overrides = await session.execute(
            text(
                "SELECT o.on_date, w.starts, w.ends FROM date_overrides o "
                "LEFT JOIN override_windows w ON w.override_id = o.id WHERE o.professional_id = :p "
                "ORDER BY o.on_date, w.starts"
            ),
            {"p": pro.id},
        )
        time_off = await session.execute(
            text("SELECT first_day, last_day FROM time_off WHERE professional_id = :p ORDER BY first_day"),
            {"p": pro.id},
        )
        return {
            "weekly": [tuple(row) for row in weekly],
            "overrides": [(_as_date(row[0]), row[1], row[2]) for row in overrides],
            "time_off": [(_as_date(row[0]), _as_date(row[1])) for row in time_off],
        }


def _as_date(value: object) -> date:
    # SQLite hands raw SQL dates back as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def book(sessions: async_sessionmaker[AsyncSession], pro_slug: str, service_slug: str, starts: datetime) -> int:
    async with sessions.begin() as session:
        pro = await session.scalar(select(Professional).where(Professional.slug == pro_slug))
        assert pro is not None
        service = await session.scalar(
            select(Service).where(Service.professional_id == pro.id, Service.slug == service_slug)
        )
        assert service is not None
        client = User(telegram_id=555, first_name="Olena", created_at=NOW)
        session.add(client)
        await session.flush()
        ends = starts + timedelta(minutes=service.duration_minutes)
        booking = Booking(
            client_id=client.id,
            professional_id=pro.id,
            service_id=service.id,
            starts_at=starts,
            ends_at=ends,
            block_starts_at=starts - timedelta(minutes=pro.buffer_before_minutes),
            block_ends_at=ends + timedelta(minutes=pro.buffer_after_minutes),
            state=BookingState.CONFIRMED,
            price_minor=service.price_minor,
            currency=service.currency,
            policy={},
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(booking)
        await session.flush()
        return booking.id


# --- the example catalog -------------------------------------------------------------------------


async def test_the_example_catalog_imports_twice_with_the_same_result(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await import_file(sessions, EXAMPLE_CATALOG)
    after_first = await dump(sessions)
    second = await import_file(sessions, EXAMPLE_CATALOG)
    after_second = await dump(sessions)

    assert first == ImportSummary(professionals_new=3, services=5, packages=1)
    assert second == ImportSummary(professionals_unchanged=3, services=5, packages=1)
    assert after_second == after_first
    counts = {name: len(rows) for name, rows in after_first.items()}
    assert counts == {
        "professionals": 3,
        "services": 5,
        "packages": 1,
        "weekly_windows": 15,
        "date_overrides": 1,
        "override_windows": 1,
        "time_off": 1,
        "users": 0,
        "bookings": 0,
    }


async def test_the_example_catalog_lands_as_written(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_file(sessions, EXAMPLE_CATALOG)
    anna = await professional(sessions, "anna-koval")
    assert (anna.name, anna.headline, anna.verified, anna.telegram_id) == (
        "Anna Koval",
        "Career coach for people changing fields",
        True,
        None,
    )
    assert anna.bio.startswith("Ten years of coaching") and anna.bio.endswith("the next two weeks.")
    assert (anna.timezone, anna.languages, anna.categories) == ("Europe/Kyiv", ["uk", "en", "ru"], ["career-coaching"])
    assert anna.address == "Khreshchatyk St 22, office 4, Kyiv"
    assert anna.access_notes == "Step-free entrance from the courtyard; lift to the 2nd floor."
    assert anna.video_link == "https://meet.example.org/anna-koval"
    policy = (
        anna.free_cancellation_hours,
        anna.late_cancellation_refund_percent,
        anna.max_reschedules,
        anna.no_show,
        anna.min_notice_minutes,
        anna.booking_horizon_days,
        anna.hold_minutes,
    )
    assert policy == (72, 50, 2, "charge_full", 240, 60, 30)
    assert (anna.buffer_before_minutes, anna.buffer_after_minutes, anna.slot_step_minutes) == (0, 10, 60)

    schedule = await windows(sessions, "anna-koval")
    assert [row[1:] for row in schedule["weekly"]] == [
        (0, 540, 720),
        (0, 810, 1020),
        (1, 540, 720),
        (1, 810, 1020),
        (2, 720, 1200),
        (3, 540, 720),
        (3, 810, 1020),
        (4, 540, 780),
    ]
    assert schedule["overrides"] == [(date(2026, 12, 31), 600, 780)]
    assert schedule["time_off"] == [(date(2026, 12, 24), date(2026, 12, 26))]

    services = await services_of(sessions, "anna-koval")
    assert {
        slug: (s.name, s.duration_minutes, s.price_minor, s.currency, s.mode, s.active) for slug, s in services.items()
    } == {
        "intro-call": ("Free intro call", 20, 0, "EUR", "video", True),
        "coaching-50": ("Coaching session", 50, 6000, "EUR", "video", True),
        "coaching-50-office": ("Coaching session at the office", 50, 7000, "EUR", "in_person", True),
    }
    [package] = (await packages_of(sessions, "anna-koval")).values()
    assert (package.slug, package.name, package.service_id) == (
        "five-sessions",
        "Five coaching sessions",
        services["coaching-50"].id,
    )
    assert (package.sessions, package.price_minor, package.currency, package.valid_days, package.active) == (
        5,
        27000,
        "EUR",
        120,
        True,
    )

    david = await professional(sessions, "david-moreno")
    assert (david.no_show, david.slot_step_minutes, david.address, david.timezone) == (
        "one_free_reschedule",
        None,
        None,
        "America/New_York",
    )
    assert (await services_of(sessions, "david-moreno"))["therapy-50"].price_minor == 9500
    assert (await professional(sessions, "lea-schmidt")).verified is False


async def test_bookbot_slots_shows_real_slots_after_an_import(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    write(tmp_path, EXAMPLE)
    assert await asyncio.to_thread(main, ["import", "catalog.yaml"]) == 0
    capsys.readouterr()
    args = ["--pro", "anna-koval", "--service", "coaching-50", "--from", "2026-12-01", "--days", "1"]
    more = ["--tz", "Europe/Kyiv", "--now", "2026-11-23T09:00:00+00:00"]
    code = await asyncio.to_thread(main, ["slots", *args, *more])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    # Tuesday: 09:00-12:00 and 13:30-17:00, hourly steps, 50 minutes each.
    assert out.splitlines() == [
        "Free slots for coaching-50 (50 min) with anna-koval, 2026-12-01, times in Europe/Kyiv:",
        "2026-12-01 09:00–09:50 Europe/Kyiv (UTC+02:00)",
        "2026-12-01 10:00–10:50 Europe/Kyiv (UTC+02:00)",
        "2026-12-01 11:00–11:50 Europe/Kyiv (UTC+02:00)",
        "2026-12-01 13:30–14:20 Europe/Kyiv (UTC+02:00)",
        "2026-12-01 14:30–15:20 Europe/Kyiv (UTC+02:00)",
        "2026-12-01 15:30–16:20 Europe/Kyiv (UTC+02:00)",
        "6 free slots.",
    ]


# --- updates ---------------------------------------------------------------------------------------


async def test_a_changed_catalog_updates_in_place_and_replaces_the_schedule(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_file(sessions, EXAMPLE_CATALOG)
    anna_before = await professional(sessions, "anna-koval")
    services_before = await services_of(sessions, "anna-koval")
    schedule_before = await windows(sessions, "anna-koval")
    others_before = {name: rows for name, rows in (await dump(sessions)).items() if name != "professionals"}

    changed = edited(
        ("    name: Anna Koval\n", "    name: Anna Koval-Bondar\n"),
        ('price: "60.00"', 'price: "65.50"'),
        ("late_cancellation_refund_percent: 50", "late_cancellation_refund_percent: 25"),
        ('wed: ["12:00-20:00"]', 'wed: ["12:00-18:00"]'),
        ('hours: ["10:00-13:00"]', "hours: []"),
        ("to: 2026-12-26", "to: 2026-12-27"),
    )
    summary = await import_file(sessions, write(tmp_path, changed))

    assert summary == ImportSummary(professionals_updated=1, professionals_unchanged=2, services=5, packages=1)
    anna = await professional(sessions, "anna-koval")
    assert (anna.id, anna.name, anna.late_cancellation_refund_percent) == (anna_before.id, "Anna Koval-Bondar", 25)
    services = await services_of(sessions, "anna-koval")
    assert {slug: row.id for slug, row in services.items()} == {slug: row.id for slug, row in services_before.items()}
    assert services["coaching-50"].price_minor == 6550

    schedule = await windows(sessions, "anna-koval")
    # Windows that stay keep their rows; Wednesday's is replaced.
    wednesday_before = [row for row in schedule_before["weekly"] if row[1] == 2]
    assert [row for row in schedule["weekly"] if row[1] != 2] == [
        row for row in schedule_before["weekly"] if row[1] != 2
    ]
    assert [row[1:] for row in schedule["weekly"] if row[1] == 2] == [(2, 720, 1080)]
    assert [row for row in schedule["weekly"] if row[1] == 2] != wednesday_before
    assert schedule["overrides"] == [(date(2026, 12, 31), None, None)]  # a day off now
    assert schedule["time_off"] == [(date(2026, 12, 24), date(2026, 12, 27))]

    # Nothing of the other professionals moved.
    after = await dump(sessions)
    for name in ("users", "bookings"):
        assert after[name] == others_before[name]
    assert [row for row in after["services"] if row[1] != anna.id] == [
        row for row in others_before["services"] if row[1] != anna.id
    ]


async def test_a_dropped_service_is_kept_inactive_with_its_bookings(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_file(sessions, EXAMPLE_CATALOG)
    before = await services_of(sessions, "anna-koval")
    booking_id = await book(sessions, "anna-koval", "coaching-50-office", datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    without = edited((OFFICE_SERVICE, ""), (ANNA_PACKAGES, "    packages: []\n"))
    dropped = await import_file(sessions, write(tmp_path, without))

    assert dropped == ImportSummary(
        professionals_updated=1,
        professionals_unchanged=2,
        services=4,
        packages=0,
        services_retired=1,
        packages_retired=1,
    )
    services = await services_of(sessions, "anna-koval")
    assert services.keys() == before.keys()
    assert services["coaching-50-office"].id == before["coaching-50-office"].id
    assert [slug for slug, row in services.items() if not row.active] == ["coaching-50-office"]
    assert [(p.slug, p.active) for p in (await packages_of(sessions, "anna-koval")).values()] == [
        ("five-sessions", False)
    ]
    async with sessions() as session:
        booking = await session.get_one(Booking, booking_id)
    assert (booking.service_id, booking.state) == (before["coaching-50-office"].id, BookingState.CONFIRMED)

    # Listed again: offered again, the same rows.
    back = await import_file(sessions, EXAMPLE_CATALOG)
    assert back.professionals_updated == 1
    services = await services_of(sessions, "anna-koval")
    assert {slug: (row.id, row.active) for slug, row in services.items()} == {
        slug: (row.id, True) for slug, row in before.items()
    }
    assert [p.active for p in (await packages_of(sessions, "anna-koval")).values()] == [True]


async def test_a_telegram_id_linked_through_the_bot_survives_a_null_in_the_file(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_file(sessions, EXAMPLE_CATALOG)
    await link_professional(sessions, "anna-koval", 4242)

    again = await import_file(sessions, EXAMPLE_CATALOG)
    assert again.professionals_unchanged == 3
    assert (await professional(sessions, "anna-koval")).telegram_id == 4242

    given = edited(("telegram_id: null", "telegram_id: 777"))
    assert (await import_file(sessions, write(tmp_path, given))).professionals_updated == 1
    assert (await professional(sessions, "anna-koval")).telegram_id == 777


async def test_a_telegram_id_held_by_another_professional_is_refused(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_file(sessions, EXAMPLE_CATALOG)
    await link_professional(sessions, "david-moreno", 4242)
    before = await dump(sessions)
    taken = edited(("    name: Anna Koval\n", "    name: Anna K.\n"), ("telegram_id: null", "telegram_id: 4242"))

    with pytest.raises(CatalogError) as refused:
        await import_file(sessions, write(tmp_path, taken))

    assert (refused.value.line, refused.value.message) == (
        13,
        'telegram_id: 4242 already belongs to professional "david-moreno"',
    )
    assert await dump(sessions) == before


async def test_two_professionals_can_swap_telegram_ids(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_file(sessions, EXAMPLE_CATALOG)
    await link_professional(sessions, "anna-koval", 1001)
    await link_professional(sessions, "david-moreno", 1002)
    swapped = edited(
        ("telegram_id: null", "telegram_id: 1002"),
        (
            "    verified: true\n    timezone: America/New_York",
            "    verified: true\n    telegram_id: 1001\n    timezone: America/New_York",
        ),
    )
    summary = await import_file(sessions, write(tmp_path, swapped))
    assert summary.professionals_updated == 2
    assert [(await professional(sessions, slug)).telegram_id for slug in ("anna-koval", "david-moreno")] == [1002, 1001]


async def test_a_failure_while_writing_leaves_nothing_behind(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await import_file(sessions, EXAMPLE_CATALOG)
    before = await dump(sessions)
    real_fill = catalog_module._fill

    async def fail_on_the_last(session: AsyncSession, pro: Professional, spec: ProfessionalSpec, counts: Any) -> bool:
        if spec.slug == "lea-schmidt":  # the two before it are written and flushed by now
            raise RuntimeError("the disk is full")
        return await real_fill(session, pro, spec, counts)

    monkeypatch.setattr(catalog_module, "_fill", fail_on_the_last)
    changed = edited(("    name: Anna Koval\n", "    name: Anna K.\n"), ('price: "95.00"', 'price: "99.00"'))
    with pytest.raises(RuntimeError, match="disk is full"):
        await import_file(sessions, write(tmp_path, changed))
    assert await dump(sessions) == before


async def test_anchors_merge_keys_old_zone_names_and_numbers_as_prices(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    content = """\
defaults: &policy
  free_cancellation_hours: 24
  no_show: one_free_reschedule
professionals:
  - slug: olha
    name: Olha
    timezone: Europe/Kiev
    telegram_id: 123456789
    video_link: https://meet.example.org/olha
    policy: {<<: *policy, hold_minutes: 45}
    weekly_hours: {sun: ["00:00-24:00"]}
    services:
      - {slug: talk, name: Talk, duration_minutes: 60, price: 12.5, currency: USD, mode: video}
      - {slug: talk-jp, name: Talk, duration_minutes: 60, price: 5000, currency: JPY, mode: video}
"""
    # `defaults` is not a catalog key: the file is refused, and accepted once the anchor moves.
    with pytest.raises(CatalogError, match='unknown key "defaults" in the file'):
        parse_catalog(content, "anchors.yaml")
    content = content.replace("defaults: &policy\n  free_cancellation_hours: 24\n  no_show: one_free_reschedule\n", "")
    content = content.replace(
        "    policy: {<<: *policy, hold_minutes: 45}",
        "    policy: &policy {free_cancellation_hours: 24, no_show: one_free_reschedule, hold_minutes: 45}",
    )
    content += "  - slug: pavlo\n    name: Pavlo\n    timezone: UTC\n    policy: {<<: *policy, hold_minutes: 20}\n"
    await import_file(sessions, write(tmp_path, content))

    olha = await professional(sessions, "olha")
    pavlo = await professional(sessions, "pavlo")
    assert (olha.timezone, olha.telegram_id, olha.hold_minutes, olha.no_show) == (
        "Europe/Kyiv",
        123456789,
        45,
        "one_free_reschedule",
    )
    assert (pavlo.free_cancellation_hours, pavlo.no_show, pavlo.hold_minutes, pavlo.max_reschedules) == (
        24,
        "one_free_reschedule",
        20,
        1,  # not in the file: the default
    )
    prices = {slug: (row.price_minor, row.currency) for slug, row in (await services_of(sessions, "olha")).items()}
    assert prices == {"talk": (1250, "USD"), "talk-jp": (5000, "JPY")}
    assert [row[1:] for row in (await windows(sessions, "olha"))["weekly"]] == [(6, 0, 1440)]


# --- broken files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    changes: Sequence[tuple[str, str]]
    message: str
    at: Sequence[str]  # markers locating the line the error must name (see line_of)


BROKEN = {
    "professional slug too long for a deep link": Broken(
        [("- slug: anna-koval", "- slug: " + "a" * 61)],
        "slug: at most 60 characters, so the link pro_" + "a" * 61 + " fits",
        ["- slug: " + "a" * 61],
    ),
    "window format": Broken(
        [('mon: ["09:00-12:00", "13:30-17:00"]', 'mon: ["9h-12h", "13:30-17:00"]')],
        'mon: window "9h-12h" is not HH:MM-HH:MM',
        ['mon: ["9h-12h"'],
    ),
    "overlapping windows": Broken(
        [('tue: ["09:00-12:00", "13:30-17:00"]', 'tue: ["09:00-14:00", "13:30-17:00"]')],
        'tue: windows "09:00-14:00" and "13:30-17:00" overlap',
        ["tue: "],
    ),
    "window across midnight": Broken(
        [('wed: ["12:00-20:00"]', 'wed: ["20:00-02:00"]')],
        'wed: window "20:00-02:00" ends before it starts '
        "(a window cannot cross midnight: end one at 24:00 and start the next day at 00:00)",
        ["wed: "],
    ),
    "window past 24:00": Broken(
        [('fri: ["09:00-13:00"]', 'fri: ["09:00-24:30"]')],
        'fri: window "09:00-24:30" ends at no time of day (00:01 to 24:00)',
        ["fri: "],
    ),
    "weekday name": Broken(
        [('fri: ["09:00-13:00"]', 'friday: ["09:00-13:00"]')],
        'unknown key "friday" in weekly_hours (did you mean "fri"?)',
        ["friday:"],
    ),
    "typo in a key": Broken(
        [("    headline: Career coach", "    headlne: Career coach")],
        'unknown key "headlne" in professional (did you mean "headline"?)',
        ["headlne:"],
    ),
    "key given twice": Broken(
        [("    bio: Evidence-based", "    headline: Nutrition\n    bio: Evidence-based")],
        "headline: given twice (first on line 108)",
        ["- slug: lea-schmidt", "headline: Nutrition", "headline: Nutrition"],
    ),
    "unknown time zone": Broken(
        [("timezone: Europe/Berlin", "timezone: Europe/Berlinn")],
        'timezone: unknown time zone "Europe/Berlinn" (use an IANA name such as Europe/Kyiv)',
        ["Europe/Berlinn"],
    ),
    "professional slug twice": Broken(
        [("  - slug: lea-schmidt", "  - slug: anna-koval")],
        'slug: "anna-koval" is used twice (first on line 6)',
        ["- slug: anna-koval", "- slug: anna-koval"],
    ),
    "service slug twice": Broken(
        [("      - slug: coaching-50-office", "      - slug: coaching-50")],
        'slug: service "coaching-50" is listed twice (first on line 51)',
        ["- slug: coaching-50", "- slug: coaching-50"],
    ),
    "not a slug": Broken(
        [("  - slug: david-moreno", "  - slug: David Moreno")],
        'slug: "David Moreno" is not a slug '
        "(lowercase letters, digits and hyphens, starting with a letter or digit, at most 64)",
        ["- slug: David Moreno"],
    ),
    "too many decimals": Broken(
        [('price: "95.00"', 'price: "95.001"')],
        'price: "95.001" has more decimals than USD allows (2)',
        ["95.001"],
    ),
    "negative price": Broken([('price: "55.00"', "price: -55")], "price: -55 is negative", ["price: -55"]),
    "lowercase currency": Broken(
        [("currency: USD", "currency: usd")], 'currency: "usd" must be in capitals: USD', ["currency: usd"]
    ),
    "unknown currency": Broken(
        [("currency: USD", "currency: USX")], 'currency: "USX" is not an ISO 4217 currency code', ["currency: USX"]
    ),
    "unknown mode": Broken(
        [("mode: in_person", "mode: in-person")],
        'mode: "in-person" is not one of video | in_person | phone',
        ["mode: in-person"],
    ),
    "package of another service": Broken(
        [("        service: coaching-50", "        service: therapy-50")],
        'service: "therapy-50" is not a service of this professional (intro-call, coaching-50, coaching-50-office)',
        ["service: therapy-50"],
    ),
    "in person without an address": Broken(
        [(ANNA_LOCATION, "")],
        'mode: service "coaching-50-office" is in person but the professional has no location.address',
        ["mode: in_person"],
    ),
    "video without a link": Broken(
        [('    video_link: "https://meet.example.org/david-moreno"\n', "")],
        'mode: service "therapy-50" is by video but the professional has no video_link',
        ["- slug: therapy-50", "mode: video"],
    ),
    "stripe account malformed": Broken(
        [
            (
                '    video_link: "https://meet.example.org/david-moreno"\n',
                '    video_link: "https://meet.example.org/david-moreno"\n    stripe_account: "sk_live_oops"\n',
            )
        ],
        'stripe_account: "sk_live_oops" is not a Stripe account id (acct_ followed by letters and digits)',
        ['stripe_account: "sk_live_oops"'],
    ),
    "refund percent": Broken(
        [("late_cancellation_refund_percent: 50", "late_cancellation_refund_percent: 150")],
        "late_cancellation_refund_percent: 150 is not between 0 and 100",
        ["refund_percent: 150"],
    ),
    "no-show rule": Broken(
        [("no_show: one_free_reschedule", "no_show: one_free_pass")],
        'no_show: "one_free_pass" is not one of charge_full | one_free_reschedule',
        ["no_show: one_free_pass"],
    ),
    "hold of zero minutes": Broken(
        [("hold_minutes: 30      ", "hold_minutes: 0       ")],
        "hold_minutes: 0 is not between 1 and 1440",
        ["hold_minutes: 0"],
    ),
    "date that does not exist": Broken(
        [("- date: 2026-12-31", "- date: 2026-02-30")], "date: 2026-02-30 is not a valid date", ["2026-02-30"]
    ),
    "time off backwards": Broken(
        [("to: 2026-12-26", "to: 2026-12-20")], "to: 2026-12-20 is before from: 2026-12-24", ["to: 2026-12-20"]
    ),
    "missing service name": Broken(
        [("        name: Therapy session\n", "")], 'service "therapy-50": missing "name"', ["- slug: therapy-50"]
    ),
    "duration in words": Broken(
        [("duration_minutes: 20", "duration_minutes: twenty")],
        'duration_minutes: expected a whole number, got "twenty"',
        ["twenty"],
    ),
    "language name": Broken(
        [("languages: [en, es]", "languages: [en, spanish]")],
        'languages: "spanish" is not a language code such as en, uk or pt-BR',
        ["spanish"],
    ),
    "telegram id as text": Broken(
        [("telegram_id: null", 'telegram_id: "@anna"')],
        'telegram_id: "@anna" is not a Telegram user id (a positive whole number) or null',
        ["@anna"],
    ),
    "one telegram id for two": Broken(
        [
            ("telegram_id: null", "telegram_id: 42"),
            (
                "    verified: true\n    timezone: America/New_York",
                "    verified: true\n    telegram_id: 42\n    timezone: America/New_York",
            ),
        ],
        'telegram_id: 42 is given to "anna-koval" too',
        ["- slug: david-moreno", "telegram_id: 42"],
    ),
    "top-level typo": Broken(
        [("professionals:", "professionels:")],
        'unknown key "professionels" in the file (did you mean "professionals"?)',
        ["professionels:"],
    ),
    "unclosed list": Broken(
        [('mon: ["09:00-12:00", "13:30-17:00"]', 'mon: ["09:00-12:00", "13:30-17:00"')],
        "invalid YAML: expected ',' or ']', but got '<scalar>' (while parsing a flow sequence that starts on line 33)",
        ["mon: [", "tue: ["],
    ),
}


async def test_a_stripe_account_lands_on_the_professional_and_can_be_dropped(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    with_account = edited(
        (
            '    video_link: "https://meet.example.org/david-moreno"\n',
            '    video_link: "https://meet.example.org/david-moreno"\n    stripe_account: acct_1DavidMoreno\n',
        )
    )
    await import_file(sessions, write(tmp_path, with_account))
    assert (await professional(sessions, "david-moreno")).stripe_account == "acct_1DavidMoreno"
    assert (await professional(sessions, "anna-koval")).stripe_account is None
    await import_file(sessions, EXAMPLE_CATALOG)
    assert (await professional(sessions, "david-moreno")).stripe_account is None


async def test_broken_files_are_rejected_whole_with_their_lines(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # One database for the whole matrix: each rejected file must leave it exactly as it was.
    await import_file(sessions, EXAMPLE_CATALOG)
    before = await dump(sessions)
    found: dict[str, tuple[int | None, str, str, bool]] = {}
    wanted: dict[str, tuple[int | None, str, str, bool]] = {}
    for name, case in BROKEN.items():
        # A valid change as well, so "nothing written" means something.
        content = edited(*case.changes, ("anxiety and burnout", "anxiety, burnout and sleep"))
        path = write(tmp_path, content, "broken.yaml")
        line = line_of(content, *case.at)
        wanted[name] = (line, case.message, f"{path}, line {line}: {case.message}", True)
        with pytest.raises(CatalogError) as rejected:
            await import_file(sessions, path)
        error = rejected.value
        found[name] = (error.line, error.message, str(error), await dump(sessions) == before)
    assert found == wanted
    assert len(found) >= 12


# --- bookbot import --------------------------------------------------------------------------------


async def _bookbot(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def test_cli_imports_reports_and_honours_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"  # not tmp_path: the SQLite fixture's own file is tmp_path / "bookbot.db"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("DATABASE_URL", db_url)
    write(work, EXAMPLE)

    assert await _bookbot("import", "catalog.yaml") == 0
    assert capsys.readouterr() == ("Imported 3 professionals (3 new), 5 services, 1 package from catalog.yaml.\n", "")
    assert await _bookbot("import", "catalog.yaml") == 0
    assert capsys.readouterr() == (
        "Imported 3 professionals (3 unchanged), 5 services, 1 package from catalog.yaml.\n",
        "",
    )

    write(
        work,
        edited(('price: "60.00"', 'price: "65.00"'), ("      - slug: intro-call\n", "      - slug: intro-call-20\n")),
        "changed.yaml",
    )
    assert await _bookbot("import", "changed.yaml") == 0
    assert capsys.readouterr() == (
        "Imported 3 professionals (1 updated, 2 unchanged), 5 services, 1 package from changed.yaml. "
        "No longer offered: 1 service.\n",
        "",
    )
    assert not (work / "bookbot.db").exists()  # DATABASE_URL, not the default file


async def test_cli_rejects_a_broken_file_with_its_line_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    broken = edited(("    name: Anna Koval\n", "    name: Anna K.\n"), ('["09:00-12:00", "13:30-17:00"]', '["9h-12h"]'))
    write(tmp_path, broken, "broken.yaml")

    assert await _bookbot("import", "broken.yaml") == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", 'bookbot: broken.yaml, line 33: mon: window "9h-12h" is not HH:MM-HH:MM\n')
    assert all(rows == [] for rows in (await dump(sessions)).values())


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.yaml", None, "missing.yaml: no such file"),
        ("folder", "directory", "folder: is a directory, not a catalog file"),
        ("latin1.yaml", b"professionals:\n  - name: Jos\xe9\n", "latin1.yaml, line 2: not UTF-8 text (byte 0xe9)"),
        ("empty.yaml", b"", "empty.yaml: the file is empty: it needs a list of professionals"),
        ("comments.yaml", b"# nothing yet\n\n", "comments.yaml: the file is empty: it needs a list of professionals"),
        (
            "tabs.yaml",
            b"professionals:\n\t- slug: a\n",
            "tabs.yaml, line 2: invalid YAML: found character '\\t' that cannot start any token",
        ),
        ("list.yaml", b"- slug: a\n", "list.yaml, line 1: the file: expected a mapping of keys to values, got a list"),
        ("none.yaml", b"professionals: []\n", "none.yaml, line 1: professionals: the list is empty"),
    ],
)
def test_cli_refuses_an_unreadable_file_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    content: bytes | str | None,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    if content == "directory":
        (tmp_path / name).mkdir()
    elif isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)

    assert main(["import", name]) == 2
    assert capsys.readouterr() == ("", f"bookbot: {message}\n")
    assert not (tmp_path / "never.db").exists()  # the file is checked before the database is opened


async def test_cli_on_a_database_that_is_not_migrated(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path, EXAMPLE)
    catalog = str(tmp_path / "catalog.yaml")

    missing = tmp_path / "missing.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    assert await _bookbot("import", catalog) == 2
    assert capsys.readouterr() == ("", f"bookbot: no database file {missing}: run `bookbot db upgrade` first\n")
    assert not missing.exists()

    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{empty}")
    assert await _bookbot("import", catalog) == 2
    assert capsys.readouterr() == ("", "bookbot: the database has no tables yet: run `bookbot db upgrade` first\n")

    old = tmp_path / "old.db"
    await upgrade(f"sqlite+aiosqlite:///{old}", "0001")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{old}")
    assert await _bookbot("import", catalog) == 2
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert capsys.readouterr() == (
        "",
        f"bookbot: the database is at schema revision 0001, this Bookbot needs {head}: "
        "run `bookbot db upgrade` first\n",
    )

    with sqlite3.connect(old) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00d'")
    assert await _bookbot("import", catalog) == 2
    assert capsys.readouterr() == (
        "",
        f"bookbot: the database is at schema revision f00d, which this Bookbot does not know (it needs {head})\n",
    )

    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert await _bookbot("import", catalog) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        "bookbot: cannot open the database postgresql+asyncpg://postgres@127.0.0.1:1/nowhere (DATABASE_URL): "
    )
    assert err.count("\n") == 1


async def test_cli_defaults_to_bookbot_db_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    write(tmp_path, EXAMPLE)
    assert await _bookbot("import", "catalog.yaml") == 2
    assert capsys.readouterr().err == "bookbot: no database file bookbot.db: run `bookbot db upgrade` first\n"

    assert await _bookbot("db", "upgrade") == 0
    assert await _bookbot("import", "catalog.yaml") == 0
    assert capsys.readouterr().out.endswith(
        "Imported 3 professionals (3 new), 5 services, 1 package from catalog.yaml.\n"
    )
    with sqlite3.connect(tmp_path / "bookbot.db") as connection:
        slugs = [row[0] for row in connection.execute("SELECT slug FROM professionals ORDER BY id")]
    assert slugs == ["anna-koval", "david-moreno", "lea-schmidt"]
