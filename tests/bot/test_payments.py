"""Paying for a held session through the real `stripe` library pointed at a local fake of Stripe's API,
and Stripe's webhook events signed here: what the bot asks Stripe, what each event does to the booking,
what the client and the professional are told, and the refunds."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.demo.updates import Person
from bot.render import format_money, format_price
from bot.services import booking as bookings
from bot.services.clock import FrozenClock
from bot.services.payments.refunds import backoff
from bot.web import build_web_app
from handlers.client_callbacks import BookingCb, ConfirmCb, minute_code
from handlers.payments import PayCb, ReceiptCb
from models import Booking, BookingState, Payment, PaymentStatus, ProcessedStripeEvent, RefundStatus, User
from tests.bot.catalog_data import STALE, Catalog, client, kyiv_time, only_stale_help, with_catalog
from tests.bot.fake_stripe import FakeStripe, fake_stripe
from tests.bot.harness import BotHarness

WHSEC = "whsec_test_0123456789"
BOT_USERNAME = "bookbot_test_bot"
SESSION_START = "2026-12-01 09:00"  # Kyiv; Anna's coaching, EUR 60.00, 30-minute hold, free up to 72 h


@pytest.fixture
async def stripe_api() -> AsyncIterator[FakeStripe]:
    async with fake_stripe() as fake:
        yield fake


@asynccontextmanager
async def stripe_harness(database_url: str, clock: FrozenClock, stripe_api: FakeStripe) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(
        database_url,
        clock,
        stripe_secret_key="sk_test_fake",
        stripe_webhook_secret=WHSEC,
        stripe_api_base=stripe_api.url,
        bot_username=BOT_USERNAME,
    ) as harness:
        yield harness


@asynccontextmanager
async def webhook_client(harness: BotHarness) -> AsyncIterator[TestClient[Any, Any]]:
    client = TestClient(TestServer(build_web_app(harness.app.sessions, stripe=harness.app.stripe_webhook)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def paying(bot_db_url: str, clock: FrozenClock, stripe_api: FakeStripe) -> AsyncIterator[BotHarness]:
    async with stripe_harness(bot_db_url, clock, stripe_api) as harness:
        yield harness


@pytest.fixture
async def catalog(paying: BotHarness) -> Catalog:
    return await with_catalog(paying)


@pytest.fixture
async def webhook(paying: BotHarness) -> AsyncIterator[TestClient[Any, Any]]:
    async with webhook_client(paying) as client:
        yield client


def sign(payload: bytes, secret: str = WHSEC, at: float | None = None) -> str:
    """Stripe's scheme: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    stamp = int(time.time() if at is None else at)
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def session_event(
    event_type: str, booking_id: int, session_id: str, *, event_id: str, paid: bool = True, amount: int = 6000
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "client_reference_id": str(booking_id),
                "metadata": {"booking_id": str(booking_id)},
                "payment_status": "paid" if paid else "unpaid",
                "payment_intent": f"pi_{booking_id}" if paid else None,
                "amount_total": amount,
                "currency": "eur",
            }
        },
    }


async def post(webhook: TestClient[Any, Any], event: dict[str, Any] | bytes, **signing: Any) -> tuple[int, str]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    response = await webhook.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sign(body, **signing)})
    answer = await response.json()
    return response.status, answer["outcome"]


async def hold_and_get_link(harness: BotHarness, person: Person, service_id: int, starts: datetime) -> tuple[int, str]:
    """The client presses Confirm on a paid service's summary: the held screen with its Pay link."""
    before = harness.mark()
    await harness.press(person, ConfirmCb(svc=service_id, at=minute_code(starts), n=0))
    (held,) = harness.messages_since(before, person)
    pay = held.inline_buttons()[0]
    async with harness.db() as session:
        booking = (await session.scalars(select(Booking).order_by(Booking.id.desc()).limit(1))).one()
    return booking.id, pay["url"]


async def state_of(harness: BotHarness, booking_id: int) -> BookingState:
    async with harness.db() as session:
        booking = await session.get(Booking, booking_id)
        assert booking is not None
        return booking.state


