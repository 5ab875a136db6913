"""Onboarding: /start, the language and time zone steps (shared with /settings), deep links, and the
always-available commands /help, /privacy and /cancel.

Someone without a time zone is not onboarded yet: /start asks their language (preselected from
Telegram's language_code), then their zone (a city or country typed, or a shared location), and shows
it back: "Your time zone: Kyiv (UTC+02:00)". `/start pro_<slug>` remembers the link through
onboarding and then opens it through the opener registered for its prefix (Registry.deep_link:
"pro" in handlers/catalog.py, "inv" in handlers/professional.py).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from babel import Locale

from bot.render import Rendered, zone_choice, zone_label
from bot.services import pro_profile
from bot.services.errors import InvalidTimeZone
from bot.services.timezones import canonical_zone
from bot.services.zone_search import search_zones, zone_at, zone_country
from handlers.common import (
    Callback,
    Flow,
    answer,
    answer_stale,
    button_grid,
    replace,
    send,
)
from handlers.registry import Registry


class Profile(StatesGroup):
    language = State()
    zone = State()


class LanguageCb(Callback, prefix="lg"):
    code: str


class ZoneCb(Callback, prefix="tz"):
    zone: str


# FSM data keys. PURPOSE: "onboarding" (go on to the next step) or "settings" (stop after saving).
PURPOSE = "profile_purpose"
ONBOARDING = "onboarding"
SETTINGS = "settings"
PENDING_LINK = "pending_link"


def language_name(code: str) -> str:
    """A language in its own words: "English", "Українська"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


async def ask_language(ctx: Flow) -> Rendered:
    buttons = [
        (("✓ " if code == ctx.locale else "") + language_name(code), LanguageCb(code=code))
        for code in sorted(ctx.i18n.available_locales)
    ]
    return Rendered(_("Which language should I use?"), button_grid(buttons, columns=2))


async def ask_zone(ctx: Flow) -> Rendered:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📍 Share my location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return Rendered(
        _(
            "Which time zone are you in? Type your city or country (e.g. Kyiv, Madrid, New York), "
            "or share your location."
        ),
        keyboard,
    )


async def begin_profile_step(ctx: Flow, state: State, purpose: str) -> Rendered:
    """Enter the language or zone step; returns its question. /settings calls this too."""
    await ctx.state.set_state(state)
    await ctx.state.update_data({PURPOSE: purpose})
    return await (ask_language(ctx) if state == Profile.language else ask_zone(ctx))


async def start(message: Message, command: CommandObject, ctx: Flow) -> None:
    # /start always starts over: whatever flow was open is left (nothing saved is lost).
    await ctx.state.clear()
    link = command.args if command.args and ctx.registry.deep_link_opener(command.args) is not None else None
    # A linked professional is greeted as one (their practice), never with the client onboarding.
    if not link and await ctx.registry.greet_by_role(ctx):
        return
    if ctx.user.timezone is None:
        if link:
            await ctx.state.update_data({PENDING_LINK: link})
        question = await begin_profile_step(ctx, Profile.language, ONBOARDING)
        greeting = _(
            "Hello, {name}! I help you book sessions with coaches, therapists and consultants, "
            "in your language and your time zone."
        ).format(name=ctx.user.first_name)
        await send(ctx, Rendered(f"{greeting}\n\n{question.text}", question.reply_markup))
        return
    if link:
        await send(ctx, await _open_link(ctx, link))
        return
    home = await ctx.registry.open_home(ctx)
    hello = _("Hello again, {name}!").format(name=ctx.user.first_name)
    await send(ctx, Rendered(f"{hello}\n\n{home.text}", home.reply_markup, home.document))


async def language_picked(query: CallbackQuery, callback_data: LanguageCb, ctx: Flow) -> None:
    if callback_data.code not in ctx.i18n.available_locales:
        await answer_stale(query)
        return
    ctx.user.locale = callback_data.code
    ctx.switch_locale(callback_data.code)
    saved = Rendered(_("Language: {language}").format(language=language_name(callback_data.code)))
    await replace(query, ctx, saved)
    if await ctx.state.get_value(PURPOSE) == SETTINGS:
        await ctx.state.set_state(None)
        return
    await send(ctx, await begin_profile_step(ctx, Profile.zone, ONBOARDING))


