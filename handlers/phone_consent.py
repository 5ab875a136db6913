"""The phone number of a phone session, asked at Confirm and only for phone services: the client agrees
to give it to that professional for that session, by Telegram's contact button (their own contact
only) or by typing it with the country code (bot/services/phone.py checks it). It waits in the
conversation until the booking is made, then lives on that booking only (handlers/booking.py passes
it to the booking service); leaving the flow forgets it ("c_" keys, booking_picker.forget_flow).
"""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from bot.render import Rendered
from bot.services import directory, phone
from bot.services.errors import NotFound
from handlers.client_callbacks import AT, NOTES, SVC, as_int, instant_from_code
from handlers.common import Flow, send
from handlers.registry import Registry
from models import Service, ServiceMode

PHONE = "c_phone"


class PhoneStep(StatesGroup):
    number = State()


def phone_lines(service: Service, data: dict[str, object]) -> list[str]:
    """The summary's line for the number given (phone sessions only)."""
    number = data.get(PHONE)
    if service.mode != ServiceMode.PHONE or data.get(SVC) != service.id or not isinstance(number, str):
        return []
    return [
        _("Your number for this call: {number} (only {name} sees it, for this session).").format(
            number=number, name=service.professional.name
        )
    ]


async def number_for(ctx: Flow, service: Service, at: int) -> tuple[str | None, Rendered | None]:
    """At Confirm: (the number given, None), or (None, the question) when a phone session still needs
    one (the conversation then waits for it). (None, None) for any other service."""
    service_id = service.id
    if service.mode != ServiceMode.PHONE:
        return None, None
    data = await ctx.state.get_data()
    number = data.get(PHONE)
    if data.get(SVC) == service_id and isinstance(number, str):
        return number, None
    await ctx.state.set_state(PhoneStep.number)
    await ctx.state.update_data({SVC: service_id, AT: at, PHONE: None})
    return None, _question(service)


def _question(service: Service, problem: str | None = None) -> Rendered:
    name = service.professional.name
    lines = [problem, ""] if problem else []
    lines.append(
        _(
            "This is a phone session: {name} calls you. May I give {name} your phone number, for this session "
            "only? Share it with the button below, or type it with the country code (e.g. +380 67 123 4567). "
            "Nobody else sees it."
        ).format(name=name)
    )
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📞 Share my number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return Rendered("\n".join(lines), keyboard)


async def _flow_service(ctx: Flow) -> tuple[Service, datetime, str] | None:
    data = await ctx.state.get_data()
    try:
        service = await directory.bookable_service(ctx.session, as_int(data, SVC))
        starts = instant_from_code(as_int(data, AT))
    except NotFound:
        return None
    notes = data.get(NOTES)
    return service, starts, notes if isinstance(notes, str) else ""


async def ask_number(ctx: Flow) -> Rendered:
    found = await _flow_service(ctx)
    if found is None:
        from handlers.booking_picker import forget_flow, gone_screen

        await forget_flow(ctx)
        return gone_screen()
    return _question(found[0])


async def _take(ctx: Flow, number: str | None, problem: str) -> None:
    found = await _flow_service(ctx)
    if found is None:
        await send(ctx, await ask_number(ctx))
        return
    service, starts, notes = found
    if number is None:
        await send(ctx, _question(service, problem))
        return
    await ctx.state.update_data({PHONE: number})
    thanks = _("Thank you. {name} will call you at {number}.").format(name=service.professional.name, number=number)
    await send(ctx, Rendered(thanks, ReplyKeyboardRemove()))
    from handlers.booking import show_summary

    await send(ctx, await show_summary(ctx, service, starts, notes))


async def contact_shared(message: Message, ctx: Flow) -> None:
    contact = message.contact
    own = contact is not None and message.from_user is not None and contact.user_id == message.from_user.id
    number = phone.from_contact(contact.phone_number) if contact is not None and own else None
    problem = _("Please share your own number with the button, or type it.")
    await _take(ctx, number, problem)


async def number_typed(message: Message, ctx: Flow) -> None:
    number = phone.normalize(message.text or "")
    problem = _("That does not look like a phone number with its country code, e.g. +380 67 123 4567.")
    await _take(ctx, number, problem)


def make_router(registry: Registry) -> Router:
    registry.state_prompt(PhoneStep.number, ask_number)
    router = Router(name="phone-consent")
    router.message.register(contact_shared, PhoneStep.number, F.contact)
    router.message.register(number_typed, PhoneStep.number, F.text, ~F.text.startswith("/"))
    return router
