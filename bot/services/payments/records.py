"""Payment rows as other services need them, without the gateway: the booking service asks for the
refund a cancellation gives here, in its own transaction; the worker (refunds.py) makes it happen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Payment, PaymentStatus, RefundStatus


async def paid_payments(session: AsyncSession, booking_id: int) -> list[Payment]:
    """The booking's paid attempts, the one that paid for it first."""
    query = (
        select(Payment)
        .where(Payment.booking_id == booking_id, Payment.status == PaymentStatus.PAID)
        .order_by(Payment.paid_at, Payment.id)
    )
    return list((await session.scalars(query)).all())


async def request_refund(session: AsyncSession, booking_id: int, amount_minor: int, now: datetime) -> Payment | None:
    """Owe the client `amount_minor` back on the payment that paid for the booking (at most what it paid).

    Written in the caller's transaction; the worker calls the gateway after it commits. A booking has
    one refund: asking again changes nothing."""
    paid = await paid_payments(session, booking_id)
    if not paid or amount_minor <= 0:
        return None
    payment = paid[0]
    if payment.refund_status is not None:
        return payment
    payment.refund_minor = min(amount_minor, payment.amount_minor)
    payment.refund_status = RefundStatus.PENDING
    payment.refund_due_at = now
    payment.updated_at = now
    await session.flush()
    return payment


async def release_checkout(session: AsyncSession, booking_id: int, now: datetime) -> int:
    """The booking's hold was released (the client let it go, or it ran out by our clock): its open
    Checkout Session must not stay payable. Marks it for the worker (released.py), which asks the
    gateway to expire it once this transaction has committed; returns how many were marked.

    A payment that arrives anyway takes the paid-after-expiry path (webhooks.py)."""
    query = select(Payment).where(
        Payment.booking_id == booking_id,
        Payment.status.in_((PaymentStatus.OPEN, PaymentStatus.CREATING)),
        Payment.expire_due_at.is_(None),
    )
    marked = 0
    for payment in (await session.scalars(query)).all():
        payment.expire_due_at = now
        payment.updated_at = now
        marked += 1
    if marked:
        await session.flush()
    return marked


def refund_key(payment: Payment, first_paid_id: int) -> str:
    """`refund:{booking}` for the payment that paid for the booking; a second paid attempt (the client
    paid twice) is refunded under its own key, so the two never share one."""
    if payment.id == first_paid_id:
        return f"refund:{payment.booking_id}"
    return f"refund:{payment.booking_id}:{payment.attempt}"


@dataclass(frozen=True)
class PaymentSummary:
    """What the booking view says about the money: paid, and any refund (ours or one made in Stripe)."""

    paid_minor: int
    currency: str
    refund_minor: int
    refunded: bool  # the gateway says the refund went through
    receipt_url: str | None  # Stripe's own receipt page, once its charge event has named it
    paid_at: datetime | None
    reference: str  # the gateway's payment id (Stripe's payment intent), for an expense claim


async def payment_summary(session: AsyncSession, booking_id: int) -> PaymentSummary | None:
    paid = await paid_payments(session, booking_id)
    if not paid:
        return None
    payment = paid[0]
    return PaymentSummary(
        paid_minor=payment.amount_minor,
        currency=payment.currency,
        refund_minor=payment.refund_minor or 0,
        refunded=payment.refund_status == RefundStatus.SUCCEEDED,
        receipt_url=payment.receipt_url,
        paid_at=payment.paid_at,
        reference=payment.payment_intent_id or payment.checkout_session_id or f"payment {payment.id}",
    )
