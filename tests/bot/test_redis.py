"""With REDIS_URL: FSM state, per-user ordering, update dedupe and the rate limit shared by replicas,
against the real Redis. The replicas are two apps running at once in this process."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.typing import KeyT

from bot.demo.fake_session import ChatMessage
from bot.rate_limit import Limits, RedisLimiter, SimulatedTime
from bot.render import zone_label
from bot.services.clock import FrozenClock
from handlers.start import LanguageCb
from tests.bot.harness import BotHarness
from tests.conftest import REDIS_TEST_URL, service_unavailable

pytestmark = pytest.mark.redis

_tests = itertools.count()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; only its keys are deleted afterwards (db 15 may be shared)."""
    prefix = f"bookbot-test:{os.getpid()}:{next(_tests)}"
    redis = Redis.from_url(REDIS_TEST_URL)
    try:
        await redis.ping()
    except (OSError, ConnectionError) as exc:
        await redis.aclose()
        service_unavailable("Redis", exc)
    yield prefix
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_replicas_share_state_and_dedupe(redis_prefix: str, bot_db_url: str, clock: FrozenClock) -> None:
    url = bot_db_url
    # Two replicas running at once: whatever the first knew, the second must know from Redis alone.
    async with (
        BotHarness.running(url, clock, redis_url=REDIS_TEST_URL, key_prefix=redis_prefix) as one,
        BotHarness.running(url, clock, redis_url=REDIS_TEST_URL, key_prefix=redis_prefix) as two,
    ):
        assert isinstance(one.app.dispatcher.storage, RedisStorage)
        person = one.person()
        start = one.updates.text(person, "/start")
        await one.feed(start)
        assert len(one.calls_to("sendMessage")) == 1
        assert one.app.redis is not None
        assert [key async for key in one.app.redis.scan_iter(match=f"{redis_prefix}:fsm:*")]
        message = one.last_message(person)
        updates = one.updates
        two.updates = updates  # the same Telegram: update ids keep counting
        await two.feed(start)  # redelivered to the other replica: dropped
        assert two.calls == []
        # The FSM state the first replica wrote: the language button works on the second.
        language = next(b for b in message.inline_buttons() if "English" in b["text"])
        await two.feed(updates.callback(person, language["callback_data"], message))
        assert two.last_text(person).startswith("Which time zone are you in?")
        await two.send_text(person, "kyiv")
        assert two.texts(person)[-2] == f"Your time zone: {zone_label('Europe/Kyiv', 'en', two.clock.now())}"

    redis = Redis.from_url(REDIS_TEST_URL)
    try:
        keys = {key.decode() async for key in redis.scan_iter(match=f"{redis_prefix}:*")}
    finally:
        await redis.aclose()
    assert any(key.startswith(f"{redis_prefix}:update:") for key in keys)


class StallNextMessage(BaseRequestMiddleware):
    """Telegram that holds the next sendMessage until released: a replica caught in the middle of an
    update."""

    def __init__(self) -> None:
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        if isinstance(method, SendMessage) and not self.stalled.is_set():
            self.stalled.set()
            await self.release.wait()
        return await make_request(bot, method)


class WatchedLock(Lock):
    async def do_acquire(self, token: str | bytes) -> bool:
        taken = await super().do_acquire(token)
        redis = self.redis
        assert isinstance(redis, WatchedRedis)
        redis.attempts.put_nowait((str(self.name), taken))
        return taken


class WatchedRedis(Redis):
    """Reports every attempt to take a lock: (key, taken), False while someone else holds it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attempts: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()

    def lock(self, name: KeyT, *args: Any, **kwargs: Any) -> Lock:
        kwargs["lock_class"] = WatchedLock
        return super().lock(name, *args, **kwargs)


async def test_replicas_at_once_take_one_persons_updates_in_turn(
    redis_prefix: str, pg_url: str, clock: FrozenClock
) -> None:
    # PostgreSQL, as replicas share in production (a SQLite writer would hold the whole file meanwhile).
    async with (
        BotHarness.running(pg_url, clock, redis_url=REDIS_TEST_URL, key_prefix=redis_prefix) as one,
        BotHarness.running(pg_url, clock, redis_url=REDIS_TEST_URL, key_prefix=redis_prefix) as two,
    ):
        isolation = two.app.dispatcher.fsm.events_isolation
        assert isinstance(isolation, RedisEventIsolation)
        watched = WatchedRedis(connection_pool=isolation.redis.connection_pool)
        isolation.redis = watched
        two.updates = one.updates  # one Telegram: update ids keep counting whichever replica gets them
        olena, petro = one.person(first_name="Olena"), one.person(first_name="Petro")

        telegram = StallNextMessage()
        one.session.middleware(telegram)
        first = asyncio.create_task(one.send_text(olena, "/start"))
        await telegram.stalled.wait()  # replica one is inside Olena's /start: her language step is set

        # Someone else is not kept waiting by Olena's update.
        await two.send_text(petro, "/start")
        assert two.last_text(petro).startswith("Hello, Petro!")

        # Olena's next update, on the other replica, waits until the first is done.
        greeting = ChatMessage(chat_id=olena.id, message_id=one.session.next_message_id(), text="")
        second = asyncio.create_task(two.press(olena, LanguageCb(code="en"), greeting))
        key, taken = await watched.attempts.get()
        while str(olena.id) not in key:
            key, taken = await watched.attempts.get()
        assert not taken
        assert not second.done() and two.texts(olena) == []

        telegram.release.set()
        await first
        await second
        assert one.last_text(olena).startswith("Hello, Olena!")
        # Replica two answered the language step replica one had set: the zone question follows.
        assert two.last_text(olena).startswith("Which time zone are you in?")
        # And replica one takes the zone step replica two set.
        await one.send_text(olena, "kyiv")
        assert one.texts(olena)[-2] == "Your time zone: {zone}".format(
            zone=zone_label("Europe/Kyiv", "en", clock.now())
        )


async def test_the_shared_limiter_paces_every_replica_together(redis_prefix: str) -> None:
    time = SimulatedTime()
    redis = Redis.from_url(REDIS_TEST_URL)
    limits = Limits()
    try:
        replicas = [
            RedisLimiter(redis, f"{redis_prefix}:rate", limits, clock=time.monotonic, sleep=time.sleep)
            for _ in range(2)
        ]
        granted: list[tuple[int, float]] = []
        # The replicas take turns (on simulated time a Redis round trip must not overlap a sleep), to many
        # chats and to one shared busy chat (7).
        for n in range(30):
            for index, replica in enumerate(replicas):
                chat = 7 if n % 10 == 0 else 1000 * (index + 1) + n
                assert await replica.acquire(chat) == 0.0
                granted.append((chat, time.monotonic()))
        moments = sorted(at for _chat, at in granted)
        gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
        # One schedule for both: evenly one every interval, whichever replica sends, never a burst.
        assert min(gaps) >= limits.interval - 2e-6
        assert max(sum(1 for other in moments if at <= other <= at + 1) for at in moments) <= 30
        busy = sorted(at for chat, at in granted if chat == 7)
        assert len(busy) == 6 and all(b - a >= 1.0 for a, b in itertools.pairwise(busy))

        # A 429 seen by one replica pauses the other, for that chat and for every chat.
        await replicas[0].pause(3, chat_id=7)
        paused = time.monotonic()
        assert await replicas[1].acquire(8) == 0.0
        assert time.monotonic() - paused >= 3 - 1e-5
        await replicas[0].pause(30, chat_id=7)
        assert await replicas[1].acquire(7, max_wait=5) >= 29
    finally:
        await redis.aclose()
