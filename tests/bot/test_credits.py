"""Packages of credits, through the dispatcher: buying one on the professional's profile (demo
checkout and the real `stripe` library against the fake API), the ledger through its whole life
(grant, spend, return, expire), booking with a credit, /credits, and the warning before expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.demo.fake_session import ChatMessage
from bot.demo.updates import Person
from bot.render import format_instant, format_price
from bot.services import booking as bookings
from bot.services import credits
from bot.services.clock import FrozenClock
from bot.services.payments.demo import DemoGateway
from bot.web import DemoCheckout, build_web_app
from handlers.client_callbacks import CancelCb, CancelYesCb, ConfirmCb, ProfileCb, SkipNotesCb, TimeCb, minute_code
from handlers.packages import BuyCb
from models import Booking, BookingState, CreditEntry, CreditKind, Package, PackagePurchase, PurchaseStatus, User
from tests.bot.catalog_data import Catalog, client, kyiv_time, with_catalog
from tests.bot.fake_stripe import FakeStripe, fake_stripe
from tests.bot.harness import BotHarness
from tests.bot.test_payments import BOT_USERNAME, post, stripe_harness, webhook_client

KYIV = "Europe/Kyiv"
PACKAGE_PRICE = 15000  # EUR 150.00 for three coaching sessions
VALID_DAYS = 30


async def add_package(harness: BotHarness, catalog: Catalog, *, sessions: int = 3) -> int:
    """Anna sells three coaching sessions, valid 30 days from purchase."""
    async with harness.db() as session:
        package = Package(
            professional_id=catalog.anna,
            service_id=catalog.coaching,
            slug="three-sessions",
            name="Three coaching sessions",
            sessions=sessions,
            price_minor=PACKAGE_PRICE,
            currency="EUR",
            valid_days=VALID_DAYS,
            active=True,
        )
        session.add(package)
        await session.flush()
        return package.id


async def user_of(harness: BotHarness, person: Person) -> User:
    async with harness.db() as session:
        return (await session.scalars(select(User).where(User.telegram_id == person.id))).one()


async def ledger(harness: BotHarness) -> list[tuple[str, int]]:
    async with harness.db() as session:
        rows = await session.scalars(select(CreditEntry).order_by(CreditEntry.id))
        return [(row.kind, row.amount) for row in rows]


async def credits_left(harness: BotHarness, person: Person) -> int:
    owner = await user_of(harness, person)
    async with harness.db() as session:
        return sum(b.left for b in await credits.balances(session, owner.id, harness.clock.now()))


async def newest_booking(harness: BotHarness) -> Booking:
    async with harness.db() as session:
        return (await session.scalars(select(Booking).order_by(Booking.id.desc()).limit(1))).one()


async def summary_for(harness: BotHarness, person: Person, service_id: int, starts: datetime) -> list[str]:
    """Pick a time, skip the notes: the summary's button labels."""
    at = minute_code(starts)
    await harness.press(person, TimeCb(svc=service_id, at=at))
    await harness.press(person, SkipNotesCb(svc=service_id, at=at))
    return [button["text"] for button in harness.buttons(person)]


async def book_with_credit(harness: BotHarness, person: Person, service_id: int, starts: datetime) -> Booking:
    labels = await summary_for(harness, person, service_id, starts)
    assert labels[0].startswith("🎟 Use 1 credit"), labels
    await harness.press_button(person, "Use 1 credit")
    return await newest_booking(harness)


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


async def buy_on_the_demo_page(
    harness: BotHarness, catalog: Catalog, pages: TestClient[Any, Any], person: Person, package_id: int
) -> None:
    await harness.press(person, ProfileCb(id=catalog.anna))
    price = format_price(PACKAGE_PRICE, "EUR", "en")
    assert f"🎟 Buy: Three coaching sessions · {price}" in [b["text"] for b in harness.buttons(person)]
    await harness.press_button(person, "Buy: Three coaching sessions")
    pay = harness.buttons(person)[0]
    assert pay["text"] == f"💳 Pay {price}"
    path = urlsplit(pay["url"]).path
    assert (await pages.post(path + "/pay")).status == 200
    await harness.run_worker()


