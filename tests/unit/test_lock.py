"""requirements/lock.txt against pyproject.toml: the lock is what `python3 dev.py` installs, so a
dependency added or changed in pyproject.toml without `python3 dev.py lock` must fail here, not on the
next fresh machine.

Two checks, both offline:
- the lock's first line records a digest of the dependency tables it was made from (dependencies, every
  extra, requires-python, the build requirements; order and formatting aside); it is recomputed here
  with the very function dev.py writes it with, so any change to those tables asks for a new lock;
- independently of that digest, every requirement of pyproject.toml is pinned in the lock, exactly and
  with hashes, at a version its specifier admits (what pip would check at install time, read from the
  files alone).
"""

from __future__ import annotations

import importlib.util
import tomllib
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RELOCK = "pyproject.toml and requirements/lock.txt disagree: run `python3 dev.py lock` and commit the lock"


def _dev_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bookbot_dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = _dev_script()


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _lock_entries(text: str) -> list[tuple[Requirement, list[str]]]:
    """Each `name==version ; marker --hash=...` entry of a pip requirements file, continuation lines joined."""
    entries = []
    for logical in text.replace("\\\n", " ").splitlines():
        line = logical.strip()
        if not line or line.startswith("#"):
            continue
        requirement_part, *options = line.split(" --")
        hashes = [option.strip().removeprefix("hash=") for option in options if option.startswith("hash=")]
        entries.append((Requirement(requirement_part.strip()), hashes))
    return entries


def _pinned_versions() -> dict[str, list[str]]:
    pinned: dict[str, list[str]] = defaultdict(list)
    for requirement, _ in _lock_entries(dev.LOCK.read_text(encoding="utf-8")):
        (specifier,) = requirement.specifier
        pinned[canonicalize_name(requirement.name)].append(specifier.version)
    return pinned


def _pyproject_requirements() -> list[Requirement]:
    pyproject = _pyproject()
    project = pyproject["project"]
    texts = [*project["dependencies"], *pyproject["build-system"]["requires"]]
    for extra in project.get("optional-dependencies", {}).values():
        texts.extend(extra)
    return [Requirement(text) for text in texts]


def test_the_lock_records_the_dependency_tables_of_pyproject_as_they_are() -> None:
    recorded = dev.recorded_inputs_digest(dev.LOCK.read_text(encoding="utf-8"))
    assert recorded is not None, f"the lock has no '{dev.INPUTS_MARK.strip()}' first line. {RELOCK}"
    assert recorded == dev.lock_inputs_digest(dev.PYPROJECT.read_text(encoding="utf-8")), RELOCK


def test_every_requirement_of_pyproject_is_pinned_at_a_version_it_admits() -> None:
    pinned = _pinned_versions()
    for requirement in _pyproject_requirements():
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement} is not in the lock. {RELOCK}"
        refused = [version for version in versions if not requirement.specifier.contains(version, prereleases=True)]
        assert not refused, f"the lock pins {requirement.name}=={refused[0]}, outside {requirement}. {RELOCK}"


def test_every_lock_entry_is_an_exact_pin_with_hashes() -> None:
    entries = _lock_entries(dev.LOCK.read_text(encoding="utf-8"))
    assert len(entries) > 20
    for requirement, hashes in entries:
        assert [spec.operator for spec in requirement.specifier] == ["=="], f"{requirement} is not an exact pin"
        assert hashes, f"{requirement} has no hashes"
        assert all(digest.startswith("sha256:") and len(digest) == len("sha256:") + 64 for digest in hashes)


def test_the_lock_carries_the_tools_dev_py_runs() -> None:
    pinned = _pinned_versions()
    for tool in ("ruff", "mypy", "pytest", "uv", "setuptools", "babel"):
        assert tool in pinned, f"{tool} is not pinned"


@pytest.mark.parametrize(
    ("change", "relock"),
    [
        (lambda text: text.replace('"pyyaml>=6",\n    "apscheduler', '"apscheduler'), True),
        (lambda text: text.replace('"babel>=2.19"', '"babel>=2.20"'), True),
        (lambda text: text.replace('    "ruff', '    "made-up-tool>=1",\n    "ruff'), True),
        (lambda text: text.replace('requires = ["setuptools>=77"', 'requires = ["setuptools>=80"'), True),
        (lambda text: text.replace('version = "0.1.0"', 'version = "0.2.0"'), False),
        (
            lambda text: text.replace('    "pyyaml>=6",\n', "").replace(
                "dependencies = [\n", 'dependencies = [\n    "pyyaml>=6",\n'
            ),
            False,
        ),
    ],
    ids=[
        "dependency-removed",
        "range-changed",
        "dev-tool-added",
        "build-requirement-changed",
        "version-bump",
        "reordered",
    ],
)
def test_the_recorded_digest_changes_exactly_when_the_dependency_tables_do(change: Any, relock: bool) -> None:
    original = dev.PYPROJECT.read_text(encoding="utf-8")
    changed = change(original)
    assert changed != original, "the edit did not apply: update this test's pyproject snippets"
    assert (dev.lock_inputs_digest(changed) != dev.lock_inputs_digest(original)) is relock
