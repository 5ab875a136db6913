"""`bookbot demo` driven through its input like a person at the terminal.

Each scenario is a list of (what to type, what must appear in the output after it). Extending the
demo's coverage (browsing, booking, the professional's notifications) is adding steps.
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.cli import main
from bot.demo.runner import LineReader, run_demo

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Step = tuple[str, Sequence[str]]

ONBOARDING: list[Step] = [
    ("/start", ["Hello, Olena!", "Which language should I use?", "[1] ✓ English", "[2] Українська"]),
    ("2", ["bot → you (edited):", "Мова: Українська", "У якому ви часовому поясі?", "keyboard: [1] 📍 Надіслати"]),
    ("Atlantis", ["Не вдалося знайти часовий пояс для «Atlantis»."]),
    ("1", ["(sharing the demo location", "Ваш часовий пояс: Київ (UTC+02:00)", "Усе готово."]),
    ("/settings", ["Часовий пояс: Київ (UTC+02:00)", "[1] Змінити мову", "[2] Змінити часовий пояс"]),
    ("1", ["Якою мовою спілкуватися?"]),
    ("1", ["Language: English"]),
    ("9", ["(no button 9"]),
    ("/time +2h", ["(clock: Mon, Nov 23, 2026, 11:00"]),
]


def _reader(lines: Sequence[str]) -> LineReader:
    pending = list(lines)

    async def read_line() -> str | None:
        return pending.pop(0) + "\n" if pending else None

    return read_line


async def _play(steps: Sequence[Step]) -> str:
    out = io.StringIO()
    await run_demo(_reader([typed for typed, _ in steps]), out, now=NOW, echo=True)
    return out.getvalue()


def _check(output: str, steps: Sequence[Step]) -> None:
    """Each step's expectations appear after what was typed, in order."""
    position = 0
    for typed, expected in steps:
        prompt = output.find(f"> {typed}\n", position)
        assert prompt >= 0, f"the demo never read {typed!r}:\n{output[position:]}"
        position = prompt
        for snippet in expected:
            found = output.find(snippet, position)
            assert found >= 0, f"after {typed!r}, expected {snippet!r} in:\n{output[prompt:]}"
            position = found


def _catalog_importer_exists() -> bool:
    try:
        return hasattr(importlib.import_module("bot.services.catalog"), "import_file")
    except ModuleNotFoundError:
        return False


async def test_onboarding_in_the_demo() -> None:
    output = await _play(ONBOARDING)
    _check(output, ONBOARDING)
    assert "Traceback" not in output


@pytest.mark.skipif(not _catalog_importer_exists(), reason="bot.services.catalog.import_file not written yet")
async def test_deep_link_and_acting_as_the_professional() -> None:
    steps: list[Step] = [
        ("/start pro_anna-koval", ["Which language should I use?"]),
        ("1", ["Which time zone are you in?"]),
        ("kyiv", ["Your time zone: Kyiv (UTC+02:00)", "Anna Koval"]),
        ("/as pro anna-koval", ["(you are now Anna Koval (professional))"]),
        ("/start", ["Hello, Anna!"]),
        ("/as client", ["(you are now Olena (client))"]),
    ]
    output = await _play(steps)
    _check(output, steps)


def test_bookbot_demo_command_reads_stdin_until_eof(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI entry point itself, in-process (a subprocess would spend most of its time importing).
    monkeypatch.setattr(sys, "stdin", io.StringIO("/start\n1\nnew york\n"))
    assert main(["demo", "--now", NOW.isoformat()]) == 0
    output = capsys.readouterr().out
    assert "Your time zone: New York (UTC-05:00)" in output
    assert output.rstrip().endswith("Olena>")  # end of input: a clean exit at the prompt


def test_bookbot_demo_refuses_a_naive_now(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--now", "2026-11-23T09:00"]) == 2
    assert "--now needs a UTC offset" in capsys.readouterr().err
