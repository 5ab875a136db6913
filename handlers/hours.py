"""/hours: a professional's weekly hours and days off, seen and changed from chat.

The overview shows each weekday's windows and the days off ahead (and, read-only, dates with other
hours from the catalog). A weekday button asks for that day's new hours ("09:00-12:00, 13:30-17:00",
or "off"); "Add days off" asks for a date or a range; "Remove days off" lists the ranges ahead.
Typed hours follow bot/services/windows.py, the rules the catalog file follows too; a bad entry gets
a clear message and the same question again. Bookings already made are never moved: when a change
leaves sessions outside the hours, the answer lists them.

Times of day are shown in the professional's locale style ("9:00 AM – 12:00 PM" in English,
"09:00–12:00" in Ukrainian) under a header naming their zone; either style, and "9-12", "9:00 - 12:00",
"9–12", can be typed back. Dates are typed as 24.12.2026, 24.12 or 2026-12-24, ranges as
"2026-12-28 - 2026-12-30" or "28.12–30.12" (bot/services/typed_dates.py). Days off can be added several
in a row; "Other hours on a date" sets or removes a date override.
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
from bot.render.hours import format_windows
from bot.services import schedule, special_days, typed_dates
from bot.services.availability import start_of_local_day
from bot.services.errors import NotAllowed, NotFound
from bot.services.schedule import DaysOff
from bot.services.timezones import zone as zone_named
from bot.services.windows import MAX_WINDOWS, ScheduleInputError, Window, parse_windows
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
    special_date = State()
    special_hours = State()


SPECIAL_DATE = "hours_special_date"


class HoursCb(Callback, prefix="hr"):
    action: str  # "show" | "add_off" | "list_off" | "special" | "add_special"


class SpecialCb(Callback, prefix="hs"):
    # An ISO date whose other hours go back to the weekly ones.
    day: str


class WeekdayCb(Callback, prefix="hd"):
    weekday: int
    # True: no hours that day, at once (the button under the question).
    off: bool = False


class RemoveOffCb(Callback, prefix="hx"):
    id: int


# --- words -----------------------------------------------------------------------------------------


def _windows(windows: Sequence[Window], locale: str) -> str:
    return format_windows(windows, locale) if windows else _("no hours")


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


ECHO_LIMIT = 60


def _echo(piece: str) -> str:
    """Typed input quoted back: never long enough to push a reply past Telegram's 4,096 characters."""
    piece = " ".join(piece.split())
    return piece if len(piece) <= ECHO_LIMIT else piece[: ECHO_LIMIT - 1].rstrip() + "…"


def input_problem(error: ScheduleInputError, locale: str = "en") -> str:
    piece = _echo(error.piece)
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
        return _("{first} and {second} overlap.").format(
            first=_windows([first], locale), second=_windows([second], locale)
        )
    if problem == "too_many":
        return _("That is more than {count} windows in one day.").format(count=MAX_WINDOWS)
    if problem == "date":
        return _("“{piece}” is not a date: type it as 24.12.2026, 24.12 or 2026-12-24.").format(piece=piece)
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
        lines.append(f"{_weekday_name(weekday, ctx.locale)}: {_windows(windows, ctx.locale)}")
    lines += ["", _("Days off ahead:")]
    lines += [f"• {_range(d.first_day, d.last_day, ctx.locale, zone)}" for d in current.days_off] or [_("none")]
    if current.special_days:
        lines += ["", _("Other hours on these dates:")]
        lines += [
            f"• {_date(day.on_date, ctx.locale, zone)}: {_windows(day.windows, ctx.locale)}"
            for day in current.special_days
        ]
    lines += ["", _("Bookings already made are never moved by a change here.")]
    weekdays = [(_weekday_name(day, ctx.locale, "abbreviated"), WeekdayCb(weekday=day)) for day in range(7)]
    keyboard = inline_keyboard(
        weekdays[:4],
        weekdays[4:],
        [(_("Add days off"), HoursCb(action="add_off")), (_("Remove days off"), HoursCb(action="list_off"))],
        [(_("Other hours on a date"), HoursCb(action="special"))],
    )
    return Rendered("\n".join(lines), keyboard)


