"""/settings: see and change the language and the time zone (the same steps as onboarding)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.render import Rendered, zone_label
from handlers.common import Callback, Flow, answer_stale, inline_keyboard, replace, send
from handlers.registry import Registry
from handlers.start import SETTINGS, Profile, begin_profile_step, language_name, remember_step_before_settings


class SettingsCb(Callback, prefix="st"):
    change: str  # "lang" | "tz"


def settings_screen(ctx: Flow) -> Rendered:
    zone = zone_label(ctx.user.timezone, ctx.locale, ctx.clock.now()) if ctx.user.timezone else _("not set")
    text = "\n".join(
        [
            _("Your settings"),
            _("Language: {language}").format(language=language_name(ctx.locale)),
            _("Time zone: {zone}").format(zone=zone),
        ]
    )
    keyboard = inline_keyboard(
        [(_("Change language"), SettingsCb(change="lang")), (_("Change time zone"), SettingsCb(change="tz"))]
    )
    return Rendered(text, keyboard)


async def settings_command(message: Message, ctx: Flow) -> None:
    await remember_step_before_settings(ctx)
    await send(ctx, settings_screen(ctx))


async def change(query: CallbackQuery, callback_data: SettingsCb, ctx: Flow) -> None:
    if callback_data.change == "lang":
        await replace(query, ctx, await begin_profile_step(ctx, Profile.language, SETTINGS))
    elif callback_data.change == "tz":
        # The zone question carries a reply keyboard (share location): `replace` sends it anew.
        await replace(query, ctx, await begin_profile_step(ctx, Profile.zone, SETTINGS))
    else:
        await answer_stale(query)


def make_router(registry: Registry) -> Router:
    router = Router(name="settings")
    router.message.register(settings_command, Command("settings"))
    router.callback_query.register(change, SettingsCb.filter())
    return router
