"""Bookings, their life cycle states, and the audit log of every state change."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, Integer, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

if TYPE_CHECKING:
    from sqlalchemy import Constraint, Table
    from sqlalchemy.engine import Connection

    from models.catalog import Service
    from models.professional import Professional
    from models.user import User


class BookingState(enum.StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# Only these occupy the calendar; the database guards them against overlap.
ACTIVE_STATES = (BookingState.HELD, BookingState.CONFIRMED)
ACTIVE_STATES_SQL = "state IN ('held', 'confirmed')"


def _enum(cls: type[enum.StrEnum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="time_order"),
        CheckConstraint("block_starts_at <= starts_at AND ends_at <= block_ends_at", name="block_covers"),
        CheckConstraint("version >= 1", name="version_positive"),
        # A hold is extended once at most (README "Reminders": the hold-expiry warning's offer).
        CheckConstraint("hold_extensions BETWEEN 0 AND 1", name="hold_extended_once"),
        Index("ix_bookings_professional_block", "professional_id", "block_starts_at"),
        # The exclusion constraint against double booking joins these on PostgreSQL (see below).
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))

    # The session itself, UTC.
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # The session widened by the professional's buffers: the interval no other active booking may touch.
    block_starts_at: Mapped[datetime]
    block_ends_at: Mapped[datetime]

    state: Mapped[BookingState] = mapped_column(_enum(BookingState, 16), index=True)
    # Bumped on every change a party must hear about (reschedule, state change): keys the outbox.
    version: Mapped[int] = mapped_column(Integer, default=1)
    hold_expires_at: Mapped[datetime | None]
    # How many times the client extended the hold (at most once, by the hold's own length).
    hold_extensions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # The professional's policy as it stood when the booking was made; refunds follow this copy.
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)
    # How it was paid once confirmed: "free", "stripe" or "credit".
    paid_with: Mapped[str | None] = mapped_column(String(16))
    # Accessibility or preparation notes from the client (seeds: "captions, language, pacing").
    client_notes: Mapped[str | None] = mapped_column(Text)
    # A phone session's number, given by the client with consent for this booking only and shown only
    # to its professional (bot/services/phone.py).
    client_phone: Mapped[str | None] = mapped_column(String(32))

    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    refund_minor: Mapped[int | None] = mapped_column(Integer)

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    client: Mapped[User] = relationship()
    professional: Mapped[Professional] = relationship()
    service: Mapped[Service] = relationship()
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking", order_by="BookingEvent.id", cascade="all, delete-orphan"
    )


class BookingEvent(Base):
    """Append-only audit log: one row for every state change or move of a booking."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    # "client", "professional", "system" or "operator".
    actor: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    booking: Mapped[Booking] = relationship(back_populates="events")


NO_OVERLAPPING_BOOKINGS = "no_overlapping_bookings"


def no_overlapping_bookings() -> Constraint:
    """The last word against double booking on PostgreSQL; SQLite gets triggers (see migration 0001, which
    creates both: the migrations, not this, make the schema)."""
    # Imported here: sqlalchemy.dialects.postgresql loads the whole PostgreSQL dialect (asyncpg's, psycopg's,
    # pg8000's), a tenth of an operator command's start (`bookbot slots`) even on SQLite.
    from sqlalchemy.dialects.postgresql import ExcludeConstraint

    return ExcludeConstraint(
        ("professional_id", "="),
        (text("tstzrange(block_starts_at, block_ends_at, '[)')"), "&&"),
        name=NO_OVERLAPPING_BOOKINGS,
        using="gist",
        where=text(ACTIVE_STATES_SQL),
    ).ddl_if(dialect="postgresql")


@event.listens_for(Booking.__table__, "before_create")
def _add_no_overlapping_bookings(table: Table, connection: Connection, **_: Any) -> None:
    """`metadata.create_all` on PostgreSQL creates `bookings` with its exclusion constraint, as if it were
    declared in `__table_args__` (tests/db/test_migrations.py checks it matches the migration's)."""
    if connection.dialect.name == "postgresql" and NO_OVERLAPPING_BOOKINGS not in {c.name for c in table.constraints}:
        table.append_constraint(no_overlapping_bookings())
