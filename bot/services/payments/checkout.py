"""A Checkout Session for a held booking: one per payment attempt, reused while it is open.

    link = await open_checkout(sessions, gateway, clock, booking_id=7, client_id=3, bot_username="bookbot")

Three short steps, so no transaction is open while the gateway is called: reserve the attempt (or
find the open one) and commit; ask the gateway with the idempotency key `checkout:{booking}:{attempt}`;
store the session. An attempt whose call failed is retried with the very same request (same key,
same expiry) while that expiry is still far enough ahead; otherwise a new attempt replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.services.clock import Clock
from bot.services.payments.gateway import BOOKING, MIN_CHECKOUT_MINUTES, CheckoutRequest, PaymentGateway
from models import Booking, BookingState, Payment, PaymentStatus

# An open session this close to its end is not handed out again: the client could not finish paying.
REUSE_MARGIN = timedelta(minutes=2)
# Stripe's lower bound (30 min from when it receives the call) with a little room for a retry's delay.
RETRY_MARGIN = timedelta(minutes=30, seconds=30)


@dataclass(frozen=True)
class PayLink:
    booking_id: int
    url: str
    amount_minor: int
    currency: str
    # When the held time is released unless paid (the client's deadline, shown in their zone).
    hold_expires_at: datetime


def return_url(bot_username: str, booking_id: int) -> str:
    """Where Checkout sends the client back: the bot's chat (a /start payload of [A-Za-z0-9_-], <= 64)."""
    return f"https://t.me/{bot_username}?start=paid_{booking_id}"


async def open_checkout(
    sessions: async_sessionmaker[AsyncSession],
    gateway: PaymentGateway,
    clock: Clock,
    *,
    booking_id: int,
    client_id: int,
    bot_username: str,
) -> PayLink | None:
    """The Checkout link for the client's held booking; None when it is not theirs or no longer held.
    Raises GatewayError when the gateway cannot make one now (nothing is lost: asking again retries)."""
    async with sessions.begin() as session:
        reserved = await _reserve(session, booking_id, client_id, clock.now(), bot_username)
    if reserved is None:
        return None
    if isinstance(reserved, PayLink):
        return reserved
    request, hold_expires_at = reserved
    created = await gateway.create_checkout(request)
    async with sessions.begin() as session:
        payment = await session.scalar(
            select(Payment).where(Payment.booking_id == booking_id, Payment.attempt == request.attempt)
        )
        if payment is not None and payment.status == PaymentStatus.CREATING:
            payment.status = PaymentStatus.OPEN
            payment.checkout_session_id = created.session_id
            payment.checkout_url = created.url
            payment.updated_at = clock.now()
            if payment.expire_due_at is not None:
                # The hold was released while the gateway made the session: the worker expires it.
                return None
    return PayLink(booking_id, created.url, request.amount_minor, request.currency, hold_expires_at)


async def _reserve(
    session: AsyncSession, booking_id: int, client_id: int, now: datetime, bot_username: str
) -> PayLink | tuple[CheckoutRequest, datetime] | None:
    booking = await session.get(
        Booking,
        booking_id,
        options=[selectinload(Booking.service), selectinload(Booking.professional)],
        with_for_update=True,
    )
    if booking is None or booking.client_id != client_id or booking.state != BookingState.HELD:
        return None
    hold_expires_at = booking.hold_expires_at or booking.starts_at
    if hold_expires_at <= now:
        return None
    latest = await session.scalar(
        select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.attempt.desc()).limit(1)
    )
    if latest is not None and latest.status == PaymentStatus.PAID:
        return None  # paid already; the webhook is confirming it
    if (
        latest is not None
        and latest.status == PaymentStatus.OPEN
        and latest.checkout_url is not None
        and latest.checkout_expires_at > now + REUSE_MARGIN
    ):
        return PayLink(booking_id, latest.checkout_url, latest.amount_minor, latest.currency, hold_expires_at)
    if (
        latest is not None
        and latest.status == PaymentStatus.CREATING
        and latest.checkout_expires_at >= now + RETRY_MARGIN
    ):
        payment = latest
    else:
        if latest is not None and latest.status in (PaymentStatus.OPEN, PaymentStatus.CREATING):
            latest.status = PaymentStatus.EXPIRED
            latest.updated_at = now
        payment = Payment(
            booking_id=booking_id,
            attempt=(latest.attempt + 1) if latest is not None else 1,
            status=PaymentStatus.CREATING,
            amount_minor=booking.price_minor,
            currency=booking.currency,
            checkout_expires_at=max(hold_expires_at, now + timedelta(minutes=MIN_CHECKOUT_MINUTES)),
            destination_account=booking.professional.stripe_account,
            refund_attempts=0,
            expire_attempts=0,
            created_at=now,
            updated_at=now,
        )
        session.add(payment)
        await session.flush()
    back = return_url(bot_username, booking_id)
    request = CheckoutRequest(
        subject=BOOKING,
        subject_id=booking_id,
        attempt=payment.attempt,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        product_name=f"{booking.service.name} ({booking.professional.name})",
        expires_at=payment.checkout_expires_at,
        success_url=back,
        cancel_url=back,
        destination=payment.destination_account,
    )
    return request, hold_expires_at
