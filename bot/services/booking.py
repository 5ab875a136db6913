"""The booking life cycle (DESIGN.md, "Booking states"): hold, confirm, cancel, reschedule, complete,
no-show, expiry, and the lists the chat shows.

    held --confirm--> confirmed --complete--> completed
      |                  |  \\--mark_no_show--> no_show --(one free rebooking, by policy)--> confirmed
      |                  \\--cancel--> cancelled
      |--cancel--> cancelled
      \\--expire--> expired

Only held and confirmed bookings occupy the calendar. The slot engine's check comes first, for a
friendly answer; the database has the last word (exclusion constraint on PostgreSQL, triggers on
SQLite), and a write it refuses becomes the same `SlotUnavailable` with the nearest free times. Every
change bumps `version`, appends a `BookingEvent` and writes the messages the other party must get to
the outbox, all in the caller's transaction.

Writers that take or give back a professional's time (hold, reschedule, cancel) go through
bot.services.guard: they lock the calendar (a new booking shares the lock with other new bookings, the
database deciding between them), then decide on what they read under that lock; what the
person was shown travels with the call (`expected_version`, `expected_refund_percent`) and a
difference raises `BookingChanged` rather than acting on a stale screen. The rules a screen previews
(how many moves are left, a second press of Confirm) live here too, so the chat only words them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BindParameter, Select, Table, and_, bindparam, insert, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ORMOption
from sqlalchemy.orm.session import make_transient_to_detached

from bot.services import credits, outbox, reminders
from bot.services.availability import is_offered, nearest_free_slots
from bot.services.booking_view import booking_view
from bot.services.errors import (
    BookingChanged,
    HoldExpired,
    IllegalTransition,
    NotAllowed,
    NotFound,
    NotStartedYet,
    RescheduleLimitReached,
    SlotUnavailable,
    TooLateToChange,
)
from bot.services.guard import guarded
from bot.services.payments import records as payment_records
from bot.services.policy import (
    Actor,
    PaidWith,
    Policy,
    RescheduleRefusal,
    actor,
    can_reschedule,
    cancellation_terms,
)
from bot.services.users import user_for_chat
from models import ACTIVE_STATES, Booking, BookingEvent, BookingState, Professional, Service, User
from models.base import UTCDateTime

MAX_NOTES = 1000
NEAREST = 3
# A session is completed by the clock this long after it ended, leaving the professional time to
# mark a no-show first.
AUTO_COMPLETE_AFTER = timedelta(hours=24)
# Payments that confirm a booking outside the client's chat (a webhook): the confirmation goes out
# through the outbox. Free and credit bookings are confirmed by the client's own press, answered in chat.
CONFIRMED_ELSEWHERE = frozenset({PaidWith.STRIPE})

# Outbox subject type and the kinds of message this service queues (rendered by handlers/).
SUBJECT = "booking"
BOOKING_CONFIRMED_CLIENT = "booking_confirmed_client"
BOOKING_CALENDAR_CLIENT = "booking_calendar_client"
BOOKING_RESCHEDULED_CLIENT = "booking_rescheduled_client"
# Queued messages a change makes stale, voided in the change's transaction: a confirmation, its
# calendar file or a "moved" notice still waiting when the session is cancelled; a confirmation or
# calendar file showing the old time after a move.
STALE_AFTER_CANCEL = (BOOKING_CONFIRMED_CLIENT, BOOKING_CALENDAR_CLIENT, BOOKING_RESCHEDULED_CLIENT)
STALE_AFTER_RESCHEDULE = (BOOKING_CONFIRMED_CLIENT, BOOKING_CALENDAR_CLIENT)

# Built once: a loader option is a new object to build, and to compare in the cache key, on every call.
_SERVICE_LOADED: tuple[ORMOption, ...] = (joinedload(Service.professional),)
_LOADED: tuple[ORMOption, ...] = (
    selectinload(Booking.service),
    selectinload(Booking.professional),
    selectinload(Booking.client),
    selectinload(Booking.events),
)


# --- reading ---------------------------------------------------------------------------------------


async def _load(session: AsyncSession, booking_id: int) -> Booking:
    """The booking, locked for the rest of the transaction (PostgreSQL; SQLite's writer lock covers it)."""
    booking = await session.get(
        Booking, booking_id, with_for_update=True, populate_existing=True, options=list(_LOADED)
    )
    if booking is None:
        raise NotFound("booking", booking_id)
    return booking


async def _owned(session: AsyncSession, booking_id: int, owner: Callable[[Booking], bool], whose: str) -> Booking:
    booking = await session.get(Booking, booking_id, options=list(_LOADED))
    if booking is None:
        raise NotFound("booking", booking_id)
    if not owner(booking):
        raise NotAllowed(f"booking {booking_id} is not {whose}")
    return booking


async def client_booking(session: AsyncSession, booking_id: int, client: User) -> Booking:
    """The booking if `client` made it; NotFound or NotAllowed otherwise (callback data is untrusted)."""
    return await _owned(session, booking_id, lambda b: b.client_id == client.id, "this client's")


async def professional_booking(session: AsyncSession, booking_id: int, professional: Professional) -> Booking:
    """The booking if it is with `professional`; NotFound or NotAllowed otherwise."""
    return await _owned(session, booking_id, lambda b: b.professional_id == professional.id, "with this professional")


def _live_hold(now: datetime | BindParameter[datetime]) -> Any:
    """Held bookings whose hold has not run out (an expired hold is free even before the worker says so)."""
    return and_(
        Booking.state == BookingState.HELD,
        or_(Booking.hold_expires_at.is_(None), Booking.hold_expires_at > now),
    )


async def bookings_of_client(
    session: AsyncSession, client: User, *, now: datetime, upcoming: bool, limit: int = 20
) -> list[Booking]:
    """Upcoming (live holds and confirmed sessions not yet over, soonest first) or past (the rest,
    newest first)."""
    current = or_(_live_hold(now), and_(Booking.state == BookingState.CONFIRMED, Booking.ends_at > now))
    query = select(Booking).options(*_LOADED).where(Booking.client_id == client.id)
    if upcoming:
        query = query.where(current).order_by(Booking.starts_at, Booking.id)
    else:
        query = query.where(~current).order_by(Booking.starts_at.desc(), Booking.id.desc())
    return list((await session.scalars(query.limit(limit))).all())


def _clashes_statement() -> Select[Booking]:
    """A client's live sessions overlapping a range, with its client, range and `now` bound at each call."""
    live = or_(_live_hold(bindparam("now", type_=UTCDateTime())), Booking.state == BookingState.CONFIRMED)
    return (
        select(Booking)
        .options(*_LOADED)
        .where(
            Booking.client_id == bindparam("client_id"),
            live,
            Booking.starts_at < bindparam("ends_at", type_=UTCDateTime()),
            Booking.ends_at > bindparam("starts_at", type_=UTCDateTime()),
        )
        .order_by(Booking.starts_at, Booking.id)
    )


# Built once: the summary before every booking asks it (building it cost more than running it on SQLite).
_CLASHES = _clashes_statement()


async def clashes_of_client(
    session: AsyncSession,
    client: User,
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime,
    exclude_booking_id: int | None = None,
) -> list[Booking]:
    """The client's own live sessions (with any professional) that overlap [starts_at, ends_at): what
    they are warned about before booking or moving a session into that time. Soonest first."""
    query = _CLASHES if exclude_booking_id is None else _CLASHES.where(Booking.id != exclude_booking_id)
    params = {"client_id": client.id, "now": now, "starts_at": starts_at, "ends_at": ends_at}
    return list((await session.scalars(query, params)).all())


def is_own_service(client: User, professional: Professional) -> bool:
    """A professional's own chat booking their own service (refused: nobody is their own client)."""
    return professional.telegram_id is not None and professional.telegram_id == client.telegram_id


async def agenda(session: AsyncSession, professional: Professional, start: datetime, end: datetime) -> list[Booking]:
    """The professional's sessions (held, confirmed, completed, missed) starting in [start, end)."""
    shown = (BookingState.HELD, BookingState.CONFIRMED, BookingState.COMPLETED, BookingState.NO_SHOW)
    query = (
        select(Booking)
        .options(*_LOADED)
        .where(
            Booking.professional_id == professional.id,
            Booking.state.in_(shown),
            Booking.starts_at >= start,
            Booking.starts_at < end,
        )
        .order_by(Booking.starts_at, Booking.id)
    )
    return list((await session.scalars(query)).all())


async def pending_holds(session: AsyncSession, now: datetime) -> list[Booking]:
    """Every hold still waiting for payment, the soonest to expire first."""
    query = select(Booking).options(*_LOADED).where(_live_hold(now)).order_by(Booking.hold_expires_at, Booking.id)
    return list((await session.scalars(query)).all())


# --- changing --------------------------------------------------------------------------------------


def _record(
    booking: Booking,
    to_state: BookingState,
    action: str,
    by: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Move the booking (or keep its state, for a move in time), bump its version, log it."""
    from_state = booking.state
    booking.state = to_state
    booking.version += 1
    booking.updated_at = now
    booking.events.append(
        BookingEvent(
            at=now,
            actor=by,
            action=action,
            from_state=str(from_state),
            to_state=str(to_state),
            version=booking.version,
            detail=detail or {},
        )
    )


def _buffered(professional: Professional, starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    return (
        starts_at - timedelta(minutes=professional.buffer_before_minutes),
        ends_at + timedelta(minutes=professional.buffer_after_minutes),
    )


async def _expire_overdue(session: AsyncSession, now: datetime, professional_id: int | None = None) -> int:
    """Mark holds whose time ran out as expired. The database constraint still counts a held row as
    busy, so this runs before every write that takes a slot, not only on the worker's tick."""
    query = (
        select(Booking)
        .options(*_LOADED)
        .where(Booking.state == BookingState.HELD, Booking.hold_expires_at <= now)
        .order_by(Booking.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if professional_id is not None:
        query = query.where(Booking.professional_id == professional_id)
    expired = list((await session.scalars(query)).all())
    for booking in expired:
        _record(booking, BookingState.EXPIRED, "expire", Actor.SYSTEM, now)
        await _notify_client(session, booking, "hold_expired_client", now)
        await reminders.void(session, booking, [reminders.HOLD_EXPIRING], now, "expired")
        await payment_records.release_checkout(session, booking.id, now)
    await session.flush()
    return len(expired)


async def _unavailable(
    session: AsyncSession,
    professional: Professional,
    service: Service,
    starts_at: datetime,
    now: datetime,
    *,
    taken: bool | None = None,
    exclude_booking_id: int | None = None,
) -> SlotUnavailable:
    """The error for a slot that cannot be had, with the nearest free starts to offer instead."""
    if taken is None:
        block_start, block_end = _buffered(
            professional, starts_at, starts_at + timedelta(minutes=service.duration_minutes)
        )
        clash = select(Booking.id).where(
            Booking.professional_id == professional.id,
            or_(Booking.state == BookingState.CONFIRMED, _live_hold(now)),
            Booking.block_starts_at < block_end,
            Booking.block_ends_at > block_start,
        )
        if exclude_booking_id is not None:
            clash = clash.where(Booking.id != exclude_booking_id)
        taken = (await session.scalar(clash.limit(1))) is not None
    nearest = await nearest_free_slots(
        session, professional, service, starts_at, now, limit=NEAREST, exclude_booking_id=exclude_booking_id
    )
    return SlotUnavailable(starts_at, "taken" if taken else "not_offered", [slot.start for slot in nearest])


@dataclass(frozen=True)
class Booked:
    """What the client's Confirm gave: the booking, and whether an earlier press had already made it."""

    booking: Booking
    again: bool


async def hold(
    session: AsyncSession,
    *,
    client: User,
    service_id: int,
    starts_at: datetime,
    now: datetime,
    notes: str | None = None,
) -> Booking:
    """Reserve a slot for `client` while they pay; a free service is confirmed at once."""
    taken = await _take(session, client, service_id, starts_at, now, notes, find_own=False)
    return taken.booking


async def book(
    session: AsyncSession,
    *,
    client: User,
    service_id: int,
    starts_at: datetime,
    now: datetime,
    notes: str | None = None,
    phone: str | None = None,
    use_credit: bool = False,
) -> Booked:
    """The client's Confirm: `hold`, except that Confirm pressed twice finds the booking the first
    press made (still held or confirmed) instead of calling the client's own slot taken.

    `phone`: a phone session's number, given with consent for this booking (bot/services/phone.py).
    `use_credit`: pay with one of the client's package credits (bot.services.credits) and confirm at
    once; `credits.NoCreditLeft` (nothing booked) when none covers this session any more."""
    return await _take(
        session, client, service_id, starts_at, now, notes, find_own=True, phone=phone, use_credit=use_credit
    )


async def _take(
    session: AsyncSession,
    client: User,
    service_id: int,
    starts_at: datetime,
    now: datetime,
    notes: str | None,
    *,
    find_own: bool,
    phone: str | None = None,
    use_credit: bool = False,
) -> Booked:
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    # Usually in the session already (the handler checked the button's service): no statement then.
    service = await session.get(Service, service_id, options=_SERVICE_LOADED)
    if service is None or not service.active or not service.professional.verified:
        raise NotFound("service", service_id)
    professional = service.professional
    if is_own_service(client, professional):
        raise NotAllowed("own service", service_id)

    # Decided before the lock: how the booking ends up (a free or credit-paid session is confirmed at once).
    paid_with: PaidWith | None = None
    if service.price_minor == 0:
        paid_with = PaidWith.FREE
    elif use_credit:
        paid_with = PaidWith.CREDIT

    async def check_and_write() -> Booked:
        # An overdue hold is free here already (the slot engine ignores it); the database still counts it
        # until it is marked expired, which happens below only when it is in the way.
        if not await is_offered(session, professional, service, starts_at, now):
            # The client's own live booking at this start occupies it too: Confirm pressed twice.
            if find_own and (own := await _own_booking_at(session, client, service.id, starts_at, now)) is not None:
                return Booked(own, again=True)
            raise await _unavailable(session, professional, service, starts_at, now)
        if use_credit and await credits.usable_credit(session, client.id, service.id, starts_at, now) is None:
            raise credits.NoCreditLeft(service.id)
        booking = await _insert_booking(session, client, professional, service, starts_at, now, notes, phone, paid_with)
        if booking is None:
            booking = await _insert_after_expiring(
                session, client, professional, service, starts_at, now, notes, phone, paid_with
            )
        if booking is None:
            # Another booking came between our check and our write (new bookings share the calendar lock):
            # the database decided. It may be this client's own, from a second press of Confirm at once.
            if find_own and (own := await _own_booking_at(session, client, service.id, starts_at, now)) is not None:
                return Booked(own, again=True)
            raise await _unavailable(session, professional, service, starts_at, now, taken=True)
        if paid_with == PaidWith.CREDIT:
            # Checked above; `spend` checks again under the credit's own lock, since new bookings share
            # the calendar lock and another one may have spent the last credit meanwhile.
            await credits.spend(session, client.id, booking, now)
        if paid_with is not None:
            # Written confirmed, in this transaction: no hold warning can exist to void.
            await _announce_confirmed(session, booking, now, paid_with, fresh=True)
            return Booked(booking, again=False)
        await reminders.schedule_hold_warning(session, booking, now)
        return Booked(booking, again=False)

    # On SQLite a refused check writes nothing before it raises, so only a credit's spend (which can still
    # find none) needs the savepoint that takes a booking back with it. A new booking only adds to the
    # calendar: the lock is shared with other new bookings (bot.services.guard).
    return await guarded(
        session, professional.id, check_and_write, sqlite_savepoint=paid_with == PaidWith.CREDIT, shared=True
    )


class _StillTaken(Exception):
    """The second try after expiring overdue holds was refused too (rolls their expiry back)."""


async def _insert_after_expiring(
    session: AsyncSession,
    client: User,
    professional: Professional,
    service: Service,
    starts_at: datetime,
    now: datetime,
    notes: str | None,
    phone: str | None,
    paid_with: PaidWith | None,
) -> Booking | None:
    """The database refused the new booking. A hold past its time still occupies the calendar there
    until it is marked expired: expire the professional's overdue holds and try once more. None when
    the slot is really taken; the expiries are then taken back with their savepoint (the worker's
    tick expires them instead), so a refused write leaves nothing behind."""
    try:
        async with session.begin_nested():
            if not await _expire_overdue(session, now, professional.id):
                raise _StillTaken
            booking = await _insert_booking(
                session, client, professional, service, starts_at, now, notes, phone, paid_with
            )
            if booking is None:
                raise _StillTaken
            return booking
    except _StillTaken:
        return None


async def _insert_hold(
    session: AsyncSession,
    client: User,
    professional: Professional,
    service: Service,
    starts_at: datetime,
    now: datetime,
    notes: str | None,
    phone: str | None = None,
    *,
    detail: dict[str, Any] | None = None,
) -> Booking | None:
    """Write a new hold (`detail` on its event), or None when the database refuses it as overlapping
    another booking."""
    return await _insert_booking(
        session, client, professional, service, starts_at, now, notes, phone, None, detail or {}
    )


async def _insert_booking(
    session: AsyncSession,
    client: User,
    professional: Professional,
    service: Service,
    starts_at: datetime,
    now: datetime,
    notes: str | None,
    phone: str | None,
    paid_with: PaidWith | None,
    hold_detail: dict[str, Any] | None = None,
) -> Booking | None:
    """Write a new booking, or None when the database refuses it as overlapping another booking.

    Without `paid_with` the row is a hold. With it (a free session, or one paid with a credit) the row
    is written as the hold confirmed at once: state, version and both events (`hold`, then `confirm`)
    are what a hold followed by `_confirm` leaves, in one INSERT each.

    On PostgreSQL as INSERT ... ON CONFLICT DO NOTHING: plain inserts racing into an exclusion
    constraint can each wait for the other's row, a deadlock PostgreSQL breaks by failing one; a
    speculative insertion waits its turn instead (PostgreSQL's execIndexing.c), so without the
    calendar lock a crowd of clients still gets one winner and "taken" for the rest. SQLite's trigger
    aborts an overlapping insert (IntegrityError); RAISE(ABORT) undoes that one statement and leaves the
    transaction as it was, so no savepoint is needed around it."""
    await session.flush()  # the client's row may be new in this transaction: it needs its id
    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    block_start, block_end = _buffered(professional, starts_at, ends_at)
    policy = Policy.of(professional)
    row = {
        "client_id": client.id,
        "professional_id": professional.id,
        "service_id": service.id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "block_starts_at": block_start,
        "block_ends_at": block_end,
        "state": BookingState.HELD if paid_with is None else BookingState.CONFIRMED,
        "version": 1 if paid_with is None else 2,
        "hold_expires_at": now + timedelta(minutes=policy.hold_minutes) if paid_with is None else None,
        "paid_with": paid_with,
        "price_minor": service.price_minor,
        "currency": service.currency,
        "policy": policy.to_json(),
        "reschedule_count": 0,
        "client_notes": (notes or "").strip()[:MAX_NOTES] or None,
        "client_phone": phone,
        "created_at": now,
        "updated_at": now,
    }
    # RETURNING gives the row as an ORM object: no SELECT after the INSERT.
    booking: Booking | None
    if session.get_bind().dialect.name == "postgresql":
        # No savepoint needed: ON CONFLICT DO NOTHING refuses an overlap without an error.
        booking = await session.scalar(_INSERT_BOOKING_PG, row)
    else:
        try:
            booking = await session.scalar(_INSERT_BOOKING, row)
        except IntegrityError:
            return None
    if booking is None:
        return None
    # What `_LOADED` would load, known already.
    for name, value in (("service", service), ("professional", professional), ("client", client)):
        set_committed_value(booking, name, value)
    events = [
        BookingEvent(
            at=now,
            actor=Actor.CLIENT,
            action="hold",
            from_state=None,
            to_state="held",
            version=1,
            detail=hold_detail or {},
        )
    ]
    if paid_with is not None:
        events.append(
            BookingEvent(
                at=now,
                actor=Actor.CLIENT if paid_with == PaidWith.FREE else Actor.SYSTEM,
                action="confirm",
                from_state=str(BookingState.HELD),
                to_state=str(BookingState.CONFIRMED),
                version=2,
                detail={},
            )
        )
    await _insert_events(session, booking, events)
    return booking


# Built once, the row bound at each call (a statement built per call with `.values(row)` costs more CPU
# than running it). A dict of parameters with an ORM insert is SQLAlchemy's ORM bulk INSERT: one row
# here, and RETURNING still gives it as an ORM object.
_INSERT_BOOKING = insert(Booking).returning(Booking)
_INSERT_BOOKING_PG = postgresql.insert(Booking).on_conflict_do_nothing().returning(Booking)

_EVENT_COLUMNS = ("at", "actor", "action", "from_state", "to_state", "version", "detail")
_EVENTS = cast(Table, BookingEvent.__table__)
# On the Core table with a list of rows: one multi-row INSERT (SQLAlchemy's "insertmanyvalues"), rendered
# from this statement's cached compiled form; `.values(rows)` compiled a new one on every call.
_INSERT_EVENTS = insert(_EVENTS).returning(_EVENTS.c.id, _EVENTS.c.version)


async def _insert_events(session: AsyncSession, booking: Booking, events: list[BookingEvent]) -> None:
    """The first events of a booking just inserted (one per version), in one INSERT, then in the session
    as if loaded. (The ORM's own flush inserts them one statement each on SQLite, which cannot tell
    which RETURNING row belongs to which object; their versions can.)"""
    rows = [{"booking_id": booking.id} | {name: getattr(event, name) for name in _EVENT_COLUMNS} for event in events]
    returned = await session.execute(_INSERT_EVENTS, rows)
    ids = {version: event_id for event_id, version in returned}
    for event in events:
        event.id, event.booking_id = ids[event.version], booking.id
        make_transient_to_detached(event)
        session.add(event)
        set_committed_value(event, "booking", booking)
    set_committed_value(booking, "events", events)


async def _own_booking_at(
    session: AsyncSession, client: User, service_id: int, starts_at: datetime, now: datetime
) -> Booking | None:
    """The client's live hold or confirmed booking of this service at this very start."""
    query = (
        select(Booking)
        .options(*_LOADED)
        .where(
            Booking.client_id == client.id,
            Booking.service_id == service_id,
            Booking.starts_at == starts_at,
            or_(Booking.state == BookingState.CONFIRMED, _live_hold(now)),
        )
    )
    return (await session.scalars(query.limit(1))).first()


async def _professional_of(session: AsyncSession, booking_id: int) -> int:
    """Whose calendar a booking is in: the lock every change of it takes first."""
    professional_id = await session.scalar(select(Booking.professional_id).where(Booking.id == booking_id))
    if professional_id is None:
        raise NotFound("booking", booking_id)
    return professional_id


def _paid_with(paid_with: str) -> PaidWith:
    try:
        return PaidWith(paid_with)
    except ValueError:
        raise ValueError(f"paid_with must be one of {sorted(PaidWith)}, got {paid_with!r}") from None


async def confirm(session: AsyncSession, booking_id: int, *, now: datetime, paid_with: PaidWith) -> Booking:
    """held -> confirmed. A hold past its time that nobody else has taken yet (still held) can still
    be confirmed: the slot is still the client's. One already expired cannot."""
    paid = _paid_with(paid_with)
    professional_id = await _professional_of(session, booking_id)

    async def check_and_write() -> Booking:
        return await _confirm(session, await _load(session, booking_id), now, paid)

    return await guarded(session, professional_id, check_and_write)


async def _confirm(session: AsyncSession, booking: Booking, now: datetime, paid_with: PaidWith) -> Booking:
    """Confirm a booking already loaded (and locked) in this transaction."""
    if booking.state == BookingState.EXPIRED:
        raise HoldExpired(booking.id)
    if booking.state != BookingState.HELD:
        raise IllegalTransition(booking.id, booking.state, "confirm")
    booking.paid_with = paid_with
    booking.hold_expires_at = None
    by = Actor.CLIENT if paid_with == PaidWith.FREE else Actor.SYSTEM
    _record(booking, BookingState.CONFIRMED, "confirm", by, now)
    await _announce_confirmed(session, booking, now, paid_with)
    return booking


async def _announce_confirmed(
    session: AsyncSession, booking: Booking, now: datetime, paid_with: PaidWith, *, fresh: bool = False
) -> None:
    """The outbox rows of a confirmation (the professional's news, the reminders, and the client's own
    messages when the payment came from elsewhere), in one INSERT. `fresh`: the booking was written
    confirmed in this very transaction, so no hold warning of it can be queued to void."""
    professional = booking.professional
    linked = None
    if professional.telegram_id is not None:
        linked = await user_for_chat(session, professional.telegram_id, now)
    messages: list[outbox.Message] = []
    if linked is not None:
        messages.append(_professional_message(booking, "booking_new_pro", now, linked))
    if not fresh:
        await reminders.void(session, booking, [reminders.HOLD_EXPIRING], now, "confirmed")
    messages += await reminders.session_messages(session, booking, now, linked)
    if paid_with in CONFIRMED_ELSEWHERE:
        messages.append(_client_message(booking, BOOKING_CONFIRMED_CLIENT, now))
        messages.append(_client_message(booking, BOOKING_CALENDAR_CLIENT, now, {"stamp": now.isoformat()}))
    await outbox.enqueue_many(session, messages)
    await session.flush()


@dataclass(frozen=True)
class PaidOutcome:
    """What a payment that arrived did to its booking."""

    booking: Booking
    # confirmed now by this payment; False: already confirmed before, or its time is gone (see `taken`)
    confirmed: bool
    # the hold had lapsed and someone else has the time now: the payment must go back
    taken: bool = False
    alternatives: tuple[datetime, ...] = ()


async def confirm_paid(session: AsyncSession, booking_id: int, *, now: datetime) -> PaidOutcome:
    """A payment for the booking arrived (Stripe's webhook). held -> confirmed. A hold that expired or
    was released meanwhile is confirmed all the same when its time is still free and has not begun;
    otherwise `taken`, with the nearest free starts to offer. A booking already confirmed is left as it is."""
    professional_id = await _professional_of(session, booking_id)

    async def check_and_write() -> PaidOutcome:
        booking = await _load(session, booking_id)
        if booking.state == BookingState.HELD:
            return PaidOutcome(await _confirm(session, booking, now, PaidWith.STRIPE), confirmed=True)
        if booking.state not in (BookingState.EXPIRED, BookingState.CANCELLED):
            return PaidOutcome(booking, confirmed=False)
        await _expire_overdue(session, now, professional_id)
        if now < booking.starts_at:
            try:
                async with session.begin_nested():
                    booking.paid_with = PaidWith.STRIPE
                    booking.hold_expires_at = None
                    booking.cancelled_by = None
                    booking.cancel_reason = None
                    booking.refund_minor = None
                    _record(booking, BookingState.CONFIRMED, "confirm_late", Actor.SYSTEM, now)
                    await session.flush()
            except IntegrityError:
                pass  # the database says another booking has the time now
            else:
                await _announce_confirmed(session, booking, now, PaidWith.STRIPE)
                return PaidOutcome(booking, confirmed=True)
        booking = await _load(session, booking_id)
        nearest = await nearest_free_slots(
            session, booking.professional, booking.service, booking.starts_at, now, limit=NEAREST
        )
        return PaidOutcome(booking, confirmed=False, taken=True, alternatives=tuple(slot.start for slot in nearest))

    return await guarded(session, professional_id, check_and_write)


async def release_unpaid(session: AsyncSession, booking_id: int, *, now: datetime) -> Booking | None:
    """The client's Checkout Session ran out unpaid: a booking still held is released now (held ->
    expired) and the client told, with a button to pick another time. None when it was not held."""
    professional_id = await _professional_of(session, booking_id)

    async def check_and_write() -> Booking | None:
        booking = await _load(session, booking_id)
        if booking.state != BookingState.HELD:
            return None
        _record(booking, BookingState.EXPIRED, "expire", Actor.SYSTEM, now, {"reason": "checkout_expired"})
        await _notify_client(session, booking, "hold_expired_client", now)
        await session.flush()
        return booking

    return await guarded(session, professional_id, check_and_write)


async def notify_client(
    session: AsyncSession, booking_id: int, kind: str, now: datetime, extra: dict[str, Any] | None = None
) -> None:
    """Queue a message about the booking to its client (in the caller's transaction)."""
    booking = await session.get(Booking, booking_id, options=list(_LOADED), populate_existing=True)
    if booking is None:
        raise NotFound("booking", booking_id)
    await _notify_client(session, booking, kind, now, extra)


async def cancel(
    session: AsyncSession,
    booking_id: int,
    *,
    by: Actor,
    now: datetime,
    reason: str | None = None,
    expected_version: int | None = None,
    expected_refund_percent: int | None = None,
    tell_client: bool = True,
) -> Booking:
    """held/confirmed -> cancelled, with the refund the copied policy gives (booking.refund_minor).

    `tell_client=False`: the caller writes the client's one message itself (bot/services/pro_cancel.py).

    `expected_version` and `expected_refund_percent` are what the person saw when they said yes: the
    booking moved or paid since, or the refund no longer what it was (the free window closed), raises
    `BookingChanged` and cancels nothing. Both are checked under the lock."""
    by = actor(by)
    professional_id = await _professional_of(session, booking_id)

    async def check_and_write() -> Booking:
        booking = await _load(session, booking_id)
        if booking.state not in ACTIVE_STATES:
            raise IllegalTransition(booking.id, booking.state, "cancel")
        if now >= booking.starts_at:
            raise TooLateToChange(booking.id)
        if expected_version is not None and booking.version != expected_version:
            raise BookingChanged(booking.id, "version")
        terms = cancellation_terms(booking, by=by, now=now)
        if expected_refund_percent is not None and terms.refund_percent != expected_refund_percent:
            raise BookingChanged(booking.id, "refund")
        was_confirmed = booking.state == BookingState.CONFIRMED
        booking.refund_minor = terms.refund_minor
        booking.cancelled_by = by
        booking.cancel_reason = (reason or "").strip()[:MAX_NOTES] or None
        booking.hold_expires_at = None
        _record(
            booking,
            BookingState.CANCELLED,
            "cancel",
            by,
            now,
            {"refund_minor": terms.refund_minor, "refund_percent": terms.refund_percent},
        )
        extra = {
            "cancelled_by": by.value,
            "reason": booking.cancel_reason,
            "refund_minor": terms.refund_minor,
            "credit_returned": terms.credit_returned,
        }
        # The professional never heard of a booking that was only held.
        if was_confirmed and by != Actor.PROFESSIONAL:
            await _notify_professional(session, booking, "booking_cancelled_pro", now, extra)
        if by != Actor.CLIENT and tell_client:
            await _notify_client(session, booking, "booking_cancelled_client", now, extra)
        await _void_stale(session, booking, STALE_AFTER_CANCEL, now, "cancelled")
        if terms.refund_minor > 0 and booking.paid_with == PaidWith.STRIPE:
            # Owed in this transaction; the worker asks the gateway once it has committed.
            await payment_records.request_refund(session, booking.id, terms.refund_minor, now)
        if not was_confirmed:
            # A released hold: its open Checkout Session is expired by the worker after the commit.
            await payment_records.release_checkout(session, booking.id, now)
        if terms.credit_returned:
            await credits.return_credit(session, booking.id, now)
        await reminders.void(session, booking, reminders.ALL_KINDS, now, "cancelled")
        await session.flush()
        return booking

    return await guarded(session, professional_id, check_and_write)


def moves_left_after_this(booking: Booking) -> int:
    """How many more times the client may move a confirmed booking once the move they are looking at
    is made (the limit of the policy copied onto it, less the moves made so far)."""
    return max(0, Policy.from_json(booking.policy).max_reschedules - booking.reschedule_count - 1)


async def reschedule(
    session: AsyncSession,
    booking_id: int,
    new_starts_at: datetime,
    *,
    by: Actor,
    now: datetime,
    expected_version: int | None = None,
) -> Booking:
    """Move a confirmed booking (or a missed one, once, under the one_free_reschedule rule) to another
    free slot of its service, in one step: the old slot is freed exactly when the new one is taken.

    `expected_version` is the version the person saw when they chose the new time; a booking changed
    since raises `BookingChanged` and moves nothing."""
    by = actor(by)
    if new_starts_at.tzinfo is None:
        raise ValueError("new_starts_at must be timezone-aware")
    professional_id = await _professional_of(session, booking_id)

    async def check_and_write() -> Booking:
        booking = await _load(session, booking_id)
        if expected_version is not None and booking.version != expected_version:
            raise BookingChanged(booking.id, "version")
        refusal = can_reschedule(booking, by=by, now=now)
        if refusal == RescheduleRefusal.STATE:
            raise IllegalTransition(booking.id, booking.state, "reschedule")
        if refusal == RescheduleRefusal.LIMIT:
            raise RescheduleLimitReached(booking.id, Policy.from_json(booking.policy).max_reschedules)
        if refusal is not None:
            raise TooLateToChange(booking.id)
        return await _move(session, booking, new_starts_at, by, now)

    return await guarded(session, professional_id, check_and_write)


async def _move(session: AsyncSession, booking: Booking, new_starts_at: datetime, by: Actor, now: datetime) -> Booking:
    professional, service = booking.professional, booking.service
    await _expire_overdue(session, now, professional.id)
    if not await is_offered(session, professional, service, new_starts_at, now, exclude_booking_id=booking.id):
        raise await _unavailable(session, professional, service, new_starts_at, now, exclude_booking_id=booking.id)

    booking_id = booking.id
    previous = booking.starts_at
    rebooking = booking.state == BookingState.NO_SHOW
    new_ends_at = new_starts_at + timedelta(minutes=service.duration_minutes)
    block_start, block_end = _buffered(professional, new_starts_at, new_ends_at)
    try:
        async with session.begin_nested():
            booking.starts_at, booking.ends_at = new_starts_at, new_ends_at
            booking.block_starts_at, booking.block_ends_at = block_start, block_end
            if by == Actor.CLIENT and not rebooking:
                booking.reschedule_count += 1
            _record(
                booking,
                BookingState.CONFIRMED,
                "rebook_after_no_show" if rebooking else "reschedule",
                by,
                now,
                {"from": previous.isoformat(), "to": new_starts_at.isoformat()},
            )
    except IntegrityError:
        # The savepoint's rollback expired the booking; the next read reloads it as it was.
        raise await _unavailable(
            session, professional, service, new_starts_at, now, taken=True, exclude_booking_id=booking_id
        ) from None
    extra = {"previous_starts_at": previous.isoformat(), "rescheduled_by": by.value}
    if by != Actor.PROFESSIONAL:
        await _notify_professional(session, booking, "booking_rescheduled_pro", now, extra)
    await _void_stale(session, booking, STALE_AFTER_RESCHEDULE, now, "rescheduled")
    await reminders.void(session, booking, reminders.SESSION_KINDS, now, "rescheduled")
    await reminders.schedule_session(session, booking, now)
    if by != Actor.CLIENT:
        await _notify_client(session, booking, "booking_rescheduled_client", now, extra)
    await session.flush()
    return booking


async def _finish(session: AsyncSession, booking_id: int, to_state: BookingState, by: Actor, now: datetime) -> Booking:
    by = actor(by)
    if by == Actor.CLIENT:
        raise ValueError("only the professional, an operator or the system close a session")
    booking = await _load(session, booking_id)
    _close(booking, to_state, by, now)
    await _after_close(session, booking, now)
    await session.flush()
    return booking


def _close(booking: Booking, to_state: BookingState, by: Actor, now: datetime) -> None:
    """confirmed -> completed or no_show, for a booking loaded and locked in this transaction."""
    action = "complete" if to_state == BookingState.COMPLETED else "no_show"
    if booking.state != BookingState.CONFIRMED:
        raise IllegalTransition(booking.id, booking.state, action)
    if now < booking.starts_at:
        raise NotStartedYet(booking.id)
    _record(booking, to_state, action, by, now)


async def _after_close(session: AsyncSession, booking: Booking, now: datetime) -> None:
    """A session is over: what was still to say before it is stale; a completed one asks for a review."""
    await reminders.void(session, booking, reminders.SESSION_KINDS, now, str(booking.state))
    await reminders.schedule_review_prompt(session, booking, now)


async def complete(session: AsyncSession, booking_id: int, *, by: Actor, now: datetime) -> Booking:
    """confirmed -> completed, once the session has begun."""
    return await _finish(session, booking_id, BookingState.COMPLETED, by, now)


async def mark_no_show(session: AsyncSession, booking_id: int, *, by: Actor, now: datetime) -> Booking:
    """confirmed -> no_show, once the session has begun."""
    return await _finish(session, booking_id, BookingState.NO_SHOW, by, now)


async def expire_holds(session: AsyncSession, now: datetime) -> int:
    """Worker tick: every hold whose time ran out becomes expired; the client is told."""
    return await _expire_overdue(session, now)


async def complete_past_sessions(session: AsyncSession, now: datetime) -> int:
    """Worker tick: confirmed sessions that ended over a day ago and were not marked are completed.

    The rows are claimed with SKIP LOCKED: another replica's tick (or a professional marking one right
    now) holds its rows, and this one takes the rest instead of waiting to fail on them."""
    query = (
        select(Booking)
        .options(*_LOADED)
        .where(Booking.state == BookingState.CONFIRMED, Booking.ends_at <= now - AUTO_COMPLETE_AFTER)
        .order_by(Booking.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    due: Sequence[Booking] = (await session.scalars(query)).all()
    for booking in due:
        _close(booking, BookingState.COMPLETED, Actor.SYSTEM, now)
        await _after_close(session, booking, now)
    await session.flush()
    return len(due)


# --- notifications ---------------------------------------------------------------------------------


def _subject(booking: Booking) -> outbox.Subject:
    return outbox.Subject(SUBJECT, booking.id)


async def _void_stale(
    session: AsyncSession, booking: Booking, kinds: Sequence[str], now: datetime, change: str
) -> None:
    await outbox.cancel_pending(
        session, _subject(booking), kinds, now=now, reason=f"booking {change} (version {booking.version})"
    )


async def _notify_professional(
    session: AsyncSession, booking: Booking, kind: str, now: datetime, extra: dict[str, Any] | None = None
) -> None:
    professional = booking.professional
    if professional.telegram_id is None:
        return  # not linked yet: nobody to tell in chat
    recipient = await user_for_chat(session, professional.telegram_id, now)
    await outbox.enqueue_many(session, [_professional_message(booking, kind, now, recipient, extra)])


async def _notify_client(
    session: AsyncSession, booking: Booking, kind: str, now: datetime, extra: dict[str, Any] | None = None
) -> None:
    await outbox.enqueue_many(session, [_client_message(booking, kind, now, extra)])


def _professional_message(
    booking: Booking, kind: str, now: datetime, recipient: User, extra: dict[str, Any] | None = None
) -> outbox.Message:
    professional = booking.professional
    return _message(
        booking,
        kind,
        now,
        recipient,
        extra,
        fallback_locale=next(iter(professional.languages), None),
        fallback_zone=professional.timezone,
    )


def _client_message(booking: Booking, kind: str, now: datetime, extra: dict[str, Any] | None = None) -> outbox.Message:
    view_zone = booking.client.timezone or booking.professional.timezone
    return _message(booking, kind, now, booking.client, extra, fallback_locale=None, fallback_zone=view_zone)


def _message(
    booking: Booking,
    kind: str,
    now: datetime,
    recipient: User,
    extra: dict[str, Any] | None,
    *,
    fallback_locale: str | None,
    fallback_zone: str,
) -> outbox.Message:
    """The booking as it stands now (its view) plus what this kind adds; language and zone are the
    recipient's at send time, the fallbacks only while they have none."""
    return outbox.Message(
        f"{kind}:{booking.id}:{booking.version}:{recipient.id}",
        recipient_id=recipient.id,
        subject=_subject(booking),
        kind=kind,
        payload=booking_view(booking).to_json() | (extra or {}),
        due_at=now,
        fallback_locale=fallback_locale,
        fallback_zone=fallback_zone,
    )
