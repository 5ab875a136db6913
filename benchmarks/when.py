"""`python3 dev.py bench when`: how long the free-text time parser takes per message.

Cold costs are measured in fresh interpreters (importing the parser; the first message with a month
name, which loads dateparser and its tables for that language); warm costs over the development set
(tests/data/when_dev.tsv), each phrase read `runs` times.
"""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DEV_SET = Path(__file__).parent.parent / "tests" / "data" / "when_dev.tsv"

_COLD = """
import time
started = time.perf_counter()
from datetime import datetime
from zoneinfo import ZoneInfo
from bot.services.time_request import parse_time_request
imported = time.perf_counter()
now = datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("Europe/Kyiv"))
parse_time_request({plain!r}, lang="uk", zone=now.tzinfo, now=now)
plain = time.perf_counter()
parse_time_request({month!r}, lang="uk", zone=now.tzinfo, now=now)
month = time.perf_counter()
print(imported - started, plain - imported, month - plain)
"""


def _cold(samples: int) -> None:
    script = _COLD.format(plain="завтра о 15:00", month="14 грудня о 10")
    rows = []
    for _ in range(samples):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        rows.append([float(value) * 1000 for value in done.stdout.split()])
    imported, plain, month = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"  cold, median of {samples} fresh interpreters:")
    print(f"    import the parser                     {imported:7.1f} ms (dateparser is not imported)")
    print(f"    first message, no month name          {plain:7.1f} ms (builds that language's patterns)")
    print(f"    first message with a month name       {month:7.1f} ms (imports dateparser, loads its tables)")


def _warm(runs: int) -> None:
    from bot.services.time_request import parse_time_request

    with DEV_SET.open(encoding="utf-8") as file:
        rows = list(csv.DictReader((line for line in file if not line.startswith("#")), delimiter="\t"))
    per_message: list[float] = []
    for row in rows:
        zone = ZoneInfo(row["zone"])
        now = datetime.fromisoformat(row["now"])
        session = None if row["session"] == "-" else datetime.fromisoformat(row["session"])
        parse_time_request(row["text"], lang=row["lang"], zone=zone, now=now, session=session)  # warm
        started = time.perf_counter()
        for _ in range(runs):
            parse_time_request(row["text"], lang=row["lang"], zone=zone, now=now, session=session)
        per_message.append((time.perf_counter() - started) / runs * 1000)
    ordered = sorted(per_message)
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    print(f"  warm, {len(rows)} phrases of the development set, {runs} runs each:")
    print(
        f"    per message: median {statistics.median(per_message):.3f} ms, p95 {p95:.3f} ms, "
        f"slowest {ordered[-1]:.3f} ms"
    )


def main(runs: int, cold_samples: int = 3) -> None:
    print("Free-text time parser (bookbot when)")
    _cold(cold_samples)
    _warm(runs)
