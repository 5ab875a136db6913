"""Text normalisation for the crisis check: every message and every phrase in the data files go through
the same steps, so a phrase written naturally ("don't want to live", "не хочу жити") matches the ways
people actually type it.

Steps (each undoes one way typing drifts from the dictionary form):
- Unicode compatibility forms, case folding, curly quotes: "DON’T" -> "don't".
- Apostrophes dropped ("don't" and "dont" meet), accents stripped ("mourir"/"móurir", "й" -> "и").
- Leetspeak inside words that also have letters ("k1ll" -> "kill", "su1c1d3" -> "suicide").
- Cyrillic folded to a skeleton where Ukrainian and Russian typing differ by keyboard: і/ї/ы -> и,
  є/э -> е, ґ/г/х -> х, щ -> ш, soft and hard signs dropped ("бiльше", "больше" -> "билше", "болше").
- Runs of one letter collapsed ("dieeee" -> "die", "kill" -> "kil"; phrases collapse the same way).
- Emoji that carry a tone become a word the data files can use: laughing faces "emojilaugh", sad faces
  and broken or black hearts "emojisad" (a joke said with a laugh; despair said without words).
- Anything that is not a letter or a digit becomes a word break.

`variants()` adds derived readings of a message, each tagged with its script: Latin text read as a
transliteration of Cyrillic ("ya ne hochu zhyt"), Latin typed on a Cyrillic keyboard layout by mistake
("z yt [jxe ;bnm") and the reverse ("ш цфте ещ вшу"). The tables below are about alphabets and
keyboards, not about any one language; phrases and languages live in the data files.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Script(StrEnum):
    LATIN = "latin"
    CYRILLIC = "cyrillic"


QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u0060": "'", "\u00b4": "'", "\u2032": "'"})
# Look-alike digits and symbols inside words.
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_CHARS = set("013457@$")
# Latin letters that carry no combining accent to strip.
EMOJI_WORDS = str.maketrans(
    # Laughing faces, then sad faces and broken, black or wilted hearts.
    dict.fromkeys("\U0001f602\U0001f923\U0001f605\U0001f606\U0001f639\U0001f601", " emojilaugh ")
    | dict.fromkeys("\U0001f614\U0001f61e\U0001f622\U0001f62d\U0001f61f\U0001f97a", " emojisad ")
    | dict.fromkeys("\U0001f494\U0001f5a4\U0001f940", " emojisad ")
)
LATIN_FOLD = str.maketrans({"ß": "ss", "ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i"})
# Letters that Ukrainian and Russian keyboards (and transliterations) swap for one another.
CYRILLIC_FOLD = str.maketrans(
    {
        "і": "и",
        "ї": "и",
        "ы": "и",
        "й": "и",
        "є": "е",
        "э": "е",
        "ё": "е",
        "ґ": "х",
        "г": "х",
        "щ": "ш",
        "ь": None,
        "ъ": None,
    }
)
# Latin transliteration of Cyrillic, longest spellings first (Russian and Ukrainian, formal and informal).
TRANSLIT: tuple[tuple[str, str], ...] = (
    ("shch", "ш"),
    ("sch", "ш"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("tz", "ц"),
    ("ya", "я"),
    ("ia", "я"),
    ("ja", "я"),
    ("yu", "ю"),
    ("iu", "ю"),
    ("ju", "ю"),
    ("yo", "е"),
    ("jo", "е"),
    ("ye", "е"),
    ("je", "е"),
    ("yi", "и"),
    ("a", "а"),
    ("b", "б"),
    ("v", "в"),
    ("w", "в"),
    ("g", "х"),
    ("h", "х"),
    ("d", "д"),
    ("e", "е"),
    ("z", "з"),
    ("i", "и"),
    ("y", "и"),
    ("j", "и"),
    ("k", "к"),
    ("q", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("f", "ф"),
    ("c", "ц"),
    ("x", "кс"),
)
_TRANSLIT_RE = re.compile("|".join(re.escape(latin) for latin, _ in TRANSLIT))
_TRANSLIT_MAP = dict(TRANSLIT)
# The same physical keys on a QWERTY and a ЙЦУКЕН keyboard (Ukrainian keys where they differ add to it).
_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюё"
LATIN_TO_CYRILLIC_KEYS = str.maketrans(dict(zip(_QWERTY, _JCUKEN, strict=True)))
CYRILLIC_TO_LATIN_KEYS = str.maketrans(
    {**dict(zip(_JCUKEN, _QWERTY, strict=True)), "і": "s", "ї": "]", "є": "'", "ґ": "`"}
)

# Letters that look alike in both alphabets: a word typed mostly in one script with a few look-alikes
# from the other ("бiльше" with a Latin i, "kіll" with a Cyrillic і) is read wholly in its main script.
_LOOKALIKE_LATIN = "aceiopxykmthb"
_LOOKALIKE_CYRILLIC = "асеиорхукмтнв"
TO_CYRILLIC_LOOKALIKES = str.maketrans({**dict(zip(_LOOKALIKE_LATIN, _LOOKALIKE_CYRILLIC, strict=True)), "i": "і"})
TO_LATIN_LOOKALIKES = str.maketrans(
    {**dict(zip(_LOOKALIKE_CYRILLIC, _LOOKALIKE_LATIN, strict=True)), "і": "i", "н": "h", "в": "b"}
)

_WORD_BREAK = re.compile(r"[^\w]+|_+")
_REPEATS = re.compile(r"(\w)\1+")
_TOKEN = re.compile(r"\S+")


def _is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


_CYRILLIC_LETTER = re.compile("[\u0400-\u04ff]")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")
# Work only some texts need: look-alike letters of the other script inside a word, or look-alike digits.
_MIXED_WORD = re.compile("[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]")
_LEET_IN_WORD = re.compile(r"[013457@$]")


def script_of(text: str) -> Script | None:
    """The script most letters of `text` are in (None: no letters)."""
    cyrillic = len(_CYRILLIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if not cyrillic and not latin:
        return None
    return Script.CYRILLIC if cyrillic > latin else Script.LATIN


def _one_script(token: str) -> str:
    cyrillic = sum(1 for char in token if _is_cyrillic(char))
    latin = sum(1 for char in token if char.isascii() and char.isalpha())
    if cyrillic and latin:
        return token.translate(TO_CYRILLIC_LOOKALIKES if cyrillic >= latin else TO_LATIN_LOOKALIKES)
    return token


def _deleet(token: str) -> str:
    token = _one_script(token)
    if any(char in _LEET_CHARS for char in token) and any(char.isalpha() for char in token):
        return token.translate(LEET)
    return token


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _strip_accents(text: str) -> str:
    return _COMBINING.sub("", unicodedata.normalize("NFD", text))


def normalise(text: str) -> str:
    """The canonical form phrases are matched in: words of folded letters separated by single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTES).translate(EMOJI_WORDS).casefold()
    if _MIXED_WORD.search(text) or _LEET_IN_WORD.search(text):
        text = _TOKEN.sub(lambda match: _deleet(match.group()), text)
    text = text.replace("'", "")
    text = _strip_accents(text).translate(LATIN_FOLD).translate(CYRILLIC_FOLD)
    text = _WORD_BREAK.sub(" ", text)
    text = _REPEATS.sub(r"\1", text)
    return " ".join(text.split())


