"""Stripe through the official library's async `StripeClient` (STRIPE_SECRET_KEY).

`api_base` (STRIPE_API_BASE) sends the calls elsewhere: a local fake of the API in tests. Each call
carries our own idempotency key: the library's random one would protect nothing across our retries.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

import aiohttp
import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsPaymentIntentData

from bot.services.payments.gateway import (
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    RefundRequest,
    RefundResult,
    platform_fee,
)

log = logging.getLogger(__name__)

# A Stripe call that has not answered by then is failed (and retried by the worker or the client).
HTTP_TIMEOUT_SECONDS = 30


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        platform_fee_percent: Decimal = Decimal(0),
    ) -> None:
        self.webhook_secret = webhook_secret
        self.platform_fee_percent = platform_fee_percent
        # aiohttp (already the bot's HTTP library) rather than the library's httpx client, which hands
        # its encoded form to httpx as `data=`, deprecated there (a DeprecationWarning on every call).
        self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS))
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            # Our worker retries with the same idempotency key; the library need not wait inside a call.
            max_network_retries=0,
            http_client=self._http,
        )

    async def close(self) -> None:
        """Close the HTTP connections (the app does, when it stops)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = request.metadata
        intent: SessionCreateParamsPaymentIntentData = {"metadata": metadata}
        if request.destination is not None:
            # Stripe Connect: a destination charge, the platform's fee (if any) kept on the way.
            intent["transfer_data"] = {"destination": request.destination}
            fee = platform_fee(request.amount_minor, self.platform_fee_percent)
            if fee > 0:
                intent["application_fee_amount"] = fee
        params: SessionCreateParams = {
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
            "client_reference_id": request.reference,
            "metadata": metadata,
            "payment_intent_data": intent,
            "expires_at": int(request.expires_at.timestamp()),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": request.idempotency_key}
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
        params: RefundCreateParams = {
            "payment_intent": request.payment_intent_id,
            "amount": request.amount_minor,
            "metadata": {"booking_id": str(request.booking_id)},
        }
        if request.reverse_transfer:
            # A destination charge: take the refunded share back from the professional's account, and
            # give back the platform's fee in proportion, so the platform does not pay for the refund.
            params["reverse_transfer"] = True
            params["refund_application_fee"] = True
        try:
            refund = await self.client.v1.refunds.create_async(
                params,
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the refund: {exc.user_message or exc}") from exc
        return RefundResult(refund_id=refund.id, status=str(refund.status or "pending"))

    async def expire_checkout(self, session_id: str) -> bool:
        try:
            await self.client.v1.checkout.sessions.expire_async(
                session_id, options={"idempotency_key": f"expire:{session_id}"}
            )
        except stripe.InvalidRequestError as exc:
            # Stripe's 400 for a session that is no longer open (paid or expired already): done. A
            # retry would get the same answer; the webhook tells what became of the session.
            log.info("Stripe did not expire Checkout Session %s: %s", session_id, exc.user_message or exc)
            return True
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe could not expire the Checkout Session: {exc.user_message or exc}") from exc
        return True
