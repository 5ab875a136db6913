"""`bookbot db upgrade` migrates an empty or older database, and the migrations match the models."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.cli import main
from models import Base
from models.db import make_engine
from models.migrate import alembic_config, upgrade
from tests.conftest import _pg_admin, _pg_url

_names = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("pg_template")  # fails or skips clearly when PostgreSQL is down
    name = f"bookbot_empty_{os.getpid()}_{next(_names)}"
    await _pg_admin(f"CREATE DATABASE {name}")
    yield _pg_url(name)
    await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def another_empty_url(empty_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second empty database, of the same kind as `empty_url`."""
    if empty_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'another.db'}"
        return
    name = f"bookbot_empty_{os.getpid()}_{next(_names)}"
    await _pg_admin(f"CREATE DATABASE {name}")
    yield _pg_url(name)
    await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def _current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


async def test_empty_database_upgrades_to_head_twice(empty_url: str) -> None:
    await upgrade(empty_url)
    await upgrade(empty_url)  # a second run is a no-op, not an error
    assert await _current_revision(empty_url) == _revisions(empty_url)[-1]


async def test_migrated_schema_matches_the_models(empty_url: str) -> None:
    await upgrade(empty_url)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = make_engine(empty_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []


async def _index_definitions(url: str) -> dict[str, str]:
    """Every index's and exclusion constraint's definition, by name, as the database tells it."""
    queries = {
        "sqlite": ["SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"],
        "postgresql": [
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'x'",
        ],
    }
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            found: dict[str, str] = {}
            for query in queries[connection.dialect.name]:
                found.update((str(name), str(sql)) for name, sql in await connection.execute(text(query)))
            return found
    finally:
        await engine.dispose()


async def test_the_models_create_the_partial_indexes_and_the_exclusion_constraint_the_migrations_make(
    empty_url: str, another_empty_url: str
) -> None:
    # Alembic compares neither an index's WHERE nor exclusion constraints, and the models hand both to
    # the dialect only when it creates them (models.base.partial_index, models.booking), so the test above
    # cannot see them: `metadata.create_all` must make exactly what the migrations make.
    await upgrade(empty_url)
    engine = make_engine(another_empty_url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
            await connection.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()
    migrated = await _index_definitions(empty_url)
    migrated.pop("alembic_version_pkc", None)
    created = await _index_definitions(another_empty_url)
    assert created == migrated
    assert "WHERE" in created["ix_outbox_pending_due"] and "WHERE" in created["uq_credit_entries_spend_per_booking"]
    if empty_url.startswith("postgresql"):
        assert "EXCLUDE USING gist" in created["no_overlapping_bookings"]
        assert "WHERE" in created["ix_payments_refund_due"]
    else:
        assert "WHERE" not in created["ix_payments_refund_due"]  # partial on PostgreSQL only


async def test_older_database_keeps_its_data_through_every_later_migration(empty_url: str) -> None:
    first = _revisions(empty_url)[0]
    await upgrade(empty_url, first)
    engine = make_engine(empty_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (telegram_id, first_name, locale, timezone, created_at) "
                    "VALUES (42, 'Olena', 'uk', 'Europe/Kyiv', '2026-11-01 10:00:00+00')"
                )
            )
        await upgrade(empty_url)
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT first_name, timezone FROM users"))).one()
    finally:
        await engine.dispose()
    assert tuple(row) == ("Olena", "Europe/Kyiv")
    assert await _current_revision(empty_url) == _revisions(empty_url)[-1]


async def test_cli_db_upgrade_honours_database_url(empty_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_url)
    assert await asyncio.to_thread(main, ["db", "upgrade"]) == 0
    assert await _current_revision(empty_url) == _revisions(empty_url)[-1]


def test_cli_rejects_an_unsupported_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/test")
    assert main(["db", "upgrade"]) == 2
    assert "unsupported database 'mysql'" in capsys.readouterr().err


async def test_outbox_rows_written_before_0004_get_a_recipient_a_subject_and_the_booking_view(empty_url: str) -> None:
    from bot.services.booking_view import BookingView

    await upgrade(empty_url, "0003")
    at, end = "'2026-11-20 10:00:00+00'", "'2026-11-20 10:50:00+00'"
    old_payload = json.dumps(
        {
            "booking_id": 1,
            "version": 2,
            "service_name": "Coaching",
            "professional_name": "Anna Koval",
            "professional_slug": "anna-koval",
            "client_name": "Olena",
            "starts_at": "2026-12-01T08:00:00+00:00",
            "ends_at": "2026-12-01T08:50:00+00:00",
            "zone": "Europe/Kyiv",
            "other_zone": "America/New_York",
            "mode": "video",
            "notes": None,
            "price_minor": 6000,
            "currency": "EUR",
        }
    )
    policy = json.dumps(
        {
            "free_cancellation_hours": 72,
            "late_cancellation_refund_percent": 50,
            "max_reschedules": 2,
            "no_show": "charge_full",
            "hold_minutes": 30,
        }
    )
    statements = [
        # No explicit id: the migration adds users, and PostgreSQL's sequence must know of this one.
        "INSERT INTO users (telegram_id, first_name, locale, timezone, created_at) "
        f"VALUES (555, 'Olena', 'uk', 'America/New_York', {at})",
        "INSERT INTO professionals (id, slug, name, headline, bio, verified, telegram_id, timezone, languages, "
        "categories, video_link, free_cancellation_hours, late_cancellation_refund_percent, max_reschedules, no_show, "
        "min_notice_minutes, booking_horizon_days, hold_minutes, buffer_before_minutes, buffer_after_minutes) "
        "VALUES (1, 'anna-koval', 'Anna Koval', '', '', true, 700001, 'Europe/Kyiv', '[\"uk\"]', '[]', "
        "'https://meet.example.org/anna', 72, 50, 2, 'charge_full', 60, 60, 30, 0, 0)",
        "INSERT INTO services (id, professional_id, slug, name, duration_minutes, price_minor, currency, mode, active) "
        "VALUES (1, 1, 'coaching', 'Coaching', 50, 6000, 'EUR', 'video', true)",
        "INSERT INTO bookings (id, client_id, professional_id, service_id, starts_at, ends_at, block_starts_at, "
        "block_ends_at, state, version, price_minor, currency, policy, reschedule_count, paid_with, created_at, "
        "updated_at) VALUES (1, (SELECT id FROM users WHERE telegram_id = 555), 1, 1, "
        f"{at}, {end}, {at}, {end}, 'confirmed', 2, 6000, 'EUR', '{policy}', 0, 'stripe', {at}, {at})",
        # Anna never wrote to the bot: her chat had no user row.
        "INSERT INTO outbox (id, key, chat_id, locale, kind, payload, due_at, attempts) "
        f"VALUES (1, 'booking_new_pro:1:2', 700001, 'uk', 'booking_new_pro', '{old_payload}', {at}, 0)",
        "INSERT INTO outbox (id, key, chat_id, locale, kind, payload, due_at, attempts, sent_at) "
        f"VALUES (2, 'hold_expired_client:1:1', 555, 'uk', 'hold_expired_client', '{old_payload}', {at}, 1, {at})",
    ]
    engine = make_engine(empty_url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await upgrade(empty_url)
        async with engine.connect() as connection:
            users = {row[0]: row[1] for row in await connection.execute(text("SELECT telegram_id, id FROM users"))}
            rows = (
                await connection.execute(
                    text(
                        "SELECT id, recipient_id, subject_type, subject_id, fallback_locale, fallback_zone, chat_id, "
                        "payload FROM outbox ORDER BY id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert set(users) == {555, 700001}
    pending, sent = ([*row[:7], row[7] if isinstance(row[7], dict) else json.loads(row[7])] for row in rows)
    assert pending[:7] == [1, users[700001], "booking", 1, "uk", "Europe/Kyiv", None]
    assert sent[:7] == [2, users[555], "booking", 1, "uk", "Europe/Kyiv", 555]
    # What today's renderers read, from the booking; the old per-recipient zones are gone.
    view = BookingView.from_json(pending[7])
    assert (view.professional_zone, view.client_zone, view.video_link) == (
        "Europe/Kyiv",
        "America/New_York",
        "https://meet.example.org/anna",
    )
    assert (view.duration_minutes, view.state, view.policy.free_cancellation_hours) == (50, "confirmed", 72)
    assert "zone" not in pending[7] and sent[7]["zone"] == "Europe/Kyiv"


def test_the_cli_reads_the_revisions_as_alembic_does(tmp_path: Path) -> None:
    """`bookbot slots` and the other database commands check the schema without importing Alembic."""
    from bot.cli_database import _revisions

    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    known, heads = _revisions()
    assert heads == set(script.get_heads())
    assert known == {revision.revision for revision in script.walk_revisions()}


async def test_run_migrates_an_older_sqlite_and_leaves_a_current_one_alone(tmp_path: Path) -> None:
    """`bookbot run` reads the revision without Alembic and migrates only a database behind this Bookbot."""
    from bot.serving import at_newest_schema, prepare_database

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    assert not await at_newest_schema(url)  # no tables yet
    first = _revisions(url)[0]
    await upgrade(url, first)
    assert not await at_newest_schema(url)
    await prepare_database(url)
    assert await _current_revision(url) == _revisions(url)[-1]
    assert await at_newest_schema(url)
    await prepare_database(url)  # nothing to do
    assert await _current_revision(url) == _revisions(url)[-1]
