"""`bookbot import FILE`: load or update professionals, their hours and services from a catalog file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_errors import UsageError

if TYPE_CHECKING:
    from bot.services.catalog import Catalog, ImportSummary


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import or update professionals from a catalog file (YAML)",
        description=(
            "Import the catalog FILE (the format of examples/catalog.yaml) into the database (DATABASE_URL). "
            "Records are matched by slug and updated in place; services and packages no longer in the file "
            "are kept for their bookings but no longer offered. A file with any error is rejected whole, "
            "with the line of the error, and nothing is written (exit code 2)."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the catalog file, e.g. examples/catalog.yaml")
    parser.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    import asyncio

    from bot.services.catalog import check_holds_for_stripe, load_catalog
    from bot.services.errors import CatalogError
    from bot.settings import Settings

    try:
        # The file first: a bad one is reported without needing a database at all.
        catalog = load_catalog(Path(args.file), shown=args.file)
        settings = Settings()
        if settings.stripe_secret_key is not None:
            # Stripe Checkout refuses sessions that expire in under 30 minutes.
            check_holds_for_stripe(catalog, args.file)
    except CatalogError as exc:
        raise UsageError(str(exc)) from None
    summary = asyncio.run(_write(settings.database_url, catalog))
    print(describe(summary, args.file))
    return 0


async def _write(database_url: str, catalog: Catalog) -> ImportSummary:
    from sqlalchemy.exc import DBAPIError

    from bot.cli_database import open_database
    from bot.services.catalog import import_catalog
    from models.db import make_sessionmaker

    async with open_database(database_url) as engine:
        try:
            return await import_catalog(make_sessionmaker(engine), catalog)
        except DBAPIError as exc:
            # A database that goes away or refuses mid-import: the transaction is rolled back.
            raise UsageError(f"the database refused the import, nothing was written: {exc.orig}") from None


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def describe(summary: ImportSummary, source: str) -> str:
    """One line: "Imported 3 professionals (2 new, 1 updated), 5 services, 1 package from catalog.yaml." """
    kinds = [
        (summary.professionals_new, "new"),
        (summary.professionals_updated, "updated"),
        (summary.professionals_unchanged, "unchanged"),
    ]
    detail = ", ".join(f"{number} {kind}" for number, kind in kinds if number)
    line = (
        f"Imported {_count(summary.professionals, 'professional', 'professionals')} ({detail}), "
        f"{_count(summary.services, 'service', 'services')}, {_count(summary.packages, 'package', 'packages')} "
        f"from {source}."
    )
    retired = [
        _count(summary.services_retired, "service", "services") if summary.services_retired else "",
        _count(summary.packages_retired, "package", "packages") if summary.packages_retired else "",
    ]
    if any(retired):
        line += f" No longer offered: {' and '.join(part for part in retired if part)}."
    return line
