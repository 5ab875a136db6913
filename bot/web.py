"""The web server inside `bookbot run` (WEB_HOST:WEB_PORT): health check and webhooks.

    web_app = build_web_app(sessions, telegram=TelegramWebhook(dispatcher, bot, secret_token))

- `GET /healthz`: 200 `{"status": "ok"}` when the database answers, else 503 `{"status": "unavailable"}`
  (for a load balancer or an orchestrator; it says nothing about Telegram, which replicas share).
- `POST /webhooks/telegram` (only with `telegram`): Telegram's updates. The secret token is checked on
  every request (wrong or missing: 401, nothing processed). The answer waits until the update has been
  processed and its transaction committed: 200 then, 500 when handling failed (rolled back), so
  Telegram delivers it again and a crash loses nothing. The dedupe middleware forgets the id of an
  update whose handling raised, so the redelivery is processed rather than skipped.

- `POST /webhooks/stripe` (with `stripe`): Stripe's events, verified on the raw body and applied once
  (bot/services/payments/webhooks.py): 400 for a bad signature or body, else 200.
- `GET /demo/checkout/{session}` and `POST .../pay`, `.../cancel` (with `demo_checkout`): the demo
  gateway's checkout page; its buttons produce the signed event Stripe would send and hand it to the
  same processing as `/webhooks/stripe`.

Adding an endpoint (payments' `/webhooks/stripe`, the demo checkout page): write an aiohttp handler
`async def handler(request: web.Request) -> web.Response`, give it what it needs through an `AppKey`
(as SESSIONS below) or a closure, and add it in `build_web_app` behind its own keyword argument, so
the tests can build a web app with only the parts they exercise.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.render import format_price
from bot.services.errors import DomainError
from bot.services.payments.demo import (
    DEMO_CHECKOUT_PATH,
    DemoCheckoutView,
    DemoGateway,
    demo_checkout_view,
    finish_demo_checkout,
)
from bot.services.payments.webhooks import WebhookReceiver
from bot.settings import TELEGRAM_WEBHOOK_PATH

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
STRIPE_WEBHOOK_PATH = "/webhooks/stripe"
# A database slower than this is as good as down for a load balancer deciding where to send traffic.
HEALTH_TIMEOUT_SECONDS = 5.0

SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])


@dataclass(frozen=True)
class TelegramWebhook:
    """What `POST /webhooks/telegram` needs: the dispatcher and bot that handle updates, and the
    secret token given to setWebhook (Telegram sends it back in X-Telegram-Bot-Api-Secret-Token)."""

    dispatcher: Dispatcher
    bot: Bot
    secret_token: str


@dataclass(frozen=True)
class DemoCheckout:
    """What the demo checkout pages need: the demo gateway (it signs), the webhook's processing, and
    the catalogs to speak the client's language."""

    gateway: DemoGateway
    receiver: WebhookReceiver
    i18n: I18n


def build_web_app(
    sessions: async_sessionmaker[AsyncSession],
    *,
    telegram: TelegramWebhook | None = None,
    stripe: WebhookReceiver | None = None,
    demo_checkout: DemoCheckout | None = None,
) -> web.Application:
    web_app = web.Application()
    web_app[SESSIONS] = sessions
    web_app.router.add_get(HEALTH_PATH, health)
    if telegram is not None:
        add_telegram_webhook(web_app, telegram)
    if stripe is not None:
        add_stripe_webhook(web_app, stripe)
    if demo_checkout is not None:
        add_demo_checkout(web_app, demo_checkout)
    return web_app


async def health(request: web.Request) -> web.Response:
    if await database_answers(request.app[SESSIONS]):
        return web.json_response({"status": "ok", "database": "ok"})
    return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)


async def database_answers(sessions: async_sessionmaker[AsyncSession]) -> bool:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        # The reason goes to the log, not to whoever asked: it may name hosts and users.
        log.warning("health check: the database does not answer: %r", exc)
        return False
    return True


