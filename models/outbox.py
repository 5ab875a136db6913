"""The outbox: messages to send outside the current update, written in the transaction that causes them.

A row says *what* to tell *whom* about *what thing* (`kind` + `payload`, `recipient_id`, `subject_type`
+ `subject_id`), not the text: the worker renders it at send time in the recipient's language and
zone as the users table has them then, so a reminder queued weeks ahead still speaks the language they
chose since. `key` makes enqueueing idempotent (e.g. "booking_new_pro:42:2:7"). A later change voids
the rows it makes stale (`voided_at`), it never deletes them; once sent, `chat_id` and
`telegram_message_id` say where it went, so a reply to it finds its subject.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, partial_index

# Rows still to send: what the worker's claim query scans, kept small by a partial index.
PENDING_SQL = "sent_at IS NULL AND failed_at IS NULL AND voided_at IS NULL"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        partial_index("ix_outbox_pending_due", "due_at", where=PENDING_SQL),
        Index("ix_outbox_subject", "subject_type", "subject_id"),
        Index("ix_outbox_sent_message", "chat_id", "telegram_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # What the message is about ("booking", 42); None for a message about nothing in particular.
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Used only while the recipient has not chosen their own language or zone (no language: the bot's default).
    fallback_locale: Mapped[str | None] = mapped_column(String(16))
    fallback_zone: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A claimer owns the row until then; a crashed worker's rows are claimed again after it passes.
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Given up: a permanent error (the person blocked the bot) or too many attempts.
    failed_at: Mapped[datetime | None]
    # Made stale by a later change of its subject before it went out; kept for the record.
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(200))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
