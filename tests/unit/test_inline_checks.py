"""The routers' plain filters run in the event loop (handlers/inline_checks.py), and still decide alike."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

from aiogram import F, Router
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Chat, Message, User

from handlers import setup_routers
from handlers.inline_checks import run_checks_inline
from handlers.registry import Registry


class Step(StatesGroup):
    name = State()


def _message(text: str) -> Message:
    return Message(
        message_id=1,
        date=datetime(2026, 11, 23, tzinfo=UTC),
        chat=Chat(id=5, type="private"),
        from_user=User(id=5, is_bot=False, first_name="Olena"),
        text=text,
    )


def test_no_filter_of_the_app_runs_in_a_thread() -> None:
    root = setup_routers(Registry())
    left = [
        (router.name, kind, check.callback)
        for router in root.chain_tail
        for kind, observer in router.observers.items()
        for handler in [observer._handler, *observer.handlers]
        for check in handler.filters or ()
        if not check.awaitable
    ]
    assert left == []


def test_inlined_checks_decide_as_before_in_the_loop_thread() -> None:
    seen: list[str] = []

    def where(message: Message) -> bool:
        seen.append(threading.current_thread().name)
        return True

    router = Router()

    async def handler(message: Message) -> None: ...

    router.message.filter(F.chat.type == "private")
    router.message.register(handler, Step.name, F.text.startswith("hi"))
    router.message.register(handler, where)  # neither magic nor a state: left to aiogram's thread
    run_checks_inline(router)
    first, other = router.message.handlers
    assert all(check.awaitable for check in first.filters or ())
    assert not (other.filters or [])[0].awaitable

    async def decide(text: str, state: str | None) -> bool:
        root_ok, _ = await router.message._handler.check(_message(text))
        passed, _ = await first.check(_message(text), raw_state=state)
        return bool(root_ok and passed)

    async def main() -> dict[str, Any]:
        return {
            "match": await decide("hi there", Step.name.state),
            "other text": await decide("bye", Step.name.state),
            "other state": await decide("hi there", None),
            "thread": (await other.check(_message("x")))[0] and seen[-1] != threading.current_thread().name,
        }

    assert asyncio.run(main()) == {"match": True, "other text": False, "other state": False, "thread": True}
