"""The client's view of the catalog: listed professionals (verified and complete: bot/services/pro_profile.py),
filtered and paginated, their profiles with active services and rating, and the services that can be booked.

Only verified professionals are ever returned (seeds: "Getting verified"); an unverified or unknown
one is NotFound, exactly like an id that never existed, so a forged button learns nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, and_, bindparam, case, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.expression import cast

from bot.services import availability
from bot.services.errors import NotFound
from bot.services.pro_profile import listable
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


def _listed() -> list[Any]:
    """Verified AND complete (bot/services/pro_profile.py): a profile missing a part is never listed."""
    return [Professional.verified.is_(True), *listable()]


def _verified_filtered(session: AsyncSession, category: str | None, language: str | None) -> list[Any]:
    conditions: list[Any] = _listed()
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
    # One statement for the page, how many match (a window count) and each one's rating (subqueries
    # over the page's rows only); a page past the end (a stale button) counts first and asks again.
    average = select(func.avg(Review.rating)).where(Review.professional_id == Professional.id).scalar_subquery()
    reviews = select(func.count(Review.id)).where(Review.professional_id == Professional.id).scalar_subquery()
    query = (
        select(Professional, func.count().over().label("total"), average.label("average"), reviews.label("reviews"))
        .where(*conditions)
        .order_by(func.lower(Professional.name), Professional.id)
        .limit(per_page)
    )
    page = max(page, 0)
    found = (await session.execute(query.offset(page * per_page))).all()
    if found:
        total = int(found[0].total)
    else:
        total = int(await session.scalar(select(func.count(Professional.id)).where(*conditions)) or 0)
    pages = max(1, -(-total // per_page))
    if page > pages - 1:
        page = pages - 1
        found = (await session.execute(query.offset(page * per_page))).all() if total else []
    rows = [row.Professional for row in found]
    rated = {
        row.Professional.id: Rating(float(row.average), int(row.reviews)) if row.reviews else NO_REVIEWS
        for row in found
    }
    items = [_listing(row, rated[row.id]) for row in rows]
    return DirectoryPage(items=items, page=page, pages=pages, total=total)


def _listing(row: Any, rating: Rating) -> Listing:
    """A directory line from a professional's row (an ORM object or a result row with the same names)."""
    return Listing(
        id=row.id,
        slug=row.slug,
        name=row.name,
        headline=row.headline,
        languages=tuple(row.languages or ()),
        categories=tuple(row.categories or ()),
        rating=rating,
    )


def _unfiltered() -> Select[Any]:
    """Every listed professional with their place in the list, rated only on the page between the bound
    positions (a CASE around the subqueries: both databases evaluate only the branch taken)."""
    ranked = (
        select(
            Professional.id,
            Professional.slug,
            Professional.name,
            Professional.headline,
            Professional.languages,
            Professional.categories,
            func.row_number().over(order_by=(func.lower(Professional.name), Professional.id)).label("position"),
        )
        .where(*_listed())
        .subquery()
    )
    on_page = and_(ranked.c.position > bindparam("first_position"), ranked.c.position <= bindparam("last_position"))
    average = select(func.avg(Review.rating)).where(Review.professional_id == ranked.c.id).scalar_subquery()
    reviews = select(func.count(Review.id)).where(Review.professional_id == ranked.c.id).scalar_subquery()
    return select(
        ranked,
        case((on_page, average)).label("average"),
        case((on_page, reviews), else_=0).label("reviews"),
    ).order_by(ranked.c.position)


# Built once: the home screen follows every onboarding (only the page's positions are bound).
_UNFILTERED = _unfiltered()