# -- Telegram --------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One webhook request's outcome, filled in while the dispatcher handles it (the dispatcher hands
    it to middlewares and handlers as `webhook_delivery`)."""

    failed: bool = False


DELIVERY_KEY = "webhook_delivery"


def add_telegram_webhook(web_app: web.Application, telegram: TelegramWebhook) -> None:
    # aiogram's error observer runs for every exception a handler or middleware raised, before the
    # fallback router's error handler answers the person; it is where a failed delivery is noticed.
    telegram.dispatcher.errors.outer_middleware(_note_failure)
    handler = CommittedUpdateHandler(telegram.dispatcher, bot=telegram.bot, secret_token=telegram.secret_token)
    web_app.router.add_post(TELEGRAM_WEBHOOK_PATH, handler.handle)


async def _note_failure(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    delivery = data.get(DELIVERY_KEY)
    exception = getattr(event, "exception", None)
    # A domain error is the bot's deliberate answer (a stale or forged button, say): delivering the
    # update again would get the same answer, so only other exceptions ask Telegram to retry.
    if isinstance(delivery, Delivery) and exception is not None and not isinstance(exception, DomainError):
        delivery.failed = True
    return await handler(event, data)


class CommittedUpdateHandler(SimpleRequestHandler):
    """aiogram's handler, answering only once the update is handled and committed.

    `handle_in_background=False` alone is not enough: aiogram's `feed_webhook_update` answers 200 and
    moves the update to the background after 55 s, and answers 200 when the error handler has turned a
    crash into an apology. Here the request waits for the whole handling (a redelivery Telegram sends
    meanwhile is dropped by the update-id dedupe), and a failed one is answered with 500.
    """

    def __init__(self, dispatcher: Dispatcher, *, bot: Bot, secret_token: str) -> None:
        if not secret_token:
            # SimpleRequestHandler would accept every request without one.
            raise ValueError("a webhook needs a secret token")
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)

    async def close(self) -> None:
        # The bot's session belongs to the App, which closes it after the server stops.
        return None

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            raw = await request.json(loads=bot.session.json_loads)
            update = Update.model_validate(raw, context={"bot": bot})
        except (ValueError, ValidationError):
            # Not an update: a retry cannot fix it, so no 5xx.
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        delivery = Delivery()
        try:
            result = await self.dispatcher.feed_update(bot, update, **self.data, **{DELIVERY_KEY: delivery})
        except Exception:
            log.exception("update %s failed outside the handlers", update.update_id)
            delivery.failed = True
        if delivery.failed:
            return web.json_response({"ok": False, "error": "update not processed, send it again"}, status=500)
        method = result if isinstance(result, TelegramMethod) else None
        return web.Response(body=self._build_response_writer(bot=bot, result=method))


# -- Stripe ----------------------------------------------------------------------------------------


def add_stripe_webhook(web_app: web.Application, receiver: WebhookReceiver) -> None:
    async def stripe_webhook(request: web.Request) -> web.Response:
        # The raw bytes: the signature covers them exactly, so nothing may parse and re-encode first.
        body = await request.read()
        answer = await receiver.receive(body, request.headers.get("Stripe-Signature"))
        return web.json_response({"received": answer.status == 200, "outcome": answer.outcome}, status=answer.status)

    web_app.router.add_post(STRIPE_WEBHOOK_PATH, stripe_webhook)


def add_demo_checkout(web_app: web.Application, demo: DemoCheckout) -> None:
    sessions = web_app[SESSIONS]

    async def receive(body: bytes, signature: str) -> int:
        return (await demo.receiver.receive(body, signature)).status

    async def page(request: web.Request) -> web.Response:
        view = await demo_checkout_view(sessions, request.match_info["session_id"])
        if view is None:
            raise web.HTTPNotFound()
        return _demo_page(view, demo.i18n, done=None)

    async def finish(request: web.Request, *, paid: bool) -> web.Response:
        view = await demo_checkout_view(sessions, request.match_info["session_id"])
        if view is None:
            raise web.HTTPNotFound()
        if view.status != "open":
            return _demo_page(view, demo.i18n, done=None)
        status = await finish_demo_checkout(view, demo.gateway, receive, paid=paid)
        if status != 200:
            raise web.HTTPInternalServerError()
        return _demo_page(view, demo.i18n, done="paid" if paid else "cancelled")

    async def pay(request: web.Request) -> web.Response:
        return await finish(request, paid=True)

    async def cancel(request: web.Request) -> web.Response:
        return await finish(request, paid=False)

    web_app.router.add_get(DEMO_CHECKOUT_PATH + "/{session_id}", page)
    web_app.router.add_post(DEMO_CHECKOUT_PATH + "/{session_id}/pay", pay)
    web_app.router.add_post(DEMO_CHECKOUT_PATH + "/{session_id}/cancel", cancel)


def _demo_page(view: DemoCheckoutView, i18n: I18n, *, done: str | None) -> web.Response:
    locale = view.locale if view.locale in i18n.available_locales else i18n.default_locale
    with i18n.context(), i18n.use_locale(locale):
        price = format_price(view.amount_minor, view.currency, locale)
        title = _("Demo checkout: nothing is charged")
        what = _("{service} with {name}").format(service=view.service_name, name=view.professional_name)
        if done == "paid" or (done is None and view.status == "paid"):
            note = _("Paid. Go back to Telegram: your confirmation is there.")
            body = f"<p>{html.escape(note)}</p>"
        elif (done == "cancelled" or view.status != "open") and view.purchase_id is not None:
            note = _("This checkout is closed. Go back to Telegram to buy the package again.")
            body = f"<p>{html.escape(note)}</p>"
        elif done == "cancelled" or view.status != "open":
            note = _("This checkout is closed. Go back to Telegram to pick a time again.")
            body = f"<p>{html.escape(note)}</p>"
        else:
            cancel_label = _("Cancel")
            pay_label = _("Pay {price}").format(price=price)
            body = (
                f'<form method="post" action="{DEMO_CHECKOUT_PATH}/{html.escape(view.session_id)}/pay">'
                f'<button type="submit">{html.escape(pay_label)}</button></form>'
                f'<form method="post" action="{DEMO_CHECKOUT_PATH}/{html.escape(view.session_id)}/cancel">'
                f'<button type="submit">{html.escape(cancel_label)}</button></form>'
            )
    page = (
        f'<!doctype html><html lang="{html.escape(locale)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(what)}: {html.escape(price)}</p>{body}</body></html>"
    )
    return web.Response(text=page, content_type="text/html")