async def payments_of(harness: BotHarness, booking_id: int) -> list[Payment]:
    async with harness.db() as session:
        query = select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.attempt)
        return list((await session.scalars(query)).all())


async def events_recorded(harness: BotHarness) -> int:
    async with harness.db() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedStripeEvent)) or 0)


# --- the Checkout Session ----------------------------------------------------------------------------


async def test_a_held_session_gets_one_checkout_session_exactly_as_stripe_needs_it(
    paying: BotHarness, catalog: Catalog, stripe_api: FakeStripe
) -> None:
    olena = await client(paying)
    now = paying.clock.now()
    booking_id, url = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    assert url == "https://checkout.stripe.test/c/pay/cs_test_1"
    (call,) = stripe_api.to("/v1/checkout/sessions")
    assert call.idempotency_key == f"checkout:{booking_id}:1"
    back = f"https://t.me/{BOT_USERNAME}?start=paid_{booking_id}"
    assert call.form == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "6000",
        "line_items[0][price_data][product_data][name]": "Coaching session (Anna Koval)",
        "client_reference_id": str(booking_id),
        "metadata[booking_id]": str(booking_id),
        "metadata[attempt]": "1",
        "payment_intent_data[metadata][booking_id]": str(booking_id),
        "payment_intent_data[metadata][attempt]": "1",
        # The hold is 30 minutes; Stripe refuses under 30 from when it receives the call: 31.
        "expires_at": str(int((now + timedelta(minutes=31)).timestamp())),
        "success_url": back,
        "cancel_url": back,
    }
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.status, payment.checkout_session_id, payment.amount_minor, payment.currency) == (
        PaymentStatus.OPEN,
        "cs_test_1",
        6000,
        "EUR",
    )

    # Asking again within the hold reuses the open session: no second call.
    before = paying.mark()
    await paying.press(olena, PayCb(id=booking_id))
    (again,) = paying.messages_since(before, olena)
    assert again.inline_buttons()[0]["url"] == url
    assert len(stripe_api.to("/v1/checkout/sessions")) == 1


async def test_a_session_that_ran_out_within_a_longer_hold_gets_a_new_attempt(
    paying: BotHarness, catalog: Catalog, stripe_api: FakeStripe
) -> None:
    olena = await client(paying)
    booking_id, first = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    async with paying.db() as session:
        # A hold longer than the session (a professional's 2-hour hold) whose session has run out.
        booking = await session.get(Booking, booking_id)
        assert booking is not None
        booking.hold_expires_at = paying.clock.now() + timedelta(hours=2)
        payment = (await session.scalars(select(Payment).where(Payment.booking_id == booking_id))).one()
        payment.checkout_expires_at = paying.clock.now() + timedelta(minutes=1)
        await session.commit()
    before = paying.mark()
    await paying.press(olena, PayCb(id=booking_id))
    (again,) = paying.messages_since(before, olena)
    assert again.inline_buttons()[0]["url"] != first
    keys = [call.idempotency_key for call in stripe_api.to("/v1/checkout/sessions")]
    assert keys == [f"checkout:{booking_id}:1", f"checkout:{booking_id}:2"]
    assert [p.status for p in await payments_of(paying, booking_id)] == [PaymentStatus.EXPIRED, PaymentStatus.OPEN]


# --- the webhook ---------------------------------------------------------------------------------------