def transliterate(latin: str) -> str:
    """Latin letters read as a transliteration of Cyrillic (input already normalised)."""
    return _TRANSLIT_RE.sub(lambda match: _TRANSLIT_MAP[match.group()], latin)


@dataclass(frozen=True)
class Variant:
    """One reading of a message: its normalised text, the script it is in, and whether it is the text
    as typed (True) or derived from it (a transliteration or a keyboard-layout slip)."""

    text: str
    script: Script
    as_typed: bool


def variants(text: str) -> list[Variant]:
    """The readings of a message worth matching, the text as typed first."""
    lowered = unicodedata.normalize("NFKC", text).translate(QUOTES).casefold()
    readings: list[Variant] = []
    seen: set[tuple[str, Script]] = set()

    def add(candidate: str, script: Script, as_typed: bool) -> None:
        form = normalise(candidate)
        key = (form, script)
        if form and key not in seen:
            seen.add(key)
            readings.append(Variant(form, script, as_typed))

    main = script_of(lowered)
    if main is None:
        return readings
    add(lowered, main, True)
    # Mixed messages: the minority script read on its own, so a Ukrainian sentence inside English counts.
    other = Script.LATIN if main is Script.CYRILLIC else Script.CYRILLIC
    minority = "".join(
        char if (_is_cyrillic(char) == (other is Script.CYRILLIC)) or not char.isalpha() else " " for char in lowered
    )
    if script_of(minority) is other:
        add(minority, other, True)
    if main is Script.LATIN:
        add(normalise(transliterate(normalise(lowered))), Script.CYRILLIC, False)
        add(normalise(lowered.translate(LATIN_TO_CYRILLIC_KEYS)), Script.CYRILLIC, False)
    else:
        add(lowered.translate(CYRILLIC_TO_LATIN_KEYS), Script.LATIN, False)
    return readings
