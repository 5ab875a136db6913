"""How an update's replies go out after the commit (bot/middlewares/replies.py): in order, a 429 waited
out when short, a network or server error tried again, a refusal dropped without stopping the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.middlewares.replies import ATTEMPTS, MAX_RETRY_AFTER_SECONDS, Replies, current_replies

METHOD = SendMessage(chat_id=1, text="hello")


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _reply(log: list[str], name: str, failures: list[Exception]) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        log.append(name)
        if failures:
            raise failures.pop(0)

    return call


async def test_replies_go_out_in_order_and_a_refusal_stops_nothing() -> None:
    log: list[str] = []
    replies, waits = Replies(), Waits()
    replies.add("edit", _reply(log, "edit", []))
    replies.add("blocked", _reply(log, "blocked", [TelegramForbiddenError(METHOD, "Forbidden: bot was blocked")]))
    replies.add("document", _reply(log, "document", []))
    await replies.deliver(waits)
    assert log == ["edit", "blocked", "document"]  # the refusal was not tried again
    assert waits.waits == []
    assert len(replies) == 0


async def test_a_short_429_is_waited_out_and_a_long_one_drops_the_reply() -> None:
    log: list[str] = []
    replies, waits = Replies(), Waits()
    replies.add("short", _reply(log, "short", [TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=3)]))
    too_long = int(MAX_RETRY_AFTER_SECONDS) + 1
    replies.add("long", _reply(log, "long", [TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=too_long)]))
    await replies.deliver(waits)
    assert log == ["short", "short", "long"]
    assert waits.waits == [3.0]


async def test_network_and_server_errors_are_tried_again_with_growing_waits() -> None:
    log: list[str] = []
    replies, waits = Replies(), Waits()
    failures: list[Exception] = [TelegramNetworkError(METHOD, "timeout"), TelegramServerError(METHOD, "Bad Gateway")]
    replies.add("flaky", _reply(log, "flaky", failures))
    down: list[Exception] = [TelegramServerError(METHOD, "Bad Gateway") for _ in range(ATTEMPTS + 1)]
    replies.add("down", _reply(log, "down", down))
    await replies.deliver(waits)
    assert log == ["flaky"] * 3 + ["down"] * ATTEMPTS
    assert waits.waits == [1.0, 2.0] + [2.0**n for n in range(ATTEMPTS - 1)]  # none after the last try


async def test_a_bug_in_a_reply_is_not_swallowed() -> None:
    replies = Replies()
    replies.add("buggy", _reply([], "buggy", [KeyError("oops")]))
    with pytest.raises(KeyError):
        await replies.deliver(Waits())


def test_outside_an_update_there_is_nowhere_to_reply() -> None:
    with pytest.raises(RuntimeError, match="no update"):
        current_replies()
