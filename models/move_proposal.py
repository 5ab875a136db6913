"""A professional's proposal to move a session to another time, waiting for the client's answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class MoveProposal(Base):
    """One proposed new time for a confirmed booking. The client accepts (the booking moves) or
    declines; an answer missing when `expires_at` comes counts as declined. Declined or expired is the
    professional's cancellation (bot/services/pro_move.py). `booking_version` is the version the
    professional saw: a booking changed since cannot be moved by this proposal."""

    __tablename__ = "move_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    booking_version: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    # None while open; "accepted", "declined", "expired", "replaced" (a newer proposal) or "void"
    # (the booking changed otherwise).
    outcome: Mapped[str | None] = mapped_column(String(16))
