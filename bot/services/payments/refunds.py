"""Refunds owed (records.request_refund) become real ones here, outside any transaction.

`process_due` claims the due rows (SKIP LOCKED, with a lease so a crashed replica's claim comes back),
asks the gateway with the row's idempotency key, and stores the answer. A refusal or a network
failure is retried with backoff, for as long as it takes: a refund is never dropped. The client hears
when it went through (now, or when Stripe's `refund.updated` says so).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import booking as bookings
from bot.services.clock import Clock
from bot.services.payments.gateway import GatewayError, PaymentGateway, RefundRequest
from bot.services.payments.records import paid_payments, refund_key
from models import Payment, RefundStatus

log = logging.getLogger(__name__)

REFUND_DONE_CLIENT = "refund_done_client"
BATCH = 20
# A claim not settled by then (the process died mid-call) is due again; the idempotency key makes
# the repeat harmless.
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class _Claimed:
    payment_id: int
    request: RefundRequest


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


async def process_due(sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway, clock: Clock) -> int:
    """Ask the gateway for every refund due now; returns how many were asked for."""
    async with sessions.begin() as session:
        claimed = await _claim(session, clock.now())
    for item in claimed:
        try:
            result = await gateway.refund(item.request)
        except (GatewayError, OSError) as exc:
            log.warning("refund for booking %s failed, will retry: %s", item.request.booking_id, exc)
            async with sessions.begin() as session:
                await _failed(session, item.payment_id, str(exc), clock.now())
            continue
        async with sessions.begin() as session:
            await settle(session, item.payment_id, result.refund_id, result.status, clock.now())
    return len(claimed)


async def _claim(session: AsyncSession, now: datetime) -> list[_Claimed]:
    query = (
        select(Payment)
        .where(Payment.refund_status == RefundStatus.PENDING, Payment.refund_due_at <= now)
        .order_by(Payment.refund_due_at, Payment.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for payment in (await session.scalars(query)).all():
        if payment.payment_intent_id is None or not payment.refund_minor:
            payment.refund_status = RefundStatus.FAILED
            payment.refund_error = "no payment intent to refund"
            log.error("payment %s: a refund is owed but there is no payment intent", payment.id)
            continue
        first = (await paid_payments(session, payment.booking_id))[0]
        payment.refund_due_at = now + LEASE
        claimed.append(
            _Claimed(
                payment.id,
                RefundRequest(
                    booking_id=payment.booking_id,
                    payment_intent_id=payment.payment_intent_id,
                    amount_minor=payment.refund_minor,
                    idempotency_key=refund_key(payment, first.id),
                    reverse_transfer=payment.destination_account is not None,
                ),
            )
        )
    return claimed


async def _failed(session: AsyncSession, payment_id: int, error: str, now: datetime) -> None:
    payment = await session.get(Payment, payment_id, with_for_update=True)
    if payment is None or payment.refund_status != RefundStatus.PENDING:
        return
    payment.refund_attempts += 1
    payment.refund_error = error[:1000]
    payment.refund_due_at = now + backoff(payment.refund_attempts)
    payment.updated_at = now


async def settle(session: AsyncSession, payment_id: int, refund_id: str | None, status: str, now: datetime) -> None:
    """Record the gateway's word on the payment's refund; the client hears once it has succeeded."""
    payment = await session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment is None or payment.refund_status == RefundStatus.SUCCEEDED:
        return  # states only move forward: a late "pending" never undoes a success
    payment.refund_id = refund_id or payment.refund_id
    payment.refund_error = None
    payment.refund_due_at = None
    payment.updated_at = now
    if status == "succeeded":
        payment.refund_status = RefundStatus.SUCCEEDED
        await bookings.notify_client(
            session,
            payment.booking_id,
            REFUND_DONE_CLIENT,
            now,
            {"refund_minor": payment.refund_minor, "refund_currency": payment.currency, "payment_id": payment.id},
        )
    elif status in ("failed", "canceled"):
        payment.refund_status = RefundStatus.FAILED
        payment.refund_error = f"the gateway settled the refund as {status}"
        log.error("refund %s for booking %s %s: an operator must act", refund_id, payment.booking_id, status)
    else:
        payment.refund_status = RefundStatus.REQUESTED
