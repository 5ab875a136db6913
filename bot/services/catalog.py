"""Catalog import: professionals, their hours and what they offer, from a YAML file (examples/catalog.yaml).

Two steps, so that a bad file writes nothing:

1. `load_catalog` / `parse_catalog` read the file into plain dataclasses, checking everything that can
   be checked without the database. The YAML is walked as nodes (not loaded into plain dicts) so every
   value still knows its line, and every error says where it is.
2. `import_catalog` writes it all in one transaction: records matched by slug and updated in place,
   services and packages no longer in the file deactivated (bookings refer to them), and a
   professional's weekly hours, date overrides and time off made exactly what the file says.

Only rows that differ are touched, so importing the same file again changes nothing, ids included.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml
from babel import localedata
from babel.numbers import get_currency_precision, is_currency
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.services.errors import CatalogError, InvalidTimeZone
from bot.services.timezones import canonical_zone
from models import (
    DateOverride,
    NoShowRule,
    OverrideWindow,
    Package,
    Professional,
    Service,
    ServiceMode,
    TimeOff,
    WeeklyWindow,
)

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# PostgreSQL's INTEGER, which holds prices in minor units.
MAX_MINOR = 2**31 - 1
MAX_TELEGRAM_ID = 2**63 - 1

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_PROFESSIONAL_SLUG = 64 - len("pro_")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
_WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_URL = re.compile(r"https?://\S+")
# Serialises concurrent imports on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).
_IMPORT_LOCK = 0x626F6F6B626F74  # "bookbot"


# --- what a file says ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Fields named exactly as the Professional columns they fill."""

    free_cancellation_hours: int = 24
    late_cancellation_refund_percent: int = 0
    max_reschedules: int = 1
    no_show: NoShowRule = NoShowRule.CHARGE_FULL
    min_notice_minutes: int = 60
    booking_horizon_days: int = 60
    hold_minutes: int = 30


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
    windows: tuple[tuple[int, int], ...]  # minutes after local midnight; empty = a day off


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


@dataclass(frozen=True)
class Catalog:
    source: str  # the file as the operator named it, for messages
    professionals: tuple[ProfessionalSpec, ...]


@dataclass(frozen=True)
class ImportSummary:
    professionals_new: int = 0
    professionals_updated: int = 0
    professionals_unchanged: int = 0
    services: int = 0
    packages: int = 0
    # Active before this import, no longer in the file: kept for their bookings, not offered.
    services_retired: int = 0
    packages_retired: int = 0

    @property
    def professionals(self) -> int:
        return self.professionals_new + self.professionals_updated + self.professionals_unchanged


# --- reading the file ----------------------------------------------------------------------------


def load_catalog(path: Path, shown: str | None = None) -> Catalog:
    """Read and check the catalog at `path`; CatalogError (with the line where there is one) otherwise.

    `shown` is how messages name the file (default: `path` as given).
    """
    name = shown if shown is not None else str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError("no such file", path=name) from None
    except IsADirectoryError:
        raise CatalogError("is a directory, not a catalog file", path=name) from None
    except OSError as exc:
        raise CatalogError(f"cannot read it: {exc.strerror or exc}", path=name) from None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CatalogError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line, name) from None
    return parse_catalog(content, name)


def parse_catalog(content: str, source: str = "catalog") -> Catalog:
    """Check a catalog's text and return what it says; CatalogError naming `source` and the line otherwise."""
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise CatalogError(*_yaml_problem(exc), source) from None
    except yaml.reader.ReaderError as exc:
        line = content[: exc.position].count("\n") + 1
        raise CatalogError(f"invalid YAML: {exc.reason} (character {exc.character!r})", line, source) from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"invalid YAML: {exc}", path=source) from None
    if root is None:
        raise CatalogError("the file is empty: it needs a list of professionals", path=source)
    return _Reader(source).catalog(root)


def _yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[str, int | None]:
    """PyYAML's message and line; the construct it was reading, when that began on another line."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = f"invalid YAML: {exc.problem or exc.context or 'unreadable'}"
    if exc.problem and exc.context and exc.context_mark is not None:
        started = exc.context_mark.line + 1
        message += f" ({exc.context} that starts on line {started})" if started != line else f" ({exc.context})"
    return message, line


T = TypeVar("T")
D = TypeVar("D")
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"


def _line(node: yaml.Node) -> int | None:
    return node.start_mark.line + 1 if node.start_mark is not None else None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _kind(node: yaml.Node) -> str:
    if node.tag == _NULL:
        return "nothing"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    written = str(node.value)
    if len(written) > 60:
        written = written[:57] + "..."
    # As written: quoted if YAML read it as text, bare if as a number, date or the like.
    return f'"{written}"' if node.tag == _STR else written


@dataclass
class _Fields:
    """One YAML mapping: its node, and each key's (key node, value node)."""

    node: yaml.MappingNode
    items: dict[str, tuple[yaml.Node, yaml.Node]]
    what: str  # "professional", "service", ...: names the mapping in a "missing key" message

    def get(self, key: str) -> yaml.Node | None:
        found = self.items.get(key)
        return found[1] if found else None

    def has_value(self, key: str) -> bool:
        node = self.get(key)
        return node is not None and node.tag != _NULL