async def zone_typed(message: Message, ctx: Flow) -> None:
    query = message.text or ""
    now = ctx.clock.now()
    matches = search_zones(query, ctx.locale, at=now)
    if not matches:
        again = await ask_zone(ctx)
        text = _("I couldn't find a time zone for “{query}”.").format(query=query[:64])
        await send(ctx, Rendered(f"{text}\n\n{again.text}", again.reply_markup))
        return
    if len(matches) == 1 and matches[0].certain:
        await _save_zone(ctx, matches[0].zone)
        return
    buttons = [(zone_choice(match, now), ZoneCb(zone=match.zone)) for match in matches]
    await send(
        ctx,
        Rendered(
            _("Which one is yours? Not in the list? Type the nearest big city."),
            button_grid(buttons, columns=1),
        ),
    )


async def zone_picked(query: CallbackQuery, callback_data: ZoneCb, ctx: Flow) -> None:
    try:
        name = canonical_zone(callback_data.zone)
    except InvalidTimeZone:
        await answer_stale(query)
        return
    await answer(query)
    await _save_zone(ctx, name)


async def zone_shared(message: Message, ctx: Flow) -> None:
    location = message.location
    name = zone_at(location.latitude, location.longitude) if location else None
    if name is None:
        again = await ask_zone(ctx)
        text = _("I couldn't tell the time zone of that place.")
        await send(ctx, Rendered(f"{text}\n\n{again.text}", again.reply_markup))
        return
    await _save_zone(ctx, name)


async def _save_zone(ctx: Flow, name: str) -> None:
    ctx.user.timezone = name
    ctx.user.country = zone_country(name) or ctx.user.country
    label = zone_label(name, ctx.locale, ctx.clock.now())
    text = _("Your time zone: {zone}").format(zone=label)
    # One zone for a linked professional: their profile (hours, /agenda, notifications) follows.
    if await pro_profile.follow_person_zone(ctx.session, ctx.user) is not None:
        text += "\n" + _("Your professional profile uses it too: your hours are read in it from now on.")
    await send(ctx, Rendered(text, ReplyKeyboardRemove()))
    data = await ctx.state.get_data()
    await ctx.state.clear()
    if data.get(PURPOSE) == SETTINGS:
        return
    link = data.get(PENDING_LINK)
    if link:
        await send(ctx, await _open_link(ctx, link))
        return
    home = await ctx.registry.open_home(ctx)
    await send(ctx, Rendered(_("You're all set.") + "\n\n" + home.text, home.reply_markup, home.document))


async def _open_link(ctx: Flow, payload: str) -> Rendered:
    found = ctx.registry.deep_link_opener(payload)
    if found is None:
        return await ctx.registry.open_home(ctx)
    opener, argument = found
    return await opener(ctx, argument)


async def help_command(message: Message, ctx: Flow) -> None:
    lines = [f"/{command.name} — {command.describe()}" for command in await ctx.registry.commands_for(ctx)]
    intro = _("I help you book sessions with professionals, in your language and your time zone.")
    await send(ctx, Rendered(intro + "\n\n" + "\n".join(lines)))


async def privacy_command(message: Message, ctx: Flow) -> None:
    await send(
        ctx,
        Rendered(
            _(
                "What I keep about you: your Telegram id and first name, the language and time zone you "
                "chose, your bookings and the notes you add to them. I never keep the text of your other "
                "messages. A professional sees your first name, your bookings with them and your notes."
            )
            + "\n\n"
            + _(
                "If a message of yours shows signs of crisis, I answer at once with crisis helplines, and I note "
                "that it happened: when, in which language and which phrase rule matched, never your words. A "
                "professional you have a session with (in the last 30 days or coming up) and our support team are "
                "told that crisis resources were sent to you, so that they can look out for you."
            )
        ),
    )


async def cancel_command(message: Message, ctx: Flow) -> None:
    if await ctx.state.get_state() is None:
        text = _("There is nothing to cancel.")
    else:
        text = _("Stopped. Everything you saved is kept; /start to begin again.")
    await ctx.state.clear()
    await send(ctx, Rendered(text, ReplyKeyboardRemove()))


def make_router(registry: Registry) -> Router:
    router = Router(name="start")
    registry.command("start", lambda: _("Start over"))
    registry.command("settings", lambda: _("Language and time zone"))
    registry.command("help", lambda: _("What I can do"))
    registry.command("privacy", lambda: _("What I keep about you"))
    registry.command("cancel", lambda: _("Stop what we are doing"))
    registry.state_prompt(Profile.language, ask_language)
    registry.state_prompt(Profile.zone, ask_zone)
    router.message.register(start, CommandStart())
    router.callback_query.register(language_picked, Profile.language, LanguageCb.filter())
    router.message.register(zone_typed, Profile.zone, F.text, ~F.text.startswith("/"))
    router.callback_query.register(zone_picked, Profile.zone, ZoneCb.filter())
    router.message.register(zone_shared, Profile.zone, F.location)
    router.message.register(help_command, Command("help"))
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(cancel_command, Command("cancel"))
    return router
