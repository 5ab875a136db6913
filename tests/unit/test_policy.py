"""The cancellation and reschedule policy as pure functions of a booking and the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.policy import Policy, RescheduleRefusal, can_reschedule, cancellation_terms, terms_at, terms_of
from models import Booking, BookingEvent, BookingState

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
POLICY = Policy(
    free_cancellation_hours=48,
    late_cancellation_refund_percent=33,
    max_reschedules=1,
    no_show="one_free_reschedule",
    hold_minutes=30,
)


def _booking(
    state: BookingState = BookingState.CONFIRMED,
    paid_with: str | None = "stripe",
    price: int = 9999,
    reschedules: int = 0,
    policy: Policy = POLICY,
) -> Booking:
    return Booking(
        starts_at=START,
        ends_at=START + timedelta(minutes=50),
        state=state,
        price_minor=price,
        currency="USD",
        paid_with=paid_with,
        policy=policy.to_json(),
        reschedule_count=reschedules,
        events=[],
    )


def test_the_policy_survives_its_json_copy() -> None:
    assert Policy.from_json(POLICY.to_json()) == POLICY


@pytest.mark.parametrize(
    ("hours_before", "by", "refund", "percent", "free"),
    [
        (49, "client", 9999, 100, True),
        (48, "client", 9999, 100, True),
        (47, "client", 3300, 33, False),  # 9999 * 33 % = 3299.67, rounded to the nearest cent
        (1, "professional", 9999, 100, True),
        (1, "operator", 9999, 100, True),
    ],
)
def test_refunds(hours_before: int, by: str, refund: int, percent: int, free: bool) -> None:
    terms = cancellation_terms(_booking(), by=by, now=START - timedelta(hours=hours_before))
    assert (terms.refund_minor, terms.refund_percent, terms.free, terms.paid_minor) == (refund, percent, free, 9999)
    assert not terms.credit_returned


def test_nothing_paid_nothing_refunded() -> None:
    early = START - timedelta(days=5)
    assert cancellation_terms(_booking(BookingState.HELD, None), by="client", now=early).refund_minor == 0
    assert cancellation_terms(_booking(paid_with="free", price=0), by="client", now=early).refund_minor == 0


def test_a_credit_comes_back_only_when_the_refund_would_be_full() -> None:
    credit = _booking(paid_with="credit")
    assert cancellation_terms(credit, by="client", now=START - timedelta(days=3)).credit_returned
    assert not cancellation_terms(credit, by="client", now=START - timedelta(hours=3)).credit_returned
    assert cancellation_terms(credit, by="professional", now=START - timedelta(hours=3)).credit_returned
    assert cancellation_terms(credit, by="client", now=START - timedelta(days=3)).refund_minor == 0


def test_an_unknown_actor_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown actor"):
        cancellation_terms(_booking(), by="robot", now=START)


def test_reschedule_reasons() -> None:
    early, late = START - timedelta(days=3), START - timedelta(hours=3)
    assert can_reschedule(_booking(), by="client", now=early) is None
    assert can_reschedule(_booking(), by="client", now=late) == "too_late"
    assert can_reschedule(_booking(), by="professional", now=late) is None
    assert can_reschedule(_booking(reschedules=1), by="client", now=early) == "limit"
    assert can_reschedule(_booking(reschedules=1), by="professional", now=early) is None
    assert can_reschedule(_booking(), by="client", now=START) == "started"
    assert can_reschedule(_booking(BookingState.HELD), by="client", now=early) == "state"
    assert can_reschedule(_booking(BookingState.CANCELLED), by="client", now=early) == "state"


def test_a_no_show_is_rebooked_once_and_only_under_its_rule() -> None:
    missed = _booking(BookingState.NO_SHOW)
    after = START + timedelta(hours=2)
    assert can_reschedule(missed, by="client", now=after) is None
    assert can_reschedule(missed, by="professional", now=after) == "state"
    missed.events.append(
        BookingEvent(
            actor="client", action="rebook_after_no_show", from_state="no_show", to_state="confirmed", version=3
        )
    )
    assert can_reschedule(missed, by="client", now=after) == "state"
    strict = _booking(BookingState.NO_SHOW, policy=Policy(48, 0, 1, "charge_full", 30))
    assert can_reschedule(strict, by="client", now=after) == "state"


@pytest.mark.parametrize(
    ("hours_before", "free_until", "refusal"),
    [
        (49, START - timedelta(hours=48), None),
        (48, START - timedelta(hours=48), None),  # the last moment of the window is still inside it
        (47, None, RescheduleRefusal.TOO_LATE),
        (0, None, RescheduleRefusal.STARTED),
    ],
)
def test_terms_now_follow_the_window(hours_before: int, free_until: datetime | None, refusal: str | None) -> None:
    terms = terms_of(_booking(), now=START - timedelta(hours=hours_before))
    assert (terms.free_until, terms.move_refusal, terms.late_refund_percent) == (free_until, refusal, 33)
    assert not terms.always_free


def test_terms_before_a_booking_exists_and_for_free_sessions() -> None:
    summary = terms_at(POLICY, starts_at=START, price_minor=9999, now=START - timedelta(days=5))
    assert (summary.free_until, summary.moves_left, summary.move_refusal) == (START - timedelta(hours=48), 1, None)
    free = terms_at(POLICY, starts_at=START, price_minor=0, now=START - timedelta(days=5))
    assert (free.always_free, free.free_until, free.late_refund_percent) == (True, None, 100)
    no_moves = terms_at(Policy(max_reschedules=0), starts_at=START, price_minor=9999, now=START - timedelta(days=5))
    assert (no_moves.move_refusal, no_moves.moves_used) == (RescheduleRefusal.LIMIT, 0)
    moved = terms_of(_booking(reschedules=1), now=START - timedelta(days=5))
    assert (moved.move_refusal, moved.moves_left, moved.moves_used) == (RescheduleRefusal.LIMIT, 0, 1)
