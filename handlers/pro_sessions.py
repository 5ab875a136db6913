"""A professional's sessions from chat: cancel one (with a reason), move one (the client accepts or
declines), confirm or undo a no-show, and deal with the sessions a new day off falls on; and the
client's side of each: the one message a cancellation sends (reason, refund, nearest free times,
one tap rebooks), the proposal to accept or decline, the kind word after a no-show.

The rules live in bot/services/pro_cancel.py, pro_move.py and no_show.py; this module reads the
update, calls one of them and words the result. Its buttons are in handlers/pro_session_buttons.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.render import Reader, Rendered, format_clock, format_day, format_instant, format_money, zone_suffix
from bot.services import booking as bookings
from bot.services import instant, no_show, picker, pro_cancel, pro_move
from bot.services.availability import start_of_local_day
from bot.services.booking_view import BookingView, booking_view
from bot.services.errors import (
    BookingChanged,
    IllegalTransition,
    NotAllowed,
    NotFound,
    NotStartedYet,
    SlotUnavailable,
    TooLateToChange,
)
from bot.services.payments.gateway import PaymentGateway
from bot.services.policy import Actor, PaidWith, cancellation_terms
from bot.services.pro_cancel import Reason
from bot.services.timezones import zone as zone_named
from handlers.booking_messages import calendar_message, confirmation_message
from handlers.client_callbacks import (
    AgainCb,
    BookingCb,
    MoveCb,
    day_code,
    day_from_code,
    instant_from_code,
    minute_code,
)
from handlers.client_wording import short_day, viewer_zone, week_label
from handlers.common import Button, Flow, answer, answer_stale, inline_keyboard, replace, send
from handlers.payments import offer_payment
from handlers.pro_session_buttons import (
    CancelAskCb,
    CancelYesCb,
    InstantAskCb,
    InstantOffCb,
    InstantOnCb,
    MoveAnswerCb,
    MoveDayCb,
    MoveTimeCb,
    MoveWeekCb,
    NoShowUndoCb,
    NoShowYesCb,
    ProposeCb,
    ReasonCb,
    RebookCb,
    SessionBackCb,
    SessionCb,
)
from handlers.professional import agenda_screen, not_linked_step, professionals_only
from handlers.registry import Registry
from models import Booking, BookingState, Professional

BOOKING, VERSION, TEXT = "ps_booking", "ps_v", "ps_text"


class ProSession(StatesGroup):
    reason = State()


# --- words -----------------------------------------------------------------------------------------


def reason_words(code: str, text: str | None = None) -> str:
    """A cancellation's reason as the client (or the professional) reads it."""
    if code == Reason.OTHER:
        return text or _("other")
    words: dict[str, str] = {
        Reason.ILLNESS: _("illness"),
        Reason.EMERGENCY: _("an emergency"),
        Reason.CONFLICT: _("a scheduling conflict"),
        Reason.DAY_OFF: _("a day off"),
        Reason.MOVE_DECLINED: _("the new time was declined"),
        Reason.MOVE_UNANSWERED: _("the new time was not answered in time"),
    }
    return words.get(code, text or _("other"))


def _pro_when(booking: Booking, professional: Professional, locale: str) -> str:
    return format_instant(booking.starts_at, professional.timezone, locale)


async def _agenda_with(ctx: Flow, professional: Professional, note: str) -> Rendered:
    screen = await agenda_screen(ctx, professional)
    return Rendered(f"{note}\n\n{screen.text}", screen.reply_markup)


def _back() -> list[Button]:
    return [("◀ " + _("Back to my agenda"), SessionBackCb())]


# --- a session's screen ----------------------------------------------------------------------------


