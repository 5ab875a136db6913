"""Configuration from environment variables (and `.env`). With nothing set: the embedded defaults."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.db import DEFAULT_DATABASE_URL, normalise_url

# Where Telegram posts updates, below WEBHOOK_BASE_URL.
TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"
# Telegram's rule for setWebhook's secret_token (sent back in X-Telegram-Bot-Api-Secret-Token).
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
# Mixed into the derived webhook secret, so it is not the HMAC of anything else a token signs.
_DERIVED_SECRET_LABEL = b"bookbot:telegram-webhook-secret:v1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    bot_token: SecretStr | None = None
    # The bot's @username, for the links `bookbot invite` prints (else asked from Telegram with BOT_TOKEN).
    bot_username: str | None = None
    redis_url: str | None = None
    # Set: payments go through Stripe Checkout (sk_... or rk_...). Unset: the offline demo gateway.
    stripe_secret_key: SecretStr | None = None
    # The signing secret of the webhook endpoint registered in Stripe (whsec_...); required with the key.
    stripe_webhook_secret: SecretStr | None = None
    # Another address for Stripe's API (a local fake in tests); unset: Stripe's own.
    stripe_api_base: str | None = None
    # Stripe Connect: the platform's fee, in percent (0 to 100, up to two decimals) of every payment that
    # goes to a professional's own account (their `stripe_account` in the catalog); 0: no fee.
    platform_fee_percent: Decimal = Decimal(0)
    # Where this web server is reachable from outside (the demo checkout page's links); unset: WEB_HOST:WEB_PORT.
    public_base_url: str | None = None
    # Set: Telegram posts updates to WEBHOOK_BASE_URL + /webhooks/telegram. Unset: long polling.
    webhook_base_url: str | None = None
    # Telegram's secret_token for the webhook; unset, one is derived from BOT_TOKEN (see webhook_secret_token).
    webhook_secret: SecretStr | None = None
    # The web server `bookbot run` always starts (health check, webhooks). 0 picks a free port.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    telegram_api_base: str | None = None
    # Telegram user ids allowed to use /admin, comma-separated in the environment.
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "en"
    # A Telegram chat (support staff) told whenever a client's message shows signs of crisis; unset: nobody.
    # Verification requests go there too (else to every ADMIN_IDS chat).
    support_chat_id: int | None = None
    # true: anyone can make their own (unverified) professional profile with /join; false: invites only.
    self_signup: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return normalise_url(value)

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        # aiogram's own check (digits, a colon, the rest), so a mistyped token is named here, not at startup.
        if value is not None:
            token = value.get_secret_value().strip()
            bot_id, colon, rest = token.partition(":")
            if not colon or not bot_id.isdigit() or not rest or any(char.isspace() for char in rest):
                raise ValueError("is not a bot token: it looks like 123456:ABC-DEF..., as @BotFather gives it")
            return SecretStr(token)
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            raise ValueError("has a port that is not a number from 0 to 65535") from None
        if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix" and not parts.hostname):
            raise ValueError("is not a Redis address: use redis://host:6379/0, rediss://... or unix:///path.sock")
        return value

    @field_validator("support_chat_id", "bot_token", "redis_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("self_signup", mode="before")
    @classmethod
    def _blank_is_false(cls, value: object) -> object:
        # `SELF_SIGNUP=` in an env file means "not set", as for the other settings.
        return False if isinstance(value, str) and not value.strip() else value

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

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        # Not bot.i18n.LOCALES_DIR: importing it loads aiogram, which a command reading settings need not pay.
        locales = Path(__file__).resolve().parent.parent / "locales"
        known = sorted(path.parents[1].name for path in locales.glob("*/LC_MESSAGES/messages.po"))
        locale = value.strip()
        if locale not in known:
            raise ValueError(f"must be a language Bookbot has a catalog for: {', '.join(known)}")
        return locale

    @field_validator(
        "webhook_base_url",
        "webhook_secret",
        "telegram_api_base",
        "stripe_secret_key",
        "stripe_webhook_secret",
        "stripe_api_base",
        "public_base_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # The env example lists every variable with an empty value; empty means "not set".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("webhook_base_url")
    @classmethod
    def _webhook_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"must be an https:// address where Telegram reaches this server, got {value!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"must be a plain address without ?query or #fragment, got {value!r}")
        return value.rstrip("/")

    @field_validator("stripe_secret_key")
    @classmethod
    def _stripe_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("sk_", "rk_")):
            raise ValueError("must be a Stripe secret or restricted key (starting with sk_ or rk_)")
        return value

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _stripe_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("whsec_"):
            raise ValueError("must be the webhook endpoint's signing secret from Stripe (starting with whsec_)")
        return value

    @field_validator("stripe_api_base", "public_base_url")
    @classmethod
    def _plain_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"must be an http(s):// address without ?query or #fragment, got {value!r}")
        return value.rstrip("/")

    @field_validator("platform_fee_percent", mode="before")
    @classmethod
    def _platform_fee_percent(cls, value: object) -> Decimal:
        if value is None or (isinstance(value, str) and not value.strip()):
            return Decimal(0)
        try:
            percent = Decimal(str(value).strip().removesuffix("%").strip())
        except (InvalidOperation, ValueError):
            percent = Decimal("NaN")
        if not percent.is_finite() or not 0 <= percent <= 100 or percent != percent.quantize(Decimal("0.01")):
            raise ValueError(
                f"must be a percentage from 0 to 100 with at most two decimals, such as 2.5, got {value!r}"
            )
        return percent

    @model_validator(mode="after")
    def _stripe_needs_its_webhook_secret(self) -> Settings:
        # Without it no payment could ever be confirmed: refuse at startup, not mid-payment.
        if self.stripe_secret_key is not None and self.stripe_webhook_secret is None:
            raise ValueError(
                "STRIPE_WEBHOOK_SECRET must be set with STRIPE_SECRET_KEY "
                "(the signing secret of the /webhooks/stripe endpoint registered in Stripe)"
            )
        return self

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters, each a letter, a digit, '_' or '-' (Telegram's rule)")
        return value

    @field_validator("web_host")
    @classmethod
    def _web_host(cls, value: str) -> str:
        host = value.strip()
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not _HOSTNAME.fullmatch(host):
                raise ValueError(
                    f"must be an address to listen on, such as 127.0.0.1, 0.0.0.0 or ::, got {value!r}"
                ) from None
        return host

    @model_validator(mode="after")
    def _webhook_over_https(self) -> Settings:
        # Telegram's own servers post only to HTTPS; a local Bot API server (TELEGRAM_API_BASE) may use HTTP.
        url = self.webhook_base_url
        if url is not None and url.startswith("http://") and self.telegram_api_base is None:
            raise ValueError(
                "WEBHOOK_BASE_URL must start with https:// (Telegram posts only over HTTPS; "
                "plain http:// works only with a local Bot API server in TELEGRAM_API_BASE)"
            )
        return self

    @property
    def webhook_url(self) -> str | None:
        """The address given to setWebhook, or None for long polling."""
        if self.webhook_base_url is None:
            return None
        return self.webhook_base_url + TELEGRAM_WEBHOOK_PATH

    def webhook_secret_token(self) -> str:
        """WEBHOOK_SECRET, else one derived from BOT_TOKEN: every replica with the same token agrees
        without sharing another secret, and it changes when the token is revoked."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        if self.bot_token is None:
            raise ValueError("BOT_TOKEN is not set")
        return derive_webhook_secret(self.bot_token.get_secret_value())


def derive_webhook_secret(bot_token: str) -> str:
    """64 hex characters: inside Telegram's 1-256 of [A-Za-z0-9_-], and useless for recovering the token."""
    return hmac.new(bot_token.encode(), _DERIVED_SECRET_LABEL, hashlib.sha256).hexdigest()


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each bad variable, for an operator (never pydantic's multi-line dump).

    Values of secret settings are never echoed."""
    problems = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        location = item.get("loc") or ()
        field = str(location[0]) if location else None
        if field is None:
            problems.append(message)
            continue
        variable = field.upper()
        if _shows_input(field, item.get("input")) and "got " not in message:
            message = f"{message} (got {item['input']!r})"
        problems.append(message if message.startswith(variable) else f"{variable}: {message}")
    return "; ".join(problems)


# Addresses that may carry a password: like the secrets, never echoed.
_MAY_HOLD_PASSWORDS = {"database_url", "redis_url"}


def _shows_input(field: str, value: Any) -> bool:
    info = Settings.model_fields.get(field)
    secret = field in _MAY_HOLD_PASSWORDS or (info is not None and "SecretStr" in str(info.annotation))
    return not secret and isinstance(value, str | int) and len(str(value)) <= 200
