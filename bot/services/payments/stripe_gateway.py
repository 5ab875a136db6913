"""Stripe through the official library's async `StripeClient` (STRIPE_SECRET_KEY).

`api_base` (STRIPE_API_BASE) sends the calls elsewhere: a local fake of the API in tests. Each call
carries our own idempotency key: the library's random one would protect nothing across our retries.
"""

from __future__ import annotations

from datetime import datetime

import stripe

from bot.services.payments.gateway import (
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    RefundRequest,
    RefundResult,
)


class StripeGateway:
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str, *, api_base: str | None = None) -> None:
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            # Our worker retries with the same idempotency key; the library need not wait inside a call.
            max_network_retries=0,
            http_client=stripe.HTTPXClient(),
        )

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        booking = str(request.booking_id)
        metadata = {"booking_id": booking, "attempt": str(request.attempt), **request.metadata}
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                {
                    "mode": "payment",
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": request.currency.lower(),
                                "unit_amount": request.amount_minor,
                                "product_data": {"name": request.product_name},
                            },
                        }
                    ],
                    "client_reference_id": booking,
                    "metadata": metadata,
                    "payment_intent_data": {"metadata": metadata},
                    "expires_at": int(request.expires_at.timestamp()),
                    "success_url": request.success_url,
                    "cancel_url": request.cancel_url,
                },
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the Checkout Session: {exc.user_message or exc}") from exc
        if not session.url:
            raise GatewayError(f"Stripe's Checkout Session {session.id} has no url")
        return CheckoutSession(
            session_id=session.id,
            url=session.url,
            expires_at=datetime.fromtimestamp(session.expires_at, tz=request.expires_at.tzinfo),
        )

    async def refund(self, request: RefundRequest) -> RefundResult:
        try:
            refund = await self.client.v1.refunds.create_async(
                {
                    "payment_intent": request.payment_intent_id,
                    "amount": request.amount_minor,
                    "metadata": {"booking_id": str(request.booking_id)},
                },
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the refund: {exc.user_message or exc}") from exc
        return RefundResult(refund_id=refund.id, status=str(refund.status or "pending"))
