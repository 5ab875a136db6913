"""What every feature router shares: the per-update context, callback data conventions, keyboards and
sending.

Writing a feature module (say handlers/catalog.py)::

    class ProCb(Callback, prefix="pr"):      # short, unique prefix; ids only, never names or prices
        id: int

    class Browse(StatesGroup):
        category = State()

    async def ask_category(ctx: Flow) -> Rendered:
        return Rendered(_("Pick a category:"), inline_keyboard(...))

    async def open_pro(query: CallbackQuery, callback_data: ProCb, ctx: Flow) -> None:
        # Callback data is untrusted: reload by id and check the caller may see it; raising
        # NotFound / NotAllowed answers "This button is no longer available." (handlers/fallback.py).
        ...
        await replace(query, ctx, Rendered(...))

    def make_router(registry: Registry) -> Router:
        router = Router(name="catalog")
        router.callback_query.register(open_pro, ProCb.filter())
        # The fallback repeats this when someone types nonsense in that state.
        registry.state_prompt(Browse.category, ask_category)
        return router

then add `catalog.make_router` to `FEATURES` in handlers/__init__.py. Each app calls every factory
once, so routers and registries (handlers/registry.py) are never shared between apps.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.methods import TelegramMethod
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.types import Chat as TelegramChat
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import field_validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares import Replies, current_replies
from bot.render import Rendered, send_rendered
from bot.services.clock import Clock
from bot.settings import Settings
from models import User

if TYPE_CHECKING:
    from handlers.registry import Registry

log = logging.getLogger(__name__)


@dataclass
class Flow:
    """Everything a handler usually needs, injected as `ctx` into message and callback handlers."""

    bot: Bot
    chat_id: int
    session: AsyncSession
    user: User
    state: FSMContext
    locale: str
    clock: Clock
    settings: Settings
    i18n: I18n
    # What this update says back, sent after its transaction commits (bot/middlewares/replies.py).
    replies: Replies
    # For work after this update's transaction (a payment link: the gateway is called outside it).
    sessions: async_sessionmaker[AsyncSession]
    # The app's prompts, deep links and commands (handlers/registry.py).
    registry: Registry

    def switch_locale(self, locale: str) -> None:
        """Speak `locale` for the rest of this update (after the person picked a language)."""
        self.locale = locale
        self.i18n.current_locale = locale


class FlowMiddleware(BaseMiddleware):
    """Builds `ctx`; events without a person behind them (another bot, a channel) go no further."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("user")
        chat: TelegramChat | None = data.get("event_chat")
        if user is None:
            return None
        data["ctx"] = Flow(
            bot=data["bot"],
            chat_id=chat.id if chat is not None else user.telegram_id,
            session=data["session"],
            user=user,
            state=data["state"],
            locale=data["locale"],
            clock=data["clock"],
            settings=data["settings"],
            i18n=data["i18n"],
            replies=data["replies"],
            sessions=data["sessions"],
            registry=self.registry,
        )
        return await handler(event, data)


# --- callback data ---------------------------------------------------------------------------------


# The largest number callback data may carry: a PostgreSQL `integer` (ids, YYYYMMDD days, minutes
# since the epoch until the year 6053 all fit).
MAX_NUMBER = 2**31 - 1


class Callback(CallbackData, prefix="_"):
    """Base of every callback factory; the app's registry refuses two factories with one prefix.

    Conventions (Telegram allows 64 bytes): a 2-4 letter prefix, then ids and short codes only.
    Everything a button refers to is reloaded and ownership-checked by its handler: a button can be
    stale (the booking was cancelled meanwhile) or forged (anyone can send any callback data).
    """

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        """Numbers any id, code or count of ours fits in: a forged `cb:99999999999999999999999` is no
        button of ours (the filter does not match, so it gets the stale-button answer), never an
        OverflowError deep in a database driver."""
        if isinstance(value, int) and not isinstance(value, bool) and not -MAX_NUMBER <= value <= MAX_NUMBER:
            raise ValueError("number out of range")
        return value

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        prefix = cls.__prefix__
        owner = f"{cls.__module__}.{cls.__qualname__}"
        if len(prefix) > 4:
            raise ValueError(f"{owner}: callback prefix {prefix!r} is longer than 4 characters")


Button = tuple[str, CallbackData] | InlineKeyboardButton


def _button(item: Button) -> InlineKeyboardButton:
    if isinstance(item, InlineKeyboardButton):
        return item
    label, data = item
    return InlineKeyboardButton(text=label, callback_data=data.pack())


