"""Each process keeps the schedules it loaded, keyed by the professional's `schedule_version`.

The database bumps that version in the same transaction as every change of what a schedule is made of
(triggers, migration 0012: the professional's row, weekly windows, date overrides, time off, services),
whoever writes it. A cached schedule is used only when the `Professional` at hand was read in the
current transaction (so its version is what the database says now, on this replica or any other) and
carries the very version the cache entry was read with, and only while that transaction has written
nothing (its own writes bumped the version behind the ORM's back). Anything else reads the database.

One cache per engine: two apps in one process (replicas in a test) do not share one.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.pool import Pool

from models import Professional

if TYPE_CHECKING:
    from bot.services.availability import Schedule

# Stamps for "when did this transaction begin" and "when was this row read": one increasing counter.
_clock = itertools.count(1)
_TX_STARTED = "bookbot_tx_started"
_WROTE = "bookbot_wrote"
_READ_AT = "bookbot_read_at"
# A professional's cached schedules: bounded, and dropped whole when full (a process serves a few
# hundred professionals; the next read of each refills it).
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Entry:
    version: int
    since: date  # overrides and time off are complete from this local date on
    schedule: Schedule


# Keyed by the engine's connection pool, which an engine shares with its `execution_options()` copies
# (the read-only sessions' engine).
_caches: MutableMapping[Pool, dict[int, Entry]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _cache(session: Session) -> dict[int, Entry] | None:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else getattr(bind, "engine", None)
    if not isinstance(engine, Engine):
        return None
    with _lock:
        return _caches.setdefault(engine.pool, {})


def fresh_version(session: Session, professional: Professional) -> int | None:
    """The professional's version as this transaction read it, or None when a cached schedule must not
    be trusted (read in an earlier transaction, or this transaction has written)."""
    info = session.info
    if info.get(_WROTE) or _TX_STARTED not in info:
        return None
    read_at = _read_at(professional)
    if read_at is None or read_at < info[_TX_STARTED]:
        return None
    return professional.schedule_version


def transaction_stamp(session: Session) -> int | None:
    """When the current transaction began (a stamp), or None once it has written: what a value read in
    it may be trusted for."""
    if session.info.get(_WROTE):
        return None
    stamp = session.info.get(_TX_STARTED)
    return stamp if isinstance(stamp, int) else None


def cached(session: Session, professional: Professional, first: date) -> Schedule | None:
    version = fresh_version(session, professional)
    cache = _cache(session)
    if version is None or cache is None:
        return None
    entry = cache.get(professional.id)
    if entry is None or entry.version != version or first < entry.since:
        return None
    return entry.schedule


def store(session: Session, professional_id: int, version: int, since: date, schedule: Schedule) -> None:
    """Keep a schedule read (with `version`, in one statement) in a transaction that has not written."""
    cache = _cache(session)
    if cache is None or session.info.get(_WROTE):
        return
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    current = cache.get(professional_id)
    if current is None or current.version <= version:
        cache[professional_id] = Entry(version, since, schedule)


def clear() -> None:
    with _lock:
        for cache in _caches.values():
            cache.clear()


def _read_at(professional: Professional) -> int | None:
    stamp = inspect(professional).info.get(_READ_AT)
    return stamp if isinstance(stamp, int) else None


# --- bookkeeping, on every Session ------------------------------------------------------------------


@event.listens_for(Session, "after_transaction_create")
def _transaction_began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info[_TX_STARTED] = next(_clock)
        session.info[_WROTE] = False


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Professional, "load")
def _loaded(target: Professional, _context: Any) -> None:
    inspect(target).info[_READ_AT] = next(_clock)


@event.listens_for(Professional, "refresh")
def _refreshed(target: Professional, _context: Any, attributes: Any) -> None:
    if attributes is None or "schedule_version" in attributes:
        _loaded(target, _context)
