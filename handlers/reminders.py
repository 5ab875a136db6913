"""Reminders and what a client does with one (README "Reminders").

The messages themselves are written by bot.services.reminders and rendered here at send time, in the
recipient's language and zone then. Every client reminder carries "I'll be there", "Reschedule" (the
/bookings picker, handlers/my_bookings.py; only while the policy lets the client move the session at the
moment of sending), "Cancel" (the /bookings cancel flow, the refund shown first) and "Running late"
(5 / 10 / 15 minutes or a typed number; the professional is told through the outbox, the client gets the
link or address again).

A text that answers a reminder (a Telegram reply to it, or any text within the hour after one while no
other step waits for an answer) is read as a time request (bot.services.time_request, in whichever of
its six languages reads most of the text, the client's own first) and answered with the free slots
nearest to it, one tap away from the same reschedule as /bookings; text that is not about a time gets a
short menu of what the client can do.

The warning before an unpaid hold runs out may offer to hold the time once more
(bot/services/hold_extension.py); a press that can no longer do it gets the reason in a pop-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import Reader, Rendered, format_duration, format_instant, format_price
from bot.services import booking as bookings
from bot.services import hold_extension, reminders
from bot.services.booking_view import BookingView, booking_view
from bot.services.errors import IllegalTransition, TooLateToChange
from bot.services.policy import Actor, can_reschedule
from bot.services.reply_times import TimeOffer, offer_for_text, reply_languages
from handlers.booking_picker import refusal_screen
from handlers.client_callbacks import BookingCb, BookingsCb, CancelCb, MoveCb, MoveYesCb, minute_code
from handlers.client_wording import notes_line, place_lines_of, viewer_zone, when_lines_of
from handlers.common import Button, Callback, Flow, answer, button_grid, inline_keyboard, replace, send
from handlers.payments import PayCb
from handlers.registry import Registry
from models import Booking

LATE_CHOICES = (5, 10, 15)
# Any text this soon after a reminder is read as an answer to it (when nothing else waits for one).
REPLY_WINDOW = timedelta(hours=1)
# Offsets at least this long are the "day before" reminder, whose "I'll be there" the professional hears of.
DAY_BEFORE_MINUTES = 1440
MINUTES_PER_DAY = 1440


class AttendCb(Callback, prefix="ra"):
    """I'll be there; t = 1 to tell the professional (the 24 h reminder)."""

    id: int
    t: int = 0


class LateCb(Callback, prefix="rl"):
    """Running late: m = 0 asks how late, else the minutes chosen."""

    id: int
    m: int = 0


class ExtendCb(Callback, prefix="rx"):
    """Hold the time once more (the hold-expiry warning); v = the booking's version the warning showed."""

    id: int
    v: int


class Late(StatesGroup):
    minutes = State()


# --- the messages ----------------------------------------------------------------------------------


def client_buttons(view: BookingView, *, tell_professional: bool, movable: bool) -> list[list[Button]]:
    """`movable`: the policy lets the client move the session at the moment of sending; otherwise no
    Reschedule button that could only refuse (an older message's button still answers with the reason)."""
    changes: list[Button] = []
    if movable:
        changes.append(("🗓 " + _("Reschedule"), MoveCb(id=view.booking_id)))
    changes.append(("✖ " + _("Cancel"), CancelCb(id=view.booking_id, v=view.version)))
    return [
        [
            ("✅ " + _("I'll be there"), AttendCb(id=view.booking_id, t=int(tell_professional))),
            ("⏱ " + _("Running late"), LateCb(id=view.booking_id)),
        ],
        changes,
    ]


def _movable(payload: Mapping[str, Any]) -> bool:
    """What the worker's last look found (bot.services.reminders.stale_reason sets `can_reschedule`)."""
    return bool(payload.get("can_reschedule"))


def _place(view: BookingView) -> list[str]:
    return place_lines_of(
        view.mode,
        view.professional_name,
        video_link=view.video_link,
        address=view.address,
        access_notes=view.access_notes,
        confirmed=True,
        phone=view.client_phone,
    )


def _what(view: BookingView) -> str:
    return _("{service} with {name}").format(service=view.service_name, name=view.professional_name)


