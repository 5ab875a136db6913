"""Paying for a held session: the summary with a "Pay €60.00" link to the gateway's checkout, and the
messages payments send later (a payment that came too late, a refund that went through).

The checkout link needs a call to the gateway (Stripe), and no transaction may stay open across it:
so the held screen is a reply that, once the update has committed, asks the payments service for
the link (bot/services/payments/checkout.py, its own short transactions around the call) and then
shows it. When the gateway cannot be reached the screen says so and offers to try again; nothing is lost.
Confirmation never comes from here or from the redirect back: only from the gateway's signed event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.render import (
    Reader,
    Rendered,
    format_duration,
    format_instant,
    format_money,
    format_price,
    send_rendered,
)
from bot.services import booking as bookings
from bot.services.booking_view import BookingView, booking_view
from bot.services.payments import checkout
from bot.services.payments import records as payment_records
from bot.services.payments.gateway import PaymentGateway
from bot.services.payments.refunds import REFUND_DONE_CLIENT
from bot.services.payments.webhooks import PAID_TOO_LATE_CLIENT
from handlers.client_callbacks import AgainCb, BookingCb, BookingsCb, CancelCb
from handlers.client_wording import format_soon, notes_line, viewer_zone, when_lines_of
from handlers.common import Callback, Flow, answer, inline_keyboard, send
from handlers.registry import Registry
from models import BookingState

log = logging.getLogger(__name__)


class PayCb(Callback, prefix="pay"):
    """Pay for a held booking (a new Checkout link when the last one ran out)."""

    id: int


def pay_row(url: str | None, price: str, retry: Callback) -> tuple[list[Any], str | None]:
    """The "Pay €60.00" button that opens the checkout page at `url`; without a page (the gateway could
    not be reached), "Try paying again" pressing `retry`, and the line that says why."""
    if url is not None:
        return [InlineKeyboardButton(text="💳 " + _("Pay {price}").format(price=price), url=url)], None
    failed = _("The payment page could not be opened just now. Please try again in a moment.")
    return [("💳 " + _("Try paying again"), retry)], failed


def held_screen(view: BookingView, zone: str, locale: str, now: datetime, link: checkout.PayLink | None) -> Rendered:
    """A paid session held while the client pays; with the gateway's link, or a retry when it had none."""
    expires = link.hold_expires_at if link is not None else (view.hold_expires_at or view.starts_at)
    lines = [
        "⏳ " + _("Held for you until {when}.").format(when=format_soon(expires, zone, locale, now)),
        "",
        _("{service} with {name}").format(service=view.service_name, name=view.professional_name),
        *when_lines_of(view.starts_at, view.professional_name, view.professional_zone, zone, locale),
        _("Duration: {duration}").format(duration=format_duration(view.duration_minutes)),
        _("Price: {price}").format(price=format_price(view.price_minor, view.currency, locale)),
        *notes_line(view.notes),
        "",
    ]
    price = format_price(view.price_minor, view.currency, locale)
    row, failed = pay_row(link.url if link is not None else None, price, PayCb(id=view.booking_id))
    lines.append(failed or _("Pay by then to confirm it; otherwise the time is released for others."))
    rows: list[list[Any]] = [row]
    rows.append(
        [(_("Release this time"), CancelCb(id=view.booking_id, v=view.version)), (_("My sessions"), BookingsCb())]
    )
    return Rendered("\n".join(lines), inline_keyboard(*rows))


def offer_payment(ctx: Flow, gateway: PaymentGateway, view: BookingView, query: CallbackQuery | None = None) -> None:
    """Once this update has committed: get the Checkout link and show the held screen with it (in place
    of the pressed message when there is one)."""
    bot, chat_id, sessions, clock, i18n = ctx.bot, ctx.chat_id, ctx.sessions, ctx.clock, ctx.i18n
    locale, zone, client_id, settings = ctx.locale, viewer_zone(ctx), ctx.user.id, ctx.settings
    message = query.message if query is not None and isinstance(query.message, Message) else None

    async def deliver() -> None:
        link: checkout.PayLink | None = None
        try:
            username = settings.bot_username or (await bot.me()).username or "bot"
            link = await checkout.open_checkout(
                sessions, gateway, clock, booking_id=view.booking_id, client_id=client_id, bot_username=username
            )
        except Exception:
            # The gateway refused or is unreachable: the screen offers to try again.
            log.exception("booking %s: no checkout link", view.booking_id)
        with i18n.context(), i18n.use_locale(locale):
            rendered = held_screen(view, zone, locale, clock.now(), link)
        if message is not None and isinstance(rendered.reply_markup, InlineKeyboardMarkup):
            try:
                await message.edit_text(rendered.text, entities=rendered.entities, reply_markup=rendered.reply_markup)
                return
            except TelegramBadRequest as exc:
                if "not modified" in str(exc):
                    return
        await send_rendered(bot, chat_id, rendered)

    ctx.replies.add("checkout+sendMessage", deliver, chat_id)


