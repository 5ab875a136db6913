"""The outbox: messages to send outside the current update, written in the transaction that causes them.

A row says *what* to tell someone (`kind` + `payload`), not the text: the worker renders it at send
time in the recipient's locale, so a reminder queued weeks ahead still speaks the language they chose
since. `key` makes enqueueing idempotent (e.g. "booking_created:42:1:pro").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# Rows still to send: what the worker's claim query scans, kept small by a partial index.
PENDING_SQL = "sent_at IS NULL AND failed_at IS NULL"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending_due",
            "due_at",
            postgresql_where=text(PENDING_SQL),
            sqlite_where=text(PENDING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    locale: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A claimer owns the row until then; a crashed worker's rows are claimed again after it passes.
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Given up: a permanent error (the person blocked the bot) or too many attempts.
    failed_at: Mapped[datetime | None]
