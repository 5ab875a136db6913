"""Reminders: an injected clock walks a booking through its life and each message goes out exactly once;
a move or a cancellation between scheduling and sending stops the stale ones; the buttons on a reminder
act on the booking; a text answering a reminder offers the free times nearest to what it asks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.updates import Person
from bot.services import booking as booking_service
from bot.services import reminders
from handlers.client_callbacks import MoveCb, MoveYesCb
from handlers.reviews import ReviewCb
from models import Booking, BookingEvent, BookingState, OutboxMessage, Professional, Review
from tests.bot.catalog_data import Catalog, booked, client, kyiv_time, labels, last, press_label, with_catalog
from tests.bot.harness import BotHarness

# The clock starts on Monday 2026-11-23 08:00 Kyiv; the session is on Thursday at 10:00 Kyiv.
SESSION = kyiv_time("2026-11-26 10:00")


@pytest.fixture
async def catalog(harness: BotHarness) -> Catalog:
    return await with_catalog(harness)


async def _kinds_sent(harness: BotHarness) -> list[tuple[str, int]]:
    """(kind, recipient chat) of every outbox row sent so far, in the order sent."""
    async with harness.db() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_not(None))
            .order_by(OutboxMessage.sent_at, OutboxMessage.id)
        )
        return [(row.kind, row.chat_id or 0) for row in rows]


async def _walk_to(harness: BotHarness, instant: datetime) -> int:
    """Move the clock to `instant`, run the worker twice; how many messages the bot sent meanwhile."""
    harness.clock.advance(instant - harness.clock.now())
    mark = harness.mark()
    await harness.run_worker()
    await harness.run_worker()
    return len(harness.messages_since(mark))


async def _linked_anna(harness: BotHarness) -> Person:
    anna = harness.person("Anna")
    await harness.link_professional("anna-koval", anna)
    return anna


async def test_a_booking_gets_each_reminder_once_through_its_life(harness: BotHarness, catalog: Catalog) -> None:
    anna = await _linked_anna(harness)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await harness.run_worker()
    start_kinds = await _kinds_sent(harness)

    assert await _walk_to(harness, SESSION - timedelta(hours=24, minutes=1)) == 0
    assert await _walk_to(harness, SESSION - timedelta(hours=24)) == 1
    assert "Reminder: your session starts in 24 hours." in last(harness, olena)
    assert "When: Thu, Nov 26, 2026, 10:00 AM" in last(harness, olena)
    # Anna's sessions move only until 72 h before: no Reschedule that could only refuse.
    assert labels(harness, olena) == ["✅ I'll be there", "⏱ Running late", "✖ Cancel"]

    assert await _walk_to(harness, SESSION - timedelta(hours=1)) == 2
    assert "starts in 1 hour" in last(harness, olena)
    assert "Olena" in last(harness, anna)  # the heads-up names the client (in Anna's own language)

    assert await _walk_to(harness, SESSION) == 1
    assert "Your session is starting now." in last(harness, olena)
    assert "https://meet.example.org/anna-koval" in last(harness, olena)

    # The clock completes the session a day after it ended; then the review prompt, once.
    assert await _walk_to(harness, SESSION + timedelta(hours=25)) == 1
    async with harness.db() as session:
        assert (await session.get_one(Booking, booking_id)).state == BookingState.COMPLETED
    assert "How was your session" in last(harness, olena)
    assert await _walk_to(harness, SESSION + timedelta(days=5)) == 0

    sent = [kind for kind, _ in await _kinds_sent(harness)][len(start_kinds) :]
    assert sent == [
        reminders.REMINDER_CLIENT,
        reminders.REMINDER_CLIENT,
        reminders.REMINDER_PRO,
        reminders.REMINDER_START,
        reminders.REVIEW_PROMPT,
    ]


async def test_a_booking_made_late_skips_the_reminders_already_past(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    # Five hours ahead: no "24 h before"; the 1 h one and "starting now" remain.
    booking_id = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-23 13:30"))
    async with harness.db() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.subject_id == booking_id))).all()
    planned = sorted(
        (row.kind, row.payload.get("offset_minutes"))
        for row in rows
        if row.kind in reminders.ALL_KINDS and row.voided_at is None
    )
    assert planned == [(reminders.REMINDER_CLIENT, 60), (reminders.REMINDER_START, None)]


async def test_offsets_come_from_the_professionals_catalog_entry(harness: BotHarness, catalog: Catalog) -> None:
    async with harness.db() as session:
        (await session.get_one(Professional, catalog.anna)).reminders = [2880, 180, 30]
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, SESSION)
    async with harness.db() as session:
        rows = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == reminders.REMINDER_CLIENT))
        ).all()
    assert sorted(row.due_at for row in rows) == [
        SESSION - timedelta(minutes=2880),
        SESSION - timedelta(minutes=180),
        SESSION - timedelta(minutes=30),
    ]


async def test_a_move_between_scheduling_and_sending_stops_the_stale_reminder(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await harness.run_worker()
    later = kyiv_time("2026-11-27 10:00")
    async with harness.db() as session:
        await booking_service.reschedule(session, booking_id, later, by="client", now=harness.clock.now())

    # Thursday's 24 h reminder is void; Friday's comes a day later, once.
    assert await _walk_to(harness, SESSION - timedelta(hours=24)) == 0
    assert await _walk_to(harness, later - timedelta(hours=24)) == 1
    assert "Fri, Nov 27, 2026, 10:00 AM" in last(harness, olena)
    async with harness.db() as session:
        voided = (await session.scalars(select(OutboxMessage).where(OutboxMessage.voided_at.is_not(None)))).all()
    assert {row.kind for row in voided} >= {reminders.REMINDER_CLIENT, reminders.REMINDER_START}


async def test_a_change_the_outbox_did_not_hear_of_is_caught_right_before_sending(
    harness: BotHarness, catalog: Catalog
) -> None:
    """The worker's last look: a row whose booking moved on (version) or whose moment passed is dropped."""
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await harness.run_worker()
    async with harness.db() as session:
        booking = await session.get_one(Booking, booking_id)
        booking.version += 1  # as if changed by a writer that forgot to void its reminders
    assert await _walk_to(harness, SESSION - timedelta(hours=24)) == 0
    async with harness.db() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == reminders.REMINDER_CLIENT).order_by(OutboxMessage.due_at)
        )
        assert row is not None and row.voided_at is not None and row.sent_at is None
        assert "version" in (row.void_reason or "")


