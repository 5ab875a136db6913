"""/hours: a professional's weekly hours and days off, seen and changed from chat.

The overview shows each weekday's windows and the days off ahead (and, read-only, dates with other
hours from the catalog). A weekday button asks for that day's new hours ("09:00-12:00, 13:30-17:00",
or "off"); "Add days off" asks for a date or a range; "Remove days off" lists the ranges ahead.
Typed hours follow bot/services/windows.py, the rules the catalog file follows too; a bad entry gets
a clear message and the same question again. Bookings already made are never moved: when a change
leaves sessions outside the hours, the answer lists them.

Times of day are shown as the professional types them (24-hour HH:MM) under a header naming their
zone, so what they read is what they can type back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names

from bot.render import Rendered, format_clock, format_day, zone_label
from bot.services import schedule
from bot.services.availability import start_of_local_day
from bot.services.errors import NotAllowed, NotFound
from bot.services.schedule import DaysOff
from bot.services.timezones import zone as zone_named
from bot.services.windows import MAX_WINDOWS, ScheduleInputError, Window, format_windows, parse_windows
from handlers.common import Callback, Flow, answer_stale, inline_keyboard, replace, send
from handlers.pro_sessions import offer_for_days_off
from handlers.professional import linked_professional, not_linked_command, not_linked_step, professionals_only
from handlers.registry import Registry
from models import Booking, BookingState, Professional

WEEKDAY = "hours_weekday"
MAX_LISTED_SESSIONS = 10


class HoursEdit(StatesGroup):
    weekday = State()
    days_off = State()


class HoursCb(Callback, prefix="hr"):
    action: str  # "show" | "add_off" | "list_off"


class WeekdayCb(Callback, prefix="hd"):
    weekday: int
    # True: no hours that day, at once (the button under the question).
    off: bool = False


class RemoveOffCb(Callback, prefix="hx"):
    id: int


# --- words -----------------------------------------------------------------------------------------


def _windows(windows: Sequence[Window]) -> str:
    return format_windows(windows) if windows else _("no hours")


def _weekday_name(weekday: int, locale: str, width: Literal["wide", "abbreviated"] = "wide") -> str:
    name = str(get_day_names(width, locale=locale)[weekday])
    return name[:1].upper() + name[1:]


def _range(first: date, last: date, locale: str, zone: str) -> str:
    """A range of local dates (format_day takes instants: noon of the date stands in for it)."""
    day = _date(first, locale, zone)
    return day if first == last else f"{day} – {_date(last, locale, zone)}"


def _date(day: date, locale: str, zone: str) -> str:
    noon = start_of_local_day(day, zone_named(zone)) + timedelta(hours=12)
    return format_day(noon, zone, locale)


def _input_problem(error: ScheduleInputError) -> str:
    piece = error.piece
    problem = error.problem
    if problem == "blank":
        return _("That was empty.")
    if problem == "format":
        return _("“{piece}” is not HH:MM-HH:MM, e.g. 09:00-12:00.").format(piece=piece)
    if problem == "start":
        return _("“{piece}” starts at no time of day (00:00 to 23:59).").format(piece=piece)
    if problem == "end":
        return _("“{piece}” ends at no time of day (00:01 to 24:00).").format(piece=piece)
    if problem == "empty":
        return _("“{piece}” starts and ends at the same time.").format(piece=piece)
    if problem == "order":
        return _(
            "“{piece}” ends before it starts. Hours cannot cross midnight: "
            "end at 24:00 and start the next day at 00:00."
        ).format(piece=piece)
    if problem == "overlap":
        first, second = error.windows
        return _("{first} and {second} overlap.").format(first=_windows([first]), second=_windows([second]))
    if problem == "too_many":
        return _("That is more than {count} windows in one day.").format(count=MAX_WINDOWS)
    if problem == "date":
        return _("“{piece}” is not a date as YYYY-MM-DD, e.g. 2026-12-24.").format(piece=piece)
    if problem == "range_order":
        return _("“{piece}” ends before it starts.").format(piece=piece)
    if problem == "too_long":
        return _("That is more than {count} days at once.").format(count=schedule.MAX_DAYS_OFF)
    if problem == "past":
        return _("That date has passed.")
    return _("I couldn't use that.")


def _outside_note(bookings: Sequence[Booking], professional: Professional, locale: str) -> list[str]:
    if not bookings:
        return []
    lines = [
        "",
        _(
            "These sessions are outside your hours now. They stay booked: nothing was moved or cancelled. "
            "Talk to the client if one should change:"
        ),
    ]
    for booking in bookings[:MAX_LISTED_SESSIONS]:
        when = (
            f"{format_day(booking.starts_at, professional.timezone, locale)}, "
            f"{format_clock(booking.starts_at, professional.timezone, locale)}"
        )
        line = f"• {when} {booking.client.first_name} · {booking.service.name}"
        if booking.state == BookingState.HELD:
            line += " (" + _("awaiting payment") + ")"
        lines.append(line)
    if len(bookings) > MAX_LISTED_SESSIONS:
        lines.append(_("… and {count} more.").format(count=len(bookings) - MAX_LISTED_SESSIONS))
    return lines


# --- screens ---------------------------------------------------------------------------------------


async def hours_screen(ctx: Flow, professional: Professional, note: Sequence[str] = ()) -> Rendered:
    now = ctx.clock.now()
    current = await schedule.weekly_schedule(ctx.session, professional, now=now)
    zone = professional.timezone
    lines = [*note, *([""] if note else [])]
    lines.append(_("Your weekly hours, in {zone}:").format(zone=zone_label(zone, ctx.locale, now)))
    for weekday, windows in enumerate(current.weekly):
        lines.append(f"{_weekday_name(weekday, ctx.locale)}: {_windows(windows)}")
    lines += ["", _("Days off ahead:")]
    lines += [f"• {_range(d.first_day, d.last_day, ctx.locale, zone)}" for d in current.days_off] or [_("none")]
    if current.special_days:
        lines += ["", _("Other hours on these dates:")]
        lines += [f"• {_date(day.on_date, ctx.locale, zone)}: {_windows(day.windows)}" for day in current.special_days]
    lines += ["", _("Bookings already made are never moved by a change here.")]
    weekdays = [(_weekday_name(day, ctx.locale, "abbreviated"), WeekdayCb(weekday=day)) for day in range(7)]
    keyboard = inline_keyboard(
        weekdays[:4],
        weekdays[4:],
        [(_("Add days off"), HoursCb(action="add_off")), (_("Remove days off"), HoursCb(action="list_off"))],
    )
    return Rendered("\n".join(lines), keyboard)


def _back_button() -> tuple[str, Callback]:
    return (_("‹ Back to my hours"), HoursCb(action="show"))


async def ask_weekday_hours(ctx: Flow) -> Rendered:
    professional = await linked_professional(ctx)
    weekday = int(await ctx.state.get_value(WEEKDAY, 0))
    name = _weekday_name(weekday, ctx.locale)
    zone = professional.timezone if professional else "UTC"
    windows = (
        (await schedule.weekly_schedule(ctx.session, professional, now=ctx.clock.now())).weekly[weekday]
        if professional
        else ()
    )
    text = "\n".join(
        [
            _("{day} now: {hours}.").format(day=name, hours=_windows(windows)),
            _(
                "Type the new hours for {day} in {zone} as HH:MM-HH:MM, several separated by commas, "
                "e.g. 09:00-12:00, 13:30-17:00. Type “off” for no hours that day."
            ).format(day=name, zone=zone_label(zone, ctx.locale, ctx.clock.now())),
        ]
    )
    keyboard = inline_keyboard(
        [(_("No hours on {day}").format(day=name), WeekdayCb(weekday=weekday, off=True))], [_back_button()]
    )
    return Rendered(text, keyboard)


async def ask_days_off(ctx: Flow) -> Rendered:
    professional = await linked_professional(ctx)
    today = schedule.local_today(professional, ctx.clock.now()) if professional else ctx.clock.now().date()
    example = today + timedelta(days=30)
    text = _(
        "Which days do you take off? Type a date, e.g. {day}, or a range, e.g. {first}..{last} (both days included)."
    ).format(day=example.isoformat(), first=example.isoformat(), last=(example + timedelta(days=2)).isoformat())
    return Rendered(text, inline_keyboard([_back_button()]))


# --- handlers --------------------------------------------------------------------------------------


async def hours_command(message: Message, ctx: Flow, professional: Professional) -> None:
    await ctx.state.clear()
    await send(ctx, await hours_screen(ctx, professional))


async def hours_pressed(query: CallbackQuery, callback_data: HoursCb, ctx: Flow, professional: Professional) -> None:
    if callback_data.action == "show":
        await ctx.state.clear()
        await replace(query, ctx, await hours_screen(ctx, professional))
    elif callback_data.action == "add_off":
        await ctx.state.set_state(HoursEdit.days_off)
        await replace(query, ctx, await ask_days_off(ctx))
    elif callback_data.action == "list_off":
        await ctx.state.clear()
        await replace(query, ctx, await _days_off_list(ctx, professional))
    else:
        await answer_stale(query)


async def _days_off_list(ctx: Flow, professional: Professional) -> Rendered:
    current = await schedule.weekly_schedule(ctx.session, professional, now=ctx.clock.now())
    if not current.days_off:
        return Rendered(_("You have no days off ahead."), inline_keyboard([_back_button()]))
    rows = [
        [(f"✕ {_range(d.first_day, d.last_day, ctx.locale, professional.timezone)}", RemoveOffCb(id=d.id))]
        for d in current.days_off
    ]
    return Rendered(_("Which days off should become working days again?"), inline_keyboard(*rows, [_back_button()]))


async def remove_pressed(
    query: CallbackQuery, callback_data: RemoveOffCb, ctx: Flow, professional: Professional
) -> None:
    try:
        removed: DaysOff = await schedule.remove_days_off(ctx.session, professional, callback_data.id)
    except (NotFound, NotAllowed):
        await answer_stale(query)
        return
    days = _range(removed.first_day, removed.last_day, ctx.locale, professional.timezone)
    note = [_("Removed from your days off: {days}. Clients can book those days again.").format(days=days)]
    await replace(query, ctx, await hours_screen(ctx, professional, note))


async def weekday_pressed(
    query: CallbackQuery, callback_data: WeekdayCb, ctx: Flow, professional: Professional
) -> None:
    if callback_data.weekday not in range(7):
        await answer_stale(query)
        return
    if callback_data.off:
        note = await _save_weekday(ctx, professional, callback_data.weekday, ())
        await replace(query, ctx, await hours_screen(ctx, professional, note))
        return
    await ctx.state.set_state(HoursEdit.weekday)
    await ctx.state.update_data({WEEKDAY: callback_data.weekday})
    await replace(query, ctx, await ask_weekday_hours(ctx))


async def weekday_hours_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    weekday = int(await ctx.state.get_value(WEEKDAY, 0))
    try:
        windows = parse_windows(message.text or "")
    except ScheduleInputError as exc:
        await _ask_again(ctx, exc, await ask_weekday_hours(ctx))
        return
    note = await _save_weekday(ctx, professional, weekday, windows)
    await send(ctx, await hours_screen(ctx, professional, note))


async def _save_weekday(ctx: Flow, professional: Professional, weekday: int, windows: Sequence[Window]) -> list[str]:
    await ctx.state.clear()
    outside = await schedule.set_weekday_hours(ctx.session, professional, weekday, windows, now=ctx.clock.now())
    saved = _("Saved: {day}: {hours}.").format(day=_weekday_name(weekday, ctx.locale), hours=_windows(windows))
    return [saved, *_outside_note(outside, professional, ctx.locale)]


async def days_off_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    try:
        first, last = schedule.parse_days(message.text or "")
        added, outside = await schedule.add_days_off(ctx.session, professional, first, last, now=ctx.clock.now())
    except ScheduleInputError as exc:
        await _ask_again(ctx, exc, await ask_days_off(ctx))
        return
    await ctx.state.clear()
    days = _range(added.first_day, added.last_day, ctx.locale, professional.timezone)
    note = [
        _("Days off: {days}. Clients can't book those days.").format(days=days),
        *_outside_note(outside, professional, ctx.locale),
    ]
    await send(ctx, await hours_screen(ctx, professional, note))
    await offer_for_days_off(ctx, professional, first, last)


async def _ask_again(ctx: Flow, error: ScheduleInputError, question: Rendered) -> None:
    await send(ctx, Rendered(f"{_input_problem(error)}\n\n{question.text}", question.reply_markup))


def make_router(registry: Registry) -> Router:
    registry.state_prompt(HoursEdit.weekday, ask_weekday_hours)
    registry.state_prompt(HoursEdit.days_off, ask_days_off)
    typing = (F.text, ~F.text.startswith("/"))
    linked = professionals_only("hours-linked")
    linked.message.register(hours_command, Command("hours"))
    linked.callback_query.register(hours_pressed, HoursCb.filter())
    linked.callback_query.register(remove_pressed, RemoveOffCb.filter())
    linked.callback_query.register(weekday_pressed, WeekdayCb.filter())
    linked.message.register(weekday_hours_typed, HoursEdit.weekday, *typing)
    linked.message.register(days_off_typed, HoursEdit.days_off, *typing)
    # Everyone else: the command says who it is for; a step left open when the link went ends.
    # Their buttons reach the fallback ("no longer available").
    unlinked = Router(name="hours-unlinked")
    unlinked.message.register(not_linked_command, Command("hours"))
    unlinked.message.register(not_linked_step, StateFilter(HoursEdit.weekday, HoursEdit.days_off), *typing)
    router = Router(name="hours")
    router.include_routers(linked, unlinked)
    return router
