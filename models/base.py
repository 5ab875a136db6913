"""Declarative base and the column types every model shares."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Index, MetaData, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

# Stable constraint names, so Alembic migrations can refer to them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: `timestamptz` on PostgreSQL, a UTC text on SQLite; always aware UTC in Python.

    SQLite keeps no zone, so values are normalised to naive UTC on the way in (which also keeps the
    text form sortable, what the overlap triggers compare) and marked UTC on the way out. A naive
    value is a programming error and is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def copy(self, **kw: Any) -> UTCDateTime:
        return UTCDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute


BOTH_DATABASES = ("sqlite", "postgresql")


def partial_index(
    name: str, *columns: str, where: str, on: Collection[str] = BOTH_DATABASES, unique: bool = False
) -> Index:
    """An index of only the rows for which `where` (SQL) holds, on the databases named in `on` (a plain
    index on the others). The migrations make the schema; this is the models' account of it.

    Not `Index(..., sqlite_where=..., postgresql_where=...)`: SQLAlchemy checks such keywords by loading
    each dialect they name as the class is defined, and the PostgreSQL one (asyncpg's, psycopg's, pg8000's
    modules with it) costs a tenth of `bookbot slots`' start on SQLite. The clause is handed to the
    dialect when it creates the index (`metadata.create_all`, `Index.create`), the only time it reads it.
    """
    index = Index(name, *columns, unique=unique)
    clause = text(where)

    def add_where(target: Index, connection: Connection, **_: Any) -> None:
        if connection.dialect.name in on:
            target.dialect_options[connection.dialect.name]["where"] = clause

    event.listen(index, "before_create", add_where)
    return index
