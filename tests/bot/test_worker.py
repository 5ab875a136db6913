"""The worker: outbox rows rendered in the recipient's language and zone as they are when sent, sent and
marked with Telegram's message id; voided rows never sent; Telegram's refusals handled."""

from __future__ import annotations

import ast
import asyncio
import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import worker
from bot.rate_limit import MAX_WAIT_SECONDS, LocalLimiter, SimulatedTime
from bot.render import Reader, Rendered, zone_label
from bot.services import outbox
from bot.serving import JobsInFlight
from models import OutboxMessage, User
from tests.bot.harness import BotHarness


def render_zone_notice(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    at = datetime.fromisoformat(payload["at"])
    return Rendered(_("Your time zone: {zone}").format(zone=zone_label(reader.zone, reader.locale, at)))


@pytest.fixture
def harness(harness: BotHarness) -> BotHarness:
    """The usual harness, whose app also renders the test's own outbox kind."""
    harness.app.renderers.register("test_zone_notice")(render_zone_notice)
    harness.app.renderers.register("test_other_kind")(render_other)
    return harness


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.paused: list[float] = []

    async def acquire(self, chat_id: int, max_wait: float = MAX_WAIT_SECONDS) -> float:
        self.acquired += 1
        return 0.0

    async def pause(self, seconds: float, chat_id: int | None = None) -> None:
        self.paused.append(seconds)


class TimedLimiter:
    """The real limiter on simulated time, keeping a log: ("send", chat, when) for every moment it gave,
    ("pause", chat, until) for every retry_after."""

    def __init__(self) -> None:
        self.time = SimulatedTime()
        self.limiter = LocalLimiter(clock=self.time.monotonic, sleep=self.time.sleep)
        self.log: list[tuple[str, int | None, float]] = []

    async def acquire(self, chat_id: int, max_wait: float = MAX_WAIT_SECONDS) -> float:
        wait = await self.limiter.acquire(chat_id, max_wait)
        if wait == 0:
            self.log.append(("send", chat_id, self.time.monotonic()))
        return wait

    async def pause(self, seconds: float, chat_id: int | None = None) -> None:
        await self.limiter.pause(seconds, chat_id)
        self.log.append(("pause", chat_id, self.time.monotonic() + seconds))

    def sends(self, chat_id: int | None = None) -> list[float]:
        return [at for what, chat, at in self.log if what == "send" and chat_id in (None, chat)]


SUBJECT = outbox.Subject("booking", 1)


async def _queue(harness: BotHarness, *items: tuple[str, int, str], kind: str = "test_zone_notice") -> None:
    """Rows for people (made on first use) with these chats and languages, all in Kyiv."""
    payload = {"at": harness.clock.now().isoformat()}
    async with harness.db() as session:
        for key, chat_id, locale in items:
            person = await session.scalar(select(User).where(User.telegram_id == chat_id))
            if person is None:
                person = User(telegram_id=chat_id, first_name="P", created_at=harness.clock.now())
                session.add(person)
            person.locale, person.timezone = locale, "Europe/Kyiv"
            await session.flush()
            await outbox.enqueue(
                session,
                key,
                recipient_id=person.id,
                kind=kind,
                payload=payload,
                due_at=harness.clock.now(),
                subject=SUBJECT,
            )


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


async def test_a_sent_row_keeps_telegrams_message_id_and_a_reply_finds_it(harness: BotHarness) -> None:
    harness.app.rate_limiter = RecordingLimiter()
    await _queue(harness, ("a", 501, "en"), ("b", 502, "en"))
    await harness.run_worker()
    delivered = {message.chat_id: message.message_id for message in harness.session.events_since(0)}
    rows = await _rows(harness)
    assert {(row.chat_id, row.telegram_message_id) for row in rows.values()} == set(delivered.items())
    async with harness.db() as session:
        found = await outbox.find_sent(session, 502, delivered[502])
    assert found is not None and (found.id, found.subject) == (rows["b"].id, SUBJECT)


async def test_language_and_zone_are_read_when_sending_not_when_queued(harness: BotHarness) -> None:
    harness.app.rate_limiter = RecordingLimiter()
    await _queue(harness, ("a", 501, "en"))
    async with harness.db() as session:
        person = (await session.scalars(select(User).where(User.telegram_id == 501))).one()
        person.locale, person.timezone = "uk", "America/New_York"
    await harness.run_worker()
    [call] = harness.calls_to("sendMessage")
    at = harness.clock.now()
    with harness.app.i18n.context(), harness.app.i18n.use_locale("uk"):
        expected = _("Your time zone: {zone}").format(zone=zone_label("America/New_York", "uk", at))
    assert call.params["text"] == expected


async def test_a_voided_row_is_never_sent(harness: BotHarness) -> None:
    harness.app.rate_limiter = RecordingLimiter()
    await _queue(harness, ("stale", 501, "en"))
    await _queue(harness, ("other", 502, "en"), kind="test_other_kind")
    async with harness.db() as session:
        assert await outbox.cancel_pending(session, SUBJECT, ["test_zone_notice"], now=harness.clock.now(), reason="x")
    await harness.run_worker()
    rows = await _rows(harness)
    assert (rows["stale"].sent_at, rows["stale"].voided_at) == (None, harness.clock.now())
    assert [call.params["chat_id"] for call in harness.calls_to("sendMessage")] == [502]


def render_other(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    return Rendered("other")


async def test_retry_after_is_honoured_for_that_chat_and_for_everyone(harness: BotHarness) -> None:
    limiter = TimedLimiter()
    harness.app.rate_limiter = limiter
    await _queue(harness, ("a", 501, "en"), ("b", 502, "en"), ("c", 503, "en"))
    harness.session.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    await worker.send_due(harness.app.worker)
    [pause] = [entry for entry in limiter.log if entry[0] == "pause"]
    assert pause[1] == 501  # the first send was refused
    # Nobody was given a moment after the 429 until its retry_after had passed.
    after = limiter.log[limiter.log.index(pause) + 1 :]
    assert after and all(at >= pause[2] for _what, _chat, at in after)
    rows = await _rows(harness)
    assert rows["a"].due_at == harness.clock.now() + timedelta(seconds=7)
    assert (rows["a"].attempts, rows["a"].sent_at, rows["a"].claimed_until) == (0, None, None)
    assert rows["b"].sent_at and rows["c"].sent_at
    await harness.run_worker()
    assert (await _rows(harness))["a"].sent_at is None
    harness.clock.advance(timedelta(seconds=7))
    await harness.run_worker()
    assert (await _rows(harness))["a"].sent_at is not None
    assert [call.params["chat_id"] for call in harness.calls_to("sendMessage")].count(501) == 2
    assert limiter.sends(501)[-1] >= pause[2]


async def test_a_retry_after_longer_than_a_claim_should_wait_gives_the_rows_back(harness: BotHarness) -> None:
    limiter = TimedLimiter()
    harness.app.rate_limiter = limiter
    await _queue(harness, ("a", 501, "en"), ("b", 502, "en"))
    await limiter.pause(300)
    await worker.send_due(harness.app.worker)
    assert harness.calls_to("sendMessage") == []
    rows = await _rows(harness)
    # Not held for five minutes (longer than the lease): due again when the pause is over, no attempt counted.
    for row in rows.values():
        assert row.claimed_until is None and row.attempts == 0 and row.sent_at is None
        assert abs(row.due_at - (harness.clock.now() + timedelta(seconds=300))) < timedelta(seconds=1)


async def test_one_chat_gets_a_message_a_second_in_order(harness: BotHarness) -> None:
    limiter = TimedLimiter()
    harness.app.rate_limiter = limiter
    await _queue(harness, *((f"busy{n}", 501, "en") for n in range(4)), ("x", 502, "en"), ("y", 503, "en"))
    await harness.run_worker()
    busy = limiter.sends(501)
    assert len(busy) == 4
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(busy))
    assert len(limiter.sends(502)) == len(limiter.sends(503)) == 1
    rows = await _rows(harness)
    sent_ids = [call for call in harness.calls_to("sendMessage") if call.params["chat_id"] == 501]
    assert len(sent_ids) == 4
    # In the order they were queued: their message ids grow with the row's key.
    message_ids = [rows[f"busy{n}"].telegram_message_id or 0 for n in range(4)]
    assert message_ids == sorted(message_ids)


async def test_blocked_recipient_is_given_up_and_errors_back_off(harness: BotHarness) -> None:
    harness.app.rate_limiter = RecordingLimiter()
    await _queue(harness, ("blocked", 501, "en"), ("flaky", 502, "en"))
    harness.session.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    harness.session.fail_next("sendMessage", 502, "Bad Gateway")
    await harness.run_worker()
    rows = await _rows(harness)
    assert rows["blocked"].failed_at == harness.clock.now()
    async with harness.db() as session:
        blocked = (await session.scalars(select(User).where(User.telegram_id == 501))).one()
        assert blocked.blocked_at == harness.clock.now()
    assert rows["flaky"].failed_at is None and rows["flaky"].attempts == 1
    assert rows["flaky"].due_at == harness.clock.now() + outbox.backoff(1)
    assert "Bad Gateway" in (rows["flaky"].last_error or "")
    harness.clock.advance(outbox.backoff(1))
    await harness.run_worker()
    assert (await _rows(harness))["flaky"].sent_at is not None
    # Someone who blocked the bot is not asked again: a later row to them fails without a call.
    calls = len(harness.calls_to("sendMessage"))
    await _queue(harness, ("later", 501, "en"))
    await harness.run_worker()
    assert (await _rows(harness))["later"].failed_at == harness.clock.now()
    assert len(harness.calls_to("sendMessage")) == calls
    # Nor is the refused row tried again, however long after.
    harness.clock.advance(timedelta(days=1))
    await harness.run_worker()
    assert [call.params["chat_id"] for call in harness.calls_to("sendMessage")].count(501) == 1


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


async def test_the_scheduler_ticks_the_outbox(harness: BotHarness) -> None:
    harness.app.rate_limiter = RecordingLimiter()
    await _queue(harness, ("a", 501, "en"))
    scheduler = worker.start_scheduler(harness.app.worker)
    # Watched from the start: the first ticks are submitted on the loop's next turn.
    jobs = JobsInFlight.watch(scheduler)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {"outbox", "maintenance"}
        for _attempt in range(50):
            if harness.calls_to("sendMessage"):
                break
            await asyncio.sleep(0.05)
    finally:
        # A tick still running when the harness closes the database would hang its teardown.
        scheduler.pause()
        await asyncio.wait_for(jobs.idle.wait(), 30)
        scheduler.shutdown(wait=False)
    assert [call.params["chat_id"] for call in harness.calls_to("sendMessage")] == [501]


def test_the_worker_does_not_need_the_app() -> None:
    # It takes WorkerDeps: no import of the composition root, not even for type checking (no cycle).
    imported: set[str] = set()
    for node in ast.walk(ast.parse(Path(worker.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert "bot.services" in imported  # the walk sees the imports
    assert not {name for name in imported if name == "bot.app" or name.startswith("bot.app.")}
