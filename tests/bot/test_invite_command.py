"""`bookbot invite`: the link it prints, and a clear error with exit code 2 for everything that is wrong.

The command runs its own event loop (asyncio.run), so these tests are synchronous and build their
data in a loop of their own.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from sqlalchemy import select

from bot.cli import main
from bot.commands import invite as invite_command
from bot.demo.fake_session import BOT_TOKEN, BOT_USERNAME, RecordingSession
from bot.services.invites import accept_invite
from models import Invite, Professional
from models.db import make_engine, make_sessionmaker

LINK = re.compile(r"https://t\.me/(\w+)\?start=inv_([A-Za-z0-9_-]+)")


async def _add_professional(url: str, slug: str = "anna-koval", telegram_id: int | None = None) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            session.add(
                Professional(
                    slug=slug, name="Anna Koval", verified=True, timezone="Europe/Kyiv", telegram_id=telegram_id
                )
            )
    finally:
        await engine.dispose()


async def _invites(url: str) -> list[Invite]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list((await session.scalars(select(Invite).order_by(Invite.id))).all())
    finally:
        await engine.dispose()


async def _accept(url: str, token: str, telegram_id: int) -> int | None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            linked = await accept_invite(session, token, telegram_id, now=datetime.now(UTC))
            return linked.professional.telegram_id
    finally:
        await engine.dispose()


@pytest.fixture
def database(bot_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("BOT_TOKEN", "BOT_USERNAME", "TELEGRAM_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", bot_db_url)
    asyncio.run(_add_professional(bot_db_url))
    return bot_db_url


def test_prints_a_single_use_link(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC)
    assert main(["invite", "--pro", "anna-koval", "--bot-username", "@bookbot_demo_bot", "--days", "3"]) == 0
    out, err = capsys.readouterr()
    match = LINK.fullmatch(out.strip())
    assert match is not None, out
    assert match.group(1) == "bookbot_demo_bot"
    token = match.group(2)
    assert len(f"inv_{token}") <= 64
    assert err.startswith("Single use, for Anna Koval (anna-koval), valid until ")
    [stored] = asyncio.run(_invites(database))
    assert stored.token == token and stored.used_at is None
    assert before + timedelta(days=3) <= stored.expires_at <= datetime.now(UTC) + timedelta(days=3)
    # A second invite is another token.
    assert main(["invite", "--pro", "anna-koval", "--bot-username", "bookbot_demo_bot"]) == 0
    tokens = [i.token for i in asyncio.run(_invites(database))]
    assert len(set(tokens)) == 2


def test_username_from_settings_or_from_telegram(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_USERNAME", "from_settings_bot")
    assert main(["invite", "--pro", "anna-koval"]) == 0
    assert capsys.readouterr().out.startswith("https://t.me/from_settings_bot?start=inv_")

    monkeypatch.delenv("BOT_USERNAME")
    monkeypatch.setenv("BOT_TOKEN", BOT_TOKEN)
    recording = RecordingSession()
    monkeypatch.setattr(invite_command, "make_bot", lambda settings: Bot(BOT_TOKEN, session=recording))
    assert main(["invite", "--pro", "anna-koval"]) == 0
    assert capsys.readouterr().out.startswith(f"https://t.me/{BOT_USERNAME}?start=inv_")
    assert [call.method for call in recording.calls] == ["getMe"]

    recording.fail_next("getMe", 401, "Unauthorized")
    assert main(["invite", "--pro", "anna-koval"]) == 2
    assert "cannot ask Telegram for the bot's username (getMe)" in capsys.readouterr().err
    # No invite row for a link that could not be printed.
    assert len(asyncio.run(_invites(database))) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pro", "nobody", "--bot-username", "x_bot_name"], "no professional with slug 'nobody'"),
        (["--pro", "anna-koval"], "the bot's username is unknown: pass --bot-username NAME"),
        (["--pro", "anna-koval", "--bot-username", "no spaces"], "is not a Telegram bot username"),
        (["--pro", "anna-koval", "--bot-username", "b_bot", "--days", "0"], "--days must be between 1 and 365"),
        (["--pro", "anna-koval", "--bot-username", "b_bot", "--days", "week"], "--days 'week' is not a whole number"),
        (["--pro", "anna-koval", "--new", "--bot-username", "b_bot"], "the slug 'anna-koval' is taken"),
        (["--pro", "Anna Koval", "--new", "--bot-username", "b_bot"], "is not a slug"),
    ],
)
def test_bad_arguments_exit_2(database: str, args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("bookbot: ") and message in err
    assert asyncio.run(_invites(database)) == []


def test_new_makes_an_empty_unverified_profile_for_the_newcomer(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invite", "--pro", "mykola-b", "--new", "--bot-username", "b_bot_x"]) == 0
    out, err = capsys.readouterr()
    match = LINK.fullmatch(out.strip())
    assert match is not None, out
    assert err.startswith("Single use, for a new professional (mykola-b), valid until ")
    assert asyncio.run(_accept(database, match.group(2), 4242)) == 4242

    async def new_profile() -> Professional:
        engine = make_engine(database)
        try:
            async with make_sessionmaker(engine)() as session:
                return (await session.scalars(select(Professional).where(Professional.slug == "mykola-b"))).one()
        finally:
            await engine.dispose()

    made = asyncio.run(new_profile())
    assert (made.name, made.verified, made.telegram_id) == ("", False, 4242)


def test_unmigrated_or_missing_database_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    assert main(["invite", "--pro", "anna-koval", "--bot-username", "b_bot_x"]) == 2
    assert f"no database file {missing}: run `bookbot db upgrade`" in capsys.readouterr().err
    assert not missing.exists()

    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{empty}")
    assert main(["invite", "--pro", "anna-koval", "--bot-username", "b_bot_x"]) == 2
    assert "the database has no tables yet: run `bookbot db upgrade` first" in capsys.readouterr().err


def test_relink_drops_the_old_chat(
    bot_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", bot_db_url)
    asyncio.run(_add_professional(bot_db_url, telegram_id=501))
    assert main(["invite", "--pro", "anna-koval", "--bot-username", "b_bot_x"]) == 0
    assert "is linked to a Telegram account already" in capsys.readouterr().err
    assert main(["invite", "--pro", "anna-koval", "--bot-username", "b_bot_x", "--relink"]) == 0
    out, err = capsys.readouterr()
    assert "old chat link was dropped" in err
    token = out.strip().rsplit("inv_", 1)[1]
    assert asyncio.run(_accept(bot_db_url, token, 502)) == 502


def test_the_command_loads_aiogram_only_to_ask_telegram() -> None:
    # aiogram takes seconds to import; `bookbot invite --bot-username ...` need not pay for it.
    probe = "import sys, bot.commands.invite; print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram'))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_command_offers_the_limits_the_service_enforces() -> None:
    # The command module keeps its own copy (the service module loads SQLAlchemy): they must agree.
    from bot.services import invites

    assert (invite_command.DEFAULT_DAYS, invite_command.MAX_DAYS) == (invites.DEFAULT_DAYS, invites.MAX_DAYS)
