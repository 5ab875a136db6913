"""The offline Bot API session (bot/demo/fake_session.py) records what aiogram's own sessions would put on
the wire and answers with real aiogram objects, though it skips their JSON round trip."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
)

from bot.demo.fake_session import BOT_TOKEN, RecordingSession

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text="Yes", callback_data="ok:1"), InlineKeyboardButton(text="No", callback_data="no")],
        [InlineKeyboardButton(text="Site", url="https://example.org")],
    ]
)


def _bot() -> tuple[Bot, RecordingSession]:
    session = RecordingSession()
    return Bot(BOT_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML")), session


def _as_aiogram_sends(session: RecordingSession, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The fields aiogram's aiohttp session would send, before JSON-encoding them."""
    prepared = {
        key: session.prepare_value(value, bot=bot, files={}, _dumps_json=False)
        for key, value in method.model_dump(warnings=False).items()
    }
    return {key: value for key, value in prepared.items() if value is not None}


async def test_what_is_recorded_is_what_aiogram_would_send() -> None:
    bot, session = _bot()
    sent = await bot.send_message(
        7,
        "<b>hi</b>",
        reply_markup=KEYBOARD,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    await bot.edit_message_text("<i>edited</i>", chat_id=7, message_id=sent.message_id, reply_markup=KEYBOARD)
    await bot.send_message(7, "pick", reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="A")]]))
    await bot.answer_callback_query("q1", text="done")

    methods = [call.method for call in session.calls]
    assert methods == ["sendMessage", "editMessageText", "sendMessage", "answerCallbackQuery"]
    first = session.calls[0].params
    # The bot's default parse mode is filled in, unset fields (of buttons too) are left out.
    assert first["parse_mode"] == "HTML"
    assert first["reply_markup"]["inline_keyboard"][0][0] == {"text": "Yes", "callback_data": "ok:1"}
    expected = [
        _as_aiogram_sends(session, bot, method)
        for method in (
            SendMessage(
                chat_id=7,
                text="<b>hi</b>",
                reply_markup=KEYBOARD,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
            EditMessageText(text="<i>edited</i>", chat_id=7, message_id=sent.message_id, reply_markup=KEYBOARD),
        )
    ]
    assert [call.params for call in session.calls[:2]] == expected


async def test_an_upload_is_recorded_with_its_content() -> None:
    bot, session = _bot()
    await bot.send_document(7, BufferedInputFile(b"BEGIN:VCALENDAR", filename="visit.ics"), caption="Your visit")

    call = session.calls[-1]
    assert call.params["document"].startswith("attach://")
    assert call.files == {"document": ("visit.ics", b"BEGIN:VCALENDAR")}
    assert session.chat(7)[-1].document == ("visit.ics", b"BEGIN:VCALENDAR")


async def test_answers_are_aiogram_objects_bound_to_the_bot() -> None:
    bot, session = _bot()
    sent = await bot.send_message(7, "hi", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("hello", chat_id=7, message_id=sent.message_id)

    assert isinstance(sent, Message) and sent.bot is bot
    assert sent.chat.id == 7 and sent.text == "hi"
    assert sent.from_user is not None and sent.from_user.id == bot.id
    assert sent.reply_markup is not None and sent.reply_markup.model_dump() == KEYBOARD.model_dump()
    # An edit without a keyboard takes the keyboard away, in the answer as in the chat.
    assert isinstance(edited, Message) and edited.text == "hello" and edited.reply_markup is None
    assert edited.edit_date is not None
    assert session.chat(7)[-1].reply_markup is None
    assert await bot.answer_callback_query("q1") is True
    me = await bot.get_me()
    assert me.id == bot.id and me.is_bot


async def test_queued_failures_raise_aiogram_s_exceptions() -> None:
    bot, session = _bot()
    session.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5)

    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(7, "hi")
    assert raised.value.retry_after == 5
    assert (await bot.send_message(7, "hi")).text == "hi"


async def test_each_answer_names_its_own_chat_and_bot() -> None:
    session = RecordingSession()
    first = Bot(BOT_TOKEN, session=session)
    second = Bot("4343434343:ANOTHER-fake-token", session=session)

    answers = [
        await first.send_message(7, "a"),
        await first.send_message(8, "b"),
        await second.send_message(7, "c"),
        await first.send_message(7, "d"),
    ]

    assert [(answer.chat.id, answer.text) for answer in answers] == [(7, "a"), (8, "b"), (7, "c"), (7, "d")]
    assert [answer.from_user.id for answer in answers if answer.from_user] == [first.id, first.id, second.id, first.id]
    assert [answer.from_user.bot for answer in answers if answer.from_user] == [first, first, second, first]
    assert answers[2].chat.bot is second and answers[3].chat.bot is first
