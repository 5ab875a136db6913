"""A professional's cancellation, reschedule and no-show policy, and what it gives in a given case.

The policy is copied onto every booking when it is made (DESIGN.md, "Money"): a professional who
tightens their rules later changes nothing for the bookings already made. These functions read that
copy, never the professional's current settings, and are pure so the chat can preview the outcome
("You'll get €30.00 back") before the client confirms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from models import Booking, BookingState, NoShowRule
from models import Policy as Policy  # the one policy type lives with the columns it fills


class Actor(StrEnum):
    """Who makes a change (stored as its value in `booking_events.actor` and `bookings.cancelled_by`)."""

    CLIENT = "client"
    PROFESSIONAL = "professional"
    SYSTEM = "system"
    OPERATOR = "operator"


class PaidWith(StrEnum):
    """How a confirmed booking was paid for (stored as its value in `bookings.paid_with`)."""

    FREE = "free"
    STRIPE = "stripe"
    CREDIT = "credit"


class RescheduleRefusal(StrEnum):
    """Why `can_reschedule` says no; the chat turns each into plain words."""

    STATE = "state"  # not a confirmed session (nor a missed one the no-show rule lets the client move)
    LIMIT = "limit"  # the client has moved it as often as the policy allows
    TOO_LATE = "too_late"  # inside the free-cancellation window
    STARTED = "started"


def actor(by: str) -> Actor:
    """`by` as an Actor; ValueError for anyone else (a typo in a caller, never a person's input)."""
    try:
        return Actor(by)
    except ValueError:
        raise ValueError(f"unknown actor {by!r}; one of {sorted(Actor)}") from None


@dataclass(frozen=True)
class CancelTerms:
    """What cancelling a booking now gives back."""

    refund_minor: int  # in the booking's currency; 0 for a free or unpaid booking
    refund_percent: int  # 0..100
    free: bool  # inside the free-cancellation window, or not the client's doing
    credit_returned: bool  # a booking paid with a package credit gets the credit back
    paid_minor: int  # what was paid: 0 while held or when free


def paid_amount(booking: Booking) -> int:
    """Money the client paid for this booking (a credit is not money; a hold is not paid yet)."""
    if booking.state == BookingState.HELD or booking.paid_with in (None, PaidWith.FREE, PaidWith.CREDIT):
        return 0
    return booking.price_minor


def cancellation_terms(booking: Booking, *, by: Actor, now: datetime) -> CancelTerms:
    """The refund a cancellation by `by` at `now` gives, under the policy copied onto the booking.

    The professional's, the system's or an operator's cancellation always refunds in full (DESIGN.md,
    "Policies"); the client's is full up to `free_cancellation_hours` before the start, then the late
    percentage. A credit cannot be split: it comes back only when the refund would be full.
    """
    by = actor(by)
    policy = Policy.from_json(booking.policy)
    free = by != Actor.CLIENT or now <= booking.starts_at - policy.free_window
    percent = 100 if free else policy.late_cancellation_refund_percent
    paid = paid_amount(booking)
    # Integer minor units, rounded half up.
    refund = (paid * percent + 50) // 100
    return CancelTerms(
        refund_minor=refund,
        refund_percent=percent,
        free=free,
        credit_returned=booking.paid_with == PaidWith.CREDIT and percent == 100,
        paid_minor=paid,
    )


def no_show_rebook_allowed(booking: Booking) -> bool:
    """Under the one_free_reschedule rule a missed session may be moved once, free of charge."""
    policy = Policy.from_json(booking.policy)
    return (
        booking.state == BookingState.NO_SHOW
        and policy.no_show == NoShowRule.ONE_FREE_RESCHEDULE
        and not any(event.action == "rebook_after_no_show" for event in booking.events)
    )


def can_reschedule(booking: Booking, *, by: Actor, now: datetime) -> RescheduleRefusal | None:
    """None when `by` may move this booking now, else the reason code it may not.

    `booking.events` must be loaded (the no-show rule looks there for an earlier free rebooking).
    """
    by = actor(by)
    if booking.state == BookingState.NO_SHOW and by == Actor.CLIENT and no_show_rebook_allowed(booking):
        return None
    if booking.state != BookingState.CONFIRMED:
        return RescheduleRefusal.STATE
    if now >= booking.starts_at:
        return RescheduleRefusal.STARTED
    if by != Actor.CLIENT:
        return None
    policy = Policy.from_json(booking.policy)
    if booking.reschedule_count >= policy.max_reschedules:
        return RescheduleRefusal.LIMIT
    if now > booking.starts_at - policy.free_window:
        return RescheduleRefusal.TOO_LATE
    return None


@dataclass(frozen=True)
class TermsNow:
    """What the policy means for one session at one moment: what the summary, /bookings and the session's
    screen tell the client (handlers word it; this decides it, so no handler repeats the rules)."""

    # A client's cancellation refunds in full until this instant; None when that time has passed, or
    # when cancelling costs nothing anyway (`always_free`).
    free_until: datetime | None
    # Nothing is lost by cancelling at any time before the start (a free service, a 100 % late refund,
    # no free window at all).
    always_free: bool
    # What a client's cancellation refunds once `free_until` has passed.
    late_refund_percent: int
    # The free window's length, for "less than 72 hours away".
    free_hours: int
    # Why the client could not move it now (None: they can), and how many moves they have left.
    move_refusal: RescheduleRefusal | None
    moves_left: int
    moves_used: int


def terms_at(
    policy: Policy,
    *,
    starts_at: datetime,
    price_minor: int,
    now: datetime,
    reschedule_count: int = 0,
) -> TermsNow:
    """The terms of a session starting at `starts_at`, as they stand at `now` (a confirmed session, or
    one about to be booked: the summary asks before there is a booking)."""
    always_free = (
        price_minor == 0 or policy.late_cancellation_refund_percent >= 100 or policy.free_cancellation_hours <= 0
    )
    closes = starts_at - policy.free_window
    refusal: RescheduleRefusal | None = None
    if now >= starts_at:
        refusal = RescheduleRefusal.STARTED
    elif reschedule_count >= policy.max_reschedules:
        refusal = RescheduleRefusal.LIMIT
    elif now > closes:
        refusal = RescheduleRefusal.TOO_LATE
    return TermsNow(
        free_until=None if always_free or now > closes else closes,
        always_free=always_free,
        late_refund_percent=100 if always_free else policy.late_cancellation_refund_percent,
        free_hours=policy.free_cancellation_hours,
        move_refusal=refusal,
        moves_left=max(policy.max_reschedules - reschedule_count, 0),
        moves_used=reschedule_count,
    )


def terms_of(booking: Booking, *, now: datetime) -> TermsNow:
    """`terms_at` for a booking, under the policy copied onto it; its move refusal is `can_reschedule`'s
    (`booking.events` must be loaded)."""
    terms = terms_at(
        Policy.from_json(booking.policy),
        starts_at=booking.starts_at,
        price_minor=booking.price_minor,
        now=now,
        reschedule_count=booking.reschedule_count,
    )
    return replace(terms, move_refusal=can_reschedule(booking, by=Actor.CLIENT, now=now))
