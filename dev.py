#!/usr/bin/env python3
"""Bootstrap and task runner: needs only Python 3.11+ on the machine.

    python3 dev.py setup    # create .venv with Bookbot installed (then use .venv/bin/bookbot)
    python3 dev.py demo     # the offline demo on the embedded defaults (arguments go to `bookbot demo`)
    python3 dev.py test     # ruff, mypy and the whole test suite (PostgreSQL and Redis included)
    python3 dev.py bench    # the benchmarks, printing their figures
    python3 dev.py help     # this text

It creates .venv beside this file on first use and reinstalls only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".bookbot-installed"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"Bookbot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("Installing Bookbot and its dependencies into .venv ...", flush=True)
        run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
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


def run(command: list[str]) -> None:
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


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
    elif task in {"help", "-h", "--help"}:
        print(__doc__)
    else:
        print(f"dev.py: unknown task {task!r}: one of setup, demo, test, bench, help", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
