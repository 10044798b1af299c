"""The five speed figures of issue 16, each with its target, on a farmer log built from the
sample's lines (bench/farmer_log.py: 70 % plotting, 16 % signed rewards).

1. ``cosmos ingest`` of N json-file lines and of the same lines as plain text: lines/s (median of
   3 fresh databases), and its time as a multiple of ``grep -c`` and of a bare Python
   ``for line in f`` loop over the same file run in this process (ratios hold on a busy machine).
2. Docker Engine path vs file path: the same lines through the log collector into SQLite, from a
   plain file and from the fake Engine API (a process of its own, as dockerd is) with the real
   ``docker`` SDK; the time ratio.
3. Restart with nothing new at 10k and N lines: the whole ``cosmos ingest`` process, the bare
   start-up of that process (imports only), and the work beyond it.
4. ``/rewards`` 7d with its chart on a year of 100 farms, asked again with nothing new.
5. Peak RSS of ``cosmos ingest`` at N and (``--rss-lines``) 10M lines.

Every figure line carries the load average of the moment: the machine is shared.

    .venv/bin/python bench/bench_speed.py [--lines 1000000] [--docker-lines 200000]
        [--rss-lines 10000000] [--only ingest,docker,restart,rewards,rss] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.farmer_log import farmer_lines, write_log  # noqa: E402

OUT = REPO / "bench" / "out"

CHILD = """
import resource, sys, time
started = time.perf_counter()
sys.path.insert(0, {repo!r})
from bot.__main__ import main
imported = time.perf_counter()
code = main(["ingest", *sys.argv[2:], "--db", sys.argv[1]]) if sys.argv[2:] else 0
done = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
worker = resource.getrusage(resource.RUSAGE_CHILDREN)  # the planning process, if one ran
cpu = usage.ru_utime + usage.ru_stime + worker.ru_utime + worker.ru_stime
print(f"RESULT {{code}} {{imported - started:.4f}} {{done - imported:.4f}} {{usage.ru_maxrss}}"
      f" {{cpu:.3f}}", file=sys.stderr)
