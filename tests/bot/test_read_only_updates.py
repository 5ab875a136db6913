"""Presses of read-only buttons (profiles, the calendar: `Registry.read_only_callbacks`) run in a read-only
unit of work; the person's row is still made or brought up to date, in a write of its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiogram.types import Update
from sqlalchemy import event, select

from handlers.client_callbacks import ProfileCb
from models import User
from tests.bot.catalog_data import client, last, with_catalog
from tests.bot.harness import BotHarness


async def _row(harness: BotHarness, telegram_id: int) -> User | None:
    async with harness.db() as session:
        return await session.scalar(select(User).where(User.telegram_id == telegram_id))


async def test_a_profile_press_is_read_only_and_still_follows_a_new_first_name(harness: BotHarness) -> None:
    catalog = await with_catalog(harness)
    olena = await client(harness)
    press = harness.updates.callback(olena, ProfileCb(id=catalog.anna).pack())
    assert harness.app.registry.reads_only(Update.model_validate(press))

    renamed = replace(olena, first_name="Olena K.")
    await harness.press(renamed, ProfileCb(id=catalog.anna))
    assert last(harness, olena).startswith("Anna Koval")
    row = await _row(harness, olena.id)
    assert row is not None and row.first_name == "Olena K."


async def test_a_read_only_press_from_someone_new_makes_their_row(harness: BotHarness) -> None:
    catalog = await with_catalog(harness)
    stranger = harness.person("Nick")
    await harness.press(stranger, ProfileCb(id=catalog.anna))
    row = await _row(harness, stranger.id)
    assert row is not None and row.first_name == "Nick"


async def test_a_read_only_press_opens_no_transaction(harness: BotHarness) -> None:
    """Its reads need no BEGIN (each reads what is committed), and the conversation's change, if any, is
    one statement of its own, after the reads."""
    catalog = await with_catalog(harness)
    olena = await client(harness)
    await harness.press(olena, ProfileCb(id=catalog.anna))  # her first update: the row is read once
    engine = harness.app.engine
    assert engine is not None
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await harness.press(olena, ProfileCb(id=catalog.anna))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert last(harness, olena).startswith("Anna Koval")
    assert "BEGIN" not in seen
    assert set(seen) <= {"SELECT", "INSERT", "DELETE"}
    assert seen.count("INSERT") + seen.count("DELETE") <= 1
