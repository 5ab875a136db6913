"""Stripe Connect (a professional's own account: destination charges and the platform's fee) and
released holds (their open Checkout Session is expired at Stripe), through the real `stripe` library
against the fake API, asserting what went over the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.services import booking as bookings
from bot.services.clock import FrozenClock
from bot.services.payments.refunds import backoff
from handlers.client_callbacks import CancelYesCb
from handlers.packages import BuyCb
from models import BookingState, Payment, PaymentStatus, Professional
from tests.bot.catalog_data import Catalog, client, kyiv_time, with_catalog
from tests.bot.fake_stripe import FakeStripe, fake_stripe
from tests.bot.harness import BotHarness
from tests.bot.test_credits import add_package
from tests.bot.test_payments import (
    BOT_USERNAME,
    SESSION_START,
    WHSEC,
    hold_and_get_link,
    payments_of,
    post,
    session_event,
    state_of,
    stripe_harness,
    webhook_client,
)

ACCOUNT = "acct_1AnnaKoval"


@pytest.fixture
async def stripe_api() -> AsyncIterator[FakeStripe]:
    async with fake_stripe() as fake:
        yield fake


@asynccontextmanager
async def connect_harness(
    database_url: str, clock: FrozenClock, stripe_api: FakeStripe, fee: str
) -> AsyncIterator[tuple[BotHarness, Catalog]]:
    async with BotHarness.running(
        database_url,
        clock,
        stripe_secret_key="sk_test_fake",
        stripe_webhook_secret=WHSEC,
        stripe_api_base=stripe_api.url,
        bot_username=BOT_USERNAME,
        platform_fee_percent=fee,
    ) as harness:
        catalog = await with_catalog(harness)
        async with harness.db() as session:
            await session.execute(
                update(Professional).where(Professional.id == catalog.anna).values(stripe_account=ACCOUNT)
            )
        yield harness, catalog


# --- Stripe Connect ---------------------------------------------------------------------------------------


async def test_a_professionals_own_account_gets_a_destination_charge_less_the_platform_fee(
    bot_db_url: str, clock: FrozenClock, stripe_api: FakeStripe
) -> None:
    async with connect_harness(bot_db_url, clock, stripe_api, "2.5") as (harness, catalog):
        olena = await client(harness)
        booking_id, _ = await hold_and_get_link(harness, olena, catalog.coaching, kyiv_time(SESSION_START))
        package_id = await add_package(harness, catalog)
        await harness.press(olena, BuyCb(id=package_id))
        session_call, package_call = stripe_api.to("/v1/checkout/sessions")
        # EUR 60.00 at 2.5 %: 150 cents; EUR 150.00: 375 cents (integer minor units, half up).
        assert session_call.form["payment_intent_data[transfer_data][destination]"] == ACCOUNT
        assert session_call.form["payment_intent_data[application_fee_amount]"] == "150"
        assert session_call.form["payment_intent_data[metadata][booking_id]"] == str(booking_id)
        assert package_call.form["payment_intent_data[transfer_data][destination]"] == ACCOUNT
        assert package_call.form["payment_intent_data[application_fee_amount]"] == "375"

        # A refund of a destination charge takes the transfer (and the fee) back in proportion.
        async with webhook_client(harness) as webhook:
            paid = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id="evt_1")
            assert await post(webhook, paid) == (200, "applied")
        async with harness.db() as session:
            await bookings.cancel(session, booking_id, by="professional", now=harness.clock.now())
        await harness.run_worker()
        (refund,) = stripe_api.to("/v1/refunds")
        assert refund.form["reverse_transfer"] == "true"
        assert refund.form["refund_application_fee"] == "true"
        assert refund.form["amount"] == "6000"


async def test_no_fee_is_asked_when_the_platform_takes_none(
    bot_db_url: str, clock: FrozenClock, stripe_api: FakeStripe
) -> None:
    async with connect_harness(bot_db_url, clock, stripe_api, "0") as (harness, catalog):
        olena = await client(harness)
        await hold_and_get_link(harness, olena, catalog.coaching, kyiv_time(SESSION_START))
        (call,) = stripe_api.to("/v1/checkout/sessions")
        assert call.form["payment_intent_data[transfer_data][destination]"] == ACCOUNT
        assert "payment_intent_data[application_fee_amount]" not in call.form


async def test_without_an_account_the_platform_takes_the_payment(
    bot_db_url: str, clock: FrozenClock, stripe_api: FakeStripe
) -> None:
    async with stripe_harness(bot_db_url, clock, stripe_api) as harness:
        catalog = await with_catalog(harness)
        await hold_and_get_link(harness, await client(harness), catalog.coaching, kyiv_time(SESSION_START))
        (call,) = stripe_api.to("/v1/checkout/sessions")
        assert not any("transfer_data" in name or "application_fee" in name for name in call.form)


# --- a released hold's Checkout Session -------------------------------------------------------------------


@pytest.fixture
async def paying(bot_db_url: str, clock: FrozenClock, stripe_api: FakeStripe) -> AsyncIterator[BotHarness]:
    async with stripe_harness(bot_db_url, clock, stripe_api) as harness:
        yield harness


@pytest.fixture
async def catalog(paying: BotHarness) -> Catalog:
    return await with_catalog(paying)


@pytest.fixture
async def webhook(paying: BotHarness) -> AsyncIterator[TestClient[Any, Any]]:
    async with webhook_client(paying) as web:
        yield web


async def test_releasing_a_hold_expires_its_checkout_session_and_a_late_payment_still_counts(
    paying: BotHarness, catalog: Catalog, stripe_api: FakeStripe, webhook: TestClient[Any, Any]
) -> None:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    # "Release this time" on the held screen, then yes.
    await paying.press(olena, CancelYesCb(id=booking_id, v=1, p=100))
    assert await state_of(paying, booking_id) == BookingState.CANCELLED
    assert stripe_api.to("/v1/checkout/sessions/cs_test_1/expire") == []  # not inside the update's transaction
    await paying.run_worker()
    (call,) = stripe_api.to("/v1/checkout/sessions/cs_test_1/expire")
    assert call.idempotency_key == "expire:cs_test_1"
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.status, payment.expire_due_at) == (PaymentStatus.EXPIRED, None)
    await paying.run_worker()
    assert len(stripe_api.to("/v1/checkout/sessions/cs_test_1/expire")) == 1  # once

    # Stripe's own expiry event, then a payment that got through anyway: the paid-after-expiry path.
    expired = session_event("checkout.session.expired", booking_id, "cs_test_1", event_id="evt_x", paid=False)
    assert await post(webhook, expired) == (200, "applied")
    paid = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id="evt_p")
    assert await post(webhook, paid) == (200, "applied")
    assert await state_of(paying, booking_id) == BookingState.CONFIRMED  # the time was still free


async def test_a_hold_run_out_by_our_clock_expires_its_session_retrying_until_stripe_answers(
    paying: BotHarness, catalog: Catalog, stripe_api: FakeStripe
) -> None:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    stripe_api.expire_failures = 1
    paying.clock.advance(timedelta(minutes=31))
    await paying.run_worker()
    assert await state_of(paying, booking_id) == BookingState.EXPIRED
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.status, payment.expire_attempts) == (PaymentStatus.OPEN, 1)
    assert payment.expire_due_at == paying.clock.now() + backoff(1)

    paying.clock.advance(backoff(1))
    await paying.run_worker()
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.status, payment.expire_due_at) == (PaymentStatus.EXPIRED, None)
    calls = stripe_api.to("/v1/checkout/sessions/cs_test_1/expire")
    assert [call.idempotency_key for call in calls] == ["expire:cs_test_1"] * 2


async def test_a_session_stripe_no_longer_holds_open_counts_as_expired(
    paying: BotHarness, catalog: Catalog, stripe_api: FakeStripe
) -> None:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    stripe_api.closed.add("cs_test_1")  # Stripe expired it itself meanwhile: its 400
    async with paying.db() as session:
        await bookings.cancel(session, booking_id, by="client", now=paying.clock.now())
    await paying.run_worker()
    (payment,) = await payments_of(paying, booking_id)
    assert (payment.status, payment.expire_due_at, payment.expire_attempts) == (PaymentStatus.EXPIRED, None, 0)


async def test_a_paid_booking_cancelled_has_no_session_to_expire(
    paying: BotHarness, catalog: Catalog, stripe_api: FakeStripe, webhook: TestClient[Any, Any]
) -> None:
    olena = await client(paying)
    booking_id, _ = await hold_and_get_link(paying, olena, catalog.coaching, kyiv_time(SESSION_START))
    paid = session_event("checkout.session.completed", booking_id, "cs_test_1", event_id="evt_1")
    assert await post(webhook, paid) == (200, "applied")
    async with paying.db() as session:
        await bookings.cancel(session, booking_id, by="client", now=paying.clock.now())
    await paying.run_worker()
    assert stripe_api.to("/v1/checkout/sessions/cs_test_1/expire") == []
    async with paying.db() as session:
        assert (await session.scalars(select(Payment.expire_due_at))).one() is None
