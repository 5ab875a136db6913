"""The web server (bot/web.py): the health check, and Telegram's webhook answered only after the update
is processed and committed, with the secret token checked on every request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.filters import Command
from aiogram.types import Message
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.demo.updates import Person
from bot.middlewares import current_replies
from bot.services.errors import NotAllowed
from bot.settings import WEBHOOK_SECRET_PATTERN, Settings, derive_webhook_secret
from bot.web import HEALTH_PATH, TelegramWebhook, build_web_app
from models import User
from models.db import make_engine, make_sessionmaker
from tests.bot.harness import BotHarness

SECRET = "s3cret_token-for-tests"
WEBHOOK = "/webhooks/telegram"


@dataclass
class Journal:
    """What happened, in order: every database COMMIT and every HTTP response the server began."""

    events: list[str] = field(default_factory=list)
    # The next COMMIT fails with this (as a lost connection or a serialization failure would).
    fail_next_commit: Exception | None = None

    def on_commit(self, connection: Connection) -> None:
        failure, self.fail_next_commit = self.fail_next_commit, None
        if failure is not None:
            # As the server would: the transaction is gone, nothing of it stored.
            connection.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
            raise failure
        self.events.append("commit")

    async def on_response(self, _request: web.Request, response: web.StreamResponse) -> None:
        self.events.append(f"response {response.status}")


@dataclass
class Webhook:
    harness: BotHarness
    client: TestClient[web.Request, web.Application]
    journal: Journal

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with self.client.post(WEBHOOK, json=update, headers=headers) as response:
            await response.read()
            return response.status

    async def user_exists(self, person: Person) -> bool:
        async with self.harness.db() as session:
            return (await session.scalar(select(User.id).where(User.telegram_id == person.id))) is not None


@pytest.fixture
async def webhook(harness: BotHarness) -> AsyncIterator[Webhook]:
    journal = Journal()
    assert harness.app.engine is not None
    event.listen(harness.app.engine.sync_engine, "commit", journal.on_commit)
    app = harness.app
    web_app = build_web_app(app.sessions, telegram=TelegramWebhook(app.dispatcher, app.bot, SECRET))
    web_app.on_response_prepare.append(journal.on_response)
    async with TestClient(TestServer(web_app)) as client:
        yield Webhook(harness, client, journal)


async def test_health_is_ok_while_the_database_answers(harness: BotHarness) -> None:
    async with TestClient(TestServer(build_web_app(harness.app.sessions))) as client:
        response = await client.get(HEALTH_PATH)
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


async def test_health_is_503_when_the_database_does_not_answer(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/no-such-folder/bookbot.db")
    try:
        async with TestClient(TestServer(build_web_app(make_sessionmaker(engine)))) as client:
            response = await client.get(HEALTH_PATH)
            assert response.status == 503
            body = await response.json()
            assert body["status"] == "unavailable"
            assert "no-such-folder" not in str(body)  # the reason is logged, not told to whoever asks
    finally:
        await engine.dispose()


async def test_without_a_webhook_there_is_no_telegram_route(harness: BotHarness) -> None:
    async with TestClient(TestServer(build_web_app(harness.app.sessions))) as client:
        update = harness.updates.text(harness.person(), "/start")
        response = await client.post(WEBHOOK, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert response.status == 404
    assert harness.calls == []


async def test_an_update_is_answered_after_its_transaction_committed(webhook: Webhook) -> None:
    olena = webhook.harness.person()
    assert await webhook.post(webhook.harness.updates.text(olena, "/start")) == 200
    events = list(webhook.journal.events)

    assert await webhook.user_exists(olena)
    assert webhook.harness.calls_to("sendMessage"), "the bot answered /start"
    assert "commit" in events
    # Nothing the update did is left to commit once Telegram has its 200.
    assert events[-1] == "response 200", events


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
async def test_a_request_without_the_secret_token_is_refused_and_not_processed(
    webhook: Webhook, secret: str | None
) -> None:
    olena = webhook.harness.person()
    status = await webhook.post(webhook.harness.updates.text(olena, "/start"), secret=secret)
    assert status in (401, 403)
    assert webhook.journal.events == [f"response {status}"]
    assert webhook.harness.calls == []
    assert not await webhook.user_exists(olena)


async def test_a_failed_commit_asks_telegram_to_retry_and_the_retry_is_processed(webhook: Webhook) -> None:
    olena = webhook.harness.person()
    update = webhook.harness.updates.text(olena, "/start")
    webhook.journal.fail_next_commit = OperationalError("COMMIT", {}, Exception("server closed the connection"))

    status = await webhook.post(update)
    assert 500 <= status < 600
    assert not await webhook.user_exists(olena)

    # Telegram delivers the same update again: it is processed, not dropped as a duplicate.
    assert await webhook.post(update) == 200
    assert await webhook.user_exists(olena)


async def test_a_handler_that_raises_gets_a_retry_which_is_processed(webhook: Webhook) -> None:
    attempts: list[int] = []

    async def flaky(message: Message) -> None:
        attempts.append(message.message_id)
        if len(attempts) == 1:
            raise RuntimeError("something broke on the first delivery")
        # Replies go out after the commit (bot/middlewares/replies.py), never from inside the handler.
        current_replies().add("sendMessage", lambda: message.answer("done"))

    webhook.harness.app.dispatcher.message.register(flaky, Command("flaky"))
    olena = webhook.harness.person()
    update = webhook.harness.updates.text(olena, "/flaky")

    assert not 200 <= await webhook.post(update) < 300
    assert await webhook.post(update) == 200
    assert len(attempts) == 2
    assert webhook.harness.last_text(olena) == "done"
    # Delivered a third time after success, it is a duplicate.
    assert await webhook.post(update) == 200
    assert len(attempts) == 2


async def test_a_domain_error_is_the_bots_answer_and_not_retried(webhook: Webhook) -> None:
    async def refuse(message: Message) -> None:
        raise NotAllowed("not yours")

    webhook.harness.app.dispatcher.message.register(refuse, Command("refuse"))
    olena = webhook.harness.person()
    assert await webhook.post(webhook.harness.updates.text(olena, "/refuse")) == 200
    assert webhook.harness.calls_to("sendMessage"), "the person was told (the stale-button answer)"


async def test_a_body_that_is_not_an_update_is_a_client_error(webhook: Webhook) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for body in (b"not json", b"[1, 2]", b'{"message": "no update id"}'):
        async with webhook.client.post(WEBHOOK, data=body, headers=headers) as response:
            assert response.status == 400
    assert webhook.harness.calls == []


def test_the_derived_secret_is_stable_per_token_and_valid_for_telegram() -> None:
    token = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
    secret = derive_webhook_secret(token)
    assert secret == derive_webhook_secret(token)
    assert WEBHOOK_SECRET_PATTERN.fullmatch(secret)
    assert 1 <= len(secret) <= 256
    assert secret != derive_webhook_secret("123456:another-token")
    assert token.split(":")[1] not in secret

    def settings(**values: Any) -> Settings:
        return Settings(bot_token=SecretStr(token), _env_file=None, **values)

    # Two replicas with the same environment agree; WEBHOOK_SECRET, when set, wins.
    assert settings().webhook_secret_token() == settings().webhook_secret_token() == secret
    assert settings(webhook_secret=SecretStr("mine_1-2")).webhook_secret_token() == "mine_1-2"
