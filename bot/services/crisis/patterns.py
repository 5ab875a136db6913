"""The phrase-pattern language of the data files (phrases/README.md), compiled to regular expressions
over normalised text.

A compiled pattern matches inside ``" " + normalise(text) + " "``; every word it matches takes its
trailing space with it, so words never match inside other words and spans of rules and exclusions can
be compared directly.
"""

from __future__ import annotations

import re

from bot.services.crisis.normalise import normalise

GAPS = {"*": r"(?:\S+ ){0,3}", "**": r"(?:\S+ ){0,6}"}
# `^` the message starts here, `$` it ends here: a phrase that is a crisis alone but not as the start of a
# longer request ("ich will nicht mehr" against "ich will nicht mehr warten").
ANCHORS = {"^": r"(?<=^ )", "$": r"$"}


class PatternError(ValueError):
    pass


def _word(token: str) -> str:
    prefix = token.endswith("~")
    core = normalise(token.rstrip("~"))
    if not core:
        raise PatternError(f"nothing to match in {token!r}")
    regex = re.escape(core).replace(r"\ ", " ")
    return regex + (r"\w* " if prefix else " ")


def _token(token: str) -> str:
    return GAPS.get(token) or ANCHORS.get(token) or _word(token)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.at = 0

    def sequence(self, inside_group: bool) -> str:
        parts: list[str] = []
        word = ""
        while self.at < len(self.source):
            char = self.source[self.at]
            if char in "|}" and inside_group:
                break
            if char in "|}":
                raise PatternError(f"{char!r} outside braces in {self.source!r}")
            self.at += 1
            if char == "{":
                if word:
                    raise PatternError(f"a group must follow a space in {self.source!r}")
                parts.append(self.group())
            elif char.isspace():
                if word:
                    parts.append(_token(word))
                    word = ""
            else:
                word += char
        if word:
            parts.append(_token(word))
        return "".join(parts)

    def group(self) -> str:
        options: list[str] = []
        while True:
            options.append(self.sequence(inside_group=True))
            if self.at >= len(self.source):
                raise PatternError(f"unclosed brace in {self.source!r}")
            char = self.source[self.at]
            self.at += 1
            if char == "}":
                break
        present = [option for option in options if option]
        if not present:
            raise PatternError(f"a group with nothing to match in {self.source!r}")
        body = "(?:" + "|".join(present) + ")"
        return body + "?" if len(present) < len(options) else body


def pattern_source(source: str) -> str:
    """`source` in the data files' syntax -> the source of a regex to search in ``" " + normalised + " "``."""
    body = _Parser(source.strip()).sequence(inside_group=False)
    if not body:
        raise PatternError(f"empty pattern {source!r}")
    return r"(?<= )" + body


def compile_pattern(source: str) -> re.Pattern[str]:
    """`source` in the data files' syntax -> a regex to search in ``" " + normalised + " "``."""
    return re.compile(pattern_source(source))
