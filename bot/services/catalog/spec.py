"""What a catalog file says, checked: plain dataclasses, nothing from YAML and nothing from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.services.windows import Window
from models import DEFAULT_REMINDERS, Policy, ServiceMode


@dataclass(frozen=True)
class ServiceSpec:
    slug: str
    name: str
    duration_minutes: int
    price_minor: int
    currency: str
    mode: ServiceMode


@dataclass(frozen=True)
class PackageSpec:
    slug: str
    name: str
    service: str  # slug of a service of the same professional
    sessions: int
    price_minor: int
    currency: str
    valid_days: int


@dataclass(frozen=True)
class OverrideSpec:
    on_date: date
    windows: tuple[Window, ...]  # minutes after local midnight; empty = a day off


@dataclass(frozen=True)
class ProfessionalSpec:
    slug: str
    line: int | None
    name: str
    headline: str
    bio: str
    verified: bool
    # None: the file does not set it, and a link made through the bot stays.
    telegram_id: int | None
    telegram_id_line: int | None
    timezone: str
    languages: tuple[str, ...]
    categories: tuple[str, ...]
    address: str | None
    access_notes: str | None
    video_link: str | None
    policy: Policy
    buffer_before_minutes: int
    buffer_after_minutes: int
    slot_step_minutes: int | None
    weekly: tuple[tuple[int, int, int], ...]  # (weekday 0 = Monday, starts, ends)
    overrides: tuple[OverrideSpec, ...]
    time_off: tuple[tuple[date, date], ...]
    services: tuple[ServiceSpec, ...]
    packages: tuple[PackageSpec, ...]
    # Alert the professional when a client of theirs sends a message showing signs of crisis.
    crisis_alerts: bool = True
    # Minutes before a session the client is reminded, largest first.
    reminders: tuple[int, ...] = DEFAULT_REMINDERS
    # Today's sessions at 08:00 in their zone; None: the file does not say, and the professional's own
    # choice in chat (/daily) stays.
    daily_agenda: bool | None = None
    # Stripe Connect: payments for this professional become destination charges to this account.
    stripe_account: str | None = None


@dataclass(frozen=True)
class Catalog:
    source: str  # the file as the operator named it, for messages
    professionals: tuple[ProfessionalSpec, ...]
