"""What operators do from chat (/admin): verify professionals (seeds: "Getting verified": only verified
professionals are listed to clients) and take them off the directory again.

Who is an operator is configuration (Settings.admin_ids), checked by the chat layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotFound
from models import Professional

PAGE = 10


@dataclass(frozen=True)
class ProfessionalPage:
    professionals: list[Professional]
    page: int  # 0-based, clamped to the pages there are
    pages: int  # at least 1
    total: int


async def professionals_page(session: AsyncSession, *, verified: bool, page: int, size: int = PAGE) -> ProfessionalPage:
    """One page of the verified or the unverified professionals, by name."""
    where = Professional.verified.is_(verified)
    total = int(await session.scalar(select(func.count()).select_from(Professional).where(where)) or 0)
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(
        select(Professional).where(where).order_by(Professional.name, Professional.id).offset(page * size).limit(size)
    )
    return ProfessionalPage(list(rows.all()), page, pages, total)


async def all_professionals(session: AsyncSession) -> list[Professional]:
    """Every professional, verified or not, by slug (what `bookbot pros` lists for an operator)."""
    rows = await session.scalars(select(Professional).order_by(Professional.slug))
    return list(rows.all())


async def set_verified(session: AsyncSession, professional_id: int, verified: bool) -> Professional:
    """Verify (listed to clients from now on) or unverify (no longer listed; bookings made stay)."""
    professional = await session.get(Professional, professional_id, with_for_update=True)
    if professional is None:
        raise NotFound("professional", professional_id)
    professional.verified = verified
    await session.flush()
    return professional
