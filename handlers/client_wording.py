"""How the client side words sessions, places, prices, policies and states (handlers/catalog.py,
booking.py, my_bookings.py and the outbox renderers that speak to clients)."""

from __future__ import annotations

from datetime import date, datetime

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_interval, format_skeleton
from babel.numbers import format_decimal, format_percent

from bot.render import (
    format_clock,
    format_day,
    format_duration,
    format_instant,
    format_money,
    format_price,
    zone_suffix,
)
from bot.render.dates import tidy_spaces
from bot.services.directory import Rating
from bot.services.policy import CancelTerms, PaidWith, Policy
from bot.services.timezones import canonical_zone
from handlers.common import Flow
from models import Booking, BookingState, NoShowRule, Professional, Service, ServiceMode


def viewer_zone(ctx: Flow) -> str:
    """The client's zone; UTC for someone who has not finished onboarding (and every time says so)."""
    return ctx.user.timezone or "UTC"


def short_day(day: date, locale: str) -> str:
    """ "Mon, Nov 23"."""
    return tidy_spaces(format_skeleton("MMMEd", day, locale=locale))


def long_day(day: date, locale: str) -> str:
    """ "Mon, Nov 23, 2026"."""
    return tidy_spaces(format_skeleton("yMMMEd", day, locale=locale))


def week_label(monday: date, sunday: date, locale: str) -> str:
    """ "Nov 23 – 29, 2026" (Babel's thin spaces around the dash made plain)."""
    return tidy_spaces(format_interval(monday, sunday, "yMMMd", locale=locale)).replace("\u2009", " ")


def language_label(code: str, locale: str) -> str:
    """A language named in the reader's language: "Ukrainian", "українська" -> "Українська"."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(locale) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def category_label(slug: str) -> str:
    """A category in the reader's language where we know it, else its slug made readable."""
    known = {
        "therapy": _("Therapy"),
        "career-coaching": _("Career coaching"),
        "coaching": _("Coaching"),
        "life-coaching": _("Life coaching"),
        "consulting": _("Consulting"),
        "nutrition": _("Nutrition"),
        "psychology": _("Psychology"),
        "fitness": _("Fitness"),
        "language-tutoring": _("Language tutoring"),
        "legal": _("Legal advice"),
        "finance": _("Financial advice"),
    }
    if slug in known:
        return known[slug]
    words = slug.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else slug


def rating_label(rating: Rating, locale: str) -> str:
    if rating.average is None or rating.count == 0:
        return _("No reviews yet")
    reviews = ngettext("{n} review", "{n} reviews", rating.count).format(n=rating.count)
    return f"★ {format_decimal(rating.average, '0.0', locale=locale)} ({reviews})"


def mode_label(mode: ServiceMode) -> str:
    if mode == ServiceMode.PHONE:
        return _("phone call")
    return _("video call") if mode == ServiceMode.VIDEO else _("in person")


def service_facts(service: Service, locale: str) -> str:
    """ "50 minutes, €60.00, video call"."""
    return _("{duration}, {price}, {mode}").format(
        duration=format_duration(service.duration_minutes),
        price=format_price(service.price_minor, service.currency, locale),
        mode=mode_label(service.mode),
    )


def service_with(service: Service, professional: Professional) -> str:
    """ "Coaching session with Anna Koval"."""
    return _("{service} with {name}").format(service=service.name, name=professional.name)


def same_zone(first: str, second: str) -> bool:
    try:
        return canonical_zone(first) == canonical_zone(second)
    except ValueError:
        return first == second


def their_time(instant: datetime, name: str, their_zone: str, viewer: str, locale: str) -> str | None:
    """ "Anna Koval's time: 4:00 PM (Kyiv, UTC+02:00)", with the date when theirs differs; None when the
    zones are the same."""
    if same_zone(their_zone, viewer):
        return None
    if format_day(instant, their_zone, locale) == format_day(instant, viewer, locale):
        shown = f"{format_clock(instant, their_zone, locale)} ({zone_suffix(their_zone, locale, instant)})"
    else:
        shown = format_instant(instant, their_zone, locale)
    return _("{name}'s time: {when}").format(name=name, when=shown)


def when_lines(instant: datetime, professional: Professional, viewer: str, locale: str) -> list[str]:
    """ "When: ..." in the client's zone, and the professional's time where their zone differs."""
    return when_lines_of(instant, professional.name, professional.timezone, viewer, locale)


def when_lines_of(instant: datetime, professional_name: str, their_zone: str, viewer: str, locale: str) -> list[str]:
    """`when_lines` from the professional's name and zone (what a BookingView carries)."""
    lines = [_("When: {when}").format(when=format_instant(instant, viewer, locale))]
    theirs = their_time(instant, professional_name, their_zone, viewer, locale)
    if theirs:
        lines.append(theirs)
    return lines


def place_lines(service: Service, professional: Professional, *, confirmed: bool) -> list[str]:
    """Where the session happens; the video link only once the session is confirmed."""
    return place_lines_of(
        service.mode,
        professional.name,
        video_link=professional.video_link,
        address=professional.address,
        access_notes=professional.access_notes,
        confirmed=confirmed,
    )


