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


@dataclass(frozen=True)
class Rendered:
    """Text plus an optional keyboard; with `document`, the text becomes the document's caption.

    Text is plain (no parse mode): names and notes people typed need no escaping. For bold and the
    like, build entities with aiogram.utils.formatting and pass them as `entities`.
    """

    text: str
    reply_markup: Markup | None = None
    document: InputFile | None = None
    entities: list[MessageEntity] | None = None


async def send_rendered(bot: Bot, chat_id: int, rendered: Rendered) -> Message:
    """Send `rendered` as a new message (a document with caption when it carries one)."""
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
