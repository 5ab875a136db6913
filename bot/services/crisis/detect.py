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
import hashlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.services.crisis.normalise import Script, Variant, normalise, script_of, variants
from bot.services.crisis.patterns import PatternError, pattern_source
from bot.services.regex_cache import RegexCache

if TYPE_CHECKING:
    from collections.abc import Callable

    import yaml

# The rule id of the model layer's matches (bot/services/crisis/model.py): "model:<exemplar id>".
MODEL_RULE_PREFIX = "model:"

PHRASES_DIR = Path(__file__).resolve().parent / "phrases"
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
class Source:
    """A pattern of the data files: where it is, as written, and as a regex source."""

    where: str
    written: str
    regex: str


@dataclass(frozen=True)
class Rule:
    id: str
    # Regex sources (patterns.pattern_source); compiled when a message first needs them one by one, i.e. when the
    # language's `any_rule` matched: compiling all of them up front was most of `bookbot crisis-scan`'s start.
    sources: tuple[str, ...]

    @functools.cached_property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(source) for source in self.sources)


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
    # The detector compiles them together (Detector.any_exclusion), and one by one only when that matched.
    exclusions: tuple[Source, ...]
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


def _sources(sources: Iterable[str], where: str, classes: dict[str, str] | None = None) -> list[Source]:
    found = []
    for source in sources:
        try:
            found.append(Source(where, source, pattern_source(_expand(source, classes or {}))))
        except (ValueError, PatternError) as exc:
            raise PhraseDataError(f"{where}: pattern {source!r}: {exc}") from None
    return found


def either(sources: Sequence[Source], compile: Callable[[str], re.Pattern[str]] = re.compile) -> re.Pattern[str]:
    """One regex matching wherever any of `sources` does (never matching when there are none); a pattern that
    does not compile is named. `compile`: re.compile, or a RegexCache's (the same Pattern)."""
    try:
        return compile("|".join(f"(?:{source.regex})" for source in sources) or r"(?!)")
    except re.error:
        for source in sources:
            try:
                re.compile(source.regex)
            except re.error as exc:
                raise PhraseDataError(f"{source.where}: pattern {source.written!r}: {exc}") from None
        raise


def load_language(path: Path) -> Language:
    return build_language(read_language(path))


# The phrase data read and checked (below), as plain JSON-able data: what the cache file keeps.
Prepared = dict[str, Any]


def _plain(sources: Iterable[Source]) -> list[list[str]]:
    return [[source.where, source.written, source.regex] for source in sources]


def _unplain(sources: Iterable[list[str]]) -> list[Source]:
    return [Source(where, written, regex) for where, written, regex in sources]


def safe_loader() -> type[yaml.SafeLoader]:
    """libyaml's safe loader where PyYAML was built with it: the same documents, read about 15 times faster.
    PyYAML is imported only here: a start that finds the phrase data in the cache folder never needs it."""
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def read_language(path: Path) -> Prepared:
    """A phrase file read, checked and its patterns turned into regex sources (nothing compiled yet)."""
    import yaml

    data = yaml.load(path.read_text(encoding="utf-8"), Loader=safe_loader())
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
        rules.append([rule_id, _plain(_sources(_strings(entry, "patterns", label), label, classes))])
    if not rules:
        raise PhraseDataError(f"{where}: no rules")
    exclusions: list[Source] = []
    for entry in data.get("exclusions") or []:
        label = f"{where} {entry.get('id')}"
        exclusions.extend(_sources(_strings(entry, "patterns", label), label, classes))
    return {
        "code": code,
        "name": name,
        "script": script.value,
        "markers": sorted(set(normalise(str(data.get("markers", ""))).split())),
        "letters": "".join(sorted(set(str(data.get("letters", ""))))),
        "rules": rules,
        "default": bool(data.get("default", False)),
        "exclusions": _plain(exclusions),
        "signals": _read_signals(data.get("signals"), where, classes),
    }


def build_language(prepared: Prepared, compile: Callable[[str], re.Pattern[str]] = re.compile) -> Language:
    """The language of `read_language`'s data, its combined patterns compiled (the rest when first needed)."""
    rules = [(rule_id, _unplain(sources)) for rule_id, sources in prepared["rules"]]
    signals = prepared["signals"]
    return Language(
        code=prepared["code"],
        name=prepared["name"],
        script=Script(prepared["script"]),
        markers=frozenset(prepared["markers"]),
        letters=frozenset(prepared["letters"]),
        rules=tuple(Rule(rule_id, tuple(source.regex for source in sources)) for rule_id, sources in rules),
        default=prepared["default"],
        exclusions=tuple(_unplain(prepared["exclusions"])),
        signals=None
        if signals is None
        else Signals(
            signals["window"],
            signals["threshold"],
            tuple(
                SignalGroup(group_id, weight, either(_unplain(sources), compile))
                for group_id, weight, sources in signals["groups"]
            ),
        ),
        any_rule=either([source for _, sources in rules for source in sources], compile),
    )


def _read_signals(data: Any, where: str, classes: dict[str, str]) -> dict[str, Any] | None:
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
        sources = _sources(_strings(entry, "patterns", group_label), group_label, classes)
        if not sources:
            raise PhraseDataError(f"{group_label}: no patterns")
        groups.append([entry["id"], weight, _plain(sources)])
    if window < 1 or threshold <= 0 or len(groups) < 2:
        raise PhraseDataError(f"{label}: needs a positive window and threshold and at least two groups")
    return {"window": window, "threshold": threshold, "groups": groups}


