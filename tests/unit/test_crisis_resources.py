"""The crisis-line data: every entry cites where it was checked and when, numbers are well formed, the
required countries are there, and every language of the crisis check has the reply's texts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.services.crisis.detect import default_detector
from bot.services.crisis.resources import (
    NUMBER,
    ResourceDataError,
    country_for_zone,
    default_resources,
    load_resources,
)

REQUIRED = [
    "UA",
    "US",
    "GB",
    "IE",
    "ES",
    "MX",
    "FR",
    "DE",
    "AT",
    "CH",
    "PL",
    "IT",
    "PT",
    "NL",
    "BE",
    "CA",
    "AU",
    "NZ",
    "IN",
    "BR",
]
# Checked dates must be within a year of the release; the release date is the day the tests run.
MAX_AGE = timedelta(days=365)


def test_every_required_country_has_an_entry() -> None:
    assert set(REQUIRED) <= set(default_resources().countries)


def test_every_number_has_a_recent_source_and_is_well_formed() -> None:
    today = date.today()
    resources = default_resources()
    assert resources.directory_url == "https://findahelpline.com"
    for country in resources.countries.values():
        entries = [(line.number, line.source, line.checked) for line in country.lines]
        if country.emergency is not None:
            entries.append((country.emergency.number, country.emergency.source, country.emergency.checked))
        for number, source, checked in entries:
            assert NUMBER.match(number), (country.code, number)
            assert source.startswith("https://"), (country.code, source)
            assert today - MAX_AGE <= checked <= today + timedelta(days=1), (country.code, number, checked)


def test_the_known_lines() -> None:
    resources = default_resources()
    assert [line.number for line in resources.countries["UA"].lines] == ["7333"]
    us = resources.countries["US"].lines[0]
    assert (us.number, us.text, us.tel) == ("988", "988", "tel:988")
    assert [line.number for line in resources.countries["GB"].lines] == ["116 123"]
    assert [line.number for line in resources.countries["IE"].lines] == ["116 123"]
    assert [line.number for line in resources.countries["BE"].lines] == ["1813"]
    assert [line.number for line in resources.countries["NL"].lines] == ["113"]
    nz = resources.countries["NZ"].lines[0]
    assert (nz.number, nz.text) == ("1737", "1737")
    de = resources.countries["DE"].lines
    assert [line.number for line in de] == ["0800 111 0 111", "0800 111 0 222"]
    assert de[0].tel == "tel:08001110111"
    assert [line.number for line in resources.countries["PL"].lines] == ["116 123", "116 111"]
    assert [line.number for line in resources.countries["IN"].lines] == ["14416"]
    emergency = {code: country.emergency.number for code, country in resources.countries.items() if country.emergency}
    assert {code: emergency.get(code) for code in ("MX", "BR", "NZ", "IN", "ES")} == {
        "MX": "911",
        "BR": "192",
        "NZ": "111",
        "IN": "112",
        "ES": "112",
    }


def test_every_detected_language_has_texts_and_countries_to_offer() -> None:
    resources = default_resources()
    for language in default_detector().codes:
        assert language in resources.messages, language
        assert resources.countries_to_offer(language), language


@pytest.mark.parametrize(
    ("zone", "country"),
    [("Europe/Kyiv", "UA"), ("Europe/Kiev", "UA"), ("America/New_York", "US"), ("Etc/UTC", None), (None, None)],
)
def test_country_from_zone(zone: str | None, country: str | None) -> None:
    assert country_for_zone(zone) == country


def test_a_bad_number_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "resources.yaml"
    path.write_text(
        "international: {name: X, url: 'https://findahelpline.com'}\n"
        "countries:\n  XX:\n    lines:\n      - {name: L, number: 'call me', hours: null, text: null,"
        " chat: null, source: 'https://example.org', checked: 2026-12-01}\n    emergency: null\n"
    )
    with pytest.raises(ResourceDataError, match="XX line 1"):
        load_resources(path)


def test_crisis_resources_command() -> None:
    run = [sys.executable, "-m", "bot.cli", "crisis-resources"]
    one = subprocess.run([*run, "--country", "ua", "--json"], capture_output=True, text=True, check=True)
    data = json.loads(one.stdout)
    assert list(data["countries"]) == ["UA"]
    assert data["countries"]["UA"]["lines"][0]["number"] == "7333"
    everything = subprocess.run(run, capture_output=True, text=True, check=True)
    assert all(f"\n{code}\n" in "\n" + everything.stdout for code in REQUIRED)
    unknown = subprocess.run([*run, "--country", "QQ"], capture_output=True, text=True)
    assert unknown.returncode == 2 and unknown.stderr.startswith("bookbot: crisis-resources: ")
