"""Verification (seeds: "Getting verified"): a professional's request with their credentials, the
operators' decision on it, and the audit log of every such decision with the operator's id."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, partial_index


class VerificationState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class VerificationRequest(Base):
    __tablename__ = "verification_requests"
    __table_args__ = (
        # At most one request waits for a decision per professional (the database guards it too).
        partial_index(
            "uq_verification_requests_one_pending", "professional_id", where="state = 'pending'", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"), index=True)
    licence_number: Mapped[str] = mapped_column(String(100))
    licensing_body: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(100))
    # [{"kind": "document" | "photo", "file_id": "...", "name": "..."}]: Telegram keeps the files; we
    # keep their ids and forward them to the operators by id.
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[VerificationState] = mapped_column(
        Enum(VerificationState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=VerificationState.PENDING,
    )
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """One operator decision about a professional: who (their Telegram id), what, when, why."""

    __tablename__ = "audit_log"
    # A request is decided once: a second decision on it cannot be recorded.
    __table_args__ = (UniqueConstraint("verification_request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    actor_telegram_id: Mapped[int] = mapped_column(BigInteger)
    # "verification_approved", "verification_rejected", "verified", "unverified" (the /admin switch)
    action: Mapped[str] = mapped_column(String(40))
    professional_id: Mapped[int | None] = mapped_column(ForeignKey("professionals.id", ondelete="SET NULL"), index=True)
    verification_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("verification_requests.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(Text)
