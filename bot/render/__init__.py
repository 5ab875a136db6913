"""Presentation helpers: how dates, times, zones, money and durations read in a chat, and the shape of a
rendered message. Babel does the formatting; gettext the words. Services never import this package."""

from bot.render.dates import format_clock, format_day, format_duration, format_instant, zone_suffix
from bot.render.message import Markup, Rendered, send_rendered
from bot.render.money import format_money, format_price
from bot.render.outbox import Reader, Renderer, RendererRegistry, UnknownKind
from bot.render.zones import utc_offset, zone_choice, zone_city, zone_label

__all__ = [
    "Markup",
    "Reader",
    "Rendered",
    "Renderer",
    "RendererRegistry",
    "UnknownKind",
    "format_clock",
    "format_day",
    "format_duration",
    "format_instant",
    "format_money",
    "format_price",
    "send_rendered",
    "utc_offset",
    "zone_choice",
    "zone_city",
    "zone_label",
    "zone_suffix",
]
