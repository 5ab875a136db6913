"""People who talk to the bot: clients, and professionals once they link their chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    # A BCP 47 language tag the bot speaks to this person in ("en", "uk").
    locale: Mapped[str | None] = mapped_column(String(16))
    # Canonical IANA name ("Europe/Kyiv"); None until the person has told us.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # ISO 3166-1 alpha-2, for crisis lines; derived from the zone when not given.
    country: Mapped[str | None] = mapped_column(String(2))
    # Telegram refused a message to them (403: they blocked the bot); cleared when they write again.
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
