"""/bookings: the client's upcoming and past sessions; open one to cancel it (the refund shown before
asking), reschedule it (the booking flow's calendar, handlers/booking.py), get its calendar file, or
book the same service again.

Also the messages the booking service sends the client through the outbox: a session the professional
(or the system) cancelled, one the professional moved, a hold that ran out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import (
    Reader,
    Rendered,
    format_clock,
    format_duration,
    format_instant,
    format_money,
    format_price,
)
from bot.services import booking as bookings
from bot.services import directory
from bot.services.booking_view import BookingView
from bot.services.errors import (
    BookingChanged,
    IllegalTransition,
    NotAllowed,
    NotFound,
    RescheduleLimitReached,
    SlotUnavailable,
    TooLateToChange,
)
from bot.services.payments import records as payment_records
from bot.services.policy import Actor, PaidWith, Policy, RescheduleRefusal, can_reschedule, cancellation_terms
from handlers.booking import confirmation, send_calendar_file
from handlers.booking_picker import forget_flow, local_day, refusal_screen, show_gone, show_week
from handlers.client_callbacks import (
    BOOKING,
    PAST,
    AgainCb,
    BookingCb,
    BookingsCb,
    BrowseCb,
    CancelCb,
    CancelYesCb,
    IcsCb,
    MoveCb,
    MoveYesCb,
    as_int,
    instant_from_code,
)
from handlers.client_wording import (
    notes_line,
    place_lines,
    policy_lines,
    refund_words,
    service_with,
    short_day,
    state_label,
    their_time,
    viewer_zone,
    when_lines,
)
from handlers.common import Button, Flow, answer, inline_keyboard, replace, send
from handlers.payments import PayCb, ReceiptCb
from handlers.registry import Registry
from models import ACTIVE_STATES, Booking, BookingState


class MySessions(StatesGroup):
    list = State()
    detail = State()
    cancel = State()


# --- the list --------------------------------------------------------------------------------------


async def show_list(ctx: Flow, past: bool = False) -> Rendered:
    zone, now = viewer_zone(ctx), ctx.clock.now()
    found = await bookings.bookings_of_client(ctx.session, ctx.user, now=now, upcoming=not past)
    await ctx.state.set_state(MySessions.list)
    await ctx.state.update_data({PAST: int(past)})
    switch: Button = (_("Upcoming sessions"), BookingsCb(past=0)) if past else (_("Past sessions"), BookingsCb(past=1))
    find: Button = (_("Find a professional"), BrowseCb())
    if not found:
        text = _("You have no past sessions yet.") if past else _("You have no upcoming sessions.")
        return Rendered(text, inline_keyboard([switch], [find]))
    lines = [_("Your past sessions:") if past else _("Your upcoming sessions:"), ""]
    rows: list[list[Button]] = []
    for number, booking in enumerate(found, start=1):
        what = service_with(booking.service, booking.professional)
        lines.append(f"{number}. {format_instant(booking.starts_at, zone, ctx.locale)}")
        lines.append(f"   {what} ({state_label(booking, zone, ctx.locale, now)})")
        label = (
            f"{number}. {short_day(local_day(booking.starts_at, zone), ctx.locale)}, "
            f"{format_clock(booking.starts_at, zone, ctx.locale)} · {booking.professional.name}"
        )
        rows.append([(label, BookingCb(id=booking.id))])
    rows += [[switch], [find]]
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def bookings_command(message: Message, ctx: Flow) -> None:
    await send(ctx, await show_list(ctx))


async def list_pressed(query: CallbackQuery, callback_data: BookingsCb, ctx: Flow) -> None:
    await replace(query, ctx, await show_list(ctx, past=bool(callback_data.past)))


async def ask_list(ctx: Flow) -> Rendered:
    return await show_list(ctx, past=bool(as_int(await ctx.state.get_data(), PAST)))


# --- one session -----------------------------------------------------------------------------------


def _upcoming(booking: Booking, now: datetime) -> bool:
    return booking.state in ACTIVE_STATES and now < booking.starts_at


async def show_booking(ctx: Flow, booking: Booking, note: str | None = None) -> Rendered:
    zone, now = viewer_zone(ctx), ctx.clock.now()
    service, professional = booking.service, booking.professional
    await ctx.state.set_state(MySessions.detail)
    await ctx.state.update_data({BOOKING: booking.id})
    upcoming = _upcoming(booking, now)
    lines = [note, ""] if note else []
    lines += [
        service_with(service, professional),
        _("Status: {state}").format(state=state_label(booking, zone, ctx.locale, now)),
        *when_lines(booking.starts_at, professional, zone, ctx.locale),
        _("Duration: {duration}").format(duration=format_duration(service.duration_minutes)),
        _("Price: {price}").format(price=format_price(booking.price_minor, booking.currency, ctx.locale)),
    ]
    if upcoming:
        lines += place_lines(service, professional, confirmed=booking.state == BookingState.CONFIRMED)
    lines += notes_line(booking.client_notes)
    policy = Policy.from_json(booking.policy)
    if booking.reschedule_count:
        lines.append(
            ngettext(
                "Moved {count} of {limit} time.", "Moved {count} of {limit} times.", policy.max_reschedules
            ).format(count=booking.reschedule_count, limit=policy.max_reschedules)
        )
    if booking.paid_with == PaidWith.CREDIT:
        lines.append(_("Paid with 1 package credit."))
    money = await payment_records.payment_summary(ctx.session, booking.id)
    if money is not None:
        lines.append(_("Paid: {amount}").format(amount=format_money(money.paid_minor, money.currency, ctx.locale)))
    if money is not None and money.refund_minor:
        refund = format_money(money.refund_minor, money.currency, ctx.locale)
        done = _("Refund: {amount} (done)") if money.refunded else _("Refund: {amount} (on its way)")
        lines.append(done.format(amount=refund))
    elif booking.state == BookingState.CANCELLED and booking.refund_minor:
        refund = format_money(booking.refund_minor, booking.currency, ctx.locale)
        lines.append(_("Refund: {amount}").format(amount=refund))
    if upcoming:
        lines += ["", *policy_lines(policy, booking.price_minor)]
    rows: list[list[Button]] = []
    if upcoming:
        if booking.state == BookingState.HELD:
            price = format_price(booking.price_minor, booking.currency, ctx.locale)
            rows.append([("💳 " + _("Pay {price}").format(price=price), PayCb(id=booking.id))])
        actions: list[Button] = []
        if booking.state == BookingState.CONFIRMED:
            actions.append(("🗓 " + _("Reschedule"), MoveCb(id=booking.id)))
        release = _("Release this time") if booking.state == BookingState.HELD else _("Cancel")
        actions.append(("✖ " + release, CancelCb(id=booking.id, v=booking.version)))
        rows.append(actions)
        if booking.state == BookingState.CONFIRMED:
            rows.append([("📅 " + _("Calendar file"), IcsCb(id=booking.id))])
    else:
        rows.append([("🔁 " + _("Book this again"), AgainCb(id=booking.id))])
    if money is not None:
        rows.append([("🧾 " + _("Receipt"), ReceiptCb(id=booking.id))])
    rows.append([("◀ " + _("My sessions"), BookingsCb(past=0 if upcoming else 1))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def booking_pressed(query: CallbackQuery, callback_data: BookingCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    await replace(query, ctx, await show_booking(ctx, booking))


async def _remembered(ctx: Flow, screen: Callable[[Flow, Booking], Awaitable[Rendered]]) -> Rendered:
    """`screen` of the booking this step is about, asked again; the list when it is gone meanwhile."""
    try:
        booking = await bookings.client_booking(ctx.session, as_int(await ctx.state.get_data(), BOOKING), ctx.user)
    except (NotFound, NotAllowed):
        return await show_list(ctx)
    return await screen(ctx, booking)


async def ask_booking(ctx: Flow) -> Rendered:
    return await _remembered(ctx, show_booking)


# --- cancelling ------------------------------------------------------------------------------------


async def ask_to_cancel(ctx: Flow, booking: Booking, note: str | None = None) -> Rendered:
    """The refund the client would get now, before they say yes; or why it can no longer be cancelled."""
    zone, now = viewer_zone(ctx), ctx.clock.now()
    if booking.state not in ACTIVE_STATES:
        return await show_booking(
            ctx, booking, _("This session is {state}.").format(state=state_label(booking, zone, ctx.locale, now))
        )
    if now >= booking.starts_at:
        return await show_booking(ctx, booking, _("This session has already started, so it can't be cancelled."))
    terms = cancellation_terms(booking, by=Actor.CLIENT, now=now)
    await ctx.state.set_state(MySessions.cancel)
    await ctx.state.update_data({BOOKING: booking.id})
    held = booking.state == BookingState.HELD
    lines = [note, ""] if note else []
    lines += [
        _("Release this time?") if held else _("Cancel this session?"),
        service_with(booking.service, booking.professional),
        format_instant(booking.starts_at, zone, ctx.locale),
        "",
        refund_words(booking, terms, ctx.locale),
    ]
    yes = _("Yes, release it") if held else _("Yes, cancel it")
    keyboard = inline_keyboard(
        [(yes, CancelYesCb(id=booking.id, v=booking.version, p=terms.refund_percent))],
        [(_("No, keep it"), BookingCb(id=booking.id))],
    )
    return Rendered("\n".join(lines), keyboard)


async def cancel_pressed(query: CallbackQuery, callback_data: CancelCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    await replace(query, ctx, await ask_to_cancel(ctx, booking))


async def ask_cancel(ctx: Flow) -> Rendered:
    return await _remembered(ctx, ask_to_cancel)


async def cancel_confirmed(query: CallbackQuery, callback_data: CancelYesCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    now, zone = ctx.clock.now(), viewer_zone(ctx)
    # For the words once it is done. The service cancels only at the version the button carries, so
    # when it succeeds this read was of that very version and these are the terms it applied.
    terms = cancellation_terms(booking, by=Actor.CLIENT, now=now)
    try:
        booking = await bookings.cancel(
            ctx.session,
            booking.id,
            by=Actor.CLIENT,
            now=now,
            expected_version=callback_data.v,
            expected_refund_percent=callback_data.p,
        )
    except (IllegalTransition, TooLateToChange):
        booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
        await replace(query, ctx, await ask_to_cancel(ctx, booking))
        return
    except BookingChanged:
        # Something changed since the question (a move, or the free window closed): ask again.
        booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
        await replace(query, ctx, await ask_to_cancel(ctx, booking, _("Something changed since; please check again.")))
        return
    await forget_flow(ctx)
    released = booking.paid_with is None and terms.paid_minor == 0 and booking.price_minor > 0
    lines = [
        ("✖ " + _("Released.")) if released else ("✖ " + _("Cancelled.")),
        service_with(booking.service, booking.professional),
        format_instant(booking.starts_at, zone, ctx.locale),
        "",
        refund_words(booking, terms, ctx.locale),
    ]
    keyboard = inline_keyboard(
        [("🗓 " + _("Pick another time"), AgainCb(id=booking.id))],
        [(_("My sessions"), BookingsCb())],
    )
    await replace(query, ctx, Rendered("\n".join(lines), keyboard))


# --- rescheduling ----------------------------------------------------------------------------------


async def move_pressed(query: CallbackQuery, callback_data: MoveCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    reason = can_reschedule(booking, by=Actor.CLIENT, now=ctx.clock.now())
    if reason is not None:
        await replace(query, ctx, refusal_screen(booking, reason))
        return
    await replace(query, ctx, await show_week(ctx, booking.service, None, booking))


async def move_confirmed(query: CallbackQuery, callback_data: MoveYesCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    now, zone = ctx.clock.now(), viewer_zone(ctx)
    starts = instant_from_code(callback_data.at)
    try:
        booking = await bookings.reschedule(
            ctx.session, booking.id, starts, by=Actor.CLIENT, now=now, expected_version=callback_data.v
        )
    except BookingChanged:
        booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
        await replace(
            query, ctx, await show_booking(ctx, booking, _("This session changed meanwhile; here it is now."))
        )
        return
    except SlotUnavailable as gone:
        booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
        await replace(query, ctx, await show_gone(ctx, booking.service, gone, booking))
        return
    except (RescheduleLimitReached, TooLateToChange, IllegalTransition):
        booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
        reason = can_reschedule(booking, by=Actor.CLIENT, now=now) or RescheduleRefusal.STATE
        await replace(query, ctx, refusal_screen(booking, reason))
        return
    await forget_flow(ctx)
    await replace(query, ctx, confirmation(booking, zone, ctx.locale, moved=True))
    await send_calendar_file(ctx, booking)


# --- the calendar file, and booking again ----------------------------------------------------------


async def calendar_pressed(query: CallbackQuery, callback_data: IcsCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    if booking.state != BookingState.CONFIRMED:
        await answer(query, _("Only a confirmed session has a calendar file."))
        return
    await send_calendar_file(ctx, booking)
    await answer(query)


async def again_pressed(query: CallbackQuery, callback_data: AgainCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    try:
        service = await directory.bookable_service(ctx.session, booking.service_id)
    except NotFound:
        text = _("{service} can't be booked any more.").format(service=booking.service.name)
        await replace(query, ctx, Rendered(text, inline_keyboard([(_("Find a professional"), BrowseCb())])))
        return
    await replace(query, ctx, await show_week(ctx, service, None, None))


# --- messages from the outbox ----------------------------------------------------------------------


def _when(instant: datetime, reader: Reader) -> str:
    return format_instant(instant, reader.zone, reader.locale)


def _what(view: BookingView) -> str:
    return _("{service} with {name}").format(service=view.service_name, name=view.professional_name)


def _their_line(view: BookingView, reader: Reader) -> list[str]:
    line = their_time(view.starts_at, view.professional_name, view.professional_zone, reader.zone, reader.locale)
    return [line] if line else []


def cancelled_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """The professional (or the system, or support) cancelled: the refund, and a way to new times."""
    view = BookingView.from_json(payload)
    name = view.professional_name
    if payload.get("cancelled_by") == "professional":
        head = _("{name} had to cancel your session.").format(name=name)
    else:
        head = _("Your session has been cancelled.")
    lines = [head, _what(view), _when(view.starts_at, reader)]
    if payload.get("reason"):
        lines.append(_("Reason: {reason}").format(reason=payload["reason"]))
    lines.append("")
    refund = int(payload.get("refund_minor") or 0)
    if payload.get("credit_returned"):
        lines.append(_("Your package credit comes back to you."))
    elif refund > 0:
        amount = format_money(refund, view.currency, reader.locale)
        lines.append(_("You'll get {amount} back in full.").format(amount=amount))
    elif view.price_minor > 0:
        lines.append(_("Nothing was charged."))
    lines.append(_("Would you like another time?"))
    keyboard = inline_keyboard([("🗓 " + _("New times with {name}").format(name=name), AgainCb(id=view.booking_id))])
    return Rendered("\n".join(lines), keyboard)


def rescheduled_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    lines = [
        _("{name} moved your session.").format(name=view.professional_name),
        _what(view),
        _("Was: {when}").format(when=_when(datetime.fromisoformat(payload["previous_starts_at"]), reader)),
        _("Now: {when}").format(when=_when(view.starts_at, reader)),
        *_their_line(view, reader),
        "",
        _("If the new time doesn't suit you, open the booking to change it."),
    ]
    keyboard = inline_keyboard([(_("Open the booking"), BookingCb(id=view.booking_id))])
    return Rendered("\n".join(lines), keyboard)


def hold_expired_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    lines = [
        _("The time held for you has run out, so it is free for others again."),
        _what(view),
        _when(view.starts_at, reader),
    ]
    keyboard = inline_keyboard([("🗓 " + _("Pick a time again"), AgainCb(id=view.booking_id))])
    return Rendered("\n".join(lines), keyboard)


async def open_after_checkout(ctx: Flow, argument: str) -> Rendered:
    """`/start paid_<booking>`: where Stripe Checkout sends the client back. Only the webhook confirms a
    payment, so this shows the booking as it stands (confirmed, or still held while the event is on its way)."""
    try:
        booking = await bookings.client_booking(ctx.session, int(argument), ctx.user)
    except (ValueError, NotFound, NotAllowed):
        return await show_list(ctx)
    return await show_booking(ctx, booking)


def make_router(registry: Registry) -> Router:
    router = Router(name="my_bookings")
    registry.command("bookings", lambda: _("Your sessions"))
    registry.deep_link("paid", open_after_checkout)
    registry.state_prompt(MySessions.list, ask_list)
    registry.state_prompt(MySessions.detail, ask_booking)
    registry.state_prompt(MySessions.cancel, ask_cancel)
    registry.renderers.register("booking_cancelled_client")(cancelled_for_client)
    registry.renderers.register("booking_rescheduled_client")(rescheduled_for_client)
    registry.renderers.register("hold_expired_client")(hold_expired_for_client)
    router.message.register(bookings_command, Command("bookings"))
    router.callback_query.register(list_pressed, BookingsCb.filter())
    router.callback_query.register(booking_pressed, BookingCb.filter())
    router.callback_query.register(cancel_pressed, CancelCb.filter())
    router.callback_query.register(cancel_confirmed, CancelYesCb.filter())
    router.callback_query.register(move_pressed, MoveCb.filter())
    router.callback_query.register(move_confirmed, MoveYesCb.filter())
    router.callback_query.register(calendar_pressed, IcsCb.filter())
    router.callback_query.register(again_pressed, AgainCb.filter())
    return router
