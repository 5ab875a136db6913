"""The professional's daily agenda: the 08:00 message (bot/services/daily_agenda.py writes it to the
outbox, rendered here) and /daily, where a linked professional turns it on or off.

The message lists the day's sessions in the professional's zone: time, the client's first name, the
service, video or in person, and the client's notes. A day without sessions brings no message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.render import Reader, Rendered, format_clock, format_day, zone_suffix
from bot.services import daily_agenda
from bot.services.daily_agenda import AgendaSession
from handlers.common import Callback, Flow, inline_keyboard, replace, send
from handlers.professional import not_linked_command, professionals_only
from handlers.registry import Registry
from models import Professional

BULLET = "• "
TEXT_LIMIT = 4000  # Telegram's 4096, with room for the "and N more" line


class DailyCb(Callback, prefix="dly"):
    """Turn the daily agenda on (1) or off (0): the state asked for, so a stale press does no harm."""

    on: int


# --- the message -----------------------------------------------------------------------------------


def _mode(mode: str) -> str:
    return _("video") if mode == "video" else _("in person")


def daily_agenda_for_professional(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    zone = str(payload.get("zone") or reader.zone)
    day = datetime.fromisoformat(payload["day_starts_at"])
    sessions = [AgendaSession.from_json(item) for item in payload.get("sessions") or []]
    head = "🗓 " + ngettext(
        "Today, {day}: {count} session (times in {zone})",
        "Today, {day}: {count} sessions (times in {zone})",
        len(sessions),
    ).format(day=format_day(day, zone, reader.locale), count=len(sessions), zone=zone_suffix(zone, reader.locale, day))
    lines = [head, ""]
    for item in sessions:
        when = f"{format_clock(item.starts_at, zone, reader.locale)}–{format_clock(item.ends_at, zone, reader.locale)}"
        lines.append(
            BULLET
            + _("{when} {name} · {service} ({mode})").format(
                when=when, name=item.client_name or _("a client"), service=item.service_name, mode=_mode(item.mode)
            )
        )
        if item.notes:
            lines.append("   " + _("Notes: {notes}").format(notes=item.notes))
    return Rendered(_fit(lines))


def _fit(lines: list[str]) -> str:
    """The lines, leaving whole sessions (a bullet and its notes) out from the end rather than going over
    Telegram's limit."""
    text = "\n".join(lines)
    if len(text) <= TEXT_LIMIT:
        return text
    blocks: list[list[str]] = []
    for line in lines:
        if line.startswith(BULLET) or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    kept: list[str] = []
    for index, block in enumerate(blocks):
        if len("\n".join([*kept, *block])) > TEXT_LIMIT:
            hidden = sum(1 for rest in blocks[index:] if rest[0].startswith(BULLET))
            more = ngettext(
                "… and {count} more session: see /agenda.", "… and {count} more sessions: see /agenda.", hidden
            )
            return "\n".join([*kept, more.format(count=hidden)])
        kept.extend(block)
    return "\n".join(kept)


# --- /daily ----------------------------------------------------------------------------------------


def daily_screen(professional: Professional, locale: str, now: datetime) -> Rendered:
    zone = zone_suffix(professional.timezone, locale, now)
    if professional.daily_agenda:
        text = _(
            "🗓 Daily agenda: on. Every morning at 08:00 ({zone}) I send you the day's sessions; "
            "a day without sessions brings no message."
        ).format(zone=zone)
        button = (_("Turn it off"), DailyCb(on=0))
    else:
        text = _("🗓 Daily agenda: off. Turn it on to get the day's sessions every morning at 08:00 ({zone}).").format(
            zone=zone
        )
        button = (_("Turn it on"), DailyCb(on=1))
    return Rendered(text, inline_keyboard([button]))


async def daily_command(message: Message, ctx: Flow, professional: Professional) -> None:
    await send(ctx, daily_screen(professional, ctx.locale, ctx.clock.now()))


async def daily_pressed(query: CallbackQuery, callback_data: DailyCb, ctx: Flow, professional: Professional) -> None:
    wanted = bool(callback_data.on)
    changed = await daily_agenda.set_daily_agenda(ctx.session, professional, wanted)
    if not changed:
        note = _("It was already on.") if wanted else _("It was already off.")
    else:
        note = _("Turned on.") if wanted else _("Turned off.")
    screen = daily_screen(professional, ctx.locale, ctx.clock.now())
    await replace(query, ctx, Rendered(f"{note}\n\n{screen.text}", screen.reply_markup))


def make_router(registry: Registry) -> Router:
    router = Router(name="daily-agenda")
    registry.renderers.register(daily_agenda.DAILY_AGENDA)(daily_agenda_for_professional)
    linked = professionals_only("daily-agenda-linked")
    linked.message.register(daily_command, Command("daily"))
    linked.callback_query.register(daily_pressed, DailyCb.filter())
    # Everyone else: the command says who it is for; their buttons reach the fallback.
    unlinked = Router(name="daily-agenda-unlinked")
    unlinked.message.register(not_linked_command, Command("daily"))
    router.include_routers(linked, unlinked)
    return router
