"""The client's catalog queries (bot/services/directory.py) and the picker's slices of the slot engine
(bot/services/picker.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import availability, directory, picker
from bot.services.booking import hold
from bot.services.clock import FrozenClock
from bot.services.directory import NO_REVIEWS, Rating
from bot.services.errors import NotFound, SlotUnavailable
from models import Service, TimeOff, User
from tests.bot.catalog_data import Catalog, add_coaches, add_reviews, build_catalog, kyiv_time


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url` (as tests/db/test_outbox.py does).
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def catalog(sessions: async_sessionmaker[AsyncSession]) -> Catalog:
    return await build_catalog(sessions)


async def _names(session: AsyncSession, **filters: object) -> list[str]:
    page = await directory.list_professionals(session, **filters)  # type: ignore[arg-type]
    return [item.name for item in page.items]


async def test_only_verified_professionals_are_listed_and_filtered(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> None:
    async with sessions() as session:
        assert await _names(session) == ["Anna Koval", "David Moreno"]
        assert await _names(session, category="therapy") == ["David Moreno"]
        assert await _names(session, category="career-coaching") == ["Anna Koval"]
        assert await _names(session, category="nutrition") == []  # only Lea, who is not verified
        assert await _names(session, language="en") == ["Anna Koval", "David Moreno"]
        assert await _names(session, language="uk") == ["Anna Koval"]
        assert await _names(session, language="de") == []
        assert await _names(session, language="es", category="therapy") == ["David Moreno"]
        assert await _names(session, language="es", category="career-coaching") == []
        # An element must match whole: "e" is no language, "therap" no category.
        assert await _names(session, language="e") == []
        assert await _names(session, category="therap") == []
        facets = await directory.facets(session)
    assert facets.categories == ["career-coaching", "therapy"]
    assert facets.languages == ["en", "es", "ru", "uk"]


async def test_pages_of_five(sessions: async_sessionmaker[AsyncSession], catalog: Catalog) -> None:
    await add_coaches(sessions, 9)
    async with sessions() as session:
        first = await directory.list_professionals(session)
        second = await directory.list_professionals(session, page=1)
        beyond = await directory.list_professionals(session, page=7)
        coaches = await directory.list_professionals(session, category="career-coaching", page=1)
    assert (first.total, first.pages, first.page) == (11, 3, 0)
    assert [item.name for item in first.items] == ["Anna Koval", "Coach 01", "Coach 02", "Coach 03", "Coach 04"]
    assert [item.name for item in second.items] == ["Coach 05", "Coach 06", "Coach 07", "Coach 08", "Coach 09"]
    # A page past the end (the catalog shrank since the button was made) is the last page.
    assert (beyond.page, [item.name for item in beyond.items]) == (2, ["David Moreno"])
    assert (coaches.total, [item.name for item in coaches.items]) == (
        10,
        ["Coach 05", "Coach 06", "Coach 07", "Coach 08", "Coach 09"],
    )


async def test_the_home_screens_one_statement_says_what_facets_and_the_list_say(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    # `unfiltered_page` (the home screen) answers with `facets` and `list_professionals` in one statement.
    await add_coaches(sessions, 9)
    await add_reviews(sessions, catalog.anna, [5, 4], clock.now())
    async with sessions() as session:
        for page in (0, 1, 2, 7):
            assert await directory.unfiltered_page(session, page=page) == (
                await directory.facets(session),
                await directory.list_professionals(session, page=page),
            )


async def test_an_empty_directory_still_has_one_page(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        found = await directory.list_professionals(session)
        facets = await directory.facets(session)
        assert await directory.unfiltered_page(session) == (facets, found)
    assert (found.items, found.page, found.pages, found.total) == ([], 0, 1, 0)
    assert (facets.categories, facets.languages) == ([], [])


async def test_ratings_come_from_reviews(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    await add_reviews(sessions, catalog.anna, [5, 4, 4], clock.now())
    async with sessions() as session:
        listed = {item.name: item.rating for item in (await directory.list_professionals(session)).items}
        profile = await directory.profile_by_slug(session, "anna-koval")
    assert listed["David Moreno"] == NO_REVIEWS
    assert listed["Anna Koval"].count == 3
    assert listed["Anna Koval"].average == pytest.approx(13 / 3)
    assert profile.rating == listed["Anna Koval"]
    assert isinstance(profile.rating, Rating)


async def test_a_profile_shows_active_services_of_verified_professionals_only(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> None:
    async with sessions.begin() as session:
        await session.execute(update(Service).where(Service.id == catalog.office).values(active=False))
    async with sessions() as session:
        anna = await directory.profile_by_id(session, catalog.anna)
        assert [service.name for service in anna.services] == ["Free intro call", "Coaching session"]
        assert anna.professional.slug == "anna-koval"
        for missing in ("lea-schmidt", "nobody"):
            with pytest.raises(NotFound):
                await directory.profile_by_slug(session, missing)
        with pytest.raises(NotFound):
            await directory.profile_by_id(session, catalog.lea)
        assert (await directory.bookable_service(session, catalog.coaching)).professional.name == "Anna Koval"
        for not_bookable in (catalog.office, catalog.nutrition, 999_999):
            with pytest.raises(NotFound):
                await directory.bookable_service(session, not_bookable)


# --- the picker ------------------------------------------------------------------------------------


async def test_weeks_in_the_viewers_zone_bounded_by_the_horizon(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    now = clock.now()  # Monday 2026-11-23, 08:00 in Kyiv
    async with sessions() as session:
        coaching = await directory.bookable_service(session, catalog.coaching)
        this_week = await picker.week_of(session, coaching, date(2026, 11, 25), "Europe/Kyiv", now)
        # Anna works Monday to Friday; 4 hours' notice still leaves Monday afternoon.
        assert this_week.monday == date(2026, 11, 23)
        assert this_week.days == [date(2026, 11, 23) + timedelta(days=n) for n in range(5)]
        assert (this_week.previous, this_week.next) == (None, date(2026, 11, 30))
        # Before today: the current week. Christmas week: time off from the 24th to the 26th.
        earlier = await picker.week_of(session, coaching, date(2026, 1, 1), "Europe/Kyiv", now)
        assert earlier.monday == date(2026, 11, 23)
        christmas = await picker.week_of(session, coaching, date(2026, 12, 21), "Europe/Kyiv", now)
        assert christmas.days == [date(2026, 12, 21), date(2026, 12, 22), date(2026, 12, 23)]
        assert christmas.previous == date(2026, 12, 14)
        # The horizon is 60 days (Jan 22, 2027): that week is the last, and nothing lies beyond it.
        last = await picker.week_of(session, coaching, date(2027, 6, 1), "Europe/Kyiv", now)
        assert last.monday == date(2027, 1, 18)
        assert last.next is None
        assert last.days[-1] <= date(2027, 1, 22)
        # In Los Angeles (UTC-8) Anna's 09:00 is the previous evening: her Monday is our Sunday.
        far_west = await picker.week_of(session, coaching, date(2026, 11, 30), "America/Los_Angeles", now)
        assert date(2026, 11, 29) not in far_west.days  # a Sunday of the week before
        assert far_west.days[0] == date(2026, 11, 30)
        assert date(2026, 12, 6) in far_west.days  # Sunday 23:00 in LA = Monday 09:00 in Kyiv


async def test_an_empty_week_points_at_the_next_free_day(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    now = clock.now()
    async with sessions.begin() as session:
        # Anna takes two weeks off.
        session.add(TimeOff(professional_id=catalog.anna, first_day=date(2026, 11, 30), last_day=date(2026, 12, 13)))
    async with sessions() as session:
        coaching = await directory.bookable_service(session, catalog.coaching)
        empty = await picker.week_of(session, coaching, date(2026, 11, 30), "Europe/Kyiv", now)
        assert empty.days == []
        assert empty.next_free_day == date(2026, 12, 14)
        assert empty.next == date(2026, 12, 7)


async def test_nothing_within_the_horizon(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    async with sessions.begin() as session:
        session.add(TimeOff(professional_id=catalog.anna, first_day=date(2026, 11, 23), last_day=date(2027, 3, 1)))
    async with sessions() as session:
        coaching = await directory.bookable_service(session, catalog.coaching)
        week = await picker.week_of(session, coaching, date(2026, 11, 23), "Europe/Kyiv", clock.now())
    assert (week.days, week.next_free_day) == ([], None)


async def test_times_of_a_day_and_the_last_check(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    now = clock.now()
    async with sessions.begin() as session:
        client = User(telegram_id=77, first_name="Client", timezone="Europe/Kyiv", created_at=now)
        session.add(client)
        await session.flush()
        await hold(
            session, client=client, service_id=catalog.coaching, starts_at=kyiv_time("2026-11-24 10:00"), now=now
        )
    async with sessions() as session:
        coaching = await directory.bookable_service(session, catalog.coaching)
        slots = await picker.times_on(session, coaching, date(2026, 11, 24), "Europe/Kyiv", now)
        starts = [slot.start for slot in slots]
        assert kyiv_time("2026-11-24 10:00") not in starts
        assert kyiv_time("2026-11-24 09:00") in starts
        await picker.check_free(session, coaching, kyiv_time("2026-11-24 09:00"), now)
        with pytest.raises(SlotUnavailable) as taken:
            await picker.check_free(session, coaching, kyiv_time("2026-11-24 10:00"), now)
        assert taken.value.nearest == [
            kyiv_time("2026-11-24 09:00"),
            kyiv_time("2026-11-24 11:00"),
            kyiv_time("2026-11-24 13:30"),
        ]


async def test_busy_intervals_read_with_the_service_give_the_same_screens(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    # A calendar screen reads the professional's bookings in the service's own statement
    # (`busy_between`); the slots must be those of the slot engine's own query, lapsed holds included.
    now = clock.now()
    async with sessions.begin() as session:
        client = User(telegram_id=78, first_name="Client", timezone="Europe/Kyiv", created_at=now)
        session.add(client)
        await session.flush()
        for starts, at in (("2026-11-24 10:00", now), ("2026-11-24 13:30", now + timedelta(minutes=20))):
            await hold(session, client=client, service_id=catalog.coaching, starts_at=kyiv_time(starts), now=at)
    later = now + timedelta(minutes=40)  # the 10:00 hold has lapsed, the 13:30 one has not
    day, zone = date(2026, 11, 24), "Europe/Kyiv"
    screens = []
    for prefetch in (False, True):
        async with sessions() as session:
            window = availability.busy_window(*picker.week_bounds(day, zone)) if prefetch else None
            coaching = await directory.bookable_service(session, catalog.coaching, busy_between=window)
            week = await picker.week_of(session, coaching, day, zone, later)
            times = [slot.start for slot in await picker.times_on(session, coaching, day, zone, later)]
            screens.append((week, times))
    assert screens[0] == screens[1]
    assert kyiv_time("2026-11-24 10:00") in screens[0][1]
    assert kyiv_time("2026-11-24 13:30") not in screens[0][1]


async def test_busy_intervals_read_with_the_service_are_its_professionals_own(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, clock: FrozenClock
) -> None:
    # The service's statement reads the bookings meeting the window as one list: one straddling the
    # window's start (found through the latest booking before it), one inside, none past its end, none of
    # another professional at the same hours; the same intervals as the slot engine's own query.
    now = clock.now()
    day = date(2026, 11, 24)
    async with sessions.begin() as session:
        client = User(telegram_id=79, first_name="Client", timezone="Europe/Kyiv", created_at=now)
        session.add(client)
        await session.flush()
        coaching = await directory.bookable_service(session, catalog.coaching)
        therapy = await directory.bookable_service(session, catalog.therapy)
        anna_slots = await picker.times_on(session, coaching, day, "Europe/Kyiv", now)
        david_slots = await picker.times_on(session, therapy, day, "Europe/Kyiv", now)
        later = await picker.times_on(session, coaching, day + timedelta(days=2), "Europe/Kyiv", now)
        # David's session starts while Anna's straddling one runs: the latest booking before the window
        # must be looked for among Anna's alone.
        davids = next(slot.start for slot in david_slots if any(s.start < slot.start < s.end for s in anna_slots[:-1]))
        straddling = max(slot.start for slot in anna_slots if slot.start < davids)
        inside, past = anna_slots[-1].start, later[0].start
        for starts in (straddling, inside, past):
            await hold(session, client=client, service_id=catalog.coaching, starts_at=starts, now=now)
        await hold(session, client=client, service_id=catalog.therapy, starts_at=davids, now=now)
    low, high = davids, past - timedelta(hours=1)
    async with sessions() as session:
        found = await directory.bookable_service(session, catalog.coaching, busy_between=(low, high))
        prefetched = availability._prefetched(session, found.professional_id, low, high, now)
    async with sessions() as session:
        read = await availability._load_busy(session, catalog.anna, low, high, now, None)
    assert prefetched is not None
    assert sorted(prefetched) == sorted(read)
    assert len(read) == 2
    assert all(start.tzinfo is UTC and end.tzinfo is UTC for start, end in read + prefetched)
