"""The app reads its senders' `users` rows once per process when the conversation state lives in the
database (one process), and every update when it lives in Redis (replicas: another one may write them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select, update

from bot.app import build_app
from bot.demo.updates import Person
from bot.services import user_cache
from bot.services.clock import FrozenClock
from bot.settings import Settings
from models import User
from tests.bot.harness import BotHarness


@contextmanager
def sender_reads(harness: BotHarness) -> Iterator[list[str]]:
    """The statements of the app's engine that look a sender up by Telegram id."""
    engine = harness.app.engine
    assert engine is not None
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("SELECT") and "WHERE users.telegram_id" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def stored(harness: BotHarness, person: Person) -> User:
    async with harness.db() as session:
        return (await session.scalars(select(User).where(User.telegram_id == person.id))).one()


async def test_onboarding_reads_the_sender_once_and_writes_every_change(harness: BotHarness) -> None:
    olena = harness.person("Olena", "en")
    await harness.send_text(olena, "/start")
    with sender_reads(harness) as reads:
        await harness.press_button(olena, "Українська")
        await harness.send_text(olena, "kyiv")
        await harness.send_text(olena, "/start")
    assert reads == []
    user = await stored(harness, olena)
    assert (user.locale, user.timezone, user.country) == ("uk", "Europe/Kyiv", "UA")


async def test_a_new_first_name_and_an_unblock_reach_the_database(harness: BotHarness) -> None:
    olena = harness.person("Olena", "en")
    await harness.send_text(olena, "/start")
    async with harness.db() as session:  # the worker's 403 mark, as outbox.mark_blocked writes it
        await session.execute(update(User).where(User.telegram_id == olena.id).values(blocked_at=harness.clock.now()))
    renamed = Person(id=olena.id, first_name="Olenka", language_code="en")
    await harness.send_text(renamed, "/start")
    user = await stored(harness, olena)
    assert (user.first_name, user.blocked_at) == ("Olenka", None)
    with sender_reads(harness) as reads:
        await harness.send_text(renamed, "/start")
    assert reads == []


async def test_off_when_the_conversation_state_is_in_redis(bot_db_url: str, clock: FrozenClock) -> None:
    # Only wired, never connected: the Redis client connects on its first command.
    with_redis = build_app(
        Settings(database_url=bot_db_url, redis_url="redis://127.0.0.1:1/0", bot_token="1:x", _env_file=None),
        clock=clock,
    )
    try:
        async with with_redis.sessions() as session:
            assert user_cache.cache_of(session) is None
    finally:
        await with_redis.close()
    embedded = build_app(Settings(database_url=bot_db_url, bot_token="1:x", _env_file=None), clock=clock)
    try:
        async with embedded.sessions() as session:
            assert user_cache.cache_of(session) is not None
    finally:
        await embedded.close()
