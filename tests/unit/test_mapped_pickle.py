"""A pickle whose buffers are mapped from its file (bot/services/mapped_pickle.py): the same objects back, no
copies of the buffers, and a damaged file refused."""

from __future__ import annotations

import mmap
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.services import mapped_pickle


class Blob:
    """A class that hands its bytes out of band, as the encoder's vocabulary does."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __reduce__(self) -> tuple[Any, ...]:
        return Blob, (pickle.PickleBuffer(self.data),)


def _payload() -> dict[str, Any]:
    rows = np.arange(3 * 1000, dtype=np.float32).reshape(3, 1000) / 7
    return {
        "rows": rows,
        "columns": np.asfortranarray(rows),
        "small": np.array([1.5, -2.0], dtype=np.float64),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "list": [np.ones(5, dtype=np.int64), 3, "text"],
        "blob": Blob(b"abc\x00def" * 1000),
    }


def test_what_is_loaded_is_what_was_dumped_with_its_buffers_mapped(tmp_path: Path) -> None:
    path = tmp_path / "kept"
    original = _payload()
    path.write_bytes(mapped_pickle.dumps(original))
    loaded = mapped_pickle.load(path)
    for name in ("rows", "columns", "small", "empty"):
        assert np.array_equal(loaded[name], original[name]) and loaded[name].dtype == original[name].dtype, name
        assert loaded[name].flags.c_contiguous == original[name].flags.c_contiguous, name
        assert loaded[name].flags.f_contiguous == original[name].flags.f_contiguous, name
    assert np.array_equal(loaded["list"][0], original["list"][0]) and loaded["list"][1:] == [3, "text"]
    # Not copies: read-only views of the file's maps.
    assert not loaded["rows"].flags.writeable and not loaded["rows"].flags.owndata
    with pytest.raises(ValueError):
        loaded["rows"][0, 0] = 1.0
    blob = loaded["blob"].data
    assert isinstance(blob, mmap.mmap) and blob[:] == original["blob"].data and blob[3:7] == b"\x00def"


def test_the_same_object_gives_the_same_file(tmp_path: Path) -> None:
    assert mapped_pickle.dumps(_payload()) == mapped_pickle.dumps(_payload())


@pytest.mark.parametrize("damage", ["cut short", "a flipped byte in a buffer", "a flipped byte in its table", "empty"])
def test_a_damaged_file_is_refused(tmp_path: Path, damage: str) -> None:
    good = mapped_pickle.dumps(_payload())
    if damage == "cut short":
        bad = good[: len(good) - 100]
    elif damage == "a flipped byte in a buffer":
        bad = good[:-10] + bytes([good[-10] ^ 1]) + good[-9:]
    elif damage == "a flipped byte in its table":
        bad = good[:40] + bytes([good[40] ^ 1]) + good[41:]
    else:
        bad = b""
    path = tmp_path / "kept"
    path.write_bytes(bad)
    with pytest.raises(ValueError):
        mapped_pickle.load(path)


def test_another_kind_of_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kept"
    path.write_bytes(pickle.dumps(_payload(), protocol=5))
    with pytest.raises(ValueError, match="not a mapped pickle"):
        mapped_pickle.load(path)
