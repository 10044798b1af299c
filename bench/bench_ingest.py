"""Backfill speed and memory of ``cosmos ingest`` on a generated 1,000,000-line farmer log.

Prints figures; asserts nothing. Run from the repository root:

    .venv/bin/python bench/bench_ingest.py [--lines 1000000] [--out bench/out]

The log is Docker json-file, a realistic farmer mix: mostly plotting progress and signed
rewards, farm blocks at every farmer start (indices swap between runs), cache sync, warnings
and lines no parser tracks. Every figure comes from a fresh process running the same code path
as ``cosmos ingest``; peak RSS is that process's ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FARMS = [
    ("01JC6R9K8Q3X2V7N5M4T0B1YZD", "1.8 TiB (2.0 TB)", "/farms/nvme0"),
    ("01JC6R9K9F4W3Y8P6N5V1C2ZAE", "3.6 TiB (4.0 TB)", "/farms/hdd1"),
    ("01JD2Q7H5M8R3T6W9Y0A2B4CEF", "931.3 GiB (1.0 TB)", "/farms/hdd2"),
]
GENESIS = "0x66455a580aabff303720aa83adbe6c44502922251c03ba73686d5245da9e21bd"
RUN_LINES = 100_000  # a farmer restart (and a new drive order) every this many lines

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


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def generate(path: Path, total: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    t = datetime(2025, 6, 20, 8, 0, tzinfo=UTC)
    sectors = [0, 0, 0]
    written = 0
    run = 0
    with path.open("w", encoding="utf-8") as out:

        def emit(level: str, body: str) -> None:
            nonlocal t, written
            t += timedelta(microseconds=rng.randint(200, 4000))
            line = f"{_stamp(t)} {level:>5} {body}\n"
            received = _stamp(t + timedelta(microseconds=rng.randint(50, 900)))
            out.write(
                json.dumps(
                    {"log": line, "stream": "stdout", "time": received}, separators=(",", ":")
                )
                + "\n"
            )
            written += 1

        while written < total:
            order = list(range(3))
            if run % 2:
                order[0], order[1] = order[1], order[0]
            emit("INFO", "subspace_farmer::commands::farm: Connecting to node RPC url=ws://n:9944")
            emit("INFO", "libp2p_swarm: local_peer_id=12D3KooWeBkgBMESjCCVjoos4PQFX5kXzv7hzaRZ")
            for index in (1, 2, 0):
                farm_id, space, directory = FARMS[order[index]]
                span = f"{{farm_index={index}}}: subspace_farmer::commands::farm:"
                emit("INFO", f"{span} Farm {index}:")
                emit("INFO", f"{span}   ID: {farm_id}")
                emit("INFO", f"{span}   Genesis hash: {GENESIS}")
                emit("INFO", f"{span}   Public key: 0x{rng.getrandbits(256):064x}")
                emit("INFO", f"{span}   Allocated space: {space}")
                emit("INFO", f"{span}   Directory: {directory}")
            end = min(total, written + RUN_LINES)
            while written < end:
                roll = rng.random()
                index = rng.randrange(3)
                if roll < 0.72:
                    sectors[index] += 1
                    kind = "Replotting" if roll < 0.04 else "Plotting"
                    emit(
                        "INFO",
                        f"{{farm_index={index}}}:{{sector_index={sectors[index]}}}:"
                        f" subspace_farmer::single_disk_farm::plotting: {kind} sector"
                        f" ({sectors[index] / 400:.2f}% complete)",
                    )
                elif roll < 0.90:
                    emit(
                        "INFO",
                        f"{{farm_index={index}}}: subspace_farmer::single_disk_farm::"
                        f"reward_signing: Successfully signed reward hash"
                        f" 0x{rng.getrandbits(256):064x}",
                    )
                elif roll < 0.93:
                    emit(
                        "INFO",
                        "subspace_farmer::farmer_cache: Piece cache sync"
                        f" {rng.random() * 100:.2f}% complete (1.0 GiB / 65.2 GiB)",
                    )
                elif roll < 0.935:
                    emit(
                        "WARN",
                        f"{{farm_index={index}}}: subspace_farmer::single_disk_farm::farming:"
                        " Proving for solution skipped due to farming time limit"
                        f" slot={rng.randrange(10**8)} sector_index={rng.randrange(999)}",
                    )
                elif roll < 0.94:
                    emit(
                        "WARN",
                        f"{{farm_index={index}}}: subspace_farmer::single_disk_farm::farming:"
                        " Non-fatal farming error error=Failed read s-bucket 1 of sector 2:"
                        " Input/output error (os error 5)",
                    )
                else:
                    emit(
                        "INFO",
                        "subspace_farmer::commands::shared::network: DSN listening on"
                        f" /ip4/10.0.0.{rng.randrange(255)}/tcp/30533/p2p/12D3KooWeBkgBMESj",
                    )
            run += 1


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
        generate(log, args.lines)  # seeded: the same file every time
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
