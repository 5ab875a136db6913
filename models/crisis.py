"""A record that a client's message showed signs of crisis (issue 9): who, when, which language and
which phrase rule matched. Never the message text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class CrisisEvent(Base):
    __tablename__ = "crisis_events"
    __table_args__ = (Index("ix_crisis_events_telegram_id_occurred_at", "telegram_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The sender; new people may have no users row yet (the check runs before onboarding).
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime]
    language: Mapped[str] = mapped_column(String(8))
    rule_id: Mapped[str] = mapped_column(String(64))
    # The country whose resources were sent (None: unknown, the person was asked).
    country: Mapped[str | None] = mapped_column(String(2))
    # How many professionals were alerted through the outbox.
    professionals_alerted: Mapped[int] = mapped_column(Integer, default=0)
