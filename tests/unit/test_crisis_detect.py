"""The crisis check against its development set (tests/data/crisis_dev.tsv) and the held-out sets
(crisis_heldout*.tsv: each written and committed before the phrase data was tuned on it; the recall
each had before tuning is in phrases/README.md), the blind set's TUNE half (tuned on) and TEST half (only
measured: its figures are printed and held to floors), plus the normalisation steps, the data files' pattern
language and the signal layer one by one.

Run with `-s` to see the per-language table of each set. Recall must be 1.0 on every set; false alarms
at most MAX_FALSE_ALARM_RATE per language (a false alarm costs a person a message with helpline numbers,
a miss can cost a life).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bot.services.crisis.detect import Detector, PhraseDataError, default_detector, load_language
from bot.services.crisis.normalise import Script, normalise, variants
from bot.services.crisis.patterns import PatternError, compile_pattern

DATA = Path(__file__).resolve().parent.parent / "data"
DEV_SET = DATA / "crisis_dev.tsv"
BLIND_TUNE = DATA / "crisis_blind_tune.tsv"
BLIND_TEST = DATA / "crisis_blind_test.tsv"
# Development set first; then the held-out sets, in the order they were written; then the blind set's TUNE half
# (the phrase data was tuned on it). Its TEST half is never tuned on: it is measured, not required to pass.
SETS = (
    DEV_SET,
    DATA / "crisis_heldout.tsv",
    DATA / "crisis_heldout2.tsv",
    DATA / "crisis_heldout3.tsv",
    BLIND_TUNE,
)
# Floors the TEST half holds with room to spare (measured: recall 0.65 overall, 0.50 to 0.79 per language; false
# alarms 2/86): they catch a change that breaks generalisation, without turning TEST into a set to tune on.
BLIND_TEST_MIN_RECALL = 0.55
BLIND_TEST_MIN_RECALL_PER_LANGUAGE = 0.35
BLIND_TEST_MAX_FALSE_ALARM_RATE = 0.15
LANGUAGES = ("en", "es", "fr", "de", "ru", "uk", "pl", "it")
MAX_FALSE_ALARM_RATE = 0.10


def dev_set(path: Path = DEV_SET) -> list[tuple[str, bool, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        lang, expected, text = line.split("\t")
        rows.append((lang, expected == "1", text))
    return rows


@pytest.fixture(scope="module")
def detector() -> Detector:
    return default_detector()


def test_dev_set_is_large_and_balanced() -> None:
    rows = dev_set()
    assert len(rows) >= 250
    for lang in LANGUAGES:
        crisis = sum(1 for row_lang, expected, _ in rows if row_lang == lang and expected)
        calm = sum(1 for row_lang, expected, _ in rows if row_lang == lang and not expected)
        assert crisis >= 15 and calm >= 15, lang


@pytest.mark.parametrize(
    ("path", "least"), [(SETS[1], 200), (SETS[2], 120), (SETS[3], 80)], ids=("heldout", "heldout2", "heldout3")
)
def test_held_out_sets_cover_every_language(path: Path, least: int) -> None:
    rows = dev_set(path)
    assert len(rows) >= least
    for lang in LANGUAGES:
        crisis = sum(1 for row_lang, expected, _ in rows if row_lang == lang and expected)
        calm = sum(1 for row_lang, expected, _ in rows if row_lang == lang and not expected)
        assert crisis >= 6 and calm >= 4, lang


def test_blind_halves_split_the_blind_set_by_situation() -> None:
    tune, test = dev_set(BLIND_TUNE), dev_set(BLIND_TEST)
    assert not {text for _, _, text in tune} & {text for _, _, text in test}
    for lang in LANGUAGES:
        lines = [row for row in tune + test if row[0] == lang]
        assert len(lines) == 50, lang
        for half in (tune, test):
            assert sum(1 for row_lang, expected, _ in half if row_lang == lang and expected) >= 10, lang
            assert sum(1 for row_lang, expected, _ in half if row_lang == lang and not expected) >= 9, lang


def _table(detector: Detector, path: Path) -> tuple[dict[str, dict[str, int]], list[str], list[str]]:
    """Per-language counts (crisis, caught, calm, alarms, lang_right) printed as a table; misses and alarms."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses: list[str] = []
    alarms: list[str] = []
    for lang, expected, text in dev_set(path):
        found = detector.detect(text, lang)
        row = counts[lang]
        row["crisis" if expected else "calm"] += 1
        row["lang_right"] += found.lang == lang
        if expected and found.crisis:
            row["caught"] += 1
        elif expected:
            misses.append(f"{lang}: {text!r}")
        elif found.crisis:
            row["alarms"] += 1
            alarms.append(f"{lang}: {text!r} ({found.matched})")
    print(f"\n{path.name}\nlang  crisis  caught  recall  calm  alarms  false-alarm rate  language right")
    for lang in LANGUAGES:
        row = counts[lang]
        recall = row["caught"] / row["crisis"]
        rate = row["alarms"] / row["calm"]
        total = row["crisis"] + row["calm"]
        print(
            f"{lang:4}  {row['crisis']:6}  {row['caught']:6}  {recall:6.2f}  {row['calm']:4}  {row['alarms']:6}"
            f"  {rate:16.2f}  {row['lang_right']:3}/{total}"
        )
    return counts, misses, alarms


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_recall_and_false_alarms(detector: Detector, path: Path) -> None:
    counts, misses, alarms = _table(detector, path)
    assert not misses, "missed crisis messages:\n" + "\n".join(misses)
    for lang in LANGUAGES:
        assert counts[lang]["alarms"] / counts[lang]["calm"] <= MAX_FALSE_ALARM_RATE, "\n".join(alarms)


