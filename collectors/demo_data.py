"""The project's own demo farm: a farmer log, a node log and two ``/metrics`` bodies.

Written in the exact upstream shapes (tracing-subscriber envelope, OpenMetrics names of the
current farmer and of the node) but made up here, timed to end "now", so ``cosmos demo`` shows
a working monitor without a farm. Pure: nothing is read from disk, the clock is a parameter.

The farm: three farms on one farmer. Farm 0 is fully plotted, farm 1 is plotting, farm 2 is
plotting and ends with an I/O error that stops it. Five rewards are signed, one solution fails.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from collectors.models.events import EventKind

GENESIS = "0x66455a580aabff303720aa83adbe6c44502922251c03ba73686d5245da9e21bd"
CHAIN_LABEL = "autonomys_mainnet"
NODE_VERSION = "0.1.11-3f9d2a6c81e"
US = 1_000_000
MINUTE_US = 60 * US


@dataclass(frozen=True, slots=True)
class DemoFarm:
    index: int
    farm_id: str
    directory: str
    allocated: str
    sectors_total: int
    sectors_plotted: int  # at the end of the log; the metrics body grows from here

    @property
    def public_key(self) -> str:
        return "0x" + hashlib.sha256(f"demo-key-{self.farm_id}".encode()).hexdigest()


FARMS = (
    DemoFarm(0, "01JF3A7K2M9Q4R8T6V0W1X2Y3Z", "/farms/nvme0", "1.8 TiB (2.0 TB)", 1860, 1860),
    DemoFarm(1, "01JF3A7K5N8P3S7W2Y4B6C8D0E", "/farms/hdd1", "3.6 TiB (4.0 TB)", 3720, 1302),
    DemoFarm(2, "01JF3A7K9R1T5V9X3Z7C1F5H9K", "/farms/hdd2", "931.3 GiB (1.0 TB)", 930, 186),
)
# Rewards signed per farm (farm index -> count), spread over the log.
REWARDS = {0: 3, 1: 1, 2: 1}
FAILED_SOLUTIONS = 1
FARM_ERROR_INDEX = 2
FARM_ERROR = "Plotting I/O error: Input/output error (os error 5)"
NODE_BEST = 3_412_000


@dataclass(frozen=True, slots=True)
class DemoLine:
    """One log line and the event it is meant to produce (None: a line cosmos does not track)."""

    text: str
    kind: EventKind | None


@dataclass(frozen=True, slots=True)
class DemoLogs:
    farmer: tuple[DemoLine, ...]
    node: tuple[DemoLine, ...]

    @property
    def rewards(self) -> int:
        return sum(1 for line in self.farmer if line.kind is EventKind.REWARD_SIGNED)


def _ts(us: int) -> str:
    return datetime.fromtimestamp(us / US, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _line(us: int, level: str, target: str, message: str, spans: str = "") -> str:
    prefix = f"{spans} " if spans else ""
    return f"{_ts(us)} {level:>5} {prefix}{target}: {message}"


def _hash(seed: str) -> str:
    return "0x" + hashlib.sha256(seed.encode()).hexdigest()


def _short(full: str) -> str:
    return f"{full[:6]}…{full[-4:]}"


def farmer_log(end_us: int) -> list[DemoLine]:
    """About an hour of farmer log ending a minute before ``end_us``."""
    start = end_us - 65 * MINUTE_US
    farm_t = "subspace_farmer::commands::farm"
    out: list[DemoLine] = []

    def add(
        at: int, level: str, target: str, msg: str, kind: EventKind | None, *, spans: str = ""
    ) -> None:
        out.append(DemoLine(_line(at, level, target, msg, spans), kind))

    t = start
    add(t, "INFO", farm_t, "Connecting to node RPC url=ws://127.0.0.1:9944", EventKind.FARMER_START)
    add(t + 9_000, "INFO", "libp2p_swarm", "local_peer_id=12D3KooWDemoPeer", None)
    t += 2 * US
    for farm in (FARMS[1], FARMS[2], FARMS[0]):  # in the order they finish initialising
        span = f"{{farm_index={farm.index}}}:"
        add(t, "INFO", farm_t, f"Farm {farm.index}:", EventKind.FARM_HEADER, spans=span)
        add(t + 20, "INFO", farm_t, f"  ID: {farm.farm_id}", EventKind.FARM_ID, spans=span)
        add(
            t + 40, "INFO", farm_t, f"  Genesis hash: {GENESIS}", EventKind.FARM_GENESIS, spans=span
        )
        add(
            t + 60,
            "INFO",
            farm_t,
            f"  Public key: {farm.public_key}",
            EventKind.FARM_PUBLIC_KEY,
            spans=span,
        )
        add(
            t + 80,
            "INFO",
            farm_t,
            f"  Allocated space: {farm.allocated}",
            EventKind.FARM_ALLOCATED,
            spans=span,
        )
        add(
            t + 100,
            "INFO",
            farm_t,
            f"  Directory: {farm.directory}",
            EventKind.FARM_DIRECTORY,
            spans=span,
        )
        t += US
    cache_t = "subspace_farmer::farmer_cache"
    for step in range(1, 4):
        done = step * 21.7
        add(
            t,
            "INFO",
            cache_t,
            f"Piece cache sync {done:.2f}% complete ({done * 0.652:.1f} GiB / 65.2 GiB)",
            EventKind.PIECE_CACHE_SYNC,
        )
        t += 20 * US
    add(t, "INFO", cache_t, "Finished piece cache synchronization", EventKind.PIECE_CACHE_SYNCED)
    plot_t = "subspace_farmer::single_disk_farm::plotting"
    add(
        t + US,
        "INFO",
        plot_t,
        "Initial plotting complete",
        EventKind.INITIAL_PLOTTING_COMPLETE,
        spans="{farm_index=0}:",
    )
    # Plotting progress on farms 1 and 2, a sector every few minutes, rewards in between.
    sectors = {1: FARMS[1].sectors_plotted - 12, 2: FARMS[2].sectors_plotted - 12}
    reward_slots = [(0, 8), (1, 17), (0, 26), (2, 33), (0, 44)]
    reward_t = "subspace_farmer::single_disk_farm::reward_signing"
    farming_t = "subspace_farmer::single_disk_farm::farming"
    for minute in range(1, 61):
        at = start + (2 + minute) * MINUTE_US
        if minute % 5 == 0:
            for index in (1, 2):
                farm = FARMS[index]
                sectors[index] += 1
                percent = 100.0 * sectors[index] / farm.sectors_total
                add(
                    at + index * 7_000,
                    "INFO",
                    plot_t,
                    f"Plotting sector ({percent:.2f}% complete)",
                    EventKind.PLOTTING,
                    spans=f"{{farm_index={index}}}:{{sector_index={sectors[index]}}}:",
                )
        for index, when in reward_slots:
            if when == minute:
                add(
                    at + 31_337,
                    "INFO",
                    reward_t,
                    f"Successfully signed reward hash {_hash(f'demo-reward-{minute}')}",
                    EventKind.REWARD_SIGNED,
                    spans=f"{{farm_index={index}}}:",
                )
        if minute == 38:
            add(
                at + 52_000,
                "WARN",
                farming_t,
                "Failed to send solution to node, skipping further proving for this slot"
                " slot=27345918 sector_index=288 error=ErrorObject { code: ServerError(9001),"
                ' message: "Solution was ignored", data: None }',
                EventKind.SOLUTION_FAILED,
                spans="{farm_index=1}:",
            )
        if minute == 50:
            add(at, "INFO", "subspace_farmer::utils", "Syncing segment headers", None)
    # Farm 2 fails near the end: a non-fatal error, then it exits and keeps saying so.
    fail_at = end_us - 3 * MINUTE_US
    add(
        fail_at,
        "WARN",
        farming_t,
        "Non-fatal farming error error=Failed read s-bucket 41193 of sector 24:"
        " Input/output error (os error 5)",
        EventKind.FARMING_ERROR,
        spans=f"{{farm_index={FARM_ERROR_INDEX}}}:",
    )
    add(
        fail_at + 3 * US,
        "ERROR",
        farm_t,
        f"Farm exited with error farm_index={FARM_ERROR_INDEX} error={FARM_ERROR}",
        EventKind.FARM_EXITED,
    )
    for n in (1, 2):
        add(
            fail_at + (3 + 30 * n) * US,
            "ERROR",
            farm_t,
            f"Farm errored and stopped farm_index={FARM_ERROR_INDEX} error={FARM_ERROR}",
            EventKind.FARM_STOPPED,
        )
    out.sort(key=lambda line: line.text[:27])
    return out


def node_log(end_us: int) -> list[DemoLine]:
    """The node beside the farmer: start, a short sync, then idle with imports and claims."""
    start = end_us - 66 * MINUTE_US
    run_t = "subspace_node::commands::run"
    out: list[DemoLine] = []

    def add(at: int, message: str, kind: EventKind | None, target: str, span: str = "") -> None:
        out.append(DemoLine(_line(at, "INFO", target, message, span), kind))

    add(start, "Subspace", None, run_t)
    add(start + 5, f"✌️  version {NODE_VERSION}", EventKind.NODE_VERSION, run_t)
    add(start + 30, "📋 Chain specification: Autonomys Mainnet", EventKind.NODE_CHAIN, run_t)
    best = NODE_BEST - 60 * 10 - 14
    head = _hash(f"demo-block-{best}")
    at = start + 5 * US
    for _ in range(3):
        best += 4
        new = _hash(f"demo-block-{best}")
        add(
            at,
            f"⚙️  Syncing  0.8 bps, target=#{best + 5} (12 peers), best: #{best} ({_short(new)}),"
            f" finalized #{best - 100} ({_short(_hash(f'demo-fin-{best}'))}),"
            " ⬇ 310.2kiB/s ⬆ 9.1kiB/s",
            EventKind.NODE_INFORMANT,
            "substrate",
            "Consensus:",
        )
        head = new
        at += 5 * US
    claims = {12: "vote", 27: "block", 44: "vote"}
    minute = 0
    while best < NODE_BEST:
        minute += 1
        at = start + minute * 6 * US * 10  # one block a minute, near enough for a demo
        for _ in range(10):
            if best >= NODE_BEST:
                break
            best += 1
            new = _hash(f"demo-block-{best}")
            add(
                at,
                f"🏆 Imported #{best} ({_short(head)} → {_short(new)})",
                EventKind.NODE_IMPORTED,
                "substrate",
                "Consensus:",
            )
            head = new
            at += 100_000
        add(
            at + 50_000,
            f"💤 Idle (40 peers), best: #{best} ({_short(head)}), finalized #{best - 100}"
            f" ({_short(_hash(f'demo-fin-{best}'))}), ⬇ 98.8kiB/s ⬆ 52.0kiB/s",
            EventKind.NODE_INFORMANT,
            "substrate",
            "Consensus:",
        )
        what = claims.get(minute)
        if what is not None:
            add(
                at + 60_000,
                f"{'🗳️' if what == 'vote' else '🚜'} Claimed {what} at slot"
                f" slot={27_340_000 + minute}",
                EventKind.CLAIMED_VOTE if what == "vote" else EventKind.CLAIMED_BLOCK,
                "sc_consensus_subspace::slot_worker",
                "Consensus:",
            )
    out.sort(key=lambda line: line.text[:27])
    return out


def live_lines(at_us: int, step: int) -> tuple[list[DemoLine], list[DemoLine]]:
    """What the farmer and the node say during the demo, ``step`` = 1, 2, …: farm 1 plots on,
    the node imports a block. (Farmer lines, node lines.)"""
    farm = FARMS[1]
    sector = farm.sectors_plotted + step
    percent = 100.0 * sector / farm.sectors_total
    farmer = [
        DemoLine(
            _line(
                at_us,
                "INFO",
                "subspace_farmer::single_disk_farm::plotting",
                f"Plotting sector ({percent:.2f}% complete)",
                f"{{farm_index={farm.index}}}:{{sector_index={sector}}}:",
            ),
            EventKind.PLOTTING,
        )
    ]
    best = NODE_BEST + step
    parent, head = _hash(f"demo-block-{best - 1}"), _hash(f"demo-block-{best}")
    node = [
        DemoLine(
            _line(
                at_us,
                "INFO",
                "substrate",
                f"🏆 Imported #{best} ({_short(parent)} → {_short(head)})",
                "Consensus:",
            ),
            EventKind.NODE_IMPORTED,
        ),
        DemoLine(
            _line(
                at_us + 1_000,
                "INFO",
                "substrate",
                f"💤 Idle (40 peers), best: #{best} ({_short(head)}), finalized #{best - 100}"
                f" ({_short(_hash(f'demo-fin-{best}'))}), ⬇ 98.8kiB/s ⬆ 52.0kiB/s",
                "Consensus:",
            ),
            EventKind.NODE_INFORMANT,
        ),
    ]
    return farmer, node


def demo_logs(end_us: int) -> DemoLogs:
    return DemoLogs(tuple(farmer_log(end_us)), tuple(node_log(end_us)))


# --- metrics bodies ---------------------------------------------------------------------------


def _histogram(
    name: str, labels: str, bounds: tuple[float, ...], counts: tuple[int, ...]
) -> list[str]:
    lines = []
    for bound, count in zip(bounds, counts, strict=True):
        lines.append(f'{name}_bucket{{{labels},le="{bound:g}"}} {count}')
    lines.append(f'{name}_bucket{{{labels},le="+Inf"}} {counts[-1]}')
    return lines


def farmer_metrics(step: int = 0) -> str:
    """The farmer's ``/metrics`` body; each ``step`` plots one more sector on a plotting farm."""
    out: list[str] = [
        "# HELP subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces"
        " Piece cache capacity total.",
        "# TYPE subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces gauge",
        "# UNIT subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces Pieces",
        "subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces 66712",
        "# HELP subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces"
        " Piece cache capacity used.",
        "# TYPE subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces gauge",
        "# UNIT subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces Pieces",
        "subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces 66698",
    ]
    audit_bounds = (0.0016, 0.0032, 0.0064, 0.0128, 0.0256)
    prove_bounds = (0.4096, 0.8192, 1.6384, 3.2768)
    for farm in FARMS:
        fid = f'farm_id="{farm.farm_id}"'
        grows = farm.sectors_plotted < farm.sectors_total and farm.index != FARM_ERROR_INDEX
        plotted = min(farm.sectors_total, farm.sectors_plotted + (step if grows else 0))
        audits = 7600 + 10 * step
        won = REWARDS[farm.index]
        # HELP/TYPE repeat once per farm, as the real farmer writes them.
        out += [
            "# HELP subspace_farmer_farm_auditing_time_seconds Auditing time.",
            "# TYPE subspace_farmer_farm_auditing_time_seconds histogram",
            "# UNIT subspace_farmer_farm_auditing_time_seconds seconds",
            f"subspace_farmer_farm_auditing_time_seconds_sum{{{fid}}} {audits * 0.0043:.6f}",
            f"subspace_farmer_farm_auditing_time_seconds_count{{{fid}}} {audits}",
            *_histogram(
                "subspace_farmer_farm_auditing_time_seconds",
                fid,
                audit_bounds,
                (37, audits // 4, audits - 770, audits - 2, audits),
            ),
            "# HELP subspace_farmer_farm_proving_time_seconds Proving time.",
            "# TYPE subspace_farmer_farm_proving_time_seconds histogram",
            "# UNIT subspace_farmer_farm_proving_time_seconds seconds",
            f'subspace_farmer_farm_proving_time_seconds_sum{{{fid},result="Success"}}'
            f" {won * 0.61:.6f}",
            f'subspace_farmer_farm_proving_time_seconds_count{{{fid},result="Success"}} {won}',
            *_histogram(
                "subspace_farmer_farm_proving_time_seconds",
                f'{fid},result="Success"',
                prove_bounds,
                (0, won, won, won),
            ),
            "# HELP subspace_farmer_farm_sectors_total_Sectors Total number of sectors.",
            "# TYPE subspace_farmer_farm_sectors_total_Sectors gauge",
            "# UNIT subspace_farmer_farm_sectors_total_Sectors Sectors",
            f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="NotPlotted"}} '
            f"{farm.sectors_total - plotted}",
            f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="Plotted"}} {plotted}',
            f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="AboutToExpire"}} 0',
            f'subspace_farmer_farm_sectors_total_Sectors{{{fid},state="Expired"}} 0',
            "# HELP subspace_farmer_farm_sector_plotted_counter_Sectors Number of plotted sectors.",
            "# TYPE subspace_farmer_farm_sector_plotted_counter_Sectors counter",
            "# UNIT subspace_farmer_farm_sector_plotted_counter_Sectors Sectors",
            f"subspace_farmer_farm_sector_plotted_counter_Sectors_total{{{fid}}} "
            f"{plotted - farm.sectors_plotted + 43}",
            "# HELP subspace_farmer_farm_skipped_slots Skipped slots.",
            "# TYPE subspace_farmer_farm_skipped_slots counter",
            f"subspace_farmer_farm_skipped_slots_total{{{fid}}} 0",
        ]
        if farm.index == FARM_ERROR_INDEX:
            out += [
                "# HELP subspace_farmer_farm_farming_errors Non-fatal farming errors.",
                "# TYPE subspace_farmer_farm_farming_errors counter",
                f'subspace_farmer_farm_farming_errors_total{{{fid},error="io"}} 1',
            ]
    out.append("# EOF")
    return "\n".join(out) + "\n"