async def session_screen(ctx: Flow, professional: Professional, booking: Booking, note: str | None = None) -> Rendered:
    now = ctx.clock.now()
    lines = [note, ""] if note else []
    lines += [
        _("{name} · {service}").format(name=booking.client.first_name, service=booking.service.name),
        _pro_when(booking, professional, ctx.locale),
    ]
    if booking.client_notes:
        lines.append(_("Notes: {notes}").format(notes=booking.client_notes[:300]))
    rows: list[list[Button]] = []
    if booking.state in (BookingState.HELD, BookingState.CONFIRMED) and booking.starts_at > now:
        row: list[Button] = [("✖ " + _("Cancel it"), CancelAskCb(id=booking.id, v=booking.version))]
        if booking.state == BookingState.CONFIRMED:
            row.append(("🔁 " + _("Move it"), MoveWeekCb(id=booking.id)))
        rows.append(row)
        if (proposal := await pro_move.open_proposal(ctx.session, booking.id)) is not None:
            lines.append(
                _("Waiting for {name}'s answer to {when}.").format(
                    name=booking.client.first_name,
                    when=format_instant(proposal.starts_at, professional.timezone, ctx.locale),
                )
            )
    else:
        lines.append(_("This session can no longer be cancelled or moved here."))
    rows.append(_back())
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def session_pressed(
    query: CallbackQuery, callback_data: SessionCb, ctx: Flow, professional: Professional
) -> None:
    booking = await bookings.professional_booking(ctx.session, callback_data.id, professional)
    await replace(query, ctx, await session_screen(ctx, professional, booking))


async def back_pressed(query: CallbackQuery, ctx: Flow, professional: Professional) -> None:
    await ctx.state.set_state(None)
    await replace(query, ctx, await agenda_screen(ctx, professional))


# --- cancelling ------------------------------------------------------------------------------------


def reason_question(booking: Booking, professional: Professional, locale: str) -> Rendered:
    when = _pro_when(booking, professional, locale)
    lines = [
        _("Cancel {name}'s session ({when})?").format(name=booking.client.first_name, when=when),
        _("Why? {name} reads the reason.").format(name=booking.client.first_name),
    ]

    def pick(code: Reason, label: str) -> Button:
        return (label, ReasonCb(id=booking.id, v=booking.version, r=str(code)))

    keyboard = inline_keyboard(
        [pick(Reason.ILLNESS, _("Illness")), pick(Reason.EMERGENCY, _("Emergency"))],
        [pick(Reason.CONFLICT, _("Scheduling conflict")), pick(Reason.OTHER, _("Other (type it)"))],
        [("◀ " + _("Back to the session"), SessionCb(id=booking.id))],
    )
    return Rendered("\n".join(lines), keyboard)


async def cancel_asked(query: CallbackQuery, callback_data: CancelAskCb, ctx: Flow, professional: Professional) -> None:
    booking = await bookings.professional_booking(ctx.session, callback_data.id, professional)
    if booking.version != callback_data.v:
        note = _("That session changed meanwhile; here it is now.")
        await replace(query, ctx, await session_screen(ctx, professional, booking, note))
        return
    await replace(query, ctx, reason_question(booking, professional, ctx.locale))


def _what_they_get(booking: Booking, now: datetime, locale: str) -> str:
    terms = cancellation_terms(booking, by=Actor.PROFESSIONAL, now=now)
    if booking.paid_with == PaidWith.CREDIT:
        return _("Their package credit comes back to them.")
    if terms.refund_minor > 0:
        amount = format_money(terms.refund_minor, booking.currency, locale)
        return _("They get {amount} back in full.").format(amount=amount)
    return _("Nothing was paid, so nothing is refunded.")


def cancel_question(booking: Booking, professional: Professional, code: str, text: str | None, ctx: Flow) -> Rendered:
    now = ctx.clock.now()
    lines = [
        _("Cancel {name}'s session ({when})?").format(
            name=booking.client.first_name, when=_pro_when(booking, professional, ctx.locale)
        ),
        _("Reason: {reason}").format(reason=reason_words(code, text)),
        _what_they_get(booking, now, ctx.locale),
        _("They are offered your nearest free times: one tap rebooks at no cost."),
    ]
    keyboard = inline_keyboard(
        [("✖ " + _("Yes, cancel it"), CancelYesCb(id=booking.id, v=booking.version, r=code))],
        [("◀ " + _("Back to the session"), SessionCb(id=booking.id))],
    )
    return Rendered("\n".join(lines), keyboard)


async def reason_pressed(query: CallbackQuery, callback_data: ReasonCb, ctx: Flow, professional: Professional) -> None:
    if callback_data.r not in {str(code) for code in pro_cancel.CHOSEN_REASONS}:
        await answer_stale(query)
        return
    booking = await bookings.professional_booking(ctx.session, callback_data.id, professional)
    if callback_data.r == Reason.OTHER:
        await ctx.state.set_state(ProSession.reason)
        await ctx.state.update_data({BOOKING: booking.id, VERSION: callback_data.v, TEXT: None})
        await replace(query, ctx, await ask_reason(ctx))
        return
    await replace(query, ctx, cancel_question(booking, professional, callback_data.r, None, ctx))


