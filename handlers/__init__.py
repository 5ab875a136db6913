"""aiogram routers, one module per feature; `setup_routers(registry)` is what the composition root includes.

Adding a feature: write handlers/<feature>.py with a ``make_router(registry) -> Router`` that builds a
fresh router and registers its handlers, prompts, deep links and commands (handlers/common.py shows
the shape), import it here and add the factory to FEATURES. Order matters only between handlers that
would match the same update; the fallback always comes last.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import F, Router
from aiogram.enums import ChatType

from handlers import fallback, settings, start

# isort: split
# After start: import order is the order of /help and the command menu, and start's commands lead.
from handlers import (
    admin,
    booking,
    catalog,
    daily_agenda,
    hours,
    instant,
    my_bookings,
    packages,
    payments,
    phone_consent,
    pro_sessions,
    pro_setup,
    professional,
    reminders,
    reviews,
    safety,
    verification,
)
from handlers.common import FlowMiddleware
from handlers.inline_checks import run_checks_inline
from handlers.registry import Registry
from handlers.start import ZoneGate

RouterFactory = Callable[[Registry], Router]

# The client's features: every screen of theirs may show times, so none opens before the client has
# a time zone (handlers/start.py, ZoneGate). Reminders' buttons only: its text handler reads any text
# and passes on what is no answer to a reminder, which must reach the fallback as it is.
ZONE_FIRST: set[RouterFactory] = {
    catalog.make_router,
    booking.make_router,
    payments.make_router,
    my_bookings.make_router,
}
ZONE_FIRST_BUTTONS: set[RouterFactory] = {reminders.make_router}

# In the order they get a chance at an update.
FEATURES: list[RouterFactory] = [
    start.make_router,
    settings.make_router,
    catalog.make_router,
    booking.make_router,
    phone_consent.make_router,
    payments.make_router,
    my_bookings.make_router,
    packages.make_router,
    professional.make_router,
    hours.make_router,
    daily_agenda.make_router,
    pro_sessions.make_router,
    instant.make_router,
    pro_setup.make_router,
    verification.make_router,
    admin.make_router,
    reviews.make_router,
    safety.make_router,
    # Reads free text as an answer to a reminder: after every feature whose steps wait for text.
    reminders.make_router,
]


def setup_routers(registry: Registry) -> Router:
    """A fresh root router holding a fresh router of every feature, then the fallback; `registry`
    (the app's own) learns their prompts, deep links, commands and renderers.

    Messages count only in private chats (the bot is a one-to-one assistant), but for the one the
    operators' support chat may send: the reason for rejecting a verification request. Every message
    and callback handler below receives `ctx` (handlers.common.Flow).
    """
    root = Router(name="handlers")
    flow = FlowMiddleware(registry)
    root.message.outer_middleware(flow)
    root.callback_query.outer_middleware(flow)
    root.include_router(verification.make_operator_chat_router(registry))
    private = Router(name="private")
    private.message.filter(F.chat.type == ChatType.PRIVATE)
    for make_router in [*FEATURES, fallback.make_router]:
        router = make_router(registry)
        if make_router in ZONE_FIRST:
            router.message.middleware(ZoneGate())
        if make_router in ZONE_FIRST | ZONE_FIRST_BUTTONS:
            router.callback_query.middleware(ZoneGate())
        registry.claim_callbacks(router)
        private.include_router(router)
    root.include_router(private)
    run_checks_inline(root)
    return root
