"""The crisis check's model layer (bot/services/crisis/model.py): its exemplar data, what it adds on top of the
phrase data (never taking anything away), the blind set's TEST half with both layers (printed, held to floors),
false alarms per language on the negative sets, and the fallback to the phrase data alone.

Run with `-s` to see the tables. The layer is loaded once for the module (a few seconds).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services.crisis.detect import Detector, load_detector
from bot.services.crisis.model import (
    EXEMPLARS,
    SWITCH,
    ExemplarDataError,
    ModelLayer,
    ModelLoading,
    load_exemplars,
    load_model_layer,
)
from tests.unit.test_crisis_detect import (
    BLIND_TEST,
    BLIND_TUNE,
    DATA,
    LANGUAGES,
    MAX_FALSE_ALARM_RATE,
    SETS,
    _table,
    dev_set,
)

# Everyday booking messages (no crisis among them): the first are calm exemplars, the second only measured.
EVERYDAY = DATA / "crisis_everyday.tsv"
EVERYDAY_CHECK = DATA / "crisis_everyday_check.tsv"
# Measured when written (before they were exemplars): 7 of the 80 check lines flagged; with the everyday exemplars,
# two nearest neighbours a side and sentence scoring, 1. A cap with a little room.
EVERYDAY_CHECK_MAX_ALARMS = 3

# Measured when the layer was added (threshold 0.034, exclusions veto): TEST recall 98/109 = 0.90 (0.82 to 0.93 per
# language; the phrase data alone 0.65), false alarms 10/86 = 0.12 (0.09 to 0.20 per language; alone 0.02). After
# the everyday exemplars, two neighbours a side, sentence scoring and threshold 0.04 (chosen on TUNE and the
# held-out sets only): 97/109 = 0.89 (0.79 to 0.93), 11/86 = 0.13 (0.09 to 0.20). Floors with a little room, so a
# change that breaks generalisation fails without TEST becoming a set to tune on.
BLIND_TEST_MIN_RECALL = 0.85
BLIND_TEST_MIN_RECALL_PER_LANGUAGE = 0.75
BLIND_TEST_MAX_FALSE_ALARM_RATE = 0.15
# Per language the TEST half has 9 to 12 negatives, so one more false alarm moves a language by 0.08-0.11: the
# cap is the worst measured (en 2/10) plus one message. A false alarm costs a person a message with helplines.
BLIND_TEST_MAX_FALSE_ALARM_RATE_PER_LANGUAGE = 0.30

# Written for this test after the layer was built, checked to be missed by the phrase data: indirect wordings
# (being a burden, everyone better off, goodbyes, a decision announced calmly).
UNSEEN_CRISIS = (
    ("en", "i keep thinking everyone would cope fine without me around"),
    ("en", "honestly i feel like a weight everyone has to carry"),
    ("de", "ich habe mich schon von allen verabschiedet"),
    ("de", "bald muss sich niemand mehr um mich sorgen machen"),
    ("ru", "я уже всё решила, просто хотела, чтобы кто-то знал"),
    ("uk", "мені здається, що всім було б краще без мене"),
    ("pl", "wszyscy mieliby łatwiej, gdyby mnie nie było"),
    ("it", "tanto tra poco non sarò più un peso per nessuno"),
)
UNSEEN_CALM = (
    ("en", "can we move thursday's session to 5pm, i have a dentist appointment"),
    ("en", "my cat died last week and im pretty sad, can i book a session"),
    ("de", "kann ich den termin am freitag absagen? ich bin krank"),
    ("es", "quiero cambiar mi cita del lunes al martes"),
    ("uk", "чи можна перенести сесію на п'ятницю?"),
    ("ru", "мой друг говорил о самоубийстве, что мне делать?"),
)


@pytest.fixture(scope="module")
def layer() -> ModelLayer:
    # Computed here, not read from the cache folder: the vectors the file must reproduce.
    return load_model_layer(cache=None)


@pytest.fixture(scope="module")
def patterns() -> Detector:
    return load_detector()


@pytest.fixture(scope="module")
def both(layer: ModelLayer) -> Detector:
    detector = load_detector()
    detector.model = layer
    return detector


def test_exemplar_vectors_from_the_cache_file_equal_computed_ones(layer: ModelLayer, tmp_path: Path) -> None:
    import numpy as np

    cache = tmp_path / "vectors.npz"
    written = load_model_layer(cache=cache)
    assert cache.is_file()
    read = load_model_layer(cache=cache)
    for other in (written, read):
        assert np.array_equal(other._crisis, layer._crisis) and np.array_equal(other._calm, layer._calm)
        assert other.crisis_ids == layer.crisis_ids
    text = UNSEEN_CRISIS[0][1]
    assert read.score(text) == layer.score(text)


def test_exemplars_come_from_the_development_and_held_out_sets_never_the_blind_set() -> None:
    exemplars = load_exemplars()
    labelled = {text: expected for path in (*SETS[:4], EVERYDAY) for _, expected, text in dev_set(path)}
    unseen = {text for path in (BLIND_TUNE, BLIND_TEST, EVERYDAY_CHECK) for _, _, text in dev_set(path)}
    assert exemplars.threshold == pytest.approx(0.04)
    for item in exemplars.items:
        assert labelled.get(item.text) is item.crisis, item.id
        assert item.text not in unseen, item.id
        assert item.id.split(".")[0] in LANGUAGES
        assert item.id.split(".")[1][0] == ("c" if item.crisis else "n"), item.id
    for lang in LANGUAGES:
        assert sum(1 for item in exemplars.items if item.id.startswith(f"{lang}.c")) >= 30, lang


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("en.c001\tcrisis\ti want to die\nen.n001\tcalm\tthis traffic is killing me\n", "threshold"),
        ("# threshold = 0.1\nen.c001\tcrisis\n", "three tab-separated"),
        ("# threshold = 0.1\nen.c001\tcrisis\ta\nen.c001\tcalm\tb\n", "not a new id"),
        ("# threshold = 0.1\nen.c001\tmaybe\ta\n", "crisis or calm"),
        ("# threshold = 0.1\nen.c001\tcrisis\ta\n", "crisis and calm"),
    ],
)
def test_malformed_exemplar_files_are_refused(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "exemplars.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExemplarDataError, match=complaint):
        load_exemplars(path)


def test_the_model_finds_unseen_indirect_wordings_the_phrase_data_misses(patterns: Detector, both: Detector) -> None:
    for lang, text in UNSEEN_CRISIS:
        assert not patterns.detect(text, lang).crisis, text
        found = both.detect(text, lang)
        assert found.crisis and found.matched is not None and found.matched.startswith("model:"), text
        assert found.lang == lang, text
    for lang, text in UNSEEN_CALM:
        assert not both.detect(text, lang).crisis, text


def test_the_phrase_data_still_catches_all_it_did_with_the_same_rule(patterns: Detector, both: Detector) -> None:
    for path in (*SETS, BLIND_TEST):
        for lang, _, text in dev_set(path):
            alone = patterns.detect(text, lang)
            if alone.crisis:
                assert both.detect(text, lang) == alone, text


def test_an_exclusion_of_the_phrase_data_vetoes_the_model(both: Detector) -> None:
    # Lines of the blind set's TUNE half the model alone would flag (a past attempt, a joke): the phrase data's
    # exclusions matched them, and that keeps them calm.
    vetoed = (
        ("en", "years ago i tried to end my life. i'm in a really good place now, just want occasional check-ins"),
        ("ru", "лучше умереть чем в субботу в икею 😂"),
    )
    for lang, text in vetoed:
        assert not both.detect(text, lang).crisis, text
    both.model_veto = False
    try:
        for lang, text in vetoed:
            found = both.detect(text, lang)
            assert found.crisis and found.matched is not None and found.matched.startswith("model:"), text
    finally:
        both.model_veto = True


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_false_alarms_per_language_stay_under_the_cap_with_the_model(both: Detector, path: Path) -> None:
    # (On the development and held-out sets the calm lines are exemplars themselves, so there this guards only
    # against a broken layer; the blind set's TUNE half is the real check.)
    counts, misses, alarms = _table(both, path)
    assert not misses, "missed crisis messages:\n" + "\n".join(misses)
    for lang in LANGUAGES:
        assert counts[lang]["alarms"] / counts[lang]["calm"] <= MAX_FALSE_ALARM_RATE, "\n".join(alarms)


def test_everyday_booking_messages_are_calm(patterns: Detector, both: Detector) -> None:
    for lang, expected, text in dev_set(EVERYDAY):
        assert not expected and not both.detect(text, lang).crisis, text
    alarms = []
    per_language = dict.fromkeys(LANGUAGES, 0)
    for lang, expected, text in dev_set(EVERYDAY_CHECK):
        assert not expected and not patterns.detect(text, lang).crisis, text
        found = both.detect(text, lang)
        if found.crisis:
            per_language[lang] += 1
            alarms.append(f"{lang}: {text!r} ({found.matched})")
    print(f"\n{EVERYDAY_CHECK.name} with the model layer: false alarms per language {per_language}")
    assert len(alarms) <= EVERYDAY_CHECK_MAX_ALARMS, "\n".join(alarms)


def test_a_crisis_said_after_a_booking_question_is_scored_on_its_own(layer: ModelLayer) -> None:
    # Each sentence of a longer message is scored too, and the best counts: the booking question around it does
    # not dilute the farewell.
    from bot.services.crisis.model import sentences

    assert sentences("can we move it? never mind. i won't be here") == [
        "can we move it? never mind. i won't be here",
        "can we move it",
        "never mind",
        "i won't be here",
    ]
    assert sentences("ok. kms") == ["ok. kms"]  # one-word pieces are not sentences
    assert sentences("tomorrow at 3pm please") == ["tomorrow at 3pm please"]
    text = "can we reschedule thursday? actually never mind, i won't be here by then"
    whole = layer.scores([text])[0][0]
    assert whole >= max(layer.scores([piece])[0][0] for piece in sentences(text)) - 1e-6


def test_blind_test_half_with_the_model_stays_above_its_floors(both: Detector) -> None:
    """Prints the TEST half's figures with both layers; asserts only floors (it is measured, never tuned on)."""
    counts, _, alarms = _table(both, BLIND_TEST)
    crisis = sum(counts[lang]["crisis"] for lang in LANGUAGES)
    caught = sum(counts[lang]["caught"] for lang in LANGUAGES)
    calm = sum(counts[lang]["calm"] for lang in LANGUAGES)
    raised = sum(counts[lang]["alarms"] for lang in LANGUAGES)
    print(f"TEST with the model layer: recall {caught}/{crisis} = {caught / crisis:.2f}, false alarms {raised}/{calm}")
    assert caught / crisis >= BLIND_TEST_MIN_RECALL
    assert raised / calm <= BLIND_TEST_MAX_FALSE_ALARM_RATE, "\n".join(alarms)
    for lang in LANGUAGES:
        assert counts[lang]["caught"] / counts[lang]["crisis"] >= BLIND_TEST_MIN_RECALL_PER_LANGUAGE, lang
        assert counts[lang]["alarms"] / counts[lang]["calm"] <= BLIND_TEST_MAX_FALSE_ALARM_RATE_PER_LANGUAGE, lang


