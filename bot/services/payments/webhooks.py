"""Stripe's events (`POST /webhooks/stripe`), verified and applied exactly once.

    receiver = WebhookReceiver(sessions, gateway, clock)
    answer = await receiver.receive(raw_body, request.headers.get("Stripe-Signature"))

The signature is checked on the raw body by the stripe library (tolerance 300 s); a bad one, a stale
timestamp or a body that is not an event is refused (400) with nothing read or changed. Each event id
is recorded in the same transaction as its effect, so a repeat changes nothing; states only move
forward, so events out of order are harmless (an `expired` after a `completed` finds the booking
confirmed and leaves it). An event about a booking we do not know is answered 200 and logged: Stripe
must stop retrying it. Refunds a payment made owing (a time taken by someone else) are asked for as
soon as the transaction has committed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import booking as bookings
from bot.services.clock import Clock
from bot.services.payments import packages, refunds
from bot.services.payments.gateway import SIGNATURE_TOLERANCE_SECONDS, PaymentGateway
from bot.services.payments.records import request_refund
from models import Booking, Payment, PaymentStatus, ProcessedStripeEvent, RefundStatus

log = logging.getLogger(__name__)

PAID_TOO_LATE_CLIENT = "paid_too_late_client"
PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
UNPAID_EVENTS = frozenset({"checkout.session.expired", "checkout.session.async_payment_failed"})
REFUND_EVENTS = frozenset({"charge.refunded", "refund.updated", "refund.created"})
CHARGE_EVENTS = frozenset({"charge.succeeded", "charge.updated"})


@dataclass(frozen=True)
class Answer:
    status: int  # the HTTP status for Stripe
    outcome: str  # for the log and the tests: "applied", "duplicate", "ignored", "unknown", "refused"


class WebhookReceiver:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway, clock: Clock) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock

    async def receive(self, body: bytes, signature: str | None) -> Answer:
        event = self.verify(body, signature)
        if event is None:
            return Answer(400, "refused")
        outcome = await self.apply(event)
        if outcome.refund_owed:
            await refunds.process_due(self.sessions, self.gateway, self.clock)
        return Answer(200, outcome.name)

    def verify(self, body: bytes, signature: str | None) -> dict[str, Any] | None:
        # Imported on the first event: the Stripe library is 7 MiB of an idle bot (bot/app.py).
        import stripe

        try:
            payload = body.decode("utf-8")
            stripe.WebhookSignature.verify_header(
                payload, signature, self.gateway.webhook_secret, SIGNATURE_TOLERANCE_SECONDS
            )
            event = json.loads(payload)
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
            log.warning("Stripe webhook refused: %s", exc)
            return None
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("id"), str)
            or not isinstance(event.get("type"), str)
        ):
            log.warning("Stripe webhook refused: signed, but not an event")
            return None
        data = event.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
            log.warning("Stripe webhook %s refused: no data.object", event["id"])
            return None
        return event

    async def apply(self, event: dict[str, Any]) -> _Outcome:
        now = self.clock.now()
        async with self.sessions.begin() as session:
            if await session.get(ProcessedStripeEvent, event["id"]) is not None:
                return _Outcome("duplicate")
            try:
                async with session.begin_nested():
                    session.add(ProcessedStripeEvent(id=event["id"], type=event["type"][:64], processed_at=now))
            except IntegrityError:
                # A concurrent delivery of the same event committed first: its effect is in.
                return _Outcome("duplicate")
            return await _apply(session, event["type"], event["data"]["object"], now)


@dataclass(frozen=True)
class _Outcome:
    name: str
    refund_owed: bool = False


async def _apply(session: AsyncSession, event_type: str, obj: dict[str, Any], now: datetime) -> _Outcome:
    purchase_id = packages.purchase_id_of(obj) if event_type in PAID_EVENTS | UNPAID_EVENTS else None
    if purchase_id is not None:
        # A package purchase (bot/services/payments/packages.py), not a booking's payment.
        if event_type in UNPAID_EVENTS:
            return _Outcome(await packages.purchase_unpaid(session, purchase_id, obj, now))
        if obj.get("payment_status") != "paid":
            return _Outcome("ignored")
        return _Outcome(await packages.purchase_paid(session, purchase_id, obj, now))
    if event_type in PAID_EVENTS:
        return await _paid(session, event_type, obj, now)
    if event_type in UNPAID_EVENTS:
        return await _unpaid(session, obj, now)
    if event_type in REFUND_EVENTS:
        return await _refund_changed(session, event_type, obj, now)
    if event_type in CHARGE_EVENTS:
        return await _charge(session, obj, now)
    return _Outcome("ignored")


async def _charge(session: AsyncSession, obj: dict[str, Any], now: datetime) -> _Outcome:
    """A charge names its receipt page (the checkout session does not): keep it for the client's receipt."""
    intent, receipt = obj.get("payment_intent"), obj.get("receipt_url")
    if not isinstance(intent, str) or not isinstance(receipt, str):
        return _Outcome("ignored")
    payment = await session.scalar(
        select(Payment).where(Payment.payment_intent_id == intent).order_by(Payment.id).limit(1).with_for_update()
    )
    if payment is None:
        # Not ours, or ahead of its checkout.session.completed: the receipt then is our own summary alone.
        log.info("Stripe charge for payment intent %s we do not know (yet)", intent)
        return _Outcome("unknown")
    payment.receipt_url = receipt
    payment.updated_at = now
    return _Outcome("applied")