async def ask_reason(ctx: Flow) -> Rendered:
    text = _("Type the reason in a few words ({limit} characters at most); the client reads it.").format(
        limit=pro_cancel.MAX_REASON
    )
    booking_id = await ctx.state.get_value(BOOKING, 0)
    return Rendered(text, inline_keyboard([("◀ " + _("Back to the session"), SessionCb(id=int(booking_id or 0)))]))


async def reason_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    text = (message.text or "").strip()
    if len(text) > pro_cancel.MAX_REASON:
        problem = _("That's {count} characters; please keep it under {limit}.").format(
            count=len(text), limit=pro_cancel.MAX_REASON
        )
        question = await ask_reason(ctx)
        await send(ctx, Rendered(f"{problem}\n\n{question.text}", question.reply_markup))
        return
    try:
        booking = await bookings.professional_booking(
            ctx.session, int(await ctx.state.get_value(BOOKING, 0)), professional
        )
    except (NotFound, NotAllowed):
        await ctx.state.set_state(None)
        await send(ctx, await agenda_screen(ctx, professional))
        return
    await ctx.state.update_data({TEXT: text})
    await ctx.state.set_state(None)
    await send(ctx, cancel_question(booking, professional, Reason.OTHER, text, ctx))


async def cancel_confirmed(
    query: CallbackQuery, callback_data: CancelYesCb, ctx: Flow, professional: Professional
) -> None:
    if callback_data.r not in {str(code) for code in pro_cancel.CHOSEN_REASONS}:
        await answer_stale(query)
        return
    text: str | None = None
    if callback_data.r == Reason.OTHER:
        data = await ctx.state.get_data()
        kept = data.get(TEXT)
        if data.get(BOOKING) != callback_data.id or not isinstance(kept, str) or not kept:
            await ctx.state.set_state(ProSession.reason)
            await ctx.state.update_data({BOOKING: callback_data.id, VERSION: callback_data.v, TEXT: None})
            question = await ask_reason(ctx)
            await replace(
                query, ctx, Rendered(_("Please type the reason again.") + "\n\n" + question.text, question.reply_markup)
            )
            return
        text = kept
    now = ctx.clock.now()
    try:
        done = await pro_cancel.cancel_by_professional(
            ctx.session,
            callback_data.id,
            professional,
            reason=Reason(callback_data.r),
            text=text,
            now=now,
            expected_version=callback_data.v,
        )
    except BookingChanged:
        booking = await bookings.professional_booking(ctx.session, callback_data.id, professional)
        note = _("That session changed meanwhile; here it is now.")
        await replace(query, ctx, await session_screen(ctx, professional, booking, note))
        return
    except IllegalTransition:
        await replace(
            query, ctx, await _agenda_with(ctx, professional, _("That session was already cancelled or marked."))
        )
        return
    except TooLateToChange:
        await replace(query, ctx, await _agenda_with(ctx, professional, _("That session has already begun.")))
        return
    await ctx.state.update_data({TEXT: None, BOOKING: None})
    booking = done.booking
    note = _("Cancelled: {name}, {when}. {name} has been told, with your nearest free times.").format(
        name=booking.client.first_name, when=_pro_when(booking, professional, ctx.locale)
    )
    await replace(query, ctx, await _agenda_with(ctx, professional, note))


# --- moving ----------------------------------------------------------------------------------------


async def _movable(ctx: Flow, professional: Professional, booking_id: int) -> Booking:
    return await bookings.professional_booking(ctx.session, booking_id, professional)