def test_blind_test_half_stays_above_its_floors(detector: Detector) -> None:
    """Prints the TEST half's figures; asserts only floors (it is measured, never tuned on)."""
    counts, _, _ = _table(detector, BLIND_TEST)
    crisis = sum(counts[lang]["crisis"] for lang in LANGUAGES)
    caught = sum(counts[lang]["caught"] for lang in LANGUAGES)
    assert caught / crisis >= BLIND_TEST_MIN_RECALL
    for lang in LANGUAGES:
        assert counts[lang]["caught"] / counts[lang]["crisis"] >= BLIND_TEST_MIN_RECALL_PER_LANGUAGE, lang
        assert counts[lang]["alarms"] / counts[lang]["calm"] <= BLIND_TEST_MAX_FALSE_ALARM_RATE, lang


def test_crisis_language_is_the_language_of_the_matched_rule(detector: Detector) -> None:
    for _lang, expected, text in dev_set():
        if expected:
            found = detector.detect(text, None)
            assert found.matched is not None and found.matched.startswith(f"{found.lang}."), text


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("I DON’T want to LIVE", "i dont want to live"),
        ("dieeeee!!!", "die"),
        ("k1ll mys3lf", "kil myself"),
        ("Mourír", "mourir"),
        ("бiльше", "билше"),
        ("більше", "билше"),
        ("больше", "болше"),
        ("Straße", "strase"),
        ("wspomniał", "wspomnial"),
        ("lol 😂 ok", "lol emojilaugh ok"),
        ("bye🖤", "bye emojisad"),
    ],
)
def test_normalise(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


def test_variants_read_transliteration_and_keyboard_slips() -> None:
    ukrainian = normalise("я не хочу жити")
    assert any(v.script is Script.CYRILLIC and v.text == ukrainian for v in variants("ya ne hochu zhyty"))
    assert any(v.script is Script.CYRILLIC and v.text == normalise("я хочу") for v in variants("z [jxe"))
    assert any(v.script is Script.LATIN and v.text == "i want" for v in variants("ш цфте"))


@pytest.mark.parametrize(
    ("text", "crisis"),
    [
        ("I don't want to live", True),
        ("i dont want to live", True),
        ("I want to kill myself. My client mentioned suicide too.", True),
        ("My client mentioned suicide.", False),
        ("I'm a therapist and I feel suicidal", True),
        ("Can I book Thursday at 14:00, I want to die", True),
        ("Quiero reservar. I want to die", True),
        ("ich will sterben, mi muero de ganas", True),
        ("", False),
        ("14:00", False),
        # Finality about oneself against an ordinary absence.
        ("I won't be around anymore", True),
        ("I won't be needing the session next week. I won't be around.", True),
        ("I won't be around next week, I'm on holiday. Can we do the 20th?", False),
        ("меня уже не будет", True),
        ("меня не будет на следующей неделе, отмените все записи на март", False),
        # A joke with a laugh right beside it, against the same words meant.
        ("lol kms, forgot my charger again", False),
        ("mi butto dalla finestra 😂 si è rotta la lavatrice", False),
        ("kms fr this time, not joking", True),
        # On a bridge: saying goodbye, against being stuck in traffic.
        ("стою на мосту. просто хотела попрощаться", True),
        ("im on the bridge, stuck in traffic, will be 10 min late", False),
    ],
)
def test_detect_examples(detector: Detector, text: str, crisis: bool) -> None:
    assert detector.detect(text).crisis is crisis


def test_language_falls_back_to_telegram_then_script(detector: Detector) -> None:
    assert detector.detect("14:00", "de").lang == "de"
    assert detector.detect("14:00", "pt-BR").lang == "en"
    assert detector.detect("...", None).lang == "en"


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("want * die", "i want so much to die", True),
        ("want * die", "i want one two three four die", False),
        ("want ** die", "i want one two three four die", True),
        ("suicid~", "feeling suicidal", True),
        ("suicid~", "parasuicide", False),
        ("{my own|} life", "end my own life", True),
        ("end {my own|} life", "end life", True),
        ("kill myself", "kill myselfie", False),
        ("{a {b|c}|d} e", "a c e", True),
        ("^ {ich|} will nicht mehr $", "Ich will nicht mehr!!", True),
        ("^ {ich|} will nicht mehr $", "ich will nicht mehr warten", False),
        ("^ {ich|} will nicht mehr $", "ja ich will nicht mehr", False),
    ],
)
def test_pattern_language(pattern: str, text: str, matches: bool) -> None:
    assert bool(compile_pattern(pattern).search(f" {normalise(text)} ")) is matches