async def test_no_one_hour_reminder_after_the_start(harness: BotHarness, catalog: Catalog) -> None:
    """A worker that was down over the reminder's time does not send "in 1 hour" once the session began."""
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, SESSION)
    await harness.run_worker()
    assert await _walk_to(harness, SESSION + timedelta(minutes=5)) == 1
    assert "starting now" in last(harness, olena)
    async with harness.db() as session:
        reasons = {
            row.void_reason
            for row in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == reminders.REMINDER_CLIENT)
            )
        }
    assert reasons == {"too late to make sense"}


async def test_a_cancellation_voids_every_reminder(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await harness.run_worker()
    async with harness.db() as session:
        await booking_service.cancel(session, booking_id, by="client", now=harness.clock.now())
    assert await _walk_to(harness, SESSION + timedelta(days=3)) == 0


async def test_a_hold_warns_ten_minutes_before_it_runs_out(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, SESSION, paid_with=None)
    assert await _walk_to(harness, harness.clock.now() + timedelta(minutes=19)) == 0
    assert await _walk_to(harness, harness.clock.now() + timedelta(minutes=1)) == 1
    assert "The time held for you runs out: Mon, Nov 23, 2026, 8:30 AM" in last(harness, olena)
    # Paid meanwhile in a second hold: its warning is void once confirmed.
    other = await booked(harness, olena, catalog.coaching, kyiv_time("2026-11-27 10:00"), paid_with=None)
    async with harness.db() as session:
        await booking_service.confirm(session, other, now=harness.clock.now(), paid_with="stripe")
    await harness.run_worker()
    mark = harness.mark()
    await _walk_to(harness, harness.clock.now() + timedelta(minutes=25))
    assert not any("runs out" in message.text for message in harness.messages_since(mark, olena))


async def test_ill_be_there_tells_the_professional_on_the_day_before_only(
    harness: BotHarness, catalog: Catalog
) -> None:
    anna = await _linked_anna(harness)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await harness.run_worker()
    await _walk_to(harness, SESSION - timedelta(hours=24))
    await press_label(harness, olena, "I'll be there")
    assert harness.popup() == "Thanks! Anna Koval knows you'll be there."
    mark = harness.mark()
    await press_label(harness, olena, "I'll be there")
    await harness.run_worker()
    assert len(harness.messages_since(mark, anna)) == 1

    await _walk_to(harness, SESSION - timedelta(hours=1))
    async with harness.db() as session:
        events = (await session.scalars(select(BookingEvent).where(BookingEvent.booking_id == booking_id))).all()
    assert [e.action for e in events].count("attendance") == 1


async def test_running_late_tells_the_professional_at_once(harness: BotHarness, catalog: Catalog) -> None:
    anna = await _linked_anna(harness)
    olena = await client(harness, zone="Europe/Kyiv")
    await booked(harness, olena, catalog.office, SESSION)
    await _walk_to(harness, SESSION - timedelta(hours=1))
    await press_label(harness, olena, "Running late")
    assert labels(harness, olena) == ["5 minutes", "10 minutes", "15 minutes"]
    await harness.send_text(olena, "twenty")
    assert "number from 1 to 180" in last(harness, olena)
    await harness.send_text(olena, "20")
    assert "Anna Koval knows you'll be about 20 minutes late." in last(harness, olena)
    assert "Khreshchatyk St 22" in last(harness, olena)
    mark = harness.mark()
    await harness.run_worker()
    assert len(harness.messages_since(mark, anna)) == 1
    async with harness.db() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == reminders.RUNNING_LATE_PRO))
    assert row is not None and row.sent_at is not None and row.payload["late_minutes"] == 20