class Detector:
    def __init__(self, languages: Iterable[Language], compile: Callable[[str], re.Pattern[str]] = re.compile) -> None:
        # Attached by bot.services.crisis.model once loaded; until then the phrase data alone answers.
        self.model: ModelMatcher | None = None
        self.model_veto = MODEL_VETO
        self._model_failed = False
        self.languages = tuple(languages)
        self.codes = tuple(language.code for language in self.languages)
        # Exclusions apply across the languages of one script: they are narrow (they hold the very words a
        # rule matched), and folded Ukrainian and Russian, or Spanish and Italian, share words.
        self.exclusion_sources: dict[Script, tuple[Source, ...]] = {
            script: tuple(
                source for language in self.languages if language.script is script for source in language.exclusions
            )
            for script in Script
        }
        # All of a script's exclusions in one search, for the common question "does any apply at all?".
        self.any_exclusion = {script: either(sources, compile) for script, sources in self.exclusion_sources.items()}
        # Compiled one by one when a message first needs them (when `any_exclusion` matched).
        self._exclusions: dict[Script, tuple[re.Pattern[str], ...]] = {}

    def exclusions(self, script: Script) -> tuple[re.Pattern[str], ...]:
        found = self._exclusions.get(script)
        if found is None:
            found = self._exclusions[script] = tuple(
                re.compile(source.regex) for source in self.exclusion_sources[script]
            )
        return found

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
            exclusions = self.exclusions(reading.script) if excluded else ()
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
    # The shipped phrase data is read once and kept, checked and translated to regex sources, in the cache
    # folder (about half of the time it takes to load); another folder (a test's) is read every time.
    cache = _cache_path() if directory.resolve() == PHRASES_DIR else None
    # The combined patterns' compiled programs too (bot/services/regex_cache.py): compiling them was most of the
    # rest of the start.
    patterns = RegexCache(None if cache is None else cache.with_name(PATTERNS_FILE))
    languages = _from_prepared(cache, paths, patterns.compile) if cache is not None else None
    if languages is None:
        prepared = [read_language(path) for path in paths]
        languages = [build_language(language, patterns.compile) for language in prepared]
        if cache is not None:
            _write_prepared(cache, paths, prepared)
    # A file marked `default: true` is the language of last resort for its script.
    languages.sort(key=lambda language: (not language.default, language.code))
    detector = Detector(languages, patterns.compile)
    patterns.save()
    return detector


PREPARED_FILE = "crisis-phrases.json"
PATTERNS_FILE = "crisis-patterns.bin"
PREPARED_FORMAT = 1
# The code that turns a phrase file into regex sources: a change to it makes the cache file stale.
_PREPARING_CODE = ("detect.py", "patterns.py", "normalise.py")


def prepared_path() -> Path:
    from bot.services.cache_dir import cache_folder

    return cache_folder() / PREPARED_FILE


def _cache_path() -> Path | None:
    try:
        return prepared_path()
    except Exception as exc:  # no home folder to find: the phrase files are read, as before the cache
        log.warning("crisis check: no cache folder (%r); reading the phrase files", exc)
        return None


def prepared_fingerprint(paths: Sequence[Path]) -> str:
    """What the prepared data is made of: the phrase files, the code that reads them, Python and PyYAML."""
    digest = hashlib.sha256(f"format {PREPARED_FORMAT} python {sys.version}".encode())
    here = Path(__file__).resolve().parent
    for path in [here / name for name in _PREPARING_CODE] + [_pyyaml_init()] + list(paths):
        content = path.read_bytes()
        digest.update(f"\x00{path.name} {len(content)}\x00".encode() + content)
    return digest.hexdigest()


def _pyyaml_init() -> Path:
    """PyYAML's __init__.py, which holds its __version__: found without importing PyYAML (about 15 ms), which a
    start that reads the phrase data from the cache folder does not need."""
    from importlib.util import find_spec

    spec = find_spec("yaml")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("PyYAML is not installed")
    return Path(spec.origin)


def _from_prepared(
    cache: Path, paths: Sequence[Path], compile: Callable[[str], re.Pattern[str]] = re.compile
) -> list[Language] | None:
    """The languages kept in `cache` for these files; None when it is missing, stale or damaged (then the
    phrase files are read and the file rewritten)."""
    try:
        stored = json.loads(cache.read_bytes())
        if not isinstance(stored, dict) or stored.get("fingerprint") != prepared_fingerprint(paths):
            return None  # another release's or another edit's: stale
        prepared = stored["languages"]
        if not isinstance(prepared, list) or len(prepared) != len(paths):
            raise ValueError(f"{len(prepared)} languages for {len(paths)} phrase files")
        return [build_language(language, compile) for language in prepared]
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged file
        log.warning("crisis check: phrase data file %s ignored (%r); reading the phrase files", cache, exc)
        return None


def _write_prepared(cache: Path, paths: Sequence[Path], prepared: list[Prepared]) -> None:
    from bot.services.cache_dir import write_atomically

    try:
        document = {"fingerprint": prepared_fingerprint(paths), "languages": prepared}
        write_atomically(cache, json.dumps(document, ensure_ascii=False).encode("utf-8"))
    except Exception as exc:  # an unwritable folder: the phrase files are read in every process, as before
        log.warning("crisis check: phrase data not kept in %s (%r); read in this process", cache, exc)


@functools.cache
def default_detector() -> Detector:
    return load_detector()
