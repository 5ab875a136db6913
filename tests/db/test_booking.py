"""The booking life cycle on SQLite and PostgreSQL: every legal and illegal transition, refunds from the
copied policy, reschedules, expiry, the audit log, ownership, and the notifications each change queues."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import booking as bookings
from bot.services import reminders
from bot.services.clock import FrozenClock
from bot.services.errors import (
    HoldExpired,
    IllegalTransition,
    NotAllowed,
    NotFound,
    NotStartedYet,
    RescheduleLimitReached,
    SlotUnavailable,
    TooLateToChange,
)
from bot.services.policy import cancellation_terms
from models import Booking, BookingEvent, BookingState, OutboxMessage, Professional
from tests.db.booking_world import PRO_CHAT, World, build_world, force_booking, kyiv, states, user

TUESDAY_10 = kyiv("2026-12-01 10:00")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_slots.py explains.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> World:
    return await build_world(sessions, clock.now())


async def _hold(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    now: datetime,
    starts: datetime = TUESDAY_10,
    *,
    service_id: int | None = None,
    client_id: int | None = None,
    notes: str | None = None,
) -> Booking:
    async with sessions.begin() as session:
        client = await user(session, client_id or world.client_id)
        return await bookings.hold(
            session,
            client=client,
            service_id=service_id or world.paid_id,
            starts_at=starts,
            now=now,
            notes=notes,
        )


async def _outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    """The notifications a change queued; its reminders are tested in tests/bot/test_reminders.py."""
    async with sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind.not_in(reminders.ALL_KINDS))
        return list((await session.scalars(query.order_by(OutboxMessage.id))).all())


async def _chats(sessions: async_sessionmaker[AsyncSession], rows: list[OutboxMessage]) -> list[int]:
    """The Telegram chat of each row's recipient (rows name a user; the chat is looked up at send time)."""
    async with sessions() as session:
        return [(await user(session, row.recipient_id)).telegram_id for row in rows]


async def _events(
    sessions: async_sessionmaker[AsyncSession], booking_id: int
) -> list[tuple[str, str | None, str, int]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(BookingEvent).where(BookingEvent.booking_id == booking_id).order_by(BookingEvent.id)
        )
        return [(e.action, e.from_state, e.to_state, e.version) for e in rows]


async def _get(sessions: async_sessionmaker[AsyncSession], booking_id: int) -> Booking:
    async with sessions() as session:
        return await session.get_one(Booking, booking_id)


# --- hold and confirm ------------------------------------------------------------------------------


