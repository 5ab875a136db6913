"""Safety: the crisis reply itself is an update middleware (bot/middlewares/crisis.py), so no router or
conversation state can come before it; this module registers what it leaves for the worker, the alerts
to the client's professionals and to the support chat (bot/render/crisis.py)."""

from __future__ import annotations

from aiogram import Router

from bot.render.crisis import crisis_alert_pro, crisis_alert_support
from handlers.registry import Registry


def make_router(registry: Registry) -> Router:
    registry.renderers.register("crisis_alert_pro")(crisis_alert_pro)
    registry.renderers.register("crisis_alert_support")(crisis_alert_support)
    return Router(name="safety")
