"""`python3 dev.py bench reminders [--count N] [--api-base URL]`: N reminders due at once, sent by the
real worker within Telegram's limits.

N clients each have a confirmed booking, one an hour, and its "1 h before" reminder (the real outbox
row, `reminders.schedule_session`) is made due now: N sendMessage calls, each to its own private chat.
The worker runs as `bookbot run` runs it (`start_scheduler`: its claims, last looks, rendering and rate
limiter) against the Bot API at --api-base, by default a local fake (benchmarks/fake_bot_api.py, its own
process) that answers 429 with retry_after when more than 30 requests come in any sliding second, or
more than one to a chat.

Printed: the rate, (N - 1) / (last accepted - first accepted) as a fraction of 30/s (times as the
worker saw Telegram's answers; with the local fake also as the fake saw the requests arrive), the 429s
received, duplicates (a chat that got its reminder twice) and misses (a reminder never accepted).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.services import reminders
from bot.services.clock import SystemClock
from bot.settings import Settings
from models import Booking, BookingState, OutboxMessage, Policy, User
from models.db import make_engine, make_sessionmaker
from tests.worlds import professional, service

TOKEN = "123456:bench-reminders-token"
TELEGRAM_PER_SECOND = 30
ZONE = "Europe/Kyiv"
FIRST_CHAT = 700_000_000
WARM_UP_CHAT = 1


class Recorder(BaseRequestMiddleware):
    """Every sendMessage the worker makes: when Telegram accepted it (per chat), and the 429s."""

    def __init__(self) -> None:
        self.accepted: list[tuple[int, float]] = []
        self.cpu: list[float] = []
        self.retry_after = 0

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            self.retry_after += 1
            raise
        if isinstance(method, SendMessage) and int(method.chat_id) >= FIRST_CHAT:
            self.accepted.append((int(method.chat_id), time.monotonic()))
            self.cpu.append(time.process_time())
        return response


async def _seed(sessions: async_sessionmaker[AsyncSession], count: int, now: datetime) -> None:
    """N clients, each with a confirmed session (one an hour from tomorrow) and its 1 h reminder due now."""
    async with sessions.begin() as session:
        pro = professional(
            "bench-reminders",
            "Bench Professional",
            policy=Policy(min_notice_minutes=0, booking_horizon_days=3650),
            verified=True,
            timezone=ZONE,
            languages=["en"],
            categories=["coaching"],
            video_link="https://meet.example.org/bench",
            reminders=[60],
        )
        pro.services.append(service("s50", "Session", 50, 6000))
        session.add(pro)
        await session.flush()
        pro_id, service_id = pro.id, pro.services[0].id
        for first in range(0, count, 1000):
            chunk = range(first, min(count, first + 1000))
            await session.execute(
                insert(User),
                [
                    {
                        "telegram_id": FIRST_CHAT + n,
                        "first_name": f"Client {n}",
                        "locale": "en",
                        "timezone": ZONE,
                        "created_at": now,
                    }
                    for n in chunk
                ],
            )
        found = await session.execute(select(User.telegram_id, User.id).where(User.telegram_id >= FIRST_CHAT))
        clients = {chat: user for chat, user in found}
        first_start = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        for first in range(0, count, 1000):
            rows = []
            for n in range(first, min(count, first + 1000)):
                starts = first_start + timedelta(hours=n)
                ends = starts + timedelta(minutes=50)
                rows.append(
                    {
                        "client_id": clients[FIRST_CHAT + n],
                        "professional_id": pro_id,
                        "service_id": service_id,
                        "starts_at": starts,
                        "ends_at": ends,
                        "block_starts_at": starts,
                        "block_ends_at": ends,
                        "state": BookingState.CONFIRMED,
                        "version": 1,
                        "price_minor": 6000,
                        "currency": "EUR",
                        "policy": {},
                        "reschedule_count": 0,
                        "paid_with": "stripe",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            await session.execute(insert(Booking), rows)
    ids = list(await _scalars(sessions, select(Booking.id).order_by(Booking.id)))
    for first in range(0, len(ids), 500):
        async with sessions.begin() as session:
            loaded = await session.scalars(
                select(Booking)
                .where(Booking.id.in_(ids[first : first + 500]))
                .options(
                    selectinload(Booking.client), selectinload(Booking.professional), selectinload(Booking.service)
                )
            )
            for booking in loaded:
                await reminders.schedule_session(session, booking, now)
    async with sessions.begin() as session:
        # Only the 1 h reminders, all due at once.
        await session.execute(delete(OutboxMessage).where(OutboxMessage.kind != reminders.REMINDER_CLIENT))
        await session.execute(update(OutboxMessage).values(due_at=now))


async def _scalars(sessions: async_sessionmaker[AsyncSession], statement: Any) -> list[Any]:
    async with sessions() as session:
        return list(await session.scalars(statement))


async def _unsettled(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.voided_at.is_(None),
                )
            )
            or 0
        )


async def _start_fake() -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.fake_bot_api", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()
    if line[:1] != ["port"]:
        process.kill()
        raise RuntimeError(f"the fake Bot API did not start: {line!r}")
    return process, f"http://127.0.0.1:{line[1]}"


async def _fake_stats(api_base: str) -> dict[str, Any]:
    from aiohttp import ClientSession

    async with ClientSession() as client, client.get(f"{api_base}/stats") as response:
        stats: dict[str, Any] = await response.json()
        return stats


def _rate(times: list[float]) -> float:
    if len(times) < 2 or max(times) == min(times):
        return float("nan")
    return (len(times) - 1) / (max(times) - min(times)) / TELEGRAM_PER_SECOND


async def run_worker_process(url: str, api_base: str, redis_url: str, key_prefix: str, index: int) -> None:
    """One worker process (`python -m benchmarks.reminders URL API_BASE REDIS_URL|- PREFIX INDEX`): warms
    up, says `ready`, runs the worker as `bookbot run` does until told `stop` on stdin, then prints what
    it saw as one JSON line."""
    from bot.app import build_app
    from bot.serving import JobsInFlight
    from bot.worker import start_scheduler

    recorder = Recorder()
    bot_session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    bot_session.middleware(recorder)
    app = build_app(
        Settings(database_url=url, redis_url=None if redis_url == "-" else redis_url, _env_file=None),
        clock=SystemClock(),
        bot=Bot(TOKEN, session=bot_session),
        key_prefix=key_prefix,
    )
    logging.getLogger("bot.worker").setLevel(logging.ERROR)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    # aiogram builds its types' validators on first use: not while the clock runs.
    await app.bot.send_message(WARM_UP_CHAT + index, "warm-up")
    print("ready", flush=True)
    cpu_started = time.process_time()
    scheduler = start_scheduler(app.worker)
    jobs = JobsInFlight.watch(scheduler)
    await asyncio.to_thread(sys.stdin.readline)
    scheduler.pause()  # as `bookbot run` stops: the ticks running finish, none is cancelled
    await asyncio.wait_for(jobs.idle.wait(), 60)
    scheduler.shutdown(wait=False)
    report = {
        "accepted": recorder.accepted,
        "cpu_at": recorder.cpu,
        "cpu": time.process_time() - cpu_started,
        "retry_after": recorder.retry_after,
    }
    await app.close()
    print(json.dumps(report), flush=True)


async def bench_reminders(
    url: str, count: int, api_base: str | None, workers: int = 1, redis_url: str | None = None
) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    fake: asyncio.subprocess.Process | None = None
    processes: list[asyncio.subprocess.Process] = []
    try:
        now = datetime.now(UTC)
        setup_started = time.perf_counter()
        await _seed(sessions, count, now + timedelta(days=365))
        print(f"  {count} reminders seeded in {time.perf_counter() - setup_started:.1f} s")
        if api_base is None:
            fake, api_base = await _start_fake()
        key_prefix = f"bench-reminders-{os.getpid()}"
        for index in range(workers):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.reminders",
                url,
                api_base,
                redis_url or "-",
                key_prefix,
                str(index),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**28,  # the report is one long JSON line
            )
            processes.append(process)
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 300)
            if line.strip() != b"ready":
                raise RuntimeError(f"a worker process did not start: {line!r}")
        await asyncio.sleep(1.5)  # the warm-ups leave the fake's sliding second
        async with sessions.begin() as session:
            await session.execute(update(OutboxMessage).values(due_at=datetime.now(UTC)))
        started = time.perf_counter()
        deadline = started + count / 10 + 120
        while time.perf_counter() < deadline and await _unsettled(sessions):  # noqa: ASYNC110 - polls the database
            await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - started
        accepted: list[tuple[int, float]] = []
        cpu, steady, retry_after = 0.0, 0.0, 0
        for process in processes:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(b"stop\n")
            await process.stdin.drain()
            report = json.loads(await asyncio.wait_for(process.stdout.readline(), 120))
            accepted += [(int(chat), float(at)) for chat, at in report["accepted"]]
            cpu += report["cpu"]
            retry_after += report["retry_after"]
            if report["cpu_at"]:
                steady += report["cpu_at"][-1] - report["cpu_at"][0]
            await process.wait()
        processes.clear()
        async with sessions() as session:
            sent = int(await session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_not(None))) or 0)
        chats = Counter(chat for chat, _at in accepted)
        duplicates = sum(times - 1 for times in chats.values() if times > 1)
        misses = count - len(chats.keys() & {FIRST_CHAT + n for n in range(count)})
        rate = _rate([at for _chat, at in accepted])
        print(
            f"  {len(accepted)} accepted in {elapsed:.1f} s by {workers} worker process(es)"
            f"{' sharing the limiter in Redis' if redis_url else ''}: rate {rate:.3f} of {TELEGRAM_PER_SECOND}/s "
            f"({rate * TELEGRAM_PER_SECOND:.2f}/s); 429s received {retry_after}; duplicates {duplicates}; "
            f"misses {misses}; rows marked sent {sent}/{count}"
        )
        if len(accepted) > 1:
            per = steady / (len(accepted) - 1)
            print(
                f"  worker CPU: {cpu / max(1, count) * 1000:.1f} ms a reminder in all, {per * 1000:.1f} ms between "
                f"the first and last accepted: {per * TELEGRAM_PER_SECOND:.0%} of a core at 30/s"
            )
        if fake is not None:
            stats = await _fake_stats(api_base)
            arrived = [float(at) for chat, at in stats["accepted"] if int(chat) >= FIRST_CHAT]
            print(
                f"  the fake's view: {len(arrived)} accepted, rate {_rate(arrived):.3f} of {TELEGRAM_PER_SECOND}/s, "
                f"{stats['refused']} refused, at most {stats['most_in_a_second']} requests in one sliding second"
            )
    finally:
        for process in [*processes, *([fake] if fake is not None else [])]:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        await engine.dispose()


if __name__ == "__main__":
    worker_url, worker_api, worker_redis, worker_prefix, worker_index = sys.argv[1:6]
    asyncio.run(run_worker_process(worker_url, worker_api, worker_redis, worker_prefix, int(worker_index)))
