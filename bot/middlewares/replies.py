"""Commit, then send (DESIGN.md, data flow step 3): what a handler says back waits for its transaction.

A handler never calls Telegram itself. `send`, `replace` and the button answers of handlers/common.py
add to the update's `Replies` (`ctx.replies`; `current_replies()` for code that has only the query),
and `ReplyMiddleware`, outside the database middleware, sends them in order once the transaction has
committed. So a slow Telegram holds no lock (on PostgreSQL the professional's row, on SQLite every
writer), and a reply that fails cannot undo a change the person is being told about: the change is
committed before the first byte goes out. A handler that raised sends nothing; the error handler
(handlers/fallback.py) speaks instead.

A reply Telegram refuses for a while is tried again: after the `retry_after` a 429 names (when it is
short enough to wait for in an update), or shortly after a network or server error. One Telegram
refuses for good (the person blocked the bot, a message it will never accept) is logged and dropped;
the replies after it still go out. Messages to anyone else never come here: they are outbox rows,
written in the same transaction as the change, and the worker sends them.

`RefuseCallsInTransaction` is the net under all this: installed on the bot's session, it makes any
Telegram call made while an update's transaction is open fail loudly instead of quietly holding locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)

# Tries per reply, the first included.
ATTEMPTS = 3
# The longest 429 pause worth waiting for inside one update; a longer one drops the reply (logged).
MAX_RETRY_AFTER_SECONDS = 30.0
# Before trying again after a network or server error: the first wait, doubled each time.
BACKOFF_SECONDS = 1.0

Reply = Callable[[], Awaitable[object]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class _Pending:
    what: str
    chat_id: int | None
    call: Reply


class Replies:
    """The Telegram calls one update makes, in the order the handler asked for them."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []

    def add(self, what: str, call: Reply, chat_id: int | None = None) -> None:
        """Make `call` once the transaction has committed. `what` names it in logs ("sendMessage")."""
        self._pending.append(_Pending(what, chat_id, call))

    def __len__(self) -> int:
        return len(self._pending)

    def discard(self) -> None:
        self._pending.clear()

    async def deliver(self, sleep: Sleep = asyncio.sleep) -> None:
        pending, self._pending = self._pending, []
        for reply in pending:
            await _with_retries(reply, sleep)


async def _with_retries(reply: _Pending, sleep: Sleep) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        last = attempt == ATTEMPTS
        try:
            await reply.call()
            return
        except TelegramRetryAfter as exc:
            if last or exc.retry_after > MAX_RETRY_AFTER_SECONDS:
                break
            await sleep(float(exc.retry_after))
        except (TelegramNetworkError, TelegramServerError):
            if last:
                break
            await sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        except TelegramAPIError as exc:
            # Forbidden (blocked), Bad Request, ...: Telegram will refuse it again.
            log.warning("reply %s to chat %s refused, dropped: %s", reply.what, reply.chat_id, exc)
            return
    log.warning("reply %s to chat %s still failing after %s tries, dropped", reply.what, reply.chat_id, ATTEMPTS)


_current: ContextVar[Replies | None] = ContextVar("bookbot_replies", default=None)


def current_replies() -> Replies:
    """The replies of the update being handled (for code that has the query but not `ctx`)."""
    replies = _current.get()
    if replies is None:
        raise RuntimeError("no update is being handled here: replies go through ReplyMiddleware")
    return replies


class ReplyMiddleware(BaseMiddleware):
    """Outside the database middleware: collects the update's replies, sends them after the commit."""

    def __init__(self, sleep: Sleep = asyncio.sleep) -> None:
        self.sleep = sleep

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        replies = Replies()
        data["replies"] = replies
        token = _current.set(replies)
        try:
            result = await handler(event, data)
        except BaseException:
            replies.discard()
            raise
        finally:
            _current.reset(token)
        await replies.deliver(self.sleep)
        return result


# --- the net -----------------------------------------------------------------------------------------

_transaction_open: ContextVar[bool] = ContextVar("bookbot_transaction_open", default=False)


@contextmanager
def transaction_open() -> Iterator[None]:
    """Marks the code inside as running in the update's transaction (bot/middlewares/database.py)."""
    token = _transaction_open.set(True)
    try:
        yield
    finally:
        _transaction_open.reset(token)


class TelegramCallInTransaction(RuntimeError):
    """A Telegram call was made while the update's transaction was open: a bug, never the person's."""


class RefuseCallsInTransaction(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _transaction_open.get():
            raise TelegramCallInTransaction(
                f"{method.__api_method__} called inside a database transaction; add it to the update's replies"
            )
        return await make_request(bot, method)


def refuse_calls_in_transaction(bot: Bot) -> None:
    """Install the net on `bot` (once, however many apps share it)."""
    if not any(isinstance(middleware, RefuseCallsInTransaction) for middleware in bot.session.middleware):
        bot.session.middleware(RefuseCallsInTransaction())
