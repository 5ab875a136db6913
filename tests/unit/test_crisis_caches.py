"""The crisis check's files in the cache folder (bot/services/cache_dir.py): the model layer's exemplar vectors
(bot/services/crisis/model.py) and the prepared phrase data (bot/services/crisis/detect.py). Each is used when
it is there and is this release's, and otherwise computed as before: missing, stale, damaged, or where nothing
can be written, never a traceback and never another answer.

The real encoder is not loaded here (a stand-in that counts its calls); tests/unit/test_crisis_model.py checks
that the real layer's vectors from the file equal freshly computed ones.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.services.crisis import detect
from bot.services.crisis.detect import PHRASES_DIR, Detector, load_detector, prepared_path
from bot.services.crisis.model import (
    VECTORS_FILE,
    exemplar_vectors,
    load_exemplars,
    read_vectors,
    vectors_fingerprint,
    vectors_path,
)
from tests.unit.test_crisis_detect import SETS, dev_set

TEXTS = ["i want to die", "nobody would miss me", "can we move my session", "see you on friday"]


class CountingEncoder:
    """Deterministic unit vectors, one per text; counts how many texts it was asked to encode."""

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        rows = [np.random.default_rng(sum(map(ord, text))).standard_normal(16) for text in texts]
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _vectors(cache: Path | None, texts: Sequence[str] = TEXTS) -> tuple[np.ndarray, bool, int]:
    encoder = CountingEncoder()
    vectors, from_file = exemplar_vectors(encoder, texts, cache)
    return vectors, from_file, encoder.encoded


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "missing" / "cache"  # not there yet: created on the first write
    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(folder))
    return folder


# --- exemplar vectors ------------------------------------------------------------------------------


def test_vectors_are_computed_once_then_read_from_the_cache_folder(cache_dir: Path) -> None:
    assert vectors_path() == cache_dir / VECTORS_FILE
    computed, from_file, encoded = _vectors(vectors_path())
    assert not from_file and encoded == len(TEXTS)
    assert vectors_path().is_file()
    again, from_file, encoded = _vectors(vectors_path())
    assert from_file and encoded == 0
    assert again.dtype == np.float32 and np.array_equal(again, computed)
    assert not [path for path in cache_dir.iterdir() if path.name != VECTORS_FILE]  # no temporary file left


def test_stale_vectors_are_recomputed_and_the_file_rewritten(cache_dir: Path) -> None:
    _vectors(vectors_path())
    edited = [*TEXTS[:-1], "see you on saturday"]
    vectors, from_file, encoded = _vectors(vectors_path(), edited)
    assert not from_file and encoded == len(edited)
    assert np.array_equal(vectors, CountingEncoder().encode(edited))
    assert read_vectors(vectors_path(), vectors_fingerprint(edited), len(edited)) is not None
    assert read_vectors(vectors_path(), vectors_fingerprint(TEXTS), len(TEXTS)) is None
    # The encoder's version is part of the fingerprint too.
    assert vectors_fingerprint(TEXTS) != vectors_fingerprint(list(reversed(TEXTS)))


def _damage_checksum(path: Path) -> None:
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["vectors"] = arrays["vectors"].copy()
    arrays["vectors"][0, 0] += 1.0
    with path.open("wb") as file:
        np.savez(file, **arrays)


def _wrong_shape(path: Path) -> None:
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["vectors"] = arrays["vectors"][:-1]
    with path.open("wb") as file:
        np.savez(file, **arrays)


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a file of vectors"),
        lambda path: path.write_bytes(path.read_bytes()[:200]),  # cut short
        lambda path: path.write_bytes(b""),
        _damage_checksum,
        _wrong_shape,
        lambda path: zipfile.ZipFile(path, "w").writestr("other.npy", b"x"),
    ],
    ids=["garbage", "truncated", "empty", "checksum", "shape", "other-arrays"],
)
def test_damaged_vectors_are_recomputed_with_a_warning(
    cache_dir: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    computed, _, _ = _vectors(vectors_path())
    damage(vectors_path())  # type: ignore[operator]
    with caplog.at_level(logging.WARNING):
        vectors, from_file, encoded = _vectors(vectors_path())
    assert not from_file and encoded == len(TEXTS) and np.array_equal(vectors, computed)
    assert any("ignored" in record.getMessage() for record in caplog.records)
    assert _vectors(vectors_path())[1]  # rewritten: read from the file again


def test_an_unwritable_cache_folder_means_computing_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(blocker / "cache"))  # its parent is a file: never creatable
    with caplog.at_level(logging.WARNING):
        first = _vectors(vectors_path())
        second = _vectors(vectors_path())
    assert not first[1] and not second[1] and first[2] == second[2] == len(TEXTS)
    assert np.array_equal(first[0], second[0])
    assert any("not kept" in record.getMessage() for record in caplog.records)


def test_no_cache_file_at_all_when_asked(cache_dir: Path) -> None:
    _, from_file, encoded = _vectors(None)
    assert not from_file and encoded == len(TEXTS) and not cache_dir.exists()


def test_the_layer_loads_without_a_cache_folder_to_be_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.services import cache_dir
    from bot.services.crisis import model

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory")

    encoder = CountingEncoder()
    monkeypatch.setattr(cache_dir, "cache_folder", no_home)
    monkeypatch.setattr(model, "sentence_encoder", lambda: encoder)
    layer = model.load_model_layer()
    assert encoder.encoded == len(load_exemplars().items) and layer.crisis_ids


def test_a_layer_whose_vectors_are_in_the_file_encodes_nothing_while_it_loads(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The encoder comes loaded (encoder.load_encoder); an encoding here would only make its mapped weights
    # resident before any message needs them.
    from bot.services.crisis import model

    first, again = CountingEncoder(), CountingEncoder()
    monkeypatch.setattr(model, "sentence_encoder", lambda: first)
    model.load_model_layer()
    monkeypatch.setattr(model, "sentence_encoder", lambda: again)
    layer = model.load_model_layer()
    assert first.encoded == len(load_exemplars().items) and again.encoded == 0
    assert layer.score("i keep thinking everyone would cope fine without me around")[1] in layer.crisis_ids


def test_the_shipped_exemplars_fingerprint_follows_their_texts() -> None:
    from bot.services.crisis.model import exemplar_texts

    texts = exemplar_texts(load_exemplars())
    assert vectors_fingerprint(texts) == vectors_fingerprint(list(texts))
    assert vectors_fingerprint(texts) != vectors_fingerprint([*texts[:-1], texts[-1] + "!"])


# --- prepared phrase data --------------------------------------------------------------------------


def _answers(detector: Detector) -> list[tuple[bool, str, str | None]]:
    rows = [(lang, text) for path in SETS for lang, _, text in dev_set(path)]
    return [(found.crisis, found.lang, found.matched) for found in (detector.detect(t, lang) for lang, t in rows)]


@pytest.fixture(scope="module")
def fresh_answers() -> list[tuple[bool, str, str | None]]:
    """The answers of a detector read from the phrase files, no cache file involved."""
    saved = detect.prepared_path
    detect.prepared_path = lambda: Path("/nonexistent/never/written.json")  # type: ignore[assignment]
    try:
        detector = load_detector()
    finally:
        detect.prepared_path = saved  # type: ignore[assignment]
    return _answers(detector)


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    reads: list[Path] = []
    real = detect.read_language

    def counting(path: Path) -> detect.Prepared:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(detect, "read_language", counting)
    return reads


def test_the_phrase_data_is_read_once_then_from_the_cache_with_the_same_answers(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, fresh_answers: list[tuple[bool, str, str | None]]
) -> None:
    reads = _count_reads(monkeypatch)
    load_detector()
    assert len(reads) == len(list(PHRASES_DIR.glob("*.yaml"))) and prepared_path().is_file()
    reads.clear()
    cached = load_detector()
    assert reads == []
    assert _answers(cached) == fresh_answers


def test_stale_phrase_data_is_read_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_detector()
    stored = json.loads(prepared_path().read_text(encoding="utf-8"))
    stored["fingerprint"] = "0" * 64  # another release's, or the files edited since
    prepared_path().write_text(json.dumps(stored), encoding="utf-8")
    reads = _count_reads(monkeypatch)
    load_detector()
    assert reads
    assert json.loads(prepared_path().read_text(encoding="utf-8"))["fingerprint"] != "0" * 64


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"fingerprint": "FP", "languages": "nope"}',
        b'{"fingerprint": "FP", "languages": [{"code": "en"}]}',
        b'{"fingerprint": "FP"}',
    ],
    ids=["garbage", "empty", "list", "languages-not-a-list", "languages-incomplete", "no-languages"],
)
def test_damaged_phrase_data_is_read_again_with_the_same_answers(
    cache_dir: Path,
    content: bytes,
    fresh_answers: list[tuple[bool, str, str | None]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    load_detector()
    fingerprint = json.loads(prepared_path().read_text(encoding="utf-8"))["fingerprint"]
    prepared_path().write_bytes(content.replace(b"FP", fingerprint.encode()))
    with caplog.at_level(logging.WARNING):
        detector = load_detector()
    assert _answers(detector) == fresh_answers
    if content not in (b"[]",):
        assert any("ignored" in record.getMessage() for record in caplog.records)
    # Rewritten: the next load reads it.
    assert json.loads(prepared_path().read_text(encoding="utf-8"))["fingerprint"] == fingerprint


def test_phrase_data_with_an_unwritable_cache_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_answers: list[tuple[bool, str, str | None]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING):
        detector = load_detector()
    assert _answers(detector) == fresh_answers
    assert any("not kept" in record.getMessage() for record in caplog.records)


def test_no_cache_folder_to_be_found_means_reading_the_phrase_files(
    monkeypatch: pytest.MonkeyPatch, fresh_answers: list[tuple[bool, str, str | None]]
) -> None:
    from bot.services import cache_dir

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory")

    monkeypatch.setattr(cache_dir, "cache_folder", no_home)
    assert _answers(load_detector()) == fresh_answers


def test_another_phrase_folder_is_never_cached(cache_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "phrases"
    folder.mkdir()
    for path in PHRASES_DIR.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    load_detector(folder)
    assert not cache_dir.exists()


def test_crisis_scan_with_damaged_cache_files_answers_as_ever(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "crisis-phrases.json").write_text("{damaged", encoding="utf-8")
    (cache / VECTORS_FILE).write_bytes(b"PK\x03\x04 damaged")
    environment = {key: value for key, value in os.environ.items() if key != "BOOKBOT_CRISIS_MODEL"}
    environment["BOOKBOT_CACHE_DIR"] = str(cache)
    lines = ["I want to die", "i keep thinking everyone would cope fine without me around", "see you friday"]
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "crisis-scan", "--lang", "en"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    assert "Traceback" not in result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert objects[0]["matched"] == "en.want_die"
    assert objects[1]["crisis"] is True and objects[1]["matched"].startswith("model:en.c")
    assert objects[2] == {"crisis": False, "lang": "en", "matched": None}
    assert json.loads((cache / "crisis-phrases.json").read_text(encoding="utf-8"))["languages"]
    assert read_vectors(cache / VECTORS_FILE, "x" * 64, 1) is None  # rewritten: a readable file, just not for "x"
