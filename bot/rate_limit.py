"""Telegram's sending limits, kept by the outbox worker (bot/worker.py) for every process of the bot.

Telegram allows a bot about 30 messages a second in all, one a second to one private chat and 20 a
minute to one group (Bot API FAQ), and it counts them over any sliding second: a token bucket whose
capacity equals its rate lets 30 through at once and 30 more a moment later, 60 in one second. So the
limiter paces *evenly*, GCRA-style with no burst: every message reserves the next free moment of the
bot's schedule (one every `Limits.interval` seconds) and of its chat's (one every
`Limits.chat_interval`), and waits for it. Each limit is used at `Limits.headroom` of its rate, so a
message delayed on its way (a busy machine, the network) does not bring 31 into one second at the
other end.

A chat whose next moment has not come reserves nothing of the bot's schedule (it would hold back every
other chat); its sender waits and asks again. Telegram's 429 pauses that chat and the whole bot for
its `retry_after` (`pause`); a reservation made before a pause waits the pause out too.

- `LocalLimiter`: one process (no REDIS_URL): state in memory, on a monotonic clock.
- `RedisLimiter`: every process of the bot shares one schedule, reserved by one atomic Lua script on
  Redis's own clock (`TIME`), so replicas with skewed clocks still agree.
- `SimulatedTime`: a monotonic clock that moves only when slept on, for the demo and the tests, whose
  clock is frozen: the limiter keeps its order and spacing there without waiting for real.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

MonotonicClock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# A sender woken this much later than its moment does not use it (see LocalLimiter.acquire).
LATE_SECONDS = 0.01
# A sender that would wait longer than this gives its message back (the worker reschedules it) rather
# than hold its claim on it.
MAX_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class Limits:
    """Telegram's limits for one bot, and the share of each the limiter uses."""

    per_second: float = 30.0
    per_chat_second: float = 1.0
    per_group_minute: float = 20.0
    headroom: float = 0.96

    @property
    def interval(self) -> float:
        """Seconds between two messages of the bot, in all."""
        return 1 / (self.per_second * self.headroom)

    def chat_interval(self, chat_id: int) -> float:
        """Seconds between two messages to one chat: groups and channels have negative ids."""
        if chat_id < 0:
            return 60 / (self.per_group_minute * self.headroom)
        return 1 / (self.per_chat_second * self.headroom)


class RateLimiter(Protocol):
    async def acquire(self, chat_id: int, max_wait: float = MAX_WAIT_SECONDS) -> float:
        """Wait until one more message to `chat_id` may go out, and take that moment: 0.0. When that is
        more than `max_wait` seconds away, take nothing and return how long it would be instead."""
        ...

    async def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """Telegram said "retry after": nobody sends for that long, and `chat_id` gets nothing either."""
        ...


class SimulatedTime:
    """A monotonic clock that moves only when everyone waiting on it sleeps: when the event loop has had
    nothing else to do for a few turns, the clock jumps to the earliest sleeper's wake-up and wakes it.
    Concurrent sleepers wake in order, each at exactly its moment, and nothing waits for real."""

    IDLE_TURNS = 3
    SMALLEST_SLEEP = 1e-6  # a sleep moves the clock at least this much, as a real clock moves

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driving = False

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        wake = self._now + max(seconds, self.SMALLEST_SLEEP)
        heapq.heappush(self._sleepers, (wake, next(self._order), woken))
        if not self._driving:
            self._driving = True
            loop.call_soon(self._drive, loop, self.IDLE_TURNS)
        await woken

    def _drive(self, loop: asyncio.AbstractEventLoop, turns: int) -> None:
        if turns > 0:
            loop.call_soon(self._drive, loop, turns - 1)
            return
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # a cancelled sleeper
        if not self._sleepers:
            self._driving = False
            return
        wake, _order, woken = heapq.heappop(self._sleepers)
        self._now = max(self._now, wake)
        woken.set_result(None)
        loop.call_soon(self._drive, loop, self.IDLE_TURNS)


class LocalLimiter:
    """The limits in one process's memory. `clock` and `sleep` are injectable (SimulatedTime)."""

    def __init__(
        self, limits: Limits = Limits(), *, clock: MonotonicClock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0  # the bot's next free moment
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._chat_paused: dict[int, float] = {}
        self._reservations = 0

    def _reserve(self, chat_id: int, now: float) -> tuple[float, bool]:
        """How long until the message may go, and whether that moment is now reserved for it."""
        chat_free = max(self._chat_next.get(chat_id, 0.0), self._chat_paused.get(chat_id, 0.0))
        if chat_free > now:
            return chat_free - now, False
        slot = max(now, self._next, self._paused_until)
        self._next = slot + self.limits.interval
        self._chat_next[chat_id] = slot + self.limits.chat_interval(chat_id)
        self._reservations += 1
        if self._reservations % 1000 == 0:
            self._forget(now)
        return slot - now, True

    def _paused(self, chat_id: int, now: float) -> float:
        return max(self._paused_until, self._chat_paused.get(chat_id, 0.0)) - now

    def _forget(self, now: float) -> None:
        """Drop the chats whose moments are all past (they would answer "now" anyway)."""
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}
        self._chat_paused = {chat: at for chat, at in self._chat_paused.items() if at > now}

    async def acquire(self, chat_id: int, max_wait: float = MAX_WAIT_SECONDS) -> float:
        while True:
            now = self._clock()
            wait = self._paused(chat_id, now)
            if wait <= 0:
                wait, reserved = self._reserve(chat_id, now)
                if reserved and wait <= 0:
                    return 0.0
            else:
                reserved = False
            if wait > max_wait:
                return wait  # a reservation made is left unused: a gap in the schedule, never a burst
            await self._sleep(wait)
            if reserved:
                woke = self._clock()
                slot = now + wait
                if woke - slot > LATE_SECONDS:
                    # Woken too late (a busy machine): sent now it would crowd the next ones. The moment
                    # is left unused and the chat's own reservation given back; take a new one.
                    self._chat_next[chat_id] = slot
                    continue
                if self._paused(chat_id, woke) <= 0:
                    return 0.0
            # Not reserved yet (the chat was busy or paused), or a 429 paused us while we waited: again.

    async def pause(self, seconds: float, chat_id: int | None = None) -> None:
        until = self._clock() + seconds
        self._paused_until = max(self._paused_until, until)
        if chat_id is not None:
            self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, 0.0), until)