async def pay_pressed(query: CallbackQuery, callback_data: PayCb, ctx: Flow, gateway: PaymentGateway) -> None:
    # Not this client's, or gone: the fallback's polite "no longer available" (callback data is untrusted).
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    if booking.state != BookingState.HELD:
        await answer(query, _("This booking is no longer waiting for payment."))
        return
    offer_payment(ctx, gateway, booking_view(booking), query)
    await answer(query)


# --- later messages (outbox) -------------------------------------------------------------------------


def _what_when(view: BookingView, reader: Reader) -> list[str]:
    return [
        _("{service} with {name}").format(service=view.service_name, name=view.professional_name),
        format_instant(view.starts_at, reader.zone, reader.locale),
    ]


def paid_too_late_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """The payment came after the hold ran out and someone else has the time now."""
    view = BookingView.from_json(payload)
    refund = format_price(int(payload["refund_minor"]), str(payload["refund_currency"]), reader.locale)
    lines = [
        _("We're sorry: your payment arrived after the hold ran out, and someone else has booked that time."),
        *_what_when(view, reader),
        "",
        _("The full {amount} is on its way back to you.").format(amount=refund),
    ]
    alternatives = [datetime.fromisoformat(raw) for raw in payload.get("alternatives", [])]
    if alternatives:
        lines += ["", _("The nearest free times:")]
        lines += ["• " + format_instant(start, reader.zone, reader.locale) for start in alternatives]
    keyboard = inline_keyboard([("🗓 " + _("Pick a time again"), AgainCb(id=view.booking_id))])
    return Rendered("\n".join(lines), keyboard)


def refund_done_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    refund = format_price(int(payload["refund_minor"]), str(payload["refund_currency"]), reader.locale)
    lines = [
        "💸 " + _("Your refund of {amount} went through.").format(amount=refund),
        *_what_when(view, reader),
        _("It can take a few days to show on your statement."),
    ]
    keyboard = inline_keyboard([(_("Open the booking"), BookingCb(id=view.booking_id))])
    return Rendered("\n".join(lines), keyboard)


# --- receipts ------------------------------------------------------------------------------------------


class ReceiptCb(Callback, prefix="rcp"):
    """The receipt of a paid booking (Stripe's page where there is one, and our own summary)."""

    id: int


async def receipt_pressed(query: CallbackQuery, callback_data: ReceiptCb, ctx: Flow) -> None:
    # Not this client's, or gone: the fallback's polite "no longer available" (callback data is untrusted).
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    money = await payment_records.payment_summary(ctx.session, booking.id)
    if money is None:
        await answer(query, _("There is no payment for this booking."))
        return
    await send(ctx, receipt(booking_view(booking), money, viewer_zone(ctx), ctx.locale))
    await answer(query)


def receipt(view: BookingView, money: payment_records.PaymentSummary, zone: str, locale: str) -> Rendered:
    """Our own receipt, for an expense claim: amount, date, professional, service, payment id."""
    lines = [
        "🧾 " + _("Receipt"),
        "",
        _("Service: {service}").format(service=view.service_name),
        _("Professional: {name}").format(name=view.professional_name),
        _("Session: {when}").format(when=format_instant(view.starts_at, zone, locale)),
        _("Amount paid: {amount}").format(amount=format_money(money.paid_minor, money.currency, locale)),
    ]
    if money.paid_at is not None:
        lines.append(_("Paid on: {when}").format(when=format_instant(money.paid_at, zone, locale)))
    if money.refund_minor:
        lines.append(_("Refunded: {amount}").format(amount=format_money(money.refund_minor, money.currency, locale)))
    lines.append(_("Payment id: {reference}").format(reference=money.reference))
    rows: list[list[Any]] = []
    if money.receipt_url is not None:
        rows.append([InlineKeyboardButton(text=_("Stripe's receipt"), url=money.receipt_url)])
    rows.append([(_("Open the booking"), BookingCb(id=view.booking_id))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


def make_router(registry: Registry) -> Router:
    router = Router(name="payments")
    registry.renderers.register(PAID_TOO_LATE_CLIENT)(paid_too_late_for_client)
    registry.renderers.register(REFUND_DONE_CLIENT)(refund_done_for_client)
    router.callback_query.register(pay_pressed, PayCb.filter())
    router.callback_query.register(receipt_pressed, ReceiptCb.filter())
    return router
