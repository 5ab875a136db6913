"""`bookbot run` (bot/serving.py): webhook or polling from the settings, the web server always, the
database migrated only when it is the embedded SQLite, one clear line and exit code 2 for what the
operator must fix, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import text

import bot.serving
from bot.app import App
from bot.cli import main
from bot.cli_database import UsageError
from bot.demo.fake_session import BOT_TOKEN, ApiCall, RecordingSession
from bot.demo.updates import Person, UpdateFactory
from bot.services.clock import FrozenClock
from bot.serving import serve
from bot.settings import Settings, derive_webhook_secret
from models.db import make_engine
from models.migrate import upgrade
from tests.conftest import _pg_admin, _pg_url, run_in_own_loop

WEBHOOK_BASE = "https://bot.example.org/bookbot/"


class PollingSession(RecordingSession):
    """Telegram for a polling bot: getUpdates waits (as a long poll does) until polling is stopped."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__(clock)
        self.polled = asyncio.Event()

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        if method.__api_method__ == "getUpdates":
            self.calls.append(ApiCall("getUpdates", method.model_dump(exclude_none=True)))
            self.polled.set()
            await asyncio.Event().wait()
        return await super().make_request(bot, method, timeout)


@dataclass
class Running:
    app: App
    addresses: list[str]
    session: RecordingSession
    stop: asyncio.Event
    task: asyncio.Task[None]
    logs: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.addresses[0]

    def methods(self) -> list[str]:
        return [call.method for call in self.session.calls]


def settings_for(database: Path, **values: Any) -> Settings:
    values.setdefault("web_port", 0)
    return Settings(
        database_url=f"sqlite+aiosqlite:///{database}", bot_token=SecretStr(BOT_TOKEN), _env_file=None, **values
    )


@pytest.fixture
def fresh_database(tmp_path: Path) -> Path:
    """Where a SQLite database is to be: nothing there yet, `bookbot run` creates and migrates it."""
    return tmp_path / "bookbot.db"


async def start(settings: Settings, session: RecordingSession) -> Running:
    stop = asyncio.Event()
    ready: asyncio.Future[tuple[App, list[str]]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            settings,
            bot=Bot(BOT_TOKEN, session=session),
            clock=session.clock,  # type: ignore[arg-type]
            stop=stop,
            handle_signals=False,
            on_ready=lambda app, addresses: ready.set_result((app, addresses)),
        )
    )
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
        raise AssertionError("serve() returned before it was ready")
    app, addresses = ready.result()
    return Running(app, addresses, session, stop, task)


@pytest.fixture
async def stopper() -> AsyncIterator[list[Running]]:
    """Stops whatever a test started, even when it fails half-way."""
    started: list[Running] = []
    yield started
    for running in started:
        running.stop.set()
        await running.task


async def test_with_webhook_base_url_the_bot_sets_its_webhook_and_serves_it(
    fresh_database: Path, clock: FrozenClock, stopper: list[Running]
) -> None:
    settings = settings_for(fresh_database, webhook_base_url=WEBHOOK_BASE)
    running = await start(settings, RecordingSession(clock))
    stopper.append(running)

    [call] = [c for c in running.session.calls if c.method == "setWebhook"]
    assert call.params["url"] == "https://bot.example.org/bookbot/webhooks/telegram"
    assert call.params["secret_token"] == derive_webhook_secret(BOT_TOKEN)
    assert {"message", "callback_query"} <= set(call.params["allowed_updates"])
    assert "getUpdates" not in running.methods()
    assert "deleteWebhook" not in running.methods()

    person = Person(id=777_001, first_name="Olena")
    update = UpdateFactory(clock, running.session.next_message_id, running.app.bot.id).text(person, "/start")
    headers = {"X-Telegram-Bot-Api-Secret-Token": derive_webhook_secret(BOT_TOKEN)}
    async with aiohttp.ClientSession(running.base) as client:
        async with client.get("/healthz") as response:
            assert response.status == 200
        async with client.post("/webhooks/telegram", json=update, headers=headers) as response:
            assert response.status == 200
    assert running.session.chat(person.id), "the update was handled"

    running.stop.set()
    await running.task
    assert running.app._closed


async def test_without_webhook_base_url_the_bot_polls_and_still_serves_health(
    fresh_database: Path, clock: FrozenClock, stopper: list[Running]
) -> None:
    session = PollingSession(clock)
    running = await start(settings_for(fresh_database), session)
    stopper.append(running)
    await session.polled.wait()

    assert "deleteWebhook" in running.methods()
    assert "setWebhook" not in running.methods()
    async with aiohttp.ClientSession(running.base) as client:
        async with client.get("/healthz") as response:
            assert response.status == 200
        # No webhook route while polling: updates come only one way.
        async with client.post("/webhooks/telegram", json={"update_id": 1}) as response:
            assert response.status == 404

    running.stop.set()
    await running.task


