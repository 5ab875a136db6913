"""`python3 dev.py bench webhooks`: Stripe webhook events per second through `POST /webhooks/stripe`.

A third of the events are valid `checkout.session.completed` events for held bookings (each confirms
its booking through the calendar guard and writes the outbox rows), a third repeat one of those (the
same event id: answered from the processed-events table), a third are forged (a wrong secret: refused
on the signature). They are posted over HTTP to the real web app, 20 at a time, in a mixed order.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from bot.services import booking as bookings
from bot.services.clock import FrozenClock
from bot.services.payments.demo import DemoGateway
from bot.services.payments.webhooks import WebhookReceiver
from bot.web import build_web_app
from models import NoShowRule, Payment, PaymentStatus, Professional, Service, ServiceMode, User, WeeklyWindow
from models.db import make_engine, make_sessionmaker

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SECRET = "whsec_bench"
PROFESSIONALS = 10
CONCURRENCY = 20


def _sign(body: bytes, secret: str) -> str:
    # The real time: the library checks the signed timestamp against it.
    stamp = int(time.time())
    return f"t={stamp},v1={hmac.new(secret.encode(), f'{stamp}.'.encode() + body, hashlib.sha256).hexdigest()}"


def _completed(booking_id: int) -> bytes:
    event = {
        "id": f"evt_bench_{booking_id}",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": f"cs_bench_{booking_id}",
                "client_reference_id": str(booking_id),
                "metadata": {"booking_id": str(booking_id)},
                "payment_status": "paid",
                "payment_intent": f"pi_bench_{booking_id}",
                "amount_total": 6000,
                "currency": "eur",
            }
        },
    }
    return json.dumps(event).encode()


async def _held_bookings(url: str, count: int) -> list[int]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            services = []
            for index in range(PROFESSIONALS):
                pro = Professional(
                    slug=f"wh-{index}",
                    name=f"Webhook {index}",
                    verified=True,
                    timezone="Europe/Kyiv",
                    languages=["en"],
                    categories=["coaching"],
                    video_link="https://meet.example.org/bench",
                    free_cancellation_hours=24,
                    late_cancellation_refund_percent=0,
                    max_reschedules=1,
                    no_show=NoShowRule.CHARGE_FULL,
                    min_notice_minutes=0,
                    booking_horizon_days=365,
                    hold_minutes=30,
                    buffer_before_minutes=0,
                    buffer_after_minutes=0,
                    slot_step_minutes=60,
                )
                service = Service(
                    slug="s50",
                    name="Session",
                    duration_minutes=50,
                    price_minor=6000,
                    currency="EUR",
                    mode=ServiceMode.VIDEO,
                )
                pro.services.append(service)
                pro.weekly_windows.extend(WeeklyWindow(weekday=day, starts=0, ends=24 * 60) for day in range(7))
                session.add(pro)
                services.append(service)
            client = User(telegram_id=30_000, first_name="Bench", created_at=NOW)
            session.add(client)
            await session.flush()
            ids = []
            for index in range(count):
                starts = NOW + timedelta(days=1, hours=index // PROFESSIONALS)
                held = await bookings.hold(
                    session, client=client, service_id=services[index % PROFESSIONALS].id, starts_at=starts, now=NOW
                )
                session.add(
                    Payment(
                        booking_id=held.id,
                        attempt=1,
                        status=PaymentStatus.OPEN,
                        amount_minor=6000,
                        currency="EUR",
                        checkout_session_id=f"cs_bench_{held.id}",
                        checkout_expires_at=NOW + timedelta(minutes=31),
                        refund_attempts=0,
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
                ids.append(held.id)
        return ids
    finally:
        await engine.dispose()


async def bench_webhooks(url: str, events: int) -> None:
    # A forged event is logged as a warning each time: a third of the events here.
    logging.getLogger("bot.services.payments.webhooks").setLevel(logging.ERROR)
    booking_ids = await _held_bookings(url, max(events // 3, 1))
    pool = {"pool_size": CONCURRENCY, "max_overflow": 0} if make_url(url).get_backend_name() == "postgresql" else {}
    engine = make_engine(url, **pool)
    sessions = make_sessionmaker(engine)
    receiver = WebhookReceiver(sessions, DemoGateway("http://bench.invalid", SECRET), FrozenClock(NOW))
    client = TestClient(TestServer(build_web_app(sessions, stripe=receiver)))
    await client.start_server()
    try:
        work = []
        for booking_id in booking_ids:
            body = _completed(booking_id)
            work += [(body, SECRET), (body, SECRET), (body, "whsec_forged")]
        # Mixed: a repeat may even arrive while its first delivery is still being processed, as Stripe's can.
        random.Random(7).shuffle(work)
        ordered = work
        gate = asyncio.Semaphore(CONCURRENCY)
        outcomes: Counter[str] = Counter()

        async def post(body: bytes, secret: str) -> None:
            async with gate:
                response = await client.post(
                    "/webhooks/stripe", data=body, headers={"Stripe-Signature": _sign(body, secret)}
                )
                outcomes[f"{response.status} {(await response.json())['outcome']}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(post(body, secret) for body, secret in ordered))
        elapsed = time.perf_counter() - started
        mix = ", ".join(f"{count} {what}" for what, count in sorted(outcomes.items()))
        print(
            f"  {make_url(url).get_backend_name():10} {len(ordered)} events in {elapsed:5.2f} s = "
            f"{len(ordered) / elapsed:6.1f} events/s ({mix})"
        )
    finally:
        await client.close()
        await engine.dispose()
