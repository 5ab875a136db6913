"""Package credits (seeds: "1 credit = 1 session", "Multi-session packs may have expiry"): the ledger
of models/credits.py, read and written here.

    offer = await usable_credit(session, client_id, service_id, starts_at, now)   # the summary's button
    await spend(session, client_id, booking, now)       # a booking paid with a credit (bookings.book)
    await return_credit(session, booking_id, now)       # a cancellation that gives it back (bookings.cancel)
    await expire_due(session, now)                      # worker: what is left of grants past their date
    await warn_expiring(session, now)                   # worker: once per grant, 7 days before

Rules. A paid purchase grants its package's sessions, valid `valid_days` from the payment. A credit
covers a session of the package's service that starts before the credit expires (so a returned
credit, given back before its session starts, comes back to a grant still valid). The grant that
expires first is spent first. The balance is always the sum of the ledger rows; spending, returning
and expiring lock the grant row first, so concurrent writers queue instead of overdrawing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services import outbox
from bot.services.errors import DomainError
from models import Booking, CreditEntry, CreditKind, Package, PackagePurchase, Professional, Service, User

# The worker warns this long before credits expire (once per grant).
WARN_BEFORE = timedelta(days=7)

SUBJECT = "credit_grant"
CREDITS_GRANTED_CLIENT = "credits_granted_client"
CREDITS_EXPIRING_CLIENT = "credits_expiring_client"


class NoCreditLeft(DomainError):
    """The client has no credit that covers this session (spent, expired, or never bought)."""

    def __init__(self, service_id: int) -> None:
        super().__init__(f"no usable credit for service {service_id}")
        self.service_id = service_id


@dataclass(frozen=True)
class CreditBalance:
    """What is left of one grant (one paid purchase of a package)."""

    grant_id: int
    client_id: int
    package_id: int
    package_name: str
    service_id: int
    service_name: str
    professional_name: str
    left: int
    expires_at: datetime


@dataclass(frozen=True)
class CreditOffer:
    """What the booking summary offers: `left` credits cover this session; one from the grant that
    expires first (at `expires_at`) would be spent."""

    left: int
    expires_at: datetime


_Grant = aliased(CreditEntry, name="grant_entry")


def _balances() -> Select[CreditEntry, int]:
    """(grant row, balance) for every grant: its own amount plus every row drawn on it."""
    drawn = (
        select(CreditEntry.grant_id, func.sum(CreditEntry.amount).label("drawn"))
        .where(CreditEntry.grant_id.is_not(None))
        .group_by(CreditEntry.grant_id)
        .subquery()
    )
    balance = (_Grant.amount + func.coalesce(drawn.c.drawn, 0)).label("balance")
    return (
        select(_Grant, balance).outerjoin(drawn, drawn.c.grant_id == _Grant.id).where(_Grant.kind == CreditKind.GRANT)
    )


async def _balance_of(session: AsyncSession, grant_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
            (CreditEntry.id == grant_id) | (CreditEntry.grant_id == grant_id)
        )
    )
    return int(total or 0)


async def _lock_grant(session: AsyncSession, grant_id: int) -> CreditEntry | None:
    return await session.get(CreditEntry, grant_id, with_for_update=True, populate_existing=True)


async def _covering(
    session: AsyncSession, client_id: int, service_id: int, starts_at: datetime, now: datetime
) -> list[tuple[CreditEntry, int]]:
    """The client's grants with credits left that cover this service at this start, the soonest to
    expire first."""
    query = (
        _balances()
        .join(Package, Package.id == _Grant.package_id)
        .where(
            _Grant.client_id == client_id,
            Package.service_id == service_id,
            _Grant.expires_at > starts_at,
            _Grant.expires_at > now,
        )
        .order_by(_Grant.expires_at, _Grant.id)
    )
    return [(grant, int(balance)) for grant, balance in (await session.execute(query)).all() if balance > 0]


async def usable_credit(
    session: AsyncSession, client_id: int, service_id: int, starts_at: datetime, now: datetime
) -> CreditOffer | None:
    """What the summary offers for a session of `service_id` at `starts_at`, or None without a credit."""
    grants = await _covering(session, client_id, service_id, starts_at, now)
    if not grants:
        return None
    first, _ = grants[0]
    assert first.expires_at is not None
    return CreditOffer(left=sum(balance for _, balance in grants), expires_at=first.expires_at)


async def spend(session: AsyncSession, client_id: int, booking: Booking, now: datetime) -> CreditEntry:
    """One credit for `booking` (in the caller's transaction, under the professional's calendar lock);
    NoCreditLeft when none covers it. The database allows one spend per booking."""
    for grant, _ in await _covering(session, client_id, booking.service_id, booking.starts_at, now):
        locked = await _lock_grant(session, grant.id)
        if locked is None or await _balance_of(session, grant.id) <= 0:
            continue  # another transaction took the last one meanwhile
        entry = CreditEntry(
            client_id=client_id,
            package_id=grant.package_id,
            kind=CreditKind.SPEND,
            amount=-1,
            grant_id=grant.id,
            booking_id=booking.id,
            created_at=now,
        )
        session.add(entry)
        await session.flush()
        return entry
    raise NoCreditLeft(booking.service_id)


async def return_credit(session: AsyncSession, booking_id: int, now: datetime) -> bool:
    """Give back the credit a booking was paid with; True when it came back now, False when there was
    none or it came back before. The service to call when a booking paid with a credit is cancelled in
    a way that returns it (the professional's, the system's or an operator's cancellation; the
    client's within the free window): `bookings.cancel` calls it already."""
    spent = await session.scalar(
        select(CreditEntry).where(CreditEntry.booking_id == booking_id, CreditEntry.kind == CreditKind.SPEND)
    )
    if spent is None or spent.grant_id is None:
        return False
    await _lock_grant(session, spent.grant_id)
    returned = await session.scalar(
        select(CreditEntry.id).where(CreditEntry.booking_id == booking_id, CreditEntry.kind == CreditKind.RETURN)
    )
    if returned is not None:
        return False
    session.add(
        CreditEntry(
            client_id=spent.client_id,
            package_id=spent.package_id,
            kind=CreditKind.RETURN,
            amount=1,
            grant_id=spent.grant_id,
            booking_id=booking_id,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def call_off_return(session: AsyncSession, booking_id: int, starts_at: datetime, now: datetime) -> bool:
    """A cancelled credit booking rebooked at `starts_at` from the professional's cancellation message:
    the credit it gave back is spent on it again by calling the return off (its row goes, as the
    refund of a paid booking is called off), so the booking's one spend stands. False, changing
    nothing, when there is no return to call off, the grant no longer covers `starts_at`, or the
    returned credit was spent or expired meanwhile (the rebooking is then an ordinary one)."""
    returned = await session.scalar(
        select(CreditEntry).where(CreditEntry.booking_id == booking_id, CreditEntry.kind == CreditKind.RETURN)
    )
    if returned is None or returned.grant_id is None:
        return False
    grant = await _lock_grant(session, returned.grant_id)
    if grant is None or grant.expires_at is None:
        return False
    if grant.expires_at <= starts_at or grant.expires_at <= now or await _balance_of(session, grant.id) <= 0:
        return False
    await session.delete(returned)
    await session.flush()
    return True


async def grant(session: AsyncSession, purchase: PackagePurchase, now: datetime) -> CreditEntry:
    """The credits a paid purchase gives, valid `valid_days` from `now` (the payment); once per purchase."""
    entry = CreditEntry(
        client_id=purchase.client_id,
        package_id=purchase.package_id,
        kind=CreditKind.GRANT,
        amount=purchase.sessions,
        purchase_id=purchase.id,
        expires_at=now + timedelta(days=purchase.valid_days),
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    return entry


async def _describe(session: AsyncSession, rows: Sequence[tuple[CreditEntry, int]]) -> list[CreditBalance]:
    found = []
    for entry, balance in rows:
        row = (
            await session.execute(
                select(Package.name, Service.id, Service.name, Professional.name)
                .join(Service, Service.id == Package.service_id)
                .join(Professional, Professional.id == Package.professional_id)
                .where(Package.id == entry.package_id)
            )
        ).one()
        assert entry.expires_at is not None
        found.append(
            CreditBalance(
                grant_id=entry.id,
                client_id=entry.client_id,
                package_id=entry.package_id,
                package_name=row[0],
                service_id=row[1],
                service_name=row[2],
                professional_name=row[3],
                left=balance,
                expires_at=entry.expires_at,
            )
        )
    return found


async def balances(session: AsyncSession, client_id: int, now: datetime) -> list[CreditBalance]:
    """The client's credits still usable (not spent, not expired), the soonest to expire first."""
    query = (
        _balances().where(_Grant.client_id == client_id, _Grant.expires_at > now).order_by(_Grant.expires_at, _Grant.id)
    )
    rows = [(entry, int(balance)) for entry, balance in (await session.execute(query)).all() if balance > 0]
    return await _describe(session, rows)


async def balance_of_grant(session: AsyncSession, grant_id: int, now: datetime) -> CreditBalance | None:
    """One grant as it stands, or None when it is gone."""
    query = _balances().where(_Grant.id == grant_id)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return (await _describe(session, [(row[0], int(row[1]))]))[0]


async def expire_due(session: AsyncSession, now: datetime) -> int:
    """Worker tick: every grant past its date with credits left gets an `expire` row for what is left."""
    query = _balances().where(_Grant.expires_at <= now).order_by(_Grant.id)
    due = [entry.id for entry, balance in (await session.execute(query)).all() if balance > 0]
    expired = 0
    for grant_id in due:
        locked = await session.scalar(
            select(CreditEntry).where(CreditEntry.id == grant_id).with_for_update(skip_locked=True)
        )
        if locked is None:
            continue  # another replica is on it
        left = await _balance_of(session, grant_id)
        if left <= 0:
            continue
        session.add(
            CreditEntry(
                client_id=locked.client_id,
                package_id=locked.package_id,
                kind=CreditKind.EXPIRE,
                amount=-left,
                grant_id=grant_id,
                created_at=now,
            )
        )
        expired += 1
    await session.flush()
    return expired


async def warn_expiring(session: AsyncSession, now: datetime) -> int:
    """Worker tick: tell the client once per grant, WARN_BEFORE its expiry, that credits are left. A
    grant bought inside that window is not warned about (its purchase message gave the date)."""
    query = (
        _balances()
        .where(
            _Grant.expires_at > now,
            _Grant.expires_at <= now + WARN_BEFORE,
        )
        .order_by(_Grant.expires_at, _Grant.id)
    )
    rows = [
        (entry, int(balance))
        for entry, balance in (await session.execute(query)).all()
        if balance > 0 and entry.expires_at is not None and entry.expires_at - entry.created_at > WARN_BEFORE
    ]
    queued = 0
    for balance in await _describe(session, rows):
        queued += await _notify(session, balance, CREDITS_EXPIRING_CLIENT, now)
    return queued


async def notify_granted(session: AsyncSession, purchase: PackagePurchase, entry: CreditEntry, now: datetime) -> None:
    """Queue the client's "you have N credits" message (a paid purchase, confirmed by the webhook)."""
    (balance,) = await _describe(session, [(entry, entry.amount)])
    await _notify(session, balance, CREDITS_GRANTED_CLIENT, now)


async def _notify(session: AsyncSession, balance: CreditBalance, kind: str, now: datetime) -> int:
    client = await session.get(User, balance.client_id)
    if client is None:
        return 0
    queued = await outbox.enqueue(
        session,
        f"{kind}:{balance.grant_id}:{client.id}",
        recipient_id=client.id,
        subject=outbox.Subject(SUBJECT, balance.grant_id),
        kind=kind,
        payload={
            "grant_id": balance.grant_id,
            "package_name": balance.package_name,
            "service_id": balance.service_id,
            "service_name": balance.service_name,
            "professional_name": balance.professional_name,
            "left": balance.left,
            "expires_at": balance.expires_at.isoformat(),
        },
        due_at=now,
        fallback_zone=client.timezone or "UTC",
    )
    return int(queued)
