"""Benchmark: scrape, parse and store one farmer body with 3 farms and one with 100 farms.

Run: ``.venv/bin/python bench/bench_metrics.py [--scrapes 20]``

The bodies are generated in the shape of ``../shared/samples/farmer_metrics.txt`` (the same
metric families, labels, bucket bounds and repeated HELP/TYPE blocks per farm). They are served
by an aiohttp server in a separate process on 127.0.0.1, so the CPU figures (``time.process_time``,
which includes aiosqlite's thread) are cosmos' own. Each later scrape serves a body "one minute
on" (auditing and plotting counters advanced), as a real farmer would.

Target: a 100-farm scrape under 100 ms of CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.clock import FakeClock
from collectors.metrics_collector import MetricsCollector
from collectors.parsing.metrics import LineCache, parse_farmer_metrics
from collectors.settings import MetricsSettings, MetricsTarget
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore

PLOT_BOUNDS = ("0.1", "0.2", "0.4", "0.8", "1.6", "3.2", "6.4", "12.8", "25.6", "51.2")
PLOT_BOUNDS += ("102.4", "204.8", "409.6", "819.2", "1638.4", "+Inf")
FAST_BOUNDS = ("0.0002", "0.0004", "0.0008", "0.0016", "0.0032", "0.0064", "0.0128", "0.0256")
FAST_BOUNDS += ("0.0512", "0.1024", "0.2048", "0.4096", "0.8192", "1.6384", "3.2768", "+Inf")

HEAD = """\
# HELP subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces Piece cache capacity total.
# TYPE subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces gauge
# UNIT subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces Pieces
subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces 66712
# HELP subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces Piece cache capacity used.
# TYPE subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces gauge
# UNIT subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces Pieces
subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces 66698
# HELP subspace_farmer_subspace_established_connections The number of established connections.
# TYPE subspace_farmer_subspace_established_connections gauge
subspace_farmer_subspace_established_connections 57
# HELP subspace_farmer_plotter_plotting_capacity_total_Sectors Plotting capacity total.
# TYPE subspace_farmer_plotter_plotting_capacity_total_Sectors gauge
# UNIT subspace_farmer_plotter_plotting_capacity_total_Sectors Sectors
subspace_farmer_plotter_plotting_capacity_total_Sectors{kind="cpu"} 2
# HELP subspace_farmer_plotter_plotting_capacity_used_Sectors Plotting capacity used.
# TYPE subspace_farmer_plotter_plotting_capacity_used_Sectors gauge
# UNIT subspace_farmer_plotter_plotting_capacity_used_Sectors Sectors
subspace_farmer_plotter_plotting_capacity_used_Sectors{kind="cpu"} 2
"""


def _histogram(
    name: str, help_: str, labels: str, *, bounds: tuple[str, ...], counts: list[int], total: float
) -> list[str]:
    out = [
        f"# HELP {name} {help_}",
        f"# TYPE {name} histogram",
        f"# UNIT {name} seconds",
        f"{name}_sum{{{labels}}} {total:.6f}",
        f"{name}_count{{{labels}}} {counts[-1]}",
    ]
    for bound, count in zip(bounds, counts, strict=True):
        le = f'le="{bound}"'
        label_text = (
            f"{labels},{le}"
            if "result" not in labels
            else labels.replace(",result", f",{le},result")
        )
        out.append(f"{name}_bucket{{{label_text}}} {count}")
    return out


def _counter(name: str, help_: str, labels: str, value: int, unit: str | None) -> list[str]:
    out = [f"# HELP {name} {help_}", f"# TYPE {name} counter"]
    if unit:
        out.append(f"# UNIT {name} {unit}")
    out.append(f"{name}_total{{{labels}}} {value}")
    return out


def farm_block(farm_id: str, k: int, minute: int) -> list[str]:
    """One farm's families as the sample has them; ``minute`` advances the live counters."""
    fid = f'farm_id="{farm_id}"'
    audits = 7600 + 60 * minute
    cache = f'cache_id="{farm_id}"'
    lines: list[str] = []
    for family, unit, value in (
        ("contents_Requests", "Requests", 2),
        ("read_piece_Pieces", "Pieces", 7963 + minute),
        ("read_piece_index_Requests", "Requests", 64),
        ("write_piece_Pieces", "Pieces", 6196),
    ):
        lines += _counter(
            f"subspace_farmer_disk_piece_cache_{family}", "Piece cache.", cache, value, unit
        )
    for gauge, value in (("total", 38126), ("used", 38123)):
        name = f"subspace_farmer_disk_piece_cache_capacity_{gauge}_Pieces"
        lines += [
            f"# HELP {name} Piece cache capacity {gauge}.",
            f"# TYPE {name} gauge",
            f"# UNIT {name} Pieces",
            f"{name}{{{cache}}} {value}",
        ]
    plotted = 40 + k % 7 + minute // 2
    audit_counts = [0, 0, 0, 37, 1912 + 30 * minute, audits - 770, audits - 2] + [audits] * 9
    lines += _histogram(
        "subspace_farmer_farm_auditing_time_seconds",
        "Auditing time.",
        fid,
        bounds=FAST_BOUNDS,
        counts=audit_counts,
        total=0.0043 * audits,
    )
    lines += [
        "# HELP subspace_farmer_farm_skipped_slots Completely skipped slots (not even auditing).",
        "# TYPE subspace_farmer_farm_skipped_slots counter",
        f"subspace_farmer_farm_skipped_slots_total{{{fid}}} {k % 3}",
    ]
    results = ["Success"]
    results += ["Rejected"] if k % 3 == 0 else []
    results += ["Timeout"] if k % 3 == 2 else []
    proving: list[str] = []
    for result in results:
        n = 3 if result == "Success" else 1
        counts = [0] * 12 + [n] * 4
        proving += _histogram(
            "subspace_farmer_farm_proving_time_seconds",
            "Proving time.",
            f'{fid},result="{result}"',
            bounds=FAST_BOUNDS,
            counts=counts,
            total=0.6 * n,
        )[3:]
    lines += [
        "# HELP subspace_farmer_farm_proving_time_seconds Proving time.",
        "# TYPE subspace_farmer_farm_proving_time_seconds histogram",
        "# UNIT subspace_farmer_farm_proving_time_seconds seconds",
        *proving,
        "# HELP subspace_farmer_farm_farming_errors Non-fatal farming errors.",
        "# TYPE subspace_farmer_farm_farming_errors counter",
    ]
    if k % 3 == 2:
        lines.append(f'subspace_farmer_farm_farming_errors_total{{{fid},error="Io"}} 1')
    for stage, bounds in (
        ("downloading", PLOT_BOUNDS),
        ("encoding", PLOT_BOUNDS),
        ("writing", FAST_BOUNDS),
        ("plotting", PLOT_BOUNDS),
    ):
        counts = [0] * 8 + [plotted // 2] + [plotted] * 7
        lines += _histogram(
            f"subspace_farmer_farm_sector_{stage}_time_seconds",
            f"Sector {stage} time.",
            fid,
            bounds=bounds,
            counts=counts,
            total=100.0 * plotted,
        )
    not_plotted = max(0, 3120 - plotted)
    lines += [
        "# HELP subspace_farmer_farm_sectors_total_Sectors Total number of sectors with"
        " corresponding state.",
        "# TYPE subspace_farmer_farm_sectors_total_Sectors gauge",
        "# UNIT subspace_farmer_farm_sectors_total_Sectors Sectors",
        f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="NotPlotted"}} {not_plotted}',
        f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="Plotted"}} {655 + plotted}',
        f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="AboutToExpire"}} 0',
        f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="Expired"}} 0',
    ]
    for counter in (
        "downloading",
        "downloaded",
        "encoding",
        "encoded",
        "writing",
        "written",
        "plotting",
        "plotted",
        "plotting_error",
    ):
        value = 1 if counter == "plotting_error" else plotted
        lines += _counter(
            f"subspace_farmer_farm_sector_{counter}_counter_Sectors",
            f"Number of sectors ({counter}).",
            fid,
            value,
            "Sectors",
        )
    return lines