class _Broken:
    def match(self, text: str) -> str | None:
        raise RuntimeError("out of memory")


def test_a_failing_model_leaves_the_answer_to_the_phrase_data(caplog: pytest.LogCaptureFixture) -> None:
    detector = load_detector()
    detector.model = _Broken()
    with caplog.at_level(logging.ERROR):
        assert detector.detect("I want to kill myself", "en").matched == "en.kill_self"
        assert not detector.detect("can we move my session to friday?", "en").crisis
        assert not detector.detect("what time is it in Kyiv?", "en").crisis
    assert len([record for record in caplog.records if "model layer failed" in record.getMessage()]) == 1


@pytest.fixture
def switch_on() -> Iterator[None]:
    saved = os.environ.pop(SWITCH, None)
    yield
    if saved is not None:
        os.environ[SWITCH] = saved


def test_until_loaded_and_when_loading_fails_the_phrase_data_answers_alone(
    tmp_path: Path, switch_on: None, caplog: pytest.LogCaptureFixture
) -> None:
    detector = load_detector()
    unseen_lang, unseen = UNSEEN_CRISIS[0]
    assert detector.detect(unseen, unseen_lang).matched is None  # not loaded yet: the phrase data alone
    missing = tmp_path / "no-such-exemplars.tsv"
    with caplog.at_level(logging.WARNING):
        loading = ModelLoading(detector, missing).start()
        assert loading.wait(timeout=60) is False
    assert isinstance(loading.error, OSError) and detector.model is None
    assert [record.getMessage() for record in caplog.records if "model layer not loaded" in record.getMessage()]
    assert detector.detect("I want to kill myself", "en").matched == "en.kill_self"
    assert not detector.detect(unseen, unseen_lang).crisis


