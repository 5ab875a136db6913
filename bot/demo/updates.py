"""Real Telegram update JSON for a person talking to the bot: what the demo and the tests feed the
dispatcher (`Dispatcher.feed_raw_update`), so every update goes the way Telegram's would."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.demo.fake_session import BOT_USERNAME, ChatMessage
from bot.services.clock import Clock


@dataclass(frozen=True)
class Person:
    """Someone on Telegram. Their private chat with the bot has the same id as they do."""

    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data

    def chat_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


class UpdateFactory:
    def __init__(self, clock: Clock, next_message_id: Callable[[], int], bot_id: int) -> None:
        self.clock = clock
        self.next_message_id = next_message_id
        self.bot_id = bot_id
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def _message(self, person: Person, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self.next_message_id(),
            "date": self._now(),
            "chat": person.chat_json(),
            "from": person.json(),
            **content,
        }
        return {"update_id": next(self._update_ids), "message": message}

    def text(self, person: Person, text: str, reply_to: ChatMessage | None = None) -> dict[str, Any]:
        """A text message; "/start pro_x" comes with its bot_command entity, as from a real client;
        `reply_to` makes it a Telegram reply to that bot message."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            content["reply_to_message"] = {
                "message_id": reply_to.message_id,
                "date": self._now(),
                "chat": person.chat_json(),
                "from": self._bot_json(),
                "text": reply_to.text,
            }
        return self._message(person, **content)

    def _bot_json(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Bookbot", "username": BOT_USERNAME}

    def contact(self, person: Person, phone_number: str, user_id: int | None = None) -> dict[str, Any]:
        """A shared contact: the person's own (Telegram's "share my number" button) unless `user_id` says
        whose it is."""
        contact = {"phone_number": phone_number, "first_name": person.first_name, "user_id": user_id or person.id}
        return self._message(person, contact=contact)

    def location(self, person: Person, latitude: float, longitude: float) -> dict[str, Any]:
        return self._message(person, location={"latitude": latitude, "longitude": longitude})

    def sticker(self, person: Person) -> dict[str, Any]:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._message(person, sticker=sticker)

    def photo(self, person: Person, file_id: str = "photo-1", caption: str | None = None) -> dict[str, Any]:
        size = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 90, "height": 90}
        return self._message(person, photo=[size], **({"caption": caption} if caption else {}))

    def document(self, person: Person, file_id: str, file_name: str = "file.pdf") -> dict[str, Any]:
        document = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": file_name}
        return self._message(person, document=document)

    def callback(self, person: Person, data: str, message: ChatMessage | None = None) -> dict[str, Any]:
        """A button press; `message` is the bot message that carried the button (a recent one if None)."""
        query: dict[str, Any] = {
            "id": str(next(self._query_ids)),
            "from": person.json(),
            "chat_instance": f"chat-{person.id}",
            "data": data,
        }
        if message is not None:
            query["message"] = {
                "message_id": message.message_id,
                "date": self._now(),
                "chat": person.chat_json(),
                "from": self._bot_json(),
                "text": message.text,
                **({"reply_markup": message.reply_markup} if message.inline_buttons() else {}),
            }
        return {"update_id": next(self._update_ids), "callback_query": query}