async def test_a_paid_session_is_confirmed_once_whatever_the_number_of_events(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    olena = await client(paying)
    anna = paying.person("Anna")
    await paying.link_professional("anna-koval", anna)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    completed = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id="evt_1")
    before = paying.mark()

    assert await post(webhook, completed) == (200, "applied")
    assert await post(webhook, completed) == (200, "duplicate")
    # Stripe may describe the same payment in another event (a different id, the same session).
    same_session = session_event("checkout.session.async_payment_succeeded", booking_id, "cs_test_1", event_id="evt_2")
    assert await post(webhook, same_session) == (200, "duplicate")
    # Out of order: the session's expiry arriving after its completion changes nothing.
    late_expiry = session_event("checkout.session.expired", booking_id, "cs_test_1", event_id="evt_3", paid=False)
    assert await post(webhook, late_expiry) == (200, "ignored")
    await paying.run_worker()

    assert await state_of(paying, booking_id) == BookingState.CONFIRMED
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.status, payment.payment_intent_id, payment.amount_minor) == (PaymentStatus.PAID, "pi_1", 6000)
    to_client = [m for m in paying.messages_since(before, olena) if m.document is None]
    assert len(to_client) == 1 and to_client[0].text.startswith("✅")
    assert len([m for m in paying.messages_since(before, olena) if m.document is not None]) == 1
    assert len(paying.messages_since(before, anna)) == 1
    assert await events_recorded(paying) == 3  # evt_1 once, evt_2, evt_3


@pytest.mark.parametrize(
    ("body", "signing"),
    [
        ("valid event", {"secret": "whsec_someone_else"}),
        ("valid event", {"at": time.time() - 301}),
        ("{not json", {}),
        ('{"id": "evt_x"}', {}),
    ],
    ids=["wrong secret", "stale timestamp", "malformed JSON", "not an event"],
)
async def test_a_bad_signature_or_body_is_refused_and_changes_nothing(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any], body: str, signing: dict[str, Any]
) -> None:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    event = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id="evt_1")
    raw = json.dumps(event).encode() if body == "valid event" else body.encode()
    before = paying.mark()
    assert await post(webhook, raw, **signing) == (400, "refused")
    await paying.run_worker()
    assert await state_of(paying, booking_id) == BookingState.HELD
    assert await events_recorded(paying) == 0
    assert paying.messages_since(before) == []


async def test_an_unsigned_request_is_refused(paying: BotHarness, webhook: TestClient[Any, Any]) -> None:
    response = await webhook.post("/webhooks/stripe", data=b"{}")
    assert response.status == 400


async def test_an_event_for_a_booking_we_do_not_know_is_acknowledged(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    event = session_event("checkout.session.completed", 999_999, "cs_elsewhere", event_id="evt_1")
    assert await post(webhook, event) == (200, "unknown")


async def test_an_expired_session_releases_the_hold_and_offers_another_time(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    expired = session_event("checkout.session.expired", booking_id, "cs_test_1", event_id="evt_1", paid=False)
    before = paying.mark()
    assert await post(webhook, expired) == (200, "applied")
    await paying.run_worker()
    assert await state_of(paying, booking_id) == BookingState.EXPIRED
    (told,) = paying.messages_since(before, olena)
    assert [button["text"] for button in told.inline_buttons()] == ["🗓 Pick a time again"]


async def test_paid_after_the_hold_expired_is_confirmed_when_the_time_is_still_free(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    paying.clock.advance(timedelta(minutes=40))
    await paying.run_worker()  # the hold expires
    assert await state_of(paying, booking_id) == BookingState.EXPIRED
    before = paying.mark()
    completed = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id="evt_1")
    assert await post(webhook, completed) == (200, "applied")
    await paying.run_worker()
    assert await state_of(paying, booking_id) == BookingState.CONFIRMED
    assert paying.messages_since(before, olena)[0].text.startswith("✅")


async def test_paid_after_someone_else_took_the_time_is_refunded_in_full_with_an_apology(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any], stripe_api: FakeStripe
) -> None:
    olena, petro = await client(paying), await client(paying, "Petro")
    starts = kyiv_time(SESSION_START)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, starts)
    paying.clock.advance(timedelta(minutes=40))
    await paying.run_worker()
    petros_id, _ = await hold_and_get_link(paying, petro, catalog.coaching, starts)
    before = paying.mark()
    completed = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id="evt_1")
    assert await post(webhook, completed) == (200, "applied")
    await paying.run_worker()

    assert await state_of(paying, booking_id) == BookingState.EXPIRED
    assert await state_of(paying, petros_id) == BookingState.HELD
    (refund,) = stripe_api.to("/v1/refunds")
    assert refund.idempotency_key == f"refund:{booking_id}"
    assert (refund.form["payment_intent"], refund.form["amount"]) == (f"pi_{booking_id}", "6000")
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.refund_status, payment.refund_minor) == (RefundStatus.SUCCEEDED, 6000)
    apology, refunded = paying.messages_since(before, olena)
    assert format_price(6000, "EUR", "en") in apology.text
    assert [button["text"] for button in apology.inline_buttons()] == ["🗓 Pick a time again"]
    assert format_price(6000, "EUR", "en") in refunded.text


