"""Is this message a crisis? A pure function over the phrase data in phrases/<lang>.yaml: no database,
no network, nothing language-specific in the code.

    detector = default_detector()
    found = detector.detect("ya ne hochu zhyty", fallback_language="uk")
    found.crisis, found.lang, found.matched      # True, "uk", "uk.not_live"

A message is a crisis when a rule pattern of any language matches one of its readings (as typed,
transliterated, or typed on the wrong keyboard layout: normalise.variants) outside every exclusion
span of that language. When no rule matches, a second, recall-oriented layer scores the language's
signal groups (first person, death, means, farewell, despair...): words of different groups close
together add up, and a message reaching the file's threshold is a crisis too (rule id `<lang>.signals`).
Missing a crisis is the worst failure, so all languages are tried on every message (mixed-language
messages included) and nothing cancels a rule or a signal but a narrower exclusion.

The language reported is the one whose rule matched; else the one whose frequent words (and letters
of its own) the message uses most; else `fallback_language` (Telegram's language_code) when it is one
we have; else the first language written in the message's script.

A third layer, a sentence-embedding model (bot/services/crisis/model.py), may be attached once it has
loaded (`detector.model`): asked only when no rule and no signal matched, it adds recall on wordings the
phrase data never foresaw (rule id `model:<exemplar id>`). An exclusion that matched the message as typed
vetoes it (MODEL_VETO), and a failure in it leaves the answer to the phrase data.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot.services.crisis.normalise import Script, Variant, normalise, script_of, variants
from bot.services.crisis.patterns import compile_pattern

# The rule id of the model layer's matches (bot/services/crisis/model.py): "model:<exemplar id>".
MODEL_RULE_PREFIX = "model:"

PHRASES_DIR = Path(__file__).resolve().parent / "phrases"
# libyaml's safe loader where PyYAML was built with it: the same documents, read about 15 times faster
# (the phrase data is most of `bookbot crisis-scan`'s start).
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A reading derived from the text (transliteration, keyboard slip) counts half towards a language guess.
DERIVED_WEIGHT = 0.5
# The phrase data's exclusions (idioms, other people, professional talk, jokes) also silence the model layer
# where they matched the message as typed (figures: README "Safety").
MODEL_VETO = True

log = logging.getLogger(__name__)


class ModelMatcher(Protocol):
    """The model layer as the detector sees it: the id of what a message resembles, or None."""

    def match(self, text: str) -> str | None: ...


class PhraseDataError(ValueError):
    """A data file is malformed: says which file and which entry."""


@dataclass(frozen=True)
class Rule:
    id: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class SignalGroup:
    id: str
    weight: float
    # The group's patterns as one alternation: one search per group and message.
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Signals:
    """Words of different groups within `window` words of one another add their weights; reaching
    `threshold` flags the message (phrases/README.md, "Signals")."""

    window: int
    threshold: float
    groups: tuple[SignalGroup, ...]

    def reached(self, padded: str, exclusions: Sequence[re.Pattern[str]]) -> bool:
        present = [index for index, group in enumerate(self.groups) if group.pattern.search(padded)]
        # Most messages stop here: even all their groups together fall short.
        if sum(self.groups[index].weight for index in present) < self.threshold:
            return False
        spans = [span.span() for exclusion in exclusions for span in exclusion.finditer(padded)]
        found: list[tuple[int, int]] = []
        for index in present:
            for match in self.groups[index].pattern.finditer(padded):
                start, end = match.span()
                if not any(low <= start and end <= high for low, high in spans):
                    found.append((padded.count(" ", 0, start), index))
        found.sort()
        for position, _ in found:
            near = {index for other, index in found if position <= other < position + self.window}
            if sum(self.groups[index].weight for index in near) >= self.threshold:
                return True
        return False


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    script: Script
    markers: frozenset[str]
    letters: frozenset[str]
    rules: tuple[Rule, ...]
    default: bool
    exclusions: tuple[re.Pattern[str], ...]
    signals: Signals | None
    # Any rule pattern at all: one search decides whether the rules need trying one by one.
    any_rule: re.Pattern[str] = field(compare=False)

    def first_rule(self, padded: str, exclusions: Sequence[re.Pattern[str]]) -> str | None:
        """The id of the first rule matching outside every span of `exclusions`, if any."""
        if not self.any_rule.search(padded):
            return None
        spans: list[tuple[int, int]] | None = None
        for rule in self.rules:
            for pattern in rule.patterns:
                for match in pattern.finditer(padded):
                    if spans is None:
                        spans = [span.span() for exclusion in exclusions for span in exclusion.finditer(padded)]
                    start, end = match.span()
                    if not any(low <= start and end <= high for low, high in spans):
                        return rule.id
        return None

    def signalled(self, padded: str, exclusions: Sequence[re.Pattern[str]]) -> str | None:
        """`<lang>.signals` when the signal layer flags the text, else None."""
        if self.signals is None:
            return None
        return f"{self.code}.signals" if self.signals.reached(padded, exclusions) else None


@dataclass(frozen=True)
class Detection:
    crisis: bool
    lang: str
    matched: str | None

    @property
    def by_model_alone(self) -> bool:
        """Only the model layer saw a crisis (no rule or signal of the phrase data matched): the reply
        still goes out, but the message is also taken as what it was typed for, and nobody is alerted
        (bot/middlewares/crisis.py), because the model also flags ordinary wordings now and then."""
        return self.crisis and (self.matched or "").startswith(MODEL_RULE_PREFIX)

    def as_json(self) -> dict[str, Any]:
        return {"crisis": self.crisis, "lang": self.lang, "matched": self.matched}


def _strings(entry: dict[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PhraseDataError(f"{where}: {key!r} must be a list of strings")
    return value


_CLASS_REFERENCE = re.compile(r"@(\w+)")


def _expand(source: str, classes: dict[str, str]) -> str:
    """Replace each @name with its word class, a `{a|b|c}` group (phrases/README.md)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in classes:
            raise PhraseDataError(f"unknown word class @{name}")
        return "{" + classes[name] + "}"

    return _CLASS_REFERENCE.sub(replace, source)


