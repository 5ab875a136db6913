"""Configuration from environment variables (and `.env`). With nothing set: the embedded defaults."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.db import DEFAULT_DATABASE_URL, normalise_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    bot_token: SecretStr | None = None
    # The bot's @username, for the links `bookbot invite` prints (else asked from Telegram with BOT_TOKEN).
    bot_username: str | None = None
    redis_url: str | None = None
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    webhook_base_url: str | None = None
    telegram_api_base: str | None = None
    # Telegram user ids allowed to use /admin, comma-separated in the environment.
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "en"
    # A Telegram chat (support staff) told whenever a client's message shows signs of crisis; unset: nobody.
    support_chat_id: int | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return normalise_url(value)

    @field_validator("support_chat_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            try:
                return [int(part) for part in parts]
            except ValueError as exc:
                raise ValueError("ADMIN_IDS must be Telegram user ids separated by commas") from exc
        return value
