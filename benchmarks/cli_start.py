"""`python -m benchmarks.cli_start`: how soon each audit command prints its first line (printed, nothing asserted).

Each command runs as the operator runs it (`bookbot ...` in a new process, one line on stdin) and the clock
stops at the first byte on stdout. "cold" is the first run with an empty cache folder (BOOKBOT_CACHE_DIR: the
crisis model's exemplar vectors and the zone index still to be computed), "warm" the median of the runs after
it, the caches in place. `slots` needs a database: a throw-away SQLite file with examples/catalog.yaml.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOKBOT = [sys.executable, "-m", "bot.cli"]
CATALOG = ROOT / "examples" / "catalog.yaml"

# name, arguments, one line of stdin
COMMANDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("--help", ("--help",), ""),
    ("slots", ("slots", "--pro", "anna-koval", "--service", "intro-call", "--from", "2026-12-07", "--days", "1"), ""),
    ("when", ("when", "--tz", "Europe/Kyiv", "--now", "2026-12-01T10:00:00"), "tomorrow at 3pm\n"),
    ("zone-search", ("zone-search",), "kyiv\n"),
    ("crisis-scan", ("crisis-scan",), "hello\n"),
    ("crisis-scan --no-model", ("crisis-scan", "--no-model"), "hello\n"),
    ("crisis-resources", ("crisis-resources", "--country", "UA"), ""),
)


def first_output(arguments: Sequence[str], stdin: str, environment: dict[str, str]) -> float:
    """Seconds from starting the command to its first byte on stdout (the whole run must succeed)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*BOOKBOT, *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=ROOT,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(stdin.encode())
    process.stdin.close()
    process.stdout.read(1)
    elapsed = time.perf_counter() - started
    process.stdout.read()
    error = process.stderr.read() if process.stderr else b""
    if process.wait() != 0:
        raise RuntimeError(f"bookbot {' '.join(arguments)} failed: {error.decode(errors='replace')[-500:]}")
    return elapsed


def _database(scratch: Path, environment: dict[str, str]) -> None:
    environment["DATABASE_URL"] = f"sqlite+aiosqlite:///{scratch / 'bench.db'}"
    for arguments in (("db", "upgrade"), ("import", str(CATALOG))):
        subprocess.run([*BOOKBOT, *arguments], env=environment, cwd=ROOT, check=True, capture_output=True)


def measure(runs: int = 5, only: Sequence[str] = ()) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bookbot-cli-start-"))
    try:
        environment = {key: value for key, value in os.environ.items() if key != "BOOKBOT_CRISIS_MODEL"}
        _database(scratch, environment)
        for name, arguments, stdin in COMMANDS:
            if only and name.split()[0] not in only:
                continue
            # An empty cache folder per command: its first run is the cold one.
            environment["BOOKBOT_CACHE_DIR"] = str(scratch / f"cache-{name.replace(' ', '_')}")
            cold = first_output(arguments, stdin, environment)
            warm = [first_output(arguments, stdin, environment) for _ in range(runs)]
            print(
                f"  bookbot {name:24} first output: cold {cold:5.2f} s, warm median {statistics.median(warm):5.2f} s"
                f" (min {min(warm):4.2f}, max {max(warm):4.2f}, {runs} runs)"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm runs of each command (default 5)")
    parser.add_argument("only", nargs="*", help="command names to measure (default: all)")
    arguments = parser.parse_args()
    print("Audit commands: time to first output")
    measure(arguments.runs, arguments.only)