class _Reader:
    """Walks the composed YAML, turning nodes into typed values and raising CatalogError with lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()
        # Mappings already checked and merged: an alias can bring one node back, and merging twice
        # would make the merged keys look given twice.
        self.merged: set[int] = set()

    def fail(self, node: yaml.Node | None, message: str) -> NoReturn:
        raise CatalogError(message, _line(node) if node is not None else None, self.source)

    # -- shapes ------------------------------------------------------------------------------------

    def mapping(self, node: yaml.Node, label: str, what: str, allowed: Sequence[str]) -> _Fields:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{label}: expected a mapping of keys to values, got {_kind(node)}")
        if id(node) not in self.merged:
            seen: dict[str, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.key(key_node, label)
                if key in seen:
                    self.fail(key_node, f"{key}: given twice (first on line {_line(seen[key])})")
                seen[key] = key_node
            try:
                self.constructor.flatten_mapping(node)  # YAML merge keys ("<<: *defaults")
            except yaml.MarkedYAMLError as exc:
                self.fail(node, f"{label}: {exc.problem}")
            self.merged.add(id(node))
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, label)
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else f" (known: {', '.join(allowed)})"
                self.fail(key_node, f'unknown key "{key}" in {label}{hint}')
            items[key] = (key_node, value_node)
        return _Fields(node, items, what)

    def key(self, node: yaml.Node, label: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            self.fail(node, f"{label}: keys must be names, got {_kind(node)}")
        return str(node.value)

    def sequence(self, node: yaml.Node, label: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{label}: expected a list, got {_kind(node)}")
        return list(node.value)

    def scalar(self, node: yaml.Node, label: str) -> object:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{label}: expected a single value, got {_kind(node)}")
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            if node.tag == "tag:yaml.org,2002:timestamp":
                self.fail(node, f"{label}: {node.value} is not a valid date")
            self.fail(node, f"{label}: {_kind(node)} cannot be read as {node.tag.rsplit(':', 1)[-1]}")

    def required(self, fields: _Fields, key: str, read: Callable[[yaml.Node, str], T]) -> T:
        node = fields.get(key)
        if node is None:
            self.fail(fields.node, f'{fields.what}: missing "{key}"')
        if node.tag == _NULL:
            self.fail(node, f"{key}: needs a value")
        return read(node, key)

    def optional(self, fields: _Fields, key: str, read: Callable[[yaml.Node, str], T], default: D) -> T | D:
        if not fields.has_value(key):
            return default
        node = fields.get(key)
        assert node is not None
        return read(node, key)

    # -- values -----------------------------------------------------------------------------------

    def text(self, node: yaml.Node, label: str, max_length: int | None = None, blank_ok: bool = False) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str):
            self.fail(node, f"{label}: expected text, got {_kind(node)} (quote it)")
        value = value.strip()
        if not value and not blank_ok:
            self.fail(node, f"{label}: must not be empty")
        if max_length is not None and len(value) > max_length:
            self.fail(node, f"{label}: longer than {max_length} characters")
        return value

    def slug(self, node: yaml.Node, label: str) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str) or not _SLUG.fullmatch(value):
            self.fail(
                node,
                f"{label}: {_kind(node)} is not a slug (lowercase letters, digits and hyphens, "
                "starting with a letter or digit, at most 64)",
            )
        return value

    def integer(self, node: yaml.Node, label: str, low: int, high: int) -> int:
        value = self.scalar(node, label)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, f"{label}: expected a whole number, got {_kind(node)}")
        if not low <= value <= high:
            self.fail(node, f"{label}: {value} is not between {low} and {high}")
        return value

    def ranged(self, low: int, high: int) -> Callable[[yaml.Node, str], int]:
        return lambda node, label: self.integer(node, label, low, high)

    def price_in(self, currency: str) -> Callable[[yaml.Node, str], int]:
        return lambda node, label: self.money(node, label, currency)

    def boolean(self, node: yaml.Node, label: str) -> bool:
        value = self.scalar(node, label)
        if not isinstance(value, bool):
            self.fail(node, f"{label}: expected true or false, got {_kind(node)}")
        return value

    def day(self, node: yaml.Node, label: str) -> date:
        value = self.scalar(node, label)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        self.fail(node, f"{label}: {_kind(node)} is not a date (YYYY-MM-DD)")

    def choice(self, node: yaml.Node, label: str, choices: Sequence[str]) -> str:
        value = self.scalar(node, label)
        if value not in choices:
            self.fail(node, f"{label}: {_kind(node)} is not one of {' | '.join(choices)}")
        assert isinstance(value, str)
        return value

    def strings(self, node: yaml.Node, label: str, check: Callable[[str], bool], expected: str) -> tuple[str, ...]:
        found: dict[str, yaml.Node] = {}
        for item in self.sequence(node, label):
            value = self.scalar(item, label)
            if not isinstance(value, str) or not check(value):
                self.fail(item, f"{label}: {_kind(item)} is not {expected}")
            if value in found:
                self.fail(item, f'{label}: "{value}" is listed twice')
            found[value] = item
        return tuple(found)

    def currency(self, node: yaml.Node, label: str) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
            self.fail(node, f"{label}: {_kind(node)} is not an ISO 4217 currency code such as EUR")
        if value != value.upper():
            self.fail(node, f'{label}: "{value}" must be in capitals: {value.upper()}')
        if not is_currency(value):
            self.fail(node, f'{label}: "{value}" is not an ISO 4217 currency code')
        return value

    def money(self, node: yaml.Node, label: str, currency: str) -> int:
        """A price in the currency's major unit ("60.00", or a plain number) -> integer minor units."""
        value = self.scalar(node, label)
        amount: Decimal | None = None
        if isinstance(value, str):
            try:
                amount = Decimal(value.strip())
            except InvalidOperation:
                amount = None
        elif isinstance(value, int) and not isinstance(value, bool):
            amount = Decimal(value)
        elif isinstance(value, float):
            # The text as written: the float has already lost "60.10"'s exactness.
            try:
                amount = Decimal(str(node.value).replace("_", ""))
            except InvalidOperation:
                amount = None
        if amount is None or not amount.is_finite():
            self.fail(node, f'{label}: {_kind(node)} is not an amount of money such as "60.00"')
        if amount < 0:
            self.fail(node, f"{label}: {_kind(node)} is negative")
        precision = get_currency_precision(currency)
        minor = amount.scaleb(precision)
        if minor != minor.to_integral_value():
            self.fail(node, f"{label}: {_kind(node)} has more decimals than {currency} allows ({precision})")
        if minor > MAX_MINOR:
            self.fail(node, f"{label}: {_kind(node)} is too large")
        return int(minor)

    def window(self, node: yaml.Node, label: str) -> tuple[int, int]:
        value = self.scalar(node, label)
        match = _WINDOW.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            self.fail(node, f"{label}: window {_kind(node)} is not HH:MM-HH:MM")
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        if start_h > 23 or start_m > 59:
            self.fail(node, f'{label}: window "{value}" starts at no time of day (00:00 to 23:59)')
        if end_h > 24 or end_m > 59 or (end_h == 24 and end_m != 0):
            self.fail(node, f'{label}: window "{value}" ends at no time of day (00:01 to 24:00)')
        starts, ends = start_h * 60 + start_m, end_h * 60 + end_m
        if starts == ends:
            self.fail(node, f'{label}: window "{value}" is empty')
        if starts > ends:
            self.fail(
                node,
                f'{label}: window "{value}" ends before it starts '
                "(a window cannot cross midnight: end one at 24:00 and start the next day at 00:00)",
            )
        return starts, ends

    def windows(self, node: yaml.Node, label: str) -> tuple[tuple[int, int], ...]:
        read = [(self.window(item, label), item) for item in self.sequence(node, label)]
        ordered = sorted(read, key=lambda pair: pair[0])
        for (before, _), (after, after_node) in pairwise(ordered):
            if after[0] < before[1]:
                self.fail(
                    after_node,
                    f'{label}: windows "{_clock(before[0])}-{_clock(before[1])}" and '
                    f'"{_clock(after[0])}-{_clock(after[1])}" overlap',
                )
        return tuple(window for window, _ in ordered)

    # -- the catalog ------------------------------------------------------------------------------

    def catalog(self, root: yaml.Node) -> Catalog:
        top = self.mapping(root, "the file", "the file", ["professionals"])
        node = top.get("professionals")
        if node is None:
            self.fail(root, 'the file: missing "professionals" (a list of professionals)')
        items = self.sequence(node, "professionals")
        if not items:
            self.fail(node, "professionals: the list is empty")
        professionals: list[ProfessionalSpec] = []
        slugs: dict[str, int | None] = {}
        telegram_ids: dict[int, str] = {}
        for item in items:
            pro = self.professional(item)
            if pro.slug in slugs:
                self.fail(item, f'slug: "{pro.slug}" is used twice (first on line {slugs[pro.slug]})')
            slugs[pro.slug] = pro.line
            if pro.telegram_id is not None:
                if pro.telegram_id in telegram_ids:
                    raise CatalogError(
                        f'telegram_id: {pro.telegram_id} is given to "{telegram_ids[pro.telegram_id]}" too',
                        pro.telegram_id_line,
                        self.source,
                    )
                telegram_ids[pro.telegram_id] = pro.slug
            professionals.append(pro)
        return Catalog(self.source, tuple(professionals))

    def professional(self, node: yaml.Node) -> ProfessionalSpec:
        f = self.mapping(node, "professional", "professional", _PROFESSIONAL_KEYS)
        slug = self.required(f, "slug", self.slug)
        if len(slug) > MAX_PROFESSIONAL_SLUG:
            # The professional's own link is /start pro_<slug>, and Telegram takes at most 64 characters.
            self.fail(f.get("slug"), f"slug: at most {MAX_PROFESSIONAL_SLUG} characters, so the link pro_{slug} fits")
        f.what = f'professional "{slug}"'
        name = self.required(f, "name", lambda n, k: self.text(n, k, 200))
        headline = self.optional(f, "headline", lambda n, k: self.text(n, k, 300, blank_ok=True), "")
        bio = self.optional(f, "bio", lambda n, k: self.text(n, k, blank_ok=True), "")
        verified = self.optional(f, "verified", self.boolean, False)
        telegram_node = f.get("telegram_id") if f.has_value("telegram_id") else None
        telegram_id = self.optional(f, "telegram_id", self.telegram_id, None)
        timezone = self.required(f, "timezone", self.timezone)
        languages = self.optional(
            f,
            "languages",
            lambda n, k: self.strings(n, k, _is_language, "a language code such as en, uk or pt-BR"),
            (),
        )
        categories = self.optional(
            f, "categories", lambda n, k: self.strings(n, k, _is_slug, "a category slug such as career-coaching"), ()
        )
        address: str | None = None
        access_notes: str | None = None
        if f.has_value("location"):
            location_node = f.get("location")
            assert location_node is not None
            loc = self.mapping(location_node, "location", "location", ["address", "access_notes"])
            address = self.required(loc, "address", lambda n, k: self.text(n, k))
            access_notes = self.optional(loc, "access_notes", lambda n, k: self.text(n, k, blank_ok=True), None) or None
        video_link = self.optional(f, "video_link", self.url, None)
        policy = Policy()
        if f.has_value("policy"):
            policy_node = f.get("policy")
            assert policy_node is not None
            policy = self.policy(policy_node)
        services = self.optional(
            f, "services", lambda n, k: self.services(n, k, address=address, video_link=video_link), ()
        )
        service_slugs = [service.slug for service in services]
        return ProfessionalSpec(
            slug=slug,
            line=_line(node),
            name=name,
            headline=headline,
            bio=bio,
            verified=verified,
            telegram_id=telegram_id,
            telegram_id_line=_line(telegram_node) if telegram_node is not None else None,
            timezone=timezone,
            languages=languages,
            categories=categories,
            address=address,
            access_notes=access_notes,
            video_link=video_link,
            policy=policy,
            buffer_before_minutes=self.optional(f, "buffer_before_minutes", self.ranged(0, MINUTES_PER_DAY), 0),
            buffer_after_minutes=self.optional(f, "buffer_after_minutes", self.ranged(0, MINUTES_PER_DAY), 0),
            slot_step_minutes=self.optional(f, "slot_step_minutes", self.ranged(1, MINUTES_PER_DAY), None),
            weekly=self.optional(f, "weekly_hours", self.weekly_hours, ()),
            overrides=self.optional(f, "date_overrides", self.date_overrides, ()),
            time_off=self.optional(f, "time_off", self.time_off, ()),
            services=services,
            packages=self.optional(f, "packages", lambda n, k: self.packages(n, k, service_slugs), ()),
        )

    def timezone(self, node: yaml.Node, label: str) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str):
            self.fail(node, f"{label}: expected an IANA time zone such as Europe/Kyiv, got {_kind(node)}")
        try:
            return canonical_zone(value)
        except InvalidTimeZone:
            self.fail(node, f'{label}: unknown time zone "{value}" (use an IANA name such as Europe/Kyiv)')

    def telegram_id(self, node: yaml.Node, label: str) -> int:
        value = self.scalar(node, label)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TELEGRAM_ID:
            self.fail(node, f"{label}: {_kind(node)} is not a Telegram user id (a positive whole number) or null")
        return value

    def url(self, node: yaml.Node, label: str) -> str:
        value = self.text(node, label, 500)
        if not _URL.fullmatch(value):
            self.fail(node, f'{label}: "{value}" is not an http:// or https:// link')
        return value

    def policy(self, node: yaml.Node) -> Policy:
        f = self.mapping(node, "policy", "policy", [item.name for item in fields(Policy)])
        defaults = Policy()
        no_show = self.optional(f, "no_show", lambda n, k: self.choice(n, k, [r.value for r in NoShowRule]), None)
        return Policy(
            free_cancellation_hours=self.optional(
                f, "free_cancellation_hours", self.ranged(0, 366 * 24), defaults.free_cancellation_hours
            ),
            late_cancellation_refund_percent=self.optional(
                f, "late_cancellation_refund_percent", self.ranged(0, 100), defaults.late_cancellation_refund_percent
            ),
            max_reschedules=self.optional(f, "max_reschedules", self.ranged(0, 100), defaults.max_reschedules),
            no_show=NoShowRule(no_show) if no_show is not None else defaults.no_show,
            min_notice_minutes=self.optional(
                f, "min_notice_minutes", self.ranged(0, 366 * MINUTES_PER_DAY), defaults.min_notice_minutes
            ),
            booking_horizon_days=self.optional(
                f, "booking_horizon_days", self.ranged(1, 3660), defaults.booking_horizon_days
            ),
            hold_minutes=self.optional(f, "hold_minutes", self.ranged(1, MINUTES_PER_DAY), defaults.hold_minutes),
        )

    def weekly_hours(self, node: yaml.Node, label: str) -> tuple[tuple[int, int, int], ...]:
        f = self.mapping(node, label, label, WEEKDAYS)
        weekly: list[tuple[int, int, int]] = []
        for weekday, name in enumerate(WEEKDAYS):
            day_node = f.get(name)
            if day_node is not None:
                weekly.extend((weekday, starts, ends) for starts, ends in self.windows(day_node, name))
        return tuple(weekly)

    def date_overrides(self, node: yaml.Node, label: str) -> tuple[OverrideSpec, ...]:
        found: dict[date, yaml.Node] = {}
        overrides: list[OverrideSpec] = []
        for item in self.sequence(node, label):
            f = self.mapping(item, "date override", "date override", ["date", "hours"])
            on_date = self.required(f, "date", self.day)
            if on_date in found:
                self.fail(f.get("date"), f"date: {on_date} is overridden twice (first on line {_line(found[on_date])})")
            found[on_date] = item
            overrides.append(OverrideSpec(on_date, self.required(f, "hours", self.windows)))
        return tuple(sorted(overrides, key=lambda override: override.on_date))

    def time_off(self, node: yaml.Node, label: str) -> tuple[tuple[date, date], ...]:
        ranges: list[tuple[date, date, yaml.Node]] = []
        for item in self.sequence(node, label):
            f = self.mapping(item, "time off", "time off", ["from", "to"])
            first = self.required(f, "from", self.day)
            last = self.required(f, "to", self.day)
            if last < first:
                self.fail(f.get("to"), f"to: {last} is before from: {first}")
            ranges.append((first, last, item))
        ranges.sort(key=lambda entry: (entry[0], entry[1]))
        for before, after in pairwise(ranges):
            if after[0] <= before[1]:
                self.fail(
                    after[2], f"time_off: {after[0]} to {after[1]} overlaps {before[0]} to {before[1]}: merge them"
                )
        return tuple((first, last) for first, last, _ in ranges)

    def services(
        self, node: yaml.Node, label: str, *, address: str | None, video_link: str | None
    ) -> tuple[ServiceSpec, ...]:
        services: list[ServiceSpec] = []
        for f, slug in self.records(node, label, "service", _SERVICE_KEYS):
            currency = self.required(f, "currency", self.currency)
            mode = ServiceMode(self.required(f, "mode", lambda n, k: self.choice(n, k, [m.value for m in ServiceMode])))
            if mode is ServiceMode.VIDEO and video_link is None:
                self.fail(f.get("mode"), f'mode: service "{slug}" is by video but the professional has no video_link')
            if mode is ServiceMode.IN_PERSON and address is None:
                self.fail(
                    f.get("mode"), f'mode: service "{slug}" is in person but the professional has no location.address'
                )
            services.append(
                ServiceSpec(
                    slug=slug,
                    name=self.required(f, "name", lambda n, k: self.text(n, k, 200)),
                    duration_minutes=self.required(f, "duration_minutes", self.ranged(1, MINUTES_PER_DAY)),
                    price_minor=self.required(f, "price", self.price_in(currency)),
                    currency=currency,
                    mode=mode,
                )
            )
        return tuple(services)

    def packages(self, node: yaml.Node, label: str, service_slugs: Sequence[str]) -> tuple[PackageSpec, ...]:
        packages: list[PackageSpec] = []
        for f, slug in self.records(node, label, "package", _PACKAGE_KEYS):
            service = self.required(f, "service", self.slug)
            if service not in service_slugs:
                known = ", ".join(service_slugs) or "none"
                self.fail(f.get("service"), f'service: "{service}" is not a service of this professional ({known})')
            currency = self.required(f, "currency", self.currency)
            packages.append(
                PackageSpec(
                    slug=slug,
                    name=self.required(f, "name", lambda n, k: self.text(n, k, 200)),
                    service=service,
                    sessions=self.required(f, "sessions", self.ranged(1, 1000)),
                    price_minor=self.required(f, "price", self.price_in(currency)),
                    currency=currency,
                    valid_days=self.required(f, "valid_days", self.ranged(1, 3660)),
                )
            )
        return tuple(packages)

    def records(self, node: yaml.Node, label: str, what: str, allowed: Sequence[str]) -> Iterator[tuple[_Fields, str]]:
        """Each mapping of a list of records with its slug, refusing a slug used twice in the list."""
        seen: dict[str, yaml.Node] = {}
        for item in self.sequence(node, label):
            f = self.mapping(item, what, what, allowed)
            slug = self.required(f, "slug", self.slug)
            if slug in seen:
                self.fail(f.get("slug"), f'slug: {what} "{slug}" is listed twice (first on line {_line(seen[slug])})')
            seen[slug] = item
            f.what = f'{what} "{slug}"'
            yield f, slug


