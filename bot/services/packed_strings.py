"""Many strings kept as one UTF-8 byte string and an array of offsets: a few objects instead of hundreds of
thousands of small ones (the zone search's place names, the crisis encoder's vocabulary)."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload


class Strings(Sequence[str]):
    """Many strings as one UTF-8 byte string and their offsets; an item is decoded when asked for."""

    def __init__(self, blob: bytes, offsets: array[int]) -> None:
        self._blob = blob
        self._offsets = offsets

    @classmethod
    def of(cls, items: Iterable[str]) -> Strings:
        offsets = array("q", [0])
        parts = []
        for item in items:
            encoded = item.encode()
            parts.append(encoded)
            offsets.append(offsets[-1] + len(encoded))
        return cls(b"".join(parts), offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        offsets = self._offsets
        count = len(offsets) - 1
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(index)
        return self._blob[offsets[index] : offsets[index + 1]].decode()

    def __iter__(self) -> Iterator[str]:
        return (self[index] for index in range(len(self)))

    def state(self) -> tuple[bytes, bytes]:
        return self._blob, self._offsets.tobytes()
