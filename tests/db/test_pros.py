"""`bookbot pros`: the professionals an operator can invite or check the slots of, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo.catalog import link_professional
from models.db import make_engine, make_sessionmaker
from tests.conftest import EXAMPLE_CATALOG


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    # Shadows tests/conftest.py's async `db_url`, as tests/db/test_slots.py does.
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


async def _link(database_url: str, slug: str, telegram_id: int) -> None:
    engine = make_engine(database_url)
    try:
        await link_professional(make_sessionmaker(engine), slug, telegram_id)
    finally:
        await engine.dispose()


async def test_pros_lists_every_professional_with_what_invite_and_slots_need(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert await asyncio.to_thread(main, ["import", str(EXAMPLE_CATALOG)]) == 0
    await _link(db_url, "david-moreno", 4242)
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["pros", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["slug"] for row in rows] == ["anna-koval", "david-moreno", "lea-schmidt"]
    by_slug = {row["slug"]: row for row in rows}
    assert by_slug["anna-koval"] == {
        "slug": "anna-koval",
        "name": "Anna Koval",
        "verified": True,
        "linked": False,
        "zone": "Europe/Kyiv",
    }
    assert by_slug["david-moreno"]["linked"] is True
    assert by_slug["lea-schmidt"]["verified"] is False

    assert await asyncio.to_thread(main, ["pros"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    header, *lines = out.splitlines()
    assert header.split() == ["slug", "name", "verified", "linked", "zone"]
    assert [line.split()[0] for line in lines] == ["anna-koval", "david-moreno", "lea-schmidt"]
    assert lines[1].split()[-3:] == ["yes", "yes", "America/New_York"]


async def test_pros_on_an_empty_database_says_how_to_add_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert await asyncio.to_thread(main, ["pros"]) == 0
    assert "bookbot import FILE" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["pros", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_pros_without_a_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    assert main(["pros"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bookbot: no database file") and err.count("\n") == 1
