"""`bookbot run`: a clear error without a token, a local Bot API server, startup calls that may fail."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.app import announce_commands
from bot.cli import main
from bot.serving import make_bot
from bot.settings import Settings
from tests.bot.harness import BotHarness


def test_run_without_a_token_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.chdir("/")  # no .env to pick a token up from
    assert main(["run"]) == 2
    assert "BOT_TOKEN is not set" in capsys.readouterr().err


def test_telegram_api_base_points_the_bot_at_a_local_server() -> None:
    settings = Settings(bot_token=SecretStr("123:abc"), telegram_api_base="http://127.0.0.1:8081/", _env_file=None)
    bot = make_bot(settings)
    assert bot.session.api.api_url("123:abc", "getMe") == "http://127.0.0.1:8081/bot123:abc/getMe"
    assert make_bot(Settings(bot_token=SecretStr("123:abc"), _env_file=None)).session.api.is_local is False


async def test_commands_are_announced_per_language_and_failures_do_not_stop_startup(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await announce_commands(harness.app)
    calls = harness.calls_to("setMyCommands")
    by_language = {call.params.get("language_code"): call.params["commands"] for call in calls}
    assert by_language[None][0] == {"command": "start", "description": "Start over"}
    assert by_language["uk"][0] == {"command": "start", "description": "Почати спочатку"}

    harness.session.fail_next("setMyCommands", 404, "Not Found: method not found")
    await announce_commands(harness.app)
    assert "failed, going on without it" in caplog.text
    assert len(harness.calls_to("setMyCommands")) == 4
