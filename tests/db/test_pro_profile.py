"""The rule of a listed profile, twice: `missing_parts` (what the chat shows) and `listable()` (the SQL
the directory filters by) must agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import directory, invites, pro_profile
from models import Professional, ServiceMode
from tests.worlds import professional, service, weekly_hours


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


def _complete(slug: str) -> Professional:
    pro = professional(
        slug,
        slug.title(),
        headline="Coach",
        verified=True,
        timezone="Europe/Kyiv",
        languages=["en"],
        categories=["coaching"],
        video_link="https://meet.example.org/x",
        address="Main St 1",
    )
    office = service("office", "Office", 30, 1000, mode=ServiceMode.IN_PERSON)
    pro.services = [service("talk", "Talk", 30, 1000), office]
    pro.weekly_windows = weekly_hours({0: "09:00-17:00"})
    return pro


def _set(**values: object) -> Callable[[Professional], None]:
    def change(pro: Professional) -> None:
        for name, value in values.items():
            setattr(pro, name, value)

    return change


def _retire(pro: Professional) -> None:
    for item in pro.services:
        item.active = False


def _video_only(pro: Professional) -> None:
    pro.services = pro.services[:1]
    pro.address = None


CHANGES: dict[str, tuple[Callable[[Professional], None], list[str]]] = {
    "complete": (_set(), []),
    "no-name": (_set(name="  "), ["name"]),
    "no-headline": (_set(headline=""), ["headline"]),
    "no-languages": (_set(languages=[]), ["languages"]),
    "no-categories": (_set(categories=[]), ["categories"]),
    "no-link": (_set(video_link=None), ["video_link"]),
    "no-address": (_set(address=""), ["address"]),
    "no-services": (_set(services=[]), ["services"]),
    "retired": (lambda pro: _retire(pro), ["services"]),
    "video-only-no-address": (lambda pro: _video_only(pro), []),
    "no-hours": (_set(weekly_windows=[]), ["hours"]),
    "unverified": (_set(verified=False), []),
}


async def test_missing_parts_and_the_listing_agree(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        for slug, (change, _missing) in CHANGES.items():
            pro = _complete(slug)
            change(pro)
            session.add(pro)
    async with sessions() as session:
        listed = {item.slug for item in (await directory.list_professionals(session, per_page=50)).items}
        for slug, (_change, missing) in CHANGES.items():
            pro = await invites.professional_by_slug(session, slug)
            assert await pro_profile.missing_parts(session, pro) == missing, slug
            standing = await pro_profile.standing(session, pro)
            assert (slug in listed) == standing.listed, slug
    assert listed == {"complete", "video-only-no-address"}