_PROFESSIONAL_KEYS = (
    "slug",
    "name",
    "headline",
    "bio",
    "verified",
    "telegram_id",
    "timezone",
    "languages",
    "categories",
    "location",
    "video_link",
    "policy",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "slot_step_minutes",
    "weekly_hours",
    "date_overrides",
    "time_off",
    "services",
    "packages",
)
_SERVICE_KEYS = ("slug", "name", "duration_minutes", "price", "currency", "mode")
_PACKAGE_KEYS = ("slug", "name", "service", "sessions", "price", "currency", "valid_days")


def _is_slug(value: str) -> bool:
    return _SLUG.fullmatch(value) is not None


def _is_language(value: str) -> bool:
    return _LANGUAGE.fullmatch(value) is not None and localedata.exists(value.replace("-", "_"))


# Stripe refuses a Checkout Session that expires sooner than 30 minutes after it is made, and the
# session lasts as long as the hold: a shorter hold could never be paid through Stripe.
STRIPE_MIN_HOLD_MINUTES = 30


def check_holds_for_stripe(catalog: Catalog, source: str) -> None:
    """CatalogError naming each professional whose hold is too short to pay through Stripe Checkout."""
    short = [spec for spec in catalog.professionals if spec.policy.hold_minutes < STRIPE_MIN_HOLD_MINUTES]
    if short:
        names = ", ".join(f"{spec.slug} ({spec.policy.hold_minutes})" for spec in short)
        raise CatalogError(
            f"hold_minutes must be at least {STRIPE_MIN_HOLD_MINUTES} when payments go through Stripe "
            f"(STRIPE_SECRET_KEY is set; a Checkout Session lasts at least 30 minutes), but is less for: {names}",
            path=source,
        )