def _back_button() -> tuple[str, Callback]:
    return ("◀ " + _("Back to my hours"), HoursCb(action="show"))


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
            _("{day} now: {hours}.").format(day=name, hours=_windows(windows, ctx.locale)),
            _(
                "Type the new hours for {day} in {zone}, e.g. 9-17, or several separated by commas, "
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
        "Which days do you take off? Type a date, e.g. {day}, or a range, e.g. {first} - {last} "
        "(both days included). You can add several, one after another."
    ).format(day=_typed(example), first=_typed(example), last=_typed(example + timedelta(days=2)))
    return Rendered(text, inline_keyboard([(_("Done"), HoursCb(action="show"))]))


def _typed(day: date) -> str:
    """A date as people here type it back: 24.12.2026."""
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


async def special_screen(ctx: Flow, professional: Professional, note: Sequence[str] = ()) -> Rendered:
    current = await schedule.weekly_schedule(ctx.session, professional, now=ctx.clock.now())
    zone = professional.timezone
    lines = [*note, *([""] if note else [])]
    lines.append(_("Other hours on these dates (they replace the weekly hours that day):"))
    lines += [
        f"• {_date(day.on_date, ctx.locale, zone)}: {_windows(day.windows, ctx.locale)}" for day in current.special_days
    ] or [_("none")]
    rows: list[list[tuple[str, Callback]]] = [[(_("Add a date"), HoursCb(action="add_special"))]]
    rows += [
        [(f"✕ {_date(day.on_date, ctx.locale, zone)}", SpecialCb(day=day.on_date.isoformat()))]
        for day in current.special_days
    ]
    rows.append([_back_button()])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def ask_special_date(ctx: Flow) -> Rendered:
    professional = await linked_professional(ctx)
    today = schedule.local_today(professional, ctx.clock.now()) if professional else ctx.clock.now().date()
    text = _("Which date has other hours? Type it, e.g. {day}.").format(day=_typed(today + timedelta(days=30)))
    return Rendered(text, inline_keyboard([_back_button()]))


async def ask_special_hours(ctx: Flow) -> Rendered:
    professional = await linked_professional(ctx)
    zone = professional.timezone if professional else "UTC"
    raw = await ctx.state.get_value(SPECIAL_DATE)
    day = date.fromisoformat(str(raw)) if raw else None
    label = _date(day, ctx.locale, zone) if day else "—"
    text = _(
        "Your hours on {day} in {zone}, e.g. 10-13 or 09:00-12:00, 14:00-16:00. Type “off” for no work that day."
    ).format(day=label, zone=zone_label(zone, ctx.locale, ctx.clock.now()))
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
    elif callback_data.action == "special":
        await ctx.state.clear()
        await replace(query, ctx, await special_screen(ctx, professional))
    elif callback_data.action == "add_special":
        await ctx.state.set_state(HoursEdit.special_date)
        await replace(query, ctx, await ask_special_date(ctx))
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
    saved = _("Saved: {day}: {hours}.").format(
        day=_weekday_name(weekday, ctx.locale), hours=_windows(windows, ctx.locale)
    )
    return [saved, *_outside_note(outside, professional, ctx.locale)]


async def days_off_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    now = ctx.clock.now()
    try:
        first, last = typed_dates.parse_days(message.text or "", schedule.local_today(professional, now))
        added, _on_those_days = await schedule.add_days_off(ctx.session, professional, first, last, now=now)
    except ScheduleInputError as exc:
        await _ask_again(ctx, exc, await ask_days_off(ctx))
        return
    days = _range(added.first_day, added.last_day, ctx.locale, professional.timezone)
    note = [
        _("Days off: {days}. Clients can't book those days.").format(days=days),
    ]
    # Still in the step: another date or range can follow at once; "Done" goes back to the hours.
    question = await ask_days_off(ctx)
    await send(ctx, Rendered("\n".join([*note, "", question.text]), question.reply_markup))
    # Sessions already on those days: one message with Cancel / Move for each (pro_sessions).
    await offer_for_days_off(ctx, professional, first, last)


