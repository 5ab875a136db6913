"""Checkout Sessions of released holds are expired at the gateway (`checkout.sessions.expire`).

When a hold is released (the client let it go, or it ran out by our clock) the booking service marks
its open session in the same transaction (records.release_checkout). `process_due` claims the
marked rows (SKIP LOCKED, with a lease), asks the gateway outside any transaction, and clears the
mark once the gateway has closed the session or says it was no longer open. A failure is retried
with backoff. Expiring is idempotent (the same session twice changes nothing), and a payment that
arrives anyway follows the paid-after-expiry path of webhooks.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.clock import Clock
from bot.services.payments.gateway import GatewayError, PaymentGateway
from bot.services.payments.refunds import backoff
from models import Payment, PaymentStatus

log = logging.getLogger(__name__)

BATCH = 20
# A claim not settled by then (the process died mid-call) is due again.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class _Claimed:
    payment_id: int
    session_id: str


async def process_due(sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway, clock: Clock) -> int:
    """Expire every marked session due now; returns how many the gateway was asked about."""
    async with sessions.begin() as session:
        claimed = await _claim(session, clock.now())
    for item in claimed:
        try:
            await gateway.expire_checkout(item.session_id)
        except (GatewayError, OSError) as exc:
            log.warning("expiring Checkout Session %s failed, will retry: %s", item.session_id, exc)
            async with sessions.begin() as session:
                await _failed(session, item.payment_id, clock.now())
            continue
        async with sessions.begin() as session:
            await _done(session, item.payment_id, clock.now())
    return len(claimed)


async def _claim(session: AsyncSession, now: datetime) -> list[_Claimed]:
    query = (
        select(Payment)
        .where(Payment.expire_due_at <= now, Payment.checkout_session_id.is_not(None))
        .order_by(Payment.expire_due_at, Payment.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for payment in (await session.scalars(query)).all():
        assert payment.checkout_session_id is not None
        if payment.status == PaymentStatus.PAID:
            payment.expire_due_at = None  # paid before we got to it: nothing to close
            continue
        payment.expire_due_at = now + LEASE
        claimed.append(_Claimed(payment.id, payment.checkout_session_id))
    return claimed


async def _failed(session: AsyncSession, payment_id: int, now: datetime) -> None:
    payment = await session.get(Payment, payment_id, with_for_update=True)
    if payment is None or payment.expire_due_at is None:
        return
    payment.expire_attempts += 1
    payment.expire_due_at = now + backoff(payment.expire_attempts)
    payment.updated_at = now


async def _done(session: AsyncSession, payment_id: int, now: datetime) -> None:
    payment = await session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment is None:
        return
    payment.expire_due_at = None
    if payment.status in (PaymentStatus.OPEN, PaymentStatus.CREATING):
        payment.status = PaymentStatus.EXPIRED
    payment.updated_at = now
