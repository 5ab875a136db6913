"""Packages of credits (seeds: "1 credit = 1 session", "Multi-session packs may have expiry"): the
purchase of a package through Checkout, and the ledger of the credits it grants.

The ledger is append-only. A paid purchase writes one `grant` row (+sessions, with its expiry); a
booking paid with a credit writes a `spend` row (-1) against a grant; a cancellation that gives the
credit back writes a `return` row (+1) for that booking; the worker writes an `expire` row (minus
what is left) once a grant's time is over. A grant's balance is the sum of its row and its
children's: there is no counter to drift. The database guards the shape of each row (CHECK) and the
"once" rules (partial unique indexes): one grant per purchase, one spend and one return per booking.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, partial_index


class PurchaseStatus(enum.StrEnum):
    CREATING = "creating"  # reserved; the gateway has not answered yet (retried with the same key)
    OPEN = "open"  # a Checkout Session waits for the client
    PAID = "paid"  # paid: its credits are granted in the same transaction
    EXPIRED = "expired"  # the session ran out (or a newer purchase replaced it) unpaid


class CreditKind(enum.StrEnum):
    GRANT = "grant"
    SPEND = "spend"
    RETURN = "return"
    EXPIRE = "expire"


class PackagePurchase(Base):
    """One attempt of a client to buy a package: one Checkout Session (`package:{purchase}`)."""

    __tablename__ = "package_purchases"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("sessions > 0 AND valid_days > 0", name="positive_terms"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    # The package's terms as they stood when the client said yes (the catalog may change later).
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    sessions: Mapped[int] = mapped_column(Integer)
    valid_days: Mapped[int] = mapped_column(Integer)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    checkout_expires_at: Mapped[datetime]
    # Stripe Connect: the professional's account the payment went to (a destination charge).
    destination_account: Mapped[str | None] = mapped_column(String(255))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


GRANT_SQL = "kind = 'grant'"
SPEND_SQL = "kind = 'spend'"
RETURN_SQL = "kind = 'return'"


class CreditEntry(Base):
    __tablename__ = "credit_entries"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'grant' AND amount > 0 AND grant_id IS NULL AND purchase_id IS NOT NULL "
            "AND expires_at IS NOT NULL AND booking_id IS NULL)"
            " OR (kind = 'spend' AND amount = -1 AND grant_id IS NOT NULL AND booking_id IS NOT NULL)"
            " OR (kind = 'return' AND amount = 1 AND grant_id IS NOT NULL AND booking_id IS NOT NULL)"
            " OR (kind = 'expire' AND amount < 0 AND grant_id IS NOT NULL AND booking_id IS NULL)",
            name="entry_shape",
        ),
        partial_index("uq_credit_entries_grant_per_purchase", "purchase_id", where=GRANT_SQL, unique=True),
        partial_index("uq_credit_entries_spend_per_booking", "booking_id", where=SPEND_SQL, unique=True),
        partial_index("uq_credit_entries_return_per_booking", "booking_id", where=RETURN_SQL, unique=True),
        Index("ix_credit_entries_owner", "client_id", "package_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # +sessions for a grant, -1 a spend, +1 a return, minus what was left for an expiry.
    amount: Mapped[int] = mapped_column(Integer)
    # The grant a spend, return or expiry draws on (None on the grant itself).
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("credit_entries.id", ondelete="CASCADE"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("package_purchases.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    # On a grant: when its credits stop covering sessions (a session must start before it).
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
