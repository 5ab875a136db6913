"""The catalog's `crisis_alerts` switch: on unless the file turns it off, and turned back on by a file
that leaves it out."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.catalog import import_file
from models import Professional

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "catalog.yaml"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows the async `db_url` of tests/conftest.py, as tests/db/test_import.py does (same reason).
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _alerts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, bool]:
    async with sessions() as session:
        return {p.slug: p.crisis_alerts for p in await session.scalars(select(Professional))}


async def test_crisis_alerts_default_on_and_can_be_turned_off(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    await import_file(sessions, EXAMPLE)
    assert set((await _alerts(sessions)).values()) == {True}
    first_verified = "    verified: true"
    off = tmp_path / "off.yaml"
    off.write_text(text.replace(first_verified, first_verified + "\n    crisis_alerts: false", 1), encoding="utf-8")
    await import_file(sessions, off)
    alerts = await _alerts(sessions)
    assert sorted(alerts.values()) == [False, True, True]
    await import_file(sessions, EXAMPLE)
    assert set((await _alerts(sessions)).values()) == {True}
