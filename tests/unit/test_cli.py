"""The operator CLI as an operator meets it: help for every command, --version, and every mistake
answered with one line `bookbot: ...` and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No .env and no Bookbot variable from the machine: each test sets what it means."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "BOT_TOKEN", "BOT_USERNAME", "WEBHOOK_BASE_URL", "WEB_PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


def _one_error_line(err: str) -> str:
    assert err.startswith("bookbot: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"bookbot {version('bookbot')}\n"


def test_help_lists_every_command_with_a_line_of_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands()
    assert {"run", "demo", "db", "import", "pros", "invite", "slots", "crisis-scan", "when", "zone-search"} <= set(
        commands
    )
    assert main(["--help"]) == 0
    listing = " ".join(capsys.readouterr().out.split())
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in subparsers._choices_actions}
    assert set(helps) == set(commands)
    for name, text in helps.items():
        assert text, f"{name} has no help line"
        assert f"{name} {' '.join(text.split())}" in listing


def test_every_command_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    for name in [*_commands(), "db upgrade"]:
        assert main([*name.split(), "--help"]) == 0, name
        text = capsys.readouterr().out
        assert text.startswith(f"usage: bookbot {name}"), text
        # A description beyond the usage and the option list.
        body = text.split("\n\n")[1]
        assert not body.startswith(("options:", "positional arguments:")), f"{name} has no description"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        ([], "COMMAND"),
        (["nonsense"], "nonsense"),
        (["slots"], "--pro"),
        (["slots", "--pro"], "--pro"),
        (["db"], "ACTION"),
        (["db", "downgrade"], "downgrade"),
        (["demo", "--now", "yesterday"], "'yesterday' is not an ISO-8601"),
        (["demo", "--now", "2026-11-23T09:00"], "needs a UTC offset"),
        (["invite"], "--pro"),
        (["when", "--tz", "Europe/Kyiv"], "--now"),
        (["zone-search", "--frobnicate"], "--frobnicate"),
        (["crisis-scan", "extra"], "extra"),
        (["crisis-scan", "--lang", "english"], "'english' is not a language code"),
        (["zone-search", "--lang", "xx", "kyiv"], "--lang 'xx'"),
        (["when", "--tz", "Mars/Olympus", "--now", "2026-12-01T10:00:00+00:00"], "--tz 'Mars/Olympus'"),
        (["crisis-resources", "--country", "ZZ"], "no entry for 'ZZ'"),
        (["import", "no-such-catalog.yaml"], "no-such-catalog.yaml: no such file"),
        (["invite", "--pro", "anna-koval", "--days", "many"], "--days 'many'"),
    ],
)
def test_a_bad_argument_is_one_line_naming_it(capsys: pytest.CaptureFixture[str], argv: list[str], named: str) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert named in _one_error_line(err)


def test_db_upgrade_refuses_an_unknown_revision(
    no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_settings.setenv("DATABASE_URL", "sqlite:///bookbot.db")
    assert main(["db", "upgrade", "--revision", "nonsense"]) == 2
    assert "--revision nonsense" in _one_error_line(capsys.readouterr().err)


def test_db_upgrade_names_an_unusable_database(
    no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_settings.setenv("DATABASE_URL", "sqlite:///no/such/folder/bookbot.db")
    assert main(["db", "upgrade"]) == 2
    assert "DATABASE_URL: there is no folder no/such/folder" in _one_error_line(capsys.readouterr().err)


def test_db_upgrade_migrates(no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    no_settings.setenv("DATABASE_URL", "sqlite:///bookbot.db")
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "Database is at revision head.\n"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("bookbot.db", "DATABASE_URL: is not a database URL"),
        ("mysql://db.example.org/bookbot", "DATABASE_URL: unsupported database 'mysql'"),
    ],
)
def test_a_bad_database_url_is_named_by_every_command_that_needs_it(
    no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str, named: str
) -> None:
    no_settings.setenv("DATABASE_URL", value)
    for argv in (["pros"], ["db", "upgrade"], ["slots", "--pro", "a", "--service", "b", "--from", "2026-12-01"]):
        assert main(argv) == 2, argv
        assert named in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("value", ["localhost:6379", "http://localhost:6379", "redis://localhost:port/0"])
def test_a_malformed_redis_url_is_named(
    no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    no_settings.setenv("REDIS_URL", value)
    assert main(["pros"]) == 2
    assert _one_error_line(capsys.readouterr().err).startswith("bookbot: REDIS_URL: ")


def test_an_empty_redis_url_or_token_means_unset(no_settings: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings

    no_settings.setenv("REDIS_URL", " ")
    no_settings.setenv("BOT_TOKEN", "")
    settings = Settings()
    assert (settings.redis_url, settings.bot_token) == (None, None)


def test_demo_refuses_a_database_in_a_missing_folder(
    no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such" / "demo.db"
    assert main(["demo", "--db", str(missing)]) == 2
    assert f"there is no folder {missing.parent}" in _one_error_line(capsys.readouterr().err)
    assert main(["demo", "--db", str(tmp_path)]) == 2
    assert "that is a folder" in _one_error_line(capsys.readouterr().err)
    (tmp_path / "a-file").write_text("")
    assert main(["demo", "--files", str(tmp_path / "a-file")]) == 2
    assert "that is a file" in _one_error_line(capsys.readouterr().err)


def test_command_modules_load_no_heavy_module_until_they_run() -> None:
    # bot/cli.py imports every command module to build its parser: `bookbot --help` and the audit
    # commands must not pay for aiogram, SQLAlchemy, Alembic, pydantic or the services.
    probe = (
        "import sys, json; from bot.cli import build_parser; build_parser(); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'aiogram', 'sqlalchemy', 'alembic', 'pydantic', 'pydantic_settings', 'models', 'asyncio', 'logging'} "
        "or m.startswith('bot.services') or m in {'bot.settings', 'bot.cli_database'})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(result.stdout) == []


def test_dev_py_lists_every_task_and_refuses_an_unknown_one() -> None:
    # dev.py is the standard library only, so these run in an instant.
    shown = subprocess.run([sys.executable, "dev.py", "help"], capture_output=True, text=True, cwd=ROOT)
    assert shown.returncode == 0
    tasks = re.findall(r"python3 dev\.py (\w+)", shown.stdout)
    assert {"setup", "demo", "test", "bench", "lock", "help"} <= set(tasks)
    wrong = subprocess.run([sys.executable, "dev.py", "tset"], capture_output=True, text=True, cwd=ROOT)
    assert wrong.returncode == 2
    assert "unknown task 'tset'" in wrong.stderr
    assert all(task in wrong.stderr for task in tasks)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("document", ["README.md", "docs/DESIGN.md", "docs/PITFALLS.md"])
def test_relative_links_resolve_in_a_plain_clone(document: str) -> None:
    source = ROOT / document
    text = source.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (source.parent / path).resolve() if path else source
        assert target.is_relative_to(ROOT), f"{document}: {link} points outside the repository"
        assert target.exists(), f"{document}: {link} does not exist"
        if anchor and target.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", target.read_text(encoding="utf-8"), flags=re.MULTILINE)
            assert anchor in {_anchor(h) for h in headings}, f"{document}: no heading for #{anchor}"


def test_run_logs_no_scheduler_info_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from bot.commands.run import CHATTY_LOGGERS, configure_logging

    root = logging.getLogger()
    # Restored afterwards: logging's configuration is global to the test process.
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    for name in CHATTY_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.getLogger(name).level)
    configure_logging()
    assert logging.getLogger("bookbot.run").isEnabledFor(logging.INFO)
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
    assert not logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.INFO)
    assert logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.WARNING)


def test_the_demo_logs_only_problems(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import io
    import logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(sys, "stdin", io.StringIO("/time +1d\n"))
    assert main(["demo", "--now", "2026-11-23T09:00:00+00:00", "--files", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""  # no INFO line from the scheduler, the migrations or the worker


def test_the_setting_names_are_the_settings_fields() -> None:
    from bot.cli_database import SETTING_NAMES
    from bot.settings import Settings

    assert set(Settings.model_fields) == SETTING_NAMES


@pytest.mark.parametrize(
    ("environment", "dot_env"),
    [
        ({}, None),
        ({"DATABASE_URL": "sqlite:///elsewhere.db"}, None),
        ({"database_url": "postgres://u:p@db.example.org/bookbot"}, None),
        ({"DATABASE_URL": "sqlite:///a.db", "BOT_TOKEN": "123:abc"}, None),
        ({"DATABASE_URL": "sqlite:///a.db", "Web_Port": "9090"}, None),
        ({"DATABASE_URL": "sqlite:///a.db"}, "DATABASE_URL=sqlite:///from-dot-env.db\n"),
        ({}, "DATABASE_URL=postgresql://x@h/d\nBOT_TOKEN=1:a\n"),
    ],
)
def test_the_database_url_is_settings_own_with_or_without_pydantic(
    no_settings: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str], dot_env: str | None
) -> None:
    from bot.cli_database import configured_database_url
    from bot.settings import Settings

    for name in [name for name in os.environ if name.lower() in Settings.model_fields]:
        no_settings.delenv(name)
    for name, value in environment.items():
        no_settings.setenv(name, value)
    if dot_env is not None:
        (tmp_path / ".env").write_text(dot_env, encoding="utf-8")
    assert configured_database_url() == Settings().database_url


@pytest.mark.parametrize(
    "environment",
    [
        {"DATABASE_URL": "bookbot.db"},
        {"DATABASE_URL": "sqlite:///a.db", "WEB_PORT": "not a port"},
        {"DATABASE_URL": "sqlite:///a.db", "database_url": "sqlite:///b.db"},
    ],
)
def test_without_pydantic_only_when_nothing_else_is_set(
    no_settings: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    from pydantic import ValidationError

    from bot.cli_database import configured_database_url
    from bot.settings import Settings

    for name in [name for name in os.environ if name.lower() in Settings.model_fields]:
        no_settings.delenv(name)
    for name, value in environment.items():
        no_settings.setenv(name, value)
    try:
        expected: str | type[Exception] = Settings().database_url
    except ValidationError:
        expected = ValidationError
    if expected is ValidationError:
        with pytest.raises(ValidationError):
            configured_database_url()
    else:
        assert configured_database_url() == expected


def test_slots_imports_no_pydantic_when_only_the_database_is_configured(tmp_path: Path) -> None:
    code = (
        "import sys; from bot.cli import main; "
        "code = main(['slots', '--pro', 'x', '--service', 'y', '--from', '2026-12-01']); "
        "print(code, 'pydantic' in sys.modules)"
    )
    environment = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={**environment, "PYTHONPATH": str(ROOT)}, capture_output=True
    )
    # The missing file is refused with one line (pydantic is imported only to explain other mistakes).
    assert result.stdout.decode().split() == ["2", "False"], result.stderr.decode()


def test_slots_on_sqlite_loads_no_postgresql_dialect(sqlite_url: str, tmp_path: Path) -> None:
    # The whole PostgreSQL dialect (asyncpg's, psycopg's, pg8000's modules with it) is a tenth of the
    # command's start; the models name PostgreSQL-only DDL without loading it (models.base.partial_index).
    code = (
        "import sys; from bot.cli import main; "
        "code = main(['slots', '--pro', 'x', '--service', 'y', '--from', '2026-12-01']); "
        "print(code, sorted(m for m in sys.modules if m.startswith(('sqlalchemy.dialects.postgresql', 'asyncpg'))))"
    )
    environment = {"PATH": "/usr/bin:/bin", "DATABASE_URL": sqlite_url, "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={**environment, "PYTHONPATH": str(ROOT)}, capture_output=True
    )
    # The query ran (no such professional) with the models mapped, on SQLite alone.
    assert result.stdout.decode().split() == ["2", "[]"], result.stderr.decode()
    assert "no professional with slug 'x'" in result.stderr.decode()
