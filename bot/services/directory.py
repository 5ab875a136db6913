"""The client's view of the catalog: verified professionals, filtered and paginated, their profiles with
active services and rating, and the services that can be booked.

Only verified professionals are ever returned (seeds: "Getting verified"); an unverified or unknown
one is NotFound, exactly like an id that never existed, so a forged button learns nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.expression import cast

from bot.services.errors import NotFound
from models import Package, Professional, Review, Service

PER_PAGE = 5
LATEST_COMMENTS = 3


@dataclass(frozen=True)
class Rating:
    average: float | None  # None while there are no reviews
    count: int


NO_REVIEWS = Rating(None, 0)


@dataclass(frozen=True)
class Listing:
    """One professional in the list."""

    id: int
    slug: str
    name: str
    headline: str
    languages: tuple[str, ...]
    categories: tuple[str, ...]
    rating: Rating


@dataclass(frozen=True)
class DirectoryPage:
    items: list[Listing]
    page: int  # 0-based, within [0, pages)
    pages: int  # at least 1, even when nothing matches
    total: int


@dataclass(frozen=True)
class Facets:
    """What the filters can offer: every category and language of a verified professional, sorted."""

    categories: list[str]
    languages: list[str]


@dataclass(frozen=True)
class ProfileView:
    professional: Professional
    services: list[Service]  # active ones only, in catalog order
    rating: Rating
    # The newest review comments (at most three), newest first.
    comments: tuple[str, ...] = ()
    # Packages on offer (active, for an active service), in catalog order, each with its service loaded.
    packages: tuple[Package, ...] = ()


def _json_list_contains(session: AsyncSession, column: Any, value: str) -> ColumnElement[bool]:
    """`value` is an element of the JSON list in `column`.

    SQL has no portable "JSON array contains": PostgreSQL's `@>` on jsonb, SQLite's json_each.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, JSONB).contains([value])
    elements = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(elements).where(elements.c.value == value))


def _verified_filtered(session: AsyncSession, category: str | None, language: str | None) -> list[Any]:
    conditions: list[Any] = [Professional.verified.is_(True)]
    if category:
        conditions.append(_json_list_contains(session, Professional.categories, category))
    if language:
        conditions.append(_json_list_contains(session, Professional.languages, language))
    return conditions


async def ratings(session: AsyncSession, professional_ids: Iterable[int]) -> dict[int, Rating]:
    """Average and count of reviews per professional (those without reviews get NO_REVIEWS)."""
    ids = sorted(set(professional_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(Review.professional_id, func.avg(Review.rating), func.count(Review.id))
        .where(Review.professional_id.in_(ids))
        .group_by(Review.professional_id)
    )
    found = {pid: NO_REVIEWS for pid in ids}
    for professional_id, average, count in rows:
        found[professional_id] = Rating(float(average), int(count))
    return found


async def list_professionals(
    session: AsyncSession,
    *,
    category: str | None = None,
    language: str | None = None,
    page: int = 0,
    per_page: int = PER_PAGE,
) -> DirectoryPage:
    """One page of verified professionals, by name; `page` past the end gives the last page."""
    if per_page < 1:
        raise ValueError("per_page must be positive")
    conditions = _verified_filtered(session, category, language)
    total = int(await session.scalar(select(func.count(Professional.id)).where(*conditions)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    rows = (
        await session.scalars(
            select(Professional)
            .where(*conditions)
            .order_by(func.lower(Professional.name), Professional.id)
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    rated = await ratings(session, (row.id for row in rows))
    items = [
        Listing(
            id=row.id,
            slug=row.slug,
            name=row.name,
            headline=row.headline,
            languages=tuple(row.languages or ()),
            categories=tuple(row.categories or ()),
            rating=rated[row.id],
        )
        for row in rows
    ]
    return DirectoryPage(items=items, page=page, pages=pages, total=total)


async def facets(session: AsyncSession) -> Facets:
    """Categories and languages of the verified professionals.

    The two JSON lists are read and merged here rather than in SQL: a directory holds hundreds of
    professionals, not millions, and this stays the same on both databases.
    """
    rows = await session.execute(
        select(Professional.categories, Professional.languages).where(Professional.verified.is_(True))
    )
    categories: set[str] = set()
    languages: set[str] = set()
    for row_categories, row_languages in rows:
        categories.update(str(item) for item in row_categories or ())
        languages.update(str(item) for item in row_languages or ())
    return Facets(sorted(categories), sorted(languages))


async def _profile_of(session: AsyncSession, professional: Professional | None, key: object) -> ProfileView:
    if professional is None or not professional.verified:
        raise NotFound("professional", key)
    services = (
        await session.scalars(
            select(Service)
            .where(Service.professional_id == professional.id, Service.active.is_(True))
            .order_by(Service.id)
        )
    ).all()
    rating = (await ratings(session, [professional.id]))[professional.id]
    comments = await session.scalars(
        select(Review.comment)
        .where(Review.professional_id == professional.id, Review.comment.is_not(None))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(LATEST_COMMENTS)
    )
    packages = await session.scalars(
        select(Package)
        .options(joinedload(Package.service))
        .join(Service, Package.service_id == Service.id)
        .where(Package.professional_id == professional.id, Package.active.is_(True), Service.active.is_(True))
        .order_by(Package.id)
    )
    return ProfileView(
        professional=professional,
        services=list(services),
        rating=rating,
        comments=tuple(comment for comment in comments if comment),
        packages=tuple(packages),
    )


async def profile_by_slug(session: AsyncSession, slug: str) -> ProfileView:
    """A verified professional's profile; NotFound otherwise (a deep link to someone not listed). Any
    case finds it: people retype links (`pro_ANNA-KOVAL`)."""
    professional = await session.scalar(select(Professional).where(func.lower(Professional.slug) == slug.lower()))
    return await _profile_of(session, professional, slug)


async def profile_by_id(session: AsyncSession, professional_id: int) -> ProfileView:
    return await _profile_of(session, await session.get(Professional, professional_id), professional_id)


async def bookable_service(session: AsyncSession, service_id: int) -> Service:
    """An active service of a verified professional, with its professional loaded; NotFound otherwise."""
    service = await session.scalar(
        select(Service).options(joinedload(Service.professional)).where(Service.id == service_id)
    )
    if service is None or not service.active or not service.professional.verified:
        raise NotFound("service", service_id)
    return service
