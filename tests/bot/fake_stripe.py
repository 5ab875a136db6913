"""A small local fake of Stripe's API for the real `stripe` library (STRIPE_API_BASE points at it).

It answers what the bot calls, Checkout Sessions (created and expired) and Refunds, honours
idempotency keys the way Stripe does (the same key answers the first response again), and records
every request with its key, so tests assert on what the library actually sent over the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    path: str
    idempotency_key: str | None
    form: dict[str, str]


@dataclass
class FakeStripe:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    # Refund calls to refuse (500) before answering normally: a Stripe outage.
    refund_failures: int = 0
    # Session expiries to refuse (500) before answering normally.
    expire_failures: int = 0
    # Sessions no longer open (expired here, or paid): expiring one again is Stripe's 400.
    closed: set[str] = field(default_factory=set)
    _answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    _sessions: int = 0

    def to(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    async def checkout_sessions(self, request: web.Request) -> web.Response:
        form, key = await self._record(request)
        if key is not None and key in self._answers:
            return web.json_response(self._answers[key])
        self._sessions += 1
        session_id = f"cs_test_{self._sessions}"
        answer = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "expires_at": int(form["expires_at"]),
            "client_reference_id": form.get("client_reference_id"),
            "payment_status": "unpaid",
            "status": "open",
        }
        if key is not None:
            self._answers[key] = answer
        return web.json_response(answer)

    async def refunds(self, request: web.Request) -> web.Response:
        form, key = await self._record(request)
        if self.refund_failures > 0:
            self.refund_failures -= 1
            return web.json_response({"error": {"type": "api_error", "message": "try again later"}}, status=500)
        if key is not None and key in self._answers:
            return web.json_response(self._answers[key])
        answer = {
            "id": f"re_test_{len(self.to('/v1/refunds'))}",
            "object": "refund",
            "status": "succeeded",
            "amount": int(form["amount"]),
            "payment_intent": form["payment_intent"],
        }
        if key is not None:
            self._answers[key] = answer
        return web.json_response(answer)

    async def expire_session(self, request: web.Request) -> web.Response:
        _, key = await self._record(request)
        if self.expire_failures > 0:
            self.expire_failures -= 1
            return web.json_response({"error": {"type": "api_error", "message": "try again later"}}, status=500)
        if key is not None and key in self._answers:
            return web.json_response(self._answers[key])
        session_id = request.match_info["session_id"]
        if session_id in self.closed:
            error = {
                "type": "invalid_request_error",
                "message": "Only Checkout Sessions with a status of open can be expired.",
            }
            return web.json_response({"error": error}, status=400)
        self.closed.add(session_id)
        answer = {"id": session_id, "object": "checkout.session", "status": "expired", "payment_status": "unpaid"}
        if key is not None:
            self._answers[key] = answer
        return web.json_response(answer)

    async def _record(self, request: web.Request) -> tuple[dict[str, str], str | None]:
        form = {name: str(value) for name, value in (await request.post()).items()}
        key = request.headers.get("Idempotency-Key")
        self.requests.append(Recorded(request.path, key, form))
        return form, key


@asynccontextmanager
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    app = web.Application()
    app.router.add_post("/v1/checkout/sessions", fake.checkout_sessions)
    app.router.add_post("/v1/refunds", fake.refunds)
    app.router.add_post("/v1/checkout/sessions/{session_id}/expire", fake.expire_session)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
