"""The people who talk to the bot: one `User` row per Telegram account, made on their first update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import user_cache
from models import User

MAX_FIRST_NAME = 128

# Every update looks its sender up: built once (a fresh SELECT costs its construction and its cache key,
# a ready one neither).
_BY_TELEGRAM_ID = select(User).where(User.telegram_id == bindparam("telegram_id"))


async def get_or_create_user(
    session: AsyncSession, telegram_id: int, first_name: str, language_code: str | None, now: datetime
) -> User:
    """The person's row, made on first contact; their first name follows what Telegram says now.

    The locale stays None until the person picks one: onboarding asks, and the locale middleware falls
    back on `language_code` meanwhile.
    """
    name = first_name[:MAX_FIRST_NAME]
    user = await find_user(session, telegram_id)
    if user is None:
        # One statement, no savepoint: ON CONFLICT DO NOTHING when two first updates from one person
        # race, and RETURNING gives the row (as an ORM object) without a SELECT after the INSERT.
        new_row = {"telegram_id": telegram_id, "first_name": name, "created_at": now}
        user = await session.scalar(_INSERT[session.get_bind().dialect.name == "postgresql"], new_row)
        if user is None:  # the other one created the row
            user = (await session.scalars(select(User).where(User.telegram_id == telegram_id))).one()
        else:
            user_cache.written_by(session, user)
    if user.first_name != name:
        user.first_name = name
    if user.blocked_at is not None:
        # Writing to the bot again means they unblocked it: messages to them may go out again.
        user.blocked_at = None
    return user


def _insert(insert: Any) -> Any:
    """INSERT with ON CONFLICT for one database (SQLite and PostgreSQL spell it alike); the row's values
    are bound at each execution."""
    return insert(User).on_conflict_do_nothing(index_elements=["telegram_id"]).returning(User)


# Built once per dialect (indexed by "is PostgreSQL"): each new person's first update makes one, and
# building it costs about 0.2 ms of CPU (its construction and cache key), executing a ready one next to nothing.
_INSERT = (_insert(sqlite.insert), _insert(postgresql.insert))


async def find_user(session: AsyncSession, telegram_id: int) -> User | None:
    """The person's row, from this process's cache of them when it has it (bot/services/user_cache.py:
    then without SQL), as a `User` of `session` either way."""
    cache = user_cache.cache_of(session)
    if cache is None:
        return await session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})
    user = user_cache.attach(session, cache, telegram_id)
    if user is not None:
        return user
    token = cache.loading(telegram_id)
    found: User | None = None
    try:
        found = await session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})
    finally:
        user_cache.loaded(session, cache, telegram_id, token, found)  # nothing is kept when the read failed
    return found


def user_is_current(user: User | None, first_name: str) -> bool:
    """Whether `get_or_create_user` would leave this row as it is (so a read-only unit of work may use it)."""
    return user is not None and user.first_name == first_name[:MAX_FIRST_NAME] and user.blocked_at is None


async def chosen_zone(session: AsyncSession, telegram_id: int) -> str | None:
    """The time zone this person has chosen, or None (not yet, or never seen)."""
    zone: str | None = await session.scalar(select(User.timezone).where(User.telegram_id == telegram_id))
    return zone


async def user_for_chat(session: AsyncSession, telegram_id: int, now: datetime) -> User:
    """The row of someone the bot is about to write to, made if they have never written themselves
    (a professional linked by the catalog's telegram_id): outbox rows name a user, not a chat."""
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    if user is not None:
        return user
    try:
        async with session.begin_nested():
            user = User(telegram_id=telegram_id, first_name="", created_at=now)
            session.add(user)
    except IntegrityError:
        user = (await session.scalars(select(User).where(User.telegram_id == telegram_id))).one()
    return user
