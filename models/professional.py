"""A professional's profile, policy and scheduling settings."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, Integer, String, Text, false, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

if TYPE_CHECKING:
    from models.catalog import DateOverride, Package, Service, TimeOff, WeeklyWindow


class NoShowRule(enum.StrEnum):
    CHARGE_FULL = "charge_full"
    ONE_FREE_RESCHEDULE = "one_free_reschedule"


@dataclass(frozen=True)
class Policy:
    """A professional's booking terms, the one type for them: named exactly as the Professional columns
    that hold them, and its defaults are theirs (and the catalog file's). A copy goes onto every booking
    when it is made (Booking.policy), so later changes touch no booking already made
    (bot/services/policy.py says what a copy gives)."""

    free_cancellation_hours: int = 24
    late_cancellation_refund_percent: int = 0
    max_reschedules: int = 1
    no_show: NoShowRule = NoShowRule.CHARGE_FULL
    hold_minutes: int = 30
    min_notice_minutes: int = 60
    booking_horizon_days: int = 60

    @classmethod
    def of(cls, professional: Professional) -> Policy:
        return cls(**{item.name: getattr(professional, item.name) for item in fields(cls)})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        """A booking's copy; a field the copy predates takes its default."""
        values: dict[str, Any] = {
            item.name: NoShowRule(data[item.name]) if item.name == "no_show" else int(data[item.name])
            for item in fields(cls)
            if item.name in data
        }
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"no_show": str(self.no_show)}

    def as_columns(self) -> dict[str, Any]:
        """The Professional columns that hold this policy, by name."""
        return asdict(self)

    @property
    def free_window(self) -> timedelta:
        return timedelta(hours=self.free_cancellation_hours)


DEFAULT_POLICY = Policy()
DEFAULT_REMINDERS: tuple[int, ...] = (1440, 60)


class Professional(Base):
    __tablename__ = "professionals"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    headline: Mapped[str] = mapped_column(String(300), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    # Only verified professionals are listed to clients (seeds: "Getting verified").
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    address: Mapped[str | None] = mapped_column(Text)
    access_notes: Mapped[str | None] = mapped_column(Text)
    video_link: Mapped[str | None] = mapped_column(String(500))
    # Stripe Connect (optional): payments become destination charges to this account (acct_...).
    stripe_account: Mapped[str | None] = mapped_column(String(255))

    # Policy (seeds: "cancelling more than 72 hours before often allows rescheduling or a refund").
    free_cancellation_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_POLICY.free_cancellation_hours)
    late_cancellation_refund_percent: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_POLICY.late_cancellation_refund_percent
    )
    max_reschedules: Mapped[int] = mapped_column(Integer, default=DEFAULT_POLICY.max_reschedules)
    no_show: Mapped[NoShowRule] = mapped_column(
        Enum(NoShowRule, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
        default=DEFAULT_POLICY.no_show,
    )
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_POLICY.min_notice_minutes)
    booking_horizon_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_POLICY.booking_horizon_days)
    hold_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_POLICY.hold_minutes)

    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # None: step by the service's duration.
    slot_step_minutes: Mapped[int | None] = mapped_column(Integer)
    # Tell the professional when a client of theirs sends a message showing signs of crisis (README "Safety").
    crisis_alerts: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Minutes before a session the client is reminded (README "Reminders"); the 1 h heads-up to the
    # professional and the "starting now" message come on top of these.
    reminders: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_REMINDERS), server_default=text("'[1440, 60]'")
    )
    # Today's sessions in one message at 08:00 in their zone (README "Reminders"); off unless the
    # catalog or the professional (/daily) turns it on.
    daily_agenda: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # "Available now" (seeds: "How Instant Sessions work"): until this instant clients can book a session
    # starting within minutes (bot/services/instant.py); None or past = off.
    instant_until: Mapped[datetime | None]
    # Bumped by the database (triggers, migration 0012) whenever the row, its weekly windows, date
    # overrides, time off or services change: the key of each process's schedule cache.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    services: Mapped[list[Service]] = relationship(
        back_populates="professional", cascade="all, delete-orphan", order_by="Service.id"
    )
    packages: Mapped[list[Package]] = relationship(
        back_populates="professional", cascade="all, delete-orphan", order_by="Package.id"
    )
    weekly_windows: Mapped[list[WeeklyWindow]] = relationship(
        cascade="all, delete-orphan", order_by="(WeeklyWindow.weekday, WeeklyWindow.starts)"
    )
    date_overrides: Mapped[list[DateOverride]] = relationship(
        cascade="all, delete-orphan", order_by="DateOverride.on_date"
    )
    time_off: Mapped[list[TimeOff]] = relationship(cascade="all, delete-orphan", order_by="TimeOff.first_day")
