"""The `users` rows this process read or wrote lately, so an update's sender is not read on every update.

Every update needs its sender's row (bot/middlewares/users.py); reading it was one statement of each
update and the ORM's load of the row. With the cache, `bot.services.users.find_user` builds the row's
`User` from memory and attaches it to the update's session as if it had been loaded (no SQL): handlers
change it as before, and the flush writes an UPDATE as before.

Like the conversation cache (bot/middlewares/conversation.py) it is right only because one process
writes the table: it is enabled (`enable`, by bot.app.build_app) only when the conversation state lives
in the database, which means ONE process (several replicas need REDIS_URL, and then it is off). The
command line's commands write no `users` rows; migrations run before the bot starts. One cache per
engine (keyed by its connection pool, which the read-only sessions' engine shares), so two apps in one
process (tests) do not share one.

It follows the database, never leads it:

- every write of the table through this process's engine drops what it touches before it reaches the
  database: a `User` flushed by the ORM (mapper events) drops its row; any other UPDATE or DELETE of
  `users` (the outbox's 403 mark, a bulk or textual statement, through a session or a bare connection:
  `do_orm_execute` and the engine's `before_cursor_execute`) drops every row, and nothing is kept until
  that transaction has ended (the session's end, the connection's return to the pool). Whatever goes
  wrong there leaves the cache empty, never wrong;
- a row enters only with what has committed: a read (`loading`/`loaded`) in a unit of work that has
  not written, of a row it has not changed, when no write of that row overlapped the read (each
  statement reads what has committed: PostgreSQL's READ COMMITTED, SQLite's writers hold the write lock
  from BEGIN and its readers run without a transaction); a row the ORM wrote enters once the outermost
  transaction committed (`after_commit`, a savepoint's release is none: write-through, so the update
  after a change of language or city reads nothing), and a rolled-back or failed one leaves the row
  out, so the next update reads the database;
- a row written by two units of work at once, or read while being written, is dropped rather than
  guessed.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import MutableMapping
from typing import Any, cast

from sqlalchemy import Table, event, inspect
from sqlalchemy.engine import Connection, Engine, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import (
    InstanceState,
    Mapper,
    ORMExecuteState,
    Session,
    SessionTransaction,
    attributes,
    configure_mappers,
    make_transient_to_detached,
    object_session,
)
from sqlalchemy.pool import Pool

from bot.services.committed_cache import CommittedCache
from bot.services.schedule_cache import transaction_stamp
from models import User

# Rows kept per engine: a process serving this many people at once still reads each one from the
# database only when they come back after a long pause.
CACHE_SIZE = 10_000

_TABLE = cast(Table, User.__table__)
_COLUMNS = tuple(column.key for column in _TABLE.columns)
_MAPPER: Mapper[User] = inspect(User)

# A row as the database has it: the values of `_COLUMNS`, in order (all immutable).
Row = tuple[Any, ...]


class UserCache(CommittedCache[int, Row]):
    """Committed `users` rows by Telegram id (bounded LRU; the bookkeeping is bot.services.committed_cache's:
    `bulk_writing`/`bulk_written` around a write the cache cannot pin to rows)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        super().__init__(size)


_caches: MutableMapping[Pool, UserCache] = weakref.WeakKeyDictionary()


def enable(engine: AsyncEngine, size: int = CACHE_SIZE) -> UserCache:
    """The cache of `engine` (made, and its engine's writes watched, on the first call)."""
    sync_engine = engine.sync_engine
    cache = _caches.get(sync_engine.pool)
    if cache is None:
        configure_mappers()  # `attach` builds instances without the constructor, which would do it first
        cache = _caches[sync_engine.pool] = UserCache(size)
        _watch_statements(sync_engine, cache)
    return cache


def cache_of(session: AsyncSession | Session) -> UserCache | None:
    """The cache of the engine `session` works on, if it has one."""
    bind = session.get_bind()
    pool = getattr(bind, "pool", None)
    return _caches.get(pool) if isinstance(pool, Pool) else None


# --- reading ----------------------------------------------------------------------------------------


def attach(session: AsyncSession, cache: UserCache, telegram_id: int) -> User | None:
    """The person's row from the cache as a persistent `User` of `session`, as if just loaded (no SQL);
    None when the cache does not have it (or the session already holds that row: the database decides)."""
    row = cache.get(telegram_id)
    if row is None:
        return None
    user = _MAPPER.class_manager.new_instance()
    user.__dict__.update(zip(_COLUMNS, row, strict=True))
    make_transient_to_detached(user)
    key = inspect(user).key
    sync_session = session.sync_session
    if key is None or key in sync_session.identity_map:
        return None
    sync_session.add(user)
    return user


