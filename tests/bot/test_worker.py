"""The worker: outbox rows rendered in the recipient's locale and sent; Telegram's refusals handled."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import worker
from bot.render import Rendered, outbox_renderers, zone_label
from bot.services import outbox
from models import OutboxMessage
from tests.bot.harness import BotHarness
from tests.bot.virtual_time import VirtualTime


@outbox_renderers.register("test_zone_notice")
def render_zone_notice(payload: Mapping[str, Any], locale: str) -> Rendered:
    at = datetime.fromisoformat(payload["at"])
    return Rendered(_("Your time zone: {zone}").format(zone=zone_label(payload["zone"], locale, at)))


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.paused: list[float] = []

    async def acquire(self) -> None:
        self.acquired += 1

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


async def _queue(harness: BotHarness, *items: tuple[str, int, str], kind: str = "test_zone_notice") -> None:
    payload = {"zone": "Europe/Kyiv", "at": harness.clock.now().isoformat()}
    async with harness.db() as session:
        for key, chat_id, locale in items:
            await outbox.enqueue(session, key, chat_id, kind, payload, locale, harness.clock.now())


async def _rows(harness: BotHarness) -> dict[str, OutboxMessage]:
    async with harness.db() as session:
        return {row.key: row for row in await session.scalars(select(OutboxMessage))}


async def test_rows_are_rendered_in_each_recipients_locale(harness: BotHarness) -> None:
    limiter = RecordingLimiter()
    harness.app.rate_limiter = limiter
    await _queue(harness, ("a", 501, "uk"), ("b", 502, "en"))
    await harness.run_worker()
    sent = {call.params["chat_id"]: call.params["text"] for call in harness.calls_to("sendMessage")}
    now = harness.clock.now()
    assert sent == {
        501: f"Ваш часовий пояс: {zone_label('Europe/Kyiv', 'uk', now)}",
        502: f"Your time zone: {zone_label('Europe/Kyiv', 'en', now)}",
    }
    assert limiter.acquired == 2
    assert all(row.sent_at == harness.clock.now() for row in (await _rows(harness)).values())
    await harness.run_worker()
    assert len(harness.calls_to("sendMessage")) == 2


async def test_retry_after_reschedules_and_pauses_everyone(harness: BotHarness) -> None:
    limiter = RecordingLimiter()
    harness.app.rate_limiter = limiter
    await _queue(harness, ("a", 501, "en"), ("b", 502, "en"), ("c", 503, "en"))
    harness.session.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    await worker.send_due(harness.app)
    assert limiter.paused == [7]
    rows = await _rows(harness)
    assert rows["a"].due_at == harness.clock.now() + timedelta(seconds=7)
    assert (rows["a"].attempts, rows["a"].sent_at) == (0, None)
    # The rest of the batch was given back, not left claimed for the lease.
    assert rows["b"].claimed_until is None and rows["c"].claimed_until is None
    await harness.run_worker()
    assert {row.key for row in (await _rows(harness)).values() if row.sent_at} == {"b", "c"}
    harness.clock.advance(timedelta(seconds=7))
    await harness.run_worker()
    assert all(row.sent_at for row in (await _rows(harness)).values())


async def test_blocked_recipient_is_given_up_and_errors_back_off(harness: BotHarness) -> None:
    harness.app.rate_limiter = RecordingLimiter()
    await _queue(harness, ("blocked", 501, "en"), ("flaky", 502, "en"))
    harness.session.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    harness.session.fail_next("sendMessage", 502, "Bad Gateway")
    await harness.run_worker()
    rows = await _rows(harness)
    assert rows["blocked"].failed_at == harness.clock.now()
    assert rows["flaky"].failed_at is None and rows["flaky"].attempts == 1
    assert rows["flaky"].due_at == harness.clock.now() + outbox.backoff(1)
    assert "Bad Gateway" in (rows["flaky"].last_error or "")
    harness.clock.advance(outbox.backoff(1))
    await harness.run_worker()
    assert (await _rows(harness))["flaky"].sent_at is not None


async def test_unknown_kind_waits_for_a_renderer(harness: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    await _queue(harness, ("x", 501, "en"), kind="not_registered_anywhere")
    await harness.run_worker()
    row = (await _rows(harness))["x"]
    assert row.sent_at is None and row.failed_at is None and row.attempts == 1
    assert "cannot render kind 'not_registered_anywhere'" in caplog.text
    assert harness.calls_to("sendMessage") == []


ticks: list[datetime] = []


async def tick(session: AsyncSession, now: datetime) -> None:
    ticks.append(now)


async def broken_tick(session: AsyncSession, now: datetime) -> None:
    raise RuntimeError("a failing task must not stop the others")


async def test_maintenance_tasks_run_with_session_and_now(harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = (broken_tick, tick)
    monkeypatch.setattr(worker, "MAINTENANCE_TASKS", tasks)
    ticks.clear()
    await harness.run_worker()
    assert ticks == [harness.clock.now()]


async def test_token_bucket_spaces_a_burst() -> None:
    time = VirtualTime()
    bucket = worker.TokenBucket(rate=50, capacity=5, clock=time.monotonic, sleep=time.sleep)
    started = time.now
    sent_at = []
    for _sent in range(10):
        await bucket.acquire()
        sent_at.append(time.now - started)
    # 5 at once, then one every 1/50 s.
    assert sent_at == pytest.approx([0, 0, 0, 0, 0, 0.02, 0.04, 0.06, 0.08, 0.1], abs=1e-5)
    await bucket.pause(0.5)
    paused = time.now
    await bucket.acquire()
    assert time.now - paused == pytest.approx(0.5, abs=1e-5)
    # A pause shorter than one already running does not shorten it.
    await bucket.pause(1.0)
    await bucket.pause(0.1)
    paused = time.now
    await bucket.acquire()
    assert time.now - paused == pytest.approx(1.0, abs=1e-5)


async def test_the_scheduler_ticks_the_outbox(harness: BotHarness) -> None:
    harness.app.rate_limiter = RecordingLimiter()
    await _queue(harness, ("a", 501, "en"))
    scheduler = worker.start_scheduler(harness.app)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {"outbox", "maintenance"}
        for _attempt in range(50):
            if harness.calls_to("sendMessage"):
                break
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
    assert [call.params["chat_id"] for call in harness.calls_to("sendMessage")] == [501]
