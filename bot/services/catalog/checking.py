"""The rules of a catalog file: which keys a professional, a service and a package take, and what
each value must be. Everything that can be checked without the database is checked here, so a bad
file is refused whole, with its line, before anything is written."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import pairwise

import yaml
from babel import localedata
from babel.numbers import get_currency_precision, is_currency

from bot.services.catalog.nodes import Fields, NodeReader, kind, line
from bot.services.catalog.spec import Catalog, OverrideSpec, PackageSpec, ProfessionalSpec, ServiceSpec
from bot.services.errors import CatalogError, InvalidTimeZone
from bot.services.timezones import canonical_zone
from bot.services.windows import (
    MAX_WINDOWS,
    MINUTES_PER_DAY,
    ScheduleInputError,
    Window,
    check_windows,
    format_window,
    parse_window,
)
from models import DEFAULT_REMINDERS, NoShowRule, Policy, ServiceMode

MAX_REMINDER_MINUTES = 14 * 24 * 60

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# PostgreSQL's INTEGER, which holds prices in minor units.
MAX_MINOR = 2**31 - 1
MAX_TELEGRAM_ID = 2**63 - 1

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_PROFESSIONAL_SLUG = 64 - len("pro_")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
_URL = re.compile(r"https?://\S+")


class CatalogChecker(NodeReader):
    """Reads a composed catalog into its spec (spec.py)."""

    # -- values -----------------------------------------------------------------------------------

    def slug(self, node: yaml.Node, label: str) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str) or not _SLUG.fullmatch(value):
            self.fail(
                node,
                f"{label}: {kind(node)} is not a slug (lowercase letters, digits and hyphens, "
                "starting with a letter or digit, at most 64)",
            )
        return value

    def price_in(self, currency: str) -> Callable[[yaml.Node, str], int]:
        return lambda node, label: self.money(node, label, currency)

    def currency(self, node: yaml.Node, label: str) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
            self.fail(node, f"{label}: {kind(node)} is not an ISO 4217 currency code such as EUR")
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
            self.fail(node, f'{label}: {kind(node)} is not an amount of money such as "60.00"')
        if amount < 0:
            self.fail(node, f"{label}: {kind(node)} is negative")
        precision = get_currency_precision(currency)
        minor = amount.scaleb(precision)
        if minor != minor.to_integral_value():
            self.fail(node, f"{label}: {kind(node)} has more decimals than {currency} allows ({precision})")
        if minor > MAX_MINOR:
            self.fail(node, f"{label}: {kind(node)} is too large")
        return int(minor)

    def window(self, node: yaml.Node, label: str) -> Window:
        value = self.scalar(node, label)
        if not isinstance(value, str):
            self.fail(node, f"{label}: window {kind(node)} is not HH:MM-HH:MM")
        try:
            return parse_window(value)
        except ScheduleInputError as exc:
            self.fail(node, _window_problem(label, value, exc.problem, node))

    def windows(self, node: yaml.Node, label: str) -> tuple[Window, ...]:
        read = [(self.window(item, label), item) for item in self.sequence(node, label)]
        try:
            return check_windows([window for window, _ in read])
        except ScheduleInputError as exc:
            if exc.problem == "overlap":
                before, after = exc.windows
                later = next(item for window, item in read if window == after)
                self.fail(later, f'{label}: windows "{format_window(before)}" and "{format_window(after)}" overlap')
            self.fail(node, f"{label}: more than {MAX_WINDOWS} windows in one day")

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
        crisis_alerts = self.optional(f, "crisis_alerts", self.boolean, True)
        reminders = self.optional(f, "reminders", self.reminder_offsets, DEFAULT_REMINDERS)
        daily_agenda = self.optional(f, "daily_agenda", self.boolean, None)
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
        stripe_account = self.optional(f, "stripe_account", self.stripe_account, None)
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
            line=line(node),
            name=name,
            headline=headline,
            bio=bio,
            verified=verified,
            crisis_alerts=crisis_alerts,
            reminders=reminders,
            daily_agenda=daily_agenda,
            telegram_id=telegram_id,
            telegram_id_line=line(telegram_node) if telegram_node is not None else None,
            timezone=timezone,
            languages=languages,
            categories=categories,
            address=address,
            access_notes=access_notes,
            video_link=video_link,
            stripe_account=stripe_account,
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

    def reminder_offsets(self, node: yaml.Node, label: str) -> tuple[int, ...]:
        """`reminders: [1440, 60]`: minutes before the session, each at most 14 days; [] turns them off."""
        offsets = [self.integer(item, label, 1, MAX_REMINDER_MINUTES) for item in self.sequence(node, label)]
        if len(set(offsets)) != len(offsets):
            self.fail(node, f"{label}: each offset once, got {offsets}")
        return tuple(sorted(offsets, reverse=True))

    def timezone(self, node: yaml.Node, label: str) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str):
            self.fail(node, f"{label}: expected an IANA time zone such as Europe/Kyiv, got {kind(node)}")
        try:
            return canonical_zone(value)
        except InvalidTimeZone:
            self.fail(node, f'{label}: unknown time zone "{value}" (use an IANA name such as Europe/Kyiv)')

    def telegram_id(self, node: yaml.Node, label: str) -> int:
        value = self.scalar(node, label)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TELEGRAM_ID:
            self.fail(node, f"{label}: {kind(node)} is not a Telegram user id (a positive whole number) or null")
        return value

    def stripe_account(self, node: yaml.Node, label: str) -> str:
        """A Stripe Connect account id (acct_...): the professional's payments go there."""
        value = self.text(node, label, 255)
        if not _STRIPE_ACCOUNT.fullmatch(value):
            self.fail(node, f'{label}: "{value}" is not a Stripe account id (acct_ followed by letters and digits)')
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
                self.fail(f.get("date"), f"date: {on_date} is overridden twice (first on line {line(found[on_date])})")
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

    def records(self, node: yaml.Node, label: str, what: str, allowed: Sequence[str]) -> Iterator[tuple[Fields, str]]:
        """Each mapping of a list of records with its slug, refusing a slug used twice in the list."""
        seen: dict[str, yaml.Node] = {}
        for item in self.sequence(node, label):
            f = self.mapping(item, what, what, allowed)
            slug = self.required(f, "slug", self.slug)
            if slug in seen:
                self.fail(f.get("slug"), f'slug: {what} "{slug}" is listed twice (first on line {line(seen[slug])})')
            seen[slug] = item
            f.what = f'{what} "{slug}"'
            yield f, slug


