"""A monotonic clock that only moves when someone sleeps on it: rate limiters run on it in tests, so
their spacing is asserted exactly and no test depends on how busy the machine is.

It ticks in whole microseconds and a sleep lasts at least one tick, as on a real clock: a limiter that
asks for a vanishingly short wait (float rounding) still sees time move.
"""

from __future__ import annotations

import asyncio
import math

TICKS_PER_SECOND = 1_000_000


class VirtualTime:
    def __init__(self) -> None:
        self.ticks = 0

    @property
    def now(self) -> float:
        return self.ticks / TICKS_PER_SECOND

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.ticks += max(1, math.ceil(seconds * TICKS_PER_SECOND))
        await asyncio.sleep(0)  # still a suspension point, as the real sleep is