def _ahead(minutes: int) -> str:
    """ "7 days" for whole days from two on; "24 hours", "1 hour", "30 minutes" below that."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    if days >= 2 and rest == 0:
        return ngettext("{n} day", "{n} days", days).format(n=days)
    return format_duration(minutes)


def reminder_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """N minutes before: when (in the client's zone now), where, and the buttons."""
    view = BookingView.from_json(payload)
    minutes = int(payload.get("offset_minutes") or 0)
    movable = _movable(payload)
    lines = [
        "⏰ " + _("Reminder: your session starts in {duration}.").format(duration=_ahead(minutes)),
        _what(view),
        *when_lines_of(view.starts_at, view.professional_name, view.professional_zone, reader.zone, reader.locale),
        *_place(view),
    ]
    if movable:
        # Asking for another time could only be refused once the policy no longer lets the client move it.
        lines += ["", _("Reply to this message to ask for another time, e.g. “tomorrow at 3pm”.")]
    buttons = client_buttons(view, tell_professional=minutes >= DAY_BEFORE_MINUTES, movable=movable)
    keyboard = inline_keyboard(*buttons)
    return Rendered("\n".join(lines), keyboard)


def starting_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """At the start: the video link, or the address and access notes."""
    view = BookingView.from_json(payload)
    lines = [
        "🔔 " + _("Your session is starting now."),
        _what(view),
        *when_lines_of(view.starts_at, view.professional_name, view.professional_zone, reader.zone, reader.locale),
        *_place(view),
    ]
    buttons = client_buttons(view, tell_professional=False, movable=_movable(payload))
    return Rendered("\n".join(lines), inline_keyboard(*buttons))


def _client_lines(view: BookingView, reader: Reader) -> list[str]:
    return [
        _("Client: {name}").format(name=view.client_name or _("a client")),
        _("Service: {service}").format(service=view.service_name),
        _("When: {when}").format(when=format_instant(view.starts_at, reader.zone, reader.locale)),
    ]


def heads_up_for_professional(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """The professional's hour-before heads-up, with the client's notes."""
    view = BookingView.from_json(payload)
    lines = ["⏰ " + _("Starting in 1 hour"), *_client_lines(view, reader), *notes_line(view.notes)]
    if view.client_phone:
        lines.append(
            _("Call {name} at {number}").format(name=view.client_name or _("the client"), number=view.client_phone)
        )
    return Rendered("\n".join(lines))


def hold_expiring_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """Ten minutes before a hold runs out; with the offer to hold it longer once, where the worker's last
    look found that possible (bot.services.reminders.stale_reason sets `can_extend`)."""
    view = BookingView.from_json(payload)
    expires = view.hold_expires_at or view.starts_at
    lines = [
        "⌛ "
        + _("The time held for you runs out: {when}.").format(when=format_instant(expires, reader.zone, reader.locale)),
        _what(view),
        format_instant(view.starts_at, reader.zone, reader.locale),
        _("Finish paying to keep it, or release it for others."),
    ]
    rows: list[list[Button]] = []
    minutes = int(payload.get("extend_minutes") or 0)
    if payload.get("can_extend") and minutes > 0:
        duration = format_duration(minutes)
        lines.append(_("Need more time? I can hold it {duration} longer, once.").format(duration=duration))
        label = "⏳ " + _("Hold it {duration} longer").format(duration=duration)
        rows.append([(label, ExtendCb(id=view.booking_id, v=view.version))])
    rows.append([(_("Open the booking"), BookingCb(id=view.booking_id))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


def _extension_refused(reason: hold_extension.Refusal) -> str:
    if reason == hold_extension.Refusal.ALREADY:
        return _("This hold was already extended once; it can't be extended again.")
    if reason == hold_extension.Refusal.PAYING:
        return _("You've started paying for this session: please finish the payment to keep it.")
    if reason == hold_extension.Refusal.RAN_OUT:
        return _("The time held for you has already run out.")
    if reason == hold_extension.Refusal.NOT_HELD:
        return _("This booking is no longer waiting for payment.")
    if reason == hold_extension.Refusal.NOT_FREE:
        return _("This time can't be held any longer.")
    return _("This booking has changed since; open it to see how it stands.")


async def extend_pressed(query: CallbackQuery, callback_data: ExtendCb, ctx: Flow) -> None:
    try:
        booking = await hold_extension.extend_hold(
            ctx.session, callback_data.id, client=ctx.user, now=ctx.clock.now(), expected_version=callback_data.v
        )
    except hold_extension.HoldNotExtended as refused:
        await answer(query, _extension_refused(refused.reason), show_alert=True)
        return
    zone = viewer_zone(ctx)
    expires = booking.hold_expires_at or booking.starts_at
    lines = [
        "⏳ "
        + _("Done: the time is held for you until {when}.").format(when=format_instant(expires, zone, ctx.locale)),
        _("{service} with {name}").format(service=booking.service.name, name=booking.professional.name),
        format_instant(booking.starts_at, zone, ctx.locale),
        _("Pay by then to confirm it; otherwise the time is released for others."),
    ]
    price = format_price(booking.price_minor, booking.currency, ctx.locale)
    keyboard = inline_keyboard(
        [("💳 " + _("Pay {price}").format(price=price), PayCb(id=booking.id))],
        [(_("Open the booking"), BookingCb(id=booking.id))],
    )
    await replace(query, ctx, Rendered("\n".join(lines), keyboard))


def attendance_for_professional(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    lines = ["✅ " + _("{name} confirmed they'll be there.").format(name=view.client_name or _("The client"))]
    lines += _client_lines(view, reader)[1:]
    return Rendered("\n".join(lines))


def late_for_professional(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    minutes = int(payload.get("late_minutes") or 0)
    lines = [
        "⏱ "
        + _("{name} is running about {duration} late.").format(
            name=view.client_name or _("The client"), duration=format_duration(minutes)
        )
    ]
    lines += _client_lines(view, reader)[1:]
    return Rendered("\n".join(lines))


# --- the buttons -----------------------------------------------------------------------------------


async def attend_pressed(query: CallbackQuery, callback_data: AttendCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    try:
        result = await reminders.confirm_attendance(
            ctx.session, booking, ctx.clock.now(), tell_professional=bool(callback_data.t)
        )
    except (IllegalTransition, TooLateToChange):
        await answer(query, _("This session can't be confirmed any more."))
        return
    if result.told_professional:
        text = _("Thanks! {name} knows you'll be there.").format(name=booking.professional.name)
    else:
        text = _("Thanks! See you then.")
    await answer(query, text)


def _late_choices(booking: Booking) -> Rendered:
    buttons: list[Button] = [(format_duration(minutes), LateCb(id=booking.id, m=minutes)) for minutes in LATE_CHOICES]
    text = _("How late will you be? Pick one or type the minutes.")
    return Rendered(text, button_grid(buttons, columns=3))


async def late_pressed(query: CallbackQuery, callback_data: LateCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    if callback_data.m == 0:
        await ctx.state.set_state(Late.minutes)
        await ctx.state.update_data({"late_booking": booking.id})
        await send(ctx, _late_choices(booking))
        await answer(query)
        return
    await replace(query, ctx, await _report_late(ctx, booking, callback_data.m))


async def late_typed(message: Message, ctx: Flow) -> None:
    data = await ctx.state.get_data()
    booking = await bookings.client_booking(ctx.session, int(data.get("late_booking", 0)), ctx.user)
    text = (message.text or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    minutes = int(digits) if digits and len(digits) <= 3 else 0
    if not 1 <= minutes <= reminders.MAX_LATE_MINUTES:
        hint = _("Please send the minutes as a number from 1 to {most}.").format(most=reminders.MAX_LATE_MINUTES)
        await send(ctx, Rendered(hint, _late_choices(booking).reply_markup))
        return
    await send(ctx, await _report_late(ctx, booking, minutes))


async def ask_late(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    booking = await bookings.client_booking(ctx.session, int(data.get("late_booking", 0)), ctx.user)
    return _late_choices(booking)


async def _report_late(ctx: Flow, booking: Booking, minutes: int) -> Rendered:
    await ctx.state.clear()
    try:
        told = await reminders.report_late(ctx.session, booking, minutes, ctx.clock.now())
    except (IllegalTransition, TooLateToChange):
        return Rendered(_("This session isn't on now, so there is no one to tell."))
    view_lines = _place(booking_view(booking))
    if told:
        head = _("Thanks, {name} knows you'll be about {duration} late.")
    else:
        head = _("Thanks. {name} can't be reached in chat; please use the link or address below.")
    lines = [head.format(name=booking.professional.name, duration=format_duration(minutes)), *view_lines]
    return Rendered("\n".join(lines))


# --- free-text replies -----------------------------------------------------------------------------


async def reply_typed(message: Message, ctx: Flow) -> None:
    """A text answering a reminder; any other text goes on to the next handler."""
    now = ctx.clock.now()
    sent = None
    replied = message.reply_to_message
    if replied is not None:
        sent = await reminders.find_reply_target(ctx.session, ctx.chat_id, replied.message_id)
    if sent is None:
        state = await ctx.state.get_state()
        if state is not None and not state.startswith("MySessions:"):
            raise SkipHandler
        sent = await reminders.latest_client_reminder(ctx.session, ctx.user, now - REPLY_WINDOW)
    if sent is None or sent.subject is None or sent.recipient_id != ctx.user.id:
        raise SkipHandler
    booking = await bookings.client_booking(ctx.session, sent.subject.id, ctx.user)
    zone = viewer_zone(ctx)
    asked_from = sent.sent_at if now - sent.sent_at <= REPLY_WINDOW else now
    sender = message.from_user
    offer = await offer_for_text(
        ctx.session,
        booking,
        message.text or "",
        # Telegram's language first: the chat speaks only some, and it decides a tie ("05.01" day first).
        languages=reply_languages(sender.language_code if sender else None, ctx.locale),
        zone=ZoneInfo(zone),
        now=now,
        asked_at=asked_from,
    )
    refusal = can_reschedule(booking, by=Actor.CLIENT, now=now)
    if offer is not None and refusal is not None:
        # A time was asked for, but this booking can't move (the policy's window, the limit): say why.
        await send(ctx, refusal_screen(booking, refusal))
        return
    await send(ctx, offer_screen(booking, offer, zone, ctx.locale, movable=refusal is None))


def offer_screen(booking: Booking, offer: TimeOffer | None, zone: str, locale: str, *, movable: bool) -> Rendered:
    """The free times nearest to what was asked, one tap each; or a short menu when it was not a time
    (Reschedule in it only when `movable`, as on the reminder)."""
    if offer is None:
        head = _("What would you like to do about your session?")
        lines = [head, _("{service} with {name}").format(service=booking.service.name, name=booking.professional.name)]
        lines.append(format_instant(booking.starts_at, zone, locale))
        changes: list[Button] = [("🗓 " + _("Reschedule"), MoveCb(id=booking.id))] if movable else []
        menu: list[list[Button]] = [
            [*changes, ("✖ " + _("Cancel"), CancelCb(id=booking.id, v=booking.version))],
            [("⏱ " + _("Running late"), LateCb(id=booking.id)), (_("My sessions"), BookingsCb())],
        ]
        return Rendered("\n".join(lines), inline_keyboard(*menu))
    if offer.slots and offer.asked_is_free:
        head = _("Free around the time you asked — tap one to move your session:")
    elif offer.slots:
        head = _("Nothing is free then. The nearest free times — tap one to move your session:")
    else:
        head = _("Nothing is free then, and no other time is open soon.")
    lines = [head, "", _("Now: {when}").format(when=format_instant(booking.starts_at, zone, locale))]
    buttons: list[Button] = [
        (format_instant(slot, zone, locale), MoveYesCb(id=booking.id, at=minute_code(slot), v=booking.version))
        for slot in offer.slots
    ]
    rows: list[list[Button]] = [[button] for button in buttons] + [[(_("Keep my time"), BookingCb(id=booking.id))]]
    return Rendered("\n".join(lines), inline_keyboard(*rows))


def make_router(registry: Registry) -> Router:
    router = Router(name="reminders")
    registry.renderers.register(reminders.REMINDER_CLIENT)(reminder_for_client)
    registry.renderers.register(reminders.REMINDER_START)(starting_for_client)
    registry.renderers.register(reminders.REMINDER_PRO)(heads_up_for_professional)
    registry.renderers.register(reminders.HOLD_EXPIRING)(hold_expiring_for_client)
    registry.renderers.register(reminders.ATTENDANCE_CONFIRMED_PRO)(attendance_for_professional)
    registry.renderers.register(reminders.RUNNING_LATE_PRO)(late_for_professional)
    registry.state_prompt(Late.minutes, ask_late)
    router.callback_query.register(attend_pressed, AttendCb.filter())
    router.callback_query.register(late_pressed, LateCb.filter())
    router.callback_query.register(extend_pressed, ExtendCb.filter())
    router.message.register(late_typed, Late.minutes, F.text, ~F.text.startswith("/"))
    router.message.register(reply_typed, F.text, ~F.text.startswith("/"))
    return router
