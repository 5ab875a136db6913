"""Reading a catalog file: bytes to text to YAML nodes, with the line of any problem, then checked
(checking.py) into a Catalog."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.services.catalog.checking import CatalogChecker
from bot.services.catalog.spec import Catalog
from bot.services.errors import CatalogError


def load_catalog(path: Path, shown: str | None = None) -> Catalog:
    """Read and check the catalog at `path`; CatalogError (with the line where there is one) otherwise.

    `shown` is how messages name the file (default: `path` as given).
    """
    name = shown if shown is not None else str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError("no such file", path=name) from None
    except IsADirectoryError:
        raise CatalogError("is a directory, not a catalog file", path=name) from None
    except OSError as exc:
        raise CatalogError(f"cannot read it: {exc.strerror or exc}", path=name) from None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CatalogError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line, name) from None
    return parse_catalog(content, name)


def parse_catalog(content: str, source: str = "catalog") -> Catalog:
    """Check a catalog's text and return what it says; CatalogError naming `source` and the line otherwise."""
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise CatalogError(*_yaml_problem(exc), source) from None
    except yaml.reader.ReaderError as exc:
        line = content[: exc.position].count("\n") + 1
        raise CatalogError(f"invalid YAML: {exc.reason} (character {exc.character!r})", line, source) from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"invalid YAML: {exc}", path=source) from None
    if root is None:
        raise CatalogError("the file is empty: it needs a list of professionals", path=source)
    return CatalogChecker(source).catalog(root)


def _yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[str, int | None]:
    """PyYAML's message and line; the construct it was reading, when that began on another line."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = f"invalid YAML: {exc.problem or exc.context or 'unreadable'}"
    if exc.problem and exc.context and exc.context_mark is not None:
        started = exc.context_mark.line + 1
        message += f" ({exc.context} that starts on line {started})" if started != line else f" ({exc.context})"
    return message, line
