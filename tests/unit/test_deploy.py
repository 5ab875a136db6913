"""The deploy files agree with the code: every setting documented, the compose order (migrate once,
then the replicas), and a container health check that runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bot.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _env_example() -> dict[str, str]:
    lines = (DEPLOY / "bookbot.env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_the_env_example_lists_every_setting_and_only_settings() -> None:
    assert set(_env_example()) == {name.upper() for name in Settings.model_fields}


def test_the_env_example_values_are_valid_settings() -> None:
    values = {name.lower(): value for name, value in _env_example().items()}
    settings = Settings(_env_file=None, **values)
    assert settings.webhook_url is None  # empty means unset: polling
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return compose["services"]


def test_compose_migrates_once_before_the_replicas_start() -> None:
    services = _compose()
    assert services["migrate"]["command"] == ["bookbot", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    bot = services["bot"]
    assert bot["command"] == ["bookbot", "run"]
    assert bot["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_compose_replicas_take_webhooks_on_a_reachable_port() -> None:
    bot = _compose()["bot"]
    environment = bot["environment"]
    # Several replicas cannot all long-poll one bot: they must be in webhook mode.
    assert environment["WEBHOOK_BASE_URL"].startswith("https://")
    assert environment["WEB_HOST"] == "0.0.0.0"
    assert environment["DATABASE_URL"].startswith("postgresql")
    assert environment["REDIS_URL"].startswith("redis://")
    assert str(environment["WEB_PORT"]) in {str(port) for port in bot["expose"]}
    assert "8080" in (DEPLOY / "Caddyfile").read_text()


def test_the_image_health_check_is_a_valid_command() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [command] = [line.strip() for line in dockerfile.splitlines() if line.strip().startswith('CMD ["python"')]
    argv = json.loads(command.removeprefix("CMD "))
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "HEALTHCHECK", "exec")
    assert "/healthz" in argv[2]
