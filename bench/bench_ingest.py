"""Backfill speed and memory of ``cosmos ingest`` on a generated 1,000,000-line farmer log.

Prints figures; asserts nothing. Run from the repository root:

    .venv/bin/python bench/bench_ingest.py [--lines 1000000] [--out bench/out]

The log is Docker json-file, built from the sample's own lines by bench/farmer_log.py (70 %
plotting, 16 % signed rewards, farm blocks at every farmer start). bench_speed.py prints the
five figures of issue 16; this one the older backfill, restart and memory-by-size figures.
Every figure comes from a fresh process running the same code path
as ``cosmos ingest``; peak RSS is that process's ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.farmer_log import write_log  # noqa: E402

CHILD = """
import resource, sys, time
sys.path.insert(0, {repo!r})
from bot.__main__ import main
started = time.perf_counter()
code = main(["ingest", *sys.argv[2:], "--db", sys.argv[1]])
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
print(f"RESULT {{code}} {{elapsed:.3f}} {{usage.ru_maxrss}} {{cpu:.3f}}", file=sys.stderr)
"""


def head_lines(source: Path, target: Path, count: int) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        for i, line in enumerate(src):
            if i >= count:
                break
            dst.write(line)


def run_ingest(db: Path, *logs: Path) -> tuple[float, int, str, float]:
    """(seconds inside ``main``, peak RSS in MiB, stdout, CPU seconds of the whole process)
    of a fresh ``cosmos ingest``."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(repo=str(REPO)), str(db), *map(str, logs)],
        capture_output=True,
        text=True,
        check=True,
        cwd=db.parent,
    )
    wall = time.perf_counter() - started
    result = [line for line in done.stderr.splitlines() if line.startswith("RESULT ")][-1]
    _, code, elapsed, rss_kib, cpu = result.split()
    if code != "0":
        raise SystemExit(f"cosmos ingest exited {code}:\n{done.stdout}\n{done.stderr}")
    del wall
    return float(elapsed), int(rss_kib) // 1024, done.stdout, float(cpu)


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--regenerate", action="store_true", help="write the log even if present")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"farmer-{args.lines}.json.log"

    if args.regenerate or not log.exists():
        started = time.perf_counter()
        write_log(log, args.lines, json_file=True)  # seeded: the same file every time
        print(f"generated in {time.perf_counter() - started:.1f} s")
    size_mib = log.stat().st_size / 1_048_576
    print(f"log: {args.lines:,} json-file lines ({size_mib:.0f} MiB): {log}")

    started = time.perf_counter()
    grep = subprocess.run(
        ["grep", "-c", "Successfully signed reward hash", str(log)],
        capture_output=True,
        text=True,
        check=False,
    )
    grep_s = time.perf_counter() - started
    print(
        f"grep -c 'Successfully signed reward hash': {grep.stdout.strip()} lines in"
        f" {grep_s:.3f} s ({args.lines / grep_s:,.0f} lines/s) -- the floor"
    )

    # Other work on the machine slows the wall clock; CPU seconds show what the code costs.
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        f" on {os.cpu_count()} CPUs"
    )
    db = fresh(args.out / "bench.db")
    seconds, rss, stdout, cpu = run_ingest(db, log)
    rewards = next(
        (line.split()[1] for line in stdout.splitlines() if line.strip().startswith("reward_")),
        "?",
    )
    print(
        f"backfill into a fresh database: {args.lines:,} lines in {seconds:.2f} s ="
        f" {args.lines / seconds:,.0f} lines/s wall; {cpu:.2f} CPU s (user+sys, all threads,"
        f" start-up included) = {args.lines / cpu:,.0f} lines per CPU second;"
        f" peak RSS {rss} MiB; reward_signed lines counted: {rewards}"
    )

    seconds, rss, stdout, cpu = run_ingest(db, log)
    new = "0 new lines" in stdout
    print(
        f"restart with nothing new: {seconds:.3f} s inside the command, {cpu:.2f} CPU s for"
        f" the whole process (nothing re-read: {new}); peak RSS {rss} MiB"
    )

    print("peak RSS by log size (fresh database each):")
    for count in sorted({args.lines // 4, args.lines // 2, args.lines}):
        part = args.out / f"farmer-head-{count}.json.log"
        if count == args.lines:
            part = log
        else:
            head_lines(log, part, count)
        seconds, rss, _, cpu = run_ingest(fresh(args.out / f"bench-{count}.db"), part)
        print(
            f"  {count:>9,} lines: {rss:>4} MiB, {count / seconds:,.0f} lines/s wall,"
            f" {count / cpu:,.0f} lines per CPU second"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
