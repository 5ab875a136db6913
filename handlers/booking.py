"""Booking a session: a service's calendar (a week at a time, only days with free slots, in the client's
zone) -> the free times of a day -> optional notes for the professional -> a summary with the
cancellation policy in plain words -> Confirm -> booking.hold().

A free service is confirmed at once: the confirmation carries the video link or the address and an
.ics calendar file. A paid one is held until its expiry, with a "Pay" link to the gateway's checkout
(handlers/payments.py); it is confirmed only when the gateway's signed event says it is paid.

The calendar and the times of a day live in handlers/booking_picker.py, which rescheduling shares
(handlers/my_bookings.py); this module takes over once a time is picked: then `rb` in the callback data
names the booking being moved, and the last screen asks to move it instead of booking anew.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import Rendered, format_duration, format_instant, format_price
from bot.services import booking as bookings
from bot.services import credits, directory, picker
from bot.services.booking import BOOKING_CALENDAR_CLIENT, BOOKING_CONFIRMED_CLIENT, MAX_NOTES
from bot.services.booking_view import booking_view
from bot.services.errors import NotAllowed, NotFound, SlotUnavailable
from bot.services.payments.gateway import PaymentGateway
from bot.services.policy import Actor, Policy, can_reschedule, terms_at
from handlers import phone_consent
from handlers.booking_messages import calendar_for_client, confirmation_message, confirmed_for_client
from handlers.booking_picker import (
    Book,
    ask_day,
    ask_time,
    day_pressed,
    forget_flow,
    gone_screen,
    local_day,
    refusal_screen,
    show_gone,
    subject,
    week_pressed,
)
from handlers.calendar_file import calendar_file
from handlers.client_callbacks import (
    AT,
    NOTES,
    RB,
    SVC,
    BrowseCb,
    ConfirmCb,
    DayCb,
    KeepNotesCb,
    MoveYesCb,
    NotesCb,
    SkipNotesCb,
    TimeCb,
    WeekCb,
    as_int,
    day_code,
    instant_from_code,
    minute_code,
)
from handlers.client_wording import (
    notes_line,
    place_lines,
    service_with,
    terms_lines,
    viewer_zone,
    when_lines,
)
from handlers.common import Button, Flow, answer, buttons_expected, inline_keyboard, replace, send
from handlers.packages import credit_button_label, credit_policy_line
from handlers.payments import offer_payment
from handlers.registry import Registry
from models import Booking, BookingState, Service


async def time_pressed(query: CallbackQuery, callback_data: TimeCb, ctx: Flow) -> None:
    starts = instant_from_code(callback_data.at)
    service, booking = await subject(ctx, callback_data.svc, callback_data.rb, (starts, starts))
    now = ctx.clock.now()
    if booking is not None and (reason := can_reschedule(booking, by=Actor.CLIENT, now=now)):
        await replace(query, ctx, refusal_screen(booking, reason))
        return
    try:
        await picker.check_free(ctx.session, service, starts, now, exclude_booking_id=booking.id if booking else None)
    except SlotUnavailable as gone:
        await replace(query, ctx, await show_gone(ctx, service, gone, booking))
        return
    if booking is not None:
        await replace(query, ctx, await show_move(ctx, booking, starts))
        return
    if bookings.is_own_service(ctx.user, service.professional):
        await replace(query, ctx, own_service_screen(service))
        return
    data = await ctx.state.get_data()
    notes = data.get(NOTES)
    if data.get(SVC) == service.id and isinstance(notes, str):
        # Notes written (or skipped) for another time of this service stay: nothing typed is lost.
        await replace(query, ctx, await show_summary(ctx, service, starts, notes))
    else:
        await replace(query, ctx, await show_notes(ctx, service, starts))


def notes_expected() -> str:
    return _("Type your notes as a message, or pick one of the buttons below.")


def own_service_screen(service: Service) -> Rendered:
    text = _("This is your own service: you can't book a session with yourself.")
    return Rendered(text, inline_keyboard([(_("Find a professional"), BrowseCb())]))


async def show_notes(ctx: Flow, service: Service, starts: datetime, problem: str | None = None) -> Rendered:
    zone = viewer_zone(ctx)
    professional = service.professional
    data = await ctx.state.get_data()
    current = data.get(NOTES) if data.get(SVC) == service.id else None
    await ctx.state.set_state(Book.notes)
    await ctx.state.update_data({SVC: service.id, AT: minute_code(starts), RB: 0})
    lines = [problem, ""] if problem else []
    lines += [
        service_with(service, professional),
        format_instant(starts, zone, ctx.locale),
        "",
    ]
    if isinstance(current, str) and current:
        lines += [
            _("Your notes now: {notes}").format(notes=current),
            "",
            _("Type new notes to replace them, or keep them as they are."),
        ]
    else:
        lines.append(
            _(
                "Anything {name} should know before the session? For example accessibility needs (captions, "
                "language, pacing) or what you'd like to work on. Type it here, or press Skip."
            ).format(name=professional.name)
        )
    at = minute_code(starts)
    keep: list[Button] = (
        [(_("Keep these notes"), KeepNotesCb(svc=service.id, at=at))]
        if isinstance(current, str) and current
        else [(_("Skip"), SkipNotesCb(svc=service.id, at=at))]
    )
    keyboard = inline_keyboard(
        keep,
        [("◀ " + _("Other times"), DayCb(svc=service.id, day=day_code(local_day(starts, zone))))],
    )
    return Rendered("\n".join(lines), keyboard)


async def _flow_time(ctx: Flow) -> tuple[Service, datetime]:
    data = await ctx.state.get_data()
    service = await directory.bookable_service(ctx.session, as_int(data, SVC))
    return service, instant_from_code(as_int(data, AT))


async def ask_notes(ctx: Flow) -> Rendered:
    try:
        service, starts = await _flow_time(ctx)
    except NotFound:
        await forget_flow(ctx)
        return gone_screen()
    return await show_notes(ctx, service, starts)


async def notes_typed(message: Message, ctx: Flow) -> None:
    try:
        service, starts = await _flow_time(ctx)
    except NotFound:
        await forget_flow(ctx)
        await send(ctx, gone_screen())
        return
    notes = (message.text or "").strip()
    if len(notes) > MAX_NOTES:
        problem = _("That's {count} characters; please keep it under {limit}.").format(
            count=len(notes), limit=MAX_NOTES
        )
        await send(ctx, await show_notes(ctx, service, starts, problem))
        return
    await send(ctx, await show_summary(ctx, service, starts, notes))


async def notes_skipped(query: CallbackQuery, callback_data: SkipNotesCb, ctx: Flow) -> None:
    service = await directory.bookable_service(ctx.session, callback_data.svc)
    starts = instant_from_code(callback_data.at)
    await replace(query, ctx, await show_summary(ctx, service, starts, ""))


async def notes_kept(query: CallbackQuery, callback_data: KeepNotesCb, ctx: Flow) -> None:
    service = await directory.bookable_service(ctx.session, callback_data.svc)
    starts = instant_from_code(callback_data.at)
    data = await ctx.state.get_data()
    notes = data.get(NOTES) if data.get(SVC) == service.id else None
    if not isinstance(notes, str) or not notes:
        await replace(query, ctx, await show_notes(ctx, service, starts, _("Please write your notes again.")))
        return
    await replace(query, ctx, await show_summary(ctx, service, starts, notes))


async def clash_lines(ctx: Flow, starts: datetime, ends: datetime, exclude_booking_id: int | None = None) -> list[str]:
    """A warning naming the client's own sessions (with anyone) that overlap this time; [] when none do."""
    zone = viewer_zone(ctx)
    clashes = await bookings.clashes_of_client(
        ctx.session, ctx.user, starts, ends, now=ctx.clock.now(), exclude_booking_id=exclude_booking_id
    )
    if not clashes:
        return []
    lines = ["⚠️ " + _("This overlaps another session of yours:")]
    for other in clashes:
        what = service_with(other.service, other.professional)
        lines.append(f"• {what}, {format_instant(other.starts_at, zone, ctx.locale)}")
    return [*lines, _("You can still book it if that is what you want."), ""]


