"""The outer middlewares every update passes through, in order (after aiogram's own error, user-context
and FSM middlewares):

1. `DedupeMiddleware`: a repeated `update_id` stops here.
2. `ReplyMiddleware`: `replies`, what the handler says back, sent once the transaction has committed.
2a. `CrisisMiddleware`: a message showing signs of crisis gets crisis resources at once and goes no
    further (bot/middlewares/crisis.py); it needs no database session, so it comes before one is opened
    (and it answers at once, in its own short units of work, never inside the update's transaction).
3. `DbSessionMiddleware`: `session` for the update; commit on success, rollback on error.
3a. `ConversationMiddleware` and aiogram's FSM middleware (the embedded default's FSM storage, in the
    database): the update's conversation state, read and written in its transaction; `ConversationScope`,
    outside the database middleware, writes a read-only update's (bot/middlewares/conversation.py).
4. `UserMiddleware`: `user`, the `models.User` of the sender, created on first contact.
5. `LocaleMiddleware`: `locale`, and gettext set to it.

"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram import BaseMiddleware, Dispatcher
from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.conversation import ConversationMiddleware, ConversationScope, DatabaseStorage
from bot.middlewares.crisis import CrisisMiddleware
from bot.middlewares.database import DbSessionMiddleware
from bot.middlewares.dedupe import DedupeMiddleware, Deduplicator, MemoryDeduplicator, RedisDeduplicator
from bot.middlewares.locale import LocaleMiddleware
from bot.middlewares.replies import Replies, ReplyMiddleware, Sleep, current_replies, refuse_calls_in_transaction
from bot.middlewares.users import UserMiddleware
from bot.services.clock import Clock

__all__ = [
    "ConversationMiddleware",
    "ConversationScope",
    "CrisisMiddleware",
    "DatabaseStorage",
    "DbSessionMiddleware",
    "DedupeMiddleware",
    "Deduplicator",
    "LocaleMiddleware",
    "MemoryDeduplicator",
    "RedisDeduplicator",
    "Replies",
    "ReplyMiddleware",
    "UserMiddleware",
    "current_replies",
    "install",
    "refuse_calls_in_transaction",
    "update_middlewares",
]


def update_middlewares(
    *,
    deduplicator: Deduplicator,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    i18n: I18n,
    read_only_sessions: async_sessionmaker[AsyncSession] | None = None,
    reads_only: Callable[[TelegramObject], bool] | None = None,
    sleep: Sleep | None = None,
    conversation: tuple[DatabaseStorage, BaseMiddleware] | None = None,
) -> list[BaseMiddleware]:
    """The chain, outermost first. `reads_only` tells the updates that get a `read_only_sessions` session;
        `sleep` is how a reply waits before it is tried again (tests record the waits instead); `conversation`, the
    database storage and aiogram's FSM middleware when the conversation state lives in the database."""
    return [
        DedupeMiddleware(deduplicator),
        ReplyMiddleware(sleep) if sleep is not None else ReplyMiddleware(),
        *([ConversationScope(conversation[0])] if conversation is not None else []),
        CrisisMiddleware(sessions, clock),
        DbSessionMiddleware(sessions, read_only_sessions, reads_only),
        # The conversation's scope, then aiogram's FSM middleware (the Dispatcher's own, registered here
        # instead of first): the state is read and written through the update's session.
        *([ConversationMiddleware(conversation[0]), conversation[1]] if conversation is not None else []),
        UserMiddleware(clock),
        LocaleMiddleware(i18n),
    ]


def install(dispatcher: Dispatcher, middlewares: Sequence[BaseMiddleware]) -> None:
    for middleware in middlewares:
        dispatcher.update.outer_middleware(middleware)
