"""Buying a package of credits through Checkout, the same gateway and `/webhooks/stripe` as bookings.

    link = await open_package_checkout(sessions, gateway, clock, package_id=3, client_id=7, bot_username="bot")

Like a booking's payment (checkout.py), in short steps so no transaction is open while the gateway is
called: reserve a purchase (or find the client's open one for this package) and commit; ask the
gateway with the idempotency key `package:{purchase}`; store the session. The package's terms are
copied onto the purchase when the client asks. The webhook's `checkout.session.completed` (paid)
marks the purchase paid and grants its credits in the same transaction (`purchase_paid`), once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.services import credits
from bot.services.clock import Clock
from bot.services.errors import NotFound
from bot.services.payments.gateway import PURCHASE, CheckoutRequest, PaymentGateway
from models import Package, PackagePurchase, Professional, PurchaseStatus

log = logging.getLogger(__name__)

# How long a package's Checkout Session stays open: under Stripe's 24 h limit, with room for clock skew.
CHECKOUT_LIFETIME = timedelta(hours=23)
# An open session this close to its end is not handed out again.
REUSE_MARGIN = timedelta(minutes=5)
# A reserved purchase whose gateway call failed is retried with the same request this long.
RETRY_WINDOW = timedelta(hours=1)
DEEP_LINK = "credits"


@dataclass(frozen=True)
class PackageLink:
    purchase_id: int
    url: str
    amount_minor: int
    currency: str


async def buyable_package(session: AsyncSession, package_id: int) -> Package:
    """An active package of a verified professional, for an active service; NotFound otherwise (a stale
    or forged button learns nothing)."""
    package = await session.get(
        Package, package_id, options=[selectinload(Package.professional), selectinload(Package.service)]
    )
    if package is None or not package.active or not package.service.active or not package.professional.verified:
        raise NotFound("package", package_id)
    return package


async def buyable_packages(session: AsyncSession, professional: Professional) -> list[Package]:
    """A professional's packages a client can buy now, in catalog order."""
    query = (
        select(Package)
        .options(selectinload(Package.service))
        .where(Package.professional_id == professional.id, Package.active.is_(True))
        .order_by(Package.id)
    )
    return [package for package in (await session.scalars(query)).all() if package.service.active]


def return_url(bot_username: str, purchase_id: int) -> str:
    """Where Checkout sends the client back: the bot's chat, opening /credits."""
    return f"https://t.me/{bot_username}?start={DEEP_LINK}_{purchase_id}"


async def open_package_checkout(
    sessions: async_sessionmaker[AsyncSession],
    gateway: PaymentGateway,
    clock: Clock,
    *,
    package_id: int,
    client_id: int,
    bot_username: str,
) -> PackageLink:
    """The Checkout link to buy the package. NotFound when it cannot be bought; GatewayError when the
    gateway cannot make one now (nothing is lost: asking again retries with the same key)."""
    async with sessions.begin() as session:
        reserved = await _reserve(session, package_id, client_id, clock.now(), bot_username)
    if isinstance(reserved, PackageLink):
        return reserved
    created = await gateway.create_checkout(reserved)
    async with sessions.begin() as session:
        purchase = await session.get(PackagePurchase, reserved.subject_id, with_for_update=True)
        if purchase is not None and purchase.status == PurchaseStatus.CREATING:
            purchase.status = PurchaseStatus.OPEN
            purchase.checkout_session_id = created.session_id
            purchase.checkout_url = created.url
            purchase.updated_at = clock.now()
    return PackageLink(reserved.subject_id, created.url, reserved.amount_minor, reserved.currency)


