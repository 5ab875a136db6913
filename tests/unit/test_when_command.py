"""`bookbot when`: one JSON object per input line, in order; bad arguments are one line and exit code 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from bot.cli import main

NOW = "2026-12-01T10:00:00-05:00"  # a Tuesday in New York
SESSION = "2026-12-02T15:00:00-05:00"


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str, *args: str
) -> tuple[int, list[str], str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["when", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_one_object_per_line_in_order(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = _run(
        monkeypatch,
        capsys,
        "tomorrow at 3pm\nthanks, see you!\n\nThursday evening\nan hour later\n",
        "--tz",
        "America/New_York",
        "--now",
        NOW,
        "--session",
        SESSION,
    )
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in lines] == [
        {"understood": True, "from": "2026-12-02T15:00:00-05:00", "to": "2026-12-02T15:00:00-05:00"},
        {"understood": False},
        {"understood": False},
        {"understood": True, "from": "2026-12-03T17:00:00-05:00", "to": "2026-12-03T21:00:00-05:00"},
        {"understood": True, "from": "2026-12-02T16:00:00-05:00", "to": "2026-12-02T16:00:00-05:00"},
    ]


def test_times_carry_the_offset_of_the_zone_at_each_instant(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first Sunday of November 2026 starts in summer time and ends in winter time.
    _, lines, _ = _run(
        monkeypatch, capsys, "Sunday\n", "--tz", "America/New_York", "--now", "2026-10-30T10:00:00-04:00"
    )
    assert json.loads(lines[0]) == {
        "understood": True,
        "from": "2026-11-01T00:00:00-04:00",
        "to": "2026-11-01T23:59:00-05:00",
    }


def test_phrases_about_the_session_need_session(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines, _ = _run(monkeypatch, capsys, "an hour later\n", "--tz", "America/New_York", "--now", NOW)
    assert json.loads(lines[0]) == {"understood": False}


def test_language_defaults_to_english_and_accepts_a_region(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "demain matin\n"
    _, english, _ = _run(monkeypatch, capsys, text, "--tz", "Europe/Paris", "--now", "2026-12-01T10:00:00+01:00")
    _, french, _ = _run(
        monkeypatch, capsys, text, "--tz", "Europe/Paris", "--now", "2026-12-01T10:00:00+01:00", "--lang", "fr-FR"
    )
    assert json.loads(english[0]) == {"understood": False}
    assert json.loads(french[0]) == {
        "understood": True,
        "from": "2026-12-02T08:00:00+01:00",
        "to": "2026-12-02T12:00:00+01:00",
    }


def test_now_without_an_offset_is_local_time_in_the_zone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines, _ = _run(monkeypatch, capsys, "in 2 hours\n", "--tz", "Europe/Kiev", "--now", "2026-12-01T10:00")
    assert json.loads(lines[0])["from"] == "2026-12-01T12:00:00+02:00"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--tz", "Mars/Olympus", "--now", NOW], "--tz"),
        (["--tz", "UTC", "--now", "next tuesday"], "--now"),
        (["--tz", "UTC", "--now", NOW, "--lang", "pt"], "--lang"),
        (["--tz", "UTC", "--now", NOW, "--session", "2026-13-01T10:00"], "--session"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    code, lines, err = _run(monkeypatch, capsys, "tomorrow\n", *args)
    assert code == 2
    assert lines == []
    assert err.count("\n") == 1
    assert err.startswith(f"bookbot: {named} ")


def test_the_cli_loads_the_parser_only_when_the_command_runs() -> None:
    probe = (
        "import sys, bot.cli; bot.cli.build_parser(); "
        "print(sorted(m for m in ('dateparser', 'bot.services.time_request') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_bytes_that_are_not_utf8_are_read_not_fatal() -> None:
    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "when",
        "--tz",
        "Europe/Kyiv",
        "--now",
        "2026-12-01T10:00",
        "--lang",
        "uk",
    ]
    done = subprocess.run(
        command,
        input=b"\xff\xfe oops\n\xd0\xb7\xd0\xb0\xd0\xb2\xd1\x82\xd1\x80\xd0\xb0\n",
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.decode().splitlines()] == [
        {"understood": False},
        {"understood": True, "from": "2026-12-02T00:00:00+02:00", "to": "2026-12-02T23:59:00+02:00"},
    ]


def test_any_language_reads_as_the_chat_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chat reads a reply in whichever language makes most of it; --any-language audits that."""
    text = "mañana por la tarde\nзавтра в 15:00\n05.01\n"
    args = ("--tz", "Europe/Kyiv", "--now", "2026-11-25T10:00:00+02:00")
    _, english_only, _ = _run(monkeypatch, capsys, text, *args)
    code, any_language, err = _run(monkeypatch, capsys, text, *args, "--any-language")
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in english_only] == [
        {"understood": False},
        {"understood": True, "from": "2026-11-25T15:00:00+02:00", "to": "2026-11-25T15:00:00+02:00"},
        {"understood": True, "from": "2027-05-01T00:00:00+03:00", "to": "2027-05-01T23:59:00+03:00"},
    ]
    assert [json.loads(line) for line in any_language] == [
        {"understood": True, "from": "2026-11-26T12:00:00+02:00", "to": "2026-11-26T17:00:00+02:00"},
        {"understood": True, "from": "2026-11-26T15:00:00+02:00", "to": "2026-11-26T15:00:00+02:00"},
        # A tie (only digits): --lang decides, month first in English.
        {"understood": True, "from": "2027-05-01T00:00:00+03:00", "to": "2027-05-01T23:59:00+03:00"},
    ]
    _, ukrainian_first, _ = _run(monkeypatch, capsys, "05.01\n", *args, "--lang", "uk", "--any-language")
    assert json.loads(ukrainian_first[0])["from"] == "2027-01-05T00:00:00+02:00"
