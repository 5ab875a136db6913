"""aiogram routers, one module per feature; `setup_routers()` is what the composition root includes.

Adding a feature: write handlers/<feature>.py with a module-level ``router = Router(name="<feature>")``
(handlers/common.py shows the shape), import it here and add its router to FEATURE_ROUTERS. Order
matters only between handlers that would match the same update; the fallback always comes last.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType

from handlers import fallback, settings, start

# isort: split
# After start: import order is the order of /help and the command menu, and start's commands lead.
from handlers import admin, booking, catalog, hours, my_bookings, payments, professional
from handlers.common import FlowMiddleware

# In the order they get a chance at an update.
FEATURE_ROUTERS: list[Router] = [
    start.router,
    settings.router,
    catalog.router,
    booking.router,
    payments.router,
    my_bookings.router,
    professional.router,
    hours.router,
    admin.router,
]


def setup_routers() -> Router:
    """A fresh root router holding every feature router, then the fallback.

    Messages count only in private chats (the bot is a one-to-one assistant). Every message and
    callback handler below receives `ctx` (handlers.common.Flow).
    """
    root = Router(name="handlers")
    root.message.filter(F.chat.type == ChatType.PRIVATE)
    flow = FlowMiddleware()
    root.message.outer_middleware(flow)
    root.callback_query.outer_middleware(flow)
    for router in [*FEATURE_ROUTERS, fallback.router]:
        _detach(router)
        root.include_router(router)
    return root


def _detach(router: Router) -> None:
    """Module-level routers (the aiogram idiom) can have one parent, but one process may build several
    apps (tests, the demo): take a router back from the app built before."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
