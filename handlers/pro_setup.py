"""A professional's own profile in chat (seeds: "Getting Started"): linking through an invite link (or
/join when SELF_SIGNUP is on), the step-by-step setup, /profile, the share link and its QR code, and
the greeting /start gives a linked professional.

The setup asks, one step at a time: name, headline, about, languages, fields, time zone, video link,
address (with access notes), services, weekly hours, cancellation terms, breaks. Every step can be
skipped ("Skip for now") and done later from /profile, whose buttons open the same steps one at a time
(FSM data PURPOSE: "setup" goes on to the next step, "edit" goes back to /profile). What is still
missing before the profile can be listed is always shown (bot/services/pro_profile.py decides it).

Every handler here sits on routers from `professionals_only()`: only a linked professional reaches them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SetMyCommands
from aiogram.types import BotCommand, BotCommandScopeChat, BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names

from bot.render import Rendered, format_clock, format_day, format_price, zone_choice, zone_label
from bot.render.hours import format_windows
from bot.services import invites, pro_profile, schedule
from bot.services.errors import InvalidTimeZone, NotAllowed, NotFound
from bot.services.invites import INVITE_PREFIX, AlreadyLinked, InviteUnusable
from bot.services.pro_profile import ProfileInputError
from bot.services.timezones import canonical_zone
from bot.services.verification import latest_request, pending_request
from bot.services.windows import ScheduleInputError, parse_windows
from bot.services.zone_search import search_zones
from handlers.client_wording import category_label, language_label, policy_lines, service_facts
from handlers.common import Button, Callback, Flow, answer, answer_stale, button_grid, inline_keyboard, replace, send
from handlers.professional import (
    linked_professional,
    not_linked_command,
    not_linked_step,
    professional_commands,
    professionals_only,
)
from handlers.registry import CommandInfo, Registry
from handlers.start import ONBOARDING, PENDING_LINK, Profile, begin_profile_step
from models import Booking, BookingState, Policy, Professional, ServiceMode

PURPOSE = "ps_purpose"
SETUP = "setup"
EDIT = "edit"
DAYS = "ps_days"
SERVICE = "ps_service"
JOIN_PREFIX = "join"
ECHO_LIMIT = 60
BIO_PREVIEW = 300
SUMMARY_SESSIONS = 10
TEXT_LIMIT = 4000


class Setup(StatesGroup):
    name = State()
    headline = State()
    bio = State()
    languages = State()
    categories = State()
    zone = State()
    video_link = State()
    address = State()
    access_notes = State()
    services = State()
    service_name = State()
    service_duration = State()
    service_currency = State()
    service_price = State()
    service_mode = State()
    days = State()
    day_hours = State()
    policy = State()
    buffers = State()


# The setup's steps in order; "address" covers the access notes, "services" and "hours" their sub-steps.
STEPS = (
    "name",
    "headline",
    "bio",
    "languages",
    "categories",
    "zone",
    "video_link",
    "address",
    "services",
    "hours",
    "policy",
    "buffers",
)
_STEP_STATE = {
    "name": Setup.name,
    "headline": Setup.headline,
    "bio": Setup.bio,
    "languages": Setup.languages,
    "categories": Setup.categories,
    "zone": Setup.zone,
    "video_link": Setup.video_link,
    "address": Setup.address,
    "services": Setup.services,
    "hours": Setup.days,
    "policy": Setup.policy,
    "buffers": Setup.buffers,
}


class SetupCb(Callback, prefix="ps"):
    action: str  # "skip" | "go" | "usename" | "profile" | "share" | "continue" | "addsvc" | "hours"
    step: str = ""


class ToggleCb(Callback, prefix="sut"):
    kind: str  # "l" language | "c" category | "d" weekday
    value: str


class ZonePickCb(Callback, prefix="suz"):
    zone: str


class CurrencyCb(Callback, prefix="suc"):
    code: str


class ModeCb(Callback, prefix="sum"):
    mode: str


class PresetCb(Callback, prefix="sup"):
    name: str  # a pro_profile.PRESETS key, or "keep"


class BufferCb(Callback, prefix="sub"):
    before: int
    after: int


class RetireCb(Callback, prefix="sur"):
    id: int


# --- words -----------------------------------------------------------------------------------------


def short(text: str, limit: int = ECHO_LIMIT) -> str:
    """Typed input quoted back, never long enough to push a reply past Telegram's 4,096 characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def part_label(part: str) -> str:
    return {
        pro_profile.NAME: _("your name"),
        pro_profile.HEADLINE: _("a headline"),
        pro_profile.LANGUAGES: _("the languages you work in"),
        pro_profile.CATEGORIES: _("your fields"),
        pro_profile.VIDEO_LINK: _("a video link (you offer video sessions)"),
        pro_profile.ADDRESS: _("an address (you offer sessions in person)"),
        pro_profile.SERVICES: _("at least one service"),
        pro_profile.HOURS: _("your weekly hours"),
    }.get(part, part)


def mode_word(mode: str) -> str:
    return {"video": _("By video"), "in_person": _("In person"), "phone": _("By phone")}.get(mode, mode)


def input_problem(error: ProfileInputError) -> str:
    problem = error.problem
    if problem == "blank":
        return _("That was empty.")
    if problem == "too_long":
        return _("That is too long: at most {count} characters.").format(count=error.limit)
    if problem == "link":
        return _("That is not a web address: it starts with https://, e.g. https://meet.example.org/you.")
    if problem == "language":
        return _("I don't know that language code: use two letters such as en, uk, pl.")
    if problem == "category":
        return _("A field needs letters, e.g. “Family therapy”.")
    if problem == "duration":
        return _("A session lasts 5 minutes to 12 hours: type minutes, e.g. 50, or 1h 30.")
    if problem == "price":
        return _("That is not a price: type an amount such as 60 or 60.00, or 0 for free.")
    if problem == "decimals":
        return _("That currency has {count} decimals at most.").format(count=error.limit)
    if problem == "currency":
        return _("That is not a currency code: three letters such as EUR, USD, UAH.")
    if problem == "buffer":
        return _("Type minutes from 0 to 240: one number for a break after, or two for before and after.")
    if problem == "too_many":
        return _("That is more than {count}.").format(count=error.limit)
    return _("I couldn't use that.")


def weekday_name(weekday: int, locale: str, width: str = "wide") -> str:
    name = str(get_day_names(width, locale=locale)[weekday])  # type: ignore[arg-type]
    return name[:1].upper() + name[1:]


