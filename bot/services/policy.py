"""A professional's cancellation, reschedule and no-show policy, and what it gives in a given case.

The policy is copied onto every booking when it is made (DESIGN.md, "Money"): a professional who
tightens their rules later changes nothing for the bookings already made. These functions read that
copy, never the professional's current settings, and are pure so the chat can preview the outcome
("You'll get €30.00 back") before the client confirms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import Booking, BookingState, NoShowRule
from models import Policy as Policy  # the one policy type lives with the columns it fills

CLIENT = "client"
PROFESSIONAL = "professional"
SYSTEM = "system"
OPERATOR = "operator"
ACTORS = frozenset({CLIENT, PROFESSIONAL, SYSTEM, OPERATOR})


@dataclass(frozen=True)
class CancelTerms:
    """What cancelling a booking now gives back."""

    refund_minor: int  # in the booking's currency; 0 for a free or unpaid booking
    refund_percent: int  # 0..100
    free: bool  # inside the free-cancellation window, or not the client's doing
    credit_returned: bool  # a booking paid with a package credit gets the credit back
    paid_minor: int  # what was paid: 0 while held or when free


def _check_actor(by: str) -> None:
    if by not in ACTORS:
        raise ValueError(f"unknown actor {by!r}; one of {sorted(ACTORS)}")


def paid_amount(booking: Booking) -> int:
    """Money the client paid for this booking (a credit is not money; a hold is not paid yet)."""
    if booking.state == BookingState.HELD or booking.paid_with in (None, "free", "credit"):
        return 0
    return booking.price_minor


def cancellation_terms(booking: Booking, *, by: str, now: datetime) -> CancelTerms:
    """The refund a cancellation by `by` at `now` gives, under the policy copied onto the booking.

    The professional's, the system's or an operator's cancellation always refunds in full (DESIGN.md,
    "Policies"); the client's is full up to `free_cancellation_hours` before the start, then the late
    percentage. A credit cannot be split: it comes back only when the refund would be full.
    """
    _check_actor(by)
    policy = Policy.from_json(booking.policy)
    free = by != CLIENT or now <= booking.starts_at - policy.free_window
    percent = 100 if free else policy.late_cancellation_refund_percent
    paid = paid_amount(booking)
    # Integer minor units, rounded half up.
    refund = (paid * percent + 50) // 100
    return CancelTerms(
        refund_minor=refund,
        refund_percent=percent,
        free=free,
        credit_returned=booking.paid_with == "credit" and percent == 100,
        paid_minor=paid,
    )


# Reasons `can_reschedule` gives; the chat turns each into plain words.
RESCHEDULE_STATE = "state"
RESCHEDULE_LIMIT = "limit"
RESCHEDULE_TOO_LATE = "too_late"
RESCHEDULE_STARTED = "started"


def no_show_rebook_allowed(booking: Booking) -> bool:
    """Under the one_free_reschedule rule a missed session may be moved once, free of charge."""
    policy = Policy.from_json(booking.policy)
    return (
        booking.state == BookingState.NO_SHOW
        and policy.no_show == NoShowRule.ONE_FREE_RESCHEDULE
        and not any(event.action == "rebook_after_no_show" for event in booking.events)
    )


def can_reschedule(booking: Booking, *, by: str, now: datetime) -> str | None:
    """None when `by` may move this booking now, else the reason code it may not.

    `booking.events` must be loaded (the no-show rule looks there for an earlier free rebooking).
    """
    _check_actor(by)
    if booking.state == BookingState.NO_SHOW and by == CLIENT and no_show_rebook_allowed(booking):
        return None
    if booking.state != BookingState.CONFIRMED:
        return RESCHEDULE_STATE
    if now >= booking.starts_at:
        return RESCHEDULE_STARTED
    if by != CLIENT:
        return None
    policy = Policy.from_json(booking.policy)
    if booking.reschedule_count >= policy.max_reschedules:
        return RESCHEDULE_LIMIT
    if now > booking.starts_at - policy.free_window:
        return RESCHEDULE_TOO_LATE
    return None
