"""Demo and test data: the example catalog, and a professional's chat linked to a demo person."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.catalog import import_file
from bot.services.errors import NotFound
from models import Professional

EXAMPLE_CATALOG = Path(__file__).resolve().parent.parent.parent / "examples" / "catalog.yaml"


async def import_example_catalog(sessions: async_sessionmaker[AsyncSession], path: Path = EXAMPLE_CATALOG) -> None:
    """Load the example catalog (the demo's professionals) with the real importer."""
    await import_file(sessions, path)


async def link_professional(sessions: async_sessionmaker[AsyncSession], slug: str, telegram_id: int) -> Professional:
    """Make `telegram_id` the chat of the professional `slug` (what an invite link does for real)."""
    async with sessions.begin() as session:
        professional = await session.scalar(select(Professional).where(Professional.slug == slug))
        if professional is None:
            raise NotFound("professional", slug)
        if professional.telegram_id != telegram_id:
            # The column is unique: whoever this demo person acted as before lets go first.
            await session.execute(
                update(Professional).where(Professional.telegram_id == telegram_id).values(telegram_id=None)
            )
            professional.telegram_id = telegram_id
        return professional
