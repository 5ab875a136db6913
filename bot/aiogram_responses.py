"""Keep aiogram's `Response[T]` classes alive for the life of the process (a workaround, to report upstream).

aiogram 3 (3.31, `BaseSession.check_response`) parses every Bot API answer with
`Response[method.__returning__]`, a pydantic generic class built on first use. pydantic 2 (2.13) caches
parametrized generics in a `WeakValueDictionary` (`pydantic._internal._generics._GENERIC_TYPES_CACHE`), and
nothing else holds the class, so the garbage collector drops it and the next call of the same method
builds it again: schema generation and a validator, about 2-5 ms each time. Measured with
`python3 dev.py bench updates` before this module: 175 rebuilds in 360 updates of booking conversations,
against the echo bot's 7 (issue 12); see the branch note for the throughput before and after.

Building every `Response[T]` the Bot API can answer once (about 40 distinct result types, 0.1-0.5 s at
start) and holding them here makes pydantic's cache hit every time. The upstream fix would be a strong
cache in aiogram (e.g. `functools.cache` around the parametrization, or building it on the method class).
"""

from __future__ import annotations

import aiogram.methods
from aiogram.methods.base import Response, TelegramMethod

_held: list[type[Response[object]]] = []


def hold_response_types() -> None:
    """Build and hold `Response[T]` for the result type of every Bot API method (once per process)."""
    if _held:
        return
    seen: set[str] = set()
    for name in aiogram.methods.__all__:
        method = getattr(aiogram.methods, name)
        if not (isinstance(method, type) and issubclass(method, TelegramMethod)) or method is TelegramMethod:
            continue
        returning = method.__returning__
        if isinstance(returning, property) or repr(returning) in seen:
            continue
        seen.add(repr(returning))
        _held.append(Response[returning])  # type: ignore[valid-type]
