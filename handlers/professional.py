"""The professional's side of the chat: linking their chat through an invite link, the notifications
about their bookings, and /agenda.

- `/start inv_<token>` (a link `bookbot invite` prints) links this Telegram account to the invite's
  professional: handlers/pro_setup.py (with the setup of their profile).
- Notifications ("booking_new_pro", "booking_cancelled_pro", "booking_rescheduled_pro") are written
  to the outbox by the booking service and rendered here, in the professional's zone and language.
- /agenda: today's and the next six days' sessions in the professional's zone, with the client's
  first name, service and notes; a session that has begun can be marked completed or no-show.

/agenda and /hours (handlers/hours.py) are not in the public command menu, which every client sees:
a professional gets them in their own chat's menu when they link (BotCommandScopeChat) and in the
greeting. Their handlers sit on routers from `professionals_only()`, whose filter lets only a linked
professional through and hands the handler their `professional`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import (
    Reader,
    Rendered,
    format_clock,
    format_day,
    format_duration,
    format_instant,
    format_price,
    zone_suffix,
)
from bot.services import booking as bookings
from bot.services import invites
from bot.services.availability import start_of_local_day
from bot.services.booking_view import BookingView
from bot.services.errors import IllegalTransition, NotAllowed, NotFound, NotStartedYet
from bot.services.policy import Actor
from bot.services.timezones import zone as zone_named
from handlers.client_wording import same_zone
from handlers.common import Button, Callback, Flow, answer, answer_stale, inline_keyboard, replace, send
from handlers.pro_session_buttons import agenda_rows, no_show_question
from handlers.registry import CommandInfo, Registry
from models import Booking, BookingState, Professional

log = logging.getLogger(__name__)


AGENDA_DAYS = 7
# Confirmed sessions from the days before today still wait for a mark until the worker completes
# them (24 h after they end); show them that long.
UNMARKED_LOOKBACK = timedelta(days=3)
NOTES_IN_AGENDA = 300
MAX_MARK_BUTTONS = 8
TEXT_LIMIT = 4000  # Telegram's 4096, with room for the "and N more" line
BULLET = "• "


def professional_commands() -> list[CommandInfo]:
    """The commands only a linked professional has (listed in their greeting and their chat's menu)."""
    return [
        CommandInfo("agenda", lambda: _("Your sessions today and this week")),
        CommandInfo("hours", lambda: _("Your weekly hours and days off")),
        CommandInfo("daily", lambda: _("Today's sessions every morning at 08:00: on or off")),
    ]


async def commands_of_a_professional(ctx: Flow) -> list[CommandInfo]:
    return professional_commands() if await linked_professional(ctx) is not None else []


async def linked_professional(ctx: Flow) -> Professional | None:
    return await invites.professional_of(ctx.session, ctx.user.telegram_id)


class LinkedProfessional(Filter):
    """Lets through the updates of a person whose chat is linked to a professional's profile, and hands
    their handler that `professional`."""

    async def __call__(self, event: TelegramObject, ctx: Flow) -> bool | dict[str, Any]:
        professional = await linked_professional(ctx)
        return {"professional": professional} if professional is not None else False


def professionals_only(name: str) -> Router:
    """A router only linked professionals reach; its handlers take `professional: Professional`."""
    router = Router(name=name)
    router.message.filter(LinkedProfessional())
    router.callback_query.filter(LinkedProfessional())
    return router


async def not_linked_command(message: Message, ctx: Flow) -> None:
    await send(ctx, for_professionals_only())


async def not_linked_step(message: Message, ctx: Flow) -> None:
    """Input for a professional's step from someone whose link has gone meanwhile."""
    await ctx.state.clear()
    await send(ctx, for_professionals_only())


def for_professionals_only() -> Rendered:
    return Rendered(
        _(
            "This is for professionals: it works once your chat is linked to your profile. "
            "If you are one, ask the operator for an invite link."
        )
    )


# --- notifications (outbox renderers) --------------------------------------------------------------


def _instant(payload: Mapping[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(payload[key])


def _mode(mode: str) -> str:
    if mode == "phone":
        return _("phone")
    return _("video") if mode == "video" else _("in person")


def _booking_lines(view: BookingView, reader: Reader, *, when_label: str | None = None) -> list[str]:
    """Client, service and time (in the professional's zone, and the client's where it differs)."""
    client = view.client_name or _("a client")
    lines = [
        _("Client: {name}").format(name=client),
        _("Service: {service} ({mode}, {duration})").format(
            service=view.service_name, mode=_mode(view.mode), duration=format_duration(view.duration_minutes)
        ),
        (when_label or _("When: {when}")).format(when=format_instant(view.starts_at, reader.zone, reader.locale)),
    ]
    if not same_zone(view.client_zone, reader.zone):
        lines.append(
            _("{name}'s time: {when}").format(
                name=client, when=format_instant(view.starts_at, view.client_zone, reader.locale)
            )
        )
    return lines


def _phone_line(view: BookingView) -> list[str]:
    """A phone session: the number the client gave for it (theirs to call at the session time)."""
    if not view.client_phone:
        return []
    return [_("Call {name} at {number}").format(name=view.client_name or _("the client"), number=view.client_phone)]


def _notes_line(payload: Mapping[str, Any]) -> list[str]:
    return [_("Notes: {notes}").format(notes=payload["notes"])] if payload.get("notes") else []


def _agenda_button() -> InlineKeyboardMarkup:
    return inline_keyboard([(_("Open my agenda"), AgendaCb())])


def _by(actor: str) -> str:
    if actor == "client":
        return _("by the client")
    if actor == "operator":
        return _("by an operator")
    if actor == "professional":
        return _("by you")
    return _("automatically")


def booking_new_pro(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    lines = [
        _("📅 New booking"),
        *_booking_lines(view, reader),
        _("Price: {price}").format(price=format_price(view.price_minor, view.currency, reader.locale)),
        *_phone_line(view),
        *_notes_line(payload),
    ]
    return Rendered("\n".join(lines), _agenda_button())


def booking_cancelled_pro(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    lines = [
        _("❌ Booking cancelled {by}").format(by=_by(payload.get("cancelled_by") or "system")),
        *_booking_lines(BookingView.from_json(payload), reader, when_label=_("Was: {when}")),
    ]
    if payload.get("reason"):
        lines.append(_("Reason: {reason}").format(reason=payload["reason"]))
    lines.append(_("The time is free for other bookings again."))
    return Rendered("\n".join(lines), _agenda_button())


def booking_rescheduled_pro(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    previous = _instant(payload, "previous_starts_at")
    lines = [
        _("🔁 Booking moved {by}").format(by=_by(payload.get("rescheduled_by") or "client")),
        _("From: {when}").format(when=format_instant(previous, reader.zone, reader.locale)),
        *_booking_lines(BookingView.from_json(payload), reader, when_label=_("To: {when}")),
        *_notes_line(payload),
    ]
    return Rendered("\n".join(lines), _agenda_button())


# --- /agenda ---------------------------------------------------------------------------------------


class AgendaCb(Callback, prefix="ag"):
    pass


class MarkCb(Callback, prefix="agm"):
    id: int
    outcome: str  # "done" | "missed"


OUTCOMES = ("done", "missed")


async def agenda_command(message: Message, ctx: Flow, professional: Professional) -> None:
    await send(ctx, await agenda_screen(ctx, professional))


async def agenda_pressed(query: CallbackQuery, ctx: Flow, professional: Professional) -> None:
    await replace(query, ctx, await agenda_screen(ctx, professional))


async def mark_pressed(query: CallbackQuery, callback_data: MarkCb, ctx: Flow, professional: Professional) -> None:
    if callback_data.outcome not in OUTCOMES:
        await answer_stale(query)
        return
    now = ctx.clock.now()
    try:
        # Callback data is untrusted: only this professional's own booking goes any further.
        booking = await bookings.professional_booking(ctx.session, callback_data.id, professional)
        if callback_data.outcome == "missed" and booking.state == BookingState.CONFIRMED and booking.starts_at <= now:
            # A no-show is asked about first (handlers/pro_sessions.py confirms and can undo it).
            await replace(query, ctx, no_show_question(booking, professional, ctx.locale))
            return
        if callback_data.outcome == "done":
            booking = await bookings.complete(ctx.session, booking.id, by=Actor.PROFESSIONAL, now=now)
        else:
            booking = await bookings.mark_no_show(ctx.session, booking.id, by=Actor.PROFESSIONAL, now=now)
    except (NotFound, NotAllowed):
        await answer_stale(query)
        return
    except NotStartedYet:
        await answer(query, _("You can mark a session once it has begun."))
        return
    except IllegalTransition:
        note = _("That session was already marked or cancelled; here is how it stands.")
    else:
        when = format_clock(booking.starts_at, professional.timezone, ctx.locale)
        if booking.state == BookingState.COMPLETED:
            note = _("Marked completed: {name}, {time}.").format(name=booking.client.first_name, time=when)
        else:
            note = _("Marked as a no-show: {name}, {time}.").format(name=booking.client.first_name, time=when)
    screen = await agenda_screen(ctx, professional)
    await replace(query, ctx, Rendered(f"{note}\n\n{screen.text}", screen.reply_markup))


async def agenda_screen(ctx: Flow, professional: Professional) -> Rendered:
    now = ctx.clock.now()
    zone = zone_named(professional.timezone)
    today = now.astimezone(zone).date()
    day_start = start_of_local_day(today, zone)
    week_end = start_of_local_day(today + timedelta(days=AGENDA_DAYS), zone)
    recent = await bookings.agenda(ctx.session, professional, day_start - UNMARKED_LOOKBACK, day_start)
    earlier = [booking for booking in recent if booking.state == BookingState.CONFIRMED]
    missed = [booking for booking in recent if booking.state == BookingState.NO_SHOW]
    upcoming = [
        booking
        for booking in await bookings.agenda(ctx.session, professional, day_start, week_end)
        # A hold that ran out is no session, even before the worker marks it expired.
        if not (booking.state == BookingState.HELD and booking.hold_expires_at and booking.hold_expires_at <= now)
    ]

    header = _("Your agenda, times in {zone}").format(zone=zone_suffix(professional.timezone, ctx.locale, now))
    blocks: list[list[str]] = []
    if earlier:
        blocks.append([_("Waiting for your mark:"), *_session_lines(earlier, professional, ctx.locale, with_day=True)])
    days: dict[date, list[Booking]] = {}
    for booking in upcoming:
        days.setdefault(booking.starts_at.astimezone(zone).date(), []).append(booking)
    today_title = _("Today, {day}").format(day=format_day(day_start, professional.timezone, ctx.locale))
    today_lines = _session_lines(days.pop(today, []), professional, ctx.locale) or [_("No sessions.")]
    blocks.append([today_title, *today_lines])
    for day_bookings in days.values():
        title = format_day(day_bookings[0].starts_at, professional.timezone, ctx.locale)
        blocks.append([title, *_session_lines(day_bookings, professional, ctx.locale)])
    if not days:
        blocks.append([_("Nothing booked for the next six days.")])
    text = _fit([header], blocks)

    markable = [b for b in [*earlier, *upcoming] if b.state == BookingState.CONFIRMED and b.starts_at <= now]
    rows: list[list[Button]] = []
    for booking in markable[-MAX_MARK_BUTTONS:]:
        label = f"{format_clock(booking.starts_at, professional.timezone, ctx.locale)} {booking.client.first_name}"
        rows.append(
            [
                (_("✓ Completed: {session}").format(session=label), MarkCb(id=booking.id, outcome="done")),
                (_("✗ No-show: {session}").format(session=label), MarkCb(id=booking.id, outcome="missed")),
            ]
        )
    rows += agenda_rows([*earlier, *upcoming, *missed], professional, ctx.locale, now)
    rows.append([(_("↻ Refresh"), AgendaCb())])
    return Rendered(text, inline_keyboard(*rows))


def _session_lines(
    sessions: Sequence[Booking], professional: Professional, locale: str, *, with_day: bool = False
) -> list[str]:
    lines: list[str] = []
    for booking in sessions:
        starts = format_clock(booking.starts_at, professional.timezone, locale)
        ends = format_clock(booking.ends_at, professional.timezone, locale)
        when = f"{starts}–{ends}"
        if with_day:
            when = f"{format_day(booking.starts_at, professional.timezone, locale)}, {when}"
        line = BULLET + _("{when} {name} · {service}").format(
            when=when, name=booking.client.first_name, service=booking.service.name
        )
        status = _status(booking.state)
        lines.append(f"{line} ({status})" if status else line)
        if booking.client_notes:
            notes = booking.client_notes
            if len(notes) > NOTES_IN_AGENDA:
                notes = notes[:NOTES_IN_AGENDA].rstrip() + "…"
            lines.append("   " + _("Notes: {notes}").format(notes=notes))
    return lines


def _status(state: BookingState) -> str:
    if state == BookingState.HELD:
        return _("awaiting payment")
    if state == BookingState.COMPLETED:
        return _("completed")
    if state == BookingState.NO_SHOW:
        return _("no-show")
    return ""


def _fit(head: list[str], blocks: list[list[str]]) -> str:
    """Join the blocks, leaving out whole lines from the end rather than going over Telegram's limit."""
    lines = list(head)
    for block in blocks:
        lines += ["", *block]
    text = "\n".join(lines)
    if len(text) <= TEXT_LIMIT:
        return text
    kept: list[str] = []
    for index, line in enumerate(lines):
        if len("\n".join([*kept, line])) > TEXT_LIMIT:
            hidden = sum(1 for rest in lines[index:] if rest.startswith(BULLET))
            more = ngettext(
                "… and {count} more session: see them nearer the day.",
                "… and {count} more sessions: see them nearer the day.",
                hidden,
            ).format(count=hidden)
            return "\n".join([*kept, more])
        kept.append(line)
    return "\n".join(kept)


def make_router(registry: Registry) -> Router:
    router = Router(name="professional")
    registry.role_commands(commands_of_a_professional)
    registry.renderers.register("booking_new_pro")(booking_new_pro)
    registry.renderers.register("booking_cancelled_pro")(booking_cancelled_pro)
    registry.renderers.register("booking_rescheduled_pro")(booking_rescheduled_pro)
    linked = professionals_only("agenda-linked")
    linked.message.register(agenda_command, Command("agenda"))
    linked.callback_query.register(agenda_pressed, AgendaCb.filter())
    linked.callback_query.register(mark_pressed, MarkCb.filter())
    # Everyone else: the command says who it is for; their buttons reach the fallback.
    unlinked = Router(name="agenda-unlinked")
    unlinked.message.register(not_linked_command, Command("agenda"))
    router.include_routers(linked, unlinked)
    return router
