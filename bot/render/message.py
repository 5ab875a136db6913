"""What a screen or a notification consists of, independent of how it is sent."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply

# Telegram's limits, in UTF-16 code units (how it counts text and entity offsets).
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
_ELLIPSIS = "…"


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 code units, ending in "…" when cut (never splitting a
    character): whatever a message echoes (notes, a typed query), it is never refused as too long."""
    if _utf16_length(text) <= limit:
        return text
    budget = limit - _utf16_length(_ELLIPSIS)
    kept: list[str] = []
    used = 0
    for character in text:
        size = 2 if ord(character) > 0xFFFF else 1
        if used + size > budget:
            break
        kept.append(character)
        used += size
    return "".join(kept).rstrip() + _ELLIPSIS


@dataclass(frozen=True)
class Rendered:
    """Text plus an optional keyboard; with `document` or `photo` (an upload, or a Telegram file id to
    send again), the text becomes its caption.

    Text is plain (no parse mode): names and notes people typed need no escaping. For bold and the
    like, build entities with aiogram.utils.formatting and pass them as `entities`.
    """

    text: str
    reply_markup: Markup | None = None
    document: InputFile | str | None = None
    entities: list[MessageEntity] | None = None
    photo: InputFile | str | None = None

    @property
    def method(self) -> str:
        """The Bot API method that sends it."""
        if self.photo is not None:
            return "sendPhoto"
        return "sendDocument" if self.document is not None else "sendMessage"

    def __post_init__(self) -> None:
        # Every screen and notification is built here: one place keeps them all within Telegram's limit.
        limit = CAPTION_LIMIT if self.document is not None else MESSAGE_LIMIT
        text = fit(self.text, limit)
        if text is not self.text:
            object.__setattr__(self, "text", text)
            if self.entities:
                length = _utf16_length(text)
                kept = [entity for entity in self.entities if entity.offset + entity.length <= length]
                object.__setattr__(self, "entities", kept or None)


async def send_rendered(bot: Bot, chat_id: int, rendered: Rendered) -> Message:
    """Send `rendered` as a new message (a document or photo with caption when it carries one)."""
    if rendered.photo is not None:
        return await bot.send_photo(
            chat_id,
            rendered.photo,
            caption=rendered.text or None,
            caption_entities=rendered.entities,
            reply_markup=rendered.reply_markup,
        )
    if rendered.document is not None:
        return await bot.send_document(
            chat_id,
            rendered.document,
            caption=rendered.text or None,
            caption_entities=rendered.entities,
            reply_markup=rendered.reply_markup,
        )
    return await bot.send_message(
        chat_id, rendered.text, entities=rendered.entities, reply_markup=rendered.reply_markup
    )