async def move_week_pressed(
    query: CallbackQuery, callback_data: MoveWeekCb, ctx: Flow, professional: Professional
) -> None:
    booking = await _movable(ctx, professional, callback_data.id)
    now, zone = ctx.clock.now(), professional.timezone
    if booking.state != BookingState.CONFIRMED or booking.starts_at <= now:
        await replace(query, ctx, await session_screen(ctx, professional, booking))
        return
    day = day_from_code(callback_data.week) if callback_data.week else now.astimezone(zone_named(zone)).date()
    week = await picker.week_of(ctx.session, booking.service, day, zone, now, exclude_booking_id=booking.id)
    label = week_label(week.monday, week.monday + timedelta(days=6), ctx.locale)
    lines = [
        _("Moving {name}'s session ({when}).").format(
            name=booking.client.first_name, when=_pro_when(booking, professional, ctx.locale)
        ),
        _("Pick one of your free days in the week of {week} ({zone}):").format(
            week=label, zone=zone_suffix(zone, ctx.locale, now)
        )
        if week.days
        else _("No free times in the week of {week}.").format(week=label),
    ]
    days: list[Button] = [
        (short_day(free, ctx.locale), MoveDayCb(id=booking.id, day=day_code(free))) for free in week.days
    ]
    rows: list[list[Button]] = [days[index : index + 3] for index in range(0, len(days), 3)]
    paging: list[Button] = []
    if week.previous is not None:
        paging.append(("◀ " + _("Previous week"), MoveWeekCb(id=booking.id, week=day_code(week.previous))))
    if week.next is not None:
        paging.append((_("Next week") + " ▶", MoveWeekCb(id=booking.id, week=day_code(week.next))))
    rows += [paging, [("◀ " + _("Back to the session"), SessionCb(id=booking.id))]]
    await replace(query, ctx, Rendered("\n".join(lines), inline_keyboard(*rows)))


async def _times(ctx: Flow, professional: Professional, booking: Booking, day: date) -> Rendered:
    now, zone = ctx.clock.now(), professional.timezone
    slots = await picker.times_on(ctx.session, booking.service, day, zone, now, exclude_booking_id=booking.id)
    back = ("◀ " + _("Other days"), MoveWeekCb(id=booking.id, week=day_code(day)))
    if not slots:
        return Rendered(_("No free times are left on that day."), inline_keyboard([back]))
    text = _("{day}: your free times ({zone}). Which one should {name} be offered?").format(
        day=format_day(slots[0].start, zone, ctx.locale),
        zone=zone_suffix(zone, ctx.locale, slots[0].start),
        name=booking.client.first_name,
    )
    buttons: list[Button] = [
        (format_clock(slot.start, zone, ctx.locale), MoveTimeCb(id=booking.id, at=minute_code(slot.start)))
        for slot in slots
    ]
    rows = [buttons[index : index + 3] for index in range(0, len(buttons), 3)]
    return Rendered(text, inline_keyboard(*rows, [back]))


async def move_day_pressed(
    query: CallbackQuery, callback_data: MoveDayCb, ctx: Flow, professional: Professional
) -> None:
    booking = await _movable(ctx, professional, callback_data.id)
    await replace(query, ctx, await _times(ctx, professional, booking, day_from_code(callback_data.day)))


async def move_time_pressed(
    query: CallbackQuery, callback_data: MoveTimeCb, ctx: Flow, professional: Professional
) -> None:
    booking = await _movable(ctx, professional, callback_data.id)
    starts = instant_from_code(callback_data.at)
    zone = professional.timezone
    name = booking.client.first_name
    lines = [
        _("Propose a new time to {name}?").format(name=name),
        _("From: {when}").format(when=_pro_when(booking, professional, ctx.locale)),
        _("To: {when}").format(when=format_instant(starts, zone, ctx.locale)),
        _(
            "{name} accepts or declines. Declining, or no answer shortly before the session, counts as your "
            "cancellation: a full refund and your nearest free times."
        ).format(name=name),
    ]
    keyboard = inline_keyboard(
        [("✉ " + _("Send the proposal"), ProposeCb(id=booking.id, at=callback_data.at, v=booking.version))],
        [("◀ " + _("Other times"), MoveDayCb(id=booking.id, day=day_code(starts.astimezone(zone_named(zone)).date())))],
    )
    await replace(query, ctx, Rendered("\n".join(lines), keyboard))


