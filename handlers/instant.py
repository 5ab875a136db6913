"""The client's "available now" filter: professionals who said they are free now, soonest start
first (within 15 minutes), and one tap that holds the time and goes straight to payment
(bot/services/instant.py). The professional turns it on from /agenda (handlers/pro_sessions.py)."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import Rendered, format_clock, format_duration, format_price, zone_suffix
from bot.services import instant
from bot.services.booking_view import booking_view
from bot.services.errors import SlotUnavailable
from bot.services.payments.gateway import PaymentGateway
from handlers.booking_messages import calendar_message, confirmation_message
from handlers.client_callbacks import BrowseCb
from handlers.client_wording import viewer_zone
from handlers.common import Button, Callback, Flow, answer, inline_keyboard, replace, send
from handlers.payments import offer_payment
from handlers.registry import Registry
from models import BookingState


class InstantListCb(Callback, prefix="cpn"):
    """Who is available now."""


class InstantBookCb(Callback, prefix="cpi"):
    """Book this service's next instant start."""

    svc: int


def _starts(start: datetime, now: datetime, zone: str, locale: str) -> str:
    minutes = max(0, int((start - now).total_seconds() // 60))
    clock = format_clock(start, zone, locale)
    if minutes == 0:
        return _("starts {time} (now)").format(time=clock)
    return ngettext("starts {time} (in {n} minute)", "starts {time} (in {n} minutes)", minutes).format(
        time=clock, n=minutes
    )


async def available_screen(ctx: Flow, note: str | None = None) -> Rendered:
    now, zone = ctx.clock.now(), viewer_zone(ctx)
    found = await instant.available_now(ctx.session, now)
    lines = [note, ""] if note else []
    back: list[Button] = [("◀ " + _("All professionals"), BrowseCb())]
    if not found:
        lines.append(_("Nobody is available right now. Try again later, or book a time ahead."))
        return Rendered("\n".join(lines), inline_keyboard([(_("↻ Refresh"), InstantListCb())], back))
    minutes = int(instant.START_WITHIN.total_seconds() // 60)
    lines.append(
        _("⚡ Available now: sessions starting within {minutes} minutes ({zone}).").format(
            minutes=minutes, zone=zone_suffix(zone, ctx.locale, now)
        )
    )
    rows: list[list[Button]] = []
    for item in found:
        service = item.service
        lines.append(
            f"• {item.professional.name} · {service.name} ({format_duration(service.duration_minutes)}, "
            f"{format_price(service.price_minor, service.currency, ctx.locale)}): "
            + _starts(item.starts_at, now, zone, ctx.locale)
        )
        label = f"⚡ {item.professional.name}, {format_clock(item.starts_at, zone, ctx.locale)}"
        rows.append([(label, InstantBookCb(svc=service.id))])
    lines += ["", _("Booking goes straight to payment; the time is held for you for a few minutes.")]
    return Rendered("\n".join(lines), inline_keyboard(*rows, [(_("↻ Refresh"), InstantListCb())], back))


async def list_pressed(query: CallbackQuery, ctx: Flow) -> None:
    await replace(query, ctx, await available_screen(ctx))


async def book_pressed(query: CallbackQuery, callback_data: InstantBookCb, ctx: Flow, gateway: PaymentGateway) -> None:
    now, zone = ctx.clock.now(), viewer_zone(ctx)
    stripe = ctx.settings.stripe_secret_key is not None
    try:
        booking = await instant.book(ctx.session, client=ctx.user, service_id=callback_data.svc, now=now, stripe=stripe)
    except SlotUnavailable:
        note = _("Sorry, that is no longer available now.")
        await replace(query, ctx, await available_screen(ctx, note))
        return
    if booking.state == BookingState.HELD:
        offer_payment(ctx, gateway, booking_view(booking), query)
        await answer(query)
        return
    await replace(query, ctx, confirmation_message(booking_view(booking), zone, ctx.locale))
    await send(ctx, calendar_message(booking_view(booking), now))


def make_router(registry: Registry) -> Router:
    router = Router(name="instant")
    registry.read_only_callbacks(InstantListCb)
    router.callback_query.register(list_pressed, InstantListCb.filter())
    router.callback_query.register(book_pressed, InstantBookCb.filter())
    return router
