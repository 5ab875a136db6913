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
