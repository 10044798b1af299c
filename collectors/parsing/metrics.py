"""Pure parsing of farmer and node ``/metrics`` bodies, and the arithmetic on what they hold.

Bodies are read with ``prometheus_client.parser.text_string_to_metric_families`` and every sample
is looked up by its *name* in one alias table, so the current (2024-07 and later) and the older
farmer names map to the same fields. HELP/TYPE blocks that repeat once per farm are harmless this
way, and units spelled ``_Sectors`` or ``_sectors`` both match (names are compared lower-cased).

Lines whose metric name is not in the table are dropped before the library parser sees them: the
library parses labels one character at a time (about 15 µs a line) and a 100-farm farmer body has
20 000 lines, three quarters of them plotting histograms nothing here uses.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum, auto
from itertools import pairwise

from prometheus_client.parser import text_string_to_metric_families

from collectors.models.metrics import (
    EMPTY_HISTOGRAM,
    ClusterSnapshot,
    FarmerSnapshot,
    FarmMetrics,
    Histogram,
    MetricsLayout,
    NodeSnapshot,
    ProvingOutcome,
)

HIGH_PERCENTILE = 0.99


class MetricsParseError(ValueError):
    """The body is not the metrics we expected; ``str()`` says what it looked like."""


class _F(Enum):
    SECTORS = auto()
    AUDIT_BUCKET = auto()
    AUDIT_SUM = auto()
    AUDIT_COUNT = auto()
    PROVE_BUCKET = auto()
    PROVE_SUM = auto()
    PROVE_COUNT = auto()
    PLOTTED_COUNTER = auto()  # per farm with farm_id, farmer-wide without
    FARMING_ERRORS = auto()
    SKIPPED_SLOTS = auto()
    PIECE_CACHE_USED = auto()
    PIECE_CACHE_CAPACITY = auto()
    PLOTTER_USED = auto()
    PLOTTER_TOTAL = auto()
    CONNECTIONS = auto()
    STAGE_SUM = auto()  # the stage is in _STAGE_OF
    STAGE_COUNT = auto()
    PLOTTING_ERRORS = auto()
    CACHE_GET_HIT = auto()
    CACHE_GET_MISS = auto()
    CACHE_FIND_HIT = auto()
    CACHE_FIND_MISS = auto()
    CACHE_ERRORS = auto()
    DISK_CACHE_USED = auto()
    DISK_CACHE_CAPACITY = auto()
    PLOTTER_PLOTTED = auto()
    PLOTTER_ERRORS = auto()
    STAGE_COUNTER = auto()  # sectors through a stage; the stage is in _STAGE_OF
    PLOTTER_STAGE_SUM = auto()
    PLOTTER_STAGE_COUNT = auto()
    PLOTTER_STAGE_COUNTER = auto()
    DISK_CACHE_CONTENTS = auto()
    DISK_CACHE_READS = auto()
    DISK_CACHE_INDEX_READS = auto()
    DISK_CACHE_WRITES = auto()


_CUR = MetricsLayout.CURRENT
_OLD = MetricsLayout.LEGACY


def _histogram(base: str, bucket: _F, total: _F, count: _F) -> dict[str, _F]:
    return {f"{base}_bucket": bucket, f"{base}_sum": total, f"{base}_count": count}


_STAGES = ("downloading", "encoding", "writing", "plotting")
# Only the sum and count of the sector stage histograms are read: their buckets are most of a
# plotting farmer's body and a mean per stage is what /farm shows.
_STAGE_TIMES = {
    f"subspace_farmer_farm_sector_{stage}_time_seconds_{part}": (
        _F.STAGE_SUM if part == "sum" else _F.STAGE_COUNT
    )
    for stage in _STAGES
    for part in ("sum", "count")
}
_STAGE_COUNTERS = {
    f"subspace_farmer_farm_sector_{done}_counter_Sectors_total": _F.STAGE_COUNTER
    for done in ("downloaded", "encoded", "written")
}
# A plotter (the farmer's own or a cluster plotter) times its stages per plotter ``kind``.
_PLOTTER_STAGES = ("downloading", "encoding", "plotting")
_PLOTTER_TIMES = {
    f"subspace_farmer_plotter_sector_{stage}_time_seconds_{part}": (
        _F.PLOTTER_STAGE_SUM if part == "sum" else _F.PLOTTER_STAGE_COUNT
    )
    for stage in _PLOTTER_STAGES
    for part in ("sum", "count")
}
_PLOTTER_COUNTERS = {
    f"subspace_farmer_plotter_sector_{done}_counter_Sectors_total": _F.PLOTTER_STAGE_COUNTER
    for done in ("downloaded", "encoded")
}
_DONE_STAGE = {"downloaded": "downloading", "encoded": "encoding", "written": "writing"}
_STAGE_OF = {
    name.lower(): _DONE_STAGE.get(stage, stage)
    for name in (*_STAGE_TIMES, *_STAGE_COUNTERS, *_PLOTTER_TIMES, *_PLOTTER_COUNTERS)
    for stage in (name.split("_sector_")[1].split("_")[0],)
}


# Sample name (lower-cased) -> (field, layout). The one place farmer metric names are spelled.
FARMER_ALIASES: dict[str, tuple[_F, MetricsLayout]] = {
    name.lower(): (f, layout)
    for layout, names in (
        (
            _CUR,
            {
                "subspace_farmer_farm_sectors_total_Sectors": _F.SECTORS,
                **_histogram(
                    "subspace_farmer_farm_auditing_time_seconds",
                    _F.AUDIT_BUCKET,
                    _F.AUDIT_SUM,
                    _F.AUDIT_COUNT,
                ),
                **_histogram(
                    "subspace_farmer_farm_proving_time_seconds",
                    _F.PROVE_BUCKET,
                    _F.PROVE_SUM,
                    _F.PROVE_COUNT,
                ),
                "subspace_farmer_farm_sector_plotted_counter_Sectors_total": _F.PLOTTED_COUNTER,
                "subspace_farmer_farm_farming_errors_total": _F.FARMING_ERRORS,
                "subspace_farmer_farm_skipped_slots_total": _F.SKIPPED_SLOTS,
                "subspace_farmer_farmer_cache_piece_cache_capacity_used_Pieces": (
                    _F.PIECE_CACHE_USED
                ),
                "subspace_farmer_farmer_cache_piece_cache_capacity_total_Pieces": (
                    _F.PIECE_CACHE_CAPACITY
                ),
                "subspace_farmer_plotter_plotting_capacity_used_Sectors": _F.PLOTTER_USED,
                "subspace_farmer_plotter_plotting_capacity_total_Sectors": _F.PLOTTER_TOTAL,
                "subspace_farmer_subspace_established_connections": _F.CONNECTIONS,
                **_STAGE_TIMES,
                "subspace_farmer_farm_sector_plotting_error_counter_Sectors_total": (
                    _F.PLOTTING_ERRORS
                ),
                "subspace_farmer_farmer_cache_cache_get_hit_Requests_total": _F.CACHE_GET_HIT,
                "subspace_farmer_farmer_cache_cache_get_miss_Requests_total": _F.CACHE_GET_MISS,
                "subspace_farmer_farmer_cache_cache_find_hit_Requests_total": _F.CACHE_FIND_HIT,
                "subspace_farmer_farmer_cache_cache_find_miss_Requests_total": _F.CACHE_FIND_MISS,
                "subspace_farmer_farmer_cache_cache_error_Requests_total": _F.CACHE_ERRORS,
                "subspace_farmer_disk_piece_cache_capacity_used_Pieces": _F.DISK_CACHE_USED,
                "subspace_farmer_disk_piece_cache_capacity_total_Pieces": _F.DISK_CACHE_CAPACITY,
                "subspace_farmer_plotter_sector_plotted_counter_Sectors_total": (
                    _F.PLOTTER_PLOTTED
                ),
                "subspace_farmer_plotter_sector_plotting_error_counter_Sectors_total": (
                    _F.PLOTTER_ERRORS
                ),
                **_STAGE_COUNTERS,
                **_PLOTTER_TIMES,
                **_PLOTTER_COUNTERS,
                "subspace_farmer_disk_piece_cache_contents_Requests_total": (
                    _F.DISK_CACHE_CONTENTS
                ),
                "subspace_farmer_disk_piece_cache_read_piece_Pieces_total": _F.DISK_CACHE_READS,
                "subspace_farmer_disk_piece_cache_read_piece_index_Requests_total": (
                    _F.DISK_CACHE_INDEX_READS
                ),
                "subspace_farmer_disk_piece_cache_write_piece_Pieces_total": _F.DISK_CACHE_WRITES,
            },
        ),
        (
            _OLD,
            {
                "subspace_farmer_sectors_total_sectors": _F.SECTORS,
                **_histogram(
                    "subspace_farmer_auditing_time_seconds",
                    _F.AUDIT_BUCKET,
                    _F.AUDIT_SUM,
                    _F.AUDIT_COUNT,
                ),
                **_histogram(
                    "subspace_farmer_proving_time_seconds",
                    _F.PROVE_BUCKET,
                    _F.PROVE_SUM,
                    _F.PROVE_COUNT,
                ),
                # Farmer-wide in the older builds (no farm_id label); both spellings were seen.
                "subspace_farmer_sector_plotted_counter_sectors_total": _F.PLOTTED_COUNTER,
                "subspace_farmer_plotted_counter_sectors_total": _F.PLOTTED_COUNTER,
                "subspace_farmer_farming_errors_total": _F.FARMING_ERRORS,
                "subspace_farmer_skipped_slots_total": _F.SKIPPED_SLOTS,
            },
        ),
    )
    for name, f in names.items()
}

NODE_NAMES = frozenset(
    {
        "substrate_block_height",
        "substrate_sub_libp2p_peers_count",
        "substrate_sub_libp2p_is_major_syncing",
        "substrate_build_info",
        # newer families (UPSTREAM.md); counters may carry the OpenMetrics ``_total`` suffix
        "subspace_node_blocks",
        "subspace_node_blocks_total",
        "subspace_node_extrinsics",
        "subspace_node_extrinsics_total",
        "substrate_number_leaves",
        "substrate_ready_transactions_number",
        "substrate_process_start_time_seconds",
    }
)

_SECTOR_STATES = {
    "plotted": "plotted",
    "notplotted": "not_plotted",
    "abouttoexpire": "about_to_expire",
    "expired": "expired",
}
_OUTCOMES = {o.value: o for o in ProvingOutcome}


# --- reading a body -------------------------------------------------------------------------


def _wanted_lines(text: str, wanted: Container[str]) -> Iterator[str]:
    """Sample lines whose metric name (compared lower-cased) is in ``wanted``; comments dropped.

    Without the comments every sample reaches us under its own name, which is what we key on.
    """
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        brace = line.find("{")
        name = line[:brace] if brace >= 0 else line.split(None, 1)[0] if line.strip() else ""
        if name.strip().lower() in wanted:
            yield line


_Parsed = tuple[str, dict[str, str], float]


class LineCache:
    """Parsed lines of a target's previous body, so an unchanged line is not parsed again.

    Between two scrapes a minute apart most lines are identical (sector counts, proving and most
    histogram buckets); only those that changed go through the library parser. Owned by one
    target's loop; each parse replaces the contents with the lines of the current body.
    """

    __slots__ = ("hits", "lines", "misses")

    def __init__(self) -> None:
        self.lines: dict[str, _Parsed] = {}
        self.hits = 0
        self.misses = 0


# What the library raises on text it cannot read (it checks little and indexes a lot).
_LIBRARY_ERRORS = (ValueError, IndexError, KeyError, TypeError, AttributeError, OverflowError)


def _parse_lines(lines: list[str]) -> list[_Parsed]:
    try:
        parsed = [
            (sample.name.lower(), sample.labels, float(sample.value))
            for family in text_string_to_metric_families("\n".join(lines))
            for sample in family.samples
        ]
    except _LIBRARY_ERRORS as exc:
        raise MetricsParseError(f"a metrics line could not be parsed: {exc!r}") from None
    if len(parsed) != len(lines):  # pragma: no cover - every comment-free line is one sample
        raise MetricsParseError("the metrics body has lines that are not samples")
    return parsed


def _samples(text: str, wanted: Container[str], cache: LineCache | None) -> list[_Parsed]:
    _reject_non_metrics(text)
    lines = list(_wanted_lines(text, wanted))
    if cache is None:
        return _parse_lines(lines)
    known = cache.lines
    missing = list(dict.fromkeys(line for line in lines if line not in known))
    fresh = dict(zip(missing, _parse_lines(missing), strict=True))
    parsed = [known[line] if line in known else fresh[line] for line in lines]
    cache.hits += len(lines) - len(missing)
    cache.misses += len(missing)
    cache.lines = dict(zip(lines, parsed, strict=True))
    return parsed


def _reject_non_metrics(text: str) -> None:
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype", "<html", "<?xml", "<")):
        raise MetricsParseError("an HTML page, not metrics (is the URL the /metrics path?)")
    if "\x00" in text[:4096]:
        raise MetricsParseError("binary data, not metrics")


@dataclass(slots=True)
class _HistogramBuilder:
    buckets: dict[float, float] = field(default_factory=dict)
    sum: float = 0.0
    count: float = 0.0

    def build(self) -> Histogram:
        return Histogram(tuple(sorted(self.buckets.items())), self.sum, self.count)


@dataclass(slots=True)
class _FarmBuilder:
    sectors: dict[str, int] = field(default_factory=dict)
    plotted_counter: float | None = None
    auditing: _HistogramBuilder = field(default_factory=_HistogramBuilder)
    proving: dict[ProvingOutcome, _HistogramBuilder] = field(default_factory=dict)
    farming_errors: float = 0.0
    skipped_slots: float = 0.0
    stages: dict[str, list[float]] = field(default_factory=dict)  # stage -> [sum, count]
    stage_counters: dict[str, float] = field(default_factory=dict)
    plotting_errors: float | None = None

    def build(self, farm_id: str) -> FarmMetrics:
        return FarmMetrics(
            farm_id=farm_id,
            sectors_plotted=self.sectors.get("plotted", 0),
            sectors_not_plotted=self.sectors.get("not_plotted", 0),
            sectors_about_to_expire=self.sectors.get("about_to_expire", 0),
            sectors_expired=self.sectors.get("expired", 0),
            sectors_plotted_counter=self.plotted_counter,
            auditing=self.auditing.build() if self.auditing.buckets else EMPTY_HISTOGRAM,
            proving=tuple(
                (outcome, self.proving[outcome].build())
                for outcome in ProvingOutcome
                if outcome in self.proving
            ),
            farming_errors=self.farming_errors,
            skipped_slots=self.skipped_slots,
            stage_times=tuple(
                (stage, self.stages[stage][0], self.stages[stage][1])
                for stage in _STAGES
                if stage in self.stages
            ),
            plotting_errors=self.plotting_errors,
            stage_counters=tuple(
                (stage, self.stage_counters[stage])
                for stage in _STAGES
                if stage in self.stage_counters
            ),
        )


def _count(value: float) -> int | None:
    """A count stored as an integer: None for NaN, infinities and what SQLite cannot hold."""
    return int(value) if math.isfinite(value) and abs(value) < 2**53 else None


def _bound(le: str | None) -> float | None:
    try:
        bound = float(le) if le is not None else None
    except ValueError:
        return None  # a bucket whose bound is not a number: left out
    return None if bound is None or math.isnan(bound) else bound


def _add_histogram_sample(h: _HistogramBuilder, kind: str, le: str | None, value: float) -> None:
    if kind == "bucket":
        bound = _bound(le)
        if bound is not None:
            h.buckets[bound] = value
    elif kind == "sum":
        h.sum = value
    else:
        h.count = value


# Where a plotter stage sample goes in its [sum, count, sectors] slot.
_PLOTTER_STAGE_FIELDS = {
    _F.PLOTTER_STAGE_SUM: 0,
    _F.PLOTTER_STAGE_COUNT: 1,
    _F.PLOTTER_STAGE_COUNTER: 2,
}


def parse_farmer_metrics(text: str, cache: LineCache | None = None) -> FarmerSnapshot:
    """A farmer's ``/metrics`` body -> :class:`FarmerSnapshot` (one :class:`FarmMetrics` a farm).

    Raises :class:`MetricsParseError` for HTML, garbage, or a body with no farmer metrics at all.
    """
    farms: dict[str, _FarmBuilder] = {}
    layouts: set[MetricsLayout] = set()
    farmer: dict[_F, float] = {}  # farmer-wide values; gauges per plotter kind are added up
    plotter_stages: dict[str, list[float]] = {}  # stage -> [sum, count, sectors through it]
    matched = 0

    for name, labels, value in _samples(text, FARMER_ALIASES, cache):
        alias = FARMER_ALIASES.get(name)
        if alias is None or not math.isfinite(value):
            continue  # NaN or an infinity says nothing a farm can be shown with
        f, layout = alias
        matched += 1
        layouts.add(layout)
        farm_id = labels.get("farm_id")
        if farm_id is None:
            if f in _PLOTTER_STAGE_FIELDS:
                slot = _PLOTTER_STAGE_FIELDS[f]
                plotter_stages.setdefault(_STAGE_OF[name], [0.0, 0.0, 0.0])[slot] += value
            else:
                farmer[f] = farmer.get(f, 0.0) + value
            continue
        farm = farms.get(farm_id)
        if farm is None:
            farm = farms[farm_id] = _FarmBuilder()
        if f is _F.SECTORS:
            state = _SECTOR_STATES.get(labels.get("state", "").lower())
            count = _count(value)
            if state is not None and count is not None:
                farm.sectors[state] = count
        elif f in (_F.AUDIT_BUCKET, _F.AUDIT_SUM, _F.AUDIT_COUNT):
            _add_histogram_sample(farm.auditing, name.rsplit("_", 1)[1], labels.get("le"), value)
        elif f in (_F.PROVE_BUCKET, _F.PROVE_SUM, _F.PROVE_COUNT):
            outcome = _OUTCOMES.get(labels.get("result", "success").lower())
            if outcome is not None:
                hist = farm.proving.get(outcome)
                if hist is None:
                    hist = farm.proving[outcome] = _HistogramBuilder()
                _add_histogram_sample(hist, name.rsplit("_", 1)[1], labels.get("le"), value)
        elif f is _F.PLOTTED_COUNTER:
            farm.plotted_counter = value
        elif f is _F.FARMING_ERRORS:
            farm.farming_errors += value  # one series per error kind
        elif f is _F.SKIPPED_SLOTS:
            farm.skipped_slots += value
        elif f is _F.STAGE_SUM or f is _F.STAGE_COUNT:
            times = farm.stages.setdefault(_STAGE_OF[name], [0.0, 0.0])
            times[0 if f is _F.STAGE_SUM else 1] = value
        elif f is _F.PLOTTING_ERRORS:
            farm.plotting_errors = value
        elif f is _F.STAGE_COUNTER:
            farm.stage_counters[_STAGE_OF[name]] = value

    if "plotting" in plotter_stages:  # sectors through the whole plotting: the plotted counter
        plotter_stages["plotting"][2] = farmer.get(_F.PLOTTER_PLOTTED, 0.0)
    if matched == 0:
        raise MetricsParseError(
            "no farmer metrics (subspace_farmer_…) in the body; is this a farmer's /metrics URL?"
        )
    return FarmerSnapshot(
        layout=_CUR if _CUR in layouts else _OLD,
        farms=tuple(farms[k].build(k) for k in sorted(farms)),
        piece_cache_used=farmer.get(_F.PIECE_CACHE_USED),
        piece_cache_capacity=farmer.get(_F.PIECE_CACHE_CAPACITY),
        plotter_capacity_used=farmer.get(_F.PLOTTER_USED),
        plotter_capacity_total=farmer.get(_F.PLOTTER_TOTAL),
        connections=farmer.get(_F.CONNECTIONS),
        sectors_plotted_counter=farmer.get(_F.PLOTTED_COUNTER),
        cache_get_hit=farmer.get(_F.CACHE_GET_HIT),
        cache_get_miss=farmer.get(_F.CACHE_GET_MISS),
        cache_find_hit=farmer.get(_F.CACHE_FIND_HIT),
        cache_find_miss=farmer.get(_F.CACHE_FIND_MISS),
        cache_errors=farmer.get(_F.CACHE_ERRORS),
        disk_cache_used=farmer.get(_F.DISK_CACHE_USED),
        disk_cache_capacity=farmer.get(_F.DISK_CACHE_CAPACITY),
        plotter_sectors_plotted=farmer.get(_F.PLOTTER_PLOTTED),
        plotter_plotting_errors=farmer.get(_F.PLOTTER_ERRORS),
        disk_cache_contents=farmer.get(_F.DISK_CACHE_CONTENTS),
        disk_cache_reads=farmer.get(_F.DISK_CACHE_READS),
        disk_cache_index_reads=farmer.get(_F.DISK_CACHE_INDEX_READS),
        disk_cache_writes=farmer.get(_F.DISK_CACHE_WRITES),
        plotter_stage_times=tuple(
            (stage, got[0], got[1], got[2])
            for stage in _PLOTTER_STAGES
            if (got := plotter_stages.get(stage)) is not None
        ),
    )


def parse_node_metrics(text: str, cache: LineCache | None = None) -> NodeSnapshot:
    """A node's ``/metrics`` body -> :class:`NodeSnapshot`.

    Raises :class:`MetricsParseError` for HTML, garbage, or a body without ``substrate_*`` samples.
    """
    heights: dict[str, int] = {}
    peers: int | None = None
    syncing: bool | None = None
    version = node_name = chain = None
    counters: dict[str, float] = {}
    matched = 0
    for name, labels, value in _samples(text, NODE_NAMES, cache):
        if not math.isfinite(value):
            continue  # NaN or an infinity: no height, count or time to show
        matched += 1
        chain = labels.get("chain", chain)
        count = _count(value)
        if name == "substrate_block_height":
            if count is not None:
                heights[labels.get("status", "")] = count
        elif name == "substrate_sub_libp2p_peers_count":
            peers = count if count is not None else peers
        elif name == "substrate_sub_libp2p_is_major_syncing":
            syncing = value != 0
        elif name == "substrate_build_info":
            version = labels.get("version")
            node_name = labels.get("name")
        else:
            counters[name.removesuffix("_total")] = value
    if matched == 0:
        raise MetricsParseError(
            "no node metrics (substrate_…) in the body; is this a node's /metrics URL?"
        )
    return NodeSnapshot(
        best=heights.get("best"),
        finalized=heights.get("finalized"),
        sync_target=heights.get("sync_target"),
        peers=peers,
        major_syncing=syncing,
        version=version,
        node_name=node_name,
        chain=chain,
        blocks_imported=counters.get("subspace_node_blocks"),
        extrinsics=counters.get("subspace_node_extrinsics"),
        leaves=_opt_int(counters.get("substrate_number_leaves")),
        ready_transactions=_opt_int(counters.get("substrate_ready_transactions_number")),
        process_start_s=counters.get("substrate_process_start_time_seconds"),
    )


def _opt_int(value: float | None) -> int | None:
    return None if value is None else int(value)


# Farming-cluster endpoints (controller, cache, plotter): sample name -> ClusterSnapshot field.
# Names as prometheus-client (Rust) writes them under the farmer's ``subspace_farmer`` prefix:
# plotter/{cpu,gpu}/metrics.rs, disk_piece_cache/metrics.rs, farmer_cache/metrics.rs.
CLUSTER_NAMES: dict[str, str] = {
    "subspace_farmer_plotter_plotting_capacity_used_sectors": "plotting_capacity_used",
    "subspace_farmer_plotter_plotting_capacity_total_sectors": "plotting_capacity_total",
    "subspace_farmer_plotter_sector_plotted_counter_sectors_total": "sectors_plotted",
    "subspace_farmer_plotter_sector_plotting_error_counter_sectors_total": (
        "sectors_plotting_errors"
    ),
    "subspace_farmer_plotter_sector_plotting_time_seconds_sum": "plotting_sum",
    "subspace_farmer_plotter_sector_plotting_time_seconds_count": "plotting_count",
    "subspace_farmer_disk_piece_cache_capacity_used_pieces": "cache_capacity_used",
    "subspace_farmer_disk_piece_cache_capacity_total_pieces": "cache_capacity_total",
    "subspace_farmer_farmer_cache_piece_cache_capacity_used_pieces": "piece_cache_used",
    "subspace_farmer_farmer_cache_piece_cache_capacity_total_pieces": "piece_cache_capacity",
}


def parse_cluster_metrics(text: str, cache: LineCache | None = None) -> ClusterSnapshot:
    """A cluster controller's, cache's or plotter's ``/metrics`` body -> :class:`ClusterSnapshot`.

    Values of several plotters (``kind`` label) or piece caches (``cache_id``) are added up.
    Raises :class:`MetricsParseError` for HTML, garbage, or a body without cluster samples.
    """
    totals: dict[str, float] = {}
    for name, _labels, value in _samples(text, CLUSTER_NAMES, cache):
        field_name = CLUSTER_NAMES[name]
        totals[field_name] = totals.get(field_name, 0.0) + value
    if not totals:
        raise MetricsParseError(
            "no farming-cluster metrics (subspace_farmer_plotter_…, …_disk_piece_cache_…,"
            " …_farmer_cache_…) in the body; is this a cluster component's /metrics URL?"
        )
    count = totals.pop("plotting_count", None)
    total_s = totals.pop("plotting_sum", None)
    mean = total_s / count if count and total_s is not None else None
    return ClusterSnapshot(sector_plotting_mean_s=mean, **totals)


# --- histogram arithmetic -------------------------------------------------------------------


def histogram_mean(h: Histogram) -> float | None:
    """Mean observation (sum / count); None when nothing was observed."""
    return h.sum / h.count if h.count > 0 else None


def histogram_quantile(h: Histogram, q: float) -> float | None:
    """Estimate the ``q`` quantile (0 < q ≤ 1) by linear interpolation inside the bucket.

    Like Prometheus' ``histogram_quantile``: the first bucket starts at 0, and a rank that falls
    in the ``+Inf`` bucket returns the highest finite bound. None when nothing was observed.
    """
    if not 0 < q <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {q}")
    if not h.buckets:
        return None
    total = h.buckets[-1][1] if math.isinf(h.buckets[-1][0]) else max(h.count, h.buckets[-1][1])
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in h.buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            in_bucket = count - lower_count
            if in_bucket <= 0:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket
        lower_bound, lower_count = bound, count
    return lower_bound


def merge_histograms(histograms: Sequence[Histogram]) -> Histogram:
    """Add histograms with the same bucket bounds (e.g. proving times of every outcome)."""
    present = [h for h in histograms if h.buckets or h.count]
    if not present:
        return EMPTY_HISTOGRAM
    if len(present) == 1:
        return present[0]
    merged: dict[float, float] = {}
    for h in present:
        for bound, count in h.buckets:
            merged[bound] = merged.get(bound, 0.0) + count
    return Histogram(
        tuple(sorted(merged.items())), sum(h.sum for h in present), sum(h.count for h in present)
    )


def histogram_delta(earlier: Histogram, later: Histogram) -> Histogram | None:
    """Observations made between two readings of one histogram (for recent statistics).

    A histogram that went down was reset by a farmer restart: everything in ``later`` is new.
    None when the bucket bounds differ (not the same histogram).
    """
    if not earlier.buckets or later.count < earlier.count:
        return later
    if [b for b, _ in earlier.buckets] != [b for b, _ in later.buckets]:
        return None
    return Histogram(
        tuple(
            (bound, count - before)
            for (bound, count), (_, before) in zip(later.buckets, earlier.buckets, strict=True)
        ),
        later.sum - earlier.sum,
        later.count - earlier.count,
    )


# --- rates and ETA --------------------------------------------------------------------------


def counter_increase(samples: Sequence[tuple[int, float]]) -> float:
    """How much a counter grew over ``(ts_us, value)`` samples in time order.

    A drop means the farmer restarted and the counter began again from 0, so the new value is
    the growth since then (Prometheus ``increase`` semantics, without extrapolation).
    """
    total = 0.0
    for (_, before), (_, after) in pairwise(samples):
        total += after - before if after >= before else after
    return total


def rate_per_hour(samples: Sequence[tuple[int, float]], min_span_us: int) -> float | None:
    """Counter growth per hour across the samples; None when they span less than ``min_span_us``."""
    if len(samples) < 2:
        return None
    span_us = samples[-1][0] - samples[0][0]
    if span_us < min_span_us or span_us <= 0:
        return None
    return counter_increase(samples) * 3_600_000_000 / span_us


def plotting_eta_seconds(remaining_sectors: int, per_hour: float | None) -> float | None:
    """Seconds to plot ``remaining_sectors`` at ``per_hour``; 0 when done, None when stalled."""
    if remaining_sectors <= 0:
        return 0.0
    if per_hour is None or per_hour <= 0:
        return None
    return remaining_sectors / per_hour * 3600.0


def plotting_counter(farm: FarmMetrics) -> float:
    """The value whose growth is the farm's plotting rate.

    The per-farm plotted-sectors counter when the farmer has one; the older layout only had a
    farmer-wide counter, so there the number of sectors holding a plot stands in for it.
    """
    if farm.sectors_plotted_counter is not None:
        return farm.sectors_plotted_counter
    return float(farm.sectors_done)