def test_the_switch_keeps_the_layer_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SWITCH, "off")
    detector = load_detector()
    loading = ModelLoading(detector, EXEMPLARS).start()
    assert loading.wait(timeout=60) is False and loading.error is None and detector.model is None


def test_crisis_scan_loads_the_model_before_reading_and_reports_its_exemplar() -> None:
    lines = ["I want to die", UNSEEN_CRISIS[0][1], "me muero de ganas"]
    environment = {key: value for key, value in os.environ.items() if key != SWITCH}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "crisis-scan", "--lang", "en"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(obj) for obj in objects] == [{"crisis", "lang", "matched"}] * len(lines)
    assert objects[0]["matched"] == "en.want_die"
    assert objects[1]["crisis"] is True and objects[1]["matched"].startswith("model:en.c")
    assert objects[2]["crisis"] is False
    unaided = subprocess.run(
        [sys.executable, "-m", "bot.cli", "crisis-scan", "--no-model"],
        input=UNSEEN_CRISIS[0][1] + "\n",
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    assert json.loads(unaided.stdout)["crisis"] is False


def test_the_model_is_asked_about_prose_only() -> None:
    # Answers to the bot's questions mean nothing to the model (in the demo "9-17" came out as a crisis);
    # the phrase data answers short wordings with or without it.
    from bot.services.crisis.model import has_words_enough

    for answer in [
        "9-17",
        "80.00",
        "Mykola Bondar",
        "https://meet.example.org/mykola",
        "kms",
        "24.12",
        "Therapy session",
    ]:
        assert not has_words_enough(answer), answer
    for prose in ["i give up", "je veux mourir", "я не хочу жити", "tomorrow at 3pm please"]:
        assert has_words_enough(prose), prose


class _Flagging:
    def match(self, text: str) -> str | None:
        return "model:en.c001"


def test_crisis_scan_waits_for_the_model_only_on_lines_it_is_asked_about() -> None:
    import threading

    from bot.services.crisis.model import AwaitedLayer

    loading = ModelLoading(load_detector(), EXEMPLARS)  # never started: it has not loaded
    awaited = AwaitedLayer(loading)
    assert awaited.match("hello") is None  # too short for the model: answered without waiting
    answers: list[str | None] = []
    reader = threading.Thread(target=lambda: answers.append(awaited.match("i feel like a burden to everyone")))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive() and answers == []  # prose: waits for the layer
    loading.layer = _Flagging()  # type: ignore[assignment]
    loading.done.set()
    reader.join(10)
    assert answers == ["model:en.c001"]
    loading.layer = None  # a layer that failed to load: the phrase data answers alone
    assert awaited.match("i feel like a burden to everyone") is None


def test_an_awaited_layer_that_starts_its_loading_starts_it_on_the_first_prose(
    tmp_path: Path, switch_on: None, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.services.crisis.model import AwaitedLayer

    loading = ModelLoading(load_detector(), tmp_path / "no-such-exemplars.tsv")
    awaited = AwaitedLayer(loading, start=True)
    assert awaited.match("hello") is None
    assert not loading.done.is_set()  # too short for the model: nothing started
    with caplog.at_level(logging.WARNING):
        assert awaited.match("i feel like a burden to everyone") is None  # started, failed: the phrase data alone
    assert loading.done.is_set() and isinstance(loading.error, OSError)
    assert loading.start() is loading  # started once only