async def unfiltered_page(
    session: AsyncSession, *, page: int = 0, per_page: int = PER_PAGE
) -> tuple[Facets, DirectoryPage]:
    """`facets` and `list_professionals` without filters, in one statement (the home screen, shown
    after every onboarding): every listed professional's row with its place in the list, and the
    rating only for the rows of the page asked for (a CASE around the subqueries: both databases
    evaluate only the branch taken). A page past the end (a stale button) rates its rows afterwards."""
    if per_page < 1:
        raise ValueError("per_page must be positive")
    page = max(page, 0)
    positions = {"first_position": page * per_page, "last_position": (page + 1) * per_page}
    rows = (await session.execute(_UNFILTERED, positions)).all()
    categories: set[str] = set()
    languages: set[str] = set()
    for row in rows:
        categories.update(str(item) for item in row.categories or ())
        languages.update(str(item) for item in row.languages or ())
    total = len(rows)
    pages = max(1, -(-total // per_page))
    shown = rows[page * per_page : (page + 1) * per_page]
    if page > pages - 1:
        page = pages - 1
        shown = rows[page * per_page : (page + 1) * per_page]
        rated = await ratings(session, [row.id for row in shown])
    else:
        rated = {row.id: Rating(float(row.average), int(row.reviews)) if row.reviews else NO_REVIEWS for row in shown}
    items = [_listing(row, rated[row.id]) for row in shown]
    return Facets(sorted(categories), sorted(languages)), DirectoryPage(
        items=items, page=page, pages=pages, total=total
    )


async def facets(session: AsyncSession) -> Facets:
    """Categories and languages of the verified professionals.

    The two JSON lists are read and merged here rather than in SQL: a directory holds hundreds of
    professionals, not millions, and this stays the same on both databases.
    """
    rows = await session.execute(select(Professional.categories, Professional.languages).where(*_listed()))
    categories: set[str] = set()
    languages: set[str] = set()
    for row_categories, row_languages in rows:
        categories.update(str(item) for item in row_categories or ())
        languages.update(str(item) for item in row_languages or ())
    return Facets(sorted(categories), sorted(languages))


def _profile_statement(where: ColumnElement[bool]) -> Select[Any]:
    """A verified professional's profile in one statement: the professional, their active services
    (catalog order) each joined with its active packages, and, computed once on a one-row derived
    table, the rating and the newest comments (one scalar subquery per place, LATEST_COMMENTS of them)."""
    newest = [
        select(Review.comment)
        .where(Review.professional_id == Professional.id, Review.comment.is_not(None))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .offset(place)
        .limit(1)
        .scalar_subquery()
        .label(f"comment_{place}")
        for place in range(LATEST_COMMENTS)
    ]
    head = (
        select(
            Professional.id.label("id"),
            select(cast(func.avg(Review.rating), Float))
            .where(Review.professional_id == Professional.id)
            .scalar_subquery()
            .label("average"),
            select(func.count(Review.id))
            .where(Review.professional_id == Professional.id)
            .scalar_subquery()
            .label("reviews"),
            *newest,
        )
        .where(where)
        # LIMIT keeps SQLite from flattening it into the join (and running the subqueries once a row).
        .limit(1)
        .subquery()
    )
    return (
        select(Professional, Service, Package, head)
        .join(head, head.c.id == Professional.id)
        .outerjoin(Service, and_(Service.professional_id == Professional.id, Service.active.is_(True)))
        .outerjoin(
            Package,
            and_(
                Package.service_id == Service.id,
                Package.professional_id == Professional.id,
                Package.active.is_(True),
            ),
        )
        .order_by(Service.id, Package.id)
    )


# Built once (a profile is opened on every booking): the professional's id or lower-case slug is bound.
_PROFILE_BY_ID = _profile_statement(Professional.id == bindparam("key"))
_PROFILE_BY_SLUG = _profile_statement(func.lower(Professional.slug) == bindparam("key"))


async def _profile(session: AsyncSession, statement: Select[Any], value: object, key: object) -> ProfileView:
    """The profile `statement` finds with `value` bound; NotFound (naming `key`) when there is none."""
    rows = (await session.execute(statement, {"key": value})).all()
    professional = rows[0].Professional if rows else None
    if professional is None or not professional.verified:
        raise NotFound("professional", key)
    services: list[Service] = []
    packages: list[Package] = []
    for row in rows:
        if row.Service is not None and (not services or services[-1] is not row.Service):
            services.append(row.Service)
        if row.Package is not None:
            set_committed_value(row.Package, "service", row.Service)
            packages.append(row.Package)
    first = rows[0]
    rating = Rating(float(first.average), int(first.reviews)) if first.reviews else NO_REVIEWS
    comments = tuple(comment for comment in (getattr(first, f"comment_{n}") for n in range(LATEST_COMMENTS)) if comment)
    return ProfileView(
        professional=professional,
        services=services,
        rating=rating,
        comments=comments,
        packages=tuple(sorted(packages, key=lambda package: package.id)),
    )


async def profile_by_slug(session: AsyncSession, slug: str) -> ProfileView:
    """A verified professional's profile; NotFound otherwise (a deep link to someone not listed). Any
    case finds it: people retype links (`pro_ANNA-KOVAL`)."""
    return await _profile(session, _PROFILE_BY_SLUG, slug.lower(), slug)


async def profile_by_id(session: AsyncSession, professional_id: int) -> ProfileView:
    return await _profile(session, _PROFILE_BY_ID, professional_id, professional_id)


# Built once (every booking step asks for its service): only the values are bound at each call.
_BOOKABLE = select(Service).options(joinedload(Service.professional)).where(Service.id == bindparam("service_id"))
_BOOKABLE_WITH_BUSY = availability.with_busy(_BOOKABLE, Service.professional_id)


async def bookable_service(
    session: AsyncSession, service_id: int, *, busy_between: tuple[datetime, datetime] | None = None
) -> Service:
    """An active service of a verified professional, with its professional loaded; NotFound otherwise.

    `busy_between` (a calendar screen, bot.services.availability.busy_window): the professional's
    bookings meeting that range come in the same statement, for the slot engine to use."""
    if busy_between is None:
        service = await session.scalar(_BOOKABLE, {"service_id": service_id})
    else:
        low, high = busy_between
        rows = (
            await session.execute(_BOOKABLE_WITH_BUSY, {"service_id": service_id, **availability.busy_range(low, high)})
        ).all()
        service = rows[0][0] if rows else None
        if service is not None:
            availability.remember_busy(session, service.professional_id, low, high, rows[0][1])
    if service is None or not service.active or not service.professional.verified:
        raise NotFound("service", service_id)
    return service
