"""Compiled patterns kept in the cache folder (bot/services/regex_cache.py): the programs are exactly what
`re.compile` hands to `_sre.compile`, the Patterns made of them match as re.compile's do, and a missing,
stale or damaged file, or one that cannot be written, means compiling as before."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from bot.services import mapped_pickle, regex_cache
from bot.services.crisis import detect
from bot.services.crisis.detect import load_detector
from bot.services.regex_cache import RegexCache, program_of

SOURCES = (
    r"(?:\bi (?:want|wanna) (?:to )?die\b)|(?:\bkms\b)",
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?:\s*(am|pm))?",
    r"(?i)straße|ǅ|\u0130",
    r"(?!)",
    r"(?<=\s)я не хочу (?:жити|жить)(?=\s)",
)
TEXTS = ("i want to die", "I WANNA DIE", "kms", "at 10:30 pm", "STRASSE straße", " я не хочу жити ", "")


def _what_re_hands_to_sre(source: str, flags: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    from re import _compiler  # type: ignore[attr-defined]

    seen: list[tuple[Any, ...]] = []
    real = _compiler._sre.compile

    def recording(*arguments: Any) -> Any:
        seen.append(arguments)
        return real(*arguments)

    with monkeypatch.context() as patch:
        patch.setattr(_compiler._sre, "compile", recording)
        _compiler.compile(source, flags)
    (arguments,) = seen
    return arguments


@pytest.mark.parametrize("flags", [0, re.IGNORECASE | re.MULTILINE])
def test_programs_are_what_re_compile_hands_to_sre(monkeypatch: pytest.MonkeyPatch, flags: int) -> None:
    from array import array

    for source in SOURCES:
        pattern, final_flags, code, groups, groupindex, indexgroup = _what_re_hands_to_sre(source, flags, monkeypatch)
        assert program_of(source, flags) == (final_flags, array("I", code).tobytes(), groups, groupindex, indexgroup)
        assert pattern == source


def _same(mine: re.Pattern[str], theirs: re.Pattern[str]) -> None:
    assert (mine.pattern, mine.flags, mine.groups, mine.groupindex) == (
        theirs.pattern,
        theirs.flags,
        theirs.groups,
        theirs.groupindex,
    )
    for text in TEXTS:
        assert [match.span() for match in mine.finditer(text)] == [match.span() for match in theirs.finditer(text)]
        found, expected = mine.search(text), theirs.search(text)
        assert (found and found.groups()) == (expected and expected.groups())


def test_compiled_once_then_read_from_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cache" / "patterns.bin"
    first = RegexCache(path)
    made = [first.compile(source) for source in SOURCES]
    assert first.missed == len(SOURCES)
    first.save()
    assert path.is_file()

    def no_compiling(*_: Any, **__: Any) -> None:
        raise AssertionError("compiled instead of read")

    monkeypatch.setattr(re, "compile", no_compiling)
    second = RegexCache(path)
    read = [second.compile(source) for source in SOURCES]
    assert second.missed == 0
    monkeypatch.undo()
    for mine, theirs in zip(read, made, strict=True):
        _same(mine, theirs)
        _same(mine, re.compile(mine.pattern))


def test_a_program_is_used_only_for_its_own_text_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "patterns.bin"
    cache = RegexCache(path)
    cache.compile("abc")
    cache.save()
    again = RegexCache(path)
    assert again.compile("abd").match("abd") and again.missed == 1
    assert again.compile("ABC", re.IGNORECASE).match("abc") and again.missed == 2
    assert again.compile("abc").match("abc") and again.missed == 2


def _write(path: Path, document: Any) -> None:
    path.write_bytes(mapped_pickle.dumps(document))


@pytest.mark.parametrize("damage", ["garbage", "empty", "a flipped byte", "another python", "a refused program"])
def test_a_damaged_or_stale_file_means_compiling_and_writing_it_again(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "patterns.bin"
    cache = RegexCache(path)
    for source in SOURCES:
        cache.compile(source)
    cache.save()
    good = path.read_bytes()
    kept = mapped_pickle.load(path)
    if damage == "garbage":
        path.write_bytes(b"\x00\x01garbage")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "a flipped byte":
        path.write_bytes(good[:-10] + bytes([good[-10] ^ 1]) + good[-9:])
    else:
        stored = mapped_pickle.load(path)
        if damage == "another python":
            stored["interpreter"] = "format 1 python 2.7"
        else:
            key = (SOURCES[0], 0)
            flags, _, groups, groupindex, indexgroup = stored["programs"][key]
            stored["programs"][key] = (flags, b"\xff\xff\xff\x7f" * 3, groups, groupindex, indexgroup)
        _write(path, stored)
    with caplog.at_level(logging.WARNING):
        again = RegexCache(path)
        patterns = [again.compile(source) for source in SOURCES]
    assert again.missed >= 1
    if damage not in ("another python",):
        assert caplog.records
    for pattern in patterns:
        _same(pattern, re.compile(pattern.pattern))
    again.save()
    assert mapped_pickle.load(path) == kept


def test_an_unwritable_folder_means_compiling_every_time(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache = RegexCache(blocker / "patterns.bin")
    with caplog.at_level(logging.WARNING):
        pattern = cache.compile(SOURCES[0])
        cache.save()
    assert pattern.search("i want to die")
    assert any("not kept" in record.getMessage() for record in caplog.records)


def test_the_crisis_detector_reads_its_combined_patterns_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(tmp_path))
    built = load_detector()
    assert (tmp_path / detect.PATTERNS_FILE).is_file()
    compiled: list[str] = []
    real = regex_cache.re.compile

    def counting(source: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(source)
        return real(source, flags)

    monkeypatch.setattr(regex_cache.re, "compile", counting)
    read = load_detector()
    assert compiled == []
    for mine, theirs in zip(read.languages, built.languages, strict=True):
        assert mine.any_rule.pattern == theirs.any_rule.pattern
        assert mine.any_rule.flags == theirs.any_rule.flags
    assert {script: pattern.pattern for script, pattern in read.any_exclusion.items()} == {
        script: pattern.pattern for script, pattern in built.any_exclusion.items()
    }
