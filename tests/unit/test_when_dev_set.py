"""The free-text time parser on its development set (tests/data/when_dev.tsv), in six languages.

Every phrase must read as expected; on a failure the test prints the accuracy per language and, for each
phrase that failed, what was expected and what was read.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.services.time_request import LANGUAGES, parse_time_request

DEV_SET = Path(__file__).parent.parent / "data" / "when_dev.tsv"
NOT_UNDERSTOOD = "-"


@dataclass(frozen=True)
class Phrase:
    line: int
    lang: str
    now: str
    zone: str
    session: str
    text: str
    expected: tuple[str, str]


def _phrases() -> list[Phrase]:
    with DEV_SET.open(encoding="utf-8") as file:
        lines = [(number, line) for number, line in enumerate(file, start=1) if not line.startswith("#")]
    reader = csv.DictReader((line for _, line in lines), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [
        Phrase(number, row["lang"], row["now"], row["zone"], row["session"], row["text"], (row["from"], row["to"]))
        for (number, _), row in zip(lines[1:], reader, strict=True)
    ]


def _read(phrase: Phrase) -> tuple[str, str]:
    session = None if phrase.session == NOT_UNDERSTOOD else datetime.fromisoformat(phrase.session)
    asked = parse_time_request(
        phrase.text,
        lang=phrase.lang,
        zone=ZoneInfo(phrase.zone),
        now=datetime.fromisoformat(phrase.now),
        session=session,
    )
    if asked is None:
        return (NOT_UNDERSTOOD, NOT_UNDERSTOOD)
    return (asked.earliest.isoformat(), asked.latest.isoformat())


def test_the_set_is_big_enough_in_every_language() -> None:
    counts = Counter(phrase.lang for phrase in _phrases())
    assert sum(counts.values()) >= 120
    assert {lang: counts[lang] >= 25 for lang in LANGUAGES} == dict.fromkeys(LANGUAGES, True)


def test_every_phrase_reads_as_expected() -> None:
    phrases = _phrases()
    failures: list[str] = []
    right: Counter[str] = Counter()
    for phrase in phrases:
        got = _read(phrase)
        if got == phrase.expected:
            right[phrase.lang] += 1
        else:
            failures.append(
                f"  line {phrase.line} [{phrase.lang}] {phrase.text!r} (now {phrase.now}, session {phrase.session})\n"
                f"      expected from {phrase.expected[0]} to {phrase.expected[1]}\n"
                f"      got      from {got[0]} to {got[1]}"
            )
    total = Counter(phrase.lang for phrase in phrases)
    accuracy = "\n".join(
        f"  {lang}: {right[lang]}/{total[lang]} = {right[lang] / total[lang]:.2f}" for lang in LANGUAGES
    )
    print(f"accuracy per language:\n{accuracy}")
    assert not failures, "accuracy per language:\n" + accuracy + "\nfailing phrases:\n" + "\n".join(failures)