def inline_keyboard(*rows: Sequence[Button]) -> InlineKeyboardMarkup:
    """One list per row: ``inline_keyboard([("Yes", Confirm(id=1)), ("No", Back())], [url_button])``."""
    return InlineKeyboardMarkup(inline_keyboard=[[_button(item) for item in row] for row in rows if row])


# Telegram's limits on an inline keyboard, as aiogram's InlineKeyboardBuilder checks them.
MAX_ROW_WIDTH = 8
MAX_BUTTONS = 100


def button_grid(items: Iterable[Button], columns: int = 1) -> InlineKeyboardMarkup:
    """Buttons laid out `columns` to a row (days of a week, times of a day)."""
    # Not InlineKeyboardBuilder: it deep-copies the whole keyboard for every button added (16 buttons:
    # 1.3 ms, against 0.12 ms built directly).
    if not 1 <= columns <= MAX_ROW_WIDTH:
        raise ValueError(f"{columns} buttons to a row: Telegram shows 1 to {MAX_ROW_WIDTH}")
    buttons = [_button(item) for item in items]
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"{len(buttons)} buttons: Telegram takes at most {MAX_BUTTONS}")
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[start : start + columns] for start in range(0, len(buttons), columns)]
    )


# --- sending ---------------------------------------------------------------------------------------
#
# Nothing here calls Telegram: each function adds to the update's replies, which go out in order once
# the transaction has committed (bot/middlewares/replies.py). They are coroutines so that handlers
# read the same whether a reply goes out now or later.


async def send(ctx: Flow, rendered: Rendered) -> None:
    """Send a new message to the current chat."""
    bot, chat_id = ctx.bot, ctx.chat_id

    async def deliver() -> None:
        await send_rendered(bot, chat_id, rendered)

    ctx.replies.add(rendered.method, deliver, chat_id)


async def replace(query: CallbackQuery, ctx: Flow, rendered: Rendered) -> None:
    """Show `rendered` in place of the message whose button was pressed (a new message where it cannot
    be edited: too old, or the new content needs a reply keyboard or a file), and settle the button."""
    bot, chat_id, message = ctx.bot, ctx.chat_id, query.message
    editable = (
        isinstance(message, Message)
        and rendered.document is None
        and rendered.photo is None
        and (rendered.reply_markup is None or isinstance(rendered.reply_markup, InlineKeyboardMarkup))
    )

    async def deliver() -> None:
        edited = False
        if editable and isinstance(message, Message):
            markup = rendered.reply_markup if isinstance(rendered.reply_markup, InlineKeyboardMarkup) else None
            try:
                await message.edit_text(rendered.text, entities=rendered.entities, reply_markup=markup)
                edited = True
            except TelegramBadRequest as exc:
                # "message is not modified" (pressed twice) means it already shows this: nothing to send.
                edited = "not modified" in str(exc)
        if not edited:
            await send_rendered(bot, chat_id, rendered)

    ctx.replies.add("editMessageText", deliver, chat_id)
    await answer(query)


async def answer(query: CallbackQuery, text: str | None = None, *, show_alert: bool = False) -> None:
    """Settle a pressed button, with a short note over the chat when `text` is given."""

    async def deliver() -> None:
        # An answer too late (the query expired) changes nothing for the person: no reason to fail.
        with suppress(TelegramBadRequest):
            await query.answer(text, show_alert=show_alert)

    current_replies().add("answerCallbackQuery", deliver, query.from_user.id)


async def call_telegram(ctx: Flow, method: TelegramMethod[Any]) -> None:
    """Any other Bot API call the update makes (a chat's command menu, say), after the commit too;
    Telegram's refusal is logged and dropped like any reply's."""
    bot = ctx.bot

    async def deliver() -> None:
        await bot(method)

    ctx.replies.add(method.__api_method__, deliver, ctx.chat_id)


def buttons_expected() -> str:
    """What a step that only takes buttons expects (Registry.state_prompt's `expects`)."""
    return _("Please pick one of the buttons below.")


def stale_button_text() -> str:
    return _("This button is no longer available.")


def stale_button_help() -> str:
    return _(
        "That button no longer works: it may be from an earlier conversation. "
        "Send /start to begin again, or /bookings to see your sessions."
    )


async def answer_stale(query: CallbackQuery) -> None:
    """The polite answer to a button that is stale, forged, or not this person's: a note over the chat,
    and in the chat what to do instead (a note alone is easy to miss, and says nothing of a way on)."""
    await answer(query, stale_button_text())
    bot, chat_id, text = query.bot, query.from_user.id, stale_button_help()
    if bot is None:
        return

    async def deliver() -> None:
        await bot.send_message(chat_id, text)

    current_replies().add("sendMessage", deliver, chat_id)