# --- the whole life of a credit --------------------------------------------------------------------------


async def test_credits_are_bought_spent_returned_kept_and_expired(
    harness: BotHarness, catalog: Catalog, pages: TestClient[Any, Any]
) -> None:
    package_id = await add_package(harness, catalog)
    olena = await client(harness)
    paid_at = harness.clock.now()
    expires = paid_at + timedelta(days=VALID_DAYS)

    # Bought on Anna's profile through the demo checkout: three credits, 30 days from the payment.
    before = harness.mark()
    await buy_on_the_demo_page(harness, catalog, pages, olena, package_id)
    (granted,) = [m for m in harness.messages_since(before, olena) if m.text.startswith("✅")]
    assert "Payment received: Three coaching sessions (Anna Koval)." in granted.text
    assert (
        f"You have 3 credits for Coaching session, valid until {format_instant(expires, KYIV, 'en')}." in granted.text
    )
    assert await ledger(harness) == [(CreditKind.GRANT, 3)]
    await harness.send_text(olena, "/credits")
    assert f"3 credits left, valid until {format_instant(expires, KYIV, 'en')}" in harness.last_text(olena)

    # Spent on a booking, which is confirmed at once (no payment link).
    before = harness.mark()
    first = await book_with_credit(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    assert (first.state, first.paid_with) == (BookingState.CONFIRMED, "credit")
    assert harness.messages_since(before, olena)[-1].document is not None  # the calendar file: confirmed
    confirmation = [m for m in harness.messages_since(before, olena) if m.text.startswith("✅ Booked!")][-1]
    assert "Paid with 1 package credit." in confirmation.text
    assert await credits_left(harness, olena) == 2

    # Cancelled by the client within the free window: the credit comes back.
    await harness.press(olena, CancelCb(id=first.id, v=first.version))
    assert "Your package credit comes back to you." in harness.last_text(olena)
    await harness.press(olena, CancelYesCb(id=first.id, v=first.version, p=100))
    assert (await newest_booking(harness)).state == BookingState.CANCELLED
    assert await credits_left(harness, olena) == 3

    # Cancelled late (inside Anna's 72 hours, 50 % back): the credit stays spent.
    late = await book_with_credit(harness, olena, catalog.coaching, kyiv_time("2026-11-24 09:00"))
    await harness.press(olena, CancelCb(id=late.id, v=late.version))
    assert "so the package credit stays used." in harness.last_text(olena)
    await harness.press(olena, CancelYesCb(id=late.id, v=late.version, p=50))
    assert "so the package credit stays used." in harness.last_text(olena)
    assert (await newest_booking(harness)).state == BookingState.CANCELLED
    assert await credits_left(harness, olena) == 2

    # Cancelled by the professional: always given back (what #11's cancellation relies on).
    third = await book_with_credit(harness, olena, catalog.coaching, kyiv_time("2026-12-02 12:00"))
    assert await credits_left(harness, olena) == 1
    async with harness.db() as session:
        await bookings.cancel(session, third.id, by="professional", now=harness.clock.now())
    assert await credits_left(harness, olena) == 2
    async with harness.db() as session:
        assert await credits.return_credit(session, third.id, harness.clock.now()) is False  # once only

    # A session after the credits' expiry is not covered by them.
    labels = await summary_for(harness, olena, catalog.coaching, kyiv_time("2026-12-23 12:00"))
    assert not any("credit" in label for label in labels)

    # Past their date the worker expires what is left; nothing can be spent any more.
    assert await ledger(harness) == [
        (CreditKind.GRANT, 3),
        (CreditKind.SPEND, -1),
        (CreditKind.RETURN, 1),
        (CreditKind.SPEND, -1),
        (CreditKind.SPEND, -1),
        (CreditKind.RETURN, 1),
    ]
    harness.clock.set(expires)
    await harness.run_worker()
    assert (await ledger(harness))[-1] == (CreditKind.EXPIRE, -2)
    await harness.run_worker()
    assert len(await ledger(harness)) == 7  # expired once
    await harness.send_text(olena, "/credits")
    assert "You have no credits." in harness.last_text(olena)
    starts = kyiv_time("2026-12-28 09:00")
    labels = await summary_for(harness, olena, catalog.coaching, starts)
    assert not any("credit" in label for label in labels)
    bookings_before = (await newest_booking(harness)).id
    await harness.press(olena, ConfirmCb(svc=catalog.coaching, at=minute_code(starts), c=1))
    assert "You have no credit left that covers this session." in harness.last_text(olena)
    assert (await newest_booking(harness)).id == bookings_before  # nothing booked, nothing held


async def test_cancelling_a_package_on_the_demo_page_grants_nothing(
    harness: BotHarness, catalog: Catalog, pages: TestClient[Any, Any]
) -> None:
    package_id = await add_package(harness, catalog)
    olena = await client(harness)
    await harness.press(olena, BuyCb(id=package_id))
    path = urlsplit(harness.buttons(olena)[0]["url"]).path
    page = await (await pages.get(path)).text()
    assert (
        "Three coaching sessions with Anna Koval" in page and f"Pay {format_price(PACKAGE_PRICE, 'EUR', 'en')}" in page
    )
    assert (await pages.post(path + "/cancel")).status == 200
    assert "buy the package again" in await (await pages.get(path)).text()
    await harness.run_worker()
    assert await ledger(harness) == []
    async with harness.db() as session:
        assert (await session.scalars(select(PackagePurchase.status))).one() == PurchaseStatus.EXPIRED


async def test_a_credit_is_spent_once_however_often_confirm_is_pressed(harness: BotHarness, catalog: Catalog) -> None:
    await add_package(harness, catalog)
    olena = await client(harness)
    await _grant(harness, olena, await _package_id(harness))
    starts = kyiv_time("2026-12-01 09:00")
    await summary_for(harness, olena, catalog.coaching, starts)
    press = ConfirmCb(svc=catalog.coaching, at=minute_code(starts), c=1)
    await harness.press(olena, press)
    await harness.press(olena, press)
    assert await credits_left(harness, olena) == 2
    assert [kind for kind, _ in await ledger(harness)] == [CreditKind.GRANT, CreditKind.SPEND]


async def test_the_database_refuses_a_second_spend_or_a_malformed_row(harness: BotHarness, catalog: Catalog) -> None:
    await add_package(harness, catalog)
    olena = await client(harness)
    await _grant(harness, olena, await _package_id(harness))
    booking = await book_with_credit(harness, olena, catalog.coaching, kyiv_time("2026-12-01 09:00"))
    owner = await user_of(harness, olena)
    async with harness.db() as session:
        spend = (await session.scalars(select(CreditEntry).where(CreditEntry.kind == CreditKind.SPEND))).one()
        grant_id, package_id = spend.grant_id, spend.package_id
    base = {"client_id": owner.id, "package_id": package_id, "created_at": harness.clock.now()}
    for row in (
        CreditEntry(kind=CreditKind.SPEND, amount=-1, grant_id=grant_id, booking_id=booking.id, **base),
        CreditEntry(kind=CreditKind.SPEND, amount=-2, grant_id=grant_id, booking_id=None, **base),
        CreditEntry(kind=CreditKind.GRANT, amount=3, **base),  # a grant without its purchase or expiry
    ):
        with pytest.raises(IntegrityError):
            async with harness.db() as session:
                session.add(row)


# --- the warning before expiry --------------------------------------------------------------------------


async def test_the_worker_warns_once_a_week_before_credits_expire(harness: BotHarness, catalog: Catalog) -> None:
    package_id = await add_package(harness, catalog)
    olena, petro = await client(harness), await client(harness, "Petro")
    expires = harness.clock.now() + timedelta(days=VALID_DAYS)
    await _grant(harness, olena, package_id)
    await _grant(harness, petro, package_id, sessions=1)
    # Petro spends his only credit: nothing left to warn him about.
    await book_with_credit(harness, petro, catalog.coaching, kyiv_time("2026-12-01 09:00"))

    def warnings() -> list[ChatMessage]:
        # Petro's session meanwhile has its own messages (reminders, a review prompt): not counted here.
        return [m for m in harness.messages_since(before) if "credit" in m.text]

    harness.clock.set(expires - credits.WARN_BEFORE - timedelta(minutes=1))
    before = harness.mark()
    await harness.run_worker()
    assert warnings() == []

    harness.clock.advance(timedelta(minutes=2))
    await harness.run_worker()
    (warning,) = warnings()
    assert warning.chat_id == olena.id
    assert warning.text.startswith("⏳ 3 credits of Three coaching sessions (Anna Koval) expire on")
    assert format_instant(expires, KYIV, "en") in warning.text
    assert [b["text"] for b in warning.inline_buttons()] == ["🗓 Book: Coaching session", "My credits"]

    for _ in range(3):
        harness.clock.advance(timedelta(days=1))
        await harness.run_worker()
    assert warnings() == [warning]


# --- buying through Stripe (the real library against the fake API) ----------------------------------------


@pytest.fixture
async def stripe_api() -> AsyncIterator[FakeStripe]:
    async with fake_stripe() as fake:
        yield fake


async def test_a_package_is_bought_through_a_real_checkout_session(
    bot_db_url: str, clock: FrozenClock, stripe_api: FakeStripe
) -> None:
    async with stripe_harness(bot_db_url, clock, stripe_api) as paying, webhook_client(paying) as webhook:
        catalog = await with_catalog(paying)
        package_id = await add_package(paying, catalog)
        olena = await client(paying)
        await paying.press(olena, BuyCb(id=package_id))
        assert paying.buttons(olena)[0]["url"] == "https://checkout.stripe.test/c/pay/cs_test_1"
        (call,) = stripe_api.to("/v1/checkout/sessions")
        async with paying.db() as session:
            purchase = (await session.scalars(select(PackagePurchase))).one()
        assert call.idempotency_key == f"package:{purchase.id}"
        back = f"https://t.me/{BOT_USERNAME}?start=credits_{purchase.id}"
        assert call.form == {
            "mode": "payment",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": "eur",
            "line_items[0][price_data][unit_amount]": str(PACKAGE_PRICE),
            "line_items[0][price_data][product_data][name]": "Three coaching sessions (Anna Koval)",
            "client_reference_id": f"purchase_{purchase.id}",
            "metadata[purchase_id]": str(purchase.id),
            "payment_intent_data[metadata][purchase_id]": str(purchase.id),
            "expires_at": str(int((clock.now() + timedelta(hours=23)).timestamp())),
            "success_url": back,
            "cancel_url": back,
        }
        # Asking again reuses the open session.
        await paying.press(olena, BuyCb(id=package_id))
        assert len(stripe_api.to("/v1/checkout/sessions")) == 1

        completed = _purchase_event("evt_p1", purchase.id, "cs_test_1")
        before = paying.mark()
        assert await post(webhook, completed) == (200, "applied")
        assert await post(webhook, completed) == (200, "duplicate")
        assert await post(webhook, _purchase_event("evt_p2", purchase.id, "cs_test_1")) == (200, "duplicate")
        await paying.run_worker()
        assert len([m for m in paying.messages_since(before, olena) if m.text.startswith("✅")]) == 1
        assert await ledger(paying) == [(CreditKind.GRANT, 3)]
        async with paying.db() as session:
            purchase = (await session.scalars(select(PackagePurchase))).one()
            assert (purchase.status, purchase.payment_intent_id) == (PurchaseStatus.PAID, "pi_p1")

        # Back from Checkout: the deep link opens /credits.
        await paying.send_text(olena, f"/start credits_{purchase.id}")
        assert "3 credits left" in paying.last_text(olena)


async def test_an_expired_purchase_session_grants_nothing(
    bot_db_url: str, clock: FrozenClock, stripe_api: FakeStripe
) -> None:
    async with stripe_harness(bot_db_url, clock, stripe_api) as paying, webhook_client(paying) as webhook:
        catalog = await with_catalog(paying)
        package_id = await add_package(paying, catalog)
        olena = await client(paying)
        await paying.press(olena, BuyCb(id=package_id))
        expired = _purchase_event("evt_x", 1, "cs_test_1", paid=False, event_type="checkout.session.expired")
        assert await post(webhook, expired) == (200, "applied")
        assert await ledger(paying) == []
        async with paying.db() as session:
            assert (await session.scalar(select(func.count()).select_from(CreditEntry))) == 0


def _purchase_event(
    event_id: str,
    purchase_id: int,
    session_id: str,
    *,
    paid: bool = True,
    event_type: str = "checkout.session.completed",
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "client_reference_id": f"purchase_{purchase_id}",
                "metadata": {"purchase_id": str(purchase_id)},
                "payment_status": "paid" if paid else "unpaid",
                "payment_intent": "pi_p1" if paid else None,
                "amount_total": PACKAGE_PRICE,
                "currency": "eur",
            }
        },
    }