"""


def load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def _rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)


def _tree(pid: int) -> list[int]:
    """The process and its children (the planning process), from /proc."""
    found = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


class Child:
    """One ``cosmos ingest`` in a fresh process: wall time of the process, of the imports, of
    ``main`` itself, and peak RSS: of the process alone (its own ru_maxrss), and of it and its
    planning process together (their RSS added, sampled every 10 ms; a child's ru_maxrss would
    count the parent's pages it shared between fork and exec)."""

    def __init__(self, db: Path, *logs: Path) -> None:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD.format(repo=str(REPO)), str(db), *map(str, logs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=db.parent,
        )
        peak = [0]

        def sample() -> None:
            while process.poll() is None:
                peak[0] = max(peak[0], sum(_rss_kib(p) for p in _tree(process.pid)))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stdout, stderr = process.communicate()
        self.wall = time.perf_counter() - started
        sampler.join()
        results = [line for line in stderr.splitlines() if line.startswith("RESULT ")]
        if process.returncode or not results:
            raise SystemExit(f"cosmos ingest failed:\n{stdout}\n{stderr[-3000:]}")
        _, code, imports, main, rss_kib, cpu = results[-1].split()
        if code != "0":
            raise SystemExit(f"cosmos ingest exited {code}:\n{stdout}\n{stderr}")
        self.imports, self.main = float(imports), float(main)
        self.main_rss_mib = int(rss_kib) / 1024
        self.rss_mib = max(peak[0] / 1024, self.main_rss_mib)
        self.cpu = float(cpu)  # user + system, all threads and the worker, start-up included
        self.stdout = stdout


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path


def ensure_log(lines: int, *, json_file: bool) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"farmer-{lines}.{'json' if json_file else 'plain'}.log"
    if not path.exists():
        started = time.perf_counter()
        write_log(path.with_suffix(".tmp"), lines, json_file=json_file)
        path.with_suffix(".tmp").rename(path)
        print(f"  (wrote {path.name} in {time.perf_counter() - started:.0f} s)")
    return path


def grep_seconds(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["grep", "-c", "Successfully signed reward hash", str(path)],
        check=False,
        capture_output=True,
    )
    return time.perf_counter() - started


def loop_seconds(path: Path) -> float:
    started = time.perf_counter()
    count = 0
    with path.open(encoding="utf-8") as f:
        for _ in f:
            count += 1
    return time.perf_counter() - started


# --- 1. ingest ---------------------------------------------------------------------------------


def bench_ingest(lines: int, runs: int) -> None:
    print(
        f"1. cosmos ingest, {lines:,} lines, fresh database, median of {runs}"
        " (target >= 100,000 lines/s)"
    )
    for json_file in (True, False):
        log = ensure_log(lines, json_file=json_file)
        grep = median_of(runs, lambda log=log: grep_seconds(log))
        loop = median_of(runs, lambda log=log: loop_seconds(log))
        mains: list[float] = []
        cpus: list[float] = []
        for _ in range(runs):
            child = Child(fresh(OUT / "speed.db"), log)
            mains.append(child.main)
            cpus.append(child.cpu)
        took = statistics.median(mains)
        cpu = statistics.median(cpus)
        kind = "json-file" if json_file else "plain    "
        print(
            f"   {kind}: {lines / took:>9,.0f} lines/s ({took:.2f} s; runs "
            + " ".join(f"{m:.2f}" for m in mains)
            + f") = {took / grep:.0f}x grep -c ({grep:.3f} s), {took / loop:.1f}x a Python"
            f" line loop ({loop:.3f} s); {cpu:.2f} CPU s = {lines / cpu:,.0f} lines per CPU"
            f" second; {load()}"
        )


# --- 2. Docker vs file -------------------------------------------------------------------------

ENGINE = """
import sys, time, signal
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.fakes.docker_engine import FakeDockerEngine
engine = FakeDockerEngine(Path(sys.argv[1])).start()
container = engine.add_container("farmer", "ghcr.io/autonomys/farmer:latest")
container.created = int(sys.argv[3]) // 1_000_000
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f:
        text, _, us = line.rstrip("\\n").rpartition("\\t")
        engine.append_entry("farmer", text, int(us) * 1000)
engine.flush()
print(engine.base_url, flush=True)
signal.sigwait({{signal.SIGTERM, signal.SIGINT}})
engine.close()
"""


async def _collect(
    source_kind: str, lines: int, folder: Path, base_url: str | None, path: Path | None
) -> tuple[float, float]:
    from collectors.clock import SystemClock
    from collectors.ingest import LogIngestor
    from collectors.logs_collector import LogCollector
    from collectors.settings import DockerHost, LogFile, LogsSettings
    from collectors.store.database import Database
    from collectors.store.farmers import FarmerStore

    db = Database(fresh(folder / f"{source_kind}.db"))
    await db.initialize()
    clock = SystemClock()
    farmers = FarmerStore(db)
    await farmers.ensure_primary("bench", clock.now_us())
    if source_kind == "file":
        assert path is not None
        settings = LogsSettings(files=[LogFile(path=path, role="farmer")])
    else:
        assert base_url is not None
        settings = LogsSettings(
            docker=[DockerHost(host="local", base_url=base_url, farmer_container="farmer")]
        )
    collector = LogCollector(
        settings,
        LogIngestor(db, farmers, clock),
        clock,
        farmer_name="bench",
        progress_seconds=3600,
    )
    started = time.perf_counter()
    cpu_started = time.process_time()
    task = asyncio.get_running_loop().create_task(collector.run())
    try:
        while True:
            done = sum(s.lines_ingested for s in collector.source_statuses())
            if done >= lines:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await db.close()
    return took, cpu


def bench_docker(lines: int, runs: int) -> None:
    print(
        f"2. Docker Engine API vs file, {lines:,} lines through the log collector into SQLite,"
        f" median of {runs} (target: Docker within 1.25x of file)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        folder = Path(tmp)
        plain = folder / "farmer.log"
        stamped = folder / "entries.tsv"
        with plain.open("w", encoding="utf-8") as p, stamped.open("w", encoding="utf-8") as s:
            first_us = None
            for text, us in farmer_lines(lines):
                first_us = first_us or us
                p.write(text + "\n")
                s.write(f"{text}\t{us}\n")
        engine = subprocess.Popen(
            [
                sys.executable,
                "-c",
                ENGINE.format(repo=str(REPO)),
                str(folder),
                str(stamped),
                str(first_us),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert engine.stdout is not None
            base_url = engine.stdout.readline().strip()
            asyncio.run(_collect("file", min(lines, 10_000), folder, None, plain))  # warm caches
            files: list[tuple[float, float]] = []
            dockers: list[tuple[float, float]] = []
            for _ in range(runs):  # interleaved, so that a busy moment weighs on both paths
                files.append(asyncio.run(_collect("file", lines, folder, None, plain)))
                dockers.append(asyncio.run(_collect("docker", lines, folder, base_url, None)))
        finally:
            engine.terminate()
            engine.wait(10)
    file_s, file_cpu = (statistics.median(x) for x in zip(*files, strict=True))
    docker_s, docker_cpu = (statistics.median(x) for x in zip(*dockers, strict=True))
    pairs = sorted(d[0] / f[0] for f, d in zip(files, dockers, strict=True))
    print(f"   file:   {lines / file_s:>9,.0f} lines/s ({file_s:.2f} s, {file_cpu:.2f} CPU s)")
    print(
        f"   docker: {lines / docker_s:>9,.0f} lines/s ({docker_s:.2f} s, {docker_cpu:.2f} CPU s)"
        f" = {docker_s / file_s:.2f}x the file path's time, {docker_cpu / file_cpu:.2f}x its"
        f" CPU (cosmos's process; the fake Engine runs in its own); {load()}"
    )
    print("   docker/file time, run by run: " + " ".join(f"{r:.2f}x" for r in pairs))


# --- 3. restart --------------------------------------------------------------------------------


def bench_restart(lines: int, runs: int) -> None:
    print(
        f"3. restart with nothing new, median of {runs}"
        " (target: work beyond start-up < 0.3 s, all < 0.6 s)"
    )
    bares = [Child(fresh(OUT / "bare.db")) for _ in range(runs)]
    bare = statistics.median(c.wall for c in bares)
    bare_cpu = statistics.median(c.cpu for c in bares)
    print(f"   process start-up alone (interpreter + imports): {bare:.3f} s, {bare_cpu:.3f} CPU s")
    for count in sorted({10_000, lines}):
        log = ensure_log(count, json_file=True)
        db = fresh(OUT / f"restart-{count}.db")
        Child(db, log)
        children = [Child(db, log) for _ in range(runs)]
        assert all(" 0 new lines" in c.stdout for c in children), children[0].stdout
        wall = statistics.median(c.wall for c in children)
        main = statistics.median(c.main for c in children)
        cpu = statistics.median(c.cpu for c in children)
        print(
            f"   {count:>9,} lines stored: {wall:.3f} s in all, {wall - bare:.3f} s beyond"
            f" start-up ({main:.3f} s inside the command); CPU {cpu:.3f} s in all,"
            f" {cpu - bare_cpu:.3f} s beyond start-up; {load()}"
        )


# --- 4. /rewards -------------------------------------------------------------------------------


def bench_rewards(runs: int) -> None:
    print("4. /rewards 7d with its chart, a year of 100 farms (target < 30 ms)")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "bench_views.py"),
            "--runs",
            str(max(runs, 10)),
            "--periods",
            "7d,1y",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("/rewards"):
            print(f"   {line}; {load()}")
    if done.returncode:
        print(done.stderr[-2000:])


# --- 5. memory ---------------------------------------------------------------------------------


def bench_rss(sizes: list[int]) -> None:
    print("5. peak RSS of cosmos ingest (target < 100 MB)")
    for count in sizes:
        log = ensure_log(count, json_file=True)
        child = Child(fresh(OUT / f"rss-{count}.db"), log)
        print(
            f"   {count:>10,} json-file lines: {child.rss_mib:.0f} MiB, cosmos and its planning"
            f" process together (cosmos alone {child.main_rss_mib:.0f} MiB;"
            f" {count / child.main:,.0f} lines/s); {load()}"
        )
        fresh(OUT / f"rss-{count}.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--docker-lines", type=int, default=200_000)
    parser.add_argument("--rss-lines", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="ingest,docker,restart,rewards,rss")
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"{os.cpu_count()} CPUs; {load()}")
    if "ingest" in only:
        bench_ingest(args.lines, args.runs)
    if "docker" in only:
        bench_docker(args.docker_lines, args.runs)
    if "restart" in only:
        bench_restart(args.lines, args.runs)
    if "rewards" in only:
        bench_rewards(args.runs)
    if "rss" in only:
        bench_rss(sorted({args.lines, args.rss_lines}))


if __name__ == "__main__":
    main()
