"""Regular expressions whose compiled programs are kept in a file of the cache folder (bot/services/cache_dir.py).

CPython compiles a pattern in two steps: its parser and code generator (`re._parser`, `re._compiler`: pure
Python, and most of the time), then `_sre.compile`, which checks that code (a list of integers) and makes the
Pattern of it. The code depends only on the pattern's text, its flags and the interpreter, so it can be kept:
the crisis check compiles about 160 large alternations at every start (0.1 s of CPU, a third of `bookbot
crisis-scan`'s start), and from the file the same Patterns take about 2 ms.

A program is kept with the text it was made of, and used only for that very text; the file is stamped with
the interpreter's version and `_sre`'s magic number, so another Python ignores it. A missing, stale or
damaged file (it is a checksummed `bot.services.mapped_pickle`), or a program `_sre` refuses, means
compiling as `re.compile` does, and the file is written again when `save` is called; where it cannot be
written, every start compiles, as before.
Programs are made by the interpreter's own `re._compiler` steps, in its own order
(tests/unit/test_regex_cache.py compares them with what `re.compile` hands to `_sre.compile`).
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import logging
import re
import sys
from array import array
from pathlib import Path

from bot.services import mapped_pickle

log = logging.getLogger(__name__)

FORMAT = 1

# (final flags, code as array("I") bytes, groups - 1, groupindex, indexgroup): `_sre.compile`'s arguments.
Program = tuple[int, bytes, int, dict[str, int], tuple[str | None, ...]]


def _interpreter() -> str:
    return f"format {FORMAT} python {sys.version} sre {_sre.MAGIC} {_sre.CODESIZE} {sys.byteorder}"


def program_of(source: str, flags: int = 0) -> Program:
    """What `re._compiler.compile(source, flags)` hands to `_sre.compile` (that function's own steps)."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(source, flags)
    code = _compiler._code(parsed, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    final_flags = flags | parsed.state.flags
    return final_flags, array("I", code).tobytes(), parsed.state.groups - 1, groupindex, tuple(indexgroup)


def from_program(source: str, program: Program) -> re.Pattern[str]:
    flags, code, groups, groupindex, indexgroup = program
    pattern: re.Pattern[str] = _sre.compile(source, flags, array("I", code).tolist(), groups, groupindex, indexgroup)
    return pattern


class RegexCache:
    """`compile(source)`: the Pattern `re.compile(source)` makes, from the file's program when it holds one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stored: dict[tuple[str, int], Program] = self._read() if path is not None else {}
        self._used: dict[tuple[str, int], Program] = {}
        self.missed = 0

    def _read(self) -> dict[tuple[str, int], Program]:
        assert self.path is not None
        try:
            stored = mapped_pickle.load(self.path)  # our own file, in the user's own cache folder, checksummed
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("compiled patterns: %s not read (%r); compiling them", self.path, exc)
            return {}
        except Exception as exc:
            log.warning("compiled patterns: %s ignored (%r); compiling them", self.path, exc)
            return {}
        if not isinstance(stored, dict) or not isinstance(stored.get("programs"), dict):
            log.warning("compiled patterns: %s ignored (not a table of programs); compiling them", self.path)
            return {}
        if stored.get("interpreter") != _interpreter():
            return {}  # another Python's: stale
        programs: dict[tuple[str, int], Program] = stored["programs"]
        return programs

    def compile(self, source: str, flags: int = 0) -> re.Pattern[str]:
        key = (source, flags)
        program = self._stored.get(key)
        if program is not None:
            try:
                pattern = from_program(source, program)
            except Exception as exc:  # a program _sre refuses: compiled afresh, and the file rewritten
                log.warning("compiled patterns: a kept program refused (%r); compiling it", exc)
            else:
                self._used[key] = program
                return pattern
        self.missed += 1
        pattern = re.compile(source, flags)
        if self.path is not None:
            try:
                self._used[key] = program_of(source, flags)
            except Exception as exc:  # another interpreter's internals: nothing kept, compiled every time
                log.warning("compiled patterns: not kept (%r)", exc)
                self.path = None
        return pattern

    def save(self) -> None:
        """Write the programs used since this cache was made, when any had to be compiled (a kept program
        no longer asked for is dropped)."""
        if self.path is None or not self.missed:
            return
        from bot.services.cache_dir import write_atomically

        data = mapped_pickle.dumps({"interpreter": _interpreter(), "programs": self._used})
        try:
            write_atomically(self.path, data)
        except Exception as exc:  # an unwritable folder: compiled at every start, as before
            log.warning("compiled patterns: not kept in %s (%r); compiled in this process", self.path, exc)
        self.missed = 0
