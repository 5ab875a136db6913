"""The zone search: the table of queries in tests/data/zone_queries.tsv, and the rules behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.services.zone_search import search_zones, zone_country

TABLE = Path(__file__).parent.parent / "data" / "zone_queries.tsv"
# The instant the table's offsets are read at: winter in the north (New York is UTC-5).
WINTER = datetime(2026, 12, 1, 12, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 12, tzinfo=UTC)
LANGUAGES = {"en", "uk", "ru", "es", "de", "fr", "pl", "it"}


@dataclass(frozen=True)
class Row:
    language: str
    query: str
    first: str


def _table() -> list[Row]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        language, query, first, *_why = line.split("\t")
        rows.append(Row(language, query, first))
    return rows


def test_the_table_of_queries(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _table()
    assert len(rows) >= 150
    assert {row.language for row in rows} == LANGUAGES
    failures = []
    for row in rows:
        found = search_zones(row.query, row.language, at=WINTER)
        first = found[0].zone if found else "-"
        if first != row.first:
            failures.append(f"{row.language} {row.query!r}: wanted {row.first}, got {[m.zone for m in found[:3]]}")
    with capsys.disabled():
        print(f"\nzone search table: {len(rows) - len(failures)}/{len(rows)} first zones right")
    assert failures == []


@pytest.mark.parametrize(
    ("query", "country"),
    [("Mexico", "MX"), ("USA", "US"), ("India", "IN"), ("Україна", "UA"), ("Spain", "ES"), ("🇺🇦", "UA")],
)
def test_a_country_answers_only_its_own_zones(query: str, country: str) -> None:
    found = search_zones(query, "en", at=WINTER)
    assert found
    assert {zone_country(match.zone) for match in found} == {country}
    assert all(match.country_code == country for match in found)


def test_a_country_lists_its_zones_most_populous_first_one_per_clock() -> None:
    ukraine = search_zones("Україна", "uk", at=WINTER)
    assert [match.zone for match in ukraine] == ["Europe/Kyiv", "Europe/Simferopol"]
    assert ukraine[0].label == "Київ, Україна — Europe/Kyiv"
    spain = [match.zone for match in search_zones("Spain", "en", at=WINTER)]
    # Ceuta keeps Madrid's clock all year: one choice, not two.
    assert spain == ["Europe/Madrid", "Atlantic/Canary"]
    canada = [match.zone for match in search_zones("Canada", "en", at=WINTER)]
    assert canada[0] == "America/Toronto"
    assert "America/Vancouver" in canada
    assert len(search_zones("United States", "en", at=WINTER)) == 8  # the limit


def test_own_names_rank_before_alternate_names() -> None:
    # GeoNames lists "porto" among Bordeaux's names and "Philadelphia" among Amman's.
    assert [match.zone for match in search_zones("Porto")] == ["Europe/Lisbon"]
    assert [match.zone for match in search_zones("Philadelphia")] == ["America/New_York"]


def test_abbreviations_are_never_taken_for_places() -> None:
    assert [match.zone for match in search_zones("EST")] == ["America/New_York"]
    assert [match.zone for match in search_zones("est")] == ["America/New_York"]
    # Ambiguous ones are asked about.
    assert [match.zone for match in search_zones("IST")] == ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]
    assert {match.zone for match in search_zones("CST")} >= {"America/Chicago", "Asia/Shanghai"}


def test_an_offset_offers_the_zones_with_it_at_that_moment() -> None:
    winter = [match.zone for match in search_zones("UTC-5", at=WINTER)]
    summer = [match.zone for match in search_zones("UTC-5", at=SUMMER)]
    assert winter[0] == "America/New_York"
    assert "America/Chicago" not in winter
    assert summer[0] == "America/Chicago"  # New York is UTC-4 in July
    assert "America/New_York" not in summer
    india = search_zones("GMT+5:30", at=WINTER)
    assert [match.zone for match in india] == ["Asia/Kolkata", "Asia/Colombo"]  # India, then Sri Lanka
    assert search_zones("UTC+0", at=WINTER)[0].zone == "UTC"
    assert search_zones("UTC+15", at=WINTER) == []
    # POSIX writes the sign the other way round.
    assert search_zones("Etc/GMT-3", at=WINTER)[0].zone == search_zones("UTC+3", at=WINTER)[0].zone


def test_iana_names_old_or_new_answer_the_canonical_name() -> None:
    for typed in ("Europe/Kiev", "europe/kyiv", "Europe/Zaporozhye"):
        assert [match.zone for match in search_zones(typed)] == ["Europe/Kyiv"]
    assert [match.zone for match in search_zones("Asia/Calcutta")] == ["Asia/Kolkata"]
    assert [match.zone for match in search_zones("UTC")] == ["UTC"]
    assert search_zones("Europe/Nowhere") == []


def test_qualifiers_narrow_the_match() -> None:
    assert search_zones("Boston")[0].country_code == "US"
    boston_uk = search_zones("Boston, UK")
    assert [(match.zone, match.country_code) for match in boston_uk] == [("Europe/London", "GB")]
    assert search_zones("Moscow, Idaho")[0].zone == "America/Los_Angeles"
    assert search_zones("Portland, ME")[0].zone == "America/New_York"
    # A town we do not know in a country we do: that country's zones, as a guess.
    unknown = search_zones("Smallville, Ukraine")
    assert [match.zone for match in unknown] == ["Europe/Kyiv", "Europe/Simferopol"]
    assert not any(match.certain for match in unknown)


def test_exact_names_are_certain_guesses_are_not() -> None:
    assert search_zones("Kharkiv")[0].certain
    assert search_zones("Kharkov")[0].certain  # an alternate name, spelled right
    assert not search_zones("Kharkvi")[0].certain  # a typo
    assert not search_zones("madr")[0].certain  # a beginning


def test_labels_name_the_place_in_the_person_s_language_and_script() -> None:
    assert search_zones("Kharkiv", "en")[0].label == "Kharkiv, Ukraine — Europe/Kyiv"
    assert search_zones("Харків", "uk")[0].label == "Харків, Україна — Europe/Kyiv"
    assert search_zones("Kyiv", "uk")[0].place_name == "Київ, Україна"
    portland = search_zones("Portland, OR", "en")[0]
    assert (portland.place, portland.region, portland.country) == ("Portland", "Oregon", "United States")


@pytest.mark.parametrize("query", ["", "   ", "a", "qwzx blorp", "12345", "x" * 500, "/", ",,,", "🙂"])
def test_nothing_to_find(query: str) -> None:
    assert search_zones(query) == []


def test_results_are_distinct_zones_within_the_limit() -> None:
    for query in ("USA", "Springfield", "UTC+1", "Barcelona"):
        zones = [match.zone for match in search_zones(query, at=WINTER, limit=3)]
        assert 1 <= len(zones) <= 3
        assert len(set(zones)) == len(zones)
