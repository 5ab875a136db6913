"""A professional's own profile, set up and edited from chat (seeds: "Getting Started": "the things you
need to set up ... so you can start having sessions").

A profile is *listed* to clients only when it is verified (bot/services/verification.py) AND complete:
every part in REQUIRED is there. `missing_parts` says what is still missing, in the order the setup asks
for it; `listable()` is the same rule as SQL conditions, which the directory adds to its queries, so a
profile missing a part is never listed, verified or not (tests/db/test_pro_profile.py checks that the
two agree).

Typed input is parsed here (pure functions raising ProfileInputError with a `problem` code the chat
words); the writes take the professional and change only their own rows. Policy changes apply to new
bookings only: every booking keeps the copy of the policy it was made under (Booking.policy).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from babel.core import UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services import schedule
from bot.services.errors import DomainError, NotAllowed, NotFound
from bot.services.invites import professional_of
from bot.services.timezones import canonical_zone
from bot.services.windows import Window
from bot.services.zone_search import zone_country
from models import (
    Booking,
    BookingState,
    NoShowRule,
    Policy,
    Professional,
    Service,
    ServiceMode,
    User,
    WeeklyWindow,
)

# What a profile needs before it can be listed, in the order the setup asks for it.
NAME, HEADLINE, LANGUAGES, CATEGORIES, VIDEO_LINK, ADDRESS, SERVICES, HOURS = (
    "name",
    "headline",
    "languages",
    "categories",
    "video_link",
    "address",
    "services",
    "hours",
)
REQUIRED = (NAME, HEADLINE, LANGUAGES, CATEGORIES, VIDEO_LINK, ADDRESS, SERVICES, HOURS)

MAX_NAME = 200
MAX_HEADLINE = 300
MAX_BIO = 2000
MAX_LINK = 500
MAX_ADDRESS = 500
MAX_NOTES = 500
MAX_SERVICE_NAME = 100
MAX_SERVICES = 20
MAX_LANGUAGES = 10
MAX_CATEGORIES = 5
MIN_DURATION, MAX_DURATION = 5, 720
MAX_PRICE_MINOR = 100_000_000
MAX_BUFFER = 240
MAX_SLUG = 40

# Categories offered as buttons (their words: handlers/client_wording.category_label); others can be typed.
KNOWN_CATEGORIES = (
    "therapy",
    "psychology",
    "coaching",
    "career-coaching",
    "life-coaching",
    "consulting",
    "nutrition",
    "fitness",
    "language-tutoring",
    "legal",
)
# Languages offered as buttons; any other BCP 47 code ("pl", "pt-BR") can be typed.
COMMON_LANGUAGES = ("en", "uk", "ru", "de", "fr", "es", "pl", "it", "pt")
COMMON_CURRENCIES = ("EUR", "USD", "UAH", "GBP", "PLN")

# Cancellation terms a professional picks from (the rest of their policy stays as it is).
PRESETS: dict[str, dict[str, Any]] = {
    "flexible": {
        "free_cancellation_hours": 24,
        "late_cancellation_refund_percent": 0,
        "max_reschedules": 2,
        "no_show": NoShowRule.ONE_FREE_RESCHEDULE,
    },
    "moderate": {
        "free_cancellation_hours": 48,
        "late_cancellation_refund_percent": 50,
        "max_reschedules": 1,
        "no_show": NoShowRule.CHARGE_FULL,
    },
    "strict": {
        "free_cancellation_hours": 72,
        "late_cancellation_refund_percent": 0,
        "max_reschedules": 1,
        "no_show": NoShowRule.CHARGE_FULL,
    },
}


class ProfileInputError(DomainError):
    """Typed input that cannot be used. `problem`: "blank", "too_long" (`limit`), "link", "language",
    "category", "duration", "price", "decimals" (`limit` = the currency's decimals), "currency",
    "buffer", "too_many" (`limit`)."""

    def __init__(self, problem: str, limit: int = 0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.limit = limit


# --- parsing (pure) --------------------------------------------------------------------------------


def clean_text(text: str, limit: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ProfileInputError("blank")
    if len(cleaned) > limit:
        raise ProfileInputError("too_long", limit)
    return cleaned


def parse_link(text: str) -> str:
    """An https:// (or http://) address a client can open: the video room."""
    link = clean_text(text, MAX_LINK)
    parts = urlsplit(link)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(char.isspace() for char in link):
        raise ProfileInputError("link")
    return link


def language_code(text: str) -> str:
    """ "uk", "pt-BR", "EN" -> a BCP 47 tag Babel knows ("uk", "pt-BR", "en"); ProfileInputError otherwise."""
    piece = text.strip().replace("_", "-")
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", piece):
        raise ProfileInputError("language")
    try:
        Locale.parse(piece.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        raise ProfileInputError("language") from None
    head, _dash, rest = piece.partition("-")
    return head.lower() + (f"-{rest.upper() if len(rest) == 2 else rest}" if rest else "")


def parse_languages(text: str) -> list[str]:
    codes: list[str] = []
    for piece in re.split(r"[,;\s]+", text.strip()):
        if piece and (code := language_code(piece)) not in codes:
            codes.append(code)
    if not codes:
        raise ProfileInputError("blank")
    if len(codes) > MAX_LANGUAGES:
        raise ProfileInputError("too_many", MAX_LANGUAGES)
    return codes


def slugify(text: str, limit: int = MAX_SLUG) -> str:
    """ "Career coaching" -> "career-coaching"; letters outside a-z are dropped after taking accents off."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:limit].strip("-")


def parse_categories(text: str) -> list[str]:
    found: list[str] = []
    for piece in re.split(r"[,;\n]+", text):
        if not piece.strip():
            continue
        slug = slugify(piece)
        if not slug:
            raise ProfileInputError("category")
        if slug not in found:
            found.append(slug)
    if not found:
        raise ProfileInputError("blank")
    if len(found) > MAX_CATEGORIES:
        raise ProfileInputError("too_many", MAX_CATEGORIES)
    return found


_DURATION = re.compile(
    r"(?:(?P<h>\d{1,2})\s*(?:h|hr|hrs|hours?|год)\.?\s*)?(?:(?P<m>\d{1,3})\s*(?:m|min|mins|minutes?|хв)?\.?)?"
)


def parse_duration(text: str) -> int:
    """ "50", "50 min", "1h", "1 h 30", "1:30" -> minutes (5 to 720)."""
    piece = text.strip().lower()
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", piece)
    if clock:
        minutes = int(clock.group(1)) * 60 + int(clock.group(2))
    else:
        match = _DURATION.fullmatch(piece)
        if not piece or match is None or (match.group("h") is None and match.group("m") is None):
            raise ProfileInputError("duration")
        minutes = int(match.group("h") or 0) * 60 + int(match.group("m") or 0)
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise ProfileInputError("duration")
    return minutes


FREE_WORDS = frozenset({"0", "free", "безкоштовно", "бесплатно", "gratis", "kostenlos", "gratuit"})


def parse_price(text: str, currency: str) -> int:
    """ "60", "60.00", "60,50", "free" -> minor units of `currency`."""
    piece = text.strip().lower().replace(" ", "").replace("\u00a0", "")
    if piece in FREE_WORDS:
        return 0
    piece = piece.replace(",", ".")
    try:
        amount = Decimal(piece)
    except InvalidOperation:
        raise ProfileInputError("price") from None
    if not amount.is_finite() or amount < 0:
        raise ProfileInputError("price")
    precision = get_currency_precision(currency)
    minor = amount.scaleb(precision)
    if minor != minor.to_integral_value():
        raise ProfileInputError("decimals", precision)
    if minor > MAX_PRICE_MINOR:
        raise ProfileInputError("price")
    return int(minor)


def parse_currency(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or code not in list_currencies():
        raise ProfileInputError("currency")
    return code


def parse_buffers(text: str) -> tuple[int, int]:
    """ "10" -> (0, 10) (a break after each session); "5 10" -> (5, 10) (before, after)."""
    numbers = re.findall(r"-?\d+", text)
    leftover = re.sub(r"[-\d\s,;/]+|min|хв", "", text.lower())
    if not numbers or len(numbers) > 2 or leftover:
        raise ProfileInputError("buffer")
    values = [int(number) for number in numbers]
    if any(not 0 <= value <= MAX_BUFFER for value in values):
        raise ProfileInputError("buffer")
    return (0, values[0]) if len(values) == 1 else (values[0], values[1])


def share_link(bot_username: str, slug: str) -> str:
    """The link a professional gives clients: it opens their profile (handlers/catalog.py, `pro_`)."""
    return f"https://t.me/{bot_username}?start=pro_{slug}"


def qr_png(link: str) -> bytes:
    """A QR code of `link` as a PNG image (segno: pure Python)."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


# --- reading ---------------------------------------------------------------------------------------


def _json_length(column: Any) -> Any:
    # json_array_length exists on both SQLite (JSON1) and PostgreSQL (for json columns).
    return func.json_array_length(column)


def _filled(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), func.length(func.trim(column)) > 0)


def listable() -> list[ColumnElement[bool]]:
    """SQL conditions on Professional: the profile has every REQUIRED part (see missing_parts)."""
    active = and_(Service.professional_id == Professional.id, Service.active.is_(True))
    return [
        _filled(Professional.name),
        _filled(Professional.headline),
        _json_length(Professional.languages) > 0,
        _json_length(Professional.categories) > 0,
        exists().where(active),
        exists().where(WeeklyWindow.professional_id == Professional.id),
        or_(~exists().where(active, Service.mode == ServiceMode.VIDEO), _filled(Professional.video_link)),
        or_(~exists().where(active, Service.mode == ServiceMode.IN_PERSON), _filled(Professional.address)),
    ]


async def active_services(session: AsyncSession, professional: Professional) -> list[Service]:
    rows = await session.scalars(
        select(Service).where(Service.professional_id == professional.id, Service.active.is_(True)).order_by(Service.id)
    )
    return list(rows.all())


async def has_hours(session: AsyncSession, professional: Professional) -> bool:
    found = await session.scalar(
        select(WeeklyWindow.id).where(WeeklyWindow.professional_id == professional.id).limit(1)
    )
    return found is not None


def _blank(value: str | None) -> bool:
    return not (value or "").strip()


async def missing_parts(session: AsyncSession, professional: Professional) -> list[str]:
    """The REQUIRED parts this profile lacks, in setup order ([] = complete, can be listed once verified)."""
    services = await active_services(session, professional)
    modes = {service.mode for service in services}
    missing: list[str] = []
    if _blank(professional.name):
        missing.append(NAME)
    if _blank(professional.headline):
        missing.append(HEADLINE)
    if not professional.languages:
        missing.append(LANGUAGES)
    if not professional.categories:
        missing.append(CATEGORIES)
    if ServiceMode.VIDEO in modes and _blank(professional.video_link):
        missing.append(VIDEO_LINK)
    if ServiceMode.IN_PERSON in modes and _blank(professional.address):
        missing.append(ADDRESS)
    if not services:
        missing.append(SERVICES)
    if not await has_hours(session, professional):
        missing.append(HOURS)
    return missing


@dataclass(frozen=True)
class Standing:
    """Where a profile stands: what is missing, verified or not, listed or not."""

    missing: tuple[str, ...]
    verified: bool

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def listed(self) -> bool:
        return self.verified and self.complete


async def standing(session: AsyncSession, professional: Professional) -> Standing:
    return Standing(tuple(await missing_parts(session, professional)), professional.verified)


async def linked(session: AsyncSession, telegram_id: int) -> Professional | None:
    return await professional_of(session, telegram_id)


async def own_professional(session: AsyncSession, telegram_id: int) -> Professional:
    professional = await professional_of(session, telegram_id)
    if professional is None:
        raise NotFound("professional of chat", telegram_id)
    return professional


async def upcoming_bookings(session: AsyncSession, professional: Professional, *, now: datetime) -> list[Booking]:
    """Sessions not over yet that hold the professional's time (confirmed, or held and still waiting for
    payment), soonest first: what a professional linking their chat is told about once."""
    rows = await session.scalars(
        select(Booking)
        .options(selectinload(Booking.client), selectinload(Booking.service))
        .where(
            Booking.professional_id == professional.id,
            Booking.ends_at > now,
            or_(
                Booking.state == BookingState.CONFIRMED,
                and_(Booking.state == BookingState.HELD, Booking.hold_expires_at > now),
            ),
        )
        .order_by(Booking.starts_at, Booking.id)
    )
    return list(rows.all())


# --- creating --------------------------------------------------------------------------------------


async def free_slug(session: AsyncSession, wanted: str) -> str:
    base = slugify(wanted) or "pro"
    taken = set((await session.scalars(select(Professional.slug).where(Professional.slug.like(f"{base}%")))).all())
    if base not in taken:
        return base
    for number in range(2, 1000):
        if (candidate := f"{base}-{number}") not in taken:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


class SlugTaken(DomainError):
    pass


async def create_draft(session: AsyncSession, slug: str, *, zone: str = "UTC") -> Professional:
    """An empty, unverified profile an operator invites a newcomer to (`bookbot invite --new`): the
    newcomer fills it in from chat."""
    if slugify(slug) != slug or not slug:
        raise ValueError(f"{slug!r} is not a slug (lowercase letters, digits and dashes)")
    professional = Professional(slug=slug, name="", timezone=canonical_zone(zone), verified=False)
    try:
        async with session.begin_nested():
            session.add(professional)
    except IntegrityError:
        raise SlugTaken(slug) from None
    return professional


async def join(session: AsyncSession, user: User) -> tuple[Professional, bool]:
    """Self sign-up (SELF_SIGNUP=true, /join): the person's own new, unverified profile, linked to their
    chat; (profile, True) when it was made now, (their profile, False) when they have one already."""
    existing = await professional_of(session, user.telegram_id)
    if existing is not None:
        return existing, False
    professional = Professional(
        slug=await free_slug(session, user.first_name),
        name="",
        timezone=user.timezone or "UTC",
        telegram_id=user.telegram_id,
        verified=False,
    )
    try:
        async with session.begin_nested():
            session.add(professional)
    except IntegrityError:
        # The same person twice at once, or a slug taken meanwhile: the row that won is theirs or not.
        found = await professional_of(session, user.telegram_id)
        if found is None:
            raise
        return found, False
    return professional, True


async def after_linking(session: AsyncSession, professional: Professional, user: User) -> None:
    """One zone for a linked professional: /agenda, /hours and the notifications all read it.

    A profile with no services and no hours yet (a newcomer's) takes the zone the person chose; otherwise
    the person's zone becomes the profile's, whose hours are written in it."""
    if (
        user.timezone
        and not await active_services(session, professional)
        and not await has_hours(session, professional)
    ):
        professional.timezone = canonical_zone(user.timezone)
    user.timezone = professional.timezone
    user.country = zone_country(professional.timezone) or user.country


# --- changing --------------------------------------------------------------------------------------


def set_name(professional: Professional, text: str) -> None:
    professional.name = clean_text(text, MAX_NAME)


def set_headline(professional: Professional, text: str) -> None:
    professional.headline = clean_text(text, MAX_HEADLINE)


def set_bio(professional: Professional, text: str) -> None:
    professional.bio = clean_text(text, MAX_BIO)


def set_video_link(professional: Professional, text: str) -> None:
    professional.video_link = parse_link(text)


def set_address(professional: Professional, text: str) -> None:
    professional.address = clean_text(text, MAX_ADDRESS)


def set_access_notes(professional: Professional, text: str) -> None:
    professional.access_notes = clean_text(text, MAX_NOTES)


def set_languages(professional: Professional, codes: Sequence[str]) -> None:
    if len(codes) > MAX_LANGUAGES:
        raise ProfileInputError("too_many", MAX_LANGUAGES)
    professional.languages = [language_code(code) for code in codes]


def toggle(items: Iterable[str], item: str) -> list[str]:
    current = list(items)
    return [x for x in current if x != item] if item in current else [*current, item]


def set_categories(professional: Professional, slugs: Sequence[str]) -> None:
    if len(slugs) > MAX_CATEGORIES:
        raise ProfileInputError("too_many", MAX_CATEGORIES)
    if any(slugify(slug) != slug or not slug for slug in slugs):
        raise ProfileInputError("category")
    professional.categories = list(slugs)


def set_zone(professional: Professional, user: User | None, zone: str) -> str:
    """The professional's zone (their hours are read in it from now on) and, for the person whose chat
    it is, their own: one zone for /agenda, /hours and the notifications."""
    name = canonical_zone(zone)
    professional.timezone = name
    if user is not None and user.telegram_id == professional.telegram_id:
        user.timezone = name
        user.country = zone_country(name) or user.country
    return name


async def follow_person_zone(session: AsyncSession, user: User) -> Professional | None:
    """The person changed their zone (/settings): a linked professional's profile follows it."""
    professional = await professional_of(session, user.telegram_id)
    if professional is not None and user.timezone and professional.timezone != user.timezone:
        professional.timezone = canonical_zone(user.timezone)
        return professional
    return None


async def add_service(
    session: AsyncSession,
    professional: Professional,
    *,
    name: str,
    duration_minutes: int,
    price_minor: int,
    currency: str,
    mode: ServiceMode,
) -> Service:
    if len(await active_services(session, professional)) >= MAX_SERVICES:
        raise ProfileInputError("too_many", MAX_SERVICES)
    name = clean_text(name, MAX_SERVICE_NAME)
    if not MIN_DURATION <= duration_minutes <= MAX_DURATION:
        raise ProfileInputError("duration")
    if not 0 <= price_minor <= MAX_PRICE_MINOR:
        raise ProfileInputError("price")
    taken = set((await session.scalars(select(Service.slug).where(Service.professional_id == professional.id))).all())
    base = slugify(name) or "service"
    slug = base
    number = 2
    while slug in taken:
        slug = f"{base}-{number}"
        number += 1
    service = Service(
        professional_id=professional.id,
        slug=slug,
        name=name,
        duration_minutes=duration_minutes,
        price_minor=price_minor,
        currency=parse_currency(currency),
        mode=mode,
        active=True,
    )
    session.add(service)
    await session.flush()
    return service


async def retire_service(session: AsyncSession, professional: Professional, service_id: int) -> Service:
    """No longer offered (bookings made keep it); NotFound / NotAllowed for another's or a gone one."""
    service = await session.get(Service, service_id)
    if service is None or not service.active:
        raise NotFound("service", service_id)
    if service.professional_id != professional.id:
        raise NotAllowed(f"service {service_id} is not this professional's")
    service.active = False
    await session.flush()
    return service


async def set_days_hours(
    session: AsyncSession,
    professional: Professional,
    weekdays: Iterable[int],
    windows: Sequence[Window],
    *,
    now: datetime,
) -> list[Booking]:
    """The same hours on each of these weekdays; returns the sessions outside the hours afterwards."""
    outside: list[Booking] = []
    for weekday in sorted(set(weekdays)):
        outside = await schedule.set_weekday_hours(session, professional, weekday, windows, now=now)
    return outside


def apply_preset(professional: Professional, preset: str) -> Policy:
    """Set the cancellation terms of a preset; new bookings get them, bookings made keep theirs."""
    if preset not in PRESETS:
        raise NotFound("policy preset", preset)
    policy = replace(Policy.of(professional), **PRESETS[preset])
    for name, value in policy.as_columns().items():
        setattr(professional, name, value)
    return policy


def preset_of(professional: Professional) -> str | None:
    policy = Policy.of(professional)
    for name, values in PRESETS.items():
        if all(getattr(policy, key) == value for key, value in values.items()):
            return name
    return None


def set_buffers(professional: Professional, before: int, after: int) -> None:
    if not (0 <= before <= MAX_BUFFER and 0 <= after <= MAX_BUFFER):
        raise ProfileInputError("buffer")
    professional.buffer_before_minutes = before
    professional.buffer_after_minutes = after
