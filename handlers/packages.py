"""Packages of credits: buying one from a professional's profile (a Checkout link, like a held
session's), /credits (what is left and until when, in the client's zone), and the messages the
worker sends about them (credits granted once the payment's webhook arrives; credits about to expire).

Spending a credit happens on the booking summary (handlers/booking.py, "Use 1 credit").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import Reader, Rendered, format_instant, format_price, send_rendered
from bot.services import credits
from bot.services.errors import NotFound
from bot.services.payments import packages
from bot.services.payments.gateway import PaymentGateway
from handlers.booking_picker import local_day
from handlers.client_callbacks import BrowseCb, ProfileCb, WeekCb
from handlers.client_wording import short_day, viewer_zone
from handlers.common import Button, Callback, Flow, answer, inline_keyboard, send
from handlers.payments import pay_row
from handlers.registry import Registry
from models import Package, Policy

log = logging.getLogger(__name__)


class BuyCb(Callback, prefix="kb"):
    """Buy a package (its id): the Checkout link."""

    id: int


class CreditsCb(Callback, prefix="kc"):
    """The client's credits (/credits)."""


def package_line(package: Package, locale: str) -> str:
    """ "Five coaching sessions: 5 × Coaching session, valid 120 days, €270.00"."""
    price = format_price(package.price_minor, package.currency, locale)
    sessions = ngettext("{count} session of {service}", "{count} sessions of {service}", package.sessions).format(
        count=package.sessions, service=package.service.name
    )
    valid = ngettext("valid {days} day from purchase", "valid {days} days from purchase", package.valid_days).format(
        days=package.valid_days
    )
    return f"{package.name}: {sessions}, {valid}, {price}"


def package_buttons(professional_packages: list[Package], locale: str) -> list[list[Button]]:
    """One "Buy" button a package, for the profile."""
    return [
        [
            (
                "🎟 "
                + _("Buy: {package} · {price}").format(
                    package=package.name, price=format_price(package.price_minor, package.currency, locale)
                ),
                BuyCb(id=package.id),
            )
        ]
        for package in professional_packages
    ]


def credit_button_label(offer: credits.CreditOffer, zone: str, locale: str) -> str:
    """ "Use 1 credit (3 left, until Fri, Mar 12)": the expiry date is the client's local date."""
    until = short_day(local_day(offer.expires_at, zone), locale)
    return "🎟 " + ngettext(
        "Use 1 credit ({left} left, until {date})", "Use 1 credit ({left} left, until {date})", offer.left
    ).format(left=offer.left, date=until)


def credit_policy_line(policy: Policy) -> str:
    """What cancelling does to a credit, under the professional's policy (bot.services.policy)."""
    if policy.late_cancellation_refund_percent == 100:
        return _("With a credit: cancel any time before the start and it comes back.")
    return ngettext(
        "With a credit: cancel up to {hours} hour before the start and it comes back; later it stays used.",
        "With a credit: cancel up to {hours} hours before the start and it comes back; later it stays used.",
        policy.free_cancellation_hours,
    ).format(hours=policy.free_cancellation_hours)


def purchase_screen(package: Package, locale: str, link: packages.PackageLink | None) -> Rendered:
    lines = [
        "🎟 " + _("{package} with {name}").format(package=package.name, name=package.professional.name),
        package_line(package, locale),
        _("1 credit = 1 session. Credits cover sessions that start before they expire."),
        "",
    ]
    price = format_price(package.price_minor, package.currency, locale)
    row, failed = pay_row(link.url if link is not None else None, price, BuyCb(id=package.id))
    lines.append(failed or _("Pay to get your credits; they show in /credits once the payment is confirmed."))
    rows: list[list[Button]] = [row]
    rows.append(
        [("◀ " + _("Back to {name}").format(name=package.professional.name), ProfileCb(id=package.professional_id))]
    )
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def buy_pressed(query: CallbackQuery, callback_data: BuyCb, ctx: Flow, gateway: PaymentGateway) -> None:
    # Unknown, retired or forged: NotFound, the fallback's polite "no longer available".
    package = await packages.buyable_package(ctx.session, callback_data.id)
    bot, chat_id, sessions, clock, i18n = ctx.bot, ctx.chat_id, ctx.sessions, ctx.clock, ctx.i18n
    locale, client_id, settings = ctx.locale, ctx.user.id, ctx.settings
    message = query.message if isinstance(query.message, Message) else None
    package_id = package.id

    async def deliver() -> None:
        # After the update's commit: the gateway is called outside any transaction.
        link: packages.PackageLink | None = None
        try:
            username = settings.bot_username or (await bot.me()).username or "bot"
            link = await packages.open_package_checkout(
                sessions, gateway, clock, package_id=package_id, client_id=client_id, bot_username=username
            )
        except NotFound:
            pass  # retired since the press: the screen below still names it, with a retry that will say so
        except Exception:
            log.exception("package %s: no checkout link", package_id)
        async with sessions() as session:
            try:
                fresh = await packages.buyable_package(session, package_id)
            except NotFound:
                return
            with i18n.context(), i18n.use_locale(locale):
                rendered = purchase_screen(fresh, locale, link)
        if message is not None and isinstance(rendered.reply_markup, InlineKeyboardMarkup):
            try:
                await message.edit_text(rendered.text, entities=rendered.entities, reply_markup=rendered.reply_markup)
                return
            except TelegramBadRequest as exc:
                if "not modified" in str(exc):
                    return
        await send_rendered(bot, chat_id, rendered)

    ctx.replies.add("checkout+sendMessage", deliver, chat_id)
    await answer(query)


