"""The payment gateway interface: what the rest of the bot asks of a payment provider.

Two implementations: `StripeGateway` (bot/services/payments/stripe_gateway.py, Stripe Checkout and
Refunds through the official library) and `DemoGateway` (bot/services/payments/demo.py, the offline
checkout page of the bot's own web server). Handlers never see either: they call the payments service.
Every call here is a network call: callers make it outside any database transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# Stripe refuses a Checkout Session expiring sooner than 30 minutes after it receives the call; one
# more minute covers the time between our clock reading and Stripe's.
MIN_CHECKOUT_MINUTES = 31
# Stripe's own default tolerance for a webhook's signed timestamp.
SIGNATURE_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """The gateway refused a call or could not be reached; the caller retries later."""


@dataclass(frozen=True)
class CheckoutRequest:
    """One Checkout Session for one payment attempt of a held booking."""

    booking_id: int
    attempt: int
    amount_minor: int
    currency: str  # ISO 4217, upper case as stored
    product_name: str
    expires_at: datetime
    success_url: str
    cancel_url: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        return f"checkout:{self.booking_id}:{self.attempt}"


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class RefundRequest:
    booking_id: int
    payment_intent_id: str
    amount_minor: int
    # `refund:{booking}` (bot/services/payments/records.py, refund_key)
    idempotency_key: str


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    status: str  # Stripe's: "succeeded", "pending", "requires_action", "failed" or "canceled"


class PaymentGateway(Protocol):
    name: str
    # Verifies the Stripe-Signature of events posted to /webhooks/stripe.
    webhook_secret: str

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...
