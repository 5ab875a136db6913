"""What `bookbot run` starts: the web server, the worker ticks, and Telegram's updates by webhook or polling.

1. The database: the embedded SQLite is migrated here; PostgreSQL must already be at this Bookbot's
   schema (`bookbot db upgrade` is its own deploy step, run once before the replicas), else UsageError.
2. The web server on WEB_HOST:WEB_PORT (bot/web.py): /healthz always, /webhooks/telegram with a webhook.
3. Telegram: getMe (retried with backoff while Telegram is unreachable), the command menu, then
   setWebhook (WEBHOOK_BASE_URL set) or long polling (unset).
4. Until SIGTERM or SIGINT; then polling stops, the web server finishes the requests it has, the
   scheduler stops and the app closes. The webhook stays set: other replicas go on serving it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError
from aiohttp import web
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.app import App, announce_commands, build_app
from bot.cli_database import UsageError, check_sqlite_folder, is_at_heads, open_database
from bot.services import zone_search
from bot.services.clock import Clock, SystemClock
from bot.services.payments.demo import DemoGateway
from bot.settings import Settings
from bot.web import DemoCheckout, TelegramWebhook, build_web_app
from bot.worker import start_scheduler
from models.db import make_engine
from models.migrate import upgrade

log = logging.getLogger("bookbot.run")

# Backoff between startup calls to an unreachable Telegram: doubling from the first, capped at the last.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0
# How long a stop waits for requests under way (webhook updates) and then for a worker tick under way
# (sending the outbox, expiring holds) to finish; deploy/compose.yaml's stop_grace_period covers both.
REQUESTS_DRAIN_SECONDS = 15.0
JOBS_DRAIN_SECONDS = 15.0
# How long `bookbot run` waits for REDIS_URL to answer its first PING.
REDIS_CHECK_SECONDS = 10.0
# How long the heap settling waits for the crisis model layer before freezing without it.
MODEL_SETTLE_SECONDS = 120.0
SETTLE_POLL_SECONDS = 0.5


def make_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else None
    )
    return Bot(settings.bot_token.get_secret_value(), session=session)


def is_embedded(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "sqlite"


async def prepare_database(database_url: str) -> None:
    """Migrate the embedded SQLite; check that PostgreSQL is migrated (never migrate it from a replica:
    N replicas starting together would race, and a schema change is a deploy step of its own)."""
    if not is_embedded(database_url):
        async with open_database(database_url):
            return
    check_sqlite_folder(database_url)
    try:
        if await at_newest_schema(database_url):
            # Alembic (with Mako) is 10 MiB that a process keeps once imported: only a start that has
            # something to migrate pays for it.
            log.info("database %s is at the newest schema", make_url(database_url).database)
            return
        await upgrade(database_url)
    except (DBAPIError, OSError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        raise UsageError(
            f"cannot open the database {make_url(database_url).database} (DATABASE_URL): {reason}"
        ) from None
    log.info("database %s migrated to the newest schema", make_url(database_url).database)


async def at_newest_schema(database_url: str) -> bool:
    """Whether the database is at this Bookbot's schema, read without Alembic (bot/cli_database.py)."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(is_at_heads)
    finally:
        await engine.dispose()


