"""The in-process rate limiter on simulated time: even pacing (never more than Telegram's limit in any
sliding second, no burst at the start of one), one message a second to a private chat and 20 a minute to
a group, and Telegram's retry_after honoured for the chat and for everyone."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.rate_limit import Limits, LocalLimiter, SimulatedTime

LIMITS = Limits()


def most_in_any_window(times: list[float], window: float) -> int:
    """The most moments in one closed window [t, t + window] (the strictest way to count)."""
    ordered = sorted(times)
    return max(sum(1 for other in ordered if at <= other <= at + window) for at in ordered)


def limiter() -> tuple[LocalLimiter, SimulatedTime]:
    time = SimulatedTime()
    return LocalLimiter(LIMITS, clock=time.monotonic, sleep=time.sleep), time


async def test_many_chats_at_once_are_paced_evenly_below_30_in_any_second() -> None:
    bucket, time = limiter()
    granted: list[float] = []

    async def one(chat: int) -> None:
        assert await bucket.acquire(chat) == 0.0
        granted.append(time.monotonic())

    await asyncio.gather(*(one(1000 + n) for n in range(200)))
    assert len(granted) == 200
    gaps = [later - earlier for earlier, later in zip(sorted(granted), sorted(granted)[1:], strict=False)]
    # One every interval: no burst at the start, however many wait.
    assert min(gaps) == pytest.approx(LIMITS.interval, abs=2e-6)
    assert max(gaps) == pytest.approx(LIMITS.interval, abs=2e-6)
    assert most_in_any_window(granted, 1.0) <= 30
    # Close to the limit all the same: 29 of 30 a second.
    assert most_in_any_window(granted, 1.0) >= 29


async def test_one_private_chat_gets_one_message_a_second_and_holds_back_no_other_chat() -> None:
    bucket, time = limiter()
    to_one: list[float] = []
    to_others: list[float] = []

    async def busy_chat() -> None:
        for _message in range(5):
            await bucket.acquire(42)
            to_one.append(time.monotonic())

    async def other_chats() -> None:
        for chat in range(100, 130):
            await bucket.acquire(chat)
            to_others.append(time.monotonic())

    await asyncio.gather(busy_chat(), other_chats())
    assert most_in_any_window(to_one, 1.0) == 1
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(to_one))
    # The other chats went on meanwhile: 30 of them before the busy chat's third message.
    assert max(to_others) < to_one[2]
    assert most_in_any_window(to_one + to_others, 1.0) <= 30


async def test_a_group_gets_at_most_20_a_minute_evenly() -> None:
    bucket, time = limiter()
    granted: list[float] = []
    for _message in range(41):
        await bucket.acquire(-100123)
        granted.append(time.monotonic())
    assert most_in_any_window(granted, 60.0) <= 20
    assert min(later - earlier for earlier, later in itertools.pairwise(granted)) >= 3.0


async def test_retry_after_pauses_the_chat_and_everyone() -> None:
    bucket, time = limiter()
    await bucket.acquire(1)
    await bucket.pause(7, chat_id=1)
    paused_at = time.monotonic()
    await bucket.acquire(2)
    assert time.monotonic() - paused_at >= 7 - 1e-9
    # The paused chat as well (its own pause ends with the bot's here).
    await bucket.acquire(1)
    assert time.monotonic() - paused_at >= 7 - 1e-9
    # A shorter pause after a longer one does not shorten it.
    await bucket.pause(5)
    await bucket.pause(1)
    paused_at = time.monotonic()
    await bucket.acquire(3)
    assert time.monotonic() - paused_at >= 5 - 1e-9


async def test_a_moment_reserved_before_a_pause_waits_the_pause_out() -> None:
    bucket, time = limiter()
    for chat in range(10):
        await bucket.acquire(chat)
    # The next moment is an interval away: a sender waits for it, and Telegram says 429 meanwhile.
    waiting = asyncio.create_task(bucket.acquire(99))
    await asyncio.sleep(0)
    paused_at = time.monotonic()
    await bucket.pause(3)
    assert await waiting == 0.0
    assert time.monotonic() - paused_at >= 3 - 1e-9


async def test_a_wait_longer_than_allowed_takes_nothing_and_says_how_long() -> None:
    bucket, time = limiter()
    await bucket.pause(60, chat_id=5)
    started = time.monotonic()
    wait = await bucket.acquire(5, max_wait=20)
    assert wait == pytest.approx(60, abs=1e-3)
    assert time.monotonic() == started  # it did not wait
    # Nothing was taken: once the pause is over the chat goes first thing.
    await bucket.acquire(6, max_wait=100)
    assert time.monotonic() - started == pytest.approx(60, abs=1e-3)
    assert await bucket.acquire(5, max_wait=100) == 0.0


async def test_a_sender_woken_late_takes_a_new_moment_rather_than_crowd_the_next_one() -> None:
    time = SimulatedTime()
    oversleep = [0.05]

    async def late_sleep(seconds: float) -> None:
        # A busy machine: the first wait lasts 50 ms longer than asked.
        await time.sleep(seconds + (oversleep.pop() if oversleep else 0.0))

    bucket = LocalLimiter(LIMITS, clock=time.monotonic, sleep=late_sleep)
    await bucket.acquire(1)
    await bucket.acquire(2)  # its moment was one interval on; it woke 50 ms after that
    second = time.monotonic()
    await bucket.acquire(3)
    # Had the late one used its old moment, the next would have gone at once behind it (two together).
    assert time.monotonic() - second >= LIMITS.interval - 1e-9
    # Its chat was not held back by the moment it gave up.
    await bucket.acquire(2)
    assert time.monotonic() - second == pytest.approx(LIMITS.chat_interval(2), abs=1e-3)
