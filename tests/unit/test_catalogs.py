"""The gettext catalogs against the code: the template holds exactly the strings the code has, every
language's catalog is merged from that template, and Ukrainian is translated in full.

Extraction runs the same `pybabel extract` command bot/i18n.py documents, into a temporary file, so a
string added to the code without re-running the pipeline fails here and not in front of a client.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES_DIR

ROOT = LOCALES_DIR.parent
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
LANGUAGES = sorted(path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
# The options of step 1 in bot/i18n.py's docstring (the output file aside).
EXTRACT_OPTIONS = ["-F", "babel.cfg", "-k", "__", "-k", "lazy_gettext", "--no-location", "--sort-output"]

MessageId = str | tuple[str, ...]


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale, domain=DOMAIN)


def _ids(catalog: Catalog) -> set[MessageId]:
    return {message.id for message in catalog if message.id}


def _strings(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _source(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def placeholders(text: str) -> set[str]:
    """The names of the {fields} in a str.format string; ValueError for broken braces ("{name")."""
    return {field for _literal, field, _spec, _conversion in Formatter().parse(text) if field is not None}


def catalog_problems(template: Catalog, catalog: Catalog, *, complete: bool) -> list[str]:
    """Everything wrong with one language's catalog, one line each (empty when it is fine)."""
    problems: list[str] = []
    missing = _ids(template) - _ids(catalog)
    problems += [f"not merged from the template (run pybabel update): {mid!r}" for mid in sorted(missing, key=str)]
    stale = _ids(catalog) - _ids(template)
    problems += [f"no longer in the template: {mid!r}" for mid in sorted(stale, key=str)]
    problems += [f"obsolete entry left behind (#~): {mid!r}" for mid in catalog.obsolete]
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        strings = _strings(message)
        if not any(strings):
            if complete:
                problems.append(f"untranslated: {message.id!r}")
            continue  # an empty msgstr falls back to the English msgid
        if not all(strings):
            problems.append(f"a plural form is missing: {message.id!r}")
        try:
            # The plural forms between them may use any field of either English form ("once" /
            # "up to {n} times": Ukrainian needs {n} in every form, since its "one" form is 21 too).
            expected = set().union(*(placeholders(text) for text in _source(message)))
            for text in strings:
                if text and placeholders(text) != expected:
                    problems.append(
                        f"placeholders {sorted(placeholders(text))} instead of {sorted(expected)}: {text!r}"
                    )
        except ValueError as exc:
            problems.append(f"broken braces ({exc}): {message.id!r} -> {strings!r}")
    return problems


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read(TEMPLATE)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    output = tmp_path_factory.mktemp("extract") / f"{DOMAIN}.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "--quiet",
            "extract",
            *EXTRACT_OPTIONS,
            "-o",
            str(output),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    return _read(output)


def test_the_template_holds_exactly_the_strings_of_the_code(extracted: Catalog, template: Catalog) -> None:
    assert len(_ids(extracted)) > 100  # the extraction found the code at all
    missing = sorted(_ids(extracted) - _ids(template), key=str)
    assert missing == [], "strings in the code that locales/messages.pot lacks: run the pipeline in bot/i18n.py"
    left_over = sorted(_ids(template) - _ids(extracted), key=str)
    assert left_over == [], "strings in locales/messages.pot that the code no longer has: extract again"


def test_the_languages_are_english_and_ukrainian() -> None:
    assert LANGUAGES == ["en", "uk"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_merged_and_clean(template: Catalog, language: str) -> None:
    catalog = _read(LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", language)
    assert catalog_problems(template, catalog, complete=language == "uk") == []


def test_ukrainian_has_three_plural_forms() -> None:
    catalog = _read(LOCALES_DIR / "uk" / "LC_MESSAGES" / f"{DOMAIN}.po", "uk")
    assert catalog.num_plurals == 3


def test_the_checks_catch_what_they_are_for(template: Catalog) -> None:
    """catalog_problems itself, on a small catalog with one of each fault."""
    small = Catalog(locale="uk", domain=DOMAIN)
    small.add("Hello again, {name}!", "Вітаю знову!")  # a placeholder dropped
    small.add("Time zone: {zone}", "Часовий пояс: {zona}")  # a placeholder renamed
    small.add("Language: {language}", "")  # untranslated
    small.add("Start over", "Почати спочатку", flags=["fuzzy"])
    small.add("Free", "Безкоштовно {")  # broken braces
    small.add(("{n} hour", "{n} hours"), ("{n} година", "{n} години", "годин"))  # a form without {n}
    small.obsolete["Gone"] = Message("Gone", "Немає")
    problems = catalog_problems(template, small, complete=True)

    def about(text: str) -> list[str]:
        return [problem for problem in problems if text in problem]

    assert about("Вітаю знову!") and about("{zona}") and about("'годин'")
    assert about("untranslated: 'Language: {language}'")
    assert about("fuzzy: 'Start over'")
    assert about("broken braces")
    assert about("obsolete entry left behind (#~): 'Gone'")
    assert about("not merged from the template")  # this small catalog lacks most of the template
    assert about("no longer in the template") == []  # every entry above is a real msgid
