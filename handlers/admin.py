"""/admin: what operators (Settings.admin_ids) do from chat.

- verify a professional (listed to clients from then on; seeds: "Getting verified") or unverify one;
- see the holds waiting for payment: professional, service, client's first name, time, hold expiry.

Everyone else gets exactly what an unknown command gets (the router's filter lets their updates fall
through to the fallback), so the command's existence is not revealed; /admin is not in the command
menu either. Times are shown in the operator's own zone (UTC until they have set one).
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import gettext as _

from bot.render import Rendered, format_clock, format_day, zone_suffix
from bot.services import admin, verification
from bot.services import booking as bookings
from bot.services.errors import NotFound
from bot.settings import Settings
from handlers.common import Callback, Flow, answer_stale, inline_keyboard, replace, send
from handlers.registry import Registry

MAX_HOLDS = 30


async def _is_admin(event: TelegramObject, settings: Settings, event_from_user: TelegramUser | None = None) -> bool:
    return event_from_user is not None and event_from_user.id in settings.admin_ids


class AdminCb(Callback, prefix="ad"):
    view: str  # "menu" | "unverified" | "verified" | "holds"
    page: int = 0


class VerifyCb(Callback, prefix="adv"):
    id: int
    verified: bool
    page: int = 0


VIEWS = ("menu", "unverified", "verified", "holds")


async def admin_command(message: Message, ctx: Flow) -> None:
    await send(ctx, await _menu(ctx))


async def admin_pressed(query: CallbackQuery, callback_data: AdminCb, ctx: Flow) -> None:
    if callback_data.view not in VIEWS:
        await answer_stale(query)
        return
    if callback_data.view == "menu":
        screen = await _menu(ctx)
    elif callback_data.view == "holds":
        screen = await _holds(ctx)
    else:
        screen = await _professionals(ctx, verified=callback_data.view == "verified", page=callback_data.page)
    await replace(query, ctx, screen)


async def verify_pressed(query: CallbackQuery, callback_data: VerifyCb, ctx: Flow) -> None:
    try:
        professional = await admin.set_verified(ctx.session, callback_data.id, callback_data.verified)
    except NotFound:
        await answer_stale(query)
        return
    # Every verification decision is in the audit log with the operator's id.
    await verification.record_switch(
        ctx.session,
        professional,
        verified=callback_data.verified,
        operator_telegram_id=query.from_user.id,
        now=ctx.clock.now(),
    )
    if callback_data.verified:
        note = _("{name} is verified: clients can find them now.").format(name=professional.name)
    else:
        note = _("{name} is no longer verified: clients don't see them; bookings already made stay.").format(
            name=professional.name
        )
    # Back to the list the button was on: the professional has just left it.
    screen = await _professionals(ctx, verified=not callback_data.verified, page=callback_data.page)
    await replace(query, ctx, Rendered(f"{note}\n\n{screen.text}", screen.reply_markup))


async def _menu(ctx: Flow) -> Rendered:
    unverified = await admin.professionals_page(ctx.session, verified=False, page=0)
    verified = await admin.professionals_page(ctx.session, verified=True, page=0)
    holds = await bookings.pending_holds(ctx.session, ctx.clock.now())
    keyboard = inline_keyboard(
        [(_("Unverified ({count})").format(count=unverified.total), AdminCb(view="unverified"))],
        [(_("Verified ({count})").format(count=verified.total), AdminCb(view="verified"))],
        [(_("Holds awaiting payment ({count})").format(count=len(holds)), AdminCb(view="holds"))],
    )
    return Rendered(_("Operator menu"), keyboard)


def _back() -> tuple[str, Callback]:
    return (_("‹ Operator menu"), AdminCb(view="menu"))


async def _professionals(ctx: Flow, *, verified: bool, page: int) -> Rendered:
    found = await admin.professionals_page(ctx.session, verified=verified, page=page)
    view = "verified" if verified else "unverified"
    if verified:
        title = _("Verified professionals (listed to clients)")
    else:
        title = _("Unverified professionals (not listed to clients)")
    if found.pages > 1:
        title += " " + _("— page {page} of {pages}").format(page=found.page + 1, pages=found.pages)
    lines = [title, ""]
    rows: list[list[tuple[str, Any]]] = []
    for professional in found.professionals:
        linked = _("chat linked") if professional.telegram_id is not None else _("chat not linked")
        headline = f" — {professional.headline}" if professional.headline else ""
        lines.append(f"• {professional.name} ({professional.slug}){headline}; {professional.timezone}; {linked}")
        label = (
            _("Unverify {name}").format(name=professional.name)
            if verified
            else _("✓ Verify {name}").format(name=professional.name)
        )
        rows.append([(label, VerifyCb(id=professional.id, verified=not verified, page=found.page))])
    if not found.professionals:
        lines.append(_("None."))
    paging: list[tuple[str, Any]] = []
    if found.page > 0:
        paging.append((_("‹ Previous"), AdminCb(view=view, page=found.page - 1)))
    if found.page + 1 < found.pages:
        paging.append((_("Next ›"), AdminCb(view=view, page=found.page + 1)))
    return Rendered("\n".join(lines), inline_keyboard(*rows, paging, [_back()]))


async def _holds(ctx: Flow) -> Rendered:
    now = ctx.clock.now()
    zone = ctx.user.timezone or "UTC"
    holds = await bookings.pending_holds(ctx.session, now)
    lines = [_("Holds awaiting payment, times in {zone}:").format(zone=zone_suffix(zone, ctx.locale, now)), ""]
    for booking in holds[:MAX_HOLDS]:
        when = f"{format_day(booking.starts_at, zone, ctx.locale)}, {format_clock(booking.starts_at, zone, ctx.locale)}"
        lines.append(f"• {booking.professional.name} · {booking.service.name} · {booking.client.first_name} · {when}")
        if booking.hold_expires_at is not None:
            expires = format_clock(booking.hold_expires_at, zone, ctx.locale)
            if format_day(booking.hold_expires_at, zone, ctx.locale) != format_day(now, zone, ctx.locale):
                expires = f"{format_day(booking.hold_expires_at, zone, ctx.locale)}, {expires}"
            lines.append("   " + _("held until {time}").format(time=expires))
    if not holds:
        lines.append(_("None."))
    elif len(holds) > MAX_HOLDS:
        lines.append(_("… and {count} more.").format(count=len(holds) - MAX_HOLDS))
    return Rendered("\n".join(lines), inline_keyboard([(_("↻ Refresh"), AdminCb(view="holds"))], [_back()]))


def make_router(registry: Registry) -> Router:
    router = Router(name="admin")
    router.message.filter(_is_admin)
    router.callback_query.filter(_is_admin)
    router.message.register(admin_command, Command("admin"))
    router.callback_query.register(admin_pressed, AdminCb.filter())
    router.callback_query.register(verify_pressed, VerifyCb.filter())
    return router
