"""The crisis reply (texts from bot/services/crisis/messages.yaml, in the language of the message) and the
outbox alerts to professionals and the support chat (gettext: they speak the recipient's interface language).

Numbers are written out in the text: Telegram's URL buttons take only http(s) and tg:// addresses, so
a "Call" button cannot dial; the buttons open the service's chat and the international directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel import Locale, UnknownLocaleError

from bot.render.dates import format_instant
from bot.render.message import Rendered
from bot.render.outbox import Reader
from bot.services.crisis.resources import CountryResources, Resources

# Callback data of the country question: "cr:<country or ->:<language>". Handled by the crisis middleware
# itself, so it works in every conversation state.
CALLBACK_PREFIX = "cr:"
ANOTHER_COUNTRY = "-"


def country_callback(country: str, language: str) -> str:
    return f"{CALLBACK_PREFIX}{country}:{language}"


def parse_country_callback(data: str) -> tuple[str | None, str] | None:
    """(country or None for "another country", language), or None when `data` is not ours or is malformed."""
    if not data.startswith(CALLBACK_PREFIX):
        return None
    parts = data[len(CALLBACK_PREFIX) :].split(":")
    if len(parts) != 2 or not parts[1].isalpha() or len(parts[1]) > 3:
        return None
    country, language = parts
    if country == ANOTHER_COUNTRY:
        return None, language
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        return None
    return country, language


def _country_lines(country: CountryResources | None, texts: Mapping[str, str]) -> list[str]:
    lines = []
    for line in country.lines if country else ():
        extras = [texts["hours_always"]] if line.hours == "24/7" else []
        if line.text:
            extras.append(texts["text"].format(text=line.text))
        if line.chat:
            extras.append(texts["chat"].format(chat=line.chat))
        detail = f" ({'; '.join(extras)})" if extras else ""
        lines.append("📞 " + texts["line"].format(name=line.name, number=line.number) + detail)
    if country is not None and country.emergency is not None:
        lines.append("🚨 " + texts["emergency"].format(number=country.emergency.number))
    else:
        lines.append("🚨 " + texts["emergency_unknown"])
    lines.append("🌍 " + texts["directory"])
    return lines


def _buttons(
    resources: Resources, country: CountryResources | None, texts: Mapping[str, str]
) -> list[list[InlineKeyboardButton]]:
    rows = [
        [InlineKeyboardButton(text=texts["website_button"].format(name=line.name), url=line.chat)]
        for line in (country.lines if country else ())
        if line.chat
    ]
    rows.append([InlineKeyboardButton(text=texts["directory_button"], url=resources.directory_url)])
    return rows


def crisis_reply(resources: Resources, language: str, country_code: str | None, *, again: bool = False) -> Rendered:
    """The resources for `country_code` (None or unknown: the emergency line and directory only), in
    `language`; `again` is the shorter form for a person who had them within the hour."""
    texts = resources.texts(language)
    country = resources.country(country_code)
    if again:
        parts = [texts["opening_again"], "\n".join(_country_lines(country, texts))]
    else:
        parts = [texts["opening"], "\n".join(_country_lines(country, texts)), texts["hope"], texts["carry_on"]]
    return Rendered("\n\n".join(parts), InlineKeyboardMarkup(inline_keyboard=_buttons(resources, country, texts)))


def _country_name(code: str, language: str) -> str:
    try:
        return str(Locale.parse(language).territories.get(code, code))
    except (UnknownLocaleError, ValueError):
        return code


def country_question(resources: Resources, language: str, *, again: bool = False) -> Rendered:
    """For a person whose country is unknown: the emergency advice and the directory now, and one tap to
    get their country's line (the countries most likely for their language first, then "another")."""
    texts = resources.texts(language)
    opening = texts["opening_again"] if again else texts["opening"]
    parts = [opening, "\n".join(_country_lines(None, texts)), texts["ask_country"]]
    if not again:
        parts += [texts["hope"], texts["carry_on"]]
    offered = resources.countries_to_offer(language)
    rows = [
        [
            InlineKeyboardButton(text=_country_name(code, language), callback_data=country_callback(code, language))
            for code in offered[index : index + 3]
        ]
        for index in range(0, len(offered), 3)
    ]
    rows.append(
        [InlineKeyboardButton(text=texts["another_country"], callback_data=country_callback(ANOTHER_COUNTRY, language))]
    )
    rows.append([InlineKeyboardButton(text=texts["directory_button"], url=resources.directory_url)])
    return Rendered("\n\n".join(parts), InlineKeyboardMarkup(inline_keyboard=rows))


# --- alerts (outbox) -------------------------------------------------------------------------------


def crisis_alert_pro(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    when = format_instant(datetime.fromisoformat(payload["starts_at"]), reader.zone, reader.locale)
    return Rendered(
        _(
            "{name}, your client (session {when}), sent a message that showed signs of crisis; "
            "crisis resources were sent to them."
        ).format(name=payload["client_name"], when=when)
    )


def crisis_alert_support(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    return Rendered(
        _(
            "A client, {name} (Telegram id {telegram_id}), sent a message that showed signs of crisis; "
            "crisis resources were sent to them. Language: {language}; rule: {rule}."
        ).format(
            name=payload["client_name"] or "?",
            telegram_id=payload["telegram_id"],
            language=payload["language"],
            rule=payload["rule_id"],
        )
    )
