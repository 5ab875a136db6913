"""Invites, schedule edits and verification on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import admin, booking, invites, schedule
from bot.services.clock import FrozenClock
from bot.services.errors import NotAllowed, NotFound
from bot.services.invites import AlreadyLinked, InviteUnusable
from bot.services.windows import ScheduleInputError
from models import Invite, Professional, Service, ServiceMode, TimeOff, User, WeeklyWindow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # As in test_outbox.py: a plain fixture, so getfixturevalue works from inside the running loop.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _professional(
    sessions: async_sessionmaker[AsyncSession], slug: str, *, telegram_id: int | None = None, verified: bool = True
) -> Professional:
    async with sessions.begin() as session:
        professional = Professional(
            slug=slug,
            name=slug.title(),
            verified=verified,
            timezone="Europe/Kyiv",
            telegram_id=telegram_id,
            min_notice_minutes=60,
            slot_step_minutes=60,
        )
        professional.services.append(
            Service(
                slug="s", name="Session", duration_minutes=50, price_minor=0, currency="EUR", mode=ServiceMode.VIDEO
            )
        )
        professional.weekly_windows.extend(WeeklyWindow(weekday=day, starts=540, ends=1020) for day in range(5))
        session.add(professional)
    return professional


async def _reload(sessions: async_sessionmaker[AsyncSession], slug: str) -> Professional:
    async with sessions() as session:
        return (await session.scalars(select(Professional).where(Professional.slug == slug))).one()


async def test_accepting_invites(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _professional(sessions, "anna")
    await _professional(sessions, "david")
    async with sessions.begin() as session:
        token = (await invites.create_invite(session, "anna", now=clock.now(), days=2)).token
        davids = (await invites.create_invite(session, "david", now=clock.now())).token
        with pytest.raises(NotFound):
            await invites.create_invite(session, "nobody", now=clock.now())
        with pytest.raises(ValueError):
            await invites.create_invite(session, "anna", now=clock.now(), days=0)
    async with sessions.begin() as session:
        linked = await invites.accept_invite(session, token, 501, now=clock.now())
        assert (linked.professional.slug, linked.already) == ("anna", False)
    async with sessions.begin() as session:
        again = await invites.accept_invite(session, token, 501, now=clock.now())
        assert again.already
        assert (await invites.professional_of(session, 501)) is not None
        assert (await invites.professional_of(session, 502)) is None
    for telegram_id, code, error in (
        (502, token, InviteUnusable),  # used by 501
        (501, davids, AlreadyLinked),  # 501 is Anna
        (502, "unknown-token", InviteUnusable),
        (502, "bad token!", InviteUnusable),
    ):
        async with sessions.begin() as session:
            with pytest.raises(error):
                await invites.accept_invite(session, code, telegram_id, now=clock.now())
    clock.advance(timedelta(days=8))
    async with sessions.begin() as session:
        with pytest.raises(InviteUnusable) as expired:
            await invites.accept_invite(session, davids, 502, now=clock.now())
    assert expired.value.reason == "expired"
    assert (await _reload(sessions, "david")).telegram_id is None


async def test_one_invite_two_people_at_once(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _professional(sessions, "anna")
    async with sessions.begin() as session:
        token = (await invites.create_invite(session, "anna", now=clock.now())).token

    async def accept(telegram_id: int) -> str:
        try:
            async with sessions.begin() as session:
                await invites.accept_invite(session, token, telegram_id, now=clock.now())
        except (InviteUnusable, AlreadyLinked) as exc:
            return type(exc).__name__
        return "linked"

    outcomes = await asyncio.gather(accept(601), accept(602))
    assert sorted(outcomes) in (["InviteUnusable", "linked"], ["AlreadyLinked", "linked"])
    winner = 601 if outcomes[0] == "linked" else 602
    assert (await _reload(sessions, "anna")).telegram_id == winner
    async with sessions() as session:
        invite = (await session.scalars(select(Invite))).one()
    assert invite.used_by_telegram_id == winner


async def test_relink_lets_a_new_account_in(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _professional(sessions, "anna", telegram_id=501)
    async with sessions.begin() as session:
        plain = (await invites.create_invite(session, "anna", now=clock.now())).token
    async with sessions.begin() as session:
        with pytest.raises(AlreadyLinked) as caught:
            await invites.accept_invite(session, plain, 502, now=clock.now())
    assert (caught.value.reason, caught.value.professional_name) == ("professional", "Anna")
    async with sessions.begin() as session:
        fresh = (await invites.create_invite(session, "anna", now=clock.now(), relink=True)).token
    assert (await _reload(sessions, "anna")).telegram_id is None
    async with sessions.begin() as session:
        await invites.accept_invite(session, fresh, 502, now=clock.now())
    assert (await _reload(sessions, "anna")).telegram_id == 502


async def test_schedule_changes_leave_bookings_alone(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    anna = await _professional(sessions, "anna")
    async with sessions.begin() as session:
        client = User(telegram_id=900, first_name="Olena", created_at=clock.now())
        session.add(client)
        await session.flush()
        service_id = (await session.scalars(select(Service.id))).one()
        # Tuesday 2026-11-24 09:00 and Thursday 2026-11-26 15:00 in Kyiv: free service, confirmed at once.
        tuesday = await booking.hold(
            session,
            client=client,
            service_id=service_id,
            starts_at=datetime(2026, 11, 24, 7, tzinfo=UTC),
            now=clock.now(),
        )
        thursday = await booking.hold(
            session,
            client=client,
            service_id=service_id,
            starts_at=datetime(2026, 11, 26, 13, tzinfo=UTC),
            now=clock.now(),
        )
        tuesday_id, thursday_id = tuesday.id, thursday.id
        paid = (await session.scalars(select(Service).where(Service.slug == "s"))).one()
        paid.price_minor = 5000
        await session.flush()
        # A paid hold on Tuesday 13:00 that runs out at 06:30 UTC.
        await booking.hold(
            session,
            client=client,
            service_id=service_id,
            starts_at=datetime(2026, 11, 24, 11, tzinfo=UTC),
            now=clock.now(),
        )
    clock.advance(timedelta(minutes=31))

    async with sessions.begin() as session:
        outside = await schedule.set_weekday_hours(session, anna, 1, [(600, 720)], now=clock.now())
        assert [b.id for b in outside] == [tuesday_id]
        # The whole day still has the session's start and end inside: 09:00-09:50 in 09:00-24:00.
        assert await schedule.set_weekday_hours(session, anna, 1, [(540, 1440)], now=clock.now()) == []
        with pytest.raises(NotFound):
            await schedule.set_weekday_hours(session, anna, 7, [], now=clock.now())
        with pytest.raises(ScheduleInputError):
            await schedule.set_weekday_hours(session, anna, 1, [(540, 600), (570, 660)], now=clock.now())

    async with sessions.begin() as session:
        off, outside = await schedule.add_days_off(
            session, anna, date(2026, 11, 20), date(2026, 11, 26), now=clock.now()
        )
        # Days already gone are dropped: the range starts today (Monday the 23rd in Kyiv).
        assert (off.first_day, off.last_day) == (date(2026, 11, 23), date(2026, 11, 26))
        assert [b.id for b in outside] == [tuesday_id, thursday_id]
        merged, _ = await schedule.add_days_off(session, anna, date(2026, 11, 27), date(2026, 11, 28), now=clock.now())
        assert (merged.first_day, merged.last_day) == (date(2026, 11, 23), date(2026, 11, 28))
        with pytest.raises(ScheduleInputError) as past:
            await schedule.add_days_off(session, anna, date(2026, 11, 1), date(2026, 11, 22), now=clock.now())
        assert past.value.problem == "past"
        view = await schedule.weekly_schedule(session, anna, now=clock.now())
        assert [(d.first_day, d.last_day) for d in view.days_off] == [(date(2026, 11, 23), date(2026, 11, 28))]
        assert view.weekly[1] == ((540, 1440),) and view.weekly[5] == ()

    async with sessions.begin() as session:
        removed = await schedule.remove_days_off(session, anna, merged.id)
        assert removed.first_day == date(2026, 11, 23)
        assert await schedule.sessions_outside_hours(session, anna, now=clock.now()) == []
        assert (await session.scalars(select(TimeOff))).all() == []
    async with sessions() as session:
        states = {
            b.id: str(b.state)
            for b in await booking.agenda(session, anna, clock.now(), clock.now() + timedelta(days=7))
        }
    assert (states[tuesday_id], states[thursday_id]) == ("confirmed", "confirmed")


async def test_time_off_of_another_professional_is_not_removed(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    anna = await _professional(sessions, "anna")
    david = await _professional(sessions, "david")
    async with sessions.begin() as session:
        davids, _ = await schedule.add_days_off(session, david, date(2026, 12, 1), date(2026, 12, 1), now=clock.now())
    async with sessions.begin() as session:
        with pytest.raises(NotAllowed):
            await schedule.remove_days_off(session, anna, davids.id)
        with pytest.raises(NotFound):
            await schedule.remove_days_off(session, anna, davids.id + 100)
    async with sessions() as session:
        assert len((await session.scalars(select(TimeOff))).all()) == 1


async def test_verification_and_pages(sessions: async_sessionmaker[AsyncSession]) -> None:
    for number in range(3):
        await _professional(sessions, f"pro-{number}", verified=False)
    async with sessions.begin() as session:
        page = await admin.professionals_page(session, verified=False, page=5, size=2)
        assert (page.page, page.pages, page.total, [p.slug for p in page.professionals]) == (1, 2, 3, ["pro-2"])
        first = (await admin.professionals_page(session, verified=False, page=0, size=2)).professionals[0]
        assert (await admin.set_verified(session, first.id, True)).verified
        with pytest.raises(NotFound):
            await admin.set_verified(session, 999_999, True)
    async with sessions() as session:
        verified = await admin.professionals_page(session, verified=True, page=0)
    assert [p.slug for p in verified.professionals] == ["pro-0"]
    empty = await _count_empty(sessions)
    assert (empty.pages, empty.total, empty.professionals) == (1, 0, [])


async def _count_empty(sessions: async_sessionmaker[AsyncSession]) -> admin.ProfessionalPage:
    async with sessions() as session:
        for professional in await session.scalars(select(Professional)):
            professional.verified = True
        await session.flush()
        return await admin.professionals_page(session, verified=False, page=0)
