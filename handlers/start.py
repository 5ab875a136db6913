"""Onboarding: /start, the language and time zone steps (shared with /settings), deep links, and the
always-available commands /help, /privacy and /cancel.

Someone without a time zone is not onboarded yet: /start asks their language (preselected from
Telegram's language_code), then their zone (a city or country typed, or a shared location), and shows
it back: "Your time zone: Kyiv (UTC+02:00)". `/start pro_<slug>` remembers the link through
onboarding and then opens it through the opener registered for its prefix (Registry.deep_link:
"pro" in handlers/catalog.py, "inv" in handlers/professional.py).

The zone comes before any time: `ZoneGate`, an inner middleware on every client feature's router
(handlers.setup_routers), stops a message or a button of theirs from someone without a zone, asks the
zone, and once it is saved offers to go on where they were (the button they pressed, or the screen
of the command they sent: Registry.resume_command).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
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
    buttons_expected,
    inline_keyboard,
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


class BackCb(Callback, prefix="bk"):
    """After /settings changed something: back to the step the person was at before."""


# FSM data keys. PURPOSE: "onboarding" (go on to the next step) or "settings" (stop after saving).
PURPOSE = "profile_purpose"
ONBOARDING = "onboarding"
SETTINGS = "settings"
PENDING_LINK = "pending_link"
# What to offer once the zone is saved, for someone the zone gate stopped: callback data to press again.
RESUME = "resume_callback"
# The conversation step /settings was opened from (its state's name), to go back to afterwards.
RETURN_STATE = "settings_return"


@lru_cache(maxsize=64)
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


def zone_expected() -> str:
    return _("Type a city or country, or share your location.")


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
    saved = _("Language: {language}").format(language=language_name(callback_data.code))
    if await ctx.state.get_value(PURPOSE) == SETTINGS:
        await replace(query, ctx, Rendered(saved, await _back_from_settings(ctx)))
        return
    await replace(query, ctx, Rendered(saved))
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
    if data.get(PURPOSE) == SETTINGS:
        await send(ctx, Rendered(_("Saved."), await _back_from_settings(ctx)))
        return
    await ctx.state.clear()
    link = data.get(PENDING_LINK)
    if link:
        await send(ctx, await _open_link(ctx, link))
        return
    resume = data.get(RESUME)
    if isinstance(resume, str) and resume:
        keyboard = inline_keyboard([InlineKeyboardButton(text=_("Continue") + " ▶", callback_data=resume)])
        await send(ctx, Rendered(_("You're all set. Shall we go on where you were?"), keyboard))
        return
    home = await ctx.registry.open_home(ctx)
    await send(ctx, Rendered(_("You're all set.") + "\n\n" + home.text, home.reply_markup, home.document))


class ZoneGate(BaseMiddleware):
    """No screen shows times before the client has a zone: a message or button of a client feature from
    someone without one asks the zone first (the handler does not run), and remembers where they were."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        ctx: Flow | None = data.get("ctx")
        if ctx is None or ctx.user.timezone is not None:
            return await handler(event, data)
        resume: str | None = None
        if isinstance(event, CallbackQuery):
            resume = event.data
            await answer(event)
        elif isinstance(event, Message) and event.text and event.text.startswith("/"):
            command = event.text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(event.text) > 1 else ""
            resume = ctx.registry.resume_for_command(command)
        question = await begin_profile_step(ctx, Profile.zone, ONBOARDING)
        await ctx.state.update_data({RESUME: resume})
        first = _("Times are shown in your own time zone, so I need it first.")
        await send(ctx, Rendered(f"{first}\n\n{question.text}", question.reply_markup))
        return None


async def remember_step_before_settings(ctx: Flow) -> None:
    """/settings keeps the step the person was at (not an onboarding one), for the way back."""
    current = await ctx.state.get_state()
    if current is not None and not current.startswith(f"{Profile.__name__}:"):
        await ctx.state.update_data({RETURN_STATE: current})
    elif current is None:
        await ctx.state.update_data({RETURN_STATE: None})


async def _back_from_settings(ctx: Flow) -> InlineKeyboardMarkup:
    """A setting was saved: the conversation is where it was before /settings; the button shows it."""
    data = await ctx.state.get_data()
    previous = data.get(RETURN_STATE)
    await ctx.state.set_state(previous if isinstance(previous, str) else None)
    await ctx.state.update_data({PURPOSE: None, RETURN_STATE: None})
    if isinstance(previous, str) and ctx.registry.prompt_for(previous) is not None:
        label = "◀ " + _("Back to where you were")
    else:
        label = "◀ " + _("Back to the start")
    return inline_keyboard([(label, BackCb())])


async def back_pressed(query: CallbackQuery, callback_data: BackCb, ctx: Flow) -> None:
    prompt = ctx.registry.prompt_for(await ctx.state.get_state())
    await replace(query, ctx, await prompt(ctx) if prompt is not None else await ctx.registry.open_home(ctx))


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
    registry.state_prompt(Profile.language, ask_language, expects=buttons_expected)
    registry.state_prompt(Profile.zone, ask_zone, expects=zone_expected)
    router.message.register(start, CommandStart())
    router.callback_query.register(language_picked, Profile.language, LanguageCb.filter())
    router.message.register(zone_typed, Profile.zone, F.text, ~F.text.startswith("/"))
    router.callback_query.register(zone_picked, Profile.zone, ZoneCb.filter())
    router.message.register(zone_shared, Profile.zone, F.location)
    router.callback_query.register(back_pressed, BackCb.filter())
    router.message.register(help_command, Command("help"))
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(cancel_command, Command("cancel"))
    return router
