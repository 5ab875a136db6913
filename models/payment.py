"""Payments of bookings through a gateway (Stripe Checkout, or the offline demo), and the Stripe
events already processed.

One row per payment attempt: a held booking whose Checkout Session expired gets a new attempt (and a
new idempotency key, `checkout:{booking}:{attempt}`). Money is integer minor units plus an ISO 4217
currency. The refund columns describe the one refund a booking can have (`refund:{booking}`): the
worker retries a pending one until the gateway takes it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, partial_index


class PaymentStatus(enum.StrEnum):
    CREATING = "creating"  # attempt reserved; the gateway has not answered yet (retried with the same key)
    OPEN = "open"  # a Checkout Session waits for the client
    PAID = "paid"
    EXPIRED = "expired"  # the session ran out (or a newer attempt replaced it) unpaid


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # owed; the worker asks the gateway (again) when refund_due_at comes
    REQUESTED = "requested"  # the gateway took it and has not settled it yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the gateway settled it as failed (card closed...): an operator must act


# Refunds the worker still has to ask for: what its claim query scans.
REFUND_DUE_SQL = "refund_status = 'pending'"
# Checkout Sessions the worker still has to expire.
EXPIRE_DUE_SQL = "expire_due_at IS NOT NULL"


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("booking_id", "attempt", name="uq_payments_booking_attempt"),
        partial_index("ix_payments_refund_due", "refund_due_at", where=REFUND_DUE_SQL, on=("postgresql",)),
        partial_index("ix_payments_expire_due", "expire_due_at", where=EXPIRE_DUE_SQL, on=("postgresql",)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    # What was asked of the gateway: a retry of the same attempt repeats it exactly (same idempotency key).
    checkout_expires_at: Mapped[datetime]
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    receipt_url: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None]

    refund_minor: Mapped[int | None] = mapped_column(Integer)
    refund_status: Mapped[str | None] = mapped_column(String(16))
    refund_id: Mapped[str | None] = mapped_column(String(255))
    refund_attempts: Mapped[int] = mapped_column(Integer, default=0)
    refund_due_at: Mapped[datetime | None]
    refund_error: Mapped[str | None] = mapped_column(Text)
    # Stripe Connect: the professional's account this payment went to (a destination charge).
    destination_account: Mapped[str | None] = mapped_column(String(255))
    # The booking was released while this session was open: the worker asks the gateway to expire it
    # (`checkout.sessions.expire`), retrying with backoff until it has; None when nothing is owed.
    expire_due_at: Mapped[datetime | None]
    expire_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProcessedStripeEvent(Base):
    """A Stripe event id whose effect is committed: the same id again changes nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime]