async def serve(
    settings: Settings,
    *,
    bot: Bot | None = None,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    on_ready: Callable[[App, list[str]], None] | None = None,
) -> None:
    """Run until `stop` is set (or SIGTERM/SIGINT with `handle_signals`). `on_ready` gets the app and the
    web server's addresses once updates flow. Raises UsageError for what the operator must fix."""
    try:
        bot = bot or make_bot(settings)
    except TokenValidationError:
        raise UsageError("BOT_TOKEN is not a bot token (it looks like 123456:ABC-...; ask @BotFather)") from None
    await prepare_database(settings.database_url)
    stop = stop if stop is not None else asyncio.Event()
    app = build_app(settings, clock=clock or SystemClock(), bot=bot)
    runner: web.AppRunner | None = None
    scheduler = None
    jobs: JobsInFlight | None = None
    polling: asyncio.Task[None] | None = None
    # The place index takes seconds to build: not on the first client's time-zone question.
    warming = asyncio.create_task(asyncio.to_thread(zone_search.warm_up))
    settling = asyncio.create_task(_settle_after(warming))
    with _stopping_on_signals(stop, enabled=handle_signals):
        try:
            await _check_redis(app)
            runner, addresses = await _start_web_server(app, settings)
            if not await _retrying(app.bot.me, "getMe", stop):
                return
            scheduler = start_scheduler(app.worker)
            jobs = JobsInFlight.watch(scheduler)
            await announce_commands(app)
            if settings.webhook_url is not None:
                if not await _retrying(lambda: _set_webhook(app, settings), "setWebhook", stop):
                    return
                log.info("webhook mode: Telegram posts updates to %s", settings.webhook_url)
            else:
                # A webhook left from elsewhere would make getUpdates fail.
                await _optional(app.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
                polling = asyncio.create_task(
                    app.dispatcher.start_polling(app.bot, handle_signals=False, close_bot_session=False)
                )
                log.info("polling mode: asking Telegram for updates (set WEBHOOK_BASE_URL for webhooks)")
            if on_ready is not None:
                on_ready(app, addresses)
            await _until_stopped(stop, polling)
        finally:
            log.info("stopping")
            warming.cancel()
            settling.cancel()
            if polling is not None:
                await _stop_polling(app, polling)
            if runner is not None:
                # Requests in flight (webhook updates) finish and commit before the database goes.
                await runner.cleanup()
            if scheduler is not None:
                await _stop_scheduler(scheduler, jobs)
            await app.close()
            log.info("stopped")


def settle_heap() -> None:
    """Freeze what start-up made (aiogram's types, the ORM's mappers, the routers, the place index, the crisis
    check's data): it lives as long as the process, and the garbage collector's full passes then walk only
    what came after. Without this, each full pass walked some 340,000 start-up objects and stopped the
    event loop for about 250 ms, under every update in flight (`bench updates`, 20 people at once); with
    it, about 30 ms."""
    gc.collect()
    gc.freeze()
    release_free_heap()


def release_free_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc's `malloc_trim`; elsewhere nothing). Start-up
    reads large files whole and frees them (the crisis encoder's files, the place index): glibc then raises
    its threshold for giving large blocks their own mapping, so what start-up allocates afterwards lands in
    the heap, and what it frees stays there, resident and unused (about 10 MiB at idle, `bench memory`)."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc
        return
    trim(0)


async def _settle_after(warming: asyncio.Task[None]) -> None:
    """`settle_heap` once the place index and the crisis model layer (both loaded in the background) are in
    (polled, so that a stop never waits on it)."""
    from bot.services.crisis.model import started_loading

    await asyncio.wait({warming})
    loading = started_loading()
    waited = 0.0
    while loading is not None and not loading.done.is_set() and waited < MODEL_SETTLE_SECONDS:
        await asyncio.sleep(SETTLE_POLL_SECONDS)
        waited += SETTLE_POLL_SECONDS
    settle_heap()


async def _check_redis(app: App) -> None:
    """REDIS_URL must answer before updates are taken: every update's conversation state lives there."""
    if app.redis is None:
        return
    from redis.exceptions import RedisError

    try:
        await asyncio.wait_for(app.redis.ping(), REDIS_CHECK_SECONDS)
    except (RedisError, OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach Redis at REDIS_URL: {_brief(exc)}") from None


async def _start_web_server(app: App, settings: Settings) -> tuple[web.AppRunner, list[str]]:
    telegram = (
        TelegramWebhook(app.dispatcher, app.bot, settings.webhook_secret_token())
        if settings.webhook_url is not None
        else None
    )
    demo = DemoCheckout(app.gateway, app.stripe_webhook, app.i18n) if isinstance(app.gateway, DemoGateway) else None
    runner = web.AppRunner(
        build_web_app(app.sessions, telegram=telegram, stripe=app.stripe_webhook, demo_checkout=demo),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=REQUESTS_DRAIN_SECONDS,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.web_port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(
            f"cannot listen on WEB_HOST:WEB_PORT {settings.web_host}:{settings.web_port}: {exc.strerror or exc}"
        ) from None
    addresses = [_http_address(address) for address in runner.addresses]
    if demo is not None and settings.public_base_url is None and addresses:
        # WEB_PORT 0 picked a port only now: the demo checkout links must carry it.
        demo.gateway.public_base_url = addresses[0]
    log.info("web server listening on %s (health check: /healthz)", ", ".join(addresses))
    return runner, addresses


def _http_address(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"http://[{host}]:{address[1]}" if ":" in host else f"http://{host}:{address[1]}"
    return str(address)


async def _set_webhook(app: App, settings: Settings) -> None:
    assert settings.webhook_url is not None
    try:
        await app.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret_token(),
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            drop_pending_updates=False,
        )
    except TelegramBadRequest as exc:
        # "bad webhook: ..." (a port Telegram does not post to, an address it cannot resolve): no retry helps.
        raise UsageError(f"Telegram refused WEBHOOK_BASE_URL {settings.webhook_base_url}: {exc.message}") from None


async def _retrying(call: Callable[[], Awaitable[object]], what: str, stop: asyncio.Event) -> bool:
    """Call until it succeeds (True) or `stop` is set meanwhile (False). A network failure or a Telegram
    error is logged and retried with backoff; a refused token stops the start."""
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            await call()
            return True
        except TelegramUnauthorizedError:
            raise UsageError("Telegram refused BOT_TOKEN (Unauthorized): check the token @BotFather gave") from None
        except UsageError:
            raise
        except Exception as exc:
            log.warning("%s failed (%s), trying again in %.0f s", what, _brief(exc), delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return False
        delay = min(delay * 2, RETRY_MAX_SECONDS)


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _until_stopped(stop: asyncio.Event, polling: asyncio.Task[None] | None) -> None:
    waiting = asyncio.create_task(stop.wait())
    watched: set[asyncio.Task[None] | asyncio.Task[bool]] = {waiting}
    if polling is not None:
        watched.add(polling)
    try:
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if polling is not None and polling.done() and not polling.cancelled() and polling.exception() is not None:
        log.error("polling stopped on an error", exc_info=polling.exception())


async def _stop_polling(app: App, polling: asyncio.Task[None]) -> None:
    if not polling.done():
        try:
            await app.dispatcher.stop_polling()
        except RuntimeError:
            # Not started yet: nothing to stop gracefully.
            polling.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await polling


class JobsInFlight:
    """Counts the scheduler's jobs running now, so a stop lets them finish instead of cancelling them
    half-way through a transaction (APScheduler's asyncio executor cancels what is running on shutdown)."""

    def __init__(self) -> None:
        self.running = 0
        self.idle = asyncio.Event()
        self.idle.set()

    @classmethod
    def watch(cls, scheduler: AsyncIOScheduler) -> JobsInFlight:
        jobs = cls()
        scheduler.add_listener(jobs.on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        return jobs

    def on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            self.running += 1
            self.idle.clear()
            return
        self.running = max(self.running - 1, 0)
        if self.running == 0:
            self.idle.set()


async def _stop_scheduler(scheduler: AsyncIOScheduler, jobs: JobsInFlight | None) -> None:
    scheduler.pause()
    if jobs is not None:
        try:
            await asyncio.wait_for(jobs.idle.wait(), JOBS_DRAIN_SECONDS)
        except TimeoutError:
            log.warning("%d worker job(s) still running after %.0f s: cancelled", jobs.running, JOBS_DRAIN_SECONDS)
    scheduler.shutdown(wait=False)


@contextlib.contextmanager
def _stopping_on_signals(stop: asyncio.Event, *, enabled: bool) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if enabled:
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Windows has no loop signal handlers: Ctrl-C ends asyncio.run there, and `finally` cleans up.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, _on_signal, stop, signum)
                installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _on_signal(stop: asyncio.Event, signum: signal.Signals) -> None:
    log.info("%s received", signum.name)
    stop.set()


async def _optional(call: Awaitable[object], what: str) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("%s failed, going on without it: %r", what, exc)
