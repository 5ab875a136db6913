"""A Bot API session that talks to no server: it records every call and answers like Telegram would.

The demo renders what it records; the tests assert on it (tests/bot/harness.py). Results are parsed
into aiogram's `Response[T]` as `check_response` would (real aiogram objects, bound to the bot), and queued
failures go through `check_response` itself, so they raise the real exceptions
(`fail_next("sendMessage", 429, retry_after=5)` -> TelegramRetryAfter).

It is the Telegram of `dev.py bench updates` for both the bot and the echo bot it is measured against, so
it stays cheap per call: no JSON encoding, unset fields never walked, a keyboard not parsed back from
its own dump.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram.client.session.base import BaseSession
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, InlineKeyboardMarkup, InputFile, User

from bot.services.clock import Clock

if TYPE_CHECKING:
    from aiogram import Bot

BOT_TOKEN = "4242424242:DEMO-fake-token-for-offline-use-only"
BOT_USERNAME = "bookbot_demo_bot"

# Methods whose answer is the message they sent or edited.
_SENDS = {
    "sendMessage": "text",
    "sendDocument": "caption",
    "sendPhoto": "caption",
    "sendLocation": None,
    "sendVenue": None,
    "copyMessage": None,
}
_EDITS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}
# Values prepare_value hands back unchanged.
_PLAIN = frozenset({str, int, float, bool})


class _BadRequest(Exception):
    pass


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    # Uploaded files by field: (filename, content).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class ChatMessage:
    """A message the bot sent, as it stands now (edits applied)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    document: tuple[str, bytes] | None = None
    # Sent with sendPhoto (`document` then holds the uploaded image, if it was uploaded).
    photo: bool = False
    edited: bool = False
    deleted: bool = False

    def inline_buttons(self) -> list[dict[str, Any]]:
        """The inline buttons, row by row flattened: each {"text", "callback_data" | "url" | ...}."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    def reply_buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["keyboard"] for button in row]


@dataclass
class Stall:
    """A chat whose every call hangs until `release()` (a Telegram that is slow for one person)."""

    chat_id: int
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class Popup:
    callback_query_id: str
    text: str | None
    show_alert: bool


class RecordingSession(BaseSession):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], ChatMessage] = {}
        # (chat_id, message_id) of every send and edit, in order: the chat as a person saw it happen.
        self.events: list[tuple[int, int]] = []
        self.popups: list[Popup] = []
        self._message_ids = itertools.count(1)
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._stalls: dict[int, Stall] = {}
        self._response_types: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}
        # (id(bot), chat id) -> the bot, and the chat and the bot's user as its answers carry them.
        self._parties: dict[tuple[int, int], tuple[Bot, Chat, User]] = {}

    # -- what tests and the demo use ---------------------------------------------------------------

    def next_message_id(self) -> int:
        """Message ids are shared by both sides of a chat, as in Telegram."""
        return next(self._message_ids)

    def fail_next(
        self, method: str, status: int = 500, description: str = "Internal Server Error", retry_after: int | None = None
    ) -> None:
        """Make the next call of `method` fail as Telegram would (429 with retry_after, 403, 400, ...)."""
        payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            payload["parameters"] = {"retry_after": retry_after}
        self._failures.setdefault(method, deque()).append((status, payload))

    def stall(self, chat_id: int) -> Stall:
        """Make calls to `chat_id` wait (after being recorded) until the returned stall is released;
        `reached` is set once one is waiting."""
        stall = self._stalls[chat_id] = Stall(chat_id)
        return stall

    def chat(self, chat_id: int) -> list[ChatMessage]:
        """The bot's messages in a chat, oldest first, as they stand now."""
        return [m for (c, _), m in self.messages.items() if c == chat_id and not m.deleted]

    def events_since(self, index: int) -> list[ChatMessage]:
        return [self.messages[key] for key in self.events[index:]]

    # -- BaseSession -------------------------------------------------------------------------------

    async def close(self) -> None:
        pass

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        name = method.__api_method__
        files: dict[str, InputFile] = {}
        params: dict[str, Any] = {}
        # What aiogram's own sessions put on the wire (prepare_value), without the JSON encoding. Unset
        # fields are dropped by pydantic rather than walked: a keyboard button has a dozen.
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self._prepare(value, bot, files)
            if prepared is not None:
                params[key] = prepared
        call = ApiCall(name, params)
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                upload = files[value.removeprefix("attach://")]
                content = b"".join([chunk async for chunk in upload.read(bot)])
                call.files[key] = (upload.filename or key, content)
        self.calls.append(call)
        stall = self._stalls.get(int(params["chat_id"])) if isinstance(params.get("chat_id"), int) else None
        if stall is not None:
            stall.reached.set()
            await stall.released.wait()

        queued = self._failures.get(name)
        if queued:
            status, payload = queued.popleft()
            self.check_response(bot, method, status, json.dumps(payload))
        try:
            result = self._answer(bot, call)
        except _BadRequest as exc:
            error = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
            self.check_response(bot, method, 400, json.dumps(error))
        if isinstance(result, dict) and "message_id" in result:
            self._reuse_parsed(bot, method, result)
        # check_response minus the JSON round trip (queued failures and refusals above still take it).
        response = self._response_type(method).model_validate({"ok": True, "result": result}, context={"bot": bot})
        return response.result  # type: ignore[return-value]

    def _reuse_parsed(self, bot: Bot, method: TelegramMethod[Any], message: dict[str, Any]) -> None:
        """Put in the parts of a message answer that exist as aiogram objects already; pydantic takes an
        instance as it is instead of building a new one from its dump."""
        # The keyboard this very call carried (what `_answer` stored is its dump): ~4 µs a button.
        markup = getattr(method, "reply_markup", None)
        if "reply_markup" in message and isinstance(markup, InlineKeyboardMarkup):
            message["reply_markup"] = markup
        # The bot and the chat, the same in every answer: frozen objects, so shared safely (~10 µs).
        key = (id(bot), message["chat"]["id"])
        parsed = self._parties.get(key)
        if parsed is None or parsed[0] is not bot:
            chat = Chat.model_validate(message["chat"], context={"bot": bot})
            sender = User.model_validate(message["from"], context={"bot": bot})
            parsed = self._parties[key] = (bot, chat, sender)
        message["chat"], message["from"] = parsed[1], parsed[2]

    def _response_type(self, method: TelegramMethod[TelegramType]) -> type[Response[TelegramType]]:
        # pydantic's own cache of parametrized generics costs a few µs a lookup (aiogram_responses.py).
        kind = type(method)
        response_type = self._response_types.get(kind)
        if response_type is None:
            response_type = self._response_types[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return response_type

    def _prepare(self, value: Any, bot: Bot, files: dict[str, InputFile]) -> Any:
        """`prepare_value(..., _dumps_json=False)`, with the plain values a dumped method is mostly made of
        (a keyboard's texts and callback data) returned as they are instead of through its dozen checks."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is dict:
            return {k: p for k, v in value.items() if (p := self._prepare(v, bot, files)) is not None}
        if kind is list:
            return [p for v in value if (p := self._prepare(v, bot, files)) is not None]
        return self.prepare_value(value, bot=bot, files=files, _dumps_json=False)

    def _now(self) -> int:
        return int(self.clock.now().timestamp() if self.clock else time.time())

    def _answer(self, bot: Bot, call: ApiCall) -> Any:
        params = call.params
        if call.method == "getMe":
            return {"id": bot.id, "is_bot": True, "first_name": "Bookbot", "username": BOT_USERNAME}
        if call.method == "answerCallbackQuery":
            self.popups.append(Popup(params["callback_query_id"], params.get("text"), bool(params.get("show_alert"))))
            return True
        if call.method in _SENDS:
            chat_id = int(params["chat_id"])
            text_field = _SENDS[call.method]
            message = ChatMessage(
                chat_id=chat_id,
                message_id=self.next_message_id(),
                text=str(params.get(text_field, "")) if text_field else "",
                reply_markup=params.get("reply_markup"),
                document=call.files.get("document") or call.files.get("photo"),
                photo=call.method == "sendPhoto",
            )
            self._record(message)
            return self._message_json(bot, message)
        if call.method in _EDITS:
            if "inline_message_id" in params:
                return True
            stored = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
            if stored is None or stored.deleted:
                raise _BadRequest("message to edit not found")
            if (
                call.method == "editMessageText"
                and stored.text == params["text"]
                and stored.reply_markup == params.get("reply_markup")
            ):
                raise _BadRequest("message is not modified")
            if call.method == "editMessageText":
                stored.text = str(params["text"])
            elif call.method == "editMessageCaption":
                stored.text = str(params.get("caption", ""))
            stored.reply_markup = params.get("reply_markup")
            stored.edited = True
            self.events.append((stored.chat_id, stored.message_id))
            return self._message_json(bot, stored)
        if call.method == "deleteMessage":
            stored = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
            if stored is not None:
                stored.deleted = True
            return True
        # setMyCommands, deleteWebhook, sendChatAction, ...: Telegram answers True.
        return True

    def _record(self, message: ChatMessage) -> None:
        self.messages[(message.chat_id, message.message_id)] = message
        self.events.append((message.chat_id, message.message_id))

    def _message_json(self, bot: Bot, message: ChatMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": self._now(),
            "chat": {"id": message.chat_id, "type": "private"},
            "from": {"id": bot.id, "is_bot": True, "first_name": "Bookbot", "username": BOT_USERNAME},
        }
        if message.photo:
            size = {"file_id": f"photo{message.message_id}", "file_unique_id": f"u{message.message_id}"}
            data["photo"] = [size | {"width": 320, "height": 320}]
            data["caption"] = message.text
        elif message.document is not None:
            data["document"] = {"file_id": f"doc{message.message_id}", "file_unique_id": f"u{message.message_id}"}
            data["caption"] = message.text
        else:
            data["text"] = message.text
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.edited:
            data["edit_date"] = self._now()
        return data
