"""Run the Alembic migrations programmatically (what `bookbot db upgrade` calls)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from models.db import make_engine, normalise_url

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    # Alembic is imported only here: the commands that merely check the revision (bot/cli_database.py)
    # start without it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Percent signs in passwords would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head", engine: AsyncEngine | None = None) -> None:
    """Migrate the database at `url` to `revision`, whether it is empty or at an older revision."""
    own_engine = engine is None
    engine = engine or make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_upgrade, alembic_config(url), revision)
    finally:
        if own_engine:
            await engine.dispose()


def _run_upgrade(connection: object, config: Config, revision: str) -> None:
    from alembic import command

    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def upgrade_sync(url: str, revision: str = "head") -> None:
    asyncio.run(upgrade(url, revision))