async def propose_pressed(
    query: CallbackQuery, callback_data: ProposeCb, ctx: Flow, professional: Professional
) -> None:
    starts = instant_from_code(callback_data.at)
    try:
        proposal = await pro_move.propose(
            ctx.session, callback_data.id, professional, starts, now=ctx.clock.now(), expected_version=callback_data.v
        )
    except SlotUnavailable:
        booking = await _movable(ctx, professional, callback_data.id)
        note = _("That time is no longer free.")
        day = starts.astimezone(zone_named(professional.timezone)).date()
        screen = await _times(ctx, professional, booking, day)
        await replace(query, ctx, Rendered(f"{note}\n\n{screen.text}", screen.reply_markup))
        return
    except (BookingChanged, IllegalTransition, TooLateToChange):
        booking = await _movable(ctx, professional, callback_data.id)
        note = _("That session changed meanwhile; here it is now.")
        await replace(query, ctx, await session_screen(ctx, professional, booking, note))
        return
    booking = await _movable(ctx, professional, callback_data.id)
    note = _("Sent: {name} is asked to move to {when}. I'll tell you the answer.").format(
        name=booking.client.first_name, when=format_instant(proposal.starts_at, professional.timezone, ctx.locale)
    )
    await replace(query, ctx, await _agenda_with(ctx, professional, note))


# --- no-show ---------------------------------------------------------------------------------------


async def no_show_confirmed(
    query: CallbackQuery, callback_data: NoShowYesCb, ctx: Flow, professional: Professional
) -> None:
    now = ctx.clock.now()
    try:
        booking = await no_show.mark(
            ctx.session, callback_data.id, professional, now=now, expected_version=callback_data.v
        )
    except NotStartedYet:
        await answer(query, _("You can mark a session once it has begun."))
        return
    except (IllegalTransition, BookingChanged):
        note = _("That session was already marked or cancelled; here is how it stands.")
        await replace(query, ctx, await _agenda_with(ctx, professional, note))
        return
    note = _(
        "Marked as a no-show: {name}, {time}. {name} will get a kind message; you can undo this for 24 hours."
    ).format(name=booking.client.first_name, time=format_clock(booking.starts_at, professional.timezone, ctx.locale))
    await replace(query, ctx, await _agenda_with(ctx, professional, note))


async def no_show_undone(
    query: CallbackQuery, callback_data: NoShowUndoCb, ctx: Flow, professional: Professional
) -> None:
    try:
        booking = await no_show.undo(ctx.session, callback_data.id, professional, now=ctx.clock.now())
    except IllegalTransition:
        note = _("That is no longer a no-show (the client may have picked a new time); here is how it stands.")
        await replace(query, ctx, await _agenda_with(ctx, professional, note))
        return
    except TooLateToChange:
        await replace(
            query, ctx, await _agenda_with(ctx, professional, _("A no-show can be undone for 24 hours only."))
        )
        return
    note = _("Undone: {name}'s session ({time}) is no longer a no-show.").format(
        name=booking.client.first_name, time=format_clock(booking.starts_at, professional.timezone, ctx.locale)
    )
    await replace(query, ctx, await _agenda_with(ctx, professional, note))


# --- available now (instant sessions) ----------------------------------------------------------------


