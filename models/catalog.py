"""What a professional offers and when: services, packages, weekly hours, overrides, time off."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Date, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

if TYPE_CHECKING:
    from models.professional import Professional


class ServiceMode(enum.StrEnum):
    VIDEO = "video"
    IN_PERSON = "in_person"
    # The professional calls the client at the number the client gave for that booking.
    PHONE = "phone"


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("professional_id", "slug"),
        CheckConstraint("duration_minutes > 0", name="positive_duration"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # Money is integer minor units plus an ISO 4217 code.
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    mode: Mapped[ServiceMode] = mapped_column(
        Enum(ServiceMode, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    # Services dropped from a catalog stay for the bookings that refer to them, but are not offered.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    professional: Mapped[Professional] = relationship(back_populates="services")


class Package(Base):
    """A bundle of credits for one service (seeds: 1 credit = 1 session)."""

    __tablename__ = "packages"
    __table_args__ = (
        UniqueConstraint("professional_id", "slug"),
        CheckConstraint("sessions > 0", name="positive_sessions"),
        CheckConstraint("valid_days > 0", name="positive_validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    sessions: Mapped[int] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    valid_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    professional: Mapped[Professional] = relationship(back_populates="packages")
    service: Mapped[Service] = relationship()


class WeeklyWindow(Base):
    """One wall-clock window of a weekday in the professional's zone (weekday 0 = Monday)."""

    __tablename__ = "weekly_windows"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("starts >= 0 AND starts < ends AND ends <= 1440", name="window_bounds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    # Minutes after local midnight; 1440 is "24:00", the end of the day.
    starts: Mapped[int] = mapped_column(Integer)
    ends: Mapped[int] = mapped_column(Integer)


class DateOverride(Base):
    """Replaces the weekly hours of one local date; no windows means a day off."""

    __tablename__ = "date_overrides"
    __table_args__ = (UniqueConstraint("professional_id", "on_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"), index=True)
    on_date: Mapped[date] = mapped_column(Date)

    windows: Mapped[list[OverrideWindow]] = relationship(
        cascade="all, delete-orphan", order_by="OverrideWindow.starts", lazy="selectin"
    )


class OverrideWindow(Base):
    __tablename__ = "override_windows"
    __table_args__ = (CheckConstraint("starts >= 0 AND starts < ends AND ends <= 1440", name="window_bounds"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    override_id: Mapped[int] = mapped_column(ForeignKey("date_overrides.id", ondelete="CASCADE"), index=True)
    # Minutes after local midnight, as in WeeklyWindow.
    starts: Mapped[int] = mapped_column(Integer)
    ends: Mapped[int] = mapped_column(Integer)


class TimeOff(Base):
    """Whole local dates off, both ends included."""

    __tablename__ = "time_off"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="range_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
