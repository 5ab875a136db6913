"""The database as an operator command (`bookbot slots`, `bookbot import`) opens it.

A missing SQLite file, an unreachable server, an empty database or one at another schema revision
each get one line saying what to do, never a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli_errors import UsageError
from models.db import make_engine
from models.migrate import MIGRATIONS_DIR

UPGRADE_FIRST = "run `bookbot db upgrade` first"

__all__ = ["UPGRADE_FIRST", "UsageError", "check_sqlite_file", "check_sqlite_folder", "open_database"]


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
    current = set(MigrationContext.configure(connection).get_current_heads())
    if not current:
        return f"the database has no tables yet: {set_up}"
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    heads = set(script.get_heads())
    if current == heads:
        return None
    at = ", ".join(sorted(current))
    wanted = ", ".join(sorted(heads))
    known = {revision.revision for revision in script.walk_revisions()}
    if current <= known:
        return f"the database is at schema revision {at}, this Bookbot needs {wanted}: {UPGRADE_FIRST}"
    # Migrated by a newer Bookbot: upgrading this one cannot help, and the models would not match.
    return f"the database is at schema revision {at}, which this Bookbot does not know (it needs {wanted})"