def farmer_body(farms: int, minute: int) -> str:
    lines = [HEAD.rstrip("\n")]
    for k in range(farms):
        lines += farm_block(f"01JBENCH{k:018d}", k, minute)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _serve(port: int, bodies: dict[str, list[str]]) -> None:
    """Child process: serve /<name> with the next body of that name on each request."""
    from aiohttp import web

    served = dict.fromkeys(bodies, 0)

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        versions = bodies[name]
        body = versions[min(served[name], len(versions) - 1)]
        served[name] += 1
        return web.Response(
            body=body.encode(),
            headers={"Content-Type": "application/openmetrics-text; version=1.0.0; charset=utf-8"},
        )

    app = web.Application()
    app.router.add_get("/{name}", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError("benchmark server did not start")


async def bench_scrapes(name: str, url: str, scrapes: int, db_path: Path) -> None:
    clock = FakeClock()
    db = Database(db_path)
    await db.initialize()
    try:
        farmers = FarmerStore(db)
        primary = await farmers.ensure_primary("bench", clock.now_us())
        target = MetricsTarget(url=url, kind="farmer")
        collector = MetricsCollector(
            MetricsSettings(targets=[target]), MetricsStore(db), farmers, primary, clock
        )
        walls: list[float] = []
        cpus: list[float] = []
        rows = 0
        async with collector:
            [loop] = collector.targets
            for _ in range(scrapes):
                wall0, cpu0 = time.perf_counter(), time.process_time()
                outcome = await collector.scrape(loop)
                walls.append((time.perf_counter() - wall0) * 1000)
                cpus.append((time.process_time() - cpu0) * 1000)
                if not outcome.ok:
                    raise RuntimeError(f"scrape failed: {outcome.error}")
                rows = outcome.rows_written
                clock.advance(60)
        warm_wall = statistics.median(walls[1:]) if len(walls) > 1 else walls[0]
        warm_cpu = statistics.median(cpus[1:]) if len(cpus) > 1 else cpus[0]
        print(
            f"{name:>9}: first scrape {walls[0]:7.1f} ms wall {cpus[0]:7.1f} ms CPU | "
            f"later scrapes (median of {len(walls) - 1}) {warm_wall:6.1f} ms wall "
            f"{warm_cpu:6.1f} ms CPU | rows written per scrape {rows}"
        )
    finally:
        await db.close()


def bench_parse_only(name: str, bodies: list[str]) -> None:
    cold = []
    for _ in range(3):
        cpu0 = time.process_time()
        parse_farmer_metrics(bodies[0])
        cold.append((time.process_time() - cpu0) * 1000)
    cache = LineCache()
    parse_farmer_metrics(bodies[0], cache)
    warm = []
    for body in bodies[1:]:
        cpu0 = time.process_time()
        parse_farmer_metrics(body, cache)
        warm.append((time.process_time() - cpu0) * 1000)
    print(
        f"{name:>9}: parse only: {min(cold):6.1f} ms CPU without line cache, "
        f"{statistics.median(warm):6.1f} ms CPU with it (body one minute on)"
    )


async def main(scrapes: int) -> None:
    sizes = {"3 farms": 3, "100 farms": 100}
    bodies = {
        label.replace(" ", "-"): [farmer_body(n, minute) for minute in range(scrapes)]
        for label, n in sizes.items()
    }
    for name, versions in bodies.items():
        first = versions[0]
        print(f"{name:>9}: body {len(first) / 1024:7.1f} KiB, {first.count(chr(10))} lines")
    port = _free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(port, bodies), daemon=True
    )
    server.start()
    try:
        await _wait_for_port(port)
        with tempfile.TemporaryDirectory() as tmp:
            for name in bodies:
                await bench_scrapes(
                    name, f"http://127.0.0.1:{port}/{name}", scrapes, Path(tmp) / f"{name}.db"
                )
        for name, versions in bodies.items():
            bench_parse_only(name, versions)
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=20, help="scrapes per body size")
    args = parser.parse_args()
    asyncio.run(main(max(2, args.scrapes)))
