"""How the client's screens word policies, refunds, times and codes (handlers/client_wording.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from bot.i18n import build_i18n
from bot.render import format_money, zone_suffix
from bot.services.errors import NotFound
from bot.services.policy import CancelTerms, Policy
from handlers.client_callbacks import category_code, day_code, day_from_code, instant_from_code, minute_code
from handlers.client_wording import (
    category_label,
    language_label,
    other_clock,
    policy_lines,
    refund_words,
    their_time,
    week_label,
)
from models import Booking, BookingState


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n = build_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        yield


def _policy(**changes: object) -> Policy:
    fields: dict[str, object] = {
        "free_cancellation_hours": 72,
        "late_cancellation_refund_percent": 50,
        "max_reschedules": 2,
        "no_show": "charge_full",
        "hold_minutes": 30,
    }
    fields.update(changes)
    return Policy(**fields)  # type: ignore[arg-type]


def test_policy_in_plain_words() -> None:
    assert policy_lines(_policy(), 6000) == [
        "Cancellation: free up to 72 hours before the start; after that you get 50% back.",
        "Rescheduling: up to 2 times, up to 72 hours before the start.",
        "Missed session: charged in full, no refund.",
    ]
    assert policy_lines(
        _policy(free_cancellation_hours=1, late_cancellation_refund_percent=0, max_reschedules=1), 9500
    ) == [
        "Cancellation: free up to 1 hour before the start; after that there is no refund.",
        "Rescheduling: once, up to 1 hour before the start.",
        "Missed session: charged in full, no refund.",
    ]
    assert policy_lines(_policy(max_reschedules=0, no_show="one_free_reschedule"), 0) == [
        "Cancellation: free at any time before the start.",
        "Rescheduling: not possible; cancel and book again instead.",
        "Missed session: you can rebook it once, free of charge.",
    ]
    assert policy_lines(_policy(late_cancellation_refund_percent=100), 6000)[0] == (
        "Cancellation: free at any time before the start."
    )


def _booking(price: int, paid_with: str | None, state: BookingState = BookingState.CONFIRMED) -> Booking:
    return Booking(price_minor=price, currency="EUR", paid_with=paid_with, state=state, policy=_policy().to_json())


@pytest.mark.parametrize(
    ("booking", "terms", "words"),
    [
        (
            _booking(6000, "stripe"),
            CancelTerms(3000, 50, False, False, 6000),
            f"It's less than 72 hours before the start. You'll get {format_money(3000, 'EUR', 'en')} back (50%).",
        ),
        (
            _booking(6000, "stripe"),
            CancelTerms(6000, 100, True, False, 6000),
            f"This is free: you'll get {format_money(6000, 'EUR', 'en')} back in full.",
        ),
        (
            _booking(6000, "stripe"),
            CancelTerms(0, 0, False, False, 6000),
            "It's less than 72 hours before the start, so there is no refund.",
        ),
        (_booking(0, "free"), CancelTerms(0, 100, True, False, 0), "This is free."),
        (
            _booking(6000, None, BookingState.HELD),
            CancelTerms(0, 100, True, False, 0),
            "Nothing has been paid yet, so this is free.",
        ),
        (_booking(6000, "credit"), CancelTerms(0, 100, True, True, 0), "Your package credit comes back to you."),
    ],
)
def test_refunds_in_plain_words(booking: Booking, terms: CancelTerms, words: str) -> None:
    assert refund_words(booking, terms, "en") == words


def test_the_other_partys_time() -> None:
    late_evening = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 11 PM in New York, 6 AM next day in Kyiv
    # Their clock with their weekday, since their date is not the viewer's (the exact CLDR words are in
    # tests/bot/test_render.py).
    clock = other_clock(late_evening, "Europe/Kyiv", "America/New_York", "en")
    assert clock is not None and clock.startswith("Wed ")
    assert their_time(late_evening, "Anna Koval", "Europe/Kyiv", "America/New_York", "en") == (
        f"Anna Koval's time: {clock} ({zone_suffix('Europe/Kyiv', 'en', late_evening)})"
    )
    assert their_time(late_evening, "Anna Koval", "Europe/Kiev", "Europe/Kyiv", "en") is None


def test_codes_round_trip_and_refuse_forgeries() -> None:
    assert day_from_code(day_code(date(2026, 2, 28))) == date(2026, 2, 28)
    instant = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert instant_from_code(minute_code(instant)) == instant
    for forged in (20260229, 20261301, 0, -5):
        with pytest.raises(NotFound):
            day_from_code(forged)
    with pytest.raises(NotFound):
        instant_from_code(10**15)
    assert len(category_code("a-very-long-category-slug-" * 5)) == 8


def test_names_of_things() -> None:
    assert [language_label(code, "en") for code in ("uk", "es", "pt-BR", "zz-top")] == [
        "Ukrainian",
        "Spanish",
        "Portuguese (Brazil)",
        "zz-top",
    ]
    assert language_label("en", "uk") == "Англійська"
    assert [category_label(slug) for slug in ("therapy", "career-coaching", "art_therapy")] == [
        "Therapy",
        "Career coaching",
        "Art therapy",
    ]
    # Its exact CLDR wording is pinned in tests/bot/test_render.py; here, a week across New Year names
    # both years and both months.
    across = week_label(date(2026, 12, 28), date(2027, 1, 3), "en")
    assert "2026" in across and "2027" in across and "\u2009" not in across
