"""Crisis check figures, each with the model layer off (the phrase data alone) and on: `bookbot crisis-scan`
throughput over the development set, the latency the crisis middleware adds to an ordinary (calm) update,
p50/p99, how long the model layer takes to load with and without its vectors file, and how soon
`bookbot crisis-scan` prints its first line. No database, no Telegram."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiogram.types import Update

from bot.middlewares.crisis import CrisisMiddleware
from bot.services.clock import FrozenClock
from bot.services.crisis.detect import default_detector, load_detector
from bot.services.crisis.model import load_model_layer
from models.db import make_engine, make_sessionmaker

DEV_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "crisis_dev.tsv"
NOW_TS = 1_795_000_000


def _dev_rows() -> list[tuple[bool, str]]:
    rows = []
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            _lang, expected, text = line.split("\t")
            rows.append((expected == "1", text))
    return rows


def bench_scan(rounds: int = 20, *, model: bool = False) -> None:
    texts = [text for _crisis, text in _dev_rows()]
    detector = default_detector()
    if model:
        detector = load_detector()
        detector.model = load_model_layer()
        rounds = max(1, rounds // 5)  # the model makes each calm message several times slower
    for text in texts:  # warm the caches
        detector.detect(text)
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            detector.detect(text)
    elapsed = time.perf_counter() - started
    count = rounds * len(texts)
    layers = "phrase data and model" if model else "phrase data alone"
    print(f"  crisis-scan ({layers}): {count / elapsed:8.0f} messages/s ({count} messages of the development set)")


def bench_model_load() -> None:
    """The model layer's load, in the background of `bookbot run`: its exemplar vectors computed (no file yet)
    and read from the cache folder's file."""
    from bot.services.crisis import model

    scratch = Path(tempfile.mkdtemp(prefix="bookbot-bench-crisis-"))
    try:
        cache = scratch / model.VECTORS_FILE
        for label in ("vectors computed and written", "vectors read from the file"):
            started = time.perf_counter()
            load_model_layer(cache=cache)
            print(f"  model layer loaded in {time.perf_counter() - started:5.2f} s ({label})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def bench_first_output(runs: int = 5) -> None:
    """`bookbot crisis-scan` started for one line: a greeting (the phrase data decides it, the model is never
    waited for) and a sentence the model is asked about; cold = an empty cache folder."""
    from benchmarks.cli_start import first_output

    scratch = Path(tempfile.mkdtemp(prefix="bookbot-bench-crisis-"))
    lines = (("hello", "a greeting"), ("i keep thinking everyone would cope fine without me around", "a sentence"))
    try:
        environment = {key: value for key, value in os.environ.items() if key != "BOOKBOT_CRISIS_MODEL"}
        for arguments in (("crisis-scan",), ("crisis-scan", "--no-model")):
            for line, what in lines:
                if "--no-model" in arguments and line != lines[0][0]:
                    continue
                environment["BOOKBOT_CACHE_DIR"] = str(scratch / f"cache-{len(arguments)}-{len(line)}")
                cold = first_output(arguments, line + "\n", environment)
                warm = [first_output(arguments, line + "\n", environment) for _ in range(runs)]
                print(
                    f"  bookbot {' '.join(arguments):24} first output for {what:10}: cold {cold:5.2f} s,"
                    f" warm median {statistics.median(warm):5.2f} s ({runs} runs)"
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _update(index: int, text: str) -> Update:
    person: dict[str, Any] = {"id": 1000 + index, "is_bot": False, "first_name": "Olena", "language_code": "en"}
    message = {
        "message_id": index + 1,
        "date": NOW_TS,
        "chat": {"id": person["id"], "type": "private", "first_name": "Olena"},
        "from": person,
        "text": text,
    }
    return Update.model_validate({"update_id": index + 1, "message": message})


async def bench_middleware(rounds: int = 10, *, model: bool = False) -> None:
    calm = [text for crisis, text in _dev_rows() if not crisis]
    updates = [_update(index, text) for index, text in enumerate(calm)]
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    detector = load_detector()
    if model:
        # The model layer is asked about every message the phrase data finds calm: the case measured here.
        detector.model = load_model_layer()
    middleware = CrisisMiddleware(make_sessionmaker(engine), FrozenClock(_epoch()), detector=detector)

    async def handler(event: Any, data: dict[str, Any]) -> None:
        return None

    for update in updates:
        await middleware(handler, update, {})
    samples = []
    for _ in range(rounds):
        for update in updates:
            started = time.perf_counter()
            await middleware(handler, update, {})
            samples.append(time.perf_counter() - started)
    await engine.dispose()
    samples.sort()
    p50 = samples[len(samples) // 2] * 1e6
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e6
    layers = "phrase data and model" if model else "phrase data alone"
    print(
        f"  middleware added latency per calm update ({layers}): p50 {p50:6.0f} µs, p99 {p99:6.0f} µs"
        f" ({len(samples)} updates)"
    )


def _epoch() -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(NOW_TS, tz=UTC)


def main() -> None:
    print("Crisis check (no database)")
    bench_scan()
    bench_scan(model=True)
    asyncio.run(bench_middleware())
    asyncio.run(bench_middleware(model=True))
    bench_model_load()
    bench_first_output()


if __name__ == "__main__":
    main()