# Times are milliseconds (fractions kept). Redis's own clock unless the caller passes "now" (ARGV[1],
# "" for none): tests on simulated time.
_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function num(key) return tonumber(redis.call('GET', key)) or 0 end
local function put(key, at) redis.call('SET', key, string.format('%.3f', at), 'PX', math.ceil(at - now) + 60000) end
"""
# KEYS: the bot's next moment, the bot's pause, the chat's next moment, the chat's pause.
# ARGV[2]: the bot's interval, ARGV[3]: the chat's interval (ms); ARGV[4]: "1" only to check, after
# waiting for a reservation, that the moment (ARGV[5]) is not more than ARGV[6] ms past and no pause
# began meanwhile. Returns {wait in microseconds, 1 when the moment is reserved (then the moment)}.
_ACQUIRE_SCRIPT = (
    _NOW
    + """
local paused = math.max(num(KEYS[2]), num(KEYS[4]))
if ARGV[4] == '1' then
  local slot = tonumber(ARGV[5])
  if now - slot > tonumber(ARGV[6]) then
    -- Woken too late: the moment goes unused and the chat's reservation is given back.
    put(KEYS[3], slot)
    return {0, 0}
  end
  if paused > now then return {math.ceil((paused - now) * 1000), 0} end
  return {0, 1}
end
local chat_free = math.max(num(KEYS[3]), num(KEYS[4]))
if chat_free > now or paused > now then
  return {math.ceil((math.max(chat_free, paused) - now) * 1000), 0}
end
local slot = math.max(now, num(KEYS[1]))
put(KEYS[1], slot + tonumber(ARGV[2]))
put(KEYS[3], slot + tonumber(ARGV[3]))
return {math.ceil((slot - now) * 1000), 1, string.format('%.3f', slot)}
"""
)
# KEYS: the bot's pause, the chat's pause (or only the first). ARGV[2]: the pause (ms). A later end wins.
_PAUSE_SCRIPT = (
    _NOW
    + """
local until_ms = now + tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  if num(key) < until_ms then put(key, until_ms) end
end
return 1
"""
)


class RedisLimiter:
    """The limits shared by every process of the bot through Redis (keys under `key`). `clock` (seconds,
    monotonic) replaces Redis's own clock and `sleep` the event loop's, for tests on simulated time;
    every process must then share that clock."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        limits: Limits = Limits(),
        *,
        clock: MonotonicClock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._key = key
        self._clock = clock
        self._sleep = sleep
        self._acquire = redis.register_script(_ACQUIRE_SCRIPT)
        self._pause = redis.register_script(_PAUSE_SCRIPT)

    def _now(self) -> str:
        return "" if self._clock is None else repr(self._clock() * 1000)

    def _keys(self, chat_id: int) -> list[str]:
        return [
            f"{self._key}:next",
            f"{self._key}:paused",
            f"{self._key}:chat:{chat_id}",
            f"{self._key}:paused:{chat_id}",
        ]

    async def _call(self, chat_id: int, slot: str | None = None) -> tuple[float, str | None]:
        """Reserve (no `slot`) or check a reservation: the wait, and the moment when one is reserved."""
        args: list[str | float] = [
            self._now(),
            self.limits.interval * 1000,
            self.limits.chat_interval(chat_id) * 1000,
            "0" if slot is None else "1",
            slot or "",
            LATE_SECONDS * 1000,
        ]
        answer = await self._acquire(keys=self._keys(chat_id), args=args)
        reserved = bool(int(answer[1]))
        if slot is None:
            return int(answer[0]) / 1_000_000, answer[2].decode() if reserved else None
        return int(answer[0]) / 1_000_000, slot if reserved else None

    async def acquire(self, chat_id: int, max_wait: float = MAX_WAIT_SECONDS) -> float:
        while True:
            wait, slot = await self._call(chat_id)
            if slot is not None and wait <= 0:
                return 0.0
            if wait > max_wait:
                return wait
            await self._sleep(wait)
            if slot is not None:
                _paused, still = await self._call(chat_id, slot)
                if still is not None:
                    return 0.0

    async def pause(self, seconds: float, chat_id: int | None = None) -> None:
        keys = [f"{self._key}:paused"] + ([f"{self._key}:paused:{chat_id}"] if chat_id is not None else [])
        await self._pause(keys=keys, args=[self._now(), max(1.0, seconds * 1000)])


def make_rate_limiter(redis: Redis | None, key_prefix: str, bot_id: int, *, simulated: bool = False) -> RateLimiter:
    """With Redis, one limiter for every process of this bot; else this process's own. `simulated`: the
    app's clock is not the real one (the demo, tests), so neither is the in-process limiter's."""
    if redis is not None:
        return RedisLimiter(redis, f"{key_prefix}:rate:{bot_id}")
    if simulated:
        simulated_time = SimulatedTime()
        return LocalLimiter(clock=simulated_time.monotonic, sleep=simulated_time.sleep)
    return LocalLimiter()
