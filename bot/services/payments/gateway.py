"""The payment gateway interface: what the rest of the bot asks of a payment provider.

Two implementations: `StripeGateway` (bot/services/payments/stripe_gateway.py, Stripe Checkout and
Refunds through the official library) and `DemoGateway` (bot/services/payments/demo.py, the offline
checkout page of the bot's own web server). Handlers never see either: they call the payments service.
Every call here is a network call: callers make it outside any database transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

# Stripe refuses a Checkout Session expiring sooner than 30 minutes after it receives the call; one
# more minute covers the time between our clock reading and Stripe's.
MIN_CHECKOUT_MINUTES = 31
# Stripe's own default tolerance for a webhook's signed timestamp.
SIGNATURE_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """The gateway refused a call or could not be reached; the caller retries later."""


BOOKING = "booking"
PURCHASE = "purchase"


@dataclass(frozen=True)
class CheckoutRequest:
    """One Checkout Session: a payment attempt of a held booking (`subject` BOOKING, the booking's id),
    or the purchase of a package (`subject` PURCHASE, the purchase's id; one attempt each)."""

    subject: str
    subject_id: int
    attempt: int
    amount_minor: int
    currency: str  # ISO 4217, upper case as stored
    product_name: str
    expires_at: datetime
    success_url: str
    cancel_url: str
    # Stripe Connect: the professional's account (acct_...) the payment goes to, as a destination charge.
    destination: str | None = None

    @property
    def idempotency_key(self) -> str:
        if self.subject == PURCHASE:
            return f"package:{self.subject_id}"
        return f"checkout:{self.subject_id}:{self.attempt}"

    @property
    def reference(self) -> str:
        """Stripe's `client_reference_id`: the booking's id, or `purchase_{id}`."""
        return f"purchase_{self.subject_id}" if self.subject == PURCHASE else str(self.subject_id)

    @property
    def metadata(self) -> dict[str, str]:
        """What the session and its payment intent carry back in every event about them."""
        if self.subject == PURCHASE:
            return {"purchase_id": str(self.subject_id)}
        return {"booking_id": str(self.subject_id), "attempt": str(self.attempt)}


def platform_fee(amount_minor: int, percent: Decimal) -> int:
    """The platform's fee on a Connect payment, in integer minor units: `percent` of the amount,
    rounded half up to the minor unit (EUR 60.00 at 2.5 % is 150; EUR 0.99 at 2.5 % is 2)."""
    if not 0 <= percent <= 100:
        raise ValueError(f"a fee percent is 0 to 100, got {percent}")
    return int((Decimal(amount_minor) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


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
    # A Connect destination charge: the professional's transfer (and the platform's fee) go back too.
    reverse_transfer: bool = False


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

    async def expire_checkout(self, session_id: str) -> bool:
        """Close an open Checkout Session so it can no longer be paid. True when it is closed now or
        was no longer open (paid or expired already: nothing to do); GatewayError to retry later."""
        ...

    async def close(self) -> None:
        """Release network resources (when the app stops)."""
        ...
