"""Shared fixtures: fresh migrated databases on SQLite and on the machine's real PostgreSQL.

PostgreSQL and Redis tests run by default (CI must run them). Where the servers are really absent
they fail with a message saying how to start them; BOOKBOT_TEST_SKIP_SERVICES=1 skips them instead.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.services.clock import FrozenClock
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade

PG_ADMIN_URL = os.environ.get("BOOKBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("BOOKBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SKIP_SERVICES = os.environ.get("BOOKBOT_TEST_SKIP_SERVICES") == "1"
REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CATALOG = REPO_ROOT / "examples" / "catalog.yaml"

_counter = itertools.count()

# `bookbot run` and `bookbot demo` load the crisis check's model layer in the background into the shared
# detector; a CLI test run in-process must not leave it attached for the tests after it (their figures are
# the phrase data's). Tests of the model layer build their own (tests/unit/test_crisis_model.py).
os.environ.setdefault("BOOKBOT_CRISIS_MODEL", "off")


def service_unavailable(what: str, exc: BaseException) -> None:
    message = (
        f"{what} is not reachable ({exc!r}). Start it (see README, 'Tests'), "
        "or set BOOKBOT_TEST_SKIP_SERVICES=1 to skip these tests."
    )
    if SKIP_SERVICES:
        pytest.skip(message)
    pytest.fail(message)


def _pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def run_in_own_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code that may itself be inside a running loop."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that every PostgreSQL test copies (CREATE DATABASE ... TEMPLATE is fast)."""
    name = f"bookbot_tpl_{os.getpid()}"

    async def create() -> None:
        await _pg_admin(f"DROP DATABASE IF EXISTS {name}")
        await _pg_admin(f"CREATE DATABASE {name}")
        await upgrade(_pg_url(name))

    try:
        run_in_own_loop(create())
    except (OSError, ConnectionError) as exc:
        service_unavailable("PostgreSQL", exc)
    except Exception as exc:
        if "connect" in repr(exc).lower():
            service_unavailable("PostgreSQL", exc)
        raise
    yield name
    run_in_own_loop(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
async def pg_url(pg_template: str) -> AsyncIterator[str]:
    name = f"bookbot_t_{os.getpid()}_{next(_counter)}"
    await _pg_admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield _pg_url(name)
    await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}"
    await upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database; tests using it run once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> FrozenClock:
    # A Monday morning in late November 2026, before any catalog date override.
    return FrozenClock(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