# --- /credits ----------------------------------------------------------------------------------------------


async def credits_screen(ctx: Flow) -> Rendered:
    zone, locale = viewer_zone(ctx), ctx.locale
    found = await credits.balances(ctx.session, ctx.user.id, ctx.clock.now())
    if not found:
        text = "\n".join(
            [
                _("You have no credits."),
                _("Some professionals sell packages of sessions on their profile: 1 credit = 1 session."),
            ]
        )
        return Rendered(text, inline_keyboard([(_("Find a professional"), BrowseCb())]))
    lines = ["🎟 " + _("Your credits"), ""]
    rows: list[list[Button]] = []
    for balance in found:
        lines.append(_("{package} ({name})").format(package=balance.package_name, name=balance.professional_name))
        lines.append(
            "   "
            + ngettext("{count} credit left", "{count} credits left", balance.left).format(count=balance.left)
            + ", "
            + _("valid until {when}").format(when=format_instant(balance.expires_at, zone, locale))
        )
        rows.append(
            [("🗓 " + _("Book: {service}").format(service=balance.service_name), WeekCb(svc=balance.service_id))]
        )
    lines += ["", _("A credit covers a session that starts before it expires.")]
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def credits_command(message: Message, ctx: Flow) -> None:
    await send(ctx, await credits_screen(ctx))


async def credits_pressed(query: CallbackQuery, callback_data: CreditsCb, ctx: Flow) -> None:
    await send(ctx, await credits_screen(ctx))
    await answer(query)


async def open_credits(ctx: Flow, _argument: str) -> Rendered:
    """`/start credits_<purchase>`: back from a package's Checkout."""
    return await credits_screen(ctx)


# --- later messages (outbox) -------------------------------------------------------------------------


def _expires(payload: Mapping[str, Any], reader: Reader) -> str:
    return format_instant(datetime.fromisoformat(str(payload["expires_at"])), reader.zone, reader.locale)


def credits_granted_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    left = int(payload["left"])
    lines = [
        "✅ "
        + _("Payment received: {package} ({name}).").format(
            package=payload["package_name"], name=payload["professional_name"]
        ),
        ngettext(
            "You have {count} credit for {service}, valid until {when}.",
            "You have {count} credits for {service}, valid until {when}.",
            left,
        ).format(count=left, service=payload["service_name"], when=_expires(payload, reader)),
        _("Pick a time and choose “Use 1 credit” on the summary."),
    ]
    keyboard = inline_keyboard(
        [("🗓 " + _("Book: {service}").format(service=payload["service_name"]), WeekCb(svc=int(payload["service_id"])))],
        [(_("My credits"), CreditsCb())],
    )
    return Rendered("\n".join(lines), keyboard)


def credits_expiring_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    left = int(payload["left"])
    lines = [
        "⏳ "
        + ngettext(
            "{count} credit of {package} ({name}) expires on {when}.",
            "{count} credits of {package} ({name}) expire on {when}.",
            left,
        ).format(
            count=left,
            package=payload["package_name"],
            name=payload["professional_name"],
            when=_expires(payload, reader),
        ),
        _("Book a session that starts before then to use them."),
    ]
    keyboard = inline_keyboard(
        [("🗓 " + _("Book: {service}").format(service=payload["service_name"]), WeekCb(svc=int(payload["service_id"])))],
        [(_("My credits"), CreditsCb())],
    )
    return Rendered("\n".join(lines), keyboard)


def make_router(registry: Registry) -> Router:
    router = Router(name="packages")
    registry.command("credits", lambda: _("Your package credits"))
    registry.deep_link(packages.DEEP_LINK, open_credits)
    registry.renderers.register(credits.CREDITS_GRANTED_CLIENT)(credits_granted_for_client)
    registry.renderers.register(credits.CREDITS_EXPIRING_CLIENT)(credits_expiring_for_client)
    registry.read_only_callbacks(CreditsCb)
    router.message.register(credits_command, Command("credits"))
    router.callback_query.register(buy_pressed, BuyCb.filter())
    router.callback_query.register(credits_pressed, CreditsCb.filter())
    return router
