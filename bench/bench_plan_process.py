"""Where a planning process starts to pay: ``cosmos ingest`` of the first N MiB of the
json-file farmer log in one process and with a planning process (medians of 3, interleaved).
``WORKER_MIN_BYTES`` in collectors/plan_worker.py is set from this.

    .venv/bin/python bench/bench_plan_process.py [--sizes 2,8,16,32]

Needs bench/out/farmer-1000000.json.log (``bench_speed.py --only ingest`` writes it).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.ingest_command import backfill  # noqa: E402

LOG = REPO / "bench" / "out" / "farmer-1000000.json.log"


def ingest_seconds(path: Path, db: Path, *, second_process: bool) -> float:
    started = time.perf_counter()
    report = asyncio.run(
        backfill(
            [path],
            db,
            "bench",
            progress=io.StringIO(),
            worker_min_bytes=0 if second_process else 1 << 40,
        )
    )
    assert not report.files[0].error, report.files[0].error
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,8,16,32")
    args = parser.parse_args()
    if not LOG.is_file():
        raise SystemExit(f"{LOG} is missing: run bench/bench_speed.py --only ingest first")
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        folder = Path(tmp)
        for mib in (int(x) for x in args.sizes.split(",")):
            path = folder / f"farmer-{mib}.log"
            with LOG.open("rb") as f:
                path.write_bytes(f.read(mib << 20).rsplit(b"\n", 1)[0] + b"\n")
            one: list[float] = []
            two: list[float] = []
            for run in range(3):
                one.append(ingest_seconds(path, folder / f"{mib}-1-{run}.db", second_process=False))
                two.append(ingest_seconds(path, folder / f"{mib}-2-{run}.db", second_process=True))
            print(
                f"{mib:>4} MiB: one process {statistics.median(one):.2f} s,"
                f" with a planning process {statistics.median(two):.2f} s"
            )


if __name__ == "__main__":
    main()
