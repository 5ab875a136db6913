"""Exactly-once delivery on the real PostgreSQL: two workers (each its own engine, sessions and bot)
drain 2,000 due rows at once and every row goes out once; a process that claimed rows and was killed
mid-send delays them only until the lease runs out, and they then go out once."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import insert, select

from bot import worker
from bot.demo.fake_session import BOT_TOKEN, RecordingSession
from bot.i18n import build_i18n
from bot.rate_limit import LocalLimiter, RateLimiter, SimulatedTime
from bot.render import Reader, Rendered, RendererRegistry
from bot.services import outbox
from bot.services.clock import FrozenClock
from models import OutboxMessage, User
from models.db import make_engine, make_sessionmaker
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.postgres

KIND = "test_delivery"
FIRST_CHAT = 900_000


def render(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    return Rendered(f"reminder {payload['n']}")


async def _due_rows(url: str, clock: FrozenClock, count: int) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(
                insert(User),
                [
                    {"telegram_id": FIRST_CHAT + n, "first_name": f"P{n}", "created_at": clock.now()}
                    for n in range(count)
                ],
            )
            people = {chat: user for chat, user in await session.execute(select(User.telegram_id, User.id))}
            await session.execute(
                insert(OutboxMessage),
                [
                    {
                        "key": f"{KIND}:{n}",
                        "recipient_id": people[FIRST_CHAT + n],
                        "kind": KIND,
                        "payload": {"n": n},
                        "fallback_locale": "en",
                        "fallback_zone": "UTC",
                        "due_at": clock.now(),
                        "attempts": 0,
                    }
                    for n in range(count)
                ],
            )
    finally:
        await engine.dispose()


class Worker:
    """One worker process's parts: its own engine, sessions and bot (recording what it sends)."""

    def __init__(self, url: str, clock: FrozenClock, limiter: RateLimiter) -> None:
        self.engine = make_engine(url)
        self.telegram = RecordingSession(clock)
        renderers = RendererRegistry()
        renderers.register(KIND)(render)
        self.deps = worker.WorkerDeps(
            sessions=make_sessionmaker(self.engine),
            bot=Bot(BOT_TOKEN, session=self.telegram),
            clock=clock,
            renderers=renderers,
            rate_limiter=limiter,
            i18n=build_i18n("en"),
        )

    def chats(self) -> list[int]:
        return [int(call.params["chat_id"]) for call in self.telegram.calls if call.method == "sendMessage"]

    async def close(self) -> None:
        await self.engine.dispose()


def _shared_limiter() -> LocalLimiter:
    # One schedule for both, as Redis gives real processes; on simulated time, so nothing waits for real.
    time = SimulatedTime()
    return LocalLimiter(clock=time.monotonic, sleep=time.sleep)


async def _unsent(url: str) -> list[OutboxMessage]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))))
    finally:
        await engine.dispose()


async def test_two_workers_drain_2000_due_rows_and_each_goes_out_once(pg_url: str, clock: FrozenClock) -> None:
    await _due_rows(pg_url, clock, 2000)
    limiter = _shared_limiter()
    one, two = Worker(pg_url, clock, limiter), Worker(pg_url, clock, limiter)
    try:
        await asyncio.gather(worker.send_due(one.deps), worker.send_due(two.deps))
        sent = Counter(one.chats() + two.chats())
        assert sent == Counter({FIRST_CHAT + n: 1 for n in range(2000)})
        # Both took part.
        assert one.chats() and two.chats()
        assert await _unsent(pg_url) == []
        # Nothing is left to send a second time.
        await asyncio.gather(worker.send_due(one.deps), worker.send_due(two.deps))
        assert len(one.chats()) + len(two.chats()) == 2000
    finally:
        await one.close()
        await two.close()


# A worker process that claims due rows (committed, with their lease), says how many, and then hangs
# as if in the middle of sending them, until it is killed.
CLAIM_AND_HANG = """
import asyncio, sys
from datetime import datetime
from bot.services import outbox
from models.db import make_engine, make_sessionmaker

async def main(url: str, now: str) -> None:
    engine = make_engine(url)
    async with make_sessionmaker(engine).begin() as session:
        claimed = await outbox.claim_due(session, datetime.fromisoformat(now), 50)
    print(len(claimed), flush=True)
    await asyncio.Event().wait()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_rows_of_a_worker_killed_mid_send_come_back_after_the_lease_and_go_out_once(
    pg_url: str, clock: FrozenClock
) -> None:
    await _due_rows(pg_url, clock, 20)
    crashed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLAIM_AND_HANG,
        pg_url,
        clock.now().isoformat(),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert crashed.stdout is not None
    try:
        claimed = await asyncio.wait_for(crashed.stdout.readline(), 60)
    finally:
        crashed.send_signal(signal.SIGKILL)
        await crashed.wait()
    assert int(claimed) == 20
    survivor = Worker(pg_url, clock, _shared_limiter())
    try:
        # Still within the dead worker's lease: nobody else takes its rows.
        clock.advance(outbox.LEASE - timedelta(seconds=1))
        await worker.send_due(survivor.deps)
        assert survivor.chats() == []
        # The lease has run out: the rows are back, and each goes out once.
        clock.advance(timedelta(seconds=2))
        await worker.send_due(survivor.deps)
        assert Counter(survivor.chats()) == Counter({FIRST_CHAT + n: 1 for n in range(20)})
        await worker.send_due(survivor.deps)
        assert len(survivor.chats()) == 20
        assert await _unsent(pg_url) == []
    finally:
        await survivor.close()
