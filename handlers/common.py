"""What every feature router shares: the per-update context, callback data conventions, keyboards,
state prompts (what the fallback repeats) and deep links.

Writing a feature module (say handlers/catalog.py)::

    router = Router(name="catalog")

    class ProCb(Callback, prefix="pr"):      # short, unique prefix; ids only, never names or prices
        id: int

    class Browse(StatesGroup):
        category = State()

    @state_prompt(Browse.category)           # the fallback repeats this when someone types nonsense here
    async def ask_category(ctx: Flow) -> Rendered:
        return Rendered(_("Pick a category:"), inline_keyboard(...))

    @router.callback_query(ProCb.filter())
    async def open_pro(query: CallbackQuery, callback_data: ProCb, ctx: Flow) -> None:
        # Callback data is untrusted: reload by id and check the caller may see it; raising
        # NotFound / NotAllowed answers "This button is no longer available." (handlers/fallback.py).
        ...
        await replace(query, ctx, Rendered(...))

then add `catalog.router` to `FEATURE_ROUTERS` in handlers/__init__.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ClassVar

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
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
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares import Replies, current_replies
from bot.render import Rendered, send_rendered
from bot.services.clock import Clock
from bot.settings import Settings
from models import User

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

    def switch_locale(self, locale: str) -> None:
        """Speak `locale` for the rest of this update (after the person picked a language)."""
        self.locale = locale
        self.i18n.current_locale = locale


class FlowMiddleware(BaseMiddleware):
    """Builds `ctx`; events without a person behind them (another bot, a channel) go no further."""

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
        )
        return await handler(event, data)


# --- callback data ---------------------------------------------------------------------------------


class Callback(CallbackData, prefix="_"):
    """Base of every callback factory: refuses a prefix another factory already uses.

    Conventions (Telegram allows 64 bytes): a 2-4 letter prefix, then ids and short codes only.
    Everything a button refers to is reloaded and ownership-checked by its handler: a button can be
    stale (the booking was cancelled meanwhile) or forged (anyone can send any callback data).
    """

    _owners: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        prefix = cls.__prefix__
        owner = f"{cls.__module__}.{cls.__qualname__}"
        if len(prefix) > 4:
            raise ValueError(f"{owner}: callback prefix {prefix!r} is longer than 4 characters")
        if Callback._owners.setdefault(prefix, owner) != owner:
            raise ValueError(f"{owner}: callback prefix {prefix!r} is taken by {Callback._owners[prefix]}")


Button = tuple[str, CallbackData] | InlineKeyboardButton


def _button(item: Button) -> InlineKeyboardButton:
    if isinstance(item, InlineKeyboardButton):
        return item
    label, data = item
    return InlineKeyboardButton(text=label, callback_data=data.pack())


def inline_keyboard(*rows: Sequence[Button]) -> InlineKeyboardMarkup:
    """One list per row: ``inline_keyboard([("Yes", Confirm(id=1)), ("No", Back())], [url_button])``."""
    return InlineKeyboardMarkup(inline_keyboard=[[_button(item) for item in row] for row in rows if row])


def button_grid(items: Iterable[Button], columns: int = 1) -> InlineKeyboardMarkup:
    """Buttons laid out `columns` to a row (days of a week, times of a day)."""
    builder = InlineKeyboardBuilder()
    for item in items:
        builder.add(_button(item))
    builder.adjust(columns)
    return builder.as_markup()


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

    ctx.replies.add("sendDocument" if rendered.document is not None else "sendMessage", deliver, chat_id)


async def replace(query: CallbackQuery, ctx: Flow, rendered: Rendered) -> None:
    """Show `rendered` in place of the message whose button was pressed (a new message where it cannot
    be edited: too old, or the new content needs a reply keyboard or a file), and settle the button."""
    bot, chat_id, message = ctx.bot, ctx.chat_id, query.message
    editable = (
        isinstance(message, Message)
        and rendered.document is None
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


def stale_button_text() -> str:
    return _("This button is no longer available.")


async def answer_stale(query: CallbackQuery) -> None:
    """The polite answer to a button that is stale, forged, or not this person's."""
    await answer(query, stale_button_text())


# --- state prompts ---------------------------------------------------------------------------------

Prompt = Callable[[Flow], Awaitable[Rendered]]
_prompts: dict[str, Prompt] = {}


def state_prompt(state: State) -> Callable[[Prompt], Prompt]:
    """Register the question a state asks, so the fallback can ask it again (and so can the handler
    that enters the state: ``await ctx.state.set_state(S.x); await send(ctx, await ask_x(ctx))``)."""

    def decorator(prompt: Prompt) -> Prompt:
        if state.state is None:
            raise ValueError("a state prompt needs a state that belongs to a StatesGroup")
        _prompts[state.state] = prompt
        return prompt

    return decorator


def prompt_for(state_name: str | None) -> Prompt | None:
    return _prompts.get(state_name) if state_name else None


# --- deep links ------------------------------------------------------------------------------------

DeepLinkOpener = Callable[[Flow, str], Awaitable[Rendered]]
_deep_links: dict[str, DeepLinkOpener] = {}


def deep_link(prefix: str) -> Callable[[DeepLinkOpener], DeepLinkOpener]:
    """Register what `/start <prefix>_<argument>` opens, after onboarding (handlers/start.py).

    The opener gets the argument and returns the first screen; it may set an FSM state.
    """

    def decorator(opener: DeepLinkOpener) -> DeepLinkOpener:
        existing = _deep_links.get(prefix)
        if existing is not None and existing is not opener:
            raise ValueError(f"deep link prefix {prefix!r} is registered twice")
        _deep_links[prefix] = opener
        return opener

    return decorator


def deep_link_opener(payload: str) -> tuple[DeepLinkOpener, str] | None:
    """The opener and its argument for a /start payload ("pro_anna-koval"), or None."""
    prefix, separator, argument = payload.partition("_")
    entry = _deep_links.get(prefix)
    if not prefix or not separator or not argument or entry is None:
        return None
    return entry, argument


HOME = ""


def home_screen() -> Callable[[DeepLinkOpener], DeepLinkOpener]:
    """Register the screen /start shows an onboarded person (the catalog's "browse" screen).

    The opener's argument is always empty."""
    return deep_link(HOME)


async def open_home(ctx: Flow) -> Rendered:
    return await _deep_links[HOME](ctx, "")


# --- commands --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandInfo:
    name: str
    describe: Callable[[], str]


_commands: dict[str, CommandInfo] = {}


def bot_command(name: str, describe: Callable[[], str]) -> None:
    """List a command in /help and in Telegram's command menu (setMyCommands), in registration order.

    `describe` is called in the reader's locale: ``bot_command("bookings", lambda: _("Your sessions"))``.
    """
    _commands[name] = CommandInfo(name, describe)


def bot_commands() -> list[CommandInfo]:
    return list(_commands.values())


RoleCommands = Callable[[Flow], Awaitable[list[CommandInfo]]]
_role_commands: list[RoleCommands] = []


def role_commands(provider: RoleCommands) -> RoleCommands:
    """Register the extra commands a person has in a role (a linked professional's /agenda, say), so
    /help lists them for that person only; the feature that owns the role decides who has it."""
    if provider not in _role_commands:
        _role_commands.append(provider)
    return provider


async def commands_for(ctx: Flow) -> list[CommandInfo]:
    """What /help lists for this person: the public commands, then those of their roles."""
    found = bot_commands()
    for provider in _role_commands:
        found.extend(await provider(ctx))
    return found
