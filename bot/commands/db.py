"""`bookbot db upgrade`: migrate an empty or older database to the newest schema."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from models.migrate import upgrade_sync


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="database maintenance")
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser("upgrade", help="migrate the database (DATABASE_URL) to the newest schema")
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(handler=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    url = Settings().database_url
    upgrade_sync(url, args.revision)
    print(f"Database is at revision {args.revision}.")
    return 0