async def test_the_embedded_database_is_migrated_on_start(
    fresh_database: Path, clock: FrozenClock, stopper: list[Running]
) -> None:
    running = await start(settings_for(fresh_database), PollingSession(clock))
    stopper.append(running)
    engine = make_engine(f"sqlite+aiosqlite:///{fresh_database}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        await engine.dispose()


# What an idle `bookbot run` keeps out of memory (README "Benchmarks"): Alembic when the database is already
# migrated, Stripe without STRIPE_SECRET_KEY, Redis without REDIS_URL. Checked in a process of its own: this one
# has imported them all for other tests.
IDLE_IMPORTS = """
import asyncio, sys
from bot.app import build_app
from bot.serving import prepare_database
from bot.services.clock import SystemClock
from bot.settings import Settings

asyncio.run(prepare_database(sys.argv[1]))
settings = Settings(bot_token="123:abc", database_url=sys.argv[1], _env_file=None)
asyncio.run(build_app(settings, clock=SystemClock()).close())
print(" ".join(name for name in ("alembic", "stripe", "redis") if name in sys.modules))
"""


def test_a_start_on_a_migrated_database_imports_neither_alembic_nor_stripe_nor_redis(fresh_database: Path) -> None:
    url = f"sqlite+aiosqlite:///{fresh_database}"
    run_in_own_loop(upgrade(url))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKBOT", "STRIPE", "REDIS"))}
    completed = subprocess.run(
        [sys.executable, "-c", IDLE_IMPORTS, url], capture_output=True, text=True, env=environment, timeout=240
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


async def test_an_unreachable_telegram_at_start_is_retried(
    fresh_database: Path, clock: FrozenClock, stopper: list[Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.serving, "RETRY_FIRST_SECONDS", 0.01)
    session = RecordingSession(clock)
    session.fail_next("getMe", 502, "Bad Gateway")
    session.fail_next("getMe", 502, "Bad Gateway")
    session.fail_next("setWebhook", 429, "Too Many Requests: retry after 1", retry_after=1)
    running = await start(settings_for(fresh_database, webhook_base_url=WEBHOOK_BASE), session)
    stopper.append(running)
    assert running.methods().count("getMe") == 3
    assert running.methods().count("setWebhook") == 2


async def test_a_refused_token_stops_the_start_with_a_clear_error(fresh_database: Path, clock: FrozenClock) -> None:
    session = RecordingSession(clock)
    session.fail_next("getMe", 401, "Unauthorized")
    with pytest.raises(UsageError, match="BOT_TOKEN"):
        await start(settings_for(fresh_database), session)


async def test_a_webhook_address_telegram_refuses_stops_the_start(fresh_database: Path, clock: FrozenClock) -> None:
    session = RecordingSession(clock)
    session.fail_next(
        "setWebhook", 400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    )
    settings = settings_for(fresh_database, webhook_base_url="https://bot.example.org:9000")
    with pytest.raises(UsageError, match=r"WEBHOOK_BASE_URL .*ports 80, 88, 443 or 8443"):
        await start(settings, session)


async def test_a_port_in_use_is_named(fresh_database: Path, clock: FrozenClock) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"WEB_HOST:WEB_PORT 127.0.0.1:{port}"):
            await start(settings_for(fresh_database, web_port=port), RecordingSession(clock))


# -- the command line --------------------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment for `bookbot run` (no .env in the working directory)."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name in Settings.model_fields or name.lower() in Settings.model_fields:
            monkeypatch.delenv(name)
    monkeypatch.setenv("BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}")
    yield monkeypatch


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEB_PORT", "eighty"),
        ("WEB_PORT", "70000"),
        ("WEB_HOST", "http://0.0.0.0"),
        ("WEBHOOK_BASE_URL", "bot.example.org"),
        ("WEBHOOK_BASE_URL", "http://bot.example.org"),
        ("WEBHOOK_SECRET", "not allowed!"),
        ("WEBHOOK_SECRET", "x" * 257),
        ("DATABASE_URL", "bookbot.db"),
        ("DATABASE_URL", "mysql://user@db.example.org/bookbot"),
        ("REDIS_URL", "localhost:6379"),
        ("REDIS_URL", "redis://localhost:63790000/0"),
        ("BOT_TOKEN", "7654321"),
        ("BOT_TOKEN", "bot123456:ABC"),
        ("BOT_TOKEN", "123456:ABC DEF"),
        ("DEFAULT_LOCALE", "xx"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    environment.setenv(variable, value)
    assert main(["run"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"bookbot: {variable}")
    assert error.count("\n") == 1, error
    if variable in {"WEBHOOK_SECRET", "BOT_TOKEN", "DATABASE_URL", "REDIS_URL"}:
        assert value not in error  # a secret (or an address that may carry a password) is never echoed


def test_an_unreachable_redis_stops_run_with_one_line(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 on this machine: nothing listens there, so the connection is refused at once.
    environment.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["run"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("bookbot: cannot reach Redis at REDIS_URL")
    assert error.count("\n") == 1, error


def test_an_unreachable_postgresql_stops_run_with_one_line(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("DATABASE_URL", "postgresql://postgres:secret-pw@127.0.0.1:1/bookbot")
    assert main(["run"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("bookbot: cannot open the database") and "(DATABASE_URL)" in error
    assert "secret-pw" not in error
    assert error.count("\n") == 1, error


def test_an_empty_setting_means_unset(environment: pytest.MonkeyPatch) -> None:
    # The env example lists every variable, most of them empty.
    environment.setenv("WEBHOOK_BASE_URL", "")
    environment.setenv("WEBHOOK_SECRET", "")
    settings = Settings()
    assert settings.webhook_url is None
    assert settings.webhook_secret_token() == derive_webhook_secret(BOT_TOKEN)


@pytest.fixture
def empty_pg_database(pg_template: str) -> Iterator[str]:
    """A PostgreSQL database nobody has migrated (`pg_template` only checks the server is there)."""
    name = f"bookbot_empty_{os.getpid()}"
    run_in_own_loop(_pg_admin(f"DROP DATABASE IF EXISTS {name}"))
    run_in_own_loop(_pg_admin(f"CREATE DATABASE {name}"))
    yield _pg_url(name)
    run_in_own_loop(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.mark.postgres
def test_an_unmigrated_postgresql_stops_run_with_exit_2(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], empty_pg_database: str
) -> None:
    environment.setenv("DATABASE_URL", empty_pg_database)
    assert main(["run"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert error.startswith("bookbot: ")
    assert "bookbot db upgrade" in error

    # Not migrated behind the operator's back either: that is `bookbot db upgrade`'s job.
    async def tables() -> None:
        engine = make_engine(empty_pg_database)
        try:
            async with engine.connect() as connection:
                found = await connection.scalar(
                    text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
                )
                assert found == 0
        finally:
            await engine.dispose()

    run_in_own_loop(tables())


@pytest.mark.postgres
def test_an_out_of_date_postgresql_stops_run_with_exit_2(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], empty_pg_database: str
) -> None:
    run_in_own_loop(upgrade(empty_pg_database, "0001"))
    environment.setenv("DATABASE_URL", empty_pg_database)
    assert main(["run"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert "0001" in error
    assert "bookbot db upgrade" in error


# -- the whole command ----------------------------------------------------------------------------------


class FakeTelegram:
    """A Bot API server on 127.0.0.1 (for TELEGRAM_API_BASE), in a thread of its own, that answers what
    `bookbot run` asks at start and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.base = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append((method, dict(await request.post())))
        result: Any = True
        if method == "getMe":
            result = {"id": int(BOT_TOKEN.split(":")[0]), "is_bot": True, "first_name": "Bookbot", "username": "b"}
        return web.json_response({"ok": True, "result": result})

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        api = web.Application()
        api.router.add_post("/bot{token}/{method}", self._handle)
        async with TestServer(api, host="127.0.0.1") as server:
            self.base = str(server.make_url("")).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        assert self._ready.wait(60), "the fake Bot API server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is a POSIX signal")
def test_bookbot_run_serves_a_webhook_and_stops_cleanly_on_sigterm(
    environment: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bookbot.run")
    port = _free_port()
    finished = threading.Event()
    seen: dict[str, Any] = {}

    def operator(telegram: FakeTelegram) -> None:
        # Waits (bounded) for the bot to be up, looks at it, then stops it the way systemd or Docker would.
        for _ in range(1200):
            if finished.is_set():
                return
            if "setWebhook" in telegram.methods() and _health(port) == 200:
                seen["health"] = 200
                if not finished.is_set():
                    os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.05)

    with FakeTelegram() as telegram:
        environment.setenv("TELEGRAM_API_BASE", telegram.base)
        # Plain http is accepted with a local Bot API server.
        environment.setenv("WEBHOOK_BASE_URL", "http://127.0.0.1:9/bookbot")
        environment.setenv("WEB_PORT", str(port))
        watcher = threading.Thread(target=operator, args=(telegram,))
        watcher.start()
        try:
            code = main(["run"])
        finally:
            finished.set()
            watcher.join()

    assert seen.get("health") == 200
    assert code == 0
    messages = [record.getMessage() for record in caplog.records if record.name == "bookbot.run"]
    assert "SIGTERM received" in messages
    assert messages[-1] == "stopped"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    [(_, webhook)] = [call for call in telegram.calls if call[0] == "setWebhook"]
    assert webhook["url"] == "http://127.0.0.1:9/bookbot/webhooks/telegram"
    assert webhook["secret_token"] == derive_webhook_secret(BOT_TOKEN)
    assert "deleteWebhook" not in telegram.methods()
    assert _health(port) is None, "the web server is closed"


async def test_start_up_objects_are_frozen_out_of_the_collectors_way_once_the_background_loads_are_in() -> None:
    import gc

    from bot import serving

    warming = asyncio.create_task(asyncio.sleep(0))
    try:
        await serving._settle_after(warming)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
