"""The database as an operator command (`bookbot slots`, `bookbot import`) opens it.

A missing SQLite file, an unreachable server, an empty database or one at another schema revision
each get one line saying what to do, never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli_errors import UsageError
from models.db import DEFAULT_DATABASE_URL, make_engine, normalise_url
from models.migrate import MIGRATIONS_DIR

UPGRADE_FIRST = "run `bookbot db upgrade` first"

__all__ = [
    "UPGRADE_FIRST",
    "UsageError",
    "check_sqlite_file",
    "check_sqlite_folder",
    "configured_database_url",
    "is_at_heads",
    "open_database",
]

# bot.settings.Settings' fields (tests/unit/test_cli.py keeps the two equal).
SETTING_NAMES = frozenset(
    {
        "database_url",
        "bot_token",
        "bot_username",
        "redis_url",
        "stripe_secret_key",
        "stripe_webhook_secret",
        "stripe_api_base",
        "platform_fee_percent",
        "public_base_url",
        "webhook_base_url",
        "webhook_secret",
        "web_host",
        "web_port",
        "telegram_api_base",
        "admin_ids",
        "default_locale",
        "support_chat_id",
        "self_signup",
    }
)


def configured_database_url() -> str:
    """`Settings().database_url`, without importing pydantic (a fifth of `bookbot slots`' start) when that is
    sure to give the same: no .env file, and no setting in the environment but DATABASE_URL (the others'
    defaults are valid), whose value normalise_url accepts. Anything else, including every mistake, goes
    through Settings(), so an operator sees the same answer and the same error lines either way."""
    named = [value for key, value in os.environ.items() if key.lower() in SETTING_NAMES]
    others = [key for key in os.environ if key.lower() in SETTING_NAMES and key.lower() != "database_url"]
    if not os.path.lexists(".env") and not others and len(named) <= 1:
        try:
            return normalise_url(named[0] if named else DEFAULT_DATABASE_URL)
        except ValueError:
            pass  # Settings() names the mistake
    from bot.settings import Settings

    return Settings().database_url


def check_sqlite_file(database_url: str, set_up: str = UPGRADE_FIRST) -> None:
    """Refuse a SQLite file that is not there: connecting would create an empty one and hide the mistake."""
    url = make_url(database_url)
    if (
        url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not Path(url.database).exists()
    ):
        raise UsageError(f"no database file {url.database}: {set_up}")


def check_sqlite_folder(database_url: str) -> None:
    """Refuse a SQLite file to be created in a folder that is not there, before connecting: SQLite's own
    "unable to open database file" does not say why (and aiosqlite's failed connection outlives the loop)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise UsageError(f"DATABASE_URL: there is no folder {folder} for the database file {url.database}")


@asynccontextmanager
async def open_database(database_url: str, set_up: str = UPGRADE_FIRST) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to this Bookbot's schema; UsageError (naming `set_up`) otherwise."""
    check_sqlite_file(database_url, set_up)
    engine = make_engine(database_url)
    try:
        try:
            async with engine.connect() as connection:
                problem = await connection.run_sync(_schema_problem, set_up)
        except (DBAPIError, OSError) as exc:
            reason = exc.orig if isinstance(exc, DBAPIError) else exc
            shown = make_url(database_url).render_as_string()
            raise UsageError(f"cannot open the database {shown} (DATABASE_URL): {reason}") from None
        if problem is not None:
            raise UsageError(problem)
        yield engine
    finally:
        await engine.dispose()


def _schema_problem(connection: Connection, set_up: str) -> str | None:
    current = _current_revisions(connection)
    if not current:
        return f"the database has no tables yet: {set_up}"
    known, heads = _revisions()
    if current == heads:
        return None
    at = ", ".join(sorted(current))
    wanted = ", ".join(sorted(heads))
    if current <= known:
        return f"the database is at schema revision {at}, this Bookbot needs {wanted}: {UPGRADE_FIRST}"
    # Migrated by a newer Bookbot: upgrading this one cannot help, and the models would not match.
    return f"the database is at schema revision {at}, which this Bookbot does not know (it needs {wanted})"


# Read from the migration files as text: importing Alembic for this costs a command more than the rest
# of its start (tests/db/test_migrations.py checks these agree with Alembic's own reading).
_REVISION = re.compile(r"^revision(?:\s*:[^=]*)?\s*=\s*(.+)$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=]*)?\s*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def _revisions() -> tuple[set[str], set[str]]:
    """(every revision, the heads) of this Bookbot's migrations."""
    known: set[str] = set()
    below: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            continue
        known.update(_QUOTED.findall(revision.group(1)))
        down = _DOWN_REVISION.search(source)
        if down is not None:
            below.update(_QUOTED.findall(down.group(1)))
    return known, known - below


def is_at_heads(connection: Connection) -> bool:
    """The database is at this Bookbot's newest schema revision (nothing to migrate)."""
    current = _current_revisions(connection)
    return bool(current) and current == _revisions()[1]


def _current_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return {str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