def node_metrics(step: int = 0) -> str:
    """The node's ``/metrics`` body; the chain moves one block a ``step``."""
    best = NODE_BEST + step
    chain = f'chain="{CHAIN_LABEL}"'
    return (
        "\n".join(
            [
                "# HELP substrate_block_height Block height info of the chain",
                "# TYPE substrate_block_height gauge",
                f'substrate_block_height{{{chain},status="best"}} {best}',
                f'substrate_block_height{{{chain},status="finalized"}} {best - 100}',
                f'substrate_block_height{{{chain},status="sync_target"}} {best}',
                "# HELP substrate_build_info A metric with a constant '1' value labeled by name,"
                " version",
                "# TYPE substrate_build_info gauge",
                f'substrate_build_info{{{chain},name="demo-node",version="{NODE_VERSION}"}} 1',
                "# HELP substrate_sub_libp2p_is_major_syncing Whether the node is performing a"
                " major sync or not.",
                "# TYPE substrate_sub_libp2p_is_major_syncing gauge",
                f"substrate_sub_libp2p_is_major_syncing{{{chain}}} 0",
                "# HELP substrate_sub_libp2p_peers_count Number of connected peers",
                "# TYPE substrate_sub_libp2p_peers_count gauge",
                f"substrate_sub_libp2p_peers_count{{{chain}}} 40",
                "# EOF",
            ]
        )
        + "\n"
    )


@dataclass(frozen=True, slots=True)
class DemoFiles:
    farmer_log: Path
    node_log: Path
    logs: DemoLogs


def append_lines(path: Path, lines: list[DemoLine]) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write("".join(line.text + "\n" for line in lines))


def write_demo_logs(directory: Path, end_us: int) -> DemoFiles:
    """Write ``farmer.log`` and ``node.log`` into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    logs = demo_logs(end_us)
    farmer = directory / "farmer.log"
    node = directory / "node.log"
    farmer.write_text("".join(line.text + "\n" for line in logs.farmer), encoding="utf-8")
    node.write_text("".join(line.text + "\n" for line in logs.node), encoding="utf-8")
    return DemoFiles(farmer, node, logs)