async def _free_to_move_until_12_hours_before(harness: BotHarness, catalog: Catalog) -> None:
    async with harness.db() as session:
        (await session.get_one(Professional, catalog.anna)).free_cancellation_hours = 12


async def test_a_reminder_offers_reschedule_only_while_the_policy_allows_it_when_sent(
    harness: BotHarness, catalog: Catalog
) -> None:
    await _free_to_move_until_12_hours_before(harness, catalog)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await harness.run_worker()

    # 24 h before, outside the 12 h window: Reschedule is there.
    assert await _walk_to(harness, SESSION - timedelta(hours=24)) == 1
    assert labels(harness, olena) == ["✅ I'll be there", "⏱ Running late", "🗓 Reschedule", "✖ Cancel"]
    assert "ask for another time" in last(harness, olena)

    # 1 h before, inside the window: Cancel stays, Reschedule is gone, and so is the hint to ask for a time.
    await _walk_to(harness, SESSION - timedelta(hours=1))
    assert "starts in 1 hour" in last(harness, olena)
    assert labels(harness, olena) == ["✅ I'll be there", "⏱ Running late", "✖ Cancel"]
    assert "ask for another time" not in last(harness, olena)

    # The older reminder's Reschedule still answers with the reason.
    await harness.press(olena, MoveCb(id=booking_id))
    assert "can't be moved any more" in last(harness, olena)

    # At the start nothing can move either.
    await _walk_to(harness, SESSION)
    assert "Your session is starting now." in last(harness, olena)
    assert not any("Reschedule" in label for label in labels(harness, olena))


async def test_a_reminder_for_a_session_moved_as_often_as_allowed_has_no_reschedule(
    harness: BotHarness, catalog: Catalog
) -> None:
    await _free_to_move_until_12_hours_before(harness, catalog)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    async with harness.db() as session:
        booking = await session.get_one(Booking, booking_id)
        booking.reschedule_count = 2  # Anna allows two moves
    await harness.run_worker()

    assert await _walk_to(harness, SESSION - timedelta(hours=24)) == 1
    assert "Reminder: your session starts in 24 hours." in last(harness, olena)
    assert labels(harness, olena) == ["✅ I'll be there", "⏱ Running late", "✖ Cancel"]
    # The menu a reply that is not a time gets offers no Reschedule either.
    await harness.send_text(olena, "thanks, see you!")
    assert labels(harness, olena) == ["✖ Cancel", "⏱ Running late", "My sessions"]
    # A time asked for still gets the policy's reason.
    await harness.send_text(olena, "tomorrow at 2:30pm")
    assert "the most Anna Koval allows" in last(harness, olena)


async def test_a_reply_to_a_reminder_offers_the_nearest_free_times_and_one_tap_moves(
    harness: BotHarness, catalog: Catalog
) -> None:
    await _free_to_move_until_12_hours_before(harness, catalog)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await _walk_to(harness, SESSION - timedelta(hours=24))
    reminder = harness.last_message(olena)
    # Sent on Wednesday 25th at 10:00 Kyiv; on Thursdays Anna's sessions start 9:00-11:00 and 13:30-15:30.
    await harness.feed(harness.updates.text(olena, "tomorrow at 2:30pm", reply_to=reminder))
    assert last(harness, olena).startswith("Free around the time you asked")
    offered = labels(harness, olena)
    assert offered[-1] == "Keep my time" and 2 <= len(offered) <= 7
    assert "Thu, Nov 26, 2026, 2:30 PM (Kyiv, UTC+02:00)" in offered

    # 3 pm is no start of hers: the nearest either side.
    await harness.feed(harness.updates.text(olena, "tomorrow at 3pm", reply_to=reminder))
    assert last(harness, olena).startswith("Nothing is free then.")
    offered = labels(harness, olena)
    assert {"Thu, Nov 26, 2026, 2:30 PM (Kyiv, UTC+02:00)", "Thu, Nov 26, 2026, 3:30 PM (Kyiv, UTC+02:00)"} <= set(
        offered
    )

    await press_label(harness, olena, "Nov 26, 2026, 3:30 PM")
    async with harness.db() as session:
        moved = await session.get_one(Booking, booking_id)
    assert moved.starts_at == kyiv_time("2026-11-26 15:30"), harness.transcript(olena)
    assert any("Moved!" in text for text in harness.texts(olena)[-2:])