async def special_date_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    today = schedule.local_today(professional, ctx.clock.now())
    try:
        day = typed_dates.parse_day(message.text or "", today)
        if day < today:
            raise ScheduleInputError("past", day.isoformat())
    except ScheduleInputError as exc:
        await _ask_again(ctx, exc, await ask_special_date(ctx))
        return
    await ctx.state.update_data({SPECIAL_DATE: day.isoformat()})
    await ctx.state.set_state(HoursEdit.special_hours)
    await send(ctx, await ask_special_hours(ctx))


async def special_hours_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    raw = await ctx.state.get_value(SPECIAL_DATE)
    if not raw:
        await ctx.state.clear()
        await send(ctx, await special_screen(ctx, professional))
        return
    day = date.fromisoformat(str(raw))
    try:
        windows = parse_windows(message.text or "")
        outside = await special_days.set_special_day(ctx.session, professional, day, windows, now=ctx.clock.now())
    except ScheduleInputError as exc:
        await _ask_again(ctx, exc, await ask_special_hours(ctx))
        return
    await ctx.state.clear()
    note = [
        _("Saved: {day}: {hours}.").format(
            day=_date(day, ctx.locale, professional.timezone), hours=_windows(windows, ctx.locale)
        ),
        *_outside_note(outside, professional, ctx.locale),
    ]
    await send(ctx, await special_screen(ctx, professional, note))


async def special_remove_pressed(
    query: CallbackQuery, callback_data: SpecialCb, ctx: Flow, professional: Professional
) -> None:
    try:
        day = date.fromisoformat(callback_data.day)
        await special_days.remove_special_day(ctx.session, professional, day)
    except (ValueError, NotFound):
        await answer_stale(query)
        return
    note = [_("{day} has your weekly hours again.").format(day=_date(day, ctx.locale, professional.timezone))]
    await replace(query, ctx, await special_screen(ctx, professional, note))


async def _ask_again(ctx: Flow, error: ScheduleInputError, question: Rendered) -> None:
    await send(ctx, Rendered(f"{input_problem(error, ctx.locale)}\n\n{question.text}", question.reply_markup))


def make_router(registry: Registry) -> Router:
    registry.state_prompt(HoursEdit.weekday, ask_weekday_hours)
    registry.state_prompt(HoursEdit.days_off, ask_days_off)
    registry.state_prompt(HoursEdit.special_date, ask_special_date)
    registry.state_prompt(HoursEdit.special_hours, ask_special_hours)
    typing = (F.text, ~F.text.startswith("/"))
    linked = professionals_only("hours-linked")
    linked.message.register(hours_command, Command("hours"))
    linked.callback_query.register(hours_pressed, HoursCb.filter())
    linked.callback_query.register(remove_pressed, RemoveOffCb.filter())
    linked.callback_query.register(weekday_pressed, WeekdayCb.filter())
    linked.message.register(weekday_hours_typed, HoursEdit.weekday, *typing)
    linked.message.register(days_off_typed, HoursEdit.days_off, *typing)
    linked.callback_query.register(special_remove_pressed, SpecialCb.filter())
    linked.message.register(special_date_typed, HoursEdit.special_date, *typing)
    linked.message.register(special_hours_typed, HoursEdit.special_hours, *typing)
    # Everyone else: the command says who it is for; a step left open when the link went ends.
    # Their buttons reach the fallback ("no longer available").
    unlinked = Router(name="hours-unlinked")
    unlinked.message.register(not_linked_command, Command("hours"))
    unlinked.message.register(not_linked_step, StateFilter(*HoursEdit.__all_states__), *typing)
    router = Router(name="hours")
    router.include_routers(linked, unlinked)
    return router