def _skip_row(ctx_purpose: str, step: str) -> list[Button]:
    if ctx_purpose == EDIT:
        return [("◀ " + _("Back to my profile"), SetupCb(action="profile"))]
    return [(_("Skip for now"), SetupCb(action="skip", step=step))]


async def _purpose(ctx: Flow) -> str:
    return str(await ctx.state.get_value(PURPOSE, SETUP))


async def _pro(ctx: Flow) -> Professional:
    professional = await linked_professional(ctx)
    if professional is None:
        raise NotFound("professional of chat", ctx.user.telegram_id)
    return professional


def _now_value(value: str | None) -> str:
    return _("Now: {value}").format(value=short(value, 200)) if value and value.strip() else _("Now: not set")


# --- the steps' questions ------------------------------------------------------------------------


async def ask_name(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    purpose = await _purpose(ctx)
    rows: list[list[Button]] = []
    if not professional.name and ctx.user.first_name:
        rows.append([(_("Use “{name}”").format(name=short(ctx.user.first_name, 40)), SetupCb(action="usename"))])
    rows.append(_skip_row(purpose, "name"))
    text = "\n".join([_("What name should clients see?"), _now_value(professional.name)])
    return Rendered(text, inline_keyboard(*rows))


async def ask_headline(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    text = "\n".join(
        [
            _("Your headline: one line about what you do, e.g. “Career coach for people changing fields”."),
            _now_value(professional.headline),
        ]
    )
    return Rendered(text, inline_keyboard(_skip_row(await _purpose(ctx), "headline")))


async def ask_bio(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    text = "\n".join(
        [
            _("About you: a few sentences on your background and how you work (up to {count} characters).").format(
                count=pro_profile.MAX_BIO
            ),
            _now_value(short(professional.bio, BIO_PREVIEW) if professional.bio else None),
        ]
    )
    return Rendered(text, inline_keyboard(_skip_row(await _purpose(ctx), "bio")))


def _toggles(values: Sequence[str], chosen: Sequence[str], kind: str, label: Callable[[str], str]) -> list[Button]:
    shown = list(dict.fromkeys([*values, *chosen]))
    return [(("✓ " if value in chosen else "") + label(value), ToggleCb(kind=kind, value=value)) for value in shown]


def _done_row(purpose: str, step: str) -> list[Button]:
    if purpose == EDIT:
        return [(_("Done"), SetupCb(action="profile"))]
    return [(_("Done, next step"), SetupCb(action="skip", step=step))]


async def ask_languages(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    buttons = _toggles(
        pro_profile.COMMON_LANGUAGES, professional.languages, "l", lambda code: language_label(code, ctx.locale)
    )
    keyboard = button_grid(buttons, columns=3)
    keyboard.inline_keyboard.append(
        [button for button in inline_keyboard(_done_row(await _purpose(ctx), "languages")).inline_keyboard[0]]
    )
    text = _("Which languages do you hold sessions in? Tap to choose; type codes for others, e.g. pl, pt-BR.")
    return Rendered(text, keyboard)


async def ask_categories(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    buttons = _toggles(pro_profile.KNOWN_CATEGORIES, professional.categories, "c", category_label)
    keyboard = button_grid(buttons, columns=2)
    keyboard.inline_keyboard.append(inline_keyboard(_done_row(await _purpose(ctx), "categories")).inline_keyboard[0])
    text = _("Which fields do clients find you under? Tap to choose (up to {count}), or type your own.").format(
        count=pro_profile.MAX_CATEGORIES
    )
    return Rendered(text, keyboard)


async def ask_zone(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    label = zone_label(professional.timezone, ctx.locale, ctx.clock.now())
    text = "\n".join(
        [
            _("Your time zone: {zone}. Your hours, agenda and notifications use it.").format(zone=label),
            _("To change it, type your city or country."),
        ]
    )
    purpose = await _purpose(ctx)
    keep = _("Keep {zone}").format(zone=label)
    row: list[Button] = (
        [(keep, SetupCb(action="profile"))] if purpose == EDIT else [(keep, SetupCb(action="skip", step="zone"))]
    )
    return Rendered(text, inline_keyboard(row))


async def ask_video_link(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    text = "\n".join(
        [
            _(
                "The link to your video room (Zoom, Google Meet, Jitsi, ...): clients get it with their booking. "
                "Skip it if you don't meet by video."
            ),
            _now_value(professional.video_link),
        ]
    )
    return Rendered(text, inline_keyboard(_skip_row(await _purpose(ctx), "video_link")))


async def ask_address(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    text = "\n".join(
        [
            _("The address where you meet clients in person. Skip it if you only meet by video or phone."),
            _now_value(professional.address),
        ]
    )
    return Rendered(text, inline_keyboard(_skip_row(await _purpose(ctx), "address")))


async def ask_access_notes(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    text = "\n".join(
        [
            _("How to get in: entrance, floor, step-free access, parking (clients read it before they come)."),
            _now_value(professional.access_notes),
        ]
    )
    return Rendered(text, inline_keyboard(_skip_row(await _purpose(ctx), "address")))


async def ask_services(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    services = await pro_profile.active_services(ctx.session, professional)
    lines = [_("Your services:")]
    lines += [f"• {short(s.name, 80)}: {service_facts(s, ctx.locale)}" for s in services] or [_("none yet")]
    lines += ["", _("Clients pick one of these when they book. Add one, or remove one no longer offered.")]
    rows: list[list[Button]] = [[(_("➕ Add a service"), SetupCb(action="addsvc"))]]
    rows += [[(_("✕ Remove {name}").format(name=short(s.name, 30)), RetireCb(id=s.id))] for s in services]
    rows.append(_done_row(await _purpose(ctx), "services"))
    return Rendered("\n".join(lines), inline_keyboard(*rows))


def _cancel_service_row() -> list[Button]:
    return [("◀ " + _("Back to my services"), SetupCb(action="go", step="services"))]


async def ask_service_name(ctx: Flow) -> Rendered:
    return Rendered(
        _("The service's name, as clients see it, e.g. “Coaching session” or “Free intro call”."),
        inline_keyboard(_cancel_service_row()),
    )


async def ask_service_duration(ctx: Flow) -> Rendered:
    return Rendered(
        _("How long does it last? Type minutes, e.g. 50, or 1h 30."),
        inline_keyboard(
            [(label, SetupCb(action="dur", step=str(m))) for label, m in _durations()], _cancel_service_row()
        ),
    )


def _durations() -> list[tuple[str, int]]:
    return [(_("{n} min").format(n=n), n) for n in (30, 50, 60, 90)]


async def ask_service_currency(ctx: Flow) -> Rendered:
    buttons = [(code, CurrencyCb(code=code)) for code in pro_profile.COMMON_CURRENCIES]
    return Rendered(
        _("Which currency do clients pay in? Tap one, or type its code (e.g. CHF)."),
        inline_keyboard(buttons, _cancel_service_row()),
    )


async def ask_service_price(ctx: Flow) -> Rendered:
    draft = dict(await ctx.state.get_value(SERVICE, {}))
    currency = str(draft.get("currency", "EUR"))
    return Rendered(
        _("The price in {currency}, e.g. 60 or 60.00; 0 for a free session.").format(currency=currency),
        inline_keyboard(_cancel_service_row()),
    )


async def ask_service_mode(ctx: Flow) -> Rendered:
    buttons = [(mode_word(str(mode)), ModeCb(mode=str(mode))) for mode in ServiceMode]
    return Rendered(_("How do you meet for it?"), inline_keyboard(buttons, _cancel_service_row()))


async def ask_days(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    now = ctx.clock.now()
    current = await schedule.weekly_schedule(ctx.session, professional, now=now)
    chosen = [int(day) for day in await ctx.state.get_value(DAYS, [])]
    lines = [_("Your weekly hours, in {zone}:").format(zone=zone_label(professional.timezone, ctx.locale, now))]
    for weekday, windows in enumerate(current.weekly):
        hours = format_windows(windows, ctx.locale) if windows else _("no hours")
        lines.append(f"{weekday_name(weekday, ctx.locale)}: {hours}")
    lines += ["", _("Tap the days that share the same hours, then “Set their hours”.")]
    days: list[Button] = [
        (
            ("✓ " if day in chosen else "") + weekday_name(day, ctx.locale, "abbreviated"),
            ToggleCb(kind="d", value=str(day)),
        )
        for day in range(7)
    ]
    rows: list[list[Button]] = [days[:4], days[4:]]
    if chosen:
        rows.append([(_("Set their hours"), SetupCb(action="hours"))])
    rows.append(_done_row(await _purpose(ctx), "hours"))
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def ask_day_hours(ctx: Flow) -> Rendered:
    chosen = [int(day) for day in await ctx.state.get_value(DAYS, [])]
    names = ", ".join(weekday_name(day, ctx.locale) for day in sorted(chosen))
    text = _(
        "Your hours on {days}: type them as 9-17, or several as 09:00-12:00, 13:00-17:00. Type “off” for none."
    ).format(days=names or "—")
    return Rendered(text, inline_keyboard([("◀ " + _("Back to the days"), SetupCb(action="go", step="hours"))]))


async def ask_policy(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    policy = Policy.of(professional)
    lines = [_("Your cancellation terms. Clients read them like this:"), ""]
    lines += [f"• {line}" for line in policy_lines(policy, 1)]
    lines += [
        "",
        _("Or pick a set of terms:"),
        "• "
        + _("Flexible: free cancellation up to 24 hours before, two moves, a missed session can be rebooked once."),
        "• " + _("Moderate: free up to 48 hours before, half refunded after that, one move."),
        "• " + _("Strict: free up to 72 hours before, no refund after that, one move."),
        "",
        _("A change applies to new bookings only: bookings already made keep the terms they were made under."),
    ]
    presets: list[Button] = [
        (_("Flexible"), PresetCb(name="flexible")),
        (_("Moderate"), PresetCb(name="moderate")),
        (_("Strict"), PresetCb(name="strict")),
    ]
    return Rendered("\n".join(lines), inline_keyboard(presets, [(_("Keep these"), PresetCb(name="keep"))]))


async def ask_buffers(ctx: Flow) -> Rendered:
    professional = await _pro(ctx)
    text = "\n".join(
        [
            _("A break before or after each session keeps time to rest or travel; nobody can book into it."),
            _("Now: {before} min before, {after} min after.").format(
                before=professional.buffer_before_minutes, after=professional.buffer_after_minutes
            ),
            _("Tap one, or type minutes: one number for after, two for before and after (e.g. 5 10)."),
        ]
    )
    options: list[Button] = [(_("No breaks"), BufferCb(before=0, after=0))]
    options += [(_("{n} min after").format(n=n), BufferCb(before=0, after=n)) for n in (10, 15, 30)]
    return Rendered(text, inline_keyboard(options[:2], options[2:], _skip_row(await _purpose(ctx), "buffers")))


_PROMPTS: dict[str, Callable[[Flow], Awaitable[Rendered]]] = {
    "name": ask_name,
    "headline": ask_headline,
    "bio": ask_bio,
    "languages": ask_languages,
    "categories": ask_categories,
    "zone": ask_zone,
    "video_link": ask_video_link,
    "address": ask_address,
    "services": ask_services,
    "hours": ask_days,
    "policy": ask_policy,
    "buffers": ask_buffers,
}


# --- moving between steps ------------------------------------------------------------------------


async def open_step(ctx: Flow, step: str, purpose: str | None = None) -> Rendered:
    await ctx.state.set_state(_STEP_STATE[step])
    if purpose is not None:
        await ctx.state.update_data({PURPOSE: purpose})
    return await _PROMPTS[step](ctx)


async def after_step(ctx: Flow, step: str, note: Sequence[str] = ()) -> Rendered:
    """Where a saved or skipped step leads: the next step in the setup, /profile when editing."""
    if await _purpose(ctx) == EDIT or step not in STEPS:
        return await _profile_with(ctx, note)
    index = STEPS.index(step) + 1
    if index >= len(STEPS):
        await ctx.state.clear()
        professional = await _pro(ctx)
        done = [*note, _("That's the whole setup.")]
        return await profile_screen(ctx, professional, done)
    question = await open_step(ctx, STEPS[index])
    return _with_note(note, question)


def _with_note(note: Sequence[str], rendered: Rendered) -> Rendered:
    if not note:
        return rendered
    return Rendered("\n".join([*note, "", rendered.text]), rendered.reply_markup)


async def _profile_with(ctx: Flow, note: Sequence[str]) -> Rendered:
    await ctx.state.clear()
    return await profile_screen(ctx, await _pro(ctx), note)


def saved() -> str:
    return _("Saved.")


# --- /profile ----------------------------------------------------------------------------------------


async def profile_screen(ctx: Flow, professional: Professional, note: Sequence[str] = ()) -> Rendered:
    now = ctx.clock.now()
    standing = await pro_profile.standing(ctx.session, professional)
    services = await pro_profile.active_services(ctx.session, professional)
    current = await schedule.weekly_schedule(ctx.session, professional, now=now)
    dash = "—"
    lines = [*note, *([""] if note else []), _("Your profile")]
    lines.append(_("Name: {value}").format(value=professional.name or dash))
    lines.append(_("Headline: {value}").format(value=professional.headline or dash))
    lines.append(_("About: {value}").format(value=short(professional.bio, BIO_PREVIEW) if professional.bio else dash))
    languages = ", ".join(language_label(code, ctx.locale) for code in professional.languages)
    lines.append(_("Languages: {value}").format(value=languages or dash))
    fields = ", ".join(category_label(slug) for slug in professional.categories)
    lines.append(_("Fields: {value}").format(value=fields or dash))
    lines.append(_("Time zone: {value}").format(value=zone_label(professional.timezone, ctx.locale, now)))
    lines.append(_("Video link: {value}").format(value=professional.video_link or dash))
    address = professional.address or dash
    if professional.address and professional.access_notes:
        address += f" ({short(professional.access_notes, 120)})"
    lines.append(_("Address: {value}").format(value=address))
    lines.append(_("Services:"))
    lines += [f"• {short(s.name, 80)}: {service_facts(s, ctx.locale)}" for s in services] or [f"• {dash}"]
    week = [
        f"{weekday_name(day, ctx.locale, 'abbreviated')} {format_windows(windows, ctx.locale)}"
        for day, windows in enumerate(current.weekly)
        if windows
    ]
    lines.append(_("Weekly hours: {value}").format(value="; ".join(week) or dash))
    lines.append(_("Cancellation terms:"))
    lines += [f"• {line}" for line in policy_lines(Policy.of(professional), 1)]
    lines.append(
        _("Breaks: {before} min before, {after} min after each session.").format(
            before=professional.buffer_before_minutes, after=professional.buffer_after_minutes
        )
    )
    lines.append("")
    lines += await _standing_lines(ctx, professional, standing)
    edit: list[Button] = [
        (_("Name"), SetupCb(action="go", step="name")),
        (_("Headline"), SetupCb(action="go", step="headline")),
        (_("About"), SetupCb(action="go", step="bio")),
        (_("Languages"), SetupCb(action="go", step="languages")),
        (_("Fields"), SetupCb(action="go", step="categories")),
        (_("Time zone"), SetupCb(action="go", step="zone")),
        (_("Video link"), SetupCb(action="go", step="video_link")),
        (_("Address"), SetupCb(action="go", step="address")),
        (_("Services"), SetupCb(action="go", step="services")),
        (_("Hours"), SetupCb(action="go", step="hours")),
        (_("Terms"), SetupCb(action="go", step="policy")),
        (_("Breaks"), SetupCb(action="go", step="buffers")),
    ]
    keyboard = button_grid(edit, columns=3)
    extra: list[list[Button]] = [[(_("🔗 Share link and QR code"), SetupCb(action="share"))]]
    if standing.missing:
        extra.insert(0, [(_("Continue the setup"), SetupCb(action="continue"))])
    if not professional.verified and await pending_request(ctx.session, professional) is None:
        from handlers.verification import VerifyCb

        extra.append([(_("Request verification"), VerifyCb(action="start"))])
    keyboard.inline_keyboard.extend(inline_keyboard(*extra).inline_keyboard)
    text = "\n".join(lines)
    if len(text) > TEXT_LIMIT:
        # Long services lists and addresses: cut rather than go past Telegram's 4,096 characters.
        text = text[: TEXT_LIMIT - 1] + "…"
    return Rendered(text, keyboard)


async def _standing_lines(ctx: Flow, professional: Professional, standing: pro_profile.Standing) -> list[str]:
    lines: list[str] = []
    if standing.listed:
        lines.append("✓ " + _("Listed: clients find you in the directory."))
    else:
        lines.append(_("Not listed yet: clients don't find you in the directory."))
    if standing.missing:
        lines.append(
            _("Still missing before you can be listed: {parts}.").format(
                parts=", ".join(part_label(part) for part in standing.missing)
            )
        )
    if professional.verified:
        lines.append("✓ " + _("Verified."))
    elif await pending_request(ctx.session, professional) is not None:
        lines.append(_("Verification requested: an operator is checking your documents."))
    else:
        last = await latest_request(ctx.session, professional)
        if last is not None and last.reason:
            lines.append(_("Your last verification request was not approved: {reason}").format(reason=last.reason))
        lines.append(_("Not verified yet: request verification once your profile is ready."))
    return lines


async def profile_command(message: Message, ctx: Flow, professional: Professional) -> None:
    await ctx.state.clear()
    await send(ctx, await profile_screen(ctx, professional))


# --- the share link and its QR code -------------------------------------------------------------


async def send_with_link(ctx: Flow, text: str, *, slug: str, qr: bool = False, markup: Rendered | None = None) -> None:
    """Send `text` with "{link}" replaced by the profile's share link (and its QR code as a photo).

    The bot's username comes from BOT_USERNAME, else from Telegram (getMe, which aiogram remembers):
    asked after the transaction, like every reply."""
    bot, chat_id, settings = ctx.bot, ctx.chat_id, ctx.settings
    caption = _("Scan to open your profile in Telegram.")
    keyboard = markup.reply_markup if markup is not None else None

    async def deliver() -> None:
        username = invites.bot_username(settings.bot_username or (await bot.me()).username or "")
        link = pro_profile.share_link(username, slug)
        await bot.send_message(chat_id, text.replace("{link}", link), reply_markup=keyboard)
        if qr:
            photo = BufferedInputFile(pro_profile.qr_png(link), filename=f"{slug}-qr.png")
            await bot.send_photo(chat_id, photo, caption=caption)

    ctx.replies.add("sendPhoto" if qr else "sendMessage", deliver, chat_id)


def share_text() -> str:
    return "\n".join(
        [
            _("Your share link: {link}"),
            _("Anyone who opens it sees your profile and can book you (once you are listed)."),
        ]
    )


# --- linking: invites and /join --------------------------------------------------------------------


def _invite_refusal(reason: str) -> str:
    if reason == "expired":
        return _("This invite link has expired. Ask the operator for a new one.")
    if reason == "used":
        return _("This invite link has already been used. Ask the operator for a new one.")
    return _("I don't know this invite link. Check that you copied all of it, or ask the operator for a new one.")


def _all_commands(ctx: Flow) -> list[CommandInfo]:
    return [*ctx.registry.commands(), *professional_commands(), *own_commands()]


async def _set_chat_menu(ctx: Flow) -> None:
    """The professional's own chat gets the public commands plus theirs, in their language."""
    from handlers.common import call_telegram

    commands = [BotCommand(command=c.name, description=c.describe()) for c in _all_commands(ctx)]
    await call_telegram(ctx, SetMyCommands(commands=commands, scope=BotCommandScopeChat(chat_id=ctx.chat_id)))


def _command_lines() -> list[str]:
    return [f"/{command.name} — {command.describe()}" for command in [*professional_commands(), *own_commands()]]


async def open_invite(ctx: Flow, token: str) -> Rendered:
    now = ctx.clock.now()
    try:
        linked = await invites.accept_invite(ctx.session, token, ctx.user.telegram_id, now=now)
    except InviteUnusable as exc:
        return Rendered(_invite_refusal(exc.reason))
    except AlreadyLinked as exc:
        if exc.reason == "account":
            text = _(
                "This Telegram account is already linked to another professional's profile ({name}). "
                "One account can be linked to one profile: ask the operator for help."
            ).format(name=exc.professional_name or "?")
        else:
            text = _(
                "{name}'s profile is already linked to another Telegram account. If that account is no "
                "longer yours, ask the operator to issue a new invite that replaces it."
            ).format(name=exc.professional_name)
        return Rendered(text)
    professional = linked.professional
    await _set_chat_menu(ctx)
    if linked.already:
        lines = [_("This chat is already linked to your profile, {name}.").format(name=professional.name), ""]
        return Rendered("\n".join([*lines, *_greeting_tail(), *await _not_ready(ctx, professional)]))
    await pro_profile.after_linking(ctx.session, professional, ctx.user)
    return await _welcome(ctx, professional)


def _greeting_tail() -> list[str]:
    return [_("Here I tell you about every new, cancelled or moved booking, and you can use:"), *_command_lines()]


async def _not_ready(ctx: Flow, professional: Professional) -> list[str]:
    standing = await pro_profile.standing(ctx.session, professional)
    lines: list[str] = []
    if standing.missing:
        parts = ", ".join(part_label(part) for part in standing.missing)
        lines += ["", _("Still missing before you can be listed: {parts}.").format(parts=parts)]
    if not professional.verified:
        lines += ["", _("Your profile is not verified yet: clients will find you once an operator has verified it.")]
    return lines


async def _welcome(ctx: Flow, professional: Professional) -> Rendered:
    """The first words to a newly linked professional: what the chat does, the bookings made before the
    link (told once, here), and the setup when the profile still misses parts."""
    name = professional.name or ctx.user.first_name
    lines = [_("Welcome, {name}! This chat is now linked to your profile.").format(name=name), "", *_greeting_tail()]
    upcoming = await pro_profile.upcoming_bookings(ctx.session, professional, now=ctx.clock.now())
    lines += _before_link_lines(ctx, professional, upcoming)
    if await pro_profile.missing_parts(ctx.session, professional):
        lines += [
            "",
            _("Let's set up your profile, one step at a time. Skip any step and come back to it from /profile."),
        ]
        question = await open_step(ctx, STEPS[0], SETUP)
        return _with_note(lines, question)
    return Rendered("\n".join([*lines, *await _not_ready(ctx, professional)]))


def _before_link_lines(ctx: Flow, professional: Professional, bookings: Sequence[Booking]) -> list[str]:
    if not bookings:
        return []
    lines = ["", _("Booked before you linked this chat ({count}):").format(count=len(bookings))]
    for booking in bookings[:SUMMARY_SESSIONS]:
        lines.append(_session_line(booking, professional, ctx.locale))
    if len(bookings) > SUMMARY_SESSIONS:
        lines.append(_("… and {count} more: see /agenda.").format(count=len(bookings) - SUMMARY_SESSIONS))
    return lines


def _session_line(booking: Booking, professional: Professional, locale: str) -> str:
    zone = professional.timezone
    when = f"{format_day(booking.starts_at, zone, locale)}, {format_clock(booking.starts_at, zone, locale)}"
    line = f"• {when} {booking.client.first_name} · {booking.service.name}"
    if booking.state == BookingState.HELD:
        line += " (" + _("awaiting payment") + ")"
    return line


async def join_command(message: Message, ctx: Flow) -> None:
    if await invites.professional_of(ctx.session, ctx.user.telegram_id) is not None:
        await ctx.state.clear()
        await send(ctx, await open_join(ctx, "me"))
        return
    if not ctx.settings.self_signup:
        await send(
            ctx,
            Rendered(_("Professionals join by invitation here: ask the operator for an invite link.")),
        )
        return
    await ctx.state.clear()
    if ctx.user.timezone is None:
        # Language and zone first, as for everyone; the sign-up opens after them.
        await ctx.state.update_data({PENDING_LINK: f"{JOIN_PREFIX}_me"})
        await send(ctx, await begin_profile_step(ctx, Profile.language, ONBOARDING))
        return
    await send(ctx, await open_join(ctx, "me"))


async def open_join(ctx: Flow, _argument: str) -> Rendered:
    if await invites.professional_of(ctx.session, ctx.user.telegram_id) is not None:
        professional = await _pro(ctx)
        return _with_note(
            [_("This chat is already linked to your profile, {name}.").format(name=professional.name)],
            await profile_screen(ctx, professional),
        )
    if not ctx.settings.self_signup:
        return Rendered(_("Professionals join by invitation here: ask the operator for an invite link."))
    professional, _made = await pro_profile.join(ctx.session, ctx.user)
    await ctx.session.flush()
    await _set_chat_menu(ctx)
    return await _welcome(ctx, professional)


# --- /start for a linked professional ------------------------------------------------------------


async def pro_home(ctx: Flow, professional: Professional) -> Rendered:
    now = ctx.clock.now()
    upcoming = await pro_profile.upcoming_bookings(ctx.session, professional, now=now)
    week = [b for b in upcoming if b.starts_at < now + timedelta(days=7)]
    zone = professional.timezone
    lines = [
        _("Hello again, {name}! This is your practice:").format(name=professional.name or ctx.user.first_name),
        "",
    ]
    if upcoming:
        first = upcoming[0]
        when = f"{format_day(first.starts_at, zone, ctx.locale)}, {format_clock(first.starts_at, zone, ctx.locale)}"
        lines.append(
            _("Next session: {when}, {name} ({zone}).").format(
                when=when, name=first.client.first_name, zone=zone_label(zone, ctx.locale, now)
            )
        )
        lines.append(_("Sessions in the next 7 days: {count}.").format(count=len(week)))
    else:
        lines.append(_("No sessions booked ahead."))
    lines += ["", *_command_lines()]
    standing = await pro_profile.standing(ctx.session, professional)
    if standing.missing:
        lines += [
            "",
            _("Still missing before you can be listed: {parts}.").format(
                parts=", ".join(part_label(part) for part in standing.missing)
            ),
        ]
    elif not standing.verified:
        lines += ["", _("Your profile is complete; it is listed once an operator has verified it.")]
    rows: list[list[Button]] = [[(_("Open my agenda"), _agenda_cb())], [(_("My profile"), SetupCb(action="profile"))]]
    if standing.missing:
        rows.insert(0, [(_("Continue the setup"), SetupCb(action="continue"))])
    rows.append([(_("🔗 Share link and QR code"), SetupCb(action="share"))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


def _agenda_cb() -> Callback:
    from handlers.professional import AgendaCb

    return AgendaCb()


async def greet_professional(ctx: Flow) -> bool:
    """/start for a linked professional: their practice and share link, not the client onboarding
    (False for everyone else). Their zone is the profile's (one zone for /agenda, /hours, notifications)."""
    professional = await invites.professional_of(ctx.session, ctx.user.telegram_id)
    if professional is None:
        return False
    if ctx.user.timezone != professional.timezone:
        pro_profile.set_zone(professional, ctx.user, professional.timezone)
    home = await pro_home(ctx, professional)
    text = "\n".join([home.text, "", _("Your share link: {link}")])
    await send_with_link(ctx, text, slug=professional.slug, markup=home)
    return True


# --- handlers: steps -------------------------------------------------------------------------------


async def setup_pressed(query: CallbackQuery, callback_data: SetupCb, ctx: Flow, professional: Professional) -> None:
    action, step = callback_data.action, callback_data.step
    if action == "skip" and step in STEPS:
        await replace(query, ctx, await after_step(ctx, step))
    elif action == "go" and step in STEPS:
        purpose = await _purpose(ctx) if await ctx.state.get_state() is not None else EDIT
        if step == "hours":
            await ctx.state.update_data({DAYS: []})
        await replace(query, ctx, await open_step(ctx, step, purpose))
    elif action == "continue":
        missing = await pro_profile.missing_parts(ctx.session, professional)
        first = _step_of(missing[0]) if missing else STEPS[0]
        await replace(query, ctx, await open_step(ctx, first, SETUP))
    elif action == "profile":
        await replace(query, ctx, await _profile_with(ctx, ()))
    elif action == "usename":
        if ctx.user.first_name:
            pro_profile.set_name(professional, ctx.user.first_name)
        await replace(query, ctx, await after_step(ctx, "name", [saved()]))
    elif action == "share":
        await answer(query)
        await send_with_link(ctx, share_text(), slug=professional.slug, qr=True)
    elif action == "addsvc":
        await ctx.state.update_data({SERVICE: {}})
        await ctx.state.set_state(Setup.service_name)
        await replace(query, ctx, await ask_service_name(ctx))
    elif action == "dur" and step.isdigit() and await ctx.state.get_state() == Setup.service_duration.state:
        await _duration_chosen(ctx, int(step), query)
    elif action == "hours" and await ctx.state.get_value(DAYS, []):
        await ctx.state.set_state(Setup.day_hours)
        await replace(query, ctx, await ask_day_hours(ctx))
    else:
        await answer_stale(query)


def _step_of(part: str) -> str:
    return {"hours": "hours", "services": "services"}.get(part, part if part in STEPS else STEPS[0])


async def _typed_step(
    ctx: Flow, step: str, setter: Callable[[str], None], text: str, asker: Callable[[Flow], Awaitable[Rendered]]
) -> bool:
    try:
        setter(text)
    except ProfileInputError as exc:
        question = await asker(ctx)
        await send(ctx, _with_note([input_problem(exc)], question))
        return False
    return True


async def name_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    if await _typed_step(ctx, "name", lambda t: pro_profile.set_name(professional, t), message.text or "", ask_name):
        await send(ctx, await after_step(ctx, "name", [saved()]))


async def headline_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    if await _typed_step(
        ctx, "headline", lambda t: pro_profile.set_headline(professional, t), message.text or "", ask_headline
    ):
        await send(ctx, await after_step(ctx, "headline", [saved()]))


async def bio_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    if await _typed_step(ctx, "bio", lambda t: pro_profile.set_bio(professional, t), message.text or "", ask_bio):
        await send(ctx, await after_step(ctx, "bio", [saved()]))


async def video_link_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    setter = lambda t: pro_profile.set_video_link(professional, t)  # noqa: E731
    if await _typed_step(ctx, "video_link", setter, message.text or "", ask_video_link):
        await send(ctx, await after_step(ctx, "video_link", [saved()]))


async def address_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    if await _typed_step(
        ctx, "address", lambda t: pro_profile.set_address(professional, t), message.text or "", ask_address
    ):
        await ctx.state.set_state(Setup.access_notes)
        await send(ctx, _with_note([saved()], await ask_access_notes(ctx)))


async def access_notes_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    setter = lambda t: pro_profile.set_access_notes(professional, t)  # noqa: E731
    if await _typed_step(ctx, "address", setter, message.text or "", ask_access_notes):
        await send(ctx, await after_step(ctx, "address", [saved()]))


async def toggle_pressed(query: CallbackQuery, callback_data: ToggleCb, ctx: Flow, professional: Professional) -> None:
    kind, value = callback_data.kind, callback_data.value
    try:
        if kind == "l":
            pro_profile.set_languages(professional, pro_profile.toggle(professional.languages, value))
            screen = await ask_languages(ctx)
        elif kind == "c":
            pro_profile.set_categories(professional, pro_profile.toggle(professional.categories, value))
            screen = await ask_categories(ctx)
        elif kind == "d" and value.isdigit() and int(value) in range(7):
            days = [int(day) for day in await ctx.state.get_value(DAYS, [])]
            await ctx.state.set_state(Setup.days)
            await ctx.state.update_data({DAYS: [int(d) for d in pro_profile.toggle(map(str, days), value)]})
            screen = await ask_days(ctx)
        else:
            await answer_stale(query)
            return
    except ProfileInputError as exc:
        await answer(query, input_problem(exc))
        return
    await replace(query, ctx, screen)


async def languages_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    try:
        codes = pro_profile.parse_languages(message.text or "")
        pro_profile.set_languages(professional, list(dict.fromkeys([*professional.languages, *codes])))
    except ProfileInputError as exc:
        await send(ctx, _with_note([input_problem(exc)], await ask_languages(ctx)))
        return
    await send(ctx, _with_note([saved()], await ask_languages(ctx)))


async def categories_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    try:
        slugs = pro_profile.parse_categories(message.text or "")
        pro_profile.set_categories(professional, list(dict.fromkeys([*professional.categories, *slugs])))
    except ProfileInputError as exc:
        await send(ctx, _with_note([input_problem(exc)], await ask_categories(ctx)))
        return
    await send(ctx, _with_note([saved()], await ask_categories(ctx)))


async def zone_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    query = message.text or ""
    now = ctx.clock.now()
    matches = search_zones(query, ctx.locale, at=now)
    if not matches:
        text = _("I couldn't find a time zone for “{query}”.").format(query=short(query))
        await send(ctx, _with_note([text], await ask_zone(ctx)))
        return
    if len(matches) == 1 and matches[0].certain:
        await send(ctx, await _zone_saved(ctx, professional, matches[0].zone))
        return
    buttons = [(zone_choice(match, now), ZonePickCb(zone=match.zone)) for match in matches]
    await send(
        ctx, Rendered(_("Which one is yours? Not in the list? Type the nearest big city."), button_grid(buttons))
    )


async def zone_picked(query: CallbackQuery, callback_data: ZonePickCb, ctx: Flow, professional: Professional) -> None:
    try:
        name = canonical_zone(callback_data.zone)
    except InvalidTimeZone:
        await answer_stale(query)
        return
    await replace(query, ctx, await _zone_saved(ctx, professional, name))


async def _zone_saved(ctx: Flow, professional: Professional, zone: str) -> Rendered:
    name = pro_profile.set_zone(professional, ctx.user, zone)
    note = _("Your time zone: {zone}. Your hours are read in it from now on.").format(
        zone=zone_label(name, ctx.locale, ctx.clock.now())
    )
    return await after_step(ctx, "zone", [note])


async def retire_pressed(query: CallbackQuery, callback_data: RetireCb, ctx: Flow, professional: Professional) -> None:
    try:
        service = await pro_profile.retire_service(ctx.session, professional, callback_data.id)
    except (NotFound, NotAllowed):
        await answer_stale(query)
        return
    note = _("Removed: {name}. Bookings already made for it stay.").format(name=short(service.name, 80))
    await ctx.state.set_state(Setup.services)
    await replace(query, ctx, _with_note([note], await ask_services(ctx)))


async def service_name_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    try:
        name = pro_profile.clean_text(message.text or "", pro_profile.MAX_SERVICE_NAME)
    except ProfileInputError as exc:
        await send(ctx, _with_note([input_problem(exc)], await ask_service_name(ctx)))
        return
    await ctx.state.update_data({SERVICE: {"name": name}})
    await ctx.state.set_state(Setup.service_duration)
    await send(ctx, await ask_service_duration(ctx))


async def service_duration_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    try:
        minutes = pro_profile.parse_duration(message.text or "")
    except ProfileInputError as exc:
        await send(ctx, _with_note([input_problem(exc)], await ask_service_duration(ctx)))
        return
    await _duration_chosen(ctx, minutes, None)


async def _duration_chosen(ctx: Flow, minutes: int, query: CallbackQuery | None) -> None:
    if not pro_profile.MIN_DURATION <= minutes <= pro_profile.MAX_DURATION:
        minutes = 50
    draft = dict(await ctx.state.get_value(SERVICE, {}))
    await ctx.state.update_data({SERVICE: draft | {"duration": minutes}})
    await ctx.state.set_state(Setup.service_currency)
    screen = await ask_service_currency(ctx)
    if query is not None:
        await replace(query, ctx, screen)
    else:
        await send(ctx, screen)


async def currency_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    try:
        code = pro_profile.parse_currency(message.text or "")
    except ProfileInputError as exc:
        await send(ctx, _with_note([input_problem(exc)], await ask_service_currency(ctx)))
        return
    await _currency_chosen(ctx, code)
    await send(ctx, await ask_service_price(ctx))


async def currency_pressed(
    query: CallbackQuery, callback_data: CurrencyCb, ctx: Flow, professional: Professional
) -> None:
    if (
        await ctx.state.get_state() != Setup.service_currency.state
        or callback_data.code not in pro_profile.COMMON_CURRENCIES
    ):
        await answer_stale(query)
        return
    await _currency_chosen(ctx, callback_data.code)
    await replace(query, ctx, await ask_service_price(ctx))


async def _currency_chosen(ctx: Flow, code: str) -> None:
    draft = dict(await ctx.state.get_value(SERVICE, {}))
    await ctx.state.update_data({SERVICE: draft | {"currency": code}})
    await ctx.state.set_state(Setup.service_price)


async def price_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    draft = dict(await ctx.state.get_value(SERVICE, {}))
    try:
        price = pro_profile.parse_price(message.text or "", str(draft.get("currency", "EUR")))
    except ProfileInputError as exc:
        await send(ctx, _with_note([input_problem(exc)], await ask_service_price(ctx)))
        return
    await ctx.state.update_data({SERVICE: draft | {"price": price}})
    await ctx.state.set_state(Setup.service_mode)
    await send(ctx, await ask_service_mode(ctx))


async def mode_pressed(query: CallbackQuery, callback_data: ModeCb, ctx: Flow, professional: Professional) -> None:
    draft = dict(await ctx.state.get_value(SERVICE, {}))
    modes = {str(mode): mode for mode in ServiceMode}
    ready = all(key in draft for key in ("name", "duration", "currency", "price"))
    if await ctx.state.get_state() != Setup.service_mode.state or callback_data.mode not in modes or not ready:
        await answer_stale(query)
        return
    try:
        service = await pro_profile.add_service(
            ctx.session,
            professional,
            name=str(draft["name"]),
            duration_minutes=int(draft["duration"]),
            price_minor=int(draft["price"]),
            currency=str(draft["currency"]),
            mode=modes[callback_data.mode],
        )
    except ProfileInputError as exc:
        await ctx.state.set_state(Setup.services)
        await replace(query, ctx, _with_note([input_problem(exc)], await ask_services(ctx)))
        return
    price = format_price(service.price_minor, service.currency, ctx.locale)
    note = _("Added: {name}, {price}.").format(name=short(service.name, 80), price=price)
    await ctx.state.update_data({SERVICE: {}})
    await ctx.state.set_state(Setup.services)
    await replace(query, ctx, _with_note([note], await ask_services(ctx)))


async def day_hours_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    days = [int(day) for day in await ctx.state.get_value(DAYS, [])]
    try:
        windows = parse_windows(message.text or "")
    except ScheduleInputError as exc:
        from handlers.hours import input_problem as hours_problem

        await send(ctx, _with_note([hours_problem(exc, ctx.locale)], await ask_day_hours(ctx)))
        return
    await pro_profile.set_days_hours(ctx.session, professional, days, windows, now=ctx.clock.now())
    names = ", ".join(weekday_name(day, ctx.locale) for day in sorted(days))
    hours = format_windows(windows, ctx.locale) if windows else _("no hours")
    note = _("Saved: {days}: {hours}.").format(days=names, hours=hours)
    await ctx.state.set_state(Setup.days)
    await ctx.state.update_data({DAYS: []})
    await send(ctx, _with_note([note], await ask_days(ctx)))


async def preset_pressed(query: CallbackQuery, callback_data: PresetCb, ctx: Flow, professional: Professional) -> None:
    if callback_data.name == "keep":
        await replace(query, ctx, await after_step(ctx, "policy"))
        return
    try:
        pro_profile.apply_preset(professional, callback_data.name)
    except NotFound:
        await answer_stale(query)
        return
    note = _("Saved. New bookings get these terms; bookings already made keep theirs.")
    await replace(query, ctx, await after_step(ctx, "policy", [note]))


async def buffer_pressed(query: CallbackQuery, callback_data: BufferCb, ctx: Flow, professional: Professional) -> None:
    try:
        pro_profile.set_buffers(professional, callback_data.before, callback_data.after)
    except ProfileInputError:
        await answer_stale(query)
        return
    await replace(query, ctx, await after_step(ctx, "buffers", [saved()]))


async def buffers_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    try:
        before, after = pro_profile.parse_buffers(message.text or "")
        pro_profile.set_buffers(professional, before, after)
    except ProfileInputError as exc:
        await send(ctx, _with_note([input_problem(exc)], await ask_buffers(ctx)))
        return
    await send(ctx, await after_step(ctx, "buffers", [saved()]))


# --- the router ------------------------------------------------------------------------------------


def own_commands() -> list[CommandInfo]:
    return [CommandInfo("profile", lambda: _("Your profile, share link and verification"))]


async def commands_of_a_professional(ctx: Flow) -> list[CommandInfo]:
    return own_commands() if await linked_professional(ctx) is not None else []


def make_router(registry: Registry) -> Router:
    registry.role_commands(commands_of_a_professional)
    registry.deep_link(INVITE_PREFIX, open_invite)
    registry.deep_link(JOIN_PREFIX, open_join)
    registry.role_home(greet_professional)
    prompts: dict[State, Callable[[Flow], Awaitable[Rendered]]] = {
        Setup.name: ask_name,
        Setup.headline: ask_headline,
        Setup.bio: ask_bio,
        Setup.languages: ask_languages,
        Setup.categories: ask_categories,
        Setup.zone: ask_zone,
        Setup.video_link: ask_video_link,
        Setup.address: ask_address,
        Setup.access_notes: ask_access_notes,
        Setup.services: ask_services,
        Setup.service_name: ask_service_name,
        Setup.service_duration: ask_service_duration,
        Setup.service_currency: ask_service_currency,
        Setup.service_price: ask_service_price,
        Setup.service_mode: ask_service_mode,
        Setup.days: ask_days,
        Setup.day_hours: ask_day_hours,
        Setup.policy: ask_policy,
        Setup.buffers: ask_buffers,
    }
    for state, prompt in prompts.items():
        registry.state_prompt(state, prompt)
    typing = (F.text, ~F.text.startswith("/"))
    linked = professionals_only("pro-setup-linked")
    linked.message.register(profile_command, Command("profile"))
    linked.callback_query.register(setup_pressed, SetupCb.filter())
    linked.callback_query.register(toggle_pressed, ToggleCb.filter())
    linked.callback_query.register(zone_picked, ZonePickCb.filter())
    linked.callback_query.register(currency_pressed, CurrencyCb.filter())
    linked.callback_query.register(mode_pressed, ModeCb.filter())
    linked.callback_query.register(preset_pressed, PresetCb.filter())
    linked.callback_query.register(buffer_pressed, BufferCb.filter())
    linked.callback_query.register(retire_pressed, RetireCb.filter())
    typed = {
        Setup.name: name_typed,
        Setup.headline: headline_typed,
        Setup.bio: bio_typed,
        Setup.languages: languages_typed,
        Setup.categories: categories_typed,
        Setup.zone: zone_typed,
        Setup.video_link: video_link_typed,
        Setup.address: address_typed,
        Setup.access_notes: access_notes_typed,
        Setup.service_name: service_name_typed,
        Setup.service_duration: service_duration_typed,
        Setup.service_currency: currency_typed,
        Setup.service_price: price_typed,
        Setup.day_hours: day_hours_typed,
        Setup.buffers: buffers_typed,
    }
    for state, handler in typed.items():
        linked.message.register(handler, state, *typing)
    unlinked = Router(name="pro-setup-unlinked")
    unlinked.message.register(not_linked_command, Command("profile"))
    unlinked.message.register(not_linked_step, StateFilter(*typed), *typing)
    router = Router(name="pro-setup")
    # /join first: a linked professional typing it is answered too (open_join says they are linked).
    join = Router(name="pro-join")
    join.message.register(join_command, Command("join"))
    router.include_routers(join, linked, unlinked)
    return router
