"""`bookbot db upgrade`: migrate an empty or older database to the newest schema."""

from __future__ import annotations

import argparse

from bot.cli_errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "db",
        help="database maintenance (bookbot db upgrade)",
        description="Database maintenance on DATABASE_URL. Exit code 2 on a bad argument or an unusable database.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "upgrade",
        help="migrate the database (DATABASE_URL) to the newest schema",
        description=(
            "Migrate the database at DATABASE_URL, empty or at an older schema, to the newest schema (or to "
            "--revision). With PostgreSQL, run it once before the bot starts; `bookbot run` migrates the "
            "embedded SQLite file itself."
        ),
    )
    up.add_argument("--revision", default="head", help="target revision, a migration id (default: head)")
    up.set_defaults(handler=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from bot.cli_database import check_sqlite_folder
    from bot.settings import Settings
    from models.migrate import upgrade_sync

    url = Settings().database_url
    check_sqlite_folder(url)
    try:
        upgrade_sync(url, args.revision)
    except (CommandError, RevisionError) as exc:
        raise UsageError(f"db upgrade --revision {args.revision}: {exc}") from None
    except (DBAPIError, OSError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        shown = make_url(url).render_as_string()
        raise UsageError(f"cannot open the database {shown} (DATABASE_URL): {reason}") from None
    print(f"Database is at revision {args.revision}.")
    return 0
