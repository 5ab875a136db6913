"""`python3 dev.py bench`: the figures of the booking core, printed (nothing is asserted).

1. Slots for 90 days of a professional with 5,000 bookings and 200 date overrides: the database
   path (`free_slots`: load schedule and busy intervals, then compute) and the pure engine alone.
2. Hold + confirm throughput with 50 concurrent clients, on SQLite and on PostgreSQL: all 50 booking
   one professional (writes to one calendar queue behind its lock), and spread over 10 professionals.
3. `bench when`: the free-text time parser per message (benchmarks/when.py).
4. `bench crisis`: `crisis-scan` messages per second, the latency the crisis middleware adds to an ordinary
   update, p50/p99, each with the model layer off and on; the model's load time; how soon `bookbot
   crisis-scan` prints its first line (benchmarks/crisis.py; every audit command: benchmarks/cli_start.py).
5. `bench webhooks`: Stripe webhook events per second through /webhooks/stripe, valid, duplicate and
   forged mixed, on SQLite and PostgreSQL (benchmarks/webhooks.py).
6. `bench updates`: 9-update booking conversations through the real dispatcher, one after another and
   20 people at once, beside a bare aiogram echo bot: updates/s, p50/p99, SQL per conversation
   (benchmarks/updates.py).
7. `bench memory`: the idle resident memory of `bookbot run` beside a bare aiogram bot
   (benchmarks/idle_memory.py).
8. `bench reminders`: N reminders due at once sent by the real worker to a Bot API that enforces
   Telegram's limits: the rate as a fraction of 30/s, 429s, duplicates, misses (benchmarks/reminders.py).
9. `bench cli`: how soon `bookbot --help` and each audit command print their first line, cold (empty cache
   folder) and warm (benchmarks/cli_start.py).

PostgreSQL is the machine's server (BOOKBOT_BENCH_PG_URL, default the tests' admin URL); a throw-away
database is created and dropped. Without the server those rows say so and the rest still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from benchmarks.data import busy_professional
from bot.services import booking as bookings
from bot.services.availability import _load_busy, compute_slots, free_slots, schedule_of, step_of
from models import Policy, Professional, Service, User, WeeklyWindow
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from tests.worlds import professional, service

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
PG_ADMIN_URL = os.environ.get("BOOKBOT_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
CLIENTS = 50


@dataclass(frozen=True)
class Timing:
    runs: int
    median_ms: float
    p95_ms: float


def _timing(samples: list[float]) -> Timing:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Timing(len(samples), statistics.median(samples) * 1000, p95 * 1000)


async def _repeat(runs: int, work: Callable[[], Awaitable[object]]) -> Timing:
    await work()  # warm caches (zoneinfo, SQLAlchemy's statement cache, the database's pages)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return _timing(samples)


# --- databases -------------------------------------------------------------------------------------


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


class Databases:
    """Fresh migrated databases: SQLite files in a temporary folder, PostgreSQL databases dropped at the end."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.pg_names: list[str] = []

    async def sqlite(self, name: str) -> str:
        url = f"sqlite+aiosqlite:///{self.scratch / name}.db"
        await upgrade(url)
        return url

    async def postgres(self, name: str) -> str | None:
        database = f"bookbot_bench_{os.getpid()}_{name}"
        try:
            await _pg_admin(f"DROP DATABASE IF EXISTS {database}")
            await _pg_admin(f"CREATE DATABASE {database}")
        except (OSError, ConnectionError) as exc:
            print(f"  (PostgreSQL at {make_url(PG_ADMIN_URL).host} is not reachable: {exc!r})")
            return None
        self.pg_names.append(database)
        url = make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)
        await upgrade(url)
        return url

    async def drop(self) -> None:
        for name in self.pg_names:
            await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- 1. slots --------------------------------------------------------------------------------------


