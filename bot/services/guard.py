"""The one way to write something that takes a professional's time: lock, check, write.

Holding a slot, moving a booking, cancelling one (and later confirming a payment or spending a package
credit) all run their check and their write through `guarded`, so every such writer queues behind the
same row lock, takes its further locks in the same order (the professional, then the booking), and
decides on what it read under that lock, never on an earlier unlocked read.

A new booking (a hold, or a session confirmed at once) only adds to the calendar: it takes the lock
shared (`FOR SHARE`), so new bookings of one professional go ahead side by side, and the database's
exclusion constraint decides between two that overlap (ON CONFLICT DO NOTHING: one wins, the other
finds its slot taken). The writers that move or give back time take it exclusively (`FOR UPDATE`),
so they still wait for every new booking in flight, and it for them. With the lock exclusive for all,
twenty people booking one professional at once queued one behind the other for the whole rest of each
update (measured in `bench updates`: the last Confirm waited about a second on PostgreSQL, while the
pooled connections of the waiting ones ran the pool dry for everyone else).

Why a savepoint, and what a retry can cure. The bot runs PostgreSQL at READ COMMITTED (asyncpg's
default). There a deadlock (SQLSTATE 40P01) aborts only the statement PostgreSQL picked as the victim,
and rolling back to a savepoint releases every lock taken since it (PostgreSQL docs, "Explicit
Locking"), so the other transaction goes on and this one can run the guarded part again, reading
afresh what the other committed: no deadlock reaches the person. Such deadlocks come from
the exclusion constraint when the lock is missing or bypassed: two writes whose intervals overlap each
wait for the other's row (new holds avoid it with ON CONFLICT DO NOTHING, a move is an UPDATE and
cannot). A retry could meet a new cycle among many writers, so each waits a random moment (growing
with the attempt) first, by when the winner has usually committed and the rest find the slot taken.
A serialization failure (40001) cannot happen at READ COMMITTED; it is retried the same way should a
deployment raise the isolation level, but there a savepoint keeps the transaction's snapshot, so after
ATTEMPTS the error goes up and the update fails politely (nothing was committed, nothing sent).
SQLite needs no lock and never retries: BEGIN IMMEDIATE already serialises every writer.

A domain error raised by the check (the slot is taken, the booking changed) rolls the savepoint back
too: a refused write leaves nothing behind, not even the side work the check did.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Professional

log = logging.getLogger(__name__)

T = TypeVar("T")

DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
RETRYABLE = frozenset({DEADLOCK, SERIALIZATION_FAILURE})
ATTEMPTS = 8
# The longest pause before the first retry, doubled for each further one: enough for the writer that
# won to commit, short next to the deadlock_timeout (1 s) PostgreSQL waits before it looks for one.
BACKOFF_SECONDS = 0.05


async def lock_professional(session: AsyncSession, professional_id: int, shared: bool = False) -> None:
    """Serialise the writers of one professional's calendar until the transaction ends (PostgreSQL;
    on SQLite BEGIN IMMEDIATE has already serialised them, and `FOR UPDATE` would render as nothing:
    no statement there). `shared`: for a writer that only adds a booking (see above)."""
    if session.get_bind().dialect.name == "sqlite":
        return
    await session.execute(_LOCK_SHARED if shared else _LOCK, {"professional_id": professional_id})


_LOCK = select(Professional.id).where(Professional.id == bindparam("professional_id")).with_for_update()
_LOCK_SHARED = select(Professional.id).where(Professional.id == bindparam("professional_id")).with_for_update(read=True)


def sqlstate(error: DBAPIError) -> str | None:
    """The PostgreSQL error code behind a driver error (asyncpg's, as SQLAlchemy adapts it)."""
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return str(code) if code else None


async def guarded(
    session: AsyncSession,
    professional_id: int,
    check_and_write: Callable[[], Awaitable[T]],
    *,
    attempts: int = ATTEMPTS,
    sqlite_savepoint: bool = True,
    shared: bool = False,
) -> T:
    """Lock `professional_id`'s calendar, then run `check_and_write` in a savepoint; run it again
    (up to `attempts` times in all) when PostgreSQL ends it with a deadlock or a serialization failure.

    `check_and_write` must be safe to run again: read what it decides on inside (after the lock), and
    keep no ORM object it created in an attempt that was rolled back.

    `sqlite_savepoint=False`: on SQLite (which never retries) run it without the savepoint, two
    statements fewer. Only for a `check_and_write` that raises its domain errors before it writes
    anything (or takes back what it wrote itself), since nothing else would.

    `shared=True`: take the lock shared, for a `check_and_write` that only inserts a new booking and
    lets the database refuse an overlap (others like it run at the same time: what it read may be
    overtaken by one of them before its insert, which the database then refuses).
    """
    if not sqlite_savepoint and session.get_bind().dialect.name == "sqlite":
        return await check_and_write()
    attempt = 1
    while True:
        try:
            async with session.begin_nested():
                await lock_professional(session, professional_id, shared)
                return await check_and_write()
        except DBAPIError as error:
            code = sqlstate(error)
            if code not in RETRYABLE or attempt >= attempts:
                raise
            log.info("professional %s: %s on attempt %s of %s, trying again", professional_id, code, attempt, attempts)
            await asyncio.sleep(random.uniform(0, BACKOFF_SECONDS * 2 ** (attempt - 1)))
            attempt += 1