# --- refunds by the policy -----------------------------------------------------------------------------


async def _paid_booking(paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]) -> tuple[int, User]:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    completed = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id=f"evt_{booking_id}")
    assert await post(webhook, completed) == (200, "applied")
    await paying.run_worker()
    async with paying.db() as session:
        owner = (await session.scalars(select(User).where(User.telegram_id == olena.id))).one()
    return booking_id, owner


@pytest.mark.parametrize(
    ("before_start", "refund"),
    [(timedelta(hours=72), 6000), (timedelta(hours=71, minutes=59), 3000)],
    ids=["exactly 72 h before: free", "one minute later: 50%"],
)
async def test_a_client_cancellation_refunds_what_the_copied_policy_gives(
    paying: BotHarness,
    catalog: Catalog,
    webhook: TestClient[Any, Any],
    stripe_api: FakeStripe,
    before_start: timedelta,
    refund: int,
) -> None:
    booking_id, _ = await _paid_booking(paying, catalog, webhook)
    paying.clock.set(kyiv_time(SESSION_START) - before_start)
    async with paying.db() as session:
        await bookings.cancel(session, booking_id, by="client", now=paying.clock.now())
        await session.commit()
    await paying.run_worker()
    (call,) = stripe_api.to("/v1/refunds")
    assert (call.idempotency_key, call.form["amount"]) == (f"refund:{booking_id}", str(refund))
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.refund_status, payment.refund_minor) == (RefundStatus.SUCCEEDED, refund)


async def test_a_refund_stripe_refuses_is_retried_until_it_goes_through(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any], stripe_api: FakeStripe
) -> None:
    booking_id, owner = await _paid_booking(paying, catalog, webhook)
    stripe_api.refund_failures = 2
    async with paying.db() as session:
        await bookings.cancel(session, booking_id, by="professional", now=paying.clock.now())
        await session.commit()
    await paying.run_worker()
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.refund_status, payment.refund_attempts) == (RefundStatus.PENDING, 1)
    assert payment.refund_error is not None

    paying.clock.advance(backoff(1))
    await paying.run_worker()
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.refund_status, payment.refund_attempts) == (RefundStatus.PENDING, 2)

    before = paying.mark()
    paying.clock.advance(backoff(2))
    await paying.run_worker()
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.refund_status, payment.refund_minor) == (RefundStatus.SUCCEEDED, 6000)
    calls = stripe_api.to("/v1/refunds")
    assert [call.idempotency_key for call in calls] == [f"refund:{booking_id}"] * 3
    (told,) = [m for m in paying.messages_since(before) if m.chat_id == owner.telegram_id]
    assert format_price(6000, "EUR", "en") in told.text


async def test_a_refund_made_in_stripes_dashboard_shows_on_the_payment(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    booking_id, owner = await _paid_booking(paying, catalog, webhook)
    charge = {
        "id": "evt_refund",
        "type": "charge.refunded",
        "data": {"object": {"object": "charge", "payment_intent": f"pi_{booking_id}", "amount_refunded": 2000}},
    }
    assert await post(webhook, charge) == (200, "applied")
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.refund_status, payment.refund_minor) == (RefundStatus.SUCCEEDED, 2000)
    # ... and in the chat's booking view.
    olena = Person(id=owner.telegram_id, first_name="Olena", language_code="en")
    await paying.press(olena, BookingCb(id=booking_id), paying.last_message(olena))
    view = paying.last_text(olena)
    assert f"Paid: {format_money(6000, 'EUR', 'en')}" in view
    assert f"Refund: {format_money(2000, 'EUR', 'en')} (done)" in view


