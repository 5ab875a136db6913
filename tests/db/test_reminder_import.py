"""The catalog's `reminders: [minutes, ...]`: 24 h and 1 h unless the file says otherwise, [] turns them
off, and a bad list is refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.catalog import import_file
from bot.services.errors import CatalogError
from models import Professional

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "catalog.yaml"
DAVID = "  - slug: david-moreno"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows the async `db_url` of tests/conftest.py, as tests/db/test_import.py does (same reason).
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _offsets(sessions: async_sessionmaker[AsyncSession]) -> list[list[int]]:
    async with sessions() as session:
        return [p.reminders for p in await session.scalars(select(Professional).order_by(Professional.slug))]


def _with(tmp_path: Path, line: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace(DAVID, f"{DAVID}\n    {line}", 1)
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_reminder_offsets_default_and_can_be_set(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_file(sessions, EXAMPLE)
    # By slug: anna-koval sets a week, a day and an hour; the others say nothing.
    assert await _offsets(sessions) == [[10080, 1440, 60], [1440, 60], [1440, 60]]
    await import_file(sessions, _with(tmp_path, "reminders: [30, 2880]"))
    assert await _offsets(sessions) == [[10080, 1440, 60], [2880, 30], [1440, 60]]
    await import_file(sessions, _with(tmp_path, "reminders: []"))
    assert await _offsets(sessions) == [[10080, 1440, 60], [], [1440, 60]]


@pytest.mark.parametrize("line", ["reminders: [60, 60]", "reminders: [0]", "reminders: 60", "reminders: [99999]"])
async def test_bad_offsets_are_refused(sessions: async_sessionmaker[AsyncSession], tmp_path: Path, line: str) -> None:
    with pytest.raises(CatalogError, match="reminders"):
        await import_file(sessions, _with(tmp_path, line))


async def _daily(sessions: async_sessionmaker[AsyncSession]) -> list[bool]:
    async with sessions() as session:
        return [p.daily_agenda for p in await session.scalars(select(Professional).order_by(Professional.slug))]


async def test_daily_agenda_is_off_unless_the_file_or_the_professional_turns_it_on(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_file(sessions, EXAMPLE)
    assert await _daily(sessions) == [False, False, False]
    await import_file(sessions, _with(tmp_path, "daily_agenda: true"))
    assert await _daily(sessions) == [False, True, False]
    # Anna turned it on in chat (/daily): a file that says nothing about it leaves her choice alone...
    async with sessions.begin() as session:
        anna = await session.scalar(select(Professional).where(Professional.slug == "anna-koval"))
        assert anna is not None
        anna.daily_agenda = True
    await import_file(sessions, EXAMPLE)
    assert await _daily(sessions) == [True, True, False]
    # ... and one that does has the last word.
    await import_file(sessions, _with(tmp_path, "daily_agenda: false"))
    assert await _daily(sessions) == [True, False, False]


async def test_a_daily_agenda_that_is_not_true_or_false_is_refused(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    with pytest.raises(CatalogError, match="daily_agenda: expected true or false"):
        await import_file(sessions, _with(tmp_path, "daily_agenda: sometimes"))