async def test_a_paid_hold_reserves_the_slot_until_it_expires(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    held = await _hold(sessions, world, clock.now(), notes="  captions, please  ")
    assert held.state == BookingState.HELD
    assert held.hold_expires_at == clock.now() + timedelta(minutes=30)
    assert (held.starts_at, held.ends_at) == (TUESDAY_10, TUESDAY_10 + timedelta(minutes=50))
    assert (held.block_starts_at, held.block_ends_at) == (TUESDAY_10, TUESDAY_10 + timedelta(minutes=60))
    assert (held.price_minor, held.currency, held.client_notes) == (6000, "EUR", "captions, please")
    assert held.policy["free_cancellation_hours"] == 72 and held.policy["late_cancellation_refund_percent"] == 50
    assert await _events(sessions, held.id) == [("hold", None, "held", 1)]
    # The professional hears of a booking once it is confirmed, not while the client pays.
    assert await _outbox(sessions) == []

    with pytest.raises(SlotUnavailable) as taken:
        await _hold(sessions, world, clock.now(), client_id=world.other_client_id)
    assert taken.value.reason == "taken"
    # An hour either side, then (a tie at 23 hours broken towards the earlier) Monday 11:00.
    assert taken.value.nearest == [kyiv("2026-11-30 11:00"), kyiv("2026-12-01 09:00"), kyiv("2026-12-01 11:00")]


async def test_a_free_service_is_confirmed_at_once_and_the_professional_told(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booked = await _hold(sessions, world, clock.now(), service_id=world.free_id, notes="pacing")
    assert (booked.state, booked.paid_with, booked.hold_expires_at, booked.version) == (
        BookingState.CONFIRMED,
        "free",
        None,
        2,
    )
    assert await _events(sessions, booked.id) == [("hold", None, "held", 1), ("confirm", "held", "confirmed", 2)]
    [message] = await _outbox(sessions)
    assert await _chats(sessions, [message]) == [PRO_CHAT]
    assert (message.key, message.kind, message.subject_type, message.subject_id) == (
        f"booking_new_pro:{booked.id}:2:{message.recipient_id}",
        "booking_new_pro",
        "booking",
        booked.id,
    )
    # Her language and zone are read when it is sent; these only stand in while she has none.
    assert (message.fallback_locale, message.fallback_zone) == ("uk", "Europe/Kyiv")
    assert message.payload["client_name"] == "Olena"
    assert message.payload["professional_zone"] == "Europe/Kyiv"
    assert message.payload["client_zone"] == "America/New_York"
    assert message.payload["notes"] == "pacing"
    assert message.payload["starts_at"] == TUESDAY_10.isoformat()
    assert message.payload["state"] == "confirmed" and message.payload["version"] == 2


@pytest.mark.parametrize(
    ("starts", "reason"),
    [
        (kyiv("2026-12-01 13:00"), "not_offered"),  # outside the hours
        (kyiv("2026-12-01 10:10"), "not_offered"),  # not on the 30-minute grid
        (kyiv("2026-11-23 10:00"), "not_offered"),  # inside the minimum notice
        (kyiv("2027-02-01 10:00"), "not_offered"),  # beyond the horizon
    ],
)
async def test_a_slot_that_is_not_offered_is_refused_with_the_nearest_free_times(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, starts: datetime, reason: str
) -> None:
    with pytest.raises(SlotUnavailable) as refused:
        await _hold(sessions, world, clock.now(), starts)
    assert refused.value.reason == reason
    assert len(refused.value.nearest) == 3
    assert await states(sessions) == []


@pytest.mark.parametrize("which", ["retired_id", "unverified_service_id"])
async def test_unknown_retired_or_unlisted_services_cannot_be_booked(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, which: str
) -> None:
    with pytest.raises(NotFound):
        await _hold(sessions, world, clock.now(), service_id=getattr(world, which))
    with pytest.raises(NotFound):
        await _hold(sessions, world, clock.now(), service_id=999_999)


async def test_a_late_payment_still_confirms_a_hold_nobody_has_taken(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    held = await _hold(sessions, world, clock.now())
    later = clock.now() + timedelta(minutes=45)
    async with sessions.begin() as session:
        confirmed = await bookings.confirm(session, held.id, now=later, paid_with="stripe")
    assert (confirmed.state, confirmed.paid_with) == (BookingState.CONFIRMED, "stripe")
    # Paid elsewhere (a webhook), so the client's confirmation and calendar file go through the outbox.
    rows = await _outbox(sessions)
    assert list(zip([row.kind for row in rows], await _chats(sessions, rows), strict=True)) == [
        ("booking_new_pro", PRO_CHAT),
        (bookings.BOOKING_CONFIRMED_CLIENT, 555),
        (bookings.BOOKING_CALENDAR_CLIENT, 555),
    ]
    assert all((row.subject_type, row.subject_id, row.payload["version"]) == ("booking", held.id, 2) for row in rows)


async def test_an_expired_hold_frees_the_slot_and_cannot_be_confirmed(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    held = await _hold(sessions, world, clock.now())
    later = clock.now() + timedelta(minutes=31)
    # Another client takes the slot before the worker has swept: the overdue hold is expired first.
    taken = await _hold(sessions, world, later, client_id=world.other_client_id)
    assert taken.state == BookingState.HELD
    assert (await _get(sessions, held.id)).state == BookingState.EXPIRED
    [told] = await _outbox(sessions)
    assert await _chats(sessions, [told]) == [555]
    assert (told.kind, told.fallback_locale, told.fallback_zone) == ("hold_expired_client", None, "America/New_York")
    assert told.payload["client_zone"] == "America/New_York" and told.payload["professional_zone"] == "Europe/Kyiv"
    async with sessions.begin() as session:
        with pytest.raises(HoldExpired):
            await bookings.confirm(session, held.id, now=later, paid_with="stripe")


async def test_the_worker_tick_expires_overdue_holds_only(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    first = await _hold(sessions, world, clock.now())
    second = await _hold(sessions, world, clock.now() + timedelta(minutes=20), kyiv("2026-12-02 10:00"))
    async with sessions.begin() as session:
        assert await bookings.expire_holds(session, clock.now() + timedelta(minutes=30)) == 1
    assert await states(sessions) == [(first.id, "expired"), (second.id, "held")]
    async with sessions.begin() as session:
        assert await bookings.expire_holds(session, clock.now() + timedelta(minutes=30)) == 0


# --- every transition ------------------------------------------------------------------------------

ALL_STATES = list(BookingState)
# (action, the states it is legal from)
LEGAL = {
    "confirm": {BookingState.HELD},
    "cancel": {BookingState.HELD, BookingState.CONFIRMED},
    "reschedule": {BookingState.CONFIRMED, BookingState.NO_SHOW},  # no-show: once, by policy
    "complete": {BookingState.CONFIRMED},
    "mark_no_show": {BookingState.CONFIRMED},
}
TO = {
    "confirm": BookingState.CONFIRMED,
    "cancel": BookingState.CANCELLED,
    "reschedule": BookingState.CONFIRMED,
    "complete": BookingState.COMPLETED,
    "mark_no_show": BookingState.NO_SHOW,
}


def _act(action: str, booking_id: int, now: datetime) -> Callable[[AsyncSession], Awaitable[Booking]]:
    async def run(session: AsyncSession) -> Booking:
        if action == "confirm":
            return await bookings.confirm(session, booking_id, now=now, paid_with="stripe")
        if action == "cancel":
            return await bookings.cancel(session, booking_id, by="client", now=now)
        if action == "reschedule":
            return await bookings.reschedule(session, booking_id, kyiv("2026-12-02 10:00"), by="client", now=now)
        if action == "complete":
            return await bookings.complete(session, booking_id, by="professional", now=now)
        return await bookings.mark_no_show(session, booking_id, by="professional", now=now)

    return run


@pytest.mark.parametrize("state", ALL_STATES, ids=str)
@pytest.mark.parametrize("action", list(LEGAL))
async def test_every_transition(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock, state: BookingState, action: str
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, state, clock.now())
    # Closing a session needs it to have begun; the other actions need it ahead.
    now = TUESDAY_10 + timedelta(minutes=5) if action in {"complete", "mark_no_show"} else clock.now()
    async with sessions.begin() as session:
        if state in LEGAL[action]:
            moved = await _act(action, booking_id, now)(session)
            assert moved.state == TO[action]
            assert moved.version == 2
        elif state == BookingState.EXPIRED and action == "confirm":
            with pytest.raises(HoldExpired):
                await _act(action, booking_id, now)(session)
        else:
            with pytest.raises(IllegalTransition) as refused:
                await _act(action, booking_id, now)(session)
            assert (refused.value.booking_id, refused.value.from_state) == (booking_id, state)
    after = await _get(sessions, booking_id)
    assert after.state == (TO[action] if state in LEGAL[action] else state)
    events = await _events(sessions, booking_id)
    assert len(events) == (1 if state in LEGAL[action] else 0)


async def test_sessions_cannot_be_closed_before_they_begin_nor_by_the_client(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    async with sessions.begin() as session:
        with pytest.raises(NotStartedYet):
            await bookings.complete(session, booking_id, by="professional", now=TUESDAY_10 - timedelta(minutes=1))
        with pytest.raises(NotStartedYet):
            await bookings.mark_no_show(session, booking_id, by="professional", now=clock.now())
        with pytest.raises(ValueError, match="only the professional"):
            await bookings.complete(session, booking_id, by="client", now=TUESDAY_10)
        with pytest.raises(ValueError, match="unknown actor"):
            await bookings.cancel(session, booking_id, by="somebody", now=clock.now())


async def test_unknown_bookings_are_not_found(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    async with sessions.begin() as session:
        for action in LEGAL:
            with pytest.raises(NotFound):
                await _act(action, 424242, clock.now())(session)


# --- cancelling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "now", "refund", "free"),
    [
        ("client", kyiv("2026-11-27 09:00"), 6000, True),  # more than 72 hours before
        ("client", kyiv("2026-11-28 10:00"), 6000, True),  # exactly 72 hours before: still free
        ("client", kyiv("2026-11-30 10:00"), 3000, False),  # a day before: 50 %
        ("professional", kyiv("2026-12-01 09:00"), 6000, True),  # the professional: always in full
        ("system", kyiv("2026-12-01 09:00"), 6000, True),
    ],
)
async def test_cancelling_refunds_what_the_copied_policy_gives(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
    by: str,
    now: datetime,
    refund: int,
    free: bool,
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    # The professional changes their policy afterwards: the booking keeps the one it was made under.
    async with sessions.begin() as session:
        (await session.get_one(Professional, world.pro_id)).late_cancellation_refund_percent = 0
    async with sessions.begin() as session:
        terms = cancellation_terms(
            await bookings.client_booking(session, booking_id, await user(session, 1)), by=by, now=now
        )
        assert (terms.refund_minor, terms.free, terms.paid_minor) == (refund, free, 6000)
        cancelled = await bookings.cancel(session, booking_id, by=by, now=now, reason="ill")
        assert (cancelled.state, cancelled.refund_minor, cancelled.cancelled_by) == (BookingState.CANCELLED, refund, by)
    rows = await _outbox(sessions)
    kinds = [
        (m.kind, chat, m.payload.get("refund_minor"))
        for m, chat in zip(rows, await _chats(sessions, rows), strict=True)
    ]
    expected = [] if by == "professional" else [("booking_cancelled_pro", PRO_CHAT, refund)]
    if by != "client":
        expected.append(("booking_cancelled_client", 555, refund))
    assert kinds == expected


async def test_cancelling_a_hold_or_a_free_booking_refunds_nothing_and_a_started_one_is_too_late(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    held = await _hold(sessions, world, clock.now())
    free = await force_booking(
        sessions, world, kyiv("2026-12-02 10:00"), BookingState.CONFIRMED, clock.now(), paid_with="free"
    )
    started = await force_booking(sessions, world, kyiv("2026-12-03 10:00"), BookingState.CONFIRMED, clock.now())
    async with sessions.begin() as session:
        assert (await bookings.cancel(session, held.id, by="client", now=clock.now())).refund_minor == 0
        assert (await bookings.cancel(session, free, by="client", now=clock.now())).refund_minor == 0
        with pytest.raises(TooLateToChange):
            await bookings.cancel(session, started, by="client", now=kyiv("2026-12-03 10:00"))
    # A hold the professional never heard of is cancelled quietly; the confirmed free session is not.
    assert [(m.kind, m.payload["booking_id"]) for m in await _outbox(sessions)] == [("booking_cancelled_pro", free)]


# --- rescheduling ----------------------------------------------------------------------------------


async def test_a_reschedule_moves_the_booking_atomically_and_frees_the_old_slot(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    # Half an hour later overlaps its own buffered interval: its own slot must not block the move.
    async with sessions.begin() as session:
        moved = await bookings.reschedule(session, booking_id, kyiv("2026-12-01 10:30"), by="client", now=clock.now())
        assert (moved.starts_at, moved.ends_at) == (kyiv("2026-12-01 10:30"), kyiv("2026-12-01 11:20"))
        assert (moved.version, moved.reschedule_count, moved.state) == (2, 1, BookingState.CONFIRMED)
    # 10:00 would overlap the moved booking (10:30 start); 09:00 and 09:30 are free again.
    async with sessions.begin() as session:
        other = await bookings.hold(
            session,
            client=await user(session, world.other_client_id),
            service_id=world.paid_id,
            starts_at=kyiv("2026-12-01 09:30"),
            now=clock.now(),
        )
        assert other.state == BookingState.HELD
    [told] = await _outbox(sessions)
    assert (told.kind, told.payload["previous_starts_at"], told.payload["starts_at"]) == (
        "booking_rescheduled_pro",
        TUESDAY_10.isoformat(),
        kyiv("2026-12-01 10:30").isoformat(),
    )
    assert await _events(sessions, booking_id) == [("reschedule", "confirmed", "confirmed", 2)]


async def test_reschedule_limits_and_windows(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    taken = await force_booking(sessions, world, kyiv("2026-12-04 10:00"), BookingState.CONFIRMED, clock.now())
    async with sessions.begin() as session:
        with pytest.raises(SlotUnavailable) as clash:
            await bookings.reschedule(session, booking_id, kyiv("2026-12-04 10:00"), by="client", now=clock.now())
        assert clash.value.reason == "taken" and clash.value.nearest
    async with sessions.begin() as session:
        await bookings.reschedule(session, booking_id, kyiv("2026-12-02 10:00"), by="client", now=clock.now())
        await bookings.reschedule(session, booking_id, kyiv("2026-12-07 10:00"), by="client", now=clock.now())
    async with sessions.begin() as session:
        with pytest.raises(RescheduleLimitReached):
            await bookings.reschedule(session, booking_id, kyiv("2026-12-08 10:00"), by="client", now=clock.now())
        # The professional is not bound by the client's limit, nor by the window.
        moved = await bookings.reschedule(
            session, booking_id, kyiv("2026-12-08 10:00"), by="professional", now=kyiv("2026-12-07 09:00")
        )
        assert moved.reschedule_count == 2
    async with sessions.begin() as session:
        with pytest.raises(TooLateToChange):
            # Inside the 72-hour window the client can no longer move it.
            await bookings.reschedule(
                session, taken, kyiv("2026-12-09 10:00"), by="client", now=kyiv("2026-12-02 10:00")
            )
    kinds = [m.kind for m in await _outbox(sessions)]
    assert kinds == ["booking_rescheduled_pro", "booking_rescheduled_pro", "booking_rescheduled_client"]


async def test_a_missed_session_may_be_rebooked_once_under_the_one_free_reschedule_rule(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    after = TUESDAY_10 + timedelta(hours=1)
    async with sessions.begin() as session:
        await bookings.mark_no_show(session, booking_id, by="professional", now=after)
        rebooked = await bookings.reschedule(session, booking_id, kyiv("2026-12-08 10:00"), by="client", now=after)
        assert (rebooked.state, rebooked.reschedule_count) == (BookingState.CONFIRMED, 0)
    later = kyiv("2026-12-08 11:00")
    async with sessions.begin() as session:
        await bookings.mark_no_show(session, booking_id, by="professional", now=later)
        with pytest.raises(IllegalTransition):
            await bookings.reschedule(session, booking_id, kyiv("2026-12-15 10:00"), by="client", now=later)
    assert [e[0] for e in await _events(sessions, booking_id)] == ["no_show", "rebook_after_no_show", "no_show"]


# --- the clock's work, ownership, lists ------------------------------------------------------------


async def test_past_sessions_are_completed_a_day_after_they_end(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    ended = TUESDAY_10 + timedelta(minutes=50)
    async with sessions.begin() as session:
        assert await bookings.complete_past_sessions(session, ended + timedelta(hours=23)) == 0
    async with sessions.begin() as session:
        assert await bookings.complete_past_sessions(session, ended + timedelta(hours=24)) == 1
    assert await states(sessions) == [(booking_id, "completed")]
    assert await _events(sessions, booking_id) == [("complete", "confirmed", "completed", 2)]


async def test_ownership_is_checked_for_every_id_from_a_button(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    booking_id = await force_booking(sessions, world, TUESDAY_10, BookingState.CONFIRMED, clock.now())
    async with sessions() as session:
        owner, stranger = await user(session, world.client_id), await user(session, world.other_client_id)
        assert (await bookings.client_booking(session, booking_id, owner)).id == booking_id
        with pytest.raises(NotAllowed):
            await bookings.client_booking(session, booking_id, stranger)
        with pytest.raises(NotFound):
            await bookings.client_booking(session, booking_id + 1000, owner)
        anna = await session.get_one(Professional, world.pro_id)
        assert (await bookings.professional_booking(session, booking_id, anna)).id == booking_id
        lea = (await session.scalars(select(Professional).where(Professional.slug == "lea-schmidt"))).one()
        with pytest.raises(NotAllowed):
            await bookings.professional_booking(session, booking_id, lea)


async def test_lists_for_the_client_the_professional_and_operators(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    confirmed = await force_booking(sessions, world, kyiv("2026-12-02 10:00"), BookingState.CONFIRMED, now)
    done = await force_booking(sessions, world, kyiv("2026-11-20 10:00"), BookingState.COMPLETED, now)
    cancelled = await force_booking(sessions, world, kyiv("2026-12-03 10:00"), BookingState.CANCELLED, now)
    held = (await _hold(sessions, world, now)).id
    async with sessions() as session:
        client = await user(session, world.client_id)
        upcoming = await bookings.bookings_of_client(session, client, now=now, upcoming=True)
        past = await bookings.bookings_of_client(session, client, now=now, upcoming=False)
        assert [b.id for b in upcoming] == [held, confirmed]
        assert [b.id for b in past] == [cancelled, done]
        assert upcoming[0].service.name == "Coaching 50"
        # Once the hold's time is up it is no longer upcoming.
        later = await bookings.bookings_of_client(session, client, now=now + timedelta(minutes=31), upcoming=True)
        assert [b.id for b in later] == [confirmed]
        anna = await session.get_one(Professional, world.pro_id)
        week = await bookings.agenda(session, anna, kyiv("2026-11-16 00:00"), kyiv("2026-12-07 00:00"))
        assert [b.id for b in week] == [done, held, confirmed]
        assert [b.id for b in await bookings.pending_holds(session, now)] == [held]
        assert await bookings.pending_holds(session, now + timedelta(minutes=30)) == []
