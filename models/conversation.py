"""Where each person is in a conversation (aiogram's FSM state and data) on the embedded default, so a
restart keeps everyone's place. With REDIS_URL, Redis keeps it instead (bot/app.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ConversationState(Base):
    __tablename__ = "conversation_states"

    # aiogram's storage key ("fsm:<bot>:<chat>:<user>"; bot/middlewares/conversation.py builds it).
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