# --- writing it ----------------------------------------------------------------------------------


async def import_file(sessions: async_sessionmaker[AsyncSession], path: Path) -> ImportSummary:
    """Import the catalog at `path` in one transaction; CatalogError (nothing written) if anything is wrong."""
    catalog = await asyncio.to_thread(load_catalog, path)
    return await import_catalog(sessions, catalog)


async def import_catalog(sessions: async_sessionmaker[AsyncSession], catalog: Catalog) -> ImportSummary:
    """Write a checked catalog in one transaction (all or nothing)."""
    async with sessions.begin() as session:
        return await _write(session, catalog)


async def _write(session: AsyncSession, catalog: Catalog) -> ImportSummary:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})
    slugs = [spec.slug for spec in catalog.professionals]
    rows = await session.scalars(
        select(Professional)
        .where(Professional.slug.in_(slugs))
        .options(
            selectinload(Professional.services),
            selectinload(Professional.packages),
            selectinload(Professional.weekly_windows),
            selectinload(Professional.date_overrides).selectinload(DateOverride.windows),
            selectinload(Professional.time_off),
        )
    )
    existing = {pro.slug: pro for pro in rows}
    await _check_telegram_ids(session, catalog)
    await _release_telegram_ids(session, catalog, existing)

    counts = dict.fromkeys((item.name for item in fields(ImportSummary)), 0)
    for spec in catalog.professionals:
        pro = existing.get(spec.slug)
        if pro is None:
            # Empty collections set now stay loaded across the flush in _fill; untouched ones would
            # lazy-load afterwards, which async sessions cannot do.
            pro = Professional(
                slug=spec.slug, services=[], packages=[], weekly_windows=[], date_overrides=[], time_off=[]
            )
            session.add(pro)
            counts["professionals_new"] += 1
            await _fill(session, pro, spec, counts)
        elif await _fill(session, pro, spec, counts):
            counts["professionals_updated"] += 1
        else:
            counts["professionals_unchanged"] += 1
        counts["services"] += len(spec.services)
        counts["packages"] += len(spec.packages)
    await session.flush()
    return ImportSummary(**counts)