def place_lines_of(
    mode: ServiceMode,
    professional_name: str,
    *,
    video_link: str | None,
    address: str | None,
    access_notes: str | None,
    confirmed: bool,
    phone: str | None = None,
) -> list[str]:
    """`place_lines` from the fields themselves (what a BookingView carries)."""
    if mode == ServiceMode.PHONE:
        if phone:
            return [_("Phone call: {name} will call you at {number}.").format(name=professional_name, number=phone)]
        return [_("Where: phone call ({name} calls you at the number you give)").format(name=professional_name)]
    if mode == ServiceMode.VIDEO:
        if confirmed and video_link:
            return [_("Video call: {link}").format(link=video_link)]
        if confirmed:
            return [_("Video call: {name} will send you the link.").format(name=professional_name)]
        return [_("Where: video call (the link comes with your confirmation)")]
    lines = [_("Where: in person, {address}").format(address=address or _("address to be confirmed"))]
    if access_notes:
        lines.append(_("Access: {notes}").format(notes=access_notes))
    return lines


def hours_label(hours: int) -> str:
    return ngettext("{n} hour", "{n} hours", hours).format(n=hours)


def policy_lines(policy: Policy, price_minor: int) -> list[str]:
    """The professional's cancellation, reschedule and no-show rules in plain words."""
    hours = hours_label(policy.free_cancellation_hours)
    lines: list[str] = []
    if price_minor == 0 or policy.late_cancellation_refund_percent >= 100 or policy.free_cancellation_hours == 0:
        lines.append(_("Cancellation: free at any time before the start."))
    elif policy.late_cancellation_refund_percent == 0:
        lines.append(
            _("Cancellation: free up to {hours} before the start; after that there is no refund.").format(hours=hours)
        )
    else:
        lines.append(
            _("Cancellation: free up to {hours} before the start; after that you get {percent} back.").format(
                hours=hours, percent=f"{policy.late_cancellation_refund_percent}%"
            )
        )
    if policy.max_reschedules <= 0:
        lines.append(_("Rescheduling: not possible; cancel and book again instead."))
    else:
        times = ngettext("once", "up to {n} times", policy.max_reschedules).format(n=policy.max_reschedules)
        lines.append(_("Rescheduling: {times}, up to {hours} before the start.").format(times=times, hours=hours))
    if policy.no_show == NoShowRule.ONE_FREE_RESCHEDULE:
        lines.append(_("Missed session: you can rebook it once, free of charge."))
    elif price_minor > 0:
        lines.append(_("Missed session: charged in full, no refund."))
    return lines


def refund_words(booking: Booking, terms: CancelTerms, locale: str) -> str:
    """What cancelling gives back: "You'll get €30.00 back (50%)." / "This is free."."""
    if terms.credit_returned:
        return _("Your package credit comes back to you.")
    if booking.paid_with == PaidWith.CREDIT:
        hours = hours_label(Policy.from_json(booking.policy).free_cancellation_hours)
        return _("It's less than {hours} before the start, so the package credit stays used.").format(hours=hours)
    if booking.price_minor == 0:
        return _("This is free.")
    if terms.paid_minor == 0:
        return _("Nothing has been paid yet, so this is free.")
    amount = format_money(terms.refund_minor, booking.currency, locale)
    if terms.refund_percent >= 100:
        return _("This is free: you'll get {amount} back in full.").format(amount=amount)
    hours = hours_label(Policy.from_json(booking.policy).free_cancellation_hours)
    if terms.refund_percent <= 0:
        return _("It's less than {hours} before the start, so there is no refund.").format(hours=hours)
    percent = tidy_spaces(format_percent(terms.refund_percent / 100, locale=locale))
    return _("It's less than {hours} before the start. You'll get {amount} back ({percent}).").format(
        hours=hours, amount=amount, percent=percent
    )


def format_soon(instant: datetime, viewer: str, locale: str, now: datetime) -> str:
    """ "10:30 AM (Kyiv, UTC+02:00)" for a time later today (the viewer's today), else with its date."""
    if format_day(instant, viewer, locale) == format_day(now, viewer, locale):
        return f"{format_clock(instant, viewer, locale)} ({zone_suffix(viewer, locale, instant)})"
    return format_instant(instant, viewer, locale)


def state_label(booking: Booking, viewer: str, locale: str, now: datetime) -> str:
    state = booking.state
    if state == BookingState.HELD and booking.hold_expires_at is not None:
        return _("held for you until {when}; payment comes next").format(
            when=format_soon(booking.hold_expires_at, viewer, locale, now)
        )
    if state == BookingState.CANCELLED:
        if booking.cancelled_by == "client":
            return _("cancelled by you")
        if booking.cancelled_by == "professional":
            return _("cancelled by {name}").format(name=booking.professional.name)
        return _("cancelled")
    labels = {
        BookingState.HELD: _("held for you; payment comes next"),
        BookingState.CONFIRMED: _("confirmed"),
        BookingState.COMPLETED: _("completed"),
        BookingState.NO_SHOW: _("missed"),
        BookingState.EXPIRED: _("not paid in time; released"),
    }
    return labels.get(state, str(state))


def notes_line(notes: str | None) -> list[str]:
    return [_("Your notes: {notes}").format(notes=notes)] if notes else []


def reschedule_refusal(booking: Booking, reason: str) -> str:
    """Why `can_reschedule` says no, in plain words."""
    policy = Policy.from_json(booking.policy)
    if reason == "limit":
        return ngettext(
            "This session has been moved {n} time already, the most {name} allows.",
            "This session has been moved {n} times already, the most {name} allows.",
            policy.max_reschedules,
        ).format(n=policy.max_reschedules, name=booking.professional.name)
    if reason == "too_late":
        return _("It's less than {hours} before the start, so it can't be moved any more.").format(
            hours=hours_label(policy.free_cancellation_hours)
        )
    if reason == "started":
        return _("This session has already started, so it can't be moved.")
    if booking.state == BookingState.HELD:
        return _("A time that is only held can't be moved: release it and pick another time.")
    return _("Only an upcoming confirmed session can be moved.")
