"""A YAML document walked as nodes rather than loaded into plain dicts, so every value still knows its
line and every error can say where it is. The catalog's own rules are in checking.py."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NoReturn, TypeVar

import yaml

from bot.services.errors import CatalogError

T = TypeVar("T")
D = TypeVar("D")
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"


def line(node: yaml.Node) -> int | None:
    return node.start_mark.line + 1 if node.start_mark is not None else None


def kind(node: yaml.Node) -> str:
    if node.tag == _NULL:
        return "nothing"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    written = str(node.value)
    if len(written) > 60:
        written = written[:57] + "..."
    # As written: quoted if YAML read it as text, bare if as a number, date or the like.
    return f'"{written}"' if node.tag == _STR else written


@dataclass
class Fields:
    """One YAML mapping: its node, and each key's (key node, value node)."""

    node: yaml.MappingNode
    items: dict[str, tuple[yaml.Node, yaml.Node]]
    what: str  # "professional", "service", ...: names the mapping in a "missing key" message

    def get(self, key: str) -> yaml.Node | None:
        found = self.items.get(key)
        return found[1] if found else None

    def has_value(self, key: str) -> bool:
        node = self.get(key)
        return node is not None and node.tag != _NULL


class NodeReader:
    """Turns nodes into typed values, raising CatalogError with the line of the node at fault."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()
        # Mappings already checked and merged: an alias can bring one node back, and merging twice
        # would make the merged keys look given twice.
        self.merged: set[int] = set()

    def fail(self, node: yaml.Node | None, message: str) -> NoReturn:
        raise CatalogError(message, line(node) if node is not None else None, self.source)

    # -- shapes ------------------------------------------------------------------------------------

    def mapping(self, node: yaml.Node, label: str, what: str, allowed: Sequence[str]) -> Fields:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{label}: expected a mapping of keys to values, got {kind(node)}")
        if id(node) not in self.merged:
            seen: dict[str, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.key(key_node, label)
                if key in seen:
                    self.fail(key_node, f"{key}: given twice (first on line {line(seen[key])})")
                seen[key] = key_node
            try:
                self.constructor.flatten_mapping(node)  # YAML merge keys ("<<: *defaults")
            except yaml.MarkedYAMLError as exc:
                self.fail(node, f"{label}: {exc.problem}")
            self.merged.add(id(node))
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, label)
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else f" (known: {', '.join(allowed)})"
                self.fail(key_node, f'unknown key "{key}" in {label}{hint}')
            items[key] = (key_node, value_node)
        return Fields(node, items, what)

    def key(self, node: yaml.Node, label: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            self.fail(node, f"{label}: keys must be names, got {kind(node)}")
        return str(node.value)

    def sequence(self, node: yaml.Node, label: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{label}: expected a list, got {kind(node)}")
        return list(node.value)

    def scalar(self, node: yaml.Node, label: str) -> object:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{label}: expected a single value, got {kind(node)}")
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            if node.tag == "tag:yaml.org,2002:timestamp":
                self.fail(node, f"{label}: {node.value} is not a valid date")
            self.fail(node, f"{label}: {kind(node)} cannot be read as {node.tag.rsplit(':', 1)[-1]}")

    def required(self, fields: Fields, key: str, read: Callable[[yaml.Node, str], T]) -> T:
        node = fields.get(key)
        if node is None:
            self.fail(fields.node, f'{fields.what}: missing "{key}"')
        if node.tag == _NULL:
            self.fail(node, f"{key}: needs a value")
        return read(node, key)

    def optional(self, fields: Fields, key: str, read: Callable[[yaml.Node, str], T], default: D) -> T | D:
        if not fields.has_value(key):
            return default
        node = fields.get(key)
        assert node is not None
        return read(node, key)

    # -- values -----------------------------------------------------------------------------------

    def text(self, node: yaml.Node, label: str, max_length: int | None = None, blank_ok: bool = False) -> str:
        value = self.scalar(node, label)
        if not isinstance(value, str):
            self.fail(node, f"{label}: expected text, got {kind(node)} (quote it)")
        value = value.strip()
        if not value and not blank_ok:
            self.fail(node, f"{label}: must not be empty")
        if max_length is not None and len(value) > max_length:
            self.fail(node, f"{label}: longer than {max_length} characters")
        return value

    def integer(self, node: yaml.Node, label: str, low: int, high: int) -> int:
        value = self.scalar(node, label)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, f"{label}: expected a whole number, got {kind(node)}")
        if not low <= value <= high:
            self.fail(node, f"{label}: {value} is not between {low} and {high}")
        return value

    def ranged(self, low: int, high: int) -> Callable[[yaml.Node, str], int]:
        return lambda node, label: self.integer(node, label, low, high)

    def boolean(self, node: yaml.Node, label: str) -> bool:
        value = self.scalar(node, label)
        if not isinstance(value, bool):
            self.fail(node, f"{label}: expected true or false, got {kind(node)}")
        return value

    def day(self, node: yaml.Node, label: str) -> date:
        value = self.scalar(node, label)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        self.fail(node, f"{label}: {kind(node)} is not a date (YYYY-MM-DD)")

    def choice(self, node: yaml.Node, label: str, choices: Sequence[str]) -> str:
        value = self.scalar(node, label)
        if value not in choices:
            self.fail(node, f"{label}: {kind(node)} is not one of {' | '.join(choices)}")
        assert isinstance(value, str)
        return value

    def strings(self, node: yaml.Node, label: str, check: Callable[[str], bool], expected: str) -> tuple[str, ...]:
        found: dict[str, yaml.Node] = {}
        for item in self.sequence(node, label):
            value = self.scalar(item, label)
            if not isinstance(value, str) or not check(value):
                self.fail(item, f"{label}: {kind(item)} is not {expected}")
            if value in found:
                self.fail(item, f'{label}: "{value}" is listed twice')
            found[value] = item
        return tuple(found)