def loaded(session: AsyncSession, cache: UserCache, telegram_id: int, token: object, user: User | None) -> None:
    """A read of the row (begun with `cache.loading`) found `user`: kept if it is what has committed (the
    unit of work has written nothing, and the object carries no change of its own)."""
    row = None
    if user is not None and transaction_stamp(session.sync_session) is not None:
        state = inspect(user)
        if not state.modified and state.persistent:
            row = _row(state)
    cache.loaded(telegram_id, token, row)


def written_by(session: AsyncSession, user: User) -> None:
    """`user` was written by a statement of its own (an INSERT ... RETURNING, which no flush sees): it
    enters the cache once the session's transaction commits."""
    _writing(session.sync_session, user)


def _row(state: InstanceState[Any]) -> Row | None:
    values = state.dict
    if any(column not in values for column in _COLUMNS):
        return None  # expired: not known without reading
    return tuple(values[column] for column in _COLUMNS)


# --- writes through the ORM's flush: by row -----------------------------------------------------------

# Session.info: (cache, {telegram id: the User written, None when deleted}) for the rows this
# transaction wrote.
_WRITTEN = "bookbot_users_written"


def _writing(session: Session, user: User) -> None:
    cache = cache_of(session)
    if cache is None:
        return
    written: dict[int, User | None]
    _, written = session.info.setdefault(_WRITTEN, (cache, {}))
    ids = {user.telegram_id, *attributes.get_history(user, "telegram_id").deleted}
    for telegram_id in ids:
        if telegram_id is not None and telegram_id not in written:
            cache.writing(telegram_id)
            written[telegram_id] = user


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
@event.listens_for(User, "before_delete")
def _flushing(_mapper: Mapper[User], _connection: Connection, user: User) -> None:
    session = object_session(user)
    if session is not None:
        _writing(session, user)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing has committed yet
    pending = session.info.pop(_WRITTEN, None)
    if pending is None:
        return
    cache, written = pending
    for telegram_id, user in written.items():
        row = None
        if user is not None:
            state = inspect(user)
            if state.persistent and not state.modified and user.telegram_id == telegram_id:
                row = _row(state)
        cache.written(telegram_id, row)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    pending = session.info.pop(_WRITTEN, None)  # not committed (after_commit took it otherwise)
    if pending is not None:
        cache, written = pending
        for telegram_id in written:
            cache.written(telegram_id, None)
    bulk = session.info.pop(_BULK, None)
    if bulk is not None:
        bulk.bulk_written()


# --- any other write of the table: everything ---------------------------------------------------------

# Session.info: the cache a bulk write of this transaction emptied (released when it ends).
_BULK = "bookbot_users_bulk"


@event.listens_for(Session, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    # An UPDATE or DELETE of `users` through a session (ORM-enabled or Core, bulk by primary key
    # included): which rows it touches is the database's business.
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != _TABLE.name:
        return
    session = state.session
    cache = cache_of(session)
    if cache is not None and _BULK not in session.info:
        cache.bulk_writing()
        session.info[_BULK] = cache


# Statements that write `users` by name (textual SQL and bare connections included); an ORM flush's own
# (recognised by the mapper's statement cache it runs with) are handled by row above.
_WRITES_USERS = re.compile(
    r"\s*(?:UPDATE|DELETE\s+FROM|(?:INSERT\s+OR\s+)?REPLACE\s+INTO|(INSERT)\s+INTO)\s+(?:\"?\w+\"?\.)?\"?users\b",
    re.IGNORECASE,
)
_UPSERT = re.compile(r"\bDO\s+UPDATE\b", re.IGNORECASE)
# Connection.info (per pooled connection): bulk writes of `users` whose transaction has not ended yet.
_BULK_ON_CONNECTION = "bookbot_users_bulk_writes"


def _watch_statements(engine: Engine, cache: UserCache) -> None:
    def before_cursor_execute(
        connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        writes = _WRITES_USERS.match(statement)
        if writes is None or (writes.group(1) is not None and _UPSERT.search(statement) is None):
            return  # not a write of `users`, or an INSERT that only adds rows
        if context is not None and context.execution_options.get("compiled_cache") is _MAPPER._compiled_cache:
            return  # the ORM's flush of `User` objects: by row
        cache.bulk_writing()
        connection.info[_BULK_ON_CONNECTION] = connection.info.get(_BULK_ON_CONNECTION, 0) + 1

    def released(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        # The connection is back in the pool (its transaction committed or rolled back) or gone.
        for _ in range(record.info.pop(_BULK_ON_CONNECTION, 0)):
            cache.bulk_written()

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    event.listen(engine.pool, "checkin", released)
    event.listen(engine.pool, "invalidate", released)
    event.listen(engine.pool, "soft_invalidate", released)
