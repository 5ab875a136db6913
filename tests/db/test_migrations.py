"""`bookbot db upgrade` migrates an empty or older database, and the migrations match the models."""

from __future__ import annotations

import asyncio
import itertools
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
