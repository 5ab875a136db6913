"""How the client side words sessions, places, prices, policies and states (handlers/catalog.py,
booking.py, my_bookings.py and the outbox renderers that speak to clients)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

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
from bot.render.babel_locale import babel_locale
from bot.render.dates import tidy_spaces
from bot.services.directory import Rating
from bot.services.policy import CancelTerms, PaidWith, Policy, RescheduleRefusal, TermsNow
from bot.services.timezones import canonical_zone
from bot.services.timezones import zone as zone_named
from handlers.common import Flow
from models import Booking, BookingState, NoShowRule, Professional, Service, ServiceMode


def viewer_zone(ctx: Flow) -> str:
    """The client's zone; UTC for someone who has not finished onboarding (and every time says so)."""
    return ctx.user.timezone or "UTC"


def short_day(day: date, locale: str) -> str:
    """ "Mon, Nov 23"."""
    return tidy_spaces(format_skeleton("MMMEd", day, locale=babel_locale(locale)))


def long_day(day: date, locale: str) -> str:
    """ "Mon, Nov 23, 2026"."""
    return tidy_spaces(format_skeleton("yMMMEd", day, locale=babel_locale(locale)))


def week_label(monday: date, sunday: date, locale: str) -> str:
    """ "Nov 23 – 29, 2026" (Babel's thin spaces around the dash made plain)."""
    return tidy_spaces(format_interval(monday, sunday, "yMMMd", locale=babel_locale(locale))).replace("\u2009", " ")


# Every professional's card names their languages, each through two Locale parses and a CLDR lookup;
# the answer depends on the two codes only.
@lru_cache(maxsize=1024)
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
    return f"★ {format_decimal(rating.average, '0.0', locale=babel_locale(locale))} ({reviews})"


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


def same_clock(first: str, second: str, at: datetime) -> bool:
    """Whether two zones read the same wall-clock time at `at` (Berlin and Paris do: no need to say it
    twice), whatever their names."""
    try:
        return at.astimezone(zone_named(first)).utcoffset() == at.astimezone(zone_named(second)).utcoffset()
    except ValueError:
        return first == second


def other_clock(instant: datetime, their_zone: str, viewer: str, locale: str) -> str | None:
    """The other party's time of day for `instant`: "6:40 PM", with the weekday when their date is not
    the viewer's ("Thu 6:40 PM"); None when both zones read the same clock then."""
    if same_clock(their_zone, viewer, instant):
        return None
    clock = format_clock(instant, their_zone, locale)
    theirs = instant.astimezone(zone_named(their_zone)).date()
    if theirs == instant.astimezone(zone_named(viewer)).date():
        return clock
    return f"{tidy_spaces(format_skeleton('E', theirs, locale=babel_locale(locale)))} {clock}"


def their_time(instant: datetime, name: str, their_zone: str, viewer: str, locale: str) -> str | None:
    """ "Anna Koval's time: 4:00 PM (Kyiv, UTC+02:00)", "... Thu 6:40 PM (New York, UTC-05:00)" when
    their date differs; None when both read the same clock."""
    shown = other_clock(instant, their_zone, viewer, locale)
    if shown is None:
        return None
    return _("{name}'s time: {when}").format(name=name, when=f"{shown} ({zone_suffix(their_zone, locale, instant)})")


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


def percent_label(percent: int, locale: str) -> str:
    """ "50%" / "50 %" as the locale writes it."""
    return tidy_spaces(format_percent(percent / 100, locale=babel_locale(locale)))


def deadline_label(instant: datetime, zone: str, locale: str) -> str:
    """ "Thu, Nov 26, 9:00 AM": a moment in the reader's own zone, without the zone (said around it)."""
    return f"{short_day(instant.astimezone(zone_named(zone)).date(), locale)}, {format_clock(instant, zone, locale)}"


def terms_lines(terms: TermsNow, no_show: NoShowRule, price_minor: int, zone: str, locale: str) -> list[str]:
    """What cancelling, moving and missing this session means now (bot.services.policy.terms_at decides;
    this only words it): "Free cancellation until Thu, Nov 26, 9:00 AM (your time)." or "This session is
    less than 72 hours away: cancelling refunds 50%, and it cannot be moved."."""
    hours = hours_label(terms.free_hours)
    percent = percent_label(terms.late_refund_percent, locale)
    refusal = terms.move_refusal
    lines: list[str] = []
    if terms.always_free:
        lines.append(_("Free cancellation at any time before the start."))
    elif terms.free_until is not None:
        lines.append(
            _("Free cancellation until {when} (your time).").format(when=deadline_label(terms.free_until, zone, locale))
        )
        if terms.late_refund_percent > 0:
            lines.append(_("After that, cancelling refunds {percent}.").format(percent=percent))
        else:
            lines.append(_("After that, cancelling refunds nothing."))
    elif terms.late_refund_percent > 0:
        lines.append(
            _("This session is less than {hours} away: cancelling refunds {percent}, and it cannot be moved.").format(
                hours=hours, percent=percent
            )
        )
        refusal = None if refusal == RescheduleRefusal.TOO_LATE else refusal
    else:
        lines.append(
            _("This session is less than {hours} away: cancelling refunds nothing, and it cannot be moved.").format(
                hours=hours
            )
        )
        refusal = None if refusal == RescheduleRefusal.TOO_LATE else refusal
    if terms.move_refusal is None:
        if terms.free_until is not None:
            lines.append(
                ngettext(
                    "You can move it once until then.", "You can move it up to {n} times until then.", terms.moves_left
                ).format(n=terms.moves_left)
            )
        elif terms.free_hours > 0:
            lines.append(
                ngettext(
                    "You can move it once, up to {hours} before the start.",
                    "You can move it up to {n} times, up to {hours} before the start.",
                    terms.moves_left,
                ).format(n=terms.moves_left, hours=hours)
            )
        else:
            lines.append(
                ngettext(
                    "You can move it once before the start.",
                    "You can move it up to {n} times before the start.",
                    terms.moves_left,
                ).format(n=terms.moves_left)
            )
    elif refusal == RescheduleRefusal.LIMIT and terms.moves_used == 0:
        lines.append(_("It can't be moved: cancel and book again instead."))
    elif refusal == RescheduleRefusal.LIMIT:
        lines.append(_("It has been moved as many times as allowed, so it can't be moved again."))
    elif refusal == RescheduleRefusal.TOO_LATE:
        lines.append(_("It's less than {hours} before the start, so it can't be moved any more.").format(hours=hours))
    if no_show == NoShowRule.ONE_FREE_RESCHEDULE:
        lines.append(_("Missed session: you can rebook it once, free of charge."))
    elif price_minor > 0:
        lines.append(_("Missed session: charged in full, no refund."))
    return lines


def terms_headline(terms: TermsNow, zone: str, locale: str) -> str | None:
    """The one line of the terms a list of sessions shows (None: nothing to lose by cancelling)."""
    if terms.always_free:
        return None
    return terms_lines(terms, NoShowRule.CHARGE_FULL, 0, zone, locale)[0]


def policy_lines(policy: Policy, price_minor: int) -> list[str]:
    """The professional's cancellation, reschedule and no-show rules in plain words, in general (the
    professional's setup and /profile); a client sees `terms_lines`, what applies to one booking now."""
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
    percent = tidy_spaces(format_percent(terms.refund_percent / 100, locale=babel_locale(locale)))
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
