"""The review prompt after a completed session: 1-5 stars, then an optional comment; both can be
changed for a day (bot/services/reviews.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram import F, Router
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.render import Reader, Rendered, format_day
from bot.services import booking as bookings
from bot.services import reviews
from bot.services.booking_view import BookingView
from bot.services.errors import IllegalTransition, TooLateToChange
from handlers.common import Button, Callback, Flow, answer, answer_stale, inline_keyboard, replace, send
from handlers.registry import Registry
from models import Booking

STARS = "⭐"


class ReviewCb(Callback, prefix="rv"):
    """r = the stars (1-5) for booking `id`."""

    id: int
    r: int


class NoCommentCb(Callback, prefix="rvn"):
    id: int


class Reviewing(StatesGroup):
    comment = State()


def _star_buttons(booking_id: int) -> list[Button]:
    return [(STARS * stars, ReviewCb(id=booking_id, r=stars)) for stars in range(1, 6)]


def review_prompt_for_client(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    view = BookingView.from_json(payload)
    lines = [
        _("How was your session with {name}?").format(name=view.professional_name),
        _("{service}, {day}").format(
            service=view.service_name, day=format_day(view.starts_at, reader.zone, reader.locale)
        ),
        _("Tap the stars; a comment is optional."),
    ]
    buttons = _star_buttons(view.booking_id)
    return Rendered("\n".join(lines), inline_keyboard(buttons[:3], buttons[3:]))


async def stars_pressed(query: CallbackQuery, callback_data: ReviewCb, ctx: Flow) -> None:
    booking = await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    if not 1 <= callback_data.r <= 5:
        await answer_stale(query)
        return
    try:
        await reviews.rate(ctx.session, booking, callback_data.r, ctx.clock.now())
    except (IllegalTransition, TooLateToChange):
        await answer(query, _("This review can't be changed any more."))
        return
    await ctx.state.set_state(Reviewing.comment)
    await ctx.state.update_data({"review_booking": booking.id})
    await replace(query, ctx, _ask_comment(booking, callback_data.r))


def _ask_comment(booking: Booking, stars: int) -> Rendered:
    text = "\n".join(
        [
            _("Thank you! You gave {stars}.").format(stars=STARS * stars),
            _("Would you like to add a few words for others? Type them, or skip."),
            _("You can change your review for 24 hours."),
        ]
    )
    return Rendered(text, inline_keyboard([(_("Skip"), NoCommentCb(id=booking.id))]))


async def comment_typed(message: Message, ctx: Flow) -> None:
    data = await ctx.state.get_data()
    booking = await bookings.client_booking(ctx.session, int(data.get("review_booking", 0)), ctx.user)
    await ctx.state.clear()
    try:
        await reviews.add_comment(ctx.session, booking, message.text or "", ctx.clock.now())
    except (IllegalTransition, TooLateToChange):
        await send(ctx, Rendered(_("This review can't be changed any more.")))
        return
    again = inline_keyboard(_star_buttons(booking.id)[:3], _star_buttons(booking.id)[3:])
    await send(ctx, Rendered(_("Thanks, your review is saved. Tap the stars to change it today."), again))


async def skip_pressed(query: CallbackQuery, callback_data: NoCommentCb, ctx: Flow) -> None:
    await bookings.client_booking(ctx.session, callback_data.id, ctx.user)
    await ctx.state.clear()
    await replace(query, ctx, Rendered(_("Thanks, your review is saved.")))


async def ask_comment(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    booking = await bookings.client_booking(ctx.session, int(data.get("review_booking", 0)), ctx.user)
    review = await reviews.review_of(ctx.session, booking)
    return _ask_comment(booking, review.rating if review else 5)


def make_router(registry: Registry) -> Router:
    router = Router(name="reviews")
    registry.renderers.register("review_prompt_client")(review_prompt_for_client)
    registry.state_prompt(Reviewing.comment, ask_comment)
    router.callback_query.register(stars_pressed, ReviewCb.filter())
    router.callback_query.register(skip_pressed, NoCommentCb.filter())
    router.message.register(comment_typed, Reviewing.comment, F.text, ~F.text.startswith("/"))
    return router
