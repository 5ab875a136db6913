"""Babel's `Locale` for a locale code, parsed once per process.

Every Babel formatter given a code ("uk") parses it into a new `Locale` (about 3 µs, more for a full
parse like "en_US"), and a rendered screen formats a dozen dates, times and prices: passing the parsed
`Locale` makes each formatter take it as it is. `Locale` objects are not changed by formatting.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale


@lru_cache(maxsize=64)
def babel_locale(code: str) -> Locale:
    """`Locale.parse(code)`, once per code (an unknown code raises UnknownLocaleError every time)."""
    return Locale.parse(code)
