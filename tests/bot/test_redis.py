"""With REDIS_URL: FSM state, update dedupe and the rate limit shared by replicas, against the real Redis."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.render import zone_label
from bot.services.clock import FrozenClock
from bot.worker import RedisTokenBucket
from tests.bot.harness import BotHarness
from tests.bot.virtual_time import VirtualTime
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
    # Two replicas one after the other (one process holds one app's routers at a time): whatever the
    # first knew, the second must know from Redis alone.
    async with BotHarness.running(url, clock, redis_url=REDIS_TEST_URL, key_prefix=redis_prefix) as one:
        assert isinstance(one.app.dispatcher.storage, RedisStorage)
        person = one.person()
        start = one.updates.text(person, "/start")
        await one.feed(start)
        assert len(one.calls_to("sendMessage")) == 1
        assert one.app.redis is not None
        assert [key async for key in one.app.redis.scan_iter(match=f"{redis_prefix}:fsm:*")]
        message = one.last_message(person)
        updates = one.updates
    async with BotHarness.running(url, clock, redis_url=REDIS_TEST_URL, key_prefix=redis_prefix) as two:
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


async def test_the_shared_bucket_limits_every_replica_together(redis_prefix: str) -> None:
    time = VirtualTime()
    redis = Redis.from_url(REDIS_TEST_URL)
    try:
        replicas = [
            RedisTokenBucket(redis, f"{redis_prefix}:rate", rate=20, clock=time.monotonic, sleep=time.sleep)
            for _ in range(2)
        ]
        started = time.now
        sent_at = []
        for _ in range(15):
            for bucket in replicas:
                await bucket.acquire()
                sent_at.append(round(time.now - started, 3))
        # 30 sends at 20/s with a burst of 20, whichever replica sends: 20 at once, then one every 50 ms.
        assert sent_at == [0.0] * 20 + [round(0.05 * n, 3) for n in range(1, 11)]
        await replicas[0].pause(0.3)
        paused = time.now
        await replicas[1].acquire()
        assert round(time.now - paused, 3) == 0.3
    finally:
        await redis.aclose()
