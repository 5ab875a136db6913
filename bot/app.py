"""The composition root: the one place that wires settings, database, Redis, i18n, middlewares, routers
and the worker's pieces together. `bookbot run`, `bookbot demo` and the tests all start here.

    app = build_app(Settings(), clock=SystemClock(), bot=bot)
    await app.dispatcher.feed_update(app.bot, update)   # or start_polling
    await run_worker_once(app.worker)                   # bot.worker
    await app.close()

Data the dispatcher hands every handler (besides aiogram's own): `clock`, `settings`, `i18n`,
`sessions` (the sessionmaker, for work outside the update's transaction), `gateway` (payments),
then per update `replies`, `session`, `user`, `locale` (bot/middlewares) and, in message and callback
handlers, `ctx` (handlers.common.Flow).

Every app builds its own routers and its own registry of prompts, deep links, commands and outbox
renderers (handlers/registry.py), so several apps can run in one process at once (two replicas in a
test, say).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.aiogram_responses import hold_response_types
from bot.i18n import build_i18n
from bot.middlewares import (
    DatabaseStorage,
    Deduplicator,
    MemoryDeduplicator,
    RedisDeduplicator,
    install,
    refuse_calls_in_transaction,
    update_middlewares,
)
from bot.rate_limit import RateLimiter, make_rate_limiter
from bot.render import RendererRegistry
from bot.services import user_cache
from bot.services.clock import Clock, FrozenClock
from bot.services.payments.demo import DemoGateway
from bot.services.payments.gateway import PaymentGateway
from bot.services.payments.webhooks import WebhookReceiver
from bot.settings import Settings
from bot.worker import WorkerDeps
from handlers import setup_routers
from handlers.registry import Registry
from models.db import make_engine, make_read_only_sessionmaker, make_sessionmaker

if TYPE_CHECKING:
    from aiogram.fsm.storage.redis import RedisStorage
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    dispatcher: Dispatcher
    bot: Bot
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    i18n: I18n
    rate_limiter: RateLimiter
    renderers: RendererRegistry
    gateway: PaymentGateway
    # The routers' prompts, deep links and commands; `renderers` is its outbox part.
    registry: Registry
    redis: Redis | None = None
    # Set when build_app made the engine (and so disposes of it in close()).
    engine: AsyncEngine | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def worker(self) -> WorkerDeps:
        """What the worker's ticks need (bot.worker), and nothing else of the app."""
        return WorkerDeps(
            sessions=self.sessions,
            bot=self.bot,
            clock=self.clock,
            renderers=self.renderers,
            rate_limiter=self.rate_limiter,
            i18n=self.i18n,
            gateway=self.gateway,
        )

    @property
    def stripe_webhook(self) -> WebhookReceiver:
        """What `POST /webhooks/stripe` (and the demo checkout page) hands events to."""
        return WebhookReceiver(self.sessions, self.gateway, self.clock)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.gateway.close()
        if self.engine is not None:
            await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def build_app(
    settings: Settings,
    *,
    clock: Clock,
    bot: Bot | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    storage: BaseStorage | None = None,
    key_prefix: str = "bookbot",
    gateway: PaymentGateway | None = None,
) -> App:
    """Wire an app. Omitted parts come from `settings`: the database at DATABASE_URL, Redis (FSM
    storage, per-user event isolation, update dedupe, the shared rate limit) when REDIS_URL is set,
    else the database (conversation state) and memory. `key_prefix` namespaces every Redis key (tests
    use one per test)."""
    hold_response_types()
    i18n = build_i18n(settings.default_locale)
    engine: AsyncEngine | None = None
    if session_factory is None:
        engine = make_engine(settings.database_url)
        session_factory = make_sessionmaker(engine)
    read_only_sessions = _read_only_twin(session_factory)
    if bot is None:
        if settings.bot_token is None:
            raise ValueError("BOT_TOKEN is not set")
        bot = Bot(settings.bot_token.get_secret_value())
    refuse_calls_in_transaction(bot)

    redis = _redis(settings.redis_url) if settings.redis_url else None
    if storage is None:
        # Conversation state survives a restart: in Redis when there is one, else in the database.
        storage = _redis_storage(redis, key_prefix) if redis is not None else DatabaseStorage(session_factory, clock)
    bind = session_factory.kw.get("bind")
    if isinstance(storage, DatabaseStorage) and isinstance(bind, AsyncEngine):
        # The database storage means one process: its cache of users rows is then right (one per engine).
        user_cache.enable(bind)
    isolation = storage.create_isolation() if _is_redis_storage(storage) else None
    deduplicator: Deduplicator = RedisDeduplicator(redis, key_prefix) if redis is not None else MemoryDeduplicator()

    gateway = gateway or make_gateway(settings)
    in_database = isinstance(storage, DatabaseStorage)
    dispatcher = Dispatcher(
        gateway=gateway,
        storage=storage,
        events_isolation=isolation,
        # With the state in the database, aiogram's FSM middleware goes inside the update's transaction
        # (update_middlewares), so it reads the state through the update's session.
        disable_fsm=in_database,
        clock=clock,
        settings=settings,
        i18n=i18n,
        sessions=session_factory,
    )
    registry = Registry()
    install(
        dispatcher,
        update_middlewares(
            deduplicator=deduplicator,
            sessions=session_factory,
            clock=clock,
            i18n=i18n,
            read_only_sessions=read_only_sessions,
            reads_only=registry.reads_only,
            conversation=(storage, dispatcher.fsm) if isinstance(storage, DatabaseStorage) else None,
        ),
    )
    dispatcher.include_router(setup_routers(registry))
    return App(
        settings=settings,
        dispatcher=dispatcher,
        bot=bot,
        sessions=session_factory,
        clock=clock,
        i18n=i18n,
        rate_limiter=make_rate_limiter(redis, key_prefix, bot.id, simulated=isinstance(clock, FrozenClock)),
        renderers=registry.renderers,
        registry=registry,
        gateway=gateway,
        redis=redis,
        engine=engine,
    )


