"""Crisis lines and emergency numbers by country (resources.yaml), the crisis reply's texts in every
language the check reads (messages.yaml), and the country a person is most likely in. Pure: no database.

Country, in order: the one the person chose (stored on `users.country`), else the country of their time
zone (Babel's zone territories: Europe/Kyiv -> UA), else unknown: the reply then asks with one tap and
shows the international directory meanwhile (the language of a message says nothing about the country).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from babel.core import get_global

HERE = Path(__file__).resolve().parent
RESOURCES_FILE = HERE / "resources.yaml"
MESSAGES_FILE = HERE / "messages.yaml"
NUMBER = re.compile(r"^\+?[0-9](?:[0-9 ]{0,16}[0-9])?$")
MESSAGE_KEYS = frozenset(
    {
        "opening", "opening_again", "line", "hours_always", "text", "chat", "emergency", "emergency_unknown",
        "directory", "hope", "carry_on", "ask_country", "another_country", "directory_button", "website_button",
    }
)  # fmt: skip


class ResourceDataError(ValueError):
    """resources.yaml or messages.yaml is malformed: says which entry."""


@dataclass(frozen=True)
class Line:
    name: str
    number: str
    hours: str | None
    text: str | None
    chat: str | None
    source: str
    checked: date

    @property
    def tel(self) -> str:
        return "tel:" + self.number.replace(" ", "")


@dataclass(frozen=True)
class Emergency:
    number: str
    source: str
    checked: date


@dataclass(frozen=True)
class CountryResources:
    code: str
    lines: tuple[Line, ...]
    emergency: Emergency | None


@dataclass(frozen=True)
class Resources:
    directory_name: str
    directory_url: str
    countries: dict[str, CountryResources]
    ask_first: dict[str, tuple[str, ...]]
    messages: dict[str, dict[str, str]]

    def country(self, code: str | None) -> CountryResources | None:
        return self.countries.get(code.upper()) if code else None

    def countries_to_offer(self, language: str) -> tuple[str, ...]:
        """The countries offered first to someone writing in `language` (then "another country")."""
        return self.ask_first.get(language) or self.ask_first.get("en", ())

    def texts(self, language: str) -> dict[str, str]:
        return self.messages.get(language) or self.messages["en"]


def country_for_zone(zone: str | None) -> str | None:
    """ISO country of an IANA zone per CLDR (Europe/Kyiv -> UA); None for Etc/UTC and the like."""
    if not zone:
        return None
    territories: Mapping[str, str] = get_global("zone_territories")
    found = territories.get(zone) or territories.get(_old_name(zone))
    return found if found and found not in ("001", "ZZ") else None


# Renamed zones: CLDR versions file them under one name or the other.
_RENAMED = {"Europe/Kyiv": "Europe/Kiev", "America/Nuuk": "America/Godthab", "Asia/Kolkata": "Asia/Calcutta"}
_RENAMED.update({old: new for new, old in _RENAMED.items()})


def _old_name(zone: str) -> str:
    return _RENAMED.get(zone, zone)


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ResourceDataError(f"{where}: checked must be a date (YYYY-MM-DD), got {value!r}") from None


def _number(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NUMBER.match(value):
        raise ResourceDataError(f"{where}: {value!r} is not a phone number (digits and spaces, optional +)")
    return value


def _source(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("https://"):
        raise ResourceDataError(f"{where}: source must be an https:// address, got {value!r}")
    return value


def _line(entry: dict[str, Any], where: str) -> Line:
    text = entry.get("text")
    chat = entry.get("chat")
    if chat is not None and not str(chat).startswith("https://"):
        raise ResourceDataError(f"{where}: chat must be an https:// address")
    return Line(
        name=str(entry["name"]),
        number=_number(entry.get("number"), where),
        hours=entry.get("hours"),
        text=_number(text, where) if text is not None else None,
        chat=chat,
        source=_source(entry.get("source"), where),
        checked=_date(entry.get("checked"), where),
    )


def load_resources(resources_file: Path = RESOURCES_FILE, messages_file: Path = MESSAGES_FILE) -> Resources:
    data = yaml.safe_load(resources_file.read_text(encoding="utf-8"))
    messages = yaml.safe_load(messages_file.read_text(encoding="utf-8"))
    countries: dict[str, CountryResources] = {}
    for code, entry in (data.get("countries") or {}).items():
        where = f"{resources_file.name} {code}"
        if not re.fullmatch(r"[A-Z]{2}", str(code)):
            raise ResourceDataError(f"{where}: country codes are ISO 3166-1 alpha-2 in capitals")
        try:
            lines = tuple(_line(line, f"{where} line {index + 1}") for index, line in enumerate(entry["lines"]))
        except KeyError as exc:
            raise ResourceDataError(f"{where}: missing {exc}") from None
        emergency = entry.get("emergency")
        countries[code] = CountryResources(
            code=code,
            lines=lines,
            emergency=Emergency(
                number=_number(emergency.get("number"), f"{where} emergency"),
                source=_source(emergency.get("source"), f"{where} emergency"),
                checked=_date(emergency.get("checked"), f"{where} emergency"),
            )
            if emergency
            else None,
        )
    ask_first = {language: tuple(codes) for language, codes in (data.get("ask_first") or {}).items()}
    for language, codes in ask_first.items():
        unknown = [code for code in codes if code not in countries]
        if unknown:
            raise ResourceDataError(f"{resources_file.name} ask_first {language}: no entry for {unknown}")
    for language, texts in messages.items():
        missing = MESSAGE_KEYS - set(texts)
        if missing:
            raise ResourceDataError(f"{messages_file.name} {language}: missing {sorted(missing)}")
    if "en" not in messages:
        raise ResourceDataError(f"{messages_file.name}: English is the fallback and must be there")
    international = data["international"]
    return Resources(
        directory_name=str(international["name"]),
        directory_url=_source(international["url"], f"{resources_file.name} international"),
        countries=countries,
        ask_first=ask_first,
        messages={language: {key: str(value) for key, value in texts.items()} for language, texts in messages.items()},
    )


@functools.cache
def default_resources() -> Resources:
    return load_resources()
