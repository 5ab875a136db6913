"""`python -m benchmarks.zone_search`: what the time zone search costs (printed, nothing asserted).

The index file's build time (when it is missing), the index's load time and the memory it keeps, then
the time of each query of tests/data/zone_queries.tsv
(plus their misspelt and prefixed cousins), repeated, once the index is loaded: median, p99 and worst.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

TABLE = Path(__file__).parent.parent / "tests" / "data" / "zone_queries.tsv"
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
ROUNDS = 5


def _resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _queries() -> list[tuple[str, str]]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            language, query = line.split("\t")[:2]
            rows.append((language, query))
            # A beginning and a typo of each: the slower tiers of the search.
            rows.append((language, query[: max(3, len(query) // 2)]))
            rows.append((language, query[:-2] + query[-1:] if len(query) > 4 else query))
    return rows


def main() -> None:
    gc.collect()
    before = _resident_mib()
    started, cpu_started = time.perf_counter(), time.process_time()
    from bot.services import zone_index, zone_search

    fresh = not zone_index.index_path().exists()
    zone_search.warm_up()  # the index file, built by a child process when missing
    prepared = time.perf_counter() - started
    zone_search._index()  # loaded from the file
    loaded, cpu = time.perf_counter() - started - prepared, time.process_time() - cpu_started
    gc.collect()
    after = _resident_mib()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    built = f"built in a child process in {prepared:.2f} s" if fresh else f"found in {prepared:.2f} s"
    print(f"index file {zone_index.index_path()}: {built}")
    print(f"index: loaded in {loaded:.2f} s, {cpu:.2f} s of CPU (imports included)")
    print(f"memory: resident +{after - before:.0f} MiB after loading, peak {peak:.0f} MiB")

    samples: list[float] = []
    queries = _queries()
    for _ in range(ROUNDS):
        for language, query in queries:
            begun = time.perf_counter()
            zone_search.search_zones(query, language, at=AT)
            samples.append(time.perf_counter() - begun)
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    median = statistics.median(samples) * 1000
    print(f"queries: {len(samples)} ({len(queries)} distinct x {ROUNDS})")
    print(f"query time: median {median:.2f} ms, p99 {p99 * 1000:.2f} ms, worst {ordered[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
