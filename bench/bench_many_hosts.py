"""Benchmark: one cosmos watching many farmer hosts (issue 7, point 5).

Run: ``.venv/bin/python bench/bench_many_hosts.py [--hosts 10,25] [--farms 10]``

For each host count H it starts H fake hosts in this process: per host a fake Docker Engine on
its own Unix socket with a farmer and a node container (lines in the upstream format, as in
``../shared/samples/farmer.log``: F farm blocks, plotting progress, signed rewards, the node's
informant and imports), a backlog of history to backfill, and lines arriving live at a
realistic rate; and a farmer (F farms, shaped like ``farmer_metrics.txt``) and a node metrics
endpoint on 127.0.0.1, each on its own port. ``cosmos run`` (console mode) runs as a separate
process with every host configured through environment variables, as a farmer would.

Measured from outside the cosmos process: time until the backlog of every source is in the
database (``log_sources.lines_total``), CPU % (``/proc/<pid>/stat`` utime+stime) and RSS
(``/proc/<pid>/status``) over a window of live following, threads and open descriptors, and
database growth (logical size, WAL included) extrapolated to an hour. The store does not record
scrape latency, so the time a scrape takes is read from the endpoints' side: the gap between two
requests of a target minus the configured interval (the runner sleeps the interval after each
scrape, so the rest is fetch + parse + store + waiting for the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aiohttp import web  # noqa: E402

from bench.bench_metrics import HEAD, farm_block  # noqa: E402
from tests.fakes.docker_engine import FakeDockerEngine  # noqa: E402

GENESIS = "0x66455a580aabff303720aa83adbe6c44502922251c03ba73686d5245da9e21bd"
FARMER_IMAGE = "ghcr.io/autonomys/farmer:mainnet-2025-jun-18"
NODE_IMAGE = "ghcr.io/autonomys/node:mainnet-2025-jun-18"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOTAL_SECTORS = 3775
FARMER = "subspace_farmer::commands::farm"
PLOTTING = "subspace_farmer::single_disk_farm::plotting"
SIGNING = "subspace_farmer::single_disk_farm::reward_signing"
CACHE = "subspace_farmer::farmer_cache"
SUBSTRATE = "substrate"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- lines in the upstream format --------------------------------------------------------------


def stamp(ts_ns: int) -> str:
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{nanos // 1000:06d}Z"


def ulid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "01J" + "".join(CROCKFORD[b % 32] for b in digest[:23])


def short_hash(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(16):04x}…{rng.getrandbits(16):04x}"


@dataclass
class FarmerLog:
    """One host's farmer: F farms plotting, winning a reward now and then."""

    host: int
    farms: int
    plot_every_s: float
    reward_every_s: float
    rng: random.Random = field(default_factory=random.Random)
    farm_ids: list[str] = field(default_factory=list)
    plotted: list[int] = field(default_factory=list)
    next_plot: list[float] = field(default_factory=list)
    next_reward: list[float] = field(default_factory=list)
    rewards: int = 0

    def __post_init__(self) -> None:
        self.rng.seed(f"farmer-{self.host}")
        self.farm_ids = [ulid(f"host{self.host}-farm{k}") for k in range(self.farms)]
        self.plotted = [self.rng.randrange(500, 2500) for _ in range(self.farms)]

    def start(self, t: float) -> list[tuple[float, str]]:
        """The start of a run: connect, one block per farm, piece cache sync."""
        out = [(t, f" INFO {FARMER}: Connecting to node RPC url=ws://172.18.0.2:9944")]
        for k, farm_id in enumerate(self.farm_ids):
            t += 0.3
            span = f" INFO {{farm_index={k}}}: {FARMER}:"
            key = hashlib.sha256(farm_id.encode()).hexdigest()
            out += [
                (t, f"{span} Farm {k}:"),
                (t, f"{span}   ID: {farm_id}"),
                (t, f"{span}   Genesis hash: {GENESIS}"),
                (t, f"{span}   Public key: 0x{key}"),
                (t, f"{span}   Allocated space: 3.6 TiB (4.0 TB)"),
                (t, f"{span}   Directory: /farms/disk{k}"),
            ]
        for percent in (0.15, 25.0, 50.0, 75.0, 99.98):
            t += 60.0
            out.append((t, f" INFO {CACHE}: Piece cache sync {percent:.2f}% complete"))
        out.append((t + 1.0, f" INFO {CACHE}: Finished piece cache synchronization"))
        self.next_plot = [t + self.rng.uniform(0, self.plot_every_s) for _ in self.farm_ids]
        self.next_reward = [
            t + self.rng.expovariate(1 / self.reward_every_s) for _ in self.farm_ids
        ]
        return out

    def until(self, end: float) -> list[tuple[float, str]]:
        """Every line due up to ``end`` (unix seconds), in time order."""
        out: list[tuple[float, str]] = []
        for k in range(self.farms):
            while self.next_plot[k] <= end:
                self.plotted[k] += 1
                percent = 100.0 * self.plotted[k] / TOTAL_SECTORS
                sector = self.rng.randrange(TOTAL_SECTORS)
                out.append(
                    (
                        self.next_plot[k],
                        f" INFO {{farm_index={k}}}:{{sector_index={sector}}}: {PLOTTING}: "
                        f"Plotting sector ({percent:.2f}% complete)",
                    )
                )
                self.next_plot[k] += self.plot_every_s * self.rng.uniform(0.8, 1.2)
            while self.next_reward[k] <= end:
                self.rewards += 1
                out.append(
                    (
                        self.next_reward[k],
                        f" INFO {{farm_index={k}}}: {SIGNING}: Successfully signed reward hash "
                        f"0x{self.rng.getrandbits(256):064x}",
                    )
                )
                self.next_reward[k] += self.rng.expovariate(1 / self.reward_every_s)
        out.sort(key=lambda item: item[0])
        return out


