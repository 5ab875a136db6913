"""A pickle whose large buffers stay in its file: read-only memory maps instead of copies in the process.

`dumps` pickles with protocol 5 and takes every out-of-band buffer (numpy arrays, and `pickle.PickleBuffer`s
that a class's `__reduce__` returns) out of the pickle, each at a page boundary of the file after it; `load`
maps each buffer back (`mmap`, read-only) and unpickles against the maps. The process then holds no copy of
them: their pages are the page cache's, clean and shared by every process that maps the file, reclaimable by
the kernel, and resident in the process (file-backed: VmRSS's RssFile) only once touched, and only those
touched with their neighbours (the kernel maps up to 64 KiB around a faulting page already in the page cache;
docs/PITFALLS.md, "Memory").

A CRC-32 of everything after it is checked at load by reading the file (through the page cache, not the
maps), so a damaged file raises as a damaged pickle would. The file must only ever be replaced by a rename
(bot/services/cache_dir.write_through), never rewritten in place: a mapped file cut short under a process
would kill it (SIGBUS) on its next read of a missing page.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

MAGIC = b"BBMAPPK1"
# magic, CRC-32 of everything after the header, the pickle's length, the number of buffers.
_HEADER = struct.Struct("<8sIQQ")
_BUFFER = struct.Struct("<QQ")  # a buffer's offset in the file and its length
_PAGE = mmap.ALLOCATIONGRANULARITY
_CHUNK = 1 << 20


def _aligned(offset: int) -> int:
    return -(-offset // _PAGE) * _PAGE


def dumps(obj: Any) -> bytes:
    """The file's content for `obj` (deterministic: the same object gives the same bytes)."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [buffer.raw() for buffer in buffers]
    offset = _aligned(_HEADER.size + _BUFFER.size * len(raws) + len(data))
    table = []
    for raw in raws:
        table.append(_BUFFER.pack(offset, raw.nbytes))
        offset = _aligned(offset + raw.nbytes)
    parts: list[bytes | memoryview] = [*table, data]
    at = _HEADER.size + sum(map(len, parts))
    for raw, entry in zip(raws, table, strict=True):
        start, _ = _BUFFER.unpack(entry)
        parts.append(b"\x00" * (start - at))
        parts.append(raw)
        at = start + raw.nbytes
    body = b"".join(parts)
    return _HEADER.pack(MAGIC, zlib.crc32(body), len(data), len(raws)) + body


def load(path: Path, random_access: bool = False) -> Any:
    """The object kept in `path`, its buffers memory-mapped read-only (numpy arrays over them are read-only).
    `random_access`: the buffers are read here and there (a hash table), so the kernel reads no further ahead
    from disk than the page asked for (`MADV_RANDOM`; it does not stop the 64 KiB mapped around a fault from
    what the page cache holds already). Raises ValueError when the file is damaged, OSError when unreadable."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        header = file.read(_HEADER.size)
        if len(header) != _HEADER.size:
            raise ValueError(f"{path.name}: cut short")
        magic, crc, pickle_size, count = _HEADER.unpack(header)
        if magic != MAGIC:
            raise ValueError(f"{path.name}: not a mapped pickle")
        checked = 0
        while chunk := file.read(_CHUNK):
            checked = zlib.crc32(chunk, checked)
        if checked != crc:
            raise ValueError(f"{path.name}: damaged (checksum)")
        file.seek(_HEADER.size)
        table = [_BUFFER.unpack(file.read(_BUFFER.size)) for _ in range(count)]
        data = file.read(pickle_size)
        if len(data) != pickle_size or any(offset % _PAGE or offset + length > size for offset, length in table):
            raise ValueError(f"{path.name}: damaged (layout)")
        buffers = [_mapped(file.fileno(), offset, length, random_access) for offset, length in table]
    return pickle.loads(data, buffers=buffers)  # our own file, in the user's own cache folder, checked above


def _mapped(fd: int, offset: int, length: int, random_access: bool) -> mmap.mmap | bytes:
    if length == 0:
        return b""  # mmap's length 0 means "to the end of the file"
    mapped = mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset)
    if random_access and hasattr(mapped, "madvise"):
        mapped.madvise(mmap.MADV_RANDOM)
    return mapped