async def _check_telegram_ids(session: AsyncSession, catalog: Catalog) -> None:
    """A telegram_id the file gives must not stay with another professional after the import."""
    wanted = {spec.telegram_id: spec for spec in catalog.professionals if spec.telegram_id is not None}
    if not wanted:
        return
    holders = await session.execute(
        select(Professional.slug, Professional.telegram_id).where(Professional.telegram_id.in_(list(wanted)))
    )
    in_file = {spec.slug: spec for spec in catalog.professionals}
    for holder, telegram_id in holders:
        assert telegram_id is not None  # selected by it
        spec = wanted[telegram_id]
        if holder == spec.slug:
            continue
        other = in_file.get(holder)
        if other is not None and other.telegram_id is not None:
            continue  # the file moves the holder to another id: released before it is given away
        raise CatalogError(
            f'telegram_id: {telegram_id} already belongs to professional "{holder}"',
            spec.telegram_id_line,
            catalog.source,
        )


async def _release_telegram_ids(session: AsyncSession, catalog: Catalog, existing: dict[str, Professional]) -> None:
    """Clear ids that move, first, so a swap between two professionals never trips the unique constraint."""
    moving = [
        pro
        for spec in catalog.professionals
        if (pro := existing.get(spec.slug)) is not None
        and spec.telegram_id is not None
        and pro.telegram_id not in (None, spec.telegram_id)
    ]
    for pro in moving:
        pro.telegram_id = None
    if moving:
        await session.flush()


