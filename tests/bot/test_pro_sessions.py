"""A professional's sessions from chat (handlers/pro_sessions.py): cancelling with a reason and the
client's one message (refund, nearest times, one tap rebooks and carries the payment over), moving by
proposal (accepted, declined, unanswered), a day off over sessions, and no-show confirm and undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.updates import Person
from bot.render import format_instant
from bot.render.money import format_money
from bot.services import instant, pro_cancel
from bot.services.payments.refunds import LEASE
from handlers.client_callbacks import instant_from_code
from handlers.pro_session_buttons import RebookCb
from models import Booking, MoveProposal, NoShowRule, Payment, PaymentStatus, Professional, RefundStatus
from tests.bot.harness import BotHarness
from tests.bot.pro_world import add_client, add_professional, book, state_of
from tests.bot.test_professional import _clock, _day, _when

# Monday 2026-11-23 in Kyiv (UTC+02:00); the clock stands at 08:00 there.
MON_0900 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
TUE_0900 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
TUE_1000 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
THU_0900 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
NEW_YORK = "America/New_York"
EUR_60 = format_money(6000, "EUR", "en")


async def _paid(harness: BotHarness, client: Person, service_id: int, starts: datetime) -> int:
    """A session paid through the gateway (confirmed, with its paid payment row)."""
    booking_id = await book(harness, client, service_id, starts)
    now = harness.clock.now()
    async with harness.db() as session:
        session.add(
            Payment(
                booking_id=booking_id,
                attempt=1,
                status=PaymentStatus.PAID,
                amount_minor=6000,
                currency="EUR",
                checkout_session_id=f"cs_{booking_id}",
                checkout_expires_at=now + timedelta(hours=1),
                payment_intent_id=f"pi_{booking_id}",
                paid_at=now,
                refund_attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
    return booking_id


async def _payment(harness: BotHarness, booking_id: int) -> Payment:
    async with harness.db() as session:
        return (await session.scalars(select(Payment).where(Payment.booking_id == booking_id))).one()


async def _booking(harness: BotHarness, booking_id: int) -> Booking:
    async with harness.db() as session:
        found = await session.get(Booking, booking_id)
        assert found is not None
        return found


async def _world(harness: BotHarness) -> tuple[Person, Person, int]:
    professional_id, service_id = await add_professional(harness)
    async with harness.db() as session:
        # A complete profile (a video service needs its link), so clients see Anna listed.
        professional = await session.get(Professional, professional_id)
        assert professional is not None
        professional.video_link = "https://meet.example/anna"
    anna, olena = harness.person("Anna"), harness.person("Olena")
    await harness.link_professional("anna-koval", anna)
    await add_client(harness, olena)
    return anna, olena, service_id


async def _open_session(harness: BotHarness, anna: Person, starts: datetime) -> None:
    await harness.send_text(anna, "/agenda")
    await harness.press_button(anna, f"⚙ Cancel or move: {_day(starts)}, {_clock(starts)} Olena")


async def _cancel_for_illness(harness: BotHarness, anna: Person, starts: datetime) -> None:
    await _open_session(harness, anna, starts)
    await harness.press_button(anna, "Cancel it")
    assert harness.last_text(anna).startswith(f"Cancel Olena's session ({_when(starts)})?\nWhy?")
    await harness.press_button(anna, "Illness")
    assert harness.last_text(anna) == (
        f"Cancel Olena's session ({_when(starts)})?\n"
        "Reason: illness\n"
        f"They get {EUR_60} back in full.\n"
        "They are offered your nearest free times: one tap rebooks at no cost."
    )
    await harness.press_button(anna, "Yes, cancel it")


def _offered(harness: BotHarness, olena: Person) -> list[RebookCb]:
    return [
        RebookCb.unpack(button["callback_data"])
        for button in harness.buttons(olena)
        if button.get("callback_data", "").startswith("cpr:")
    ]


# --- cancelling --------------------------------------------------------------------------------------


async def test_a_cancellation_by_the_professional_refunds_in_full_and_offers_times_in_one_message(
    harness: BotHarness,
) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, TUE_0900)
    await harness.run_worker()
    before = harness.mark()

    await _cancel_for_illness(harness, anna, TUE_0900)
    assert harness.last_text(anna).startswith(
        f"Cancelled: Olena, {_when(TUE_0900)}. Olena has been told, with your nearest free times.\n\nYour agenda"
    )
    assert await state_of(harness, booking_id) == "cancelled"
    cancelled = await _booking(harness, booking_id)
    assert (cancelled.cancelled_by, cancelled.cancel_reason) == ("professional", "illness")
    assert cancelled.refund_minor == 6000
    payment = await _payment(harness, booking_id)
    until = harness.clock.now() + pro_cancel.CARRY_OVER_WINDOW
    assert (payment.refund_status, payment.refund_minor, payment.refund_due_at) == (RefundStatus.PENDING, 6000, until)

    await harness.run_worker()
    (message,) = harness.messages_since(before, olena)
    assert message.text.startswith(
        "Anna Koval had to cancel your session.\n"
        "Coaching session with Anna Koval\n"
        f"{_when(TUE_0900, NEW_YORK)}\n"
        "Reason: illness\n\n"
        f"You get {EUR_60} back in full.\n"
        f"Or tap one of Anna Koval's nearest free times below before {_when(until, NEW_YORK)}: your payment "
        "carries over instead, nothing more to pay."
    )
    offered = _offered(harness, olena)
    assert len(offered) == 3
    starts = [instant_from_code(item.at) for item in offered]
    # The nearest free times on other days than the cancelled session's own.
    assert all(start.date() != TUE_0900.date() and start > harness.clock.now() for start in starts)
    assert harness.buttons(olena)[-1]["text"] == "🗓 Other times with Anna Koval"

    # Nothing goes back before the window ends; then the refund goes out and the client hears.
    await harness.run_worker()
    assert (await _payment(harness, booking_id)).refund_status == RefundStatus.PENDING
    harness.clock.advance(pro_cancel.CARRY_OVER_WINDOW)
    await harness.run_worker()
    assert (await _payment(harness, booking_id)).refund_status == RefundStatus.SUCCEEDED
    assert EUR_60 in harness.last_text(olena)


async def test_rebooking_from_that_message_carries_the_payment_over(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, TUE_0900)
    await _cancel_for_illness(harness, anna, TUE_0900)
    await harness.run_worker()
    offered = _offered(harness, olena)
    first = offered[0]
    new_start = instant_from_code(first.at)
    before = harness.mark()

    await harness.press(olena, first)
    text = harness.last_text(olena) if harness.last_message(olena).document is None else harness.texts(olena)[-2]
    assert text.startswith("Your payment carried over: nothing more to pay.\n\n✅ Booked!")
    rebooked = await _booking(harness, booking_id)
    assert (rebooked.state, rebooked.starts_at, rebooked.cancelled_by, rebooked.refund_minor) == (
        "confirmed",
        new_start,
        None,
        None,
    )
    payment = await _payment(harness, booking_id)
    assert (payment.refund_status, payment.refund_minor, payment.refund_due_at) == (None, None, None)

    # The professional hears of the session at its new time; no refund ever goes out.
    await harness.run_worker()
    assert harness.last_text(anna).startswith("📅 New booking")
    assert format_instant(new_start, "Europe/Kyiv", "en") in harness.last_text(anna)
    harness.clock.advance(pro_cancel.CARRY_OVER_WINDOW + timedelta(hours=1))
    await harness.run_worker()
    assert (await _payment(harness, booking_id)).refund_status is None
    assert not any(EUR_60 in m.text and "back" in m.text for m in harness.messages_since(before, olena))

    # Another time from the same message: already rebooked.
    await harness.press(olena, offered[1])
    assert harness.last_text(olena) == "You have already picked a new time for this session."


@pytest.mark.parametrize("how", ["refunded", "claimed"])
async def test_rebooking_after_the_refund_went_out_is_a_new_booking_to_pay(harness: BotHarness, how: str) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, THU_0900)
    await _cancel_for_illness(harness, anna, THU_0900)
    await harness.run_worker()
    offered = _offered(harness, olena)
    if how == "refunded":
        harness.clock.advance(pro_cancel.CARRY_OVER_WINDOW)
        await harness.run_worker()
        assert (await _payment(harness, booking_id)).refund_status == RefundStatus.SUCCEEDED
    else:
        # The refund worker has claimed it and is talking to the gateway right now.
        async with harness.db() as session:
            payment = (await session.scalars(select(Payment).where(Payment.booking_id == booking_id))).one()
            payment.refund_due_at = harness.clock.now() + pro_cancel.CARRY_OVER_WINDOW + LEASE
    later = [item for item in offered if instant_from_code(item.at) > harness.clock.now() + timedelta(hours=1)]
    before = harness.mark()

    await harness.press(olena, later[0])
    texts = [m.text for m in harness.messages_since(before, olena)]
    assert texts[0] == (
        "Your refund for the cancelled session has already gone out, so this is a new booking: please pay for it "
        "to confirm it."
    )
    assert await state_of(harness, booking_id) == "cancelled"
    async with harness.db() as session:
        new = (await session.scalars(select(Booking).where(Booking.id != booking_id))).one()
    assert (new.state, new.starts_at, new.client_id) == ("held", instant_from_code(later[0].at), new.client_id)
    refund = (await _payment(harness, booking_id)).refund_status
    assert refund == (RefundStatus.SUCCEEDED if how == "refunded" else RefundStatus.PENDING)


async def test_other_reason_is_typed_and_reaches_the_client(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    await _paid(harness, olena, service_id, TUE_0900)
    await _open_session(harness, anna, TUE_0900)
    await harness.press_button(anna, "Cancel it")
    await harness.press_button(anna, "Other (type it)")
    assert harness.last_text(anna).startswith("Type the reason in a few words")
    await harness.send_text(anna, "x" * 501)
    assert harness.last_text(anna).startswith("That's 501 characters; please keep it under 500.")
    await harness.send_text(anna, "My car broke down on the way")
    assert "Reason: My car broke down on the way" in harness.last_text(anna)
    await harness.press_button(anna, "Yes, cancel it")
    await harness.run_worker()
    assert "Reason: My car broke down on the way" in harness.last_text(olena)


async def test_a_stale_cancel_button_changes_nothing(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, TUE_0900)
    mallory = harness.person("Mallory")
    await add_client(harness, mallory)
    await _open_session(harness, anna, TUE_0900)
    await harness.press_button(anna, "Cancel it")
    await harness.press_button(anna, "Illness")
    # The client moves it meanwhile: the professional's "yes" was for another version.
    async with harness.db() as session:
        found = await session.get(Booking, booking_id)
        assert found is not None
        found.version += 1
    await harness.press_button(anna, "Yes, cancel it")
    assert harness.last_text(anna).startswith("That session changed meanwhile; here it is now.")
    assert await state_of(harness, booking_id) == "confirmed"
    # Someone else's rebook button: stale.
    await harness.press(mallory, RebookCb(id=booking_id, at=0))
    assert harness.popup() == "This button is no longer available."


# --- moving ------------------------------------------------------------------------------------------


async def _propose(harness: BotHarness, anna: Person, starts: datetime) -> datetime:
    """Anna proposes the first free time on Thursday; returns it."""
    await _open_session(harness, anna, starts)
    await harness.press_button(anna, "Move it")
    assert harness.last_text(anna).startswith(f"Moving Olena's session ({_when(starts)}).")
    await harness.press_button(anna, "Thu")
    buttons = harness.buttons(anna)
    first = buttons[0]["text"]
    await harness.press_button(anna, first)
    text = harness.last_text(anna)
    assert text.startswith("Propose a new time to Olena?")
    await harness.press_button(anna, "Send the proposal")
    assert harness.last_text(anna).startswith("Sent: Olena is asked to move to ")
    thursday = datetime(2026, 11, 26, tzinfo=UTC)
    async with harness.db() as session:
        proposal = (await session.scalars(select(MoveProposal))).one()
        assert proposal.starts_at.date() == thursday.date()
        return proposal.starts_at


async def test_a_move_the_client_accepts_moves_the_session(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, TUE_0900)
    await harness.run_worker()
    proposed = await _propose(harness, anna, TUE_0900)
    await harness.run_worker()
    assert harness.last_text(olena).startswith(
        "Anna Koval asks to move your session.\n"
        "Coaching session with Anna Koval\n"
        f"Now: {_when(TUE_0900, NEW_YORK)}\n"
        f"Proposed: {_when(proposed, NEW_YORK)}\n\n"
        "Please answer by "
    )
    before = harness.mark()
    accept = harness.buttons(olena)[0]["callback_data"]
    await harness.press_button(olena, "Accept the new time")
    assert harness.messages_since(before, olena)[0].text.startswith("✅ Moved!")
    moved = await _booking(harness, booking_id)
    assert (moved.state, moved.starts_at, moved.reschedule_count) == ("confirmed", proposed, 0)
    await harness.run_worker()
    # The client is not told twice; the professional hears the answer.
    assert not any(m.text.startswith("Anna Koval moved your session") for m in harness.messages_since(before, olena))
    assert harness.last_text(anna) == f"✅ Olena accepted the new time: {_when(proposed)}."
    # The answer again: no longer open.
    await harness.press(olena, accept)
    assert harness.last_text(olena) == "This proposal is no longer open."


async def test_a_declined_move_is_the_professionals_cancellation(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, TUE_0900)
    proposed = await _propose(harness, anna, TUE_0900)
    await harness.run_worker()
    await harness.press_button(olena, "Decline")
    assert harness.last_text(olena).startswith("Declined. The session is cancelled")
    assert await state_of(harness, booking_id) == "cancelled"
    assert (await _payment(harness, booking_id)).refund_status == RefundStatus.PENDING
    await harness.run_worker()
    assert harness.last_text(olena).startswith("You declined the new time, so Anna Koval has cancelled the session.")
    assert f"You get {EUR_60} back in full." in harness.last_text(olena)
    assert harness.last_text(anna).startswith(f"✖ Olena declined {_when(proposed)}. The session is cancelled")


async def test_an_unanswered_move_cancels_shortly_before_the_session(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, TUE_0900)
    await _propose(harness, anna, TUE_0900)
    await harness.run_worker()
    # The hold length (30 minutes) before the earlier of the two times.
    harness.clock.set(TUE_0900 - timedelta(minutes=31))
    await harness.run_worker()
    assert await state_of(harness, booking_id) == "confirmed"
    harness.clock.set(TUE_0900 - timedelta(minutes=30))
    await harness.run_worker()
    assert await state_of(harness, booking_id) == "cancelled"
    assert harness.last_text(olena).startswith(
        "Anna Koval's proposed new time got no answer in time, so the session is cancelled."
    )
    assert harness.last_text(anna).startswith("⌛ Olena did not answer")
    await harness.press_button(olena, "Accept the new time")
    assert harness.last_text(olena) == "This proposal is no longer open."


# --- a day off over sessions ---------------------------------------------------------------------------


async def test_a_day_off_over_sessions_offers_to_cancel_or_move_each(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    await _paid(harness, olena, service_id, TUE_0900)
    await _paid(harness, olena, service_id, TUE_1000)
    await harness.send_text(anna, "/hours")
    await harness.press_button(anna, "Add days off")
    await harness.send_text(anna, "2026-11-24")
    assert harness.last_text(anna) == (
        "These sessions fall on your days off. Cancel or move each one; the client is told and, if you cancel, "
        "gets a full refund:\n"
        f"• {_day(TUE_0900)}, {_clock(TUE_0900)} Olena · Coaching session\n"
        f"• {_day(TUE_1000)}, {_clock(TUE_1000)} Olena · Coaching session"
    )
    labels = [b["text"] for b in harness.buttons(anna)]
    assert labels == [
        f"✖ {_day(TUE_0900)}, {_clock(TUE_0900)} Olena",
        "🔁 Move",
        f"✖ {_day(TUE_1000)}, {_clock(TUE_1000)} Olena",
        "🔁 Move",
    ]
    await harness.press_button(anna, f"✖ {_day(TUE_0900)}, {_clock(TUE_0900)} Olena")
    assert harness.last_text(anna).startswith(f"Cancel Olena's session ({_when(TUE_0900)})?\nWhy?")
    await harness.press_button(anna, "Illness")
    await harness.press_button(anna, "Yes, cancel it")
    await harness.run_worker()
    assert harness.last_text(olena).startswith("Anna Koval had to cancel your session.")
    # The other one can be moved from the same message.
    await harness.send_text(anna, "/hours")
    await harness.press_button(anna, "Add days off")
    await harness.send_text(anna, "2026-11-24")
    await harness.press_button(anna, "🔁 Move")
    assert harness.last_text(anna).startswith(f"Moving Olena's session ({_when(TUE_1000)}).")


# --- no-show -----------------------------------------------------------------------------------------


async def test_a_no_show_is_confirmed_told_kindly_and_can_be_undone(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, MON_0900)
    harness.clock.set(MON_0900 + timedelta(minutes=20))
    await harness.run_worker()
    await harness.send_text(anna, "/agenda")
    before = harness.mark()

    # A slip of the finger, undone at once: the client never hears of it.
    await harness.press_button(anna, "No-show")
    assert harness.last_text(anna) == (
        f"Mark Olena's session ({_when(MON_0900)}) as a no-show?\n"
        "Olena will get a kind message about it. You can undo the mark for 24 hours."
    )
    assert await state_of(harness, booking_id) == "confirmed"
    await harness.press_button(anna, "Yes, mark as no-show")
    assert await state_of(harness, booking_id) == "no_show"
    await harness.press_button(anna, "Undo no-show")
    assert harness.last_text(anna).startswith(f"Undone: Olena's session ({_clock(MON_0900)}) is no longer a no-show.")
    assert await state_of(harness, booking_id) == "confirmed"
    harness.clock.advance(timedelta(minutes=15))
    await harness.run_worker()
    assert harness.messages_since(before, olena) == []

    # Marked for real: the client hears kindly; the policy charges the missed session.
    await harness.press_button(anna, "No-show")
    await harness.press_button(anna, "Yes, mark as no-show")
    harness.clock.advance(timedelta(minutes=15))
    await harness.run_worker()
    assert harness.last_text(olena) == (
        f"We missed you at your session with Anna Koval ({_when(MON_0900, NEW_YORK)}). "
        "We hope everything is all right.\n"
        "Under Anna Koval's terms a missed session is not refunded. Whenever you're ready:"
    )
    assert [b["text"] for b in harness.buttons(olena)] == ["🗓 New times with Anna Koval"]
    # Undone later: the client hears it was a mistake.
    await harness.press_button(anna, "Undo no-show")
    await harness.run_worker()
    assert harness.last_text(olena).startswith("Sorry: your session with Anna Koval")
    assert await state_of(harness, booking_id) == "confirmed"

    # After 24 hours a mark stays.
    await harness.press_button(anna, "No-show")
    await harness.press_button(anna, "Yes, mark as no-show")
    harness.clock.advance(timedelta(hours=24, minutes=1))
    await harness.press_button(anna, "Undo no-show")
    assert harness.last_text(anna).startswith("A no-show can be undone for 24 hours only.")
    assert await state_of(harness, booking_id) == "no_show"


async def test_under_one_free_reschedule_the_client_is_offered_the_rebooking(harness: BotHarness) -> None:
    anna, olena, service_id = await _world(harness)
    async with harness.db() as session:
        professional = (await session.scalars(select(Professional))).one()
        professional.no_show = NoShowRule.ONE_FREE_RESCHEDULE
    booking_id = await _paid(harness, olena, service_id, MON_0900)
    harness.clock.set(MON_0900 + timedelta(minutes=20))
    await harness.send_text(anna, "/agenda")
    await harness.press_button(anna, "No-show")
    await harness.press_button(anna, "Yes, mark as no-show")
    harness.clock.advance(timedelta(minutes=15))
    await harness.run_worker()
    assert harness.last_text(olena).endswith("You can book a new time for it once, at no extra cost.")
    await harness.press_button(olena, "Pick a new time")
    assert "Moving your session" in harness.last_text(olena)
    assert await state_of(harness, booking_id) == "no_show"


# --- instant sessions --------------------------------------------------------------------------------


async def _available_now_list(harness: BotHarness, olena: Person) -> str:
    await harness.send_text(olena, "/start")
    await harness.press_button(olena, "Available now")
    return harness.last_text(olena)


async def test_instant_availability_appears_and_expires_with_the_clock(harness: BotHarness) -> None:
    anna, olena, _ = await _world(harness)
    start = harness.clock.now()  # 08:00 in Kyiv: before Anna's weekly hours, which do not apply here
    assert await _available_now_list(harness, olena) == (
        "Nobody is available right now. Try again later, or book a time ahead."
    )

    await harness.send_text(anna, "/agenda")
    await harness.press_button(anna, "⚡ Available now…")
    assert harness.last_text(anna).startswith("For how long are you available now?")
    await harness.press_button(anna, "60 min")
    until = start + timedelta(hours=1)
    assert harness.last_text(anna).startswith(f"⚡ You are available now until {_when(until)}.")
    assert f"⚡ Available now until {_clock(until)}: turn off" in [b["text"] for b in harness.buttons(anna)]

    harness.clock.advance(timedelta(minutes=3))
    soon = start + timedelta(minutes=5)
    text = await _available_now_list(harness, olena)
    assert text.startswith("⚡ Available now: sessions starting within 15 minutes")
    assert f"• Anna Koval · Coaching session (50 minutes, {EUR_60}): starts " in text
    assert "(in 2 minutes)" in text
    assert f"⚡ Anna Koval, {format_instant(soon, NEW_YORK, 'en').split(' (')[0].split(', ')[-1]}" in [
        b["text"] for b in harness.buttons(olena)
    ]

    # A 50-minute session no longer fits before the hour ends: nobody is available now.
    harness.clock.set(start + timedelta(minutes=11))
    assert (await _available_now_list(harness, olena)).startswith("Nobody is available right now.")
    harness.clock.set(until)
    await harness.send_text(anna, "/agenda")
    assert "⚡ Available now…" in [b["text"] for b in harness.buttons(anna)]


async def test_an_instant_booking_goes_to_payment_with_a_short_hold_and_turns_it_off(harness: BotHarness) -> None:
    anna, olena, _ = await _world(harness)
    await harness.send_text(anna, "/agenda")
    await harness.press_button(anna, "⚡ Available now…")
    await harness.press_button(anna, "30 min")
    # A 50-minute session does not fit in half an hour.
    assert (await _available_now_list(harness, olena)).startswith("Nobody is available right now.")
    await harness.send_text(anna, "/agenda")
    await harness.press_button(anna, "turn off")
    await harness.press_button(anna, "⚡ Available now…")
    await harness.press_button(anna, "60 min")
    await _available_now_list(harness, olena)
    await harness.press_button(olena, "⚡ Anna Koval")
    async with harness.db() as session:
        booking = (await session.scalars(select(Booking))).one()
        professional = (await session.scalars(select(Professional))).one()
    now = harness.clock.now()
    assert (booking.state, booking.starts_at, booking.hold_expires_at) == ("held", now, now + timedelta(minutes=10))
    assert professional.instant_until is None
    assert "Pay" in " ".join(b["text"] for b in harness.buttons(olena))
    # Stripe refuses a Checkout Session expiring within 30 minutes: the hold is longer there.
    assert instant.hold_minutes(stripe=True) >= 31
    assert (await _available_now_list(harness, olena)).startswith("Nobody is available right now.")
    # The professional turns it off by hand too.
    await harness.send_text(anna, "/agenda")
    await harness.press_button(anna, "⚡ Available now…")
    await harness.press_button(anna, "90 min")
    await harness.press_button(anna, "turn off")
    assert harness.last_text(anna).startswith("Instant sessions are off.")


# --- on PostgreSQL (row locks and the exclusion constraint are real there) -----------------------------


async def test_cancel_rebook_and_move_on_postgresql(pg_harness: BotHarness) -> None:
    harness = pg_harness
    anna, olena, service_id = await _world(harness)
    booking_id = await _paid(harness, olena, service_id, TUE_0900)
    await _cancel_for_illness(harness, anna, TUE_0900)
    await harness.run_worker()
    offered = _offered(harness, olena)
    await harness.press(olena, offered[0])
    rebooked = await _booking(harness, booking_id)
    assert (rebooked.state, rebooked.starts_at) == ("confirmed", instant_from_code(offered[0].at))
    assert (await _payment(harness, booking_id)).refund_status is None

    other = await _paid(harness, olena, service_id, THU_0900)
    proposed = await _propose(harness, anna, THU_0900)
    await harness.run_worker()
    await harness.press_button(olena, "Accept the new time")
    assert (await _booking(harness, other)).starts_at == proposed