async def bench_slots(url: str, runs: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            pro, service = await busy_professional(session, NOW, bookings=5000, overrides=200)
            pro_id, service_id = pro.id, service.id
        start, end = NOW, NOW + timedelta(days=90)
        found: list[int] = []

        async def database_path() -> None:
            async with sessions() as session:
                professional = await session.get_one(Professional, pro_id)
                service = await session.get_one(Service, service_id)
                slots = await free_slots(session, professional, service, start, end, NOW)
                found.append(len(slots))

        whole = await _repeat(runs, database_path)

        async with sessions() as session:
            professional = await session.get_one(Professional, pro_id)
            await session.refresh(professional, ["weekly_windows", "date_overrides", "time_off"])
            for override in professional.date_overrides:
                await session.refresh(override, ["windows"])
            service = await session.get_one(Service, service_id)
            schedule = schedule_of(professional)
            busy = await _load_busy(session, pro_id, start - timedelta(hours=1), end + timedelta(hours=2), NOW, None)
            duration, step = timedelta(minutes=service.duration_minutes), step_of(professional, service)

        async def pure() -> None:
            compute_slots(schedule, duration, step, busy, NOW, start, end)

        engine_only = await _repeat(runs, pure)
        print(
            f"  {make_url(url).get_backend_name():10} free_slots, 90 days: median {whole.median_ms:7.1f} ms, "
            f"p95 {whole.p95_ms:7.1f} ms ({found[-1]} slots, {len(busy)} busy intervals in range, {whole.runs} runs)"
        )
        print(f"  {'':10} pure engine only: median {engine_only.median_ms:7.1f} ms, p95 {engine_only.p95_ms:7.1f} ms")
    finally:
        await engine.dispose()


# --- 2. hold + confirm throughput ------------------------------------------------------------------


async def _throughput_world(
    sessions: async_sessionmaker[AsyncSession], professionals: int
) -> tuple[list[int], list[int], list[int]]:
    """Professionals open around the clock, one paid 50-minute service each; 50 clients."""
    async with sessions.begin() as session:
        pros = []
        for index in range(professionals):
            pro = professional(
                f"bench-{index}",
                f"Bench {index}",
                policy=Policy(min_notice_minutes=0, booking_horizon_days=365),
                verified=True,
                timezone="Europe/Kyiv",
                languages=["en"],
                categories=["coaching"],
                video_link="https://meet.example.org/bench",
                buffer_before_minutes=0,
                buffer_after_minutes=10,
                slot_step_minutes=60,
            )
            pro.services.append(service("s50", "Session", 50, 6000))
            pro.weekly_windows.extend(WeeklyWindow(weekday=day, starts=0, ends=24 * 60) for day in range(7))
            pros.append(pro)
        clients = [User(telegram_id=20_000 + n, first_name=f"C{n}", created_at=NOW) for n in range(CLIENTS)]
        session.add_all([*pros, *clients])
        await session.flush()
        return [p.id for p in pros], [p.services[0].id for p in pros], [c.id for c in clients]


async def bench_throughput(url: str, professionals: int, per_client: int) -> None:
    pool = {"pool_size": CLIENTS, "max_overflow": 0} if make_url(url).get_backend_name() == "postgresql" else {}
    engine = make_engine(url, **pool)
    sessions = make_sessionmaker(engine)
    try:
        _pros, services, clients = await _throughput_world(sessions, professionals)
        latencies: list[float] = []
        lost = 0

        async def client_work(index: int, client_id: int) -> None:
            nonlocal lost
            service_id = services[index % professionals]
            # Each client its own hours, so every booking is a real success, not a refusal.
            slot_of_pro = index // professionals
            for attempt in range(per_client):
                starts = NOW + timedelta(days=1, hours=slot_of_pro + attempt * (CLIENTS // professionals + 1))
                started = time.perf_counter()
                async with sessions.begin() as session:
                    client = await session.get_one(User, client_id)
                    held = await bookings.hold(session, client=client, service_id=service_id, starts_at=starts, now=NOW)
                    held_id = held.id
                async with sessions.begin() as session:
                    await bookings.confirm(session, held_id, now=NOW, paid_with="stripe")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        results = await asyncio.gather(
            *(client_work(index, client) for index, client in enumerate(clients)), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
        lost = sum(isinstance(result, BaseException) for result in results)
        timing = _timing(latencies)
        done = len(latencies)
        print(
            f"  {make_url(url).get_backend_name():10} {professionals:2} professional(s): {done} hold+confirm in "
            f"{elapsed:5.2f} s = {done / elapsed:6.1f} bookings/s; latency median {timing.median_ms:6.1f} ms, "
            f"p95 {timing.p95_ms:6.1f} ms" + (f"; {lost} clients failed" if lost else "")
        )
        for result in results:
            if isinstance(result, BaseException):
                print(f"    failure: {result!r}")
                break
    finally:
        await engine.dispose()


async def main(runs: int, per_client: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bookbot-bench-") as scratch:
        databases = Databases(Path(scratch))
        try:
            print("Slots for 90 days: 5,000 bookings, 200 date overrides, 15-minute steps")
            for backend in ("sqlite", "postgres"):
                url = await (databases.sqlite("slots") if backend == "sqlite" else databases.postgres("slots"))
                if url:
                    await bench_slots(url, runs)
            print(f"\nHold + confirm, {CLIENTS} concurrent clients, {per_client} bookings each")
            for backend in ("sqlite", "postgres"):
                for professionals in (1, 10):
                    name = f"tp{professionals}"
                    url = await (databases.sqlite(name) if backend == "sqlite" else databases.postgres(name))
                    if url:
                        await bench_throughput(url, professionals, per_client)
        finally:
            await databases.drop()


async def webhooks_main(events: int) -> None:
    from benchmarks.webhooks import bench_webhooks

    with tempfile.TemporaryDirectory(prefix="bookbot-bench-") as scratch:
        databases = Databases(Path(scratch))
        try:
            for backend in ("sqlite", "postgres"):
                url = await (databases.sqlite("webhooks") if backend == "sqlite" else databases.postgres("webhooks"))
                if url:
                    await bench_webhooks(url, events)
        finally:
            await databases.drop()


async def reminders_main(count: int, api_base: str | None, workers: int, redis_url: str | None) -> None:
    from benchmarks.reminders import bench_reminders

    with tempfile.TemporaryDirectory(prefix="bookbot-bench-") as scratch:
        databases = Databases(Path(scratch))
        try:
            url = await databases.postgres("reminders") or await databases.sqlite("reminders")
            print(f"  on {make_url(url).get_backend_name()}; Bot API: {api_base or 'the local fake'}")
            await bench_reminders(url, count, api_base, workers, redis_url)
        finally:
            await databases.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python3 dev.py bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "suite",
        nargs="?",
        choices=("all", "core", "when", "crisis", "cli", "webhooks", "updates", "memory", "reminders"),
        default="all",
        help="core: slots and bookings; when: the free-text time parser; crisis: the crisis check; "
        "cli: each audit command's time to first output; "
        "webhooks: Stripe events; updates: booking conversations through the dispatcher; "
        "memory: idle RSS of bookbot run; reminders: reminders sent within Telegram's limits (default: all)",
    )
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each slots query or phrase (default 20)")
    parser.add_argument("--per-client", type=int, default=4, help="bookings each client makes (default 4)")
    parser.add_argument("--events", type=int, default=300, help="webhook events posted (default 300)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="updates: instead of timing, list each step's SQL and cProfile's top functions",
    )
    parser.add_argument("--count", type=int, default=10_000, help="reminders due at once (default 10,000)")
    parser.add_argument(
        "--api-base", default=None, help="the Bot API the reminders go to (default: a local fake enforcing the limits)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes sending the reminders (default 1)")
    parser.add_argument(
        "--redis",
        nargs="?",
        const="redis://127.0.0.1:6379/15",
        default=None,
        help="share the rate limiter through Redis (default URL redis://127.0.0.1:6379/15); needed with --workers > 1",
    )
    arguments = parser.parse_args()
    if arguments.suite in ("all", "core"):
        asyncio.run(main(arguments.runs, arguments.per_client))
    if arguments.suite in ("all", "webhooks"):
        print(f"\nStripe webhook events, {arguments.events} posted (valid, duplicate and forged mixed)")
        asyncio.run(webhooks_main(arguments.events))
    if arguments.suite in ("all", "when"):
        from benchmarks import when

        print()
        when.main(arguments.runs)
    if arguments.suite in ("all", "crisis"):
        from benchmarks import crisis

        print()
        crisis.main()
    if arguments.suite in ("all", "cli"):
        from benchmarks import cli_start

        print("\nAudit commands: time to first output (goal of issue 12: under 0.3 s)")
        cli_start.measure()
    if arguments.suite in ("all", "updates"):
        from benchmarks import updates

        print()
        asyncio.run(updates.main(arguments.profile))
    if arguments.suite in ("all", "reminders"):
        print(f"\nReminders: {arguments.count} due at once, sent within Telegram's limits")
        if arguments.workers > 1 and arguments.redis is None:
            parser.error("--workers above 1 needs --redis: without it each process keeps its own limits")
        asyncio.run(reminders_main(arguments.count, arguments.api_base, arguments.workers, arguments.redis))
    if arguments.suite in ("all", "memory"):
        from benchmarks import idle_memory

        print("\nIdle memory")
        idle_memory.main()