def _set(row: object, name: str, value: object) -> bool:
    """Assign only what differs, so an unchanged import issues no UPDATE; True if it changed."""
    if getattr(row, name) == value:
        return False
    setattr(row, name, value)
    return True


def _assign(row: object, values: dict[str, Any]) -> bool:
    changed = [_set(row, name, value) for name, value in values.items()]
    return any(changed)


async def _fill(session: AsyncSession, pro: Professional, spec: ProfessionalSpec, counts: dict[str, int]) -> bool:
    """Make `pro` say what `spec` says; True if anything about it changed."""
    values: dict[str, Any] = {
        "name": spec.name,
        "headline": spec.headline,
        "bio": spec.bio,
        "verified": spec.verified,
        "timezone": spec.timezone,
        "languages": list(spec.languages),
        "categories": list(spec.categories),
        "address": spec.address,
        "access_notes": spec.access_notes,
        "video_link": spec.video_link,
        "buffer_before_minutes": spec.buffer_before_minutes,
        "buffer_after_minutes": spec.buffer_after_minutes,
        "slot_step_minutes": spec.slot_step_minutes,
    }
    values.update({item.name: getattr(spec.policy, item.name) for item in fields(Policy)})
    if spec.telegram_id is not None:
        values["telegram_id"] = spec.telegram_id
    changed = _assign(pro, values)
    changed = _sync_weekly(pro, spec) or changed
    changed = _sync_overrides(pro, spec) or changed
    changed = _sync_time_off(pro, spec) or changed
    changed = _sync_services(pro, spec, counts) or changed
    # Packages refer to services by id: new services need theirs first.
    await session.flush()
    changed = _sync_packages(pro, spec, counts) or changed
    return changed


