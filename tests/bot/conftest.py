"""Fixtures for dispatcher-level tests: `harness` (SQLite) and `pg_harness` (PostgreSQL); see harness.py."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.services.clock import FrozenClock
from models.migrate import upgrade
from tests.bot.harness import BotHarness
from tests.conftest import run_in_own_loop


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One migrated SQLite file per run; each test gets a copy (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "bookbot.db"
    run_in_own_loop(upgrade(f"sqlite+aiosqlite:///{path}"))
    yield path


@pytest.fixture
def bot_db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database of this test's own."""
    database = tmp_path / "bookbot.db"
    shutil.copyfile(sqlite_template, database)
    return f"sqlite+aiosqlite:///{database}"


@pytest.fixture
async def harness(bot_db_url: str, clock: FrozenClock) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(bot_db_url, clock) as running:
        yield running


@pytest.fixture
async def pg_harness(pg_url: str, clock: FrozenClock) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(pg_url, clock) as running:
        yield running