async def test_a_time_asked_when_the_policy_forbids_moving_gets_the_reason(
    harness: BotHarness, catalog: Catalog
) -> None:
    """Anna's sessions move only until 72 h before: the 24 h reminder's answer says so, and offers to cancel."""
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, SESSION)
    await _walk_to(harness, SESSION - timedelta(hours=24))
    await harness.send_text(olena, "tomorrow at 2:30pm")
    assert "can't be moved any more" in last(harness, olena)
    assert labels(harness, olena) == ["Cancel it instead", "◀ Back to the session"]


async def test_any_text_within_the_hour_after_a_reminder_is_read_as_an_answer(
    harness: BotHarness, catalog: Catalog
) -> None:
    await _free_to_move_until_12_hours_before(harness, catalog)
    olena = await client(harness)
    await booked(harness, olena, catalog.coaching, SESSION)
    await _walk_to(harness, SESSION - timedelta(hours=24))
    await harness.send_text(olena, "thanks, see you!")
    assert last(harness, olena).startswith("What would you like to do about your session?")
    assert labels(harness, olena) == ["🗓 Reschedule", "✖ Cancel", "⏱ Running late", "My sessions"]

    await harness.send_text(olena, "can we do friday morning instead?")
    assert any("Fri, Nov 27" in label for label in labels(harness, olena))

    harness.clock.advance(timedelta(hours=2))
    await harness.send_text(olena, "friday morning")
    assert last(harness, olena).startswith("Sorry, I didn't understand that.")


async def test_nothing_free_then_says_so_and_shows_the_nearest(harness: BotHarness, catalog: Catalog) -> None:
    await _free_to_move_until_12_hours_before(harness, catalog)
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await _walk_to(harness, SESSION - timedelta(hours=24))
    # Saturday: Anna does not work weekends.
    await harness.send_text(olena, "saturday at 11")
    assert last(harness, olena).startswith("Nothing is free then.")
    offered = [label for label in labels(harness, olena) if label != "Keep my time"]
    assert 1 <= len(offered) <= 6
    assert all(MoveYesCb.unpack(button["callback_data"]).id == booking_id for button in harness.buttons(olena)[:-1])


async def test_review_after_completion_once_editable_for_a_day_and_shown_on_the_profile(
    harness: BotHarness, catalog: Catalog
) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await _walk_to(harness, SESSION + timedelta(hours=25))
    assert labels(harness, olena) == ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]
    await press_label(harness, olena, "⭐⭐⭐⭐")
    assert labels(harness, olena) == ["Skip"]
    await harness.send_text(olena, "Clear and kind.")
    await press_label(harness, olena, "⭐⭐⭐⭐⭐")  # changed her mind the same day
    await press_label(harness, olena, "Skip")
    async with harness.db() as session:
        (review,) = (await session.scalars(select(Review).where(Review.booking_id == booking_id))).all()
    assert (review.rating, review.comment) == (5, "Clear and kind.")

    harness.clock.advance(timedelta(hours=25))
    await harness.press(olena, ReviewCb(id=booking_id, r=3))
    assert harness.popup() == "This review can't be changed any more."

    await harness.send_text(olena, "/start")
    await press_label(harness, olena, "Anna Koval")
    profile = last(harness, olena)
    assert "★ 5.0 (1 review)" in profile and "“Clear and kind.”" in profile


async def test_cancel_on_a_reminder_shows_the_refund_first(harness: BotHarness, catalog: Catalog) -> None:
    olena = await client(harness)
    booking_id = await booked(harness, olena, catalog.coaching, SESSION)
    await _walk_to(harness, SESSION - timedelta(hours=24))
    await press_label(harness, olena, "Cancel")
    assert last(harness, olena).startswith("Cancel this session?")
    assert "50%" in last(harness, olena)  # inside Anna's 72 h: half back, as her policy says
    async with harness.db() as session:
        assert (await session.get_one(Booking, booking_id)).state == BookingState.CONFIRMED
    await press_label(harness, olena, "Yes, cancel it")
    async with harness.db() as session:
        assert (await session.get_one(Booking, booking_id)).state == BookingState.CANCELLED
    assert await _walk_to(harness, SESSION + timedelta(days=3)) == 0
