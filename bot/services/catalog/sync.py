"""Writing a checked catalog to the database in one transaction: records matched by slug and updated
in place, services and packages no longer in the file deactivated (bookings refer to them), and a
professional's weekly hours, date overrides and time off made exactly what the file says. Only rows
that differ are touched, so importing the same file again changes nothing, ids included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.services.catalog.reading import load_catalog
from bot.services.catalog.spec import Catalog, ProfessionalSpec
from bot.services.errors import CatalogError
from models import (
    DateOverride,
    OverrideWindow,
    Package,
    Professional,
    Service,
    TimeOff,
    WeeklyWindow,
)

# Serialises concurrent imports on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).
_IMPORT_LOCK = 0x626F6F6B626F74  # "bookbot"


@dataclass(frozen=True)
class ImportSummary:
    professionals_new: int = 0
    professionals_updated: int = 0
    professionals_unchanged: int = 0
    services: int = 0
    packages: int = 0
    # Active before this import, no longer in the file: kept for their bookings, not offered.
    services_retired: int = 0
    packages_retired: int = 0

    @property
    def professionals(self) -> int:
        return self.professionals_new + self.professionals_updated + self.professionals_unchanged


async def import_file(sessions: async_sessionmaker[AsyncSession], path: Path) -> ImportSummary:
    """Import the catalog at `path` in one transaction; CatalogError (nothing written) if anything is wrong."""
    catalog = await asyncio.to_thread(load_catalog, path)
    return await import_catalog(sessions, catalog)


async def import_catalog(sessions: async_sessionmaker[AsyncSession], catalog: Catalog) -> ImportSummary:
    """Write a checked catalog in one transaction (all or nothing)."""
    async with sessions.begin() as session:
        return await _write(session, catalog)


async def _write(session: AsyncSession, catalog: Catalog) -> ImportSummary:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})
    slugs = [spec.slug for spec in catalog.professionals]
    rows = await session.scalars(
        select(Professional)
        .where(Professional.slug.in_(slugs))
        .options(
            selectinload(Professional.services),
            selectinload(Professional.packages),
            selectinload(Professional.weekly_windows),
            selectinload(Professional.date_overrides).selectinload(DateOverride.windows),
            selectinload(Professional.time_off),
        )
    )
    existing = {pro.slug: pro for pro in rows}
    await _check_telegram_ids(session, catalog)
    await _release_telegram_ids(session, catalog, existing)

    counts = dict.fromkeys((item.name for item in fields(ImportSummary)), 0)
    for spec in catalog.professionals:
        pro = existing.get(spec.slug)
        if pro is None:
            # Empty collections set now stay loaded across the flush in _fill; untouched ones would
            # lazy-load afterwards, which async sessions cannot do.
            pro = Professional(
                slug=spec.slug, services=[], packages=[], weekly_windows=[], date_overrides=[], time_off=[]
            )
            session.add(pro)
            counts["professionals_new"] += 1
            await _fill(session, pro, spec, counts)
        elif await _fill(session, pro, spec, counts):
            counts["professionals_updated"] += 1
        else:
            counts["professionals_unchanged"] += 1
        counts["services"] += len(spec.services)
        counts["packages"] += len(spec.packages)
    await session.flush()
    return ImportSummary(**counts)


async def _check_telegram_ids(session: AsyncSession, catalog: Catalog) -> None:
    """A telegram_id the file gives must not stay with another professional after the import."""
    wanted = {spec.telegram_id: spec for spec in catalog.professionals if spec.telegram_id is not None}
    if not wanted:
        return
    holders = await session.execute(
        select(Professional.slug, Professional.telegram_id).where(Professional.telegram_id.in_(list(wanted)))
    )
    in_file = {spec.slug: spec for spec in catalog.professionals}
    for holder, telegram_id in holders:
        assert telegram_id is not None  # selected by it
        spec = wanted[telegram_id]
        if holder == spec.slug:
            continue
        other = in_file.get(holder)
        if other is not None and other.telegram_id is not None:
            continue  # the file moves the holder to another id: released before it is given away
        raise CatalogError(
            f'telegram_id: {telegram_id} already belongs to professional "{holder}"',
            spec.telegram_id_line,
            catalog.source,
        )


async def _release_telegram_ids(session: AsyncSession, catalog: Catalog, existing: dict[str, Professional]) -> None:
    """Clear ids that move, first, so a swap between two professionals never trips the unique constraint."""
    moving = [
        pro
        for spec in catalog.professionals
        if (pro := existing.get(spec.slug)) is not None
        and spec.telegram_id is not None
        and pro.telegram_id not in (None, spec.telegram_id)
    ]
    for pro in moving:
        pro.telegram_id = None
    if moving:
        await session.flush()


def _set(row: object, name: str, value: object) -> bool:
    """Assign only what differs, so an unchanged import issues no UPDATE; True if it changed."""
    if getattr(row, name) == value:
        return False
    setattr(row, name, value)
    return True


def _assign(row: object, values: dict[str, Any]) -> bool:
    changed = [_set(row, name, value) for name, value in values.items()]
    return any(changed)


async def _fill(session: AsyncSession, pro: Professional, spec: ProfessionalSpec, counts: dict[str, int]) -> bool:
    """Make `pro` say what `spec` says; True if anything about it changed."""
    values: dict[str, Any] = {
        "name": spec.name,
        "headline": spec.headline,
        "bio": spec.bio,
        "verified": spec.verified,
        "crisis_alerts": spec.crisis_alerts,
        "reminders": list(spec.reminders),
        "timezone": spec.timezone,
        "languages": list(spec.languages),
        "categories": list(spec.categories),
        "address": spec.address,
        "access_notes": spec.access_notes,
        "video_link": spec.video_link,
        "stripe_account": spec.stripe_account,
        "buffer_before_minutes": spec.buffer_before_minutes,
        "buffer_after_minutes": spec.buffer_after_minutes,
        "slot_step_minutes": spec.slot_step_minutes,
    }
    values.update(spec.policy.as_columns())
    if spec.telegram_id is not None:
        values["telegram_id"] = spec.telegram_id
    if spec.daily_agenda is not None:
        values["daily_agenda"] = spec.daily_agenda
    changed = _assign(pro, values)
    changed = _sync_weekly(pro, spec) or changed
    changed = _sync_overrides(pro, spec) or changed
    changed = _sync_time_off(pro, spec) or changed
    changed = _sync_services(pro, spec, counts) or changed
    # Packages refer to services by id: new services need theirs first.
    await session.flush()
    changed = _sync_packages(pro, spec, counts) or changed
    return changed


_Row = TypeVar("_Row")
_Key = TypeVar("_Key", bound=Hashable)


def _sync_rows(
    rows: list[_Row], wanted: Sequence[_Key], key: Callable[[_Row], _Key], make: Callable[[_Key], _Row]
) -> bool:
    """Make `rows` hold one row for each of `wanted`: a row already right stays (its id too), the rest
    go and the missing are added. True if anything changed."""
    wanted_keys = set(wanted)
    kept: set[_Key] = set()
    changed = False
    for row in list(rows):
        found = key(row)
        if found in wanted_keys and found not in kept:
            kept.add(found)
        else:
            rows.remove(row)
            changed = True
    for item in wanted:
        if item not in kept:
            rows.append(make(item))
            changed = True
    return changed


def _sync_weekly(pro: Professional, spec: ProfessionalSpec) -> bool:
    return _sync_rows(
        pro.weekly_windows,
        spec.weekly,
        lambda row: (row.weekday, row.starts, row.ends),
        lambda item: WeeklyWindow(weekday=item[0], starts=item[1], ends=item[2]),
    )


def _sync_overrides(pro: Professional, spec: ProfessionalSpec) -> bool:
    changed = _sync_rows(
        pro.date_overrides,
        [override.on_date for override in spec.overrides],
        lambda row: row.on_date,
        lambda on_date: DateOverride(on_date=on_date),
    )
    rows = {row.on_date: row for row in pro.date_overrides}
    for override in spec.overrides:
        changed = (
            _sync_rows(
                rows[override.on_date].windows,
                override.windows,
                lambda row: (row.starts, row.ends),
                lambda window: OverrideWindow(starts=window[0], ends=window[1]),
            )
            or changed
        )
    return changed


def _sync_time_off(pro: Professional, spec: ProfessionalSpec) -> bool:
    return _sync_rows(
        pro.time_off,
        spec.time_off,
        lambda row: (row.first_day, row.last_day),
        lambda days: TimeOff(first_day=days[0], last_day=days[1]),
    )


_Offered = TypeVar("_Offered", Service, Package)


def _sync_offered(
    rows: list[_Offered],
    wanted: dict[str, dict[str, Any]],
    make: Callable[..., _Offered],
    retired_key: str,
    counts: dict[str, int],
) -> bool:
    """Upsert the services (or packages) the file lists, by slug; retire the ones it no longer lists.
    Retired rows stay: bookings and credits refer to them."""
    by_slug = {row.slug: row for row in rows}
    changed = False
    for slug, values in wanted.items():
        row = by_slug.get(slug)
        if row is None:
            rows.append(make(slug=slug, **values, active=True))
            changed = True
        else:
            changed = _assign(row, values | {"active": True}) or changed
    for row in rows:
        if row.slug not in wanted and row.active:
            row.active = False
            counts[retired_key] += 1
            changed = True
    return changed


def _sync_services(pro: Professional, spec: ProfessionalSpec, counts: dict[str, int]) -> bool:
    wanted = {
        item.slug: {
            "name": item.name,
            "duration_minutes": item.duration_minutes,
            "price_minor": item.price_minor,
            "currency": item.currency,
            "mode": item.mode,
        }
        for item in spec.services
    }
    return _sync_offered(pro.services, wanted, Service, "services_retired", counts)


def _sync_packages(pro: Professional, spec: ProfessionalSpec, counts: dict[str, int]) -> bool:
    service_ids = {service.slug: service.id for service in pro.services}
    wanted = {
        item.slug: {
            "name": item.name,
            "service_id": service_ids[item.service],
            "sessions": item.sessions,
            "price_minor": item.price_minor,
            "currency": item.currency,
            "valid_days": item.valid_days,
        }
        for item in spec.packages
    }
    return _sync_offered(pro.packages, wanted, Package, "packages_retired", counts)