async def test_a_held_booking_in_the_list_offers_to_pay(
    paying: BotHarness, catalog: Catalog, stripe_api: FakeStripe
) -> None:
    olena = await client(paying)
    booking_id, url = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    await paying.press(olena, BookingCb(id=booking_id), paying.last_message(olena))
    assert paying.buttons(olena)[0]["text"] == f"💳 Pay {format_price(6000, 'EUR', 'en')}"
    await paying.press(olena, PayCb(id=booking_id))
    assert paying.buttons(olena)[0]["url"] == url
    assert len(stripe_api.to("/v1/checkout/sessions")) == 1


async def test_a_paid_booking_has_a_receipt_with_stripes_link_and_our_summary(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    booking_id, owner = await _paid_booking(paying, catalog, webhook)
    receipt_url = "https://pay.stripe.test/receipts/abc"
    charge = {
        "id": "evt_charge",
        "type": "charge.succeeded",
        "data": {"object": {"object": "charge", "payment_intent": f"pi_{booking_id}", "receipt_url": receipt_url}},
    }
    assert await post(webhook, charge) == (200, "applied")
    olena = Person(id=owner.telegram_id, first_name="Olena", language_code="en")
    await paying.press(olena, BookingCb(id=booking_id), paying.last_message(olena))
    assert "🧾 Receipt" in [button["text"] for button in paying.buttons(olena)]
    await paying.press(olena, ReceiptCb(id=booking_id))
    receipt = paying.last_message(olena)
    assert f"Payment id: pi_{booking_id}" in receipt.text
    assert f"Amount paid: {format_money(6000, 'EUR', 'en')}" in receipt.text
    assert receipt.inline_buttons()[0]["url"] == receipt_url


async def test_someone_elses_receipt_is_not_shown(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    booking_id, _ = await _paid_booking(paying, catalog, webhook)
    stranger = await client(paying, "Petro")
    before = paying.mark()
    await paying.press(stranger, ReceiptCb(id=booking_id))
    assert only_stale_help(paying.messages_since(before, stranger))
    assert paying.popup() == STALE


# --- the same on PostgreSQL (its exclusion constraint decides whether a late payment gets its time) -----

Scenario = Callable[[BotHarness, Catalog, TestClient[Any, Any], FakeStripe], Awaitable[None]]


async def _once(harness: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any], _: FakeStripe) -> None:
    await test_a_paid_session_is_confirmed_once_whatever_the_number_of_events(harness, catalog, webhook)


async def _late_free(harness: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any], _: FakeStripe) -> None:
    await test_paid_after_the_hold_expired_is_confirmed_when_the_time_is_still_free(harness, catalog, webhook)


@pytest.mark.parametrize(
    "scenario",
    [
        _once,
        _late_free,
        test_paid_after_someone_else_took_the_time_is_refunded_in_full_with_an_apology,
        test_a_refund_stripe_refuses_is_retried_until_it_goes_through,
    ],
    ids=["confirmed once", "paid late, time free", "paid late, time taken", "refund retried"],
)
async def test_on_postgresql(pg_url: str, clock: FrozenClock, stripe_api: FakeStripe, scenario: Scenario) -> None:
    async with stripe_harness(pg_url, clock, stripe_api) as harness, webhook_client(harness) as webhook:
        await scenario(harness, await with_catalog(harness), webhook, stripe_api)


async def test_coming_back_from_checkout_shows_the_booking_as_it_stands(
    paying: BotHarness, catalog: Catalog, webhook: TestClient[Any, Any]
) -> None:
    booking_id, owner = await _paid_booking(paying, catalog, webhook)
    olena = Person(id=owner.telegram_id, first_name="Olena", language_code="en")
    await paying.send_text(olena, f"/start paid_{booking_id}")
    assert "Status: confirmed" in paying.last_text(olena)
    stranger = await client(paying, "Petro")
    await paying.send_text(stranger, f"/start paid_{booking_id}")
    assert "Status:" not in paying.last_text(stranger)
