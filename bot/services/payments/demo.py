"""The offline gateway (no STRIPE_SECRET_KEY): the bot's own web server plays Stripe's part.

A Checkout Session is a page of the bot's web server (`/demo/checkout/{session}`, bot/web.py) with
"Pay" and "Cancel". Pressing one produces the event Stripe would send (`checkout.session.completed`
paid, or `checkout.session.expired`), signed the way Stripe signs with a secret made for this
process, and hands it to the very `/webhooks/stripe` processing Stripe's events go through. Refunds
succeed at once. Nothing leaves the machine and no money moves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.services.payments.gateway import PURCHASE, CheckoutRequest, CheckoutSession, RefundRequest, RefundResult
from models import Booking, Package, PackagePurchase, Payment, PaymentStatus, PurchaseStatus, User

DEMO_CHECKOUT_PATH = "/demo/checkout"
DEMO_SESSION_PREFIX = "cs_demo_"

# The webhook's processing (WebhookReceiver.receive), as the status it answers: raw body, signature.
Receive = Callable[[bytes, str], Awaitable[int]]


class DemoGateway:
    name = "demo"

    def __init__(self, public_base_url: str, webhook_secret: str | None = None) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.webhook_secret = webhook_secret or "whsec_demo_" + secrets.token_hex(16)

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        # Derived from the idempotency key: asking again for the same attempt gives the same session.
        if request.subject == PURCHASE:
            session_id = f"{DEMO_SESSION_PREFIX}p{request.subject_id}"
        else:
            session_id = f"{DEMO_SESSION_PREFIX}{request.subject_id}_{request.attempt}"
        return CheckoutSession(session_id, self.page_url(session_id), request.expires_at)

    async def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(refund_id=f"re_demo_{request.booking_id}", status="succeeded")

    async def close(self) -> None:
        return None

    async def expire_checkout(self, session_id: str) -> bool:
        # The page reads the payment's status: once the worker marks it expired, it is closed.
        return True

    def page_url(self, session_id: str) -> str:
        return f"{self.public_base_url}{DEMO_CHECKOUT_PATH}/{session_id}"

    def sign(self, payload: bytes, at: datetime) -> str:
        """A Stripe-Signature header for `payload` (Stripe's scheme: HMAC-SHA256 of "t.payload")."""
        timestamp = int(at.timestamp())
        signed = f"{timestamp}.".encode() + payload
        signature = hmac.new(self.webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={signature}"


def checkout_event(
    event_type: str,
    *,
    session_id: str,
    booking_id: int,
    amount_minor: int,
    currency: str,
    at: datetime,
    purchase_id: int | None = None,
) -> dict[str, Any]:
    """A Stripe-shaped event about a demo Checkout Session, as Stripe would post it (about a booking's
    payment, or with `purchase_id` about a package purchase)."""
    paid = event_type == "checkout.session.completed"
    if purchase_id is not None:
        reference, metadata = f"purchase_{purchase_id}", {"purchase_id": str(purchase_id)}
        intent = f"pi_demo_p{purchase_id}"
    else:
        reference, metadata = str(booking_id), {"booking_id": str(booking_id)}
        intent = f"pi_demo_{booking_id}"
    return {
        "id": "evt_demo_" + secrets.token_hex(12),
        "object": "event",
        "type": event_type,
        "created": int(at.timestamp()),
        "livemode": False,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "client_reference_id": reference,
                "metadata": metadata,
                "payment_status": "paid" if paid else "unpaid",
                "status": "complete" if paid else "expired",
                "payment_intent": intent if paid else None,
                "amount_total": amount_minor,
                "currency": currency.lower(),
            }
        },
    }


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DemoCheckoutView:
    """What the demo checkout page shows about its session (a booking's payment, or a package's)."""

    session_id: str
    booking_id: int  # 0 for a package purchase
    amount_minor: int
    currency: str
    service_name: str
    professional_name: str
    locale: str | None
    # "open" (payable), "paid", "expired" (or replaced by a newer attempt)
    status: str
    purchase_id: int | None = None


async def demo_checkout_view(sessions: async_sessionmaker[AsyncSession], session_id: str) -> DemoCheckoutView | None:
    if not session_id.startswith(DEMO_SESSION_PREFIX):
        return None
    async with sessions() as session:
        payment = await session.scalar(select(Payment).where(Payment.checkout_session_id == session_id))
        if payment is None:
            return await _purchase_view(session, session_id)
        booking = await session.get(
            Booking,
            payment.booking_id,
            options=[selectinload(Booking.service), selectinload(Booking.professional), selectinload(Booking.client)],
        )
        if booking is None:
            return None
        return DemoCheckoutView(
            session_id=session_id,
            booking_id=booking.id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            service_name=booking.service.name,
            professional_name=booking.professional.name,
            locale=booking.client.locale,
            status=str(payment.status),
        )


async def _purchase_view(session: AsyncSession, session_id: str) -> DemoCheckoutView | None:
    purchase = await session.scalar(select(PackagePurchase).where(PackagePurchase.checkout_session_id == session_id))
    if purchase is None:
        return None
    package = await session.get(Package, purchase.package_id, options=[selectinload(Package.professional)])
    client = await session.get(User, purchase.client_id)
    if package is None or client is None:
        return None
    return DemoCheckoutView(
        session_id=session_id,
        booking_id=0,
        amount_minor=purchase.amount_minor,
        currency=purchase.currency,
        service_name=package.name,
        professional_name=package.professional.name,
        locale=client.locale,
        status=str(purchase.status),
        purchase_id=purchase.id,
    )


async def latest_open_demo_session(sessions: async_sessionmaker[AsyncSession], client_id: int) -> str | None:
    """The newest open demo Checkout Session of the client, a booking's or a package's (what the
    demo's /pay pays)."""
    async with sessions() as session:
        booking_query = (
            select(Payment.checkout_session_id, Payment.created_at)
            .join(Booking, Booking.id == Payment.booking_id)
            .where(Booking.client_id == client_id, Payment.status == PaymentStatus.OPEN)
            .order_by(Payment.id.desc())
            .limit(1)
        )
        purchase_query = (
            select(PackagePurchase.checkout_session_id, PackagePurchase.created_at)
            .where(PackagePurchase.client_id == client_id, PackagePurchase.status == PurchaseStatus.OPEN)
            .order_by(PackagePurchase.id.desc())
            .limit(1)
        )
        found = [row for query in (booking_query, purchase_query) for row in (await session.execute(query)).all()]
        found.sort(key=lambda row: row[1], reverse=True)
        return found[0][0] if found else None


async def finish_demo_checkout(view: DemoCheckoutView, gateway: DemoGateway, receive: Receive, *, paid: bool) -> int:
    """ "Pay" (checkout.session.completed, paid) or "Cancel" (checkout.session.expired) on the demo page:
    the signed event goes through the webhook's own processing; returns its HTTP status."""
    event_type = "checkout.session.completed" if paid else "checkout.session.expired"
    # Signed with the real time: the library checks the timestamp against the real clock.
    signed_at = datetime.now(UTC)
    event = checkout_event(
        event_type,
        session_id=view.session_id,
        booking_id=view.booking_id,
        amount_minor=view.amount_minor,
        currency=view.currency,
        at=signed_at,
        purchase_id=view.purchase_id,
    )
    body = encode(event)
    return await receive(body, gateway.sign(body, signed_at))