def _compile_all(
    sources: Iterable[str], where: str, classes: dict[str, str] | None = None
) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for source in sources:
        try:
            compiled.append(compile_pattern(_expand(source, classes or {})))
        except (ValueError, re.error) as exc:
            raise PhraseDataError(f"{where}: pattern {source!r}: {exc}") from None
    return tuple(compiled)


def load_language(path: Path) -> Language:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    where = path.name
    if not isinstance(data, dict):
        raise PhraseDataError(f"{where}: not a mapping")
    try:
        code, name, script = str(data["language"]), str(data["name"]), Script(data["script"])
    except (KeyError, ValueError) as exc:
        raise PhraseDataError(f"{where}: needs language, name and script (latin or cyrillic): {exc}") from None
    classes = data.get("classes") or {}
    if not isinstance(classes, dict) or not all(isinstance(value, str) for value in classes.values()):
        raise PhraseDataError(f"{where}: classes must map names to alternatives such as 'die|be dead'")
    classes = {str(name): value.strip().strip("{}") for name, value in classes.items()}
    rules = []
    for entry in data.get("rules") or []:
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or not rule_id.startswith(f"{code}."):
            raise PhraseDataError(f"{where}: every rule needs an id starting with {code!r}.: {entry!r}")
        label = f"{where} {rule_id}"
        rules.append(Rule(rule_id, _compile_all(_strings(entry, "patterns", label), label, classes)))
    if not rules:
        raise PhraseDataError(f"{where}: no rules")
    exclusions: list[re.Pattern[str]] = []
    for entry in data.get("exclusions") or []:
        label = f"{where} {entry.get('id')}"
        exclusions.extend(_compile_all(_strings(entry, "patterns", label), label, classes))
    signals = _load_signals(data.get("signals"), where, classes)
    everything = "|".join(f"(?:{pattern.pattern})" for rule in rules for pattern in rule.patterns)
    return Language(
        code=code,
        name=name,
        script=script,
        markers=frozenset(normalise(str(data.get("markers", ""))).split()),
        letters=frozenset(str(data.get("letters", ""))),
        rules=tuple(rules),
        default=bool(data.get("default", False)),
        exclusions=tuple(exclusions),
        signals=signals,
        any_rule=re.compile(everything),
    )


def _load_signals(data: Any, where: str, classes: dict[str, str]) -> Signals | None:
    if data is None:
        return None
    label = f"{where} signals"
    try:
        window, threshold = int(data["window"]), float(data["threshold"])
        entries = list(data["groups"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PhraseDataError(f"{label}: needs window, threshold and groups: {exc}") from None
    groups = []
    for entry in entries:
        group_label = f"{label} {entry.get('id') if isinstance(entry, dict) else entry!r}"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise PhraseDataError(f"{group_label}: every group needs an id, a weight and patterns")
        try:
            weight = float(entry["weight"])
        except (KeyError, TypeError, ValueError):
            raise PhraseDataError(f"{group_label}: needs a numeric weight") from None
        patterns = _compile_all(_strings(entry, "patterns", group_label), group_label, classes)
        if not patterns:
            raise PhraseDataError(f"{group_label}: no patterns")
        either = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in patterns))
        groups.append(SignalGroup(entry["id"], weight, either))
    if window < 1 or threshold <= 0 or len(groups) < 2:
        raise PhraseDataError(f"{label}: needs a positive window and threshold and at least two groups")
    return Signals(window, threshold, tuple(groups))


