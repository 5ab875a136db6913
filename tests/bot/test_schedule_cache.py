"""Each process caches professionals' schedules, and no replica ever shows hours another one changed.

Two apps (replicas) on one database: a client browses on replica B while the professional's hours change
through replica A, through the service layer or by plain SQL that knows nothing of any cache (the
database bumps the version itself). Replica B's next screen shows the new hours; a screen with nothing
changed in between reads no schedule from the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.services.clock import FrozenClock
from bot.services.schedule import set_weekday_hours
from handlers.client_callbacks import DayCb, day_code
from models import Professional
from tests.bot.catalog_data import TUE, build_catalog, client, labels
from tests.bot.harness import BotHarness

TUESDAY = date(2026, 11, 24)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("bot_db_url" if request.param == "sqlite" else "pg_url"))


@asynccontextmanager
async def replicas(url: str, clock: FrozenClock) -> AsyncIterator[tuple[BotHarness, BotHarness]]:
    async with BotHarness.running(url, clock) as first, BotHarness.running(url, clock) as second:
        yield first, second


@contextmanager
def schedule_reads(harness: BotHarness) -> Iterator[list[str]]:
    """The statements of `harness`'s engine that read weekly windows."""
    engine = harness.app.engine
    assert engine is not None
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "weekly_windows" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def times(harness: BotHarness, person: Any) -> list[str]:
    """The time buttons of the day screen (every button but "Other days")."""
    return [label for label in labels(harness, person) if "Other days" not in label]


async def test_a_change_on_one_replica_is_seen_on_the_other(shared_url: str, clock: FrozenClock) -> None:
    async with replicas(shared_url, clock) as (a, b):
        catalog = await build_catalog(a.app.sessions)
        olena = await client(b)
        tuesday = DayCb(svc=catalog.intro, day=day_code(TUESDAY))

        await b.press(olena, tuesday)
        before = times(b, olena)
        assert len(before) == 7  # 09:00-12:00 and 13:30-17:00, hourly
        with schedule_reads(b) as reads:
            await b.press(olena, tuesday)
        assert times(b, olena) == before
        assert reads == []  # nothing changed: replica B's cache answered

        # Through the service layer, on replica A.
        async with a.db() as session:
            anna = await session.get_one(Professional, catalog.anna)
            await set_weekday_hours(session, anna, TUE, [(14 * 60, 16 * 60)], now=clock.now())
        with schedule_reads(b) as reads:
            await b.press(olena, tuesday)
        assert len(reads) == 1
        assert len(times(b, olena)) == 2  # 14:00 and 15:00

        # Plain SQL that knows nothing of versions or caches: the database bumps the version itself.
        async with a.db() as session:
            await session.execute(
                text("UPDATE weekly_windows SET starts = 600 WHERE professional_id = :pro AND weekday = 1"),
                {"pro": catalog.anna},
            )
        await b.press(olena, tuesday)
        assert len(times(b, olena)) == 6  # 10:00 to 15:00

        async with a.db() as session:
            await session.execute(
                text("INSERT INTO time_off (professional_id, first_day, last_day) VALUES (:pro, :day, :day)"),
                {"pro": catalog.anna, "day": TUESDAY},
            )
        await b.press(olena, tuesday)
        assert times(b, olena) == []
        assert "No free times are left" in b.last_text(olena)


async def test_a_settings_change_of_the_professional_is_seen_at_once(shared_url: str, clock: FrozenClock) -> None:
    """The professional's own row (notice, buffers, zone...) is part of the cached schedule too."""
    async with replicas(shared_url, clock) as (a, b):
        catalog = await build_catalog(a.app.sessions)
        olena = await client(b)
        monday = DayCb(svc=catalog.intro, day=day_code(date(2026, 11, 23)))
        await b.press(olena, monday)
        # 08:00 in Kyiv, four hours' notice: from 13:30 on.
        assert len(times(b, olena)) == 4
        async with a.db() as session:
            await session.execute(
                text("UPDATE professionals SET min_notice_minutes = 30 WHERE id = :pro"), {"pro": catalog.anna}
            )
        await b.press(olena, monday)
        assert len(times(b, olena)) == 7