def make_gateway(settings: Settings) -> PaymentGateway:
    """Stripe with STRIPE_SECRET_KEY (Settings makes sure its webhook secret is there), else the demo
    gateway, whose checkout page is this process's web server."""
    if settings.stripe_secret_key is not None and settings.stripe_webhook_secret is not None:
        # Imported only here: the Stripe library (with requests and httpx) is 7 MiB of a bot without it.
        from bot.services.payments.stripe_gateway import StripeGateway

        return StripeGateway(
            settings.stripe_secret_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            api_base=settings.stripe_api_base,
            platform_fee_percent=settings.platform_fee_percent,
        )
    return DemoGateway(settings.public_base_url or f"http://{settings.web_host}:{settings.web_port}")


# Redis (the client, aiogram's RedisStorage) is imported only when REDIS_URL is set: 6 MiB of a process
# that keeps its state in the database.
def _redis(url: str) -> Redis:
    from redis.asyncio import Redis

    return Redis.from_url(url)


def _redis_storage(redis: Redis, key_prefix: str) -> RedisStorage:
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage(redis, key_builder=DefaultKeyBuilder(prefix=f"{key_prefix}:fsm", with_bot_id=True))


def _is_redis_storage(storage: BaseStorage) -> TypeGuard[RedisStorage]:
    # Not imported to ask: a storage can only be a RedisStorage once its module has been imported.
    module = sys.modules.get("aiogram.fsm.storage.redis")
    return module is not None and isinstance(storage, module.RedisStorage)


def _read_only_twin(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession] | None:
    """Read-only sessions on the engine of `sessions`, when it is bound to one (a given factory bound to
    something else keeps every update on `sessions`)."""
    bind = sessions.kw.get("bind")
    return make_read_only_sessionmaker(bind) if isinstance(bind, AsyncEngine) else None


async def announce_commands(app: App) -> None:
    """Telegram's command menu (setMyCommands) in every language we have a catalog for; failures are
    logged and skipped."""
    for locale in app.i18n.available_locales:
        with app.i18n.context(), app.i18n.use_locale(locale):
            commands = [BotCommand(command=c.name, description=c.describe()) for c in app.registry.commands()]
        language = None if locale == app.i18n.default_locale else locale
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)
        except Exception as exc:
            # Some local Bot API servers lack it; the menu is a convenience, never a reason to stop.
            log.warning("setMyCommands (%s) failed, going on without it: %r", locale, exc)