# --- helpers ---------------------------------------------------------------------------------------------


async def _package_id(harness: BotHarness) -> int:
    async with harness.db() as session:
        return int((await session.scalars(select(Package.id).where(Package.slug == "three-sessions"))).one())


async def _grant(harness: BotHarness, person: Person, package_id: int, *, sessions: int = 3) -> None:
    """A paid purchase's credits, as the webhook grants them (the purchase itself is tested above)."""
    owner = await user_of(harness, person)
    now = harness.clock.now()
    async with harness.db() as session:
        purchase = PackagePurchase(
            client_id=owner.id,
            package_id=package_id,
            status=PurchaseStatus.PAID,
            amount_minor=PACKAGE_PRICE,
            currency="EUR",
            sessions=sessions,
            valid_days=VALID_DAYS,
            checkout_expires_at=now,
            paid_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(purchase)
        await session.flush()
        await credits.grant(session, purchase, now)


# --- on PostgreSQL (row locks, partial unique indexes) -----------------------------------------------------


async def test_on_postgresql_the_last_credit_goes_to_one_booking_of_two_racing(pg_harness: BotHarness) -> None:
    catalog = await with_catalog(pg_harness)
    package_id = await add_package(pg_harness, catalog)
    olena = await client(pg_harness)
    await _grant(pg_harness, olena, package_id, sessions=1)
    owner = await user_of(pg_harness, olena)
    now = pg_harness.clock.now()

    async def book(starts: datetime) -> str:
        try:
            async with pg_harness.db() as session:
                client_row = await session.get_one(User, owner.id)
                await bookings.book(
                    session, client=client_row, service_id=catalog.coaching, starts_at=starts, now=now, use_credit=True
                )
        except credits.NoCreditLeft:
            return "no credit"
        return "booked"

    outcomes = await asyncio.gather(book(kyiv_time("2026-12-01 09:00")), book(kyiv_time("2026-12-02 12:00")))
    assert sorted(outcomes) == ["booked", "no credit"]
    assert await ledger(pg_harness) == [(CreditKind.GRANT, 1), (CreditKind.SPEND, -1)]

    booked = await newest_booking(pg_harness)
    async with pg_harness.db() as session:
        await bookings.cancel(session, booked.id, by="system", now=now)
    assert await credits_left(pg_harness, olena) == 1
    pg_harness.clock.set(now + timedelta(days=VALID_DAYS))
    await pg_harness.run_worker()
    assert await ledger(pg_harness) == [
        (CreditKind.GRANT, 1),
        (CreditKind.SPEND, -1),
        (CreditKind.RETURN, 1),
        (CreditKind.EXPIRE, -1),
    ]