@dataclass
class NodeLog:
    """One host's node: the informant every 5 s and a block import every ~6 s."""

    host: int
    rng: random.Random = field(default_factory=random.Random)
    best: int = 3_245_131
    next_idle: float = 0.0
    next_import: float = 0.0

    def start(self, t: float) -> list[tuple[float, str]]:
        self.rng.seed(f"node-{self.host}")
        self.next_idle, self.next_import = t + 5.0, t + 6.0
        return [
            (t, " INFO subspace_node::commands::run: Subspace"),
            (t, " INFO subspace_node::commands::run: ✌️  version 0.1.11-3f9d2a6c81e"),
            (t, " INFO subspace_node::commands::run: 📋 Chain specification: Autonomys Mainnet"),
            (t, f" INFO subspace_node::commands::run: 🏷  Node name: node-{self.host:02d}"),
        ]

    def until(self, end: float) -> list[tuple[float, str]]:
        out: list[tuple[float, str]] = []
        while min(self.next_idle, self.next_import) <= end:
            if self.next_import <= self.next_idle:
                before, self.best = short_hash(self.rng), self.best + 1
                out.append(
                    (
                        self.next_import,
                        f" INFO Consensus: {SUBSTRATE}: 🏆 Imported #{self.best} "
                        f"({before} → {short_hash(self.rng)})",
                    )
                )
                self.next_import += self.rng.uniform(4.0, 8.0)
            else:
                peers = self.rng.randrange(38, 45)
                out.append(
                    (
                        self.next_idle,
                        f" INFO Consensus: {SUBSTRATE}: 💤 Idle ({peers} peers), best: "
                        f"#{self.best} ({short_hash(self.rng)}), finalized #{self.best - 100} "
                        f"({short_hash(self.rng)}), ⬇ 107.5kiB/s ⬆ 79.8kiB/s",
                    )
                )
                self.next_idle += 5.0
        return out


# --- one fake host -----------------------------------------------------------------------------


@dataclass
class Host:
    index: int
    farms: int
    engine: FakeDockerEngine
    farmer: FarmerLog
    node: NodeLog
    farmer_lines: int = 0
    node_lines: int = 0
    metrics_port: int = 0
    node_metrics_port: int = 0

    @property
    def name(self) -> str:
        return f"host-{self.index:02d}"

    @property
    def farmer_name(self) -> str:
        return f"farmer-{self.index:02d}"

    def backlog(self, start: float, end: float) -> None:
        """The history, stamped as Docker would have stamped it (without waking followers)."""
        self.engine.get("farmer").created = int(start) - 1
        self.engine.get("node").created = int(start) - 1
        for container, lines in (
            ("farmer", self.farmer.start(start) + self.farmer.until(end)),
            ("node", self.node.start(start) + self.node.until(end)),
        ):
            for t, text in lines:
                ts_ns = int(t * 1e9)
                self.engine.append_entry(container, stamp(ts_ns) + text, ts_ns)
            if container == "farmer":
                self.farmer_lines += len(lines)
            else:
                self.node_lines += len(lines)
        self.engine.flush()

    def live(self, now: float) -> None:
        """Append what became due since the last call, stamped now (as a live daemon does)."""
        for container, lines in (
            ("farmer", self.farmer.until(now)),
            ("node", self.node.until(now)),
        ):
            if lines:
                texts = [stamp(int(t * 1e9)) + text for t, text in lines]
                self.engine.append(container, *texts)
                if container == "farmer":
                    self.farmer_lines += len(lines)
                else:
                    self.node_lines += len(lines)