async def notes_again(query: CallbackQuery, callback_data: NotesCb, ctx: Flow) -> None:
    service = await directory.bookable_service(ctx.session, callback_data.svc)
    await replace(query, ctx, await show_notes(ctx, service, instant_from_code(callback_data.at)))


async def show_summary(ctx: Flow, service: Service, starts: datetime, notes: str) -> Rendered:
    zone = viewer_zone(ctx)
    professional = service.professional
    at = minute_code(starts)
    await ctx.state.set_state(Book.summary)
    await ctx.state.update_data({SVC: service.id, AT: at, NOTES: notes, RB: 0})
    clash = await clash_lines(ctx, starts, starts + timedelta(minutes=service.duration_minutes))
    lines = [
        *clash,
        _("Please check your booking:"),
        "",
        service_with(service, professional),
        *when_lines(starts, professional, zone, ctx.locale),
        _("Duration: {duration}").format(duration=format_duration(service.duration_minutes)),
        _("Price: {price}").format(price=format_price(service.price_minor, service.currency, ctx.locale)),
        *place_lines(service, professional, confirmed=False),
        *notes_line(notes),
        *phone_consent.phone_lines(service, await ctx.state.get_data()),
        "",
        *terms_lines(
            terms_at(Policy.of(professional), starts_at=starts, price_minor=service.price_minor, now=ctx.clock.now()),
            professional.no_show,
            service.price_minor,
            zone,
            ctx.locale,
        ),
    ]
    offer = None
    if service.price_minor > 0:
        offer = await credits.usable_credit(ctx.session, ctx.user.id, service.id, starts, ctx.clock.now())
    credit_row: list[Button] = []
    if offer is not None:
        lines.append(credit_policy_line(Policy.of(professional)))
        credit_row.append(
            (credit_button_label(offer, zone, ctx.locale), ConfirmCb(svc=service.id, at=at, n=1 if notes else 0, c=1))
        )
    keyboard = inline_keyboard(
        credit_row,
        [("✅ " + _("Confirm"), ConfirmCb(svc=service.id, at=at, n=1 if notes else 0))],
        [
            ("✏️ " + (_("Change notes") if notes else _("Add notes")), NotesCb(svc=service.id, at=at)),
            ("◀ " + _("Other times"), DayCb(svc=service.id, day=day_code(local_day(starts, zone)))),
        ],
    )
    return Rendered("\n".join(lines), keyboard)


