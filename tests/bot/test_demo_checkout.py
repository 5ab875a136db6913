"""The demo gateway (no Stripe key): the held summary links to the bot's own checkout page, whose Pay
and Cancel produce signed Stripe-shaped events through the same webhook processing Stripe's go through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.render import format_price
from bot.services.payments.demo import DemoGateway
from bot.web import DemoCheckout, build_web_app
from handlers.client_callbacks import ConfirmCb, minute_code
from models import Booking, BookingState
from tests.bot.catalog_data import Catalog, client, kyiv_time, with_catalog
from tests.bot.harness import BotHarness


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


@pytest.fixture
async def pages(harness: BotHarness) -> AsyncIterator[TestClient[Any, Any]]:
    app = harness.app
    assert isinstance(app.gateway, DemoGateway)
    demo = DemoCheckout(app.gateway, app.stripe_webhook, app.i18n)
    web_client = TestClient(TestServer(build_web_app(app.sessions, stripe=app.stripe_webhook, demo_checkout=demo)))
    await web_client.start_server()
    try:
        yield web_client
    finally:
        await web_client.close()


async def _held_page(harness: BotHarness, catalog: Catalog) -> tuple[Any, str]:
    olena = await client(harness)
    await harness.press(olena, ConfirmCb(svc=catalog.coaching, at=minute_code(kyiv_time("2026-12-01 09:00")), n=0))
    pay = harness.buttons(olena)[0]
    return olena, urlsplit(pay["url"]).path


async def _state(harness: BotHarness) -> BookingState:
    async with harness.db() as session:
        return (await session.scalars(select(Booking.state))).one()


async def test_paying_on_the_demo_page_confirms_through_the_webhook(
    harness: BotHarness, catalog: Catalog, pages: TestClient[Any, Any]
) -> None:
    olena, path = await _held_page(harness, catalog)
    page = await (await pages.get(path)).text()
    assert f"Pay {format_price(6000, 'EUR', 'en')}" in page and "Coaching session with Anna Koval" in page
    before = harness.mark()
    response = await pages.post(path + "/pay")
    assert response.status == 200
    assert "Paid." in await response.text()
    await harness.run_worker()
    assert await _state(harness) == BookingState.CONFIRMED
    confirmation, calendar = harness.messages_since(before, olena)
    assert confirmation.text.startswith("✅") and calendar.document is not None
    # The page again, and a second press: closed, nothing more happens.
    assert "Pay " not in await (await pages.get(path)).text()
    await pages.post(path + "/pay")
    await harness.run_worker()
    assert len(harness.messages_since(before, olena)) == 2


async def test_cancelling_on_the_demo_page_releases_the_hold(
    harness: BotHarness, catalog: Catalog, pages: TestClient[Any, Any]
) -> None:
    olena, path = await _held_page(harness, catalog)
    before = harness.mark()
    assert (await pages.post(path + "/cancel")).status == 200
    await harness.run_worker()
    assert await _state(harness) == BookingState.EXPIRED
    (told,) = harness.messages_since(before, olena)
    assert [button["text"] for button in told.inline_buttons()] == ["🗓 Pick a time again"]


async def test_an_unknown_checkout_page_is_not_found(harness: BotHarness, pages: TestClient[Any, Any]) -> None:
    assert (await pages.get("/demo/checkout/cs_demo_404_1")).status == 404
    assert (await pages.post("/demo/checkout/cs_demo_404_1/pay")).status == 404
