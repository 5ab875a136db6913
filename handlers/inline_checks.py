"""Run the routers' plain (synchronous) filters in the event loop, not in a thread.

aiogram 3 (3.31, `CallableObject.call`) runs every filter that is not a coroutine through
`asyncio.to_thread`: a magic filter (`F.text`, `F.chat.type == ...`) and a bare `State` given as a
filter are such filters. Each one costs a trip through the default thread pool (about 50 µs of CPU
on this machine, plus a wake-up of the loop), and an update checks several on its way to its handler:
a text typed in a conversation step passes the private-chat filter and a state and a magic filter per
handler it is tried against. These checks are attribute comparisons that never block, so they run
in place. The upstream fix would be for aiogram to call a synchronous filter directly.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.fsm.state import State

# Checks known to be cheap and non-blocking; anything else keeps aiogram's own way.
_INLINE = (State,)


def run_checks_inline(root: Router) -> None:
    """Make the synchronous magic and state filters of `root` and every router under it run inline."""
    for router in root.chain_tail:
        for observer in router.observers.values():
            for filter_object in observer._handler.filters or ():
                _inline(filter_object)
            for handler in observer.handlers:
                for filter_object in handler.filters or ():
                    _inline(filter_object)


def _inline(check: FilterObject) -> None:
    if check.awaitable or not (check.magic is not None or isinstance(check.callback, _INLINE)):
        return
    sync = check.callback

    async def run(*args: Any, **kwargs: Any) -> Any:
        return sync(*args, **kwargs)

    # `params` and `varkw` stay those of the synchronous check, so it receives the same arguments.
    check.callback = run
    check.awaitable = True
