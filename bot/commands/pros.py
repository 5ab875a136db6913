"""`bookbot pros`: the professionals in the database, so an operator finds the slug `invite` and `slots` take."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pros",
        help="list the professionals: slug, name, verified, linked chat, time zone",
        description=(
            "List every professional in the database (DATABASE_URL), verified or not, by slug: the slug that "
            "`bookbot invite --pro` and `bookbot slots --pro` take, their name, whether they are verified "
            "(listed to clients), whether a Telegram chat is linked, and their time zone. Exit code 2 on an "
            "unusable database."
        ),
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print a JSON array of {"slug", "name", "verified", "linked", "zone"}',
    )
    parser.set_defaults(handler=_pros)


@dataclass(frozen=True)
class _Row:
    slug: str
    name: str
    verified: bool
    linked: bool
    zone: str


def _pros(args: argparse.Namespace) -> int:
    import asyncio

    from bot.settings import Settings

    rows = asyncio.run(_rows(Settings().database_url))
    if args.json:
        print(json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("No professionals yet: `bookbot import FILE` adds them (see examples/catalog.yaml).")
        return 0
    _print_table(rows)
    return 0


async def _rows(database_url: str) -> list[_Row]:
    from bot.cli_database import open_database
    from bot.services.admin import all_professionals
    from models.db import make_sessionmaker

    set_up = "run `bookbot db upgrade` and `bookbot import FILE` first"
    async with open_database(database_url, set_up) as engine, make_sessionmaker(engine)() as session:
        return [
            _Row(pro.slug, pro.name, pro.verified, pro.telegram_id is not None, pro.timezone)
            for pro in await all_professionals(session)
        ]


def _print_table(rows: list[_Row]) -> None:
    table = [("slug", "name", "verified", "linked", "zone")]
    table += [(r.slug, r.name, _yes(r.verified), _yes(r.linked), r.zone) for r in rows]
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
