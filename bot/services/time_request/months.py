"""Dates with a month name ("14 December", "2 de enero", "14. Dezember", "14 грудня"), read by dateparser.

dateparser knows month names and their inflections in every language we speak; it is slow to import
and slow on its first call per language, so its word tables are read as data (no import) to find a
number next to a month name, and dateparser itself is imported only to read such a fragment.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

_MONTH_KEYS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


@dataclass(frozen=True)
class MonthDate:
    span: tuple[int, int]
    has_year: bool


def _translation_table(lang: str) -> dict[str, Any]:
    """dateparser's words for `lang` (a module holding one literal `info = {...}`), read without
    importing dateparser itself: that import alone costs more than all our own work on a message."""
    spec = importlib.util.find_spec("dateparser")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("dateparser is not installed")
    source = Path(spec.submodule_search_locations[0], "data", "date_translation_data", f"{lang}.py")
    assignment = ast.parse(source.read_text(encoding="utf-8")).body[0]
    if not isinstance(assignment, ast.Assign):
        raise ValueError(f"unexpected layout of {source}")
    table: dict[str, Any] = ast.literal_eval(assignment.value)
    return table


@cache
def _month_date_patterns(lang: str) -> tuple[re.Pattern[str], ...]:
    from bot.services.time_request.parser import fold_phrase

    table = _translation_table(lang)
    names = {fold_phrase(name) for key in _MONTH_KEYS for name in table.get(key, ()) if len(name) >= 3}
    months = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    year = r"(?:\s*,?\s*(?:de\s+|del\s+)?(?P<year>\d{4}))?"
    return (
        re.compile(
            rf"(?<![\w.:/])(?P<day>\d{{1,2}})(?:st|nd|rd|th|er|\.|\s*-?\s*(?:го|е))?\s*(?:of\s+|de\s+)?"
            rf"(?P<month>{months})\.?{year}(?!\w)"
        ),
        re.compile(rf"(?<!\w)(?P<month>{months})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?{year}(?![\w:])"),
    )


def find_month_date(folded: str, lang: str) -> MonthDate | None:
    """Where a day and a month name stand together in `folded` text, if anywhere."""
    for pattern in _month_date_patterns(lang):
        match = pattern.search(folded)
        if match is not None:
            return MonthDate(match.span(), match["year"] is not None)
    return None


def parse_fragment(fragment: str, lang: str) -> date | None:
    """The date `fragment` names (its year is the one given, or a year dateparser chose)."""
    import dateparser

    parsed = dateparser.parse(
        fragment,
        languages=[lang],
        settings={"PREFER_DATES_FROM": "future", "REQUIRE_PARTS": ["day", "month"], "RETURN_AS_TIMEZONE_AWARE": False},
    )
    return parsed.date() if parsed is not None else None