def _booking_id(obj: dict[str, Any]) -> int | None:
    metadata = obj.get("metadata") or {}
    for raw in (metadata.get("booking_id") if isinstance(metadata, dict) else None, obj.get("client_reference_id")):
        if isinstance(raw, str) and raw.isdigit():
            return int(raw)
    return None


async def _payment_of(session: AsyncSession, obj: dict[str, Any], booking_id: int, now: datetime) -> Payment | None:
    session_id = obj.get("id")
    if not isinstance(session_id, str):
        return None
    payment = await session.scalar(select(Payment).where(Payment.checkout_session_id == session_id).with_for_update())
    if payment is not None:
        return payment if payment.booking_id == booking_id else None
    # A session whose creation we never stored (we crashed between Stripe's answer and our commit):
    # the attempt in metadata names the row; it is adopted rather than the payment being lost.
    metadata = obj.get("metadata") or {}
    attempt = metadata.get("attempt") if isinstance(metadata, dict) else None
    if isinstance(attempt, str) and attempt.isdigit():
        payment = await session.scalar(
            select(Payment).where(Payment.booking_id == booking_id, Payment.attempt == int(attempt)).with_for_update()
        )
        if payment is not None and payment.checkout_session_id is None:
            payment.checkout_session_id = session_id
            return payment
    return None


