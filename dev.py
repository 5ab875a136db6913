#!/usr/bin/env python3
"""Bootstrap and task runner: needs only Python 3.11+ on the machine.

    python3 dev.py demo     # the offline demo on the embedded defaults (arguments go to `bookbot demo`)
    python3 dev.py test     # ruff, mypy and the whole test suite (PostgreSQL and Redis included)
    python3 dev.py bench    # the benchmarks, printing their figures
    python3 dev.py setup    # only create or update .venv (then use .venv/bin/bookbot, .venv/bin/pytest, ...)
    python3 dev.py lock     # regenerate requirements/lock.txt from pyproject.toml (after changing dependencies)
    python3 dev.py help     # this text

It creates .venv beside this file on first use and installs exactly what requirements/lock.txt pins
(every package, dev tools included, with its hashes), then Bookbot itself without dependencies. It
installs again whenever the lock or pyproject.toml changes. `lock` keeps every pin that pyproject.toml
still allows; extra arguments go to `uv pip compile`: `python3 dev.py lock --upgrade-package babel`
moves one package to its newest allowed release, `python3 dev.py lock --upgrade` all of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".bookbot-installed"
# The project is put on sys.path by a plain .pth line: setuptools' default editable finder is an import hook
# that every Python start imports (pathlib, urllib, ...): 10 to 40 ms of each `bookbot` command's start.
EDITABLE_MODE = "compat"
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements" / "lock.txt"

# The lock holds one set of pins for every supported Python and platform; it is resolved for the
# oldest supported Python so that no pin needs a newer one.
LOCK_PYTHON = "3.11"
LOCK_COMMAND = "python3 dev.py lock"
# The lock's first line records what it was made from; tests/unit/test_lock.py recomputes it.
INPUTS_MARK = "# pyproject.toml dependencies sha256: "


def lock_inputs(pyproject: dict[str, Any]) -> dict[str, Any]:
    """The parts of pyproject.toml the lock is made from, in a form that ignores order and formatting."""
    project = pyproject.get("project", {})
    extras = project.get("optional-dependencies", {})
    return {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {name: sorted(extras[name]) for name in sorted(extras)},
        "build-system": sorted(pyproject.get("build-system", {}).get("requires", [])),
    }


def lock_inputs_digest(pyproject_text: str) -> str:
    inputs = lock_inputs(tomllib.loads(pyproject_text))
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def recorded_inputs_digest(lock_text: str) -> str | None:
    first_line = lock_text.partition("\n")[0]
    return first_line.removeprefix(INPUTS_MARK).strip() if first_line.startswith(INPUTS_MARK) else None


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"Bookbot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not LOCK.exists():
        sys.exit(f"{LOCK.relative_to(ROOT)} is missing: restore it from git, or make it with `{LOCK_COMMAND}`")
    lock_text = LOCK.read_text(encoding="utf-8")
    pyproject_text = PYPROJECT.read_text(encoding="utf-8")
    if recorded_inputs_digest(lock_text) != lock_inputs_digest(pyproject_text):
        print(
            f"warning: pyproject.toml's dependencies changed since {LOCK.relative_to(ROOT)} was made; "
            f"run `{LOCK_COMMAND}` and commit the lock",
            file=sys.stderr,
            flush=True,
        )
    wanted = hashlib.sha256(
        lock_text.encode() + b"\0" + pyproject_text.encode() + b"\0" + EDITABLE_MODE.encode()
    ).hexdigest()
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print(f"Installing the pinned dependencies from {LOCK.relative_to(ROOT)} into .venv ...", flush=True)
        pip = [str(PYTHON), "-m", "pip", "install", "--quiet"]
        # Every package with its hashes: pip refuses a file that does not match, or a dependency the lock lacks.
        run([*pip, "--require-hashes", "-r", str(LOCK)])
        # The project itself: no dependencies (the lock has them) and built with the locked setuptools.
        run(
            [
                *pip,
                "--no-deps",
                "--no-build-isolation",
                "--config-settings",
                f"editable_mode={EDITABLE_MODE}",
                "-e",
                str(ROOT),
            ]
        )
        STAMP.write_text(wanted)
    compile_translations()


def compile_translations() -> None:
    """Build the .mo files aiogram's I18n loads; they are build output, not committed."""
    if any((ROOT / "locales").glob("*/LC_MESSAGES/messages.po")):
        run(
            [
                str(BIN / "pybabel"),
                "--quiet",
                "compile",
                "--use-fuzzy",
                "-d",
                str(ROOT / "locales"),
                "-D",
                "messages",
            ]
        )


def lock(uv_arguments: list[str]) -> None:
    """Resolve pyproject.toml (dev extra and build requirements included) into requirements/lock.txt with uv."""
    ensure_environment()  # uv itself comes from the lock
    pyproject_text = PYPROJECT.read_text(encoding="utf-8")
    build_requires = tomllib.loads(pyproject_text).get("build-system", {}).get("requires", [])
    LOCK.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        # The build requirements go in through a file whose name the lock's "# via" comments show.
        Path(scratch, "build-system.requires").write_text("".join(f"{line}\n" for line in build_requires))
        run(
            [
                str(BIN / "uv"),
                "pip",
                "compile",
                "--quiet",
                str(PYPROJECT),
                "build-system.requires",
                "--extra",
                "dev",
                "--universal",
                "--python-version",
                LOCK_PYTHON,
                "--generate-hashes",
                "--custom-compile-command",
                LOCK_COMMAND,
                "--output-file",
                str(LOCK),
                *uv_arguments,
            ],
            cwd=Path(scratch),
        )
    # uv names its input by absolute path ("# via bookbot (/home/me/bookbot/pyproject.toml)"); the lock
    # must not depend on where the clone lives.
    body = LOCK.read_text(encoding="utf-8").replace(str(PYPROJECT), PYPROJECT.name)
    if recorded_inputs_digest(body) is not None:
        body = body.partition("\n")[2]
    LOCK.write_text(f"{INPUTS_MARK}{lock_inputs_digest(pyproject_text)}\n{body}", encoding="utf-8")
    print(f"Wrote {LOCK.relative_to(ROOT)}; installing it ...", flush=True)
    ensure_environment()


def run(command: list[str], *, cwd: Path = ROOT) -> None:
    result = subprocess.run(command, cwd=cwd)
    if result.returncode != 0:
        sys.exit(result.returncode)


# Every task main() knows, as the help above lists them.
TASKS = ("demo", "test", "bench", "setup", "lock", "help")


def main(argv: list[str]) -> None:
    task = argv[0] if argv else "help"
    rest = argv[1:]
    if task == "demo":
        ensure_environment()
        os.execv(str(BIN / "bookbot"), [str(BIN / "bookbot"), "demo", *rest])
    elif task == "test":
        ensure_environment()
        run([str(BIN / "ruff"), "check", "."])
        run([str(BIN / "ruff"), "format", "--check", "."])
        run([str(BIN / "mypy")])
        run([str(PYTHON), "-m", "pytest", "-q", *rest])
    elif task == "bench":
        ensure_environment()
        run([str(PYTHON), "-m", "benchmarks", *rest])
    elif task == "setup":
        ensure_environment()
    elif task == "lock":
        lock(rest)
    elif task in {"help", "-h", "--help"}:
        print(__doc__)
    else:
        print(f"dev.py: unknown task {task!r}: one of {', '.join(TASKS)} (python3 dev.py help)", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