async def _reserve(
    session: AsyncSession, package_id: int, client_id: int, now: datetime, bot_username: str
) -> PackageLink | CheckoutRequest:
    package = await buyable_package(session, package_id)
    latest = await session.scalar(
        select(PackagePurchase)
        .where(
            PackagePurchase.client_id == client_id,
            PackagePurchase.package_id == package_id,
            PackagePurchase.status.in_((PurchaseStatus.OPEN, PurchaseStatus.CREATING)),
        )
        .order_by(PackagePurchase.id.desc())
        .limit(1)
        .with_for_update()
    )
    if (
        latest is not None
        and latest.status == PurchaseStatus.OPEN
        and latest.checkout_url is not None
        and latest.checkout_expires_at > now + REUSE_MARGIN
    ):
        return PackageLink(latest.id, latest.checkout_url, latest.amount_minor, latest.currency)
    if latest is not None and latest.status == PurchaseStatus.CREATING and latest.created_at > now - RETRY_WINDOW:
        purchase = latest
    else:
        purchase = PackagePurchase(
            client_id=client_id,
            package_id=package.id,
            status=PurchaseStatus.CREATING,
            amount_minor=package.price_minor,
            currency=package.currency,
            sessions=package.sessions,
            valid_days=package.valid_days,
            checkout_expires_at=now + CHECKOUT_LIFETIME,
            destination_account=package.professional.stripe_account,
            created_at=now,
            updated_at=now,
        )
        session.add(purchase)
        await session.flush()
    back = return_url(bot_username, purchase.id)
    return CheckoutRequest(
        subject=PURCHASE,
        subject_id=purchase.id,
        attempt=1,
        amount_minor=purchase.amount_minor,
        currency=purchase.currency,
        product_name=f"{package.name} ({package.professional.name})",
        expires_at=purchase.checkout_expires_at,
        success_url=back,
        cancel_url=back,
        destination=purchase.destination_account,
    )


# --- the webhook's part (in the event's transaction) -----------------------------------------------------


def purchase_id_of(obj: dict[str, Any]) -> int | None:
    """The purchase a Checkout Session is about (metadata, else client_reference_id), or None."""
    metadata = obj.get("metadata") or {}
    raw = metadata.get("purchase_id") if isinstance(metadata, dict) else None
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    reference = obj.get("client_reference_id")
    if isinstance(reference, str) and reference.startswith("purchase_") and reference[9:].isdigit():
        return int(reference[9:])
    return None


async def _purchase_of(session: AsyncSession, purchase_id: int, obj: dict[str, Any]) -> PackagePurchase | None:
    purchase = await session.get(PackagePurchase, purchase_id, with_for_update=True, populate_existing=True)
    session_id = obj.get("id")
    if purchase is None or not isinstance(session_id, str):
        return None
    if purchase.checkout_session_id is None:
        # We crashed between the gateway's answer and our commit: the metadata names the purchase.
        purchase.checkout_session_id = session_id
    return purchase if purchase.checkout_session_id == session_id else None


async def purchase_paid(session: AsyncSession, purchase_id: int, obj: dict[str, Any], now: datetime) -> str:
    """A paid session of a purchase: mark it paid and grant its credits, once. Returns the outcome."""
    purchase = await _purchase_of(session, purchase_id, obj)
    if purchase is None:
        log.warning("Stripe paid session %s names no purchase of ours (%s)", obj.get("id"), purchase_id)
        return "unknown"
    if purchase.status == PurchaseStatus.PAID:
        return "duplicate"
    purchase.status = PurchaseStatus.PAID
    purchase.paid_at = now
    purchase.updated_at = now
    intent = obj.get("payment_intent")
    if isinstance(intent, str):
        purchase.payment_intent_id = intent
    # Whatever happened to the session on our side (replaced, expired), money paid buys the credits.
    entry = await credits.grant(session, purchase, now)
    await credits.notify_granted(session, purchase, entry, now)
    return "applied"


async def purchase_unpaid(session: AsyncSession, purchase_id: int, obj: dict[str, Any], now: datetime) -> str:
    purchase = await _purchase_of(session, purchase_id, obj)
    if purchase is None:
        return "unknown"
    if purchase.status == PurchaseStatus.PAID:
        return "ignored"  # out of order: paid already
    purchase.status = PurchaseStatus.EXPIRED
    purchase.updated_at = now
    return "applied"