_PROFESSIONAL_KEYS = (
    "slug",
    "name",
    "headline",
    "bio",
    "verified",
    "crisis_alerts",
    "reminders",
    "daily_agenda",
    "telegram_id",
    "timezone",
    "languages",
    "categories",
    "location",
    "video_link",
    "stripe_account",
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


_STRIPE_ACCOUNT = re.compile(r"acct_[A-Za-z0-9]{1,250}")


def _is_slug(value: str) -> bool:
    return _SLUG.fullmatch(value) is not None


def _is_language(value: str) -> bool:
    return _LANGUAGE.fullmatch(value) is not None and localedata.exists(value.replace("-", "_"))


def _window_problem(label: str, value: str, problem: str, node: yaml.Node) -> str:
    if problem == "start":
        return f'{label}: window "{value}" starts at no time of day (00:00 to 23:59)'
    if problem == "end":
        return f'{label}: window "{value}" ends at no time of day (00:01 to 24:00)'
    if problem == "empty":
        return f'{label}: window "{value}" is empty'
    if problem == "order":
        return (
            f'{label}: window "{value}" ends before it starts '
            "(a window cannot cross midnight: end one at 24:00 and start the next day at 00:00)"
        )
    return f"{label}: window {kind(node)} is not HH:MM-HH:MM"


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
