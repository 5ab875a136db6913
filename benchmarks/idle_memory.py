"""`python3 dev.py bench memory`: the idle resident memory of `bookbot run` beside a bare aiogram 3 bot.

Both run as processes of their own against a fake Bot API server on 127.0.0.1 (tests/bot/test_serving.py's
`FakeTelegram`), on a webhook, with nothing to do; each is measured (VmRSS) once its memory has stopped
growing (bookbot builds its zone-search index in a background thread after start). The crisis model's
encoder files (bot/services/crisis/encoder.py) are built first, as a deployment builds them (the Docker
image does, once per release): a start that builds them itself loads the model only once a child process
has written them, which could be after the memory looked settled. Besides VmRSS, each line gives its
anonymous part (the process's own) and its file-backed part (mapped files: code, libraries). Linux only
(/proc).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.updates import GOAL_RSS_RATIO
from bot.demo.fake_session import BOT_TOKEN
from models.migrate import upgrade
from tests.bot.test_serving import FakeTelegram

# A bare aiogram bot on the same webhook server setup: a dispatcher with one echo handler.
BARE_BOT = """
import asyncio, os, sys
from aiohttp import web
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

router = Router()

@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")

async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"], is_local=True))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot).register(app, path="/webhook")
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["WEB_PORT"])).start()
    await bot.set_webhook("http://127.0.0.1:9/webhook")
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


@dataclass(frozen=True)
class Resident:
    total: float
    anonymous: float
    files: float

    def __str__(self) -> str:
        return f"{self.total:6.1f} MiB (anonymous {self.anonymous:.1f}, files {self.files:.1f})"


def _settled_rss(process: subprocess.Popen[bytes], limit_seconds: float = 180.0) -> Resident:
    """VmRSS once it has not grown by more than 1 MiB for 5 s (or at the time limit)."""
    deadline = time.monotonic() + limit_seconds
    last, steady_since = _rss_mib(process.pid), time.monotonic()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process stopped with exit code {process.returncode}")
        time.sleep(0.5)
        now = _rss_mib(process.pid)
        if now > last + 1:
            last, steady_since = now, time.monotonic()
        elif time.monotonic() - steady_since >= 5:
            return _resident(process.pid)
    return _resident(process.pid)


def _resident(pid: int) -> Resident:
    return Resident(_rss_mib(pid), _rss_mib(pid, "RssAnon"), _rss_mib(pid, "RssFile"))


def _measure(command: list[str], environment: dict[str, str], cwd: Path) -> Resident:
    process = subprocess.Popen(command, env=environment, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return _settled_rss(process)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    import asyncio

    if not Path("/proc/self/status").exists():
        print("  (idle memory needs Linux's /proc)")
        return
    with tempfile.TemporaryDirectory(prefix="bookbot-bench-") as scratch, FakeTelegram() as telegram:
        folder = Path(scratch)
        database = f"sqlite+aiosqlite:///{folder / 'bookbot.db'}"
        asyncio.run(upgrade(database))
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(("BOOKBOT", "DATABASE", "REDIS"))
        }
        environment.update(
            BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_API_BASE=telegram.base,
            WEBHOOK_BASE_URL="http://127.0.0.1:9/bookbot",
            DATABASE_URL=database,
        )
        bookbot = Path(sys.executable).with_name("bookbot")
        build = "from bot.services.crisis import encoder; encoder.ensure_files()"
        subprocess.run([sys.executable, "-c", build], env=environment, check=True, timeout=600)
        bare = _measure([sys.executable, "-c", BARE_BOT], {**environment, "WEB_PORT": str(_free_port())}, folder)
        ours = _measure([str(bookbot), "run"], {**environment, "WEB_PORT": str(_free_port())}, folder)
        # The crisis check's model layer (README "Safety") is most of what bookbot adds: measured apart.
        unmodelled = {**environment, "WEB_PORT": str(_free_port()), "BOOKBOT_CRISIS_MODEL": "off"}
        without_model = _measure([str(bookbot), "run"], unmodelled, folder)
    ratio = ours.total / bare.total
    goal = "goal met" if ratio <= GOAL_RSS_RATIO else "goal missed"
    print(f"  bare aiogram bot: {bare}")
    print(f"  bookbot run: {ours}")
    added = ours.total - without_model.total
    print(f"  bookbot run, BOOKBOT_CRISIS_MODEL=off: {without_model} (the model layer: {added:+.1f} MiB)")
    unmodelled_ratio = without_model.total / bare.total
    print(f"  ratio: {ratio:.2f}; without the model {unmodelled_ratio:.2f} (<= {GOAL_RSS_RATIO}: {goal})")


if __name__ == "__main__":
    main()