def _sync_weekly(pro: Professional, spec: ProfessionalSpec) -> bool:
    wanted = set(spec.weekly)
    kept: set[tuple[int, int, int]] = set()
    changed = False
    for row in list(pro.weekly_windows):
        key = (row.weekday, row.starts, row.ends)
        if key in wanted and key not in kept:
            kept.add(key)
        else:
            pro.weekly_windows.remove(row)
            changed = True
    for weekday, starts, ends in spec.weekly:
        if (weekday, starts, ends) not in kept:
            pro.weekly_windows.append(WeeklyWindow(weekday=weekday, starts=starts, ends=ends))
            changed = True
    return changed


def _sync_windows(override: DateOverride, windows: Sequence[tuple[int, int]]) -> bool:
    wanted = set(windows)
    kept: set[tuple[int, int]] = set()
    changed = False
    for row in list(override.windows):
        key = (row.starts, row.ends)
        if key in wanted and key not in kept:
            kept.add(key)
        else:
            override.windows.remove(row)
            changed = True
    for starts, ends in windows:
        if (starts, ends) not in kept:
            override.windows.append(OverrideWindow(starts=starts, ends=ends))
            changed = True
    return changed


def _sync_overrides(pro: Professional, spec: ProfessionalSpec) -> bool:
    wanted = {override.on_date: override for override in spec.overrides}
    kept: dict[date, DateOverride] = {}
    changed = False
    for row in list(pro.date_overrides):
        if row.on_date in wanted and row.on_date not in kept:
            kept[row.on_date] = row
        else:
            pro.date_overrides.remove(row)
            changed = True
    for override in spec.overrides:
        row_found = kept.get(override.on_date)
        if row_found is None:
            row_found = DateOverride(on_date=override.on_date)
            pro.date_overrides.append(row_found)
            changed = True
        changed = _sync_windows(row_found, override.windows) or changed
    return changed


