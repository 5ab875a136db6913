"""A local fake of the Telegram Bot API that enforces the sending limits exactly, for `bench reminders`.

`python -m benchmarks.fake_bot_api [--port P]` serves `POST /bot<token>/<method>` on 127.0.0.1 and
prints `port <P>` once it listens. `sendMessage` answers like Telegram, except with 429 and a
`retry_after` when the request would make more than `--per-second` (30) requests of the bot in any
sliding second, or more than one to the same chat in any sliding second (every request counts, the
refused ones too). `GET /stats` gives what it saw: accepted sends (chat id and arrival time, on this
process's monotonic clock), refusals, and the most requests seen in one sliding second. Any other
method answers `ok` with `true` (enough for a worker that only sends).

It runs in a process of its own so that the worker's load does not skew its clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time
from collections import deque
from typing import Any

from aiohttp import web

WINDOW = 1.0


class Limits:
    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self.recent: deque[float] = deque()
        self.chat_last: dict[int, float] = {}
        self.accepted: list[tuple[int, float]] = []
        self.refused = 0
        self.most_in_a_second = 0
        self.message_id = 0

    def arrive(self, chat_id: int, now: float) -> int:
        """0: accepted; else the retry_after to answer with."""
        while self.recent and self.recent[0] <= now - WINDOW:
            self.recent.popleft()
        retry_after = 0
        if len(self.recent) >= self.per_second:
            retry_after = max(1, math.ceil(self.recent[0] + WINDOW - now))
        last = self.chat_last.get(chat_id)
        if last is not None and last > now - WINDOW:
            retry_after = max(retry_after, 1, math.ceil(last + WINDOW - now))
        self.recent.append(now)
        self.most_in_a_second = max(self.most_in_a_second, len(self.recent))
        self.chat_last[chat_id] = now
        if retry_after:
            self.refused += 1
        else:
            self.accepted.append((chat_id, now))
        return retry_after


def build(limits: Limits) -> web.Application:
    async def method(request: web.Request) -> web.Response:
        now = time.monotonic()
        name = request.match_info["method"]
        form = await request.post()
        if name.lower() != "sendmessage":
            return web.json_response({"ok": True, "result": True})
        chat_id = int(str(form["chat_id"]))
        retry_after = limits.arrive(chat_id, now)
        if retry_after:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        limits.message_id += 1
        result: dict[str, Any] = {
            "message_id": limits.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "g"},
            "text": str(form.get("text", "")),
        }
        return web.json_response({"ok": True, "result": result})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {"accepted": limits.accepted, "refused": limits.refused, "most_in_a_second": limits.most_in_a_second}
        )

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    app.router.add_get("/stats", stats)
    return app


async def serve(port: int, per_second: int) -> None:
    runner = web.AppRunner(build(Limits(per_second)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    print(f"port {sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--per-second", type=int, default=30)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.port, arguments.per_second))
