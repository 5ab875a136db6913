"""Pick the language of each update: the person's saved choice, else Telegram's language_code when we
have a catalog for it, else the configured default. Handlers receive it as `locale` (for Babel);
gettext (`_`) already speaks it."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18nMiddleware

from bot.i18n import pick_locale
from models import User


class LocaleMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        sender: TelegramUser | None = data.get("event_from_user")
        locale = pick_locale(self.i18n, user.locale if user else None, sender.language_code if sender else None)
        data["locale"] = locale
        return locale
