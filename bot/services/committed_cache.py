"""A bounded LRU of database rows that follows what has committed, never leads it.

The bookkeeping the conversation cache (bot/middlewares/conversation.py) and the users cache
(bot/services/user_cache.py) share: `writing` before a key's write reaches the database, `written` once
its transaction is over (with the value when it committed, None when it did not or may not have);
`loading`/`loaded` around a read, kept only when no write of that key overlapped it; `bulk_writing`/
`bulk_written` around a write the cache cannot pin to keys. While a key (or, in bulk, every key) is being
written it is not served, and a key written by two units of work at once, or read while being written,
is dropped: the next read goes to the database, which decides.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class CommittedCache(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._writing: dict[K, int] = {}
        self._contended: set[K] = set()
        self._loading: dict[K, object] = {}
        self._bulk = 0

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: K) -> V | None:
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def loading(self, key: K) -> object:
        """A read of `key` from the database begins; hand the token to `loaded` (or `abandoned`)."""
        token = object()
        self._loading[key] = token
        return token

    def loaded(self, key: K, token: object, value: V | None) -> None:
        """What the read found (None: nothing to keep): kept unless a write overlapped the read."""
        if self._loading.get(key) is not token:
            return
        del self._loading[key]
        if value is not None and key not in self._writing and not self._bulk:
            self._put(key, value)

    def abandoned(self, key: K, token: object) -> None:
        """The read failed."""
        if self._loading.get(key) is token:
            del self._loading[key]

    def writing(self, key: K) -> None:
        """A write of `key` is about to reach the database."""
        self._values.pop(key, None)
        self._loading.pop(key, None)
        if self._writing.get(key):
            self._contended.add(key)
        self._writing[key] = self._writing.get(key, 0) + 1

    def written(self, key: K, value: V | None) -> None:
        """The write's transaction is over: committed with `value`, or None (rolled back, or unknown)."""
        self._loading.pop(key, None)
        left = self._writing.get(key, 0) - 1
        if left > 0:
            self._writing[key] = left
            return
        self._writing.pop(key, None)
        if value is not None and key not in self._contended and not self._bulk:
            self._put(key, value)
        self._contended.discard(key)

    def bulk_writing(self) -> None:
        """A write of keys the cache cannot name is about to reach the database: forget every value."""
        self._bulk += 1
        self._values.clear()
        self._loading.clear()

    def bulk_written(self) -> None:
        """That write's transaction is over (whichever way): reads may be kept again."""
        self._bulk = max(0, self._bulk - 1)
        self._loading.clear()

    def clear(self) -> None:
        self._values.clear()

    def _put(self, key: K, value: V) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.size:
            self._values.popitem(last=False)