@pytest.mark.parametrize("broken", ["{a|b", "a|b", "", "{|}", "~"])
def test_broken_patterns_are_refused(broken: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(broken)


def test_broken_data_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\nname: X\nscript: latin\nrules:\n  - id: xx.a\n    patterns: ['{oops']\n")
    with pytest.raises(PhraseDataError, match=r"xx\.yaml xx\.a"):
        load_language(path)


def test_word_classes_expand_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "xx.yaml"
    path.write_text(
        "language: xx\nname: X\nscript: latin\nclasses:\n  want: 'want|wish'\n"
        "rules:\n  - id: xx.a\n    patterns: ['@want ** gone']\n"
    )
    language = load_language(path)
    assert language.first_rule(" i wish i was gone ", ()) == "xx.a"
    assert language.first_rule(" i was gone ", ()) is None
    path.write_text(path.read_text().replace("@want", "@wanted"))
    with pytest.raises(PhraseDataError, match="@wanted"):
        load_language(path)


SIGNAL_FILE = """language: xx
name: X
script: latin
rules:
  - id: xx.a
    patterns: ['never matches anything here']
exclusions:
  - id: xx.x
    patterns: ['pills for my {cat|dog}']
signals:
  window: 5
  threshold: 4
  groups:
    - id: self
      weight: 1
      patterns: ['{i|me}']
    - id: means
      weight: 2
      patterns: ['pills']
    - id: plan
      weight: 1
      patterns: ['{saved|tonight}']
"""


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("i saved the pills", True),
        ("pills tonight i", True),
        ("i saved the pills for my cat", False),  # the pills lie inside an exclusion
        ("i i i saved saved", False),  # each group counts once
        ("i saved one two three four five pills", False),  # further apart than the window
        ("pills pills pills", False),
    ],
)
def test_signal_layer_adds_groups_within_a_window(tmp_path: Path, text: str, flagged: bool) -> None:
    path = tmp_path / "xx.yaml"
    path.write_text(SIGNAL_FILE)
    found = Detector([load_language(path)]).detect(text)
    assert found.crisis is flagged
    assert found.matched == ("xx.signals" if flagged else None)


def test_a_rule_outranks_the_signal_layer(detector: Detector) -> None:
    assert detector.detect("i want to kill myself, i saved the pills").matched == "en.kill_self"


@pytest.mark.parametrize(
    "broken",
    [
        "signals:\n  window: 5\n",
        "signals:\n  window: 5\n  threshold: 2\n  groups:\n    - id: a\n      weight: x\n      patterns: ['b']\n",
        "signals:\n  window: 5\n  threshold: 2\n  groups:\n    - id: a\n      weight: 1\n      patterns: ['b']\n",
    ],
)
def test_broken_signals_name_the_file(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\nname: X\nscript: latin\nrules:\n  - id: xx.a\n    patterns: ['a']\n" + broken)
    with pytest.raises(PhraseDataError, match=r"xx\.yaml signals"):
        load_language(path)


def test_crisis_scan_command_prints_one_json_object_per_line() -> None:
    lines = ["I want to die", "me muero de ganas", "", "ya ne hochu zhyty"]
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "crisis-scan", "--lang", "es"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(obj) for obj in objects] == [{"crisis", "lang", "matched"}] * len(lines)
    assert [obj["crisis"] for obj in objects] == [True, False, False, True]
    assert objects[0]["matched"] == "en.want_die"
    assert objects[1]["lang"] == "es" and objects[1]["matched"] is None
    assert objects[3]["lang"] == "uk"