async def instant_asked(query: CallbackQuery, ctx: Flow, professional: Professional) -> None:
    text = _(
        "For how long are you available now? Clients looking for someone available now can book a session "
        "with you starting within {minutes} minutes. It turns off by itself when the time is up or a session "
        "is booked."
    ).format(minutes=int(instant.START_WITHIN.total_seconds() // 60))
    choices: list[Button] = [
        (_("{minutes} min").format(minutes=minutes), InstantOnCb(m=minutes)) for minutes in instant.WINDOW_CHOICES
    ]
    await replace(query, ctx, Rendered(text, inline_keyboard(choices, _back())))


async def instant_on(query: CallbackQuery, callback_data: InstantOnCb, ctx: Flow, professional: Professional) -> None:
    if callback_data.m not in instant.WINDOW_CHOICES:
        await answer_stale(query)
        return
    until = await instant.turn_on(ctx.session, professional, callback_data.m, now=ctx.clock.now())
    note = _("⚡ You are available now until {time}.").format(
        time=format_instant(until, professional.timezone, ctx.locale)
    )
    await replace(query, ctx, await _agenda_with(ctx, professional, note))


async def instant_off(query: CallbackQuery, ctx: Flow, professional: Professional) -> None:
    await instant.turn_off(ctx.session, professional)
    await replace(query, ctx, await _agenda_with(ctx, professional, _("Instant sessions are off.")))


# --- a day off over sessions (hook called by handlers/hours.py) ------------------------------------


async def offer_for_days_off(ctx: Flow, professional: Professional, first: date, last: date) -> None:
    """After days off are saved: each session on them, with a button to cancel or move it."""
    zone = zone_named(professional.timezone)
    now = ctx.clock.now()
    start = max(start_of_local_day(first, zone), now)
    end = start_of_local_day(last + timedelta(days=1), zone)
    affected = [
        booking
        for booking in await bookings.agenda(ctx.session, professional, start, end)
        if booking.state == BookingState.CONFIRMED
        or (booking.state == BookingState.HELD and booking.hold_expires_at and booking.hold_expires_at > now)
    ]
    if not affected:
        return
    lines = [
        _(
            "These sessions fall on your days off. Cancel or move each one; the client is told and, if you "
            "cancel, gets a full refund:"
        )
    ]
    rows: list[list[Button]] = []
    for booking in affected[:10]:
        day = format_day(booking.starts_at, professional.timezone, ctx.locale)
        label = (
            f"{day}, {format_clock(booking.starts_at, professional.timezone, ctx.locale)} {booking.client.first_name}"
        )
        lines.append(f"• {label} · {booking.service.name}")
        row: list[Button] = [("✖ " + label, CancelAskCb(id=booking.id, v=booking.version))]
        if booking.state == BookingState.CONFIRMED:
            row.append(("🔁 " + _("Move"), MoveWeekCb(id=booking.id)))
        rows.append(row)
    if len(affected) > 10:
        lines.append(_("… and {count} more: see /agenda.").format(count=len(affected) - 10))
    await send(ctx, Rendered("\n".join(lines), inline_keyboard(*rows)))


# --- the client's side -----------------------------------------------------------------------------


def _client_when(instant: datetime, reader: Reader) -> str:
    return format_instant(instant, reader.zone, reader.locale)


def _what(view: BookingView) -> str:
    return _("{service} with {name}").format(service=view.service_name, name=view.professional_name)


def pro_cancelled_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    """The client's one message about a professional's cancellation."""
    view = BookingView.from_json(payload)
    name, code = view.professional_name, str(payload.get("reason_code") or "")
    if code == Reason.MOVE_DECLINED:
        head = _("You declined the new time, so {name} has cancelled the session.").format(name=name)
    elif code == Reason.MOVE_UNANSWERED:
        head = _("{name}'s proposed new time got no answer in time, so the session is cancelled.").format(name=name)
    else:
        head = _("{name} had to cancel your session.").format(name=name)
    lines = [head, _what(view), _client_when(view.starts_at, reader)]
    if code not in (Reason.MOVE_DECLINED, Reason.MOVE_UNANSWERED):
        lines.append(_("Reason: {reason}").format(reason=reason_words(code, payload.get("reason_text"))))
    lines.append("")
    refund = int(payload.get("refund_minor") or 0)
    until = payload.get("carry_over_until")
    if payload.get("credit_returned"):
        lines.append(_("Your package credit comes back to you."))
    elif refund > 0:
        amount = format_money(refund, view.currency, reader.locale)
        lines.append(_("You get {amount} back in full.").format(amount=amount))
    offered = [datetime.fromisoformat(item) for item in payload.get("offered") or []]
    rows: list[list[Button]] = []
    if offered:
        if refund > 0 and until:
            lines.append(
                _(
                    "Or tap one of {name}'s nearest free times below before {until}: your payment carries over "
                    "instead, nothing more to pay."
                ).format(name=name, until=_client_when(datetime.fromisoformat(until), reader))
            )
        elif view.price_minor > 0 and view.paid_with is None:
            # Cancelled while it waited for payment: a new time is a new booking to pay.
            lines.append(_("Tap one of {name}'s nearest free times below to book again.").format(name=name))
        else:
            lines.append(_("Tap one of {name}'s nearest free times below to rebook at no cost.").format(name=name))
        lines.append(_("Times in {zone}.").format(zone=zone_suffix(reader.zone, reader.locale, offered[0])))
        for start in offered:
            label = (
                f"{format_day(start, reader.zone, reader.locale)}, {format_clock(start, reader.zone, reader.locale)}"
            )
            rows.append([(label, RebookCb(id=view.booking_id, at=minute_code(start)))])
    else:
        lines.append(_("{name} has no free times soon; you can look further ahead.").format(name=name))
    rows.append([("🗓 " + _("Other times with {name}").format(name=name), AgainCb(id=view.booking_id))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def rebook_pressed(query: CallbackQuery, callback_data: RebookCb, ctx: Flow, gateway: PaymentGateway) -> None:
    starts = instant_from_code(callback_data.at)
    now, zone = ctx.clock.now(), viewer_zone(ctx)
    try:
        done = await pro_cancel.rebook(ctx.session, callback_data.id, ctx.user, starts, now=now)
    except IllegalTransition:
        booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
        text = _("You have already picked a new time for this session.")
        await replace(query, ctx, Rendered(text, inline_keyboard([(_("Open the booking"), BookingCb(id=booking.id))])))
        return
    except SlotUnavailable as gone:
        lines = [_("Sorry, {when} is no longer free.").format(when=format_instant(starts, zone, ctx.locale))]
        rows: list[list[Button]] = []
        if gone.nearest:
            lines.append(
                _("The nearest free times ({zone}):").format(zone=zone_suffix(zone, ctx.locale, gone.nearest[0]))
            )
            for start in gone.nearest:
                label = f"{format_day(start, zone, ctx.locale)}, {format_clock(start, zone, ctx.locale)}"
                rows.append([(label, RebookCb(id=callback_data.id, at=minute_code(start)))])
        rows.append([("🗓 " + _("Other times"), AgainCb(id=callback_data.id))])
        await replace(query, ctx, Rendered("\n".join(lines), inline_keyboard(*rows)))
        return
    booking = done.booking
    if booking.state == BookingState.HELD:
        await send(
            ctx,
            Rendered(
                _(
                    "Your refund for the cancelled session has already gone out, so this is a new booking: "
                    "please pay for it to confirm it."
                )
            ),
        )
        offer_payment(ctx, gateway, booking_view(booking), query)
        await answer(query)
        return
    confirmed = confirmation_message(booking_view(booking), zone, ctx.locale)
    if done.carried_over and booking.price_minor > 0:
        confirmed = Rendered(
            _("Your payment carried over: nothing more to pay.") + "\n\n" + confirmed.text, confirmed.reply_markup
        )
    await replace(query, ctx, confirmed)
    await send(ctx, calendar_message(booking_view(booking), now))


def move_proposed_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    name = view.professional_name
    proposed = datetime.fromisoformat(payload["proposed"])
    lines = [
        _("{name} asks to move your session.").format(name=name),
        _what(view),
        _("Now: {when}").format(when=_client_when(view.starts_at, reader)),
        _("Proposed: {when}").format(when=_client_when(proposed, reader)),
        "",
        _(
            "Please answer by {deadline}. If you decline, or there is no answer by then, the session is "
            "cancelled and you get a full refund."
        ).format(deadline=_client_when(datetime.fromisoformat(payload["answer_by"]), reader)),
    ]
    proposal = int(payload["proposal_id"])
    keyboard = inline_keyboard(
        [("✅ " + _("Accept the new time"), MoveAnswerCb(p=proposal, a=1))],
        [("✖ " + _("Decline"), MoveAnswerCb(p=proposal, a=0))],
    )
    return Rendered("\n".join(lines), keyboard)


async def move_answered(query: CallbackQuery, callback_data: MoveAnswerCb, ctx: Flow) -> None:
    if callback_data.a not in (0, 1):
        await answer_stale(query)
        return
    now, zone = ctx.clock.now(), viewer_zone(ctx)
    done = await pro_move.answer(ctx.session, callback_data.p, ctx.user, accept=bool(callback_data.a), now=now)
    booking = done.booking
    open_it: InlineKeyboardMarkup = inline_keyboard([(_("Open the booking"), BookingCb(id=booking.id))])
    if done.outcome == "accepted":
        await replace(query, ctx, confirmation_message(booking_view(booking), zone, ctx.locale, moved=True))
        await send(ctx, calendar_message(booking_view(booking), now))
        return
    if done.outcome == "declined":
        text = _("Declined. The session is cancelled; my next message has your refund and other times.")
    elif done.outcome == "expired":
        text = _(
            "It is too late to answer: the session was cancelled. My next message has your refund and other times."
        )
    elif done.outcome == "taken":
        text = _(
            "Sorry, that time was just taken by someone else. Your session stays at {when}; {name} has been told."
        ).format(when=format_instant(booking.starts_at, zone, ctx.locale), name=booking.professional.name)
    else:
        text = _("This proposal is no longer open.")
    await replace(query, ctx, Rendered(text, open_it))


def move_answered_for_pro(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    client = view.client_name or _("The client")
    proposed = format_instant(datetime.fromisoformat(payload["proposed"]), reader.zone, reader.locale)
    outcome = payload.get("answer")
    if outcome == "accepted":
        text = _("✅ {name} accepted the new time: {when}.").format(name=client, when=proposed)
    elif outcome == "declined":
        text = _(
            "✖ {name} declined {when}. The session is cancelled: a full refund and your nearest free times "
            "went to them."
        ).format(name=client, when=proposed)
    elif outcome == "expired":
        text = _(
            "⌛ {name} did not answer about {when} in time. The session is cancelled: a full refund and your "
            "nearest free times went to them."
        ).format(name=client, when=proposed)
    else:
        text = _("{when} was taken before {name} answered; the session stays at {now}.").format(
            when=proposed, name=client, now=format_instant(view.starts_at, reader.zone, reader.locale)
        )
    return Rendered(text)


def no_show_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    name = view.professional_name
    lines = [
        _("We missed you at your session with {name} ({when}). We hope everything is all right.").format(
            name=name, when=_client_when(view.starts_at, reader)
        ),
    ]
    if payload.get("free_rebook"):
        lines.append(_("You can book a new time for it once, at no extra cost."))
        keyboard = inline_keyboard([("🗓 " + _("Pick a new time"), MoveCb(id=view.booking_id))])
    else:
        lines.append(
            _("Under {name}'s terms a missed session is not refunded. Whenever you're ready:").format(name=name)
        )
        keyboard = inline_keyboard([("🗓 " + _("New times with {name}").format(name=name), AgainCb(id=view.booking_id))])
    return Rendered("\n".join(lines), keyboard)


def no_show_undone_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    text = _("Sorry: your session with {name} ({when}) was marked as missed by mistake. That is undone.").format(
        name=view.professional_name, when=_client_when(view.starts_at, reader)
    )
    return Rendered(text)


def make_router(registry: Registry) -> Router:
    registry.state_prompt(ProSession.reason, ask_reason)
    registry.renderers.register(pro_cancel.PRO_CANCELLED_CLIENT)(pro_cancelled_for_client)
    registry.renderers.register(pro_move.MOVE_PROPOSED_CLIENT)(move_proposed_for_client)
    registry.renderers.register(pro_move.MOVE_ANSWERED_PRO)(move_answered_for_pro)
    registry.renderers.register(no_show.NO_SHOW_CLIENT)(no_show_for_client)
    registry.renderers.register(no_show.NO_SHOW_UNDONE_CLIENT)(no_show_undone_for_client)
    registry.read_only_callbacks(SessionCb, MoveWeekCb, MoveDayCb, MoveTimeCb)
    linked = professionals_only("pro-sessions-linked")
    linked.callback_query.register(session_pressed, SessionCb.filter())
    linked.callback_query.register(back_pressed, SessionBackCb.filter())
    linked.callback_query.register(cancel_asked, CancelAskCb.filter())
    linked.callback_query.register(reason_pressed, ReasonCb.filter())
    linked.callback_query.register(cancel_confirmed, CancelYesCb.filter())
    linked.callback_query.register(move_week_pressed, MoveWeekCb.filter())
    linked.callback_query.register(move_day_pressed, MoveDayCb.filter())
    linked.callback_query.register(move_time_pressed, MoveTimeCb.filter())
    linked.callback_query.register(propose_pressed, ProposeCb.filter())
    linked.callback_query.register(no_show_confirmed, NoShowYesCb.filter())
    linked.callback_query.register(no_show_undone, NoShowUndoCb.filter())
    linked.callback_query.register(instant_asked, InstantAskCb.filter())
    linked.callback_query.register(instant_on, InstantOnCb.filter())
    linked.callback_query.register(instant_off, InstantOffCb.filter())
    linked.message.register(reason_typed, ProSession.reason, F.text, ~F.text.startswith("/"))
    unlinked = Router(name="pro-sessions-unlinked")
    unlinked.message.register(not_linked_step, ProSession.reason, F.text, ~F.text.startswith("/"))
    clients = Router(name="pro-sessions-clients")
    clients.callback_query.register(rebook_pressed, RebookCb.filter())
    clients.callback_query.register(move_answered, MoveAnswerCb.filter())
    router = Router(name="pro-sessions")
    router.include_routers(linked, unlinked, clients)
    return router