async def _paid(session: AsyncSession, event_type: str, obj: dict[str, Any], now: datetime) -> _Outcome:
    if obj.get("payment_status") != "paid":
        # Completed with a delayed method (bank debit): async_payment_succeeded/failed follows.
        return _Outcome("ignored")
    booking_id = _booking_id(obj)
    if booking_id is None or await session.get(Booking, booking_id) is None:
        log.warning("Stripe %s for session %s names no booking we know", event_type, obj.get("id"))
        return _Outcome("unknown")
    payment = await _payment_of(session, obj, booking_id, now)
    if payment is None:
        log.warning("Stripe %s: session %s is not one of booking %s's", event_type, obj.get("id"), booking_id)
        return _Outcome("unknown")
    if payment.status == PaymentStatus.PAID:
        return _Outcome("duplicate")  # another event about the same session
    earlier_paid = await session.scalar(
        select(Payment.id).where(Payment.booking_id == booking_id, Payment.status == PaymentStatus.PAID).limit(1)
    )
    payment.status = PaymentStatus.PAID
    payment.paid_at = now
    payment.updated_at = now
    intent = obj.get("payment_intent")
    payment.payment_intent_id = intent if isinstance(intent, str) else payment.payment_intent_id
    if isinstance(obj.get("amount_total"), int):
        payment.amount_minor = obj["amount_total"]
    if isinstance(obj.get("currency"), str):
        payment.currency = obj["currency"].upper()
    await session.flush()
    if earlier_paid is not None:
        # The client paid twice (two attempts): the booking is paid for; this one goes back in full.
        _owe_in_full(payment, now)
        return _Outcome("applied", refund_owed=True)
    outcome = await bookings.confirm_paid(session, booking_id, now=now)
    if outcome.confirmed or not outcome.taken:
        return _Outcome("applied")
    await request_refund(session, booking_id, payment.amount_minor, now)
    await bookings.notify_client(
        session,
        booking_id,
        PAID_TOO_LATE_CLIENT,
        now,
        {
            "refund_minor": payment.amount_minor,
            "refund_currency": payment.currency,
            "alternatives": [start.isoformat() for start in outcome.alternatives],
        },
    )
    return _Outcome("applied", refund_owed=True)


def _owe_in_full(payment: Payment, now: datetime) -> None:
    payment.refund_minor = payment.amount_minor
    payment.refund_status = RefundStatus.PENDING
    payment.refund_due_at = now
    payment.updated_at = now


async def _unpaid(session: AsyncSession, obj: dict[str, Any], now: datetime) -> _Outcome:
    booking_id = _booking_id(obj)
    if booking_id is None or await session.get(Booking, booking_id) is None:
        log.warning("Stripe event for session %s names no booking we know", obj.get("id"))
        return _Outcome("unknown")
    payment = await _payment_of(session, obj, booking_id, now)
    if payment is None:
        return _Outcome("unknown")
    if payment.status == PaymentStatus.PAID:
        return _Outcome("ignored")  # out of order: the payment already went through
    payment.status = PaymentStatus.EXPIRED
    payment.updated_at = now
    newer = await session.scalar(
        select(Payment.id).where(Payment.booking_id == booking_id, Payment.attempt > payment.attempt).limit(1)
    )
    if newer is None:
        # Only the latest attempt speaks for the booking: an older session expiring changes nothing.
        await bookings.release_unpaid(session, booking_id, now=now)
    return _Outcome("applied")


async def _refund_changed(session: AsyncSession, event_type: str, obj: dict[str, Any], now: datetime) -> _Outcome:
    intent = obj.get("payment_intent")
    if not isinstance(intent, str):
        return _Outcome("ignored")
    payment = await session.scalar(
        select(Payment).where(Payment.payment_intent_id == intent).order_by(Payment.id).limit(1).with_for_update()
    )
    if payment is None:
        log.warning("Stripe %s for payment intent %s we do not know", event_type, intent)
        return _Outcome("unknown")
    if event_type == "charge.refunded":
        if isinstance(obj.get("receipt_url"), str):
            payment.receipt_url = obj["receipt_url"]
        refunded = obj.get("amount_refunded")
        if isinstance(refunded, int) and refunded > (payment.refund_minor or 0):
            # A refund made elsewhere (Stripe's dashboard) shows on the booking too.
            payment.refund_minor = refunded
        status = "succeeded" if obj.get("refunded") or (isinstance(refunded, int) and refunded > 0) else "pending"
        if payment.refund_status is None:
            payment.refund_status = RefundStatus.REQUESTED
        await refunds.settle(session, payment.id, None, status, now)
        return _Outcome("applied")
    amount = obj.get("amount")
    if payment.refund_status is None:
        payment.refund_status = RefundStatus.REQUESTED
        if isinstance(amount, int):
            payment.refund_minor = amount
    refund_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    await refunds.settle(session, payment.id, refund_id, str(obj.get("status") or "pending"), now)
    return _Outcome("applied")
