"""Reviews of completed sessions (seeds: "After the session ... leave a review"): one per booking, 1-5
stars and an optional comment, which the client may change for `EDITABLE_FOR` after first leaving it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import IllegalTransition, TooLateToChange
from models import Booking, BookingState, Review

EDITABLE_FOR = timedelta(hours=24)
MAX_COMMENT = 1000


async def review_of(session: AsyncSession, booking: Booking) -> Review | None:
    return await session.scalar(select(Review).where(Review.booking_id == booking.id))


async def rate(session: AsyncSession, booking: Booking, rating: int, now: datetime) -> Review:
    """Leave (or, within EDITABLE_FOR, change) the stars for a completed session the caller owns."""
    if not 1 <= rating <= 5:
        raise ValueError(f"rating must be 1-5, got {rating}")
    if booking.state != BookingState.COMPLETED:
        raise IllegalTransition(booking.id, booking.state, "review")
    review = await review_of(session, booking)
    if review is None:
        review = Review(booking_id=booking.id, professional_id=booking.professional_id, rating=rating, created_at=now)
        session.add(review)
    else:
        _check_editable(review, booking, now)
        review.rating = rating
    await session.flush()
    return review


async def add_comment(session: AsyncSession, booking: Booking, text: str, now: datetime) -> Review:
    """The comment of a review already rated, while it can still be changed."""
    review = await review_of(session, booking)
    if review is None:
        raise IllegalTransition(booking.id, booking.state, "comment before rating")
    _check_editable(review, booking, now)
    review.comment = text.strip()[:MAX_COMMENT] or None
    await session.flush()
    return review


def _check_editable(review: Review, booking: Booking, now: datetime) -> None:
    if now - review.created_at > EDITABLE_FOR:
        raise TooLateToChange(booking.id)