def start_hosts(count: int, farms: int, args: argparse.Namespace, folder: Path) -> list[Host]:
    hosts: list[Host] = []
    for i in range(count):
        socket_dir = folder / f"h{i}"
        socket_dir.mkdir()
        engine = FakeDockerEngine(socket_dir).start()
        engine.add_container("farmer", FARMER_IMAGE, tty=args.tty)
        engine.add_container("node", NODE_IMAGE, tty=args.tty)
        hosts.append(
            Host(
                i,
                farms,
                engine,
                FarmerLog(i, farms, args.plot_every, args.reward_every),
                NodeLog(i),
            )
        )
    return hosts


# --- metrics endpoints -------------------------------------------------------------------------


class MetricsEndpoints:
    """A farmer and a node endpoint per host, each on its own port; the farmer body moves on
    a minute of counters every minute. Request times are kept per endpoint."""

    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = hosts
        self.started = time.time()
        self.requests: dict[str, list[float]] = {}
        self._bodies: dict[tuple[int, int], bytes] = {}
        self._runners: list[web.AppRunner] = []

    def farmer_body(self, host: Host) -> bytes:
        minute = int((time.time() - self.started) // 60)
        key = (host.index, minute)
        body = self._bodies.get(key)
        if body is None:
            lines = [HEAD.rstrip("\n")]
            for k, farm_id in enumerate(host.farmer.farm_ids):
                lines += farm_block(farm_id, k, minute)
            lines.append("# EOF")
            body = ("\n".join(lines) + "\n").encode()
            self._bodies = {k: v for k, v in self._bodies.items() if k[1] >= minute - 1}
            self._bodies[key] = body
        return body

    @staticmethod
    def node_body(host: Host) -> bytes:
        chain = 'chain="autonomys_mainnet"'
        best = host.node.best
        return (
            "# HELP substrate_block_height Block height info of the chain\n"
            "# TYPE substrate_block_height gauge\n"
            f'substrate_block_height{{{chain},status="best"}} {best}\n'
            f'substrate_block_height{{{chain},status="finalized"}} {best - 100}\n'
            f'substrate_block_height{{{chain},status="sync_target"}} {best}\n'
            "# HELP substrate_build_info A metric with a constant '1' value labeled by name, "
            "version\n"
            "# TYPE substrate_build_info gauge\n"
            f'substrate_build_info{{{chain},name="node-{host.index:02d}",'
            'version="0.1.11-3f9d2a6c81e"} 1\n'
            "# HELP substrate_sub_libp2p_is_major_syncing Whether the node is performing a "
            "major sync or not.\n"
            "# TYPE substrate_sub_libp2p_is_major_syncing gauge\n"
            f"substrate_sub_libp2p_is_major_syncing{{{chain}}} 0\n"
            "# HELP substrate_sub_libp2p_peers_count Number of connected peers\n"
            "# TYPE substrate_sub_libp2p_peers_count gauge\n"
            f"substrate_sub_libp2p_peers_count{{{chain}}} 40\n"
            "# EOF\n"
        ).encode()

    async def start(self) -> None:
        for host in self.hosts:
            for kind in ("farmer", "node"):
                app = web.Application()
                app.router.add_get("/metrics", self._handler(host, kind))
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
                if kind == "farmer":
                    host.metrics_port = port
                else:
                    host.node_metrics_port = port
                self._runners.append(runner)

    def _handler(self, host: Host, kind: str):  # type: ignore[no-untyped-def]
        key = f"{kind}:{host.name}"
        self.requests[key] = []

        async def handler(request: web.Request) -> web.Response:
            self.requests[key].append(time.monotonic())
            body = self.farmer_body(host) if kind == "farmer" else self.node_body(host)
            return web.Response(
                body=body,
                headers={
                    "Content-Type": "application/openmetrics-text; version=1.0.0; charset=utf-8"
                },
            )

        return handler

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()


# --- the cosmos process, seen from outside -----------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def status_value(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> dict[str, int]:
    """Open descriptors by kind (socket, pipe, anon_inode, file)."""
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kind = target.split(":", 1)[0] if ":" in target and "/" not in target[:1] else "file"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def notifications(output: str) -> dict[str, int]:
    """Notifications console mode printed, by topic/severity and the title's first words."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        _, sep, rest = line.partition("cosmos.notify: [")
        if not sep:
            continue
        topic, _, title = rest.partition("] ")
        key = f"{topic} {' '.join(title.split()[:3])}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def db_query(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not migrated yet, or busy
        return []
    finally:
        conn.close()


def logical_db_bytes(db: Path) -> int:
    """Pages in use as a reader sees them (WAL included, free pages not counted)."""
    rows = db_query(db, "PRAGMA page_count")
    free = db_query(db, "PRAGMA freelist_count")
    size = db_query(db, "PRAGMA page_size")
    if not rows or not free or not size:
        return 0
    return (int(rows[0][0]) - int(free[0][0])) * int(size[0][0])  # type: ignore[call-overload]


def source_lines(db: Path) -> dict[str, int]:
    return {str(k): int(n) for k, n in db_query(db, "SELECT key, lines_total FROM log_sources")}  # type: ignore[call-overload]


def cosmos_env(hosts: list[Host], db: Path, interval: float, extra: list[str]) -> dict[str, str]:
    docker = [
        {"base_url": h.engine.base_url, "host": h.name, "farmer": h.farmer_name} for h in hosts
    ]
    targets = []
    for h in hosts:
        targets.append(
            {
                "url": f"http://127.0.0.1:{h.metrics_port}/metrics",
                "kind": "farmer",
                "host": h.name,
                "farmer": h.farmer_name,
                "label": f"{h.farmer_name} farmer",
            }
        )
        targets.append(
            {
                "url": f"http://127.0.0.1:{h.node_metrics_port}/metrics",
                "kind": "node",
                "host": h.name,
                "label": f"{h.name} node",
            }
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSMOS_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "COSMOS_DATABASE_PATH": str(db),
            "COSMOS_FARMER_NAME": "bench-lead",
            "COSMOS_LOGS__DOCKER": json.dumps(docker),
            "COSMOS_METRICS__TARGETS": json.dumps(targets),
            "COSMOS_METRICS__INTERVAL_SECONDS": str(interval),
        }
    )
    env.update(item.split("=", 1) for item in extra)  # type: ignore[misc]
    return env


@dataclass
class Result:
    hosts: int
    farms: int
    backlog_lines: int
    backfill_s: float | None
    backfill_cpu_pct: float
    cpu_pct: float
    rss_peak_mb: float
    rss_steady_mb: float
    threads: int
    fds: dict[str, int]
    fds_at_start: int
    db_mb: float
    growth_mb_h: float
    farmer_scrape_ms: tuple[float, float]
    node_scrape_ms: tuple[float, float]
    live_lines_s: float
    behind_lines: int
    rewards_expected: int
    rewards_stored: int
    targets_up: int
    bench_cpu_pct: float
    notified: dict[str, int]


def scrape_ms(
    requests: dict[str, list[float]], kind: str, since: float, interval: float
) -> tuple[float, float]:
    """Median and max of (gap between two requests - interval), over one kind of target."""
    extra = []
    for key, times in requests.items():
        if not key.startswith(kind + ":"):
            continue
        recent = [t for t in times if t >= since]
        extra += [(b - a - interval) * 1000 for a, b in itertools.pairwise(recent)]
    if not extra:
        return (float("nan"), float("nan"))
    return (statistics.median(extra), max(extra))


async def run_one(count: int, args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as tmp:
        folder = Path(tmp)
        hosts = start_hosts(count, args.farms, args, folder)
        now = time.time()
        for host in hosts:
            host.backlog(now - args.backlog_hours * 3600, now - 1.0)
        backlog = {h.name: (h.farmer_lines, h.node_lines) for h in hosts}
        backlog_lines = sum(f + n for f, n in backlog.values())
        endpoints = MetricsEndpoints(hosts)
        await endpoints.start()
        db = folder / "cosmos.db"
        out_path = folder / "cosmos.out"
        stop_live = asyncio.Event()

        def feed_once(now: float) -> None:
            for host in hosts:
                host.live(now)

        async def feed_live() -> None:
            while not stop_live.is_set():
                await asyncio.sleep(1.0)
                await asyncio.to_thread(feed_once, time.time())

        feeder = asyncio.get_running_loop().create_task(feed_live())
        out = out_path.open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--env-file", os.devnull, "run",
            env=cosmos_env(hosts, db, args.interval, args.env), cwd=REPO, stdout=out, stderr=out,
        )  # fmt: skip
        out.close()
        pid = proc.pid
        try:
            t0, cpu0 = time.monotonic(), cpu_seconds(pid)
            backfill_s: float | None = None
            while time.monotonic() - t0 < args.backfill_timeout:
                if proc.returncode is not None:
                    raise RuntimeError("cosmos exited:\n" + out_path.read_text()[-3000:])
                lines = source_lines(db)
                done = [
                    lines.get(f"docker:{h.name}:farmer:farmer", 0) >= backlog[h.name][0]
                    and lines.get(f"docker:{h.name}:node:node", 0) >= backlog[h.name][1]
                    for h in hosts
                ]
                if all(done):
                    backfill_s = time.monotonic() - t0
                    break
                await asyncio.sleep(0.5)
            backfill_cpu = cpu_seconds(pid) - cpu0
            backfill_cpu_pct = 100 * backfill_cpu / max(time.monotonic() - t0, 1e-6)
            await asyncio.sleep(args.warmup)
            # The live window.
            w0, c0, b0 = time.monotonic(), cpu_seconds(pid), time.process_time()
            size0 = logical_db_bytes(db)
            fds0 = sum(open_fds(pid).values())
            lines0 = sum(h.farmer_lines + h.node_lines for h in hosts)
            rss: list[int] = []
            while time.monotonic() - w0 < args.window:
                rss.append(status_value(pid, "VmRSS"))
                await asyncio.sleep(2.0)
            elapsed = time.monotonic() - w0
            cpu_pct = 100 * (cpu_seconds(pid) - c0) / elapsed
            bench_cpu_pct = 100 * (time.process_time() - b0) / elapsed
            size1 = logical_db_bytes(db)
            lines1 = sum(h.farmer_lines + h.node_lines for h in hosts)
            threads, fds = status_value(pid, "Threads"), open_fds(pid)
            peak = status_value(pid, "VmHWM")
            written = sum(h.farmer_lines + h.node_lines for h in hosts)
            rewards_logged = sum(h.farmer.rewards for h in hosts)
            await asyncio.sleep(3.0)  # let the last live lines land before counting
            stored = sum(source_lines(db).values())
            rewards = db_query(db, "SELECT COUNT(*) FROM rewards WHERE outcome = 'signed'")
            up = db_query(db, "SELECT COUNT(*) FROM metrics_targets WHERE up = 1")
        finally:
            stop_live.set()
            await asyncio.gather(feeder, return_exceptions=True)
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            await endpoints.stop()
            for host in hosts:
                host.engine.close()
        output = out_path.read_text(errors="replace")
        if args.keep_output:
            print(output[-args.keep_output :])
        return Result(
            hosts=count,
            farms=args.farms,
            backlog_lines=backlog_lines,
            backfill_s=backfill_s,
            backfill_cpu_pct=backfill_cpu_pct,
            cpu_pct=cpu_pct,
            rss_peak_mb=peak / 1024,
            rss_steady_mb=statistics.median(rss) / 1024 if rss else 0.0,
            threads=threads,
            fds=fds,
            fds_at_start=fds0,
            db_mb=size1 / 1_048_576,
            growth_mb_h=(size1 - size0) / elapsed * 3600 / 1_048_576,
            farmer_scrape_ms=scrape_ms(endpoints.requests, "farmer", w0, args.interval),
            node_scrape_ms=scrape_ms(endpoints.requests, "node", w0, args.interval),
            live_lines_s=(lines1 - lines0) / elapsed,
            behind_lines=max(0, written - stored),
            rewards_expected=rewards_logged,
            rewards_stored=int(rewards[0][0]) if rewards else 0,  # type: ignore[call-overload]
            targets_up=int(up[0][0]) if up else 0,  # type: ignore[call-overload]
            bench_cpu_pct=bench_cpu_pct,
            notified=notifications(output),
        )


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(
        f"cosmos run (console mode), {'TTY' if args.tty else 'non-TTY'} containers, "
        f"metrics every {args.interval:g} s, backlog "
        f"{args.backlog_hours:g} h, live window {args.window:g} s, {os.cpu_count()} CPUs"
    )
    rows = [
        ("hosts x farms", lambda r: f"{r.hosts} x {r.farms} = {r.hosts * r.farms}"),
        ("log sources / metrics targets", lambda r: f"{2 * r.hosts} / {2 * r.hosts}"),
        ("backlog lines", lambda r: f"{r.backlog_lines:,}"),
        (
            "backfill done after",
            lambda r: "not done" if r.backfill_s is None else f"{r.backfill_s:.1f} s",
        ),
        (
            "backfill rate",
            lambda r: "-" if not r.backfill_s else f"{r.backlog_lines / r.backfill_s:,.0f} lines/s",
        ),
        ("CPU during backfill", lambda r: f"{r.backfill_cpu_pct:.0f} %"),
        ("live lines/s (all hosts)", lambda r: f"{r.live_lines_s:.1f}"),
        ("CPU live (of one core)", lambda r: f"{r.cpu_pct:.1f} %"),
        ("RSS peak (VmHWM)", lambda r: f"{r.rss_peak_mb:.0f} MB"),
        ("RSS live (median)", lambda r: f"{r.rss_steady_mb:.0f} MB"),
        ("threads", lambda r: f"{r.threads}"),
        (
            "open fds (window start -> end)",
            lambda r: f"{r.fds_at_start} -> {sum(r.fds.values())}",
        ),
        ("  fds that are sockets", lambda r: f"{r.fds.get('socket', 0)}"),
        ("database after backfill+window", lambda r: f"{r.db_mb:.1f} MB"),
        ("database growth (live)", lambda r: f"{r.growth_mb_h:.1f} MB/h"),
        (
            "farmer scrape ms (median/max)",
            lambda r: f"{r.farmer_scrape_ms[0]:.0f} / {r.farmer_scrape_ms[1]:.0f}",
        ),
        (
            "node scrape ms (median/max)",
            lambda r: f"{r.node_scrape_ms[0]:.0f} / {r.node_scrape_ms[1]:.0f}",
        ),
        ("metrics targets up", lambda r: f"{r.targets_up} of {2 * r.hosts}"),
        ("signed rewards stored / logged", lambda r: f"{r.rewards_stored} / {r.rewards_expected}"),
        ("lines not yet stored at end", lambda r: f"{r.behind_lines}"),
        ("bench process CPU (fakes)", lambda r: f"{r.bench_cpu_pct:.0f} %"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, cell in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{cell(r):>18}" for r in results))
    for r in results:
        printed = ", ".join(f"{n} x {k}" for k, n in sorted(r.notified.items())) or "none"
        print(f"notifications printed, {r.hosts} hosts: {printed}")


async def main(args: argparse.Namespace) -> None:
    results = []
    for count in args.hosts:
        print(f"running {count} hosts x {args.farms} farms ...", flush=True)
        started = time.monotonic()
        results.append(await run_one(count, args))
        print(f"  took {time.monotonic() - started:.0f} s", flush=True)
    print_table(results, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--hosts",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[10, 25],
        help="host counts to run, comma-separated",
    )
    parser.add_argument("--farms", type=int, default=10, help="farms per host")
    parser.add_argument("--backlog-hours", type=float, default=24.0)
    parser.add_argument("--interval", type=float, default=10.0, help="metrics interval, s")
    parser.add_argument("--window", type=float, default=60.0, help="live window measured, s")
    parser.add_argument("--warmup", type=float, default=10.0, help="s after the backfill")
    parser.add_argument("--backfill-timeout", type=float, default=240.0)
    parser.add_argument("--plot-every", type=float, default=120.0, help="s per sector per farm")
    parser.add_argument(
        "--reward-every", type=float, default=1800.0, help="mean s per reward per farm"
    )
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE for cosmos (repeatable)"
    )
    parser.add_argument("--tty", action="store_true", help="containers with tty: true")
    parser.add_argument("--keep-output", type=int, default=0, help="print this much cosmos output")
    asyncio.run(main(parser.parse_args()))