def _sync_time_off(pro: Professional, spec: ProfessionalSpec) -> bool:
    wanted = set(spec.time_off)
    kept: set[tuple[date, date]] = set()
    changed = False
    for row in list(pro.time_off):
        key = (row.first_day, row.last_day)
        if key in wanted and key not in kept:
            kept.add(key)
        else:
            pro.time_off.remove(row)
            changed = True
    for first, last in spec.time_off:
        if (first, last) not in kept:
            pro.time_off.append(TimeOff(first_day=first, last_day=last))
            changed = True
    return changed


_Offered = TypeVar("_Offered", Service, Package)


def _sync_offered(
    rows: list[_Offered],
    wanted: dict[str, dict[str, Any]],
    make: Callable[..., _Offered],
    retired_key: str,
    counts: dict[str, int],
) -> bool:
    """Upsert the services (or packages) the file lists, by slug; retire the ones it no longer lists.
    Retired rows stay: bookings and credits refer to them."""
    by_slug = {row.slug: row for row in rows}
    changed = False
    for slug, values in wanted.items():
        row = by_slug.get(slug)
        if row is None:
            rows.append(make(slug=slug, **values, active=True))
            changed = True
        else:
            changed = _assign(row, values | {"active": True}) or changed
    for row in rows:
        if row.slug not in wanted and row.active:
            row.active = False
            counts[retired_key] += 1
            changed = True
    return changed


def _sync_services(pro: Professional, spec: ProfessionalSpec, counts: dict[str, int]) -> bool:
    wanted = {
        item.slug: {
            "name": item.name,
            "duration_minutes": item.duration_minutes,
            "price_minor": item.price_minor,
            "currency": item.currency,
            "mode": item.mode,
        }
        for item in spec.services
    }
    return _sync_offered(pro.services, wanted, Service, "services_retired", counts)


def _sync_packages(pro: Professional, spec: ProfessionalSpec, counts: dict[str, int]) -> bool:
    service_ids = {service.slug: service.id for service in pro.services}
    wanted = {
        item.slug: {
            "name": item.name,
            "service_id": service_ids[item.service],
            "sessions": item.sessions,
            "price_minor": item.price_minor,
            "currency": item.currency,
            "valid_days": item.valid_days,
        }
        for item in spec.packages
    }
    return _sync_offered(pro.packages, wanted, Package, "packages_retired", counts)