async def ask_summary(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    try:
        service, starts = await _flow_time(ctx)
    except NotFound:
        await forget_flow(ctx)
        return gone_screen()
    notes = data.get(NOTES)
    return await show_summary(ctx, service, starts, notes if isinstance(notes, str) else "")


def confirmation(booking: Booking, zone: str, locale: str, *, moved: bool = False) -> Rendered:
    """A confirmed session: when (in both zones where they differ), where, and what comes next."""
    return confirmation_message(booking_view(booking), zone, locale, moved=moved)


async def send_calendar_file(ctx: Flow, booking: Booking) -> None:
    await send(ctx, Rendered(_("Add it to your calendar:"), document=calendar_file(booking, ctx.clock.now())))


async def confirm_pressed(query: CallbackQuery, callback_data: ConfirmCb, ctx: Flow, gateway: PaymentGateway) -> None:
    starts = instant_from_code(callback_data.at)
    # Loaded once and kept: booking finds it in the session instead of selecting it again.
    service = await directory.bookable_service(ctx.session, callback_data.svc)
    data = await ctx.state.get_data()
    notes: str | None = None
    if callback_data.n:
        # The notes the summary showed live in the conversation; a summary from another, finished
        # conversation would book without them, so it is stale instead.
        same = data.get(SVC) == callback_data.svc and data.get(AT) == callback_data.at
        kept = data.get(NOTES)
        if not same or not isinstance(kept, str) or not kept:
            await replace(query, ctx, await show_notes(ctx, service, starts, _("Please write your notes again.")))
            return
        notes = kept
    # A phone session asks for the number first (handlers/phone_consent.py), then shows this summary again.
    number, question = await phone_consent.number_for(ctx, service, callback_data.at)
    if question is not None:
        await replace(query, ctx, question)
        return
    now, zone = ctx.clock.now(), viewer_zone(ctx)
    try:
        booked = await bookings.book(
            ctx.session,
            client=ctx.user,
            service_id=callback_data.svc,
            starts_at=starts,
            now=now,
            notes=notes,
            phone=number,
            use_credit=bool(callback_data.c),
        )
    except SlotUnavailable as gone:
        await replace(query, ctx, await show_gone(ctx, service, gone, None))
        return
    except credits.NoCreditLeft:
        # Spent or expired since the summary: the summary again, with what can be done now.
        summary = await show_summary(ctx, service, starts, notes or "")
        problem = _("You have no credit left that covers this session.")
        await replace(query, ctx, dataclasses.replace(summary, text=f"{problem}\n\n{summary.text}"))
        return
    await forget_flow(ctx)
    booking = booked.booking
    if booking.state == BookingState.HELD:
        offer_payment(ctx, gateway, booking_view(booking), query)
        await answer(query)
        return
    await replace(query, ctx, confirmation(booking, zone, ctx.locale))
    if not booked.again:
        # Confirm pressed twice: the first press already sent the file.
        await send_calendar_file(ctx, booking)


async def show_move(ctx: Flow, booking: Booking, starts: datetime) -> Rendered:
    zone = viewer_zone(ctx)
    service, professional = booking.service, booking.professional
    at = minute_code(starts)
    await ctx.state.set_state(Book.move)
    await ctx.state.update_data({SVC: service.id, AT: at, RB: booking.id})
    left = bookings.moves_left_after_this(booking)
    clash = await clash_lines(ctx, starts, starts + (booking.ends_at - booking.starts_at), booking.id)
    lines = [
        *clash,
        _("Move this session?"),
        service_with(service, professional),
        _("From: {when}").format(when=format_instant(booking.starts_at, zone, ctx.locale)),
        _("To: {when}").format(when=format_instant(starts, zone, ctx.locale)),
    ]
    lines += when_lines(starts, professional, zone, ctx.locale)[1:]
    if booking.state == BookingState.CONFIRMED:
        if left > 0:
            lines.append(
                ngettext(
                    "After this you can move it once more.", "After this you can move it {n} more times.", left
                ).format(n=left)
            )
        else:
            lines.append(_("This is the last time you can move it."))
    keyboard = inline_keyboard(
        [("✅ " + _("Move it"), MoveYesCb(id=booking.id, at=at, v=booking.version))],
        [("◀ " + _("Other times"), DayCb(svc=service.id, day=day_code(local_day(starts, zone)), rb=booking.id))],
    )
    return Rendered("\n".join(lines), keyboard)


async def ask_move(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    try:
        booking = await bookings.client_booking(ctx.session, as_int(data, RB), ctx.user)
        return await show_move(ctx, booking, instant_from_code(as_int(data, AT)))
    except (NotFound, NotAllowed):
        await forget_flow(ctx)
        return gone_screen()


def make_router(registry: Registry) -> Router:
    router = Router(name="booking")
    registry.state_prompt(Book.day, ask_day, expects=buttons_expected)
    registry.state_prompt(Book.time, ask_time, expects=buttons_expected)
    registry.state_prompt(Book.notes, ask_notes, expects=notes_expected)
    registry.state_prompt(Book.summary, ask_summary, expects=notes_expected)
    registry.state_prompt(Book.move, ask_move, expects=buttons_expected)
    registry.renderers.register(BOOKING_CONFIRMED_CLIENT)(confirmed_for_client)
    registry.renderers.register(BOOKING_CALENDAR_CLIENT)(calendar_for_client)
    registry.read_only_callbacks(WeekCb, DayCb, TimeCb, SkipNotesCb)
    router.callback_query.register(week_pressed, WeekCb.filter())
    router.callback_query.register(day_pressed, DayCb.filter())
    router.callback_query.register(time_pressed, TimeCb.filter())
    router.message.register(notes_typed, Book.notes, F.text, ~F.text.startswith("/"))
    # Typed on the summary, text can only be notes: taken as (new) notes, and the summary shown again.
    router.message.register(notes_typed, Book.summary, F.text, ~F.text.startswith("/"))
    router.callback_query.register(notes_kept, KeepNotesCb.filter())
    router.callback_query.register(notes_skipped, SkipNotesCb.filter())
    router.callback_query.register(notes_again, NotesCb.filter())
    router.callback_query.register(confirm_pressed, ConfirmCb.filter())
    return router