class Detector:
    def __init__(self, languages: Iterable[Language]) -> None:
        # Attached by bot.services.crisis.model once loaded; until then the phrase data alone answers.
        self.model: ModelMatcher | None = None
        self.model_veto = MODEL_VETO
        self._model_failed = False
        self.languages = tuple(languages)
        self.codes = tuple(language.code for language in self.languages)
        # Exclusions apply across the languages of one script: they are narrow (they hold the very words a
        # rule matched), and folded Ukrainian and Russian, or Spanish and Italian, share words.
        self.exclusions = {
            script: tuple(
                pattern for language in self.languages if language.script is script for pattern in language.exclusions
            )
            for script in Script
        }
        # All of a script's exclusions in one search, for the common question "does any apply at all?".
        self.any_exclusion = {
            script: re.compile("|".join(f"(?:{pattern.pattern})" for pattern in patterns) or r"(?!)")
            for script, patterns in self.exclusions.items()
        }

    def detect(self, text: str, fallback_language: str | None = None) -> Detection:
        readings = variants(text)
        hits: list[tuple[str, str]] = []
        signalled: list[tuple[str, str]] = []
        explained = False
        for reading in readings:
            padded = f" {reading.text} "
            # One search over all of the script's exclusions: most messages match none, and then no exclusion
            # needs trying one by one.
            excluded = self.any_exclusion[reading.script].search(padded) is not None
            if reading.as_typed:
                explained = explained or excluded
            elif hits or explained:
                # A transliteration of an English "suicide prevention" must not undo its exclusion: derived
                # readings count only when the text as typed neither matched nor was explained away.
                break
            exclusions = self.exclusions[reading.script] if excluded else ()
            for language in self.languages:
                if language.script is not reading.script:
                    continue
                rule_id = language.first_rule(padded, exclusions)
                if rule_id is not None and all(code != language.code for code, _ in hits):
                    hits.append((language.code, rule_id))
                elif rule_id is None and not hits and all(code != language.code for code, _ in signalled):
                    signal_id = language.signalled(padded, exclusions)
                    if signal_id is not None:
                        signalled.append((language.code, signal_id))
        fallback = _supported(fallback_language, self.codes)
        # A rule outranks the signal layer: its id says more to whoever reviews the phrase data.
        hits = hits or signalled
        if hits:
            if len(hits) == 1:
                code, rule_id = hits[0]
            else:
                scores = self._scores(text, readings)
                code, rule_id = max(hits, key=lambda hit: (scores[hit[0]], hit[0] == fallback))
            return Detection(True, code, rule_id)
        if not (explained and self.model_veto):
            matched = self._model_match(text)
            if matched is not None:
                return Detection(True, self.guess_language(text, fallback_language, readings), matched)
        return Detection(False, self.guess_language(text, fallback_language, readings), None)

    def _model_match(self, text: str) -> str | None:
        model = self.model
        if model is None:
            return None
        try:
            return model.match(text)
        except Exception:
            if not self._model_failed:
                self._model_failed = True
                log.exception("crisis check: the model layer failed; the phrase data alone answered")
            return None

    def guess_language(
        self, text: str, fallback_language: str | None = None, readings: list[Variant] | None = None
    ) -> str:
        readings = variants(text) if readings is None else readings
        scores = self._scores(text, readings)
        fallback = _supported(fallback_language, self.codes)
        script = script_of(text) or Script.LATIN
        # The languages of the script the message is written in first; derived readings only break a tie at zero.
        for candidates in (self._codes_in(script), self.codes):
            best = max(candidates, key=lambda code: (scores[code], code == fallback))
            if scores[best] > 0:
                return best
        if fallback is not None:
            return fallback
        return next(language.code for language in self.languages if language.script is script)

    def _codes_in(self, script: Script) -> tuple[str, ...]:
        return tuple(language.code for language in self.languages if language.script is script)

    def _scores(self, text: str, readings: list[Variant]) -> dict[str, float]:
        scores = dict.fromkeys(self.codes, 0.0)
        lowered = text.casefold()
        for language in self.languages:
            scores[language.code] += sum(1 for char in lowered if char in language.letters)
            for reading in readings:
                if reading.script is language.script:
                    weight = 1.0 if reading.as_typed else DERIVED_WEIGHT
                    known = sum(1 for word in reading.text.split() if word in language.markers)
                    scores[language.code] += weight * known
        return scores


def _supported(language_code: str | None, codes: tuple[str, ...]) -> str | None:
    if not language_code:
        return None
    base = language_code.replace("_", "-").split("-")[0].lower()
    return base if base in codes else None


def load_detector(directory: Path = PHRASES_DIR) -> Detector:
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise PhraseDataError(f"no phrase files in {directory}")
    languages = [load_language(path) for path in paths]
    # A file marked `default: true` is the language of last resort for its script.
    languages.sort(key=lambda language: (not language.default, language.code))
    return Detector(languages)


@functools.cache
def default_detector() -> Detector:
    return load_detector()
