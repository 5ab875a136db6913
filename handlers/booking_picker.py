"""The picker shared by booking and rescheduling: a service's calendar a week at a time (only days
with free slots, in the client's zone), then the free times of a day. With `rb` in the callback data
the picker moves that booking (handlers/my_bookings.py): its own slot does not count as busy."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import Rendered, format_clock, format_instant, zone_suffix
from bot.services import availability, directory, picker
from bot.services import booking as bookings
from bot.services.errors import NotAllowed, NotFound, SlotUnavailable
from bot.services.policy import Actor, RescheduleRefusal, can_reschedule
from bot.services.timezones import zone as zone_named
from handlers.client_callbacks import (
    CAT,
    DAY,
    LANG,
    NOTES,
    PAGE,
    RB,
    SVC,
    WEEK,
    BookingCb,
    BrowseCb,
    CancelCb,
    DayCb,
    ProfileCb,
    TimeCb,
    WeekCb,
    as_int,
    day_code,
    day_from_code,
    minute_code,
)
from handlers.client_wording import (
    long_day,
    other_clock,
    reschedule_refusal,
    service_facts,
    service_with,
    short_day,
    viewer_zone,
    week_label,
)
from handlers.common import Button, Flow, inline_keyboard, replace
from models import Booking, BookingState, Service


class Book(StatesGroup):
    day = State()
    time = State()
    notes = State()
    summary = State()
    move = State()


def local_day(instant: datetime, zone_name: str) -> date:
    return instant.astimezone(zone_named(zone_name)).date()


async def subject(
    ctx: Flow, service_id: int, booking_id: int, shows: tuple[datetime, datetime] | None = None
) -> tuple[Service, Booking | None]:
    """What a picker button is about: a bookable service, or (rb) the client's own booking to move.

    Both raise NotFound / NotAllowed for anything stale or forged; a booking to move takes its service
    from itself, whatever service id the button claims. `shows`: the range of slot starts the screen
    will show, whose busy intervals then come with the service (one statement fewer)."""
    if booking_id:
        booking = await bookings.client_booking(ctx.session, booking_id, ctx.user)
        return booking.service, booking
    busy = availability.busy_window(*shows) if shows is not None else None
    return await directory.bookable_service(ctx.session, service_id, busy_between=busy), None


def refusal_screen(booking: Booking, reason: RescheduleRefusal) -> Rendered:
    rows: list[list[Button]] = []
    if booking.state in (BookingState.HELD, BookingState.CONFIRMED) and reason != RescheduleRefusal.STARTED:
        rows.append([(_("Cancel it instead"), CancelCb(id=booking.id, v=booking.version))])
    rows.append([("◀ " + _("Back to the session"), BookingCb(id=booking.id))])
    return Rendered(reschedule_refusal(booking, reason), inline_keyboard(*rows))


def gone_screen() -> Rendered:
    text = _("That is no longer available.")
    return Rendered(text, inline_keyboard([(_("Find a professional"), BrowseCb())]))


async def forget_flow(ctx: Flow) -> None:
    """Leave the booking flow: no state, and none of its data kept."""
    data = await ctx.state.get_data()
    await ctx.state.set_data({key: value for key, value in data.items() if not key.startswith("c_")})
    await ctx.state.set_state(None)


async def show_week(ctx: Flow, service: Service, day: date | None, booking: Booking | None) -> Rendered:
    zone, now = viewer_zone(ctx), ctx.clock.now()
    professional = service.professional
    rb = booking.id if booking else 0
    week = await picker.week_of(
        ctx.session, service, day or local_day(now, zone), zone, now, exclude_booking_id=rb or None
    )
    data = await ctx.state.get_data()
    changes: dict[str, Any] = {SVC: service.id, WEEK: day_code(week.monday), RB: rb}
    if data.get(SVC) != service.id or rb:
        changes[NOTES] = None
    await ctx.state.set_state(Book.day)
    await ctx.state.update_data(changes)

    label = week_label(week.monday, week.monday + timedelta(days=6), ctx.locale)
    if booking is not None:
        lines = [
            _("Moving your session: {what}").format(what=service_with(service, professional)),
            _("Now: {when}").format(when=format_instant(booking.starts_at, zone, ctx.locale)),
            "",
        ]
    else:
        lines = [service_with(service, professional), service_facts(service, ctx.locale), ""]
    rows: list[list[Button]] = []
    noon = datetime.combine(week.monday, time(12), UTC)
    if week.days:
        lines.append(
            _("Pick a day in the week of {week} (your time zone: {zone}):").format(
                week=label, zone=zone_suffix(zone, ctx.locale, noon)
            )
        )
        days: list[Button] = [
            (short_day(free, ctx.locale), DayCb(svc=service.id, day=day_code(free), rb=rb)) for free in week.days
        ]
        rows += [days[index : index + 3] for index in range(0, len(days), 3)]
    else:
        lines.append(_("No free times in the week of {week}.").format(week=label))
        if week.next_free_day is not None:
            following = picker.monday_of(week.next_free_day)
            lines.append(
                _("The next free times are in the week of {week}.").format(
                    week=week_label(following, following + timedelta(days=6), ctx.locale)
                )
            )
            if week.next is None or picker.monday_of(week.next) != following:
                # The next free week is further than the next one: a jump there (else "Next week" is it).
                jump = WeekCb(svc=service.id, week=day_code(week.next_free_day), rb=rb)
                label = _("Go to the week of {day}").format(day=short_day(following, ctx.locale))
                rows.append([(label + " ▶", jump)])
        else:
            lines.append(
                ngettext(
                    "Nothing is free later either, up to {days} day ahead.",
                    "Nothing is free later either, up to {days} days ahead.",
                    professional.booking_horizon_days,
                ).format(days=professional.booking_horizon_days)
            )
    paging: list[Button] = []
    if week.previous is not None:
        paging.append(("◀ " + _("Previous week"), WeekCb(svc=service.id, week=day_code(week.previous), rb=rb)))
    if week.next is not None:
        paging.append((_("Next week") + " ▶", WeekCb(svc=service.id, week=day_code(week.next), rb=rb)))
    rows.append(paging)
    if booking is not None:
        rows.append([("◀ " + _("Back to the session"), BookingCb(id=booking.id))])
    else:
        back = ProfileCb(
            id=professional.id,
            cat=str(data.get(CAT, "")),
            lang=str(data.get(LANG, "")),
            page=as_int(data, PAGE),
        )
        rows.append([("◀ " + _("Back to {name}").format(name=professional.name), back)])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def week_pressed(query: CallbackQuery, callback_data: WeekCb, ctx: Flow) -> None:
    zone = viewer_zone(ctx)
    shown = day_from_code(callback_data.week) if callback_data.week else local_day(ctx.clock.now(), zone)
    service, booking = await subject(ctx, callback_data.svc, callback_data.rb, picker.week_bounds(shown, zone))
    if booking is not None and (reason := can_reschedule(booking, by=Actor.CLIENT, now=ctx.clock.now())):
        await replace(query, ctx, refusal_screen(booking, reason))
        return
    day = day_from_code(callback_data.week) if callback_data.week else None
    await replace(query, ctx, await show_week(ctx, service, day, booking))


async def ask_day(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    try:
        service, booking = await subject(ctx, as_int(data, SVC), as_int(data, RB))
        return await show_week(ctx, service, day_from_code(as_int(data, WEEK)), booking)
    except (NotFound, NotAllowed):
        await forget_flow(ctx)
        return gone_screen()


async def show_times(ctx: Flow, service: Service, day: date, booking: Booking | None) -> Rendered:
    zone, now = viewer_zone(ctx), ctx.clock.now()
    professional = service.professional
    rb = booking.id if booking else 0
    slots = await picker.times_on(ctx.session, service, day, zone, now, exclude_booking_id=rb or None)
    await ctx.state.set_state(Book.time)
    await ctx.state.update_data({SVC: service.id, DAY: day_code(day), RB: rb})
    other_days = ("◀ " + _("Other days"), WeekCb(svc=service.id, week=day_code(day), rb=rb))
    if not slots:
        text = _("No free times are left on {day}.").format(day=long_day(day, ctx.locale))
        return Rendered(text, inline_keyboard([other_days]))
    first = slots[0].start
    lines = [
        service_with(service, professional),
        _("{day}: free times ({zone})").format(
            day=long_day(day, ctx.locale), zone=zone_suffix(zone, ctx.locale, first)
        ),
    ]
    theirs = any(other_clock(slot.start, professional.timezone, zone, ctx.locale) for slot in slots)
    if theirs:
        lines.append(
            _("In brackets: {name}'s time ({zone}).").format(
                name=professional.name, zone=zone_suffix(professional.timezone, ctx.locale, first)
            )
        )
    buttons: list[Button] = []
    for slot in slots:
        label = format_clock(slot.start, zone, ctx.locale)
        other = other_clock(slot.start, professional.timezone, zone, ctx.locale)
        if other:
            label += f" ({other})"
        buttons.append((label, TimeCb(svc=service.id, at=minute_code(slot.start), rb=rb)))
    columns = 2 if theirs else 3
    rows = [buttons[index : index + columns] for index in range(0, len(buttons), columns)]
    return Rendered("\n".join(lines), inline_keyboard(*rows, [other_days]))


async def day_pressed(query: CallbackQuery, callback_data: DayCb, ctx: Flow) -> None:
    shown = picker.day_bounds(day_from_code(callback_data.day), viewer_zone(ctx))
    service, booking = await subject(ctx, callback_data.svc, callback_data.rb, shown)
    if booking is not None and (reason := can_reschedule(booking, by=Actor.CLIENT, now=ctx.clock.now())):
        await replace(query, ctx, refusal_screen(booking, reason))
        return
    await replace(query, ctx, await show_times(ctx, service, day_from_code(callback_data.day), booking))


async def ask_time(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    try:
        service, booking = await subject(ctx, as_int(data, SVC), as_int(data, RB))
        return await show_times(ctx, service, day_from_code(as_int(data, DAY)), booking)
    except (NotFound, NotAllowed):
        await forget_flow(ctx)
        return gone_screen()


async def show_gone(ctx: Flow, service: Service, gone: SlotUnavailable, booking: Booking | None) -> Rendered:
    """A time someone else took meanwhile (or that is no longer offered), with the nearest free ones."""
    zone = viewer_zone(ctx)
    rb = booking.id if booking else 0
    day = local_day(gone.starts_at, zone)
    await ctx.state.set_state(Book.time)
    await ctx.state.update_data({SVC: service.id, DAY: day_code(day), RB: rb})
    when = format_instant(gone.starts_at, zone, ctx.locale)
    if gone.reason == "taken":
        lines = [_("Sorry, {when} was just taken by someone else.").format(when=when)]
    else:
        lines = [_("Sorry, {when} is no longer available.").format(when=when)]
    rows: list[list[Button]] = []
    if gone.nearest:
        lines.append(_("The nearest free times ({zone}):").format(zone=zone_suffix(zone, ctx.locale, gone.nearest[0])))
        for start in gone.nearest:
            label = f"{short_day(local_day(start, zone), ctx.locale)}, {format_clock(start, zone, ctx.locale)}"
            rows.append([(label, TimeCb(svc=service.id, at=minute_code(start), rb=rb))])
    else:
        lines.append(_("There are no other free times right now."))
    rows.append([("◀ " + _("Other days"), WeekCb(svc=service.id, week=day_code(day), rb=rb))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))
