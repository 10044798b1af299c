"""Planning a batch of log lines: text -> typed events -> the rows to store and the new cursor.

Pure: :func:`plan_batch` reads only the lines and the cursor the last batch left (the farmer run
in progress, its ``farm_index -> farm_id`` map, the farm block being read, the last line's
time), so a batch can be planned on a worker thread or in a planning process and stored later
by :class:`collectors.ingest.LogIngestor`, which checks that the cursor is still the stored one.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from collectors.models.events import (
    Claimed,
    ClusterCacheDiscovered,
    ClusterCacheExpired,
    ClusterFarmExpired,
    ClusterFarmInitFailed,
    ClusterFarmInitialized,
    DsnPeers,
    DsnSyncError,
    DsnSyncStarted,
    Event,
    EventKind,
    EventRecord,
    FarmAllocated,
    FarmCreationFailed,
    FarmDirectory,
    FarmDown,
    FarmerShutdown,
    FarmerStarted,
    FarmExitedOk,
    FarmGenesis,
    FarmHeader,
    FarmIdLine,
    FarmingError,
    FarmMapping,
    FarmPublicKey,
    FarmRecord,
    FarmResized,
    LogBatch,
    MetricsServerStarted,
    NodeChain,
    NodeImported,
    NodeInformant,
    NodeName,
    NodeReorg,
    NodeState,
    NodeVersion,
    ParsedLine,
    PieceCacheCreated,
    PieceCacheStart,
    PieceCacheSync,
    PieceCacheSynced,
    PlotFailed,
    PlotKind,
    PlotProgress,
    PlotRetry,
    PlotSectorFinished,
    PlotSectorRequest,
    PlotState,
    PlottingComplete,
    ProveFailed,
    ProvingSkipped,
    RewardOutcome,
    RewardRecord,
    RewardSignatureInvalid,
    RewardSigned,
    SectorSendFailed,
    SignatureFailed,
    SlowBlock,
    SolutionFailed,
    SolutionIgnored,
    SourceCursor,
    UnmatchedCount,
    VoteFailed,
)
from collectors.parsing.cluster import PLOTTER_TIMEOUT_TEXT
from collectors.parsing.decode import parse_rfc3339_us
from collectors.parsing.logs import match_hot_line_re, parse_line

__all__ = ["BatchPlan", "Line", "PlannedLines", "plan_batch"]

_SAMPLE_CHARS = 500
_DAY = re.compile(r"(?:\x1b\[[0-9;]*m)?(\d{4}-\d\d-\d\d)[T ]")


@dataclass(slots=True)
class BatchPlan:
    batch: LogBatch
    by_kind: dict[EventKind, int]
    matched: int
    unmatched: int
    unresolved: int


def _day(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).strftime("%Y-%m-%d")


def _parsed_ts(text: str) -> int:
    ts = parse_rfc3339_us(text)
    assert ts is not None  # only times the hot-line pattern took, all valid
    return ts


def _line_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "replace"))


class Line(Protocol):
    """What the pipeline reads of a line: a :class:`LogLine`, or a decoder's ``DecodedLine``."""

    @property
    def text(self) -> str: ...

    @property
    def received_us(self) -> int | None: ...


def plan_batch(
    cursor: SourceCursor, lines: Sequence[Line], now_us: int, position: str | None
) -> BatchPlan:
    """Pure: what a batch of lines changes, given the source's state before it.

    ``position`` is the resume token after the batch's last line. Each recognised event is
    folded by its handler in :data:`_FOLDS`; an event type without one becomes an event row.
    """
    fold = _Fold(cursor)
    last_ts = cursor.last_ts_us
    # The time of the last progress line, parsed only when something needs it (a progress
    # line's own time matters only if it is its farm's last in the batch).
    last_ts_text: str | None = None
    index_map = fold.index_map
    progress = fold.progress
    plots = fold.plots
    rewards = fold.rewards
    unmatched = fold.unmatched
    by_kind: dict[EventKind, int] = {}
    plotting = replotting = signed = 0
    matched = unresolved = 0
    folds = _FOLDS
    fold_row = _fold_row
    parse_ts = parse_rfc3339_us
    line_hash = _line_hash

    match_hot = match_hot_line_re
    for line in lines:
        text = line.text
        hot = match_hot(text)
        if hot is not None:
            # The fast path: a progress line or a signed reward in today's plain shape (its
            # time always parses: the pattern takes only valid ones).
            ts_text, index_text, sector_text, plot_word, percent, reward_hash = hot.groups()
            hot_index = int(index_text)
            farm_id = index_map.get(hot_index)
            if farm_id is None:
                unresolved += 1
            if reward_hash is None:
                last_ts_text = ts_text
                if plot_word == "Plotting":
                    plotting += 1
                    plot_kind = PlotKind.PLOTTING
                else:
                    replotting += 1
                    plot_kind = PlotKind.REPLOTTING
                if farm_id is not None:
                    progress[farm_id] = (plot_kind, percent, sector_text, ts_text)
                    plots.pop(farm_id, None)
                continue
            signed += 1
            hot_ts = parse_ts(ts_text)
            assert hot_ts is not None
            last_ts, last_ts_text = hot_ts, None
            rewards.append(
                RewardRecord(
                    hot_ts,
                    RewardOutcome.SIGNED,
                    line_hash(text),
                    farm_id,
                    hot_index,
                    reward_hash=reward_hash.lower(),
                )
            )
            continue
        if last_ts_text is not None:
            last_ts, last_ts_text = parse_ts(last_ts_text), None
        parsed = parse_line(text)
        if parsed is None:
            found = _DAY.match(text)
            if found is not None:
                day = found.group(1)
            else:
                day = _day(line.received_us or last_ts or now_us)
            if day in unmatched:
                unmatched[day] += 1
            else:
                unmatched[day] = 1
                fold.samples[day] = text[:_SAMPLE_CHARS]
            continue
        matched += 1
        event = parsed.event
        kind = event.kind
        by_kind[kind] = by_kind.get(kind, 0) + 1
        ts = parsed.ts_us
        if ts is None or parsed.ts_local:
            # No time of its own (old farm block) or local time: the transport's, else the last.
            ts = line.received_us or ts or last_ts or now_us
        else:
            last_ts = ts
        folds.get(type(event), fold_row)(fold, event, parsed, ts, text)

    if last_ts_text is not None:
        last_ts = parse_ts(last_ts_text)
    for kind, count in (
        (EventKind.PLOTTING, plotting),
        (EventKind.REPLOTTING, replotting),
        (EventKind.REWARD_SIGNED, signed),
    ):
        if count:
            by_kind[kind] = by_kind.get(kind, 0) + count
    matched += plotting + replotting + signed
    batch = fold.batch(cursor, lines, position, last_ts)
    return BatchPlan(batch, by_kind, matched, len(lines) - matched, unresolved + fold.unresolved)


class _Fold:
    """The state a batch is folded into: the source's parser state and the rows to write."""

    __slots__ = (
        "cache_percent",
        "cache_ts",
        "events",
        "farm_fixes",
        "farms",
        "header",
        "index_map",
        "mappings",
        "node",
        "pending",
        "plots",
        "progress",
        "rewards",
        "run_start",
        "samples",
        "unmatched",
        "unresolved",
    )

    def __init__(self, cursor: SourceCursor) -> None:
        self.run_start = cursor.run_start_us
        self.header = cursor.header_index
        self.index_map = dict(cursor.index_map)
        self.cache_percent = cursor.cache_percent
        self.cache_ts = cursor.cache_ts_us
        self.events: list[EventRecord] = []
        self.rewards: list[RewardRecord] = []
        self.farms: dict[str, dict[str, Any]] = {}
        self.mappings: dict[tuple[int, int], FarmMapping] = {}
        self.plots: dict[str, PlotState] = {}
        # Progress lines are most of a plotting farmer's log: keep only each farm's last one
        # (its time as the line wrote it when it came by the fast path: parsed once, here).
        self.progress: dict[
            str, tuple[PlotKind, float | str | None, int | str | None, int | str]
        ] = {}
        self.node: dict[str, Any] = {}
        self.unmatched: dict[str, int] = {}
        self.samples: dict[str, str] = {}
        self.unresolved = 0  # farm lines whose index no farm block had named yet
        # Rows logged for a farm index before its block named the farm (a resize is logged
        # while the farm opens): farm index -> the row's (time, line hash), named at its ID
        # line. Kept in the cursor: a batch (or a restart) may fall between the two.
        self.pending: dict[int, tuple[int, int]] = {i: (t, h) for i, t, h in cursor.pending}
        # Rows of earlier batches named now: (time, line hash, farm id).
        self.farm_fixes: list[tuple[int, int, str]] = []

    def name_waiting_row(self, row: tuple[int, int], farm_id: str) -> None:
        """A row that waited for its farm: in this batch it is named here, else in the store."""
        ts_us, line_hash = row
        for at in range(len(self.events) - 1, -1, -1):
            found = self.events[at]
            if found.ts_us == ts_us and found.line_hash == line_hash and found.farm_id is None:
                self.events[at] = replace(found, farm_id=farm_id)
                return
        self.farm_fixes.append((ts_us, line_hash, farm_id))

    def farm_of(self, index: int | None) -> str | None:
        return self.index_map.get(index) if index is not None else None

    def farm_update(self, farm_id: str, ts: int, values: dict[str, Any]) -> None:
        record = self.farms.setdefault(farm_id, {"farm_id": farm_id, "first_seen_us": ts})
        record.update(values)
        record["seen_us"] = ts
        if "farm_index" in values:
            record["index_seen_us"] = ts

    def header_farm_update(self, ts: int, values: dict[str, Any]) -> None:
        """A line of a ``Farm N:`` block: it describes the farm the block's ID line named."""
        farm_id = self.farm_of(self.header)
        if farm_id is not None:
            self.farm_update(farm_id, ts, values)

    def reward(
        self,
        parsed: ParsedLine,
        ts: int,
        text: str,
        outcome: RewardOutcome,
        *,
        reward_hash: str | None = None,
        slot: int | None = None,
        sector_index: int | None = None,
        detail: str | None = None,
        farm_line: bool = True,
    ) -> None:
        index = parsed.farm_index
        farm_id = self.farm_of(index)
        if farm_id is None and farm_line:
            self.unresolved += 1
        self.rewards.append(
            RewardRecord(
                ts,
                outcome,
                _line_hash(text),
                farm_id,
                index,
                reward_hash=reward_hash,
                slot=slot,
                sector_index=sector_index,
                detail=detail,
            )
        )

    def row(self, event: Event, parsed: ParsedLine, ts: int, text: str, data: str | None) -> None:
        index = parsed.farm_index
        self.events.append(
            EventRecord(ts, event.kind, _line_hash(text), self.farm_of(index), index, data)
        )

    def batch(
        self, cursor: SourceCursor, lines: Sequence[Line], position: str | None, last_ts: int | None
    ) -> LogBatch:
        plots = self.plots
        for farm_id, (last_kind, last_percent, last_sector, last_us) in self.progress.items():
            plots[farm_id] = PlotState(
                farm_id,
                last_kind,
                float(last_percent or 0),
                int(last_sector) if last_sector is not None else None,
                last_us if isinstance(last_us, int) else _parsed_ts(last_us),
            )
        cursor_after = SourceCursor(
            position=position if lines else cursor.position,
            run_start_us=self.run_start,
            header_index=self.header,
            last_ts_us=last_ts,
            index_map=tuple(sorted(self.index_map.items())),
            cache_percent=self.cache_percent,
            cache_ts_us=self.cache_ts,
            pending=tuple(sorted((i, t, h) for i, (t, h) in self.pending.items())),
        )
        samples = self.samples
        return LogBatch(
            cursor=cursor_after,
            lines=len(lines),
            events=tuple(self.events),
            rewards=tuple(self.rewards),
            farms=tuple(FarmRecord(**values) for values in self.farms.values()),
            mappings=tuple(self.mappings.values()),
            farm_fixes=tuple(self.farm_fixes),
            plots=tuple(plots.values()),
            node=NodeState(**self.node) if self.node else None,
            unmatched=tuple(
                UnmatchedCount(day, n, samples[day]) for day, n in self.unmatched.items()
            ),
        )


# --- fold handlers: (state, event, parsed line, its time, its text) -> None -------------------


def _fold_row(fold: _Fold, event: Event, parsed: ParsedLine, ts: int, text: str) -> None:
    """An event tracked only as a row (its fields, if any, from :data:`_ROW_DATA`)."""
    data = _ROW_DATA.get(type(event))
    fold.row(event, parsed, ts, text, data(event) if data is not None else None)


def _fold_progress(
    fold: _Fold, event: PlotProgress, parsed: ParsedLine, ts: int, text: str
) -> None:
    farm_id = fold.farm_of(parsed.farm_index)
    if farm_id is None:
        fold.unresolved += 1
    else:
        fold.progress[farm_id] = (event.plot_kind, event.percent, parsed.sector_index, ts)
        fold.plots.pop(farm_id, None)


def _fold_signed(fold: _Fold, event: RewardSigned, parsed: ParsedLine, ts: int, text: str) -> None:
    fold.reward(parsed, ts, text, RewardOutcome.SIGNED, reward_hash=event.reward_hash)


def _fold_signature_failed(
    fold: _Fold, event: SignatureFailed, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.reward(
        parsed,
        ts,
        text,
        RewardOutcome.SIGNATURE_FAILED,
        reward_hash=event.reward_hash,
        detail=event.error,
    )


def _fold_solution_failed(
    fold: _Fold, event: SolutionFailed, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.reward(
        parsed,
        ts,
        text,
        RewardOutcome.SOLUTION_FAILED,
        slot=event.slot,
        sector_index=parsed.sector_index,
        detail=event.error,
    )


def _fold_proving_skipped(
    fold: _Fold, event: ProvingSkipped, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.reward(
        parsed,
        ts,
        text,
        RewardOutcome.PROVING_SKIPPED,
        slot=event.slot,
        sector_index=parsed.sector_index,
    )


def _fold_prove_failed(
    fold: _Fold, event: ProveFailed, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.reward(
        parsed,
        ts,
        text,
        RewardOutcome.PROVE_FAILED,
        slot=event.slot,
        sector_index=parsed.sector_index,
        detail=event.error,
    )


def _fold_vote_failed(
    fold: _Fold, event: VoteFailed, parsed: ParsedLine, ts: int, text: str
) -> None:
    # A node line: the vote belongs to one of the node's farmers, not to a farm index.
    fold.reward(
        parsed,
        ts,
        text,
        RewardOutcome.VOTE_FAILED,
        slot=event.slot,
        detail=event.error,
        farm_line=False,
    )


def _fold_signature_invalid(
    fold: _Fold, event: RewardSignatureInvalid, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.reward(
        parsed,
        ts,
        text,
        RewardOutcome.REWARD_SIGNATURE_INVALID,
        reward_hash=event.reward_hash.lower() if event.reward_hash else None,
        detail="the node rejected the farmer's reward signature",
        farm_line=False,
    )


def _fold_informant(
    fold: _Fold, event: NodeInformant, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.node.update(
        ts_us=ts,
        state=event.state,
        peers=event.peers,
        best=event.best,
        finalized=event.finalized,
        target=event.target,
        bps=event.bps,
    )


def _fold_imported(
    fold: _Fold, event: NodeImported, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.node.update(imported_number=event.number, imported_hash=event.block_hash, imported_us=ts)


def _fold_cache_sync(
    fold: _Fold, event: PieceCacheSync, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.cache_percent, fold.cache_ts = event.percent, ts


def _fold_cache_synced(
    fold: _Fold, event: PieceCacheSynced, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.cache_percent, fold.cache_ts = 100.0, ts
    _fold_row(fold, event, parsed, ts, text)


def _fold_farmer_start(
    fold: _Fold, event: FarmerStarted, parsed: ParsedLine, ts: int, text: str
) -> None:
    # A new run: farm indices are reassigned by the farm blocks that follow.
    fold.run_start = ts
    fold.index_map.clear()
    fold.pending.clear()
    fold.header = None
    _fold_row(fold, event, parsed, ts, text)


def _fold_farm_header(
    fold: _Fold, event: FarmHeader, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.header = event.farm_index
    if fold.run_start is None:
        # A block without a start line before it opens a run (a cluster farmer prints none:
        # after its shutdown line, its next farm blocks are a new run).
        fold.run_start = ts
        fold.index_map.clear()


def _fold_shutdown(
    fold: _Fold, event: FarmerShutdown, parsed: ParsedLine, ts: int, text: str
) -> None:
    # The run ends; its map stays for the farms' last lines (``Farm exited successfully``).
    fold.run_start = None
    fold.header = None
    _fold_row(fold, event, parsed, ts, text)


def _fold_farm_id(fold: _Fold, event: FarmIdLine, parsed: ParsedLine, ts: int, text: str) -> None:
    header, run_start = fold.header, fold.run_start
    if header is not None and run_start is not None:
        fold.index_map[header] = event.farm_id
        fold.mappings[(run_start, header)] = FarmMapping(run_start, header, event.farm_id, ts)
        fold.farm_update(event.farm_id, ts, {"farm_index": header})
        waiting = fold.pending.pop(header, None)
        if waiting is not None:
            fold.name_waiting_row(waiting, event.farm_id)


def _fold_farm_resized(
    fold: _Fold, event: FarmResized, parsed: ParsedLine, ts: int, text: str
) -> None:
    _fold_row(fold, event, parsed, ts, text)
    index = parsed.farm_index
    row = fold.events[-1]
    if index is not None and row.farm_id is None:
        fold.pending[index] = (row.ts_us, row.line_hash)


def _fold_genesis(fold: _Fold, event: FarmGenesis, parsed: ParsedLine, ts: int, text: str) -> None:
    fold.header_farm_update(ts, {"genesis_hash": event.genesis_hash})


def _fold_public_key(
    fold: _Fold, event: FarmPublicKey, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.header_farm_update(ts, {"public_key": event.public_key})


def _fold_allocated(
    fold: _Fold, event: FarmAllocated, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.header_farm_update(ts, {"allocated_text": event.text, "allocated_bytes": event.bytes})


def _fold_directory(
    fold: _Fold, event: FarmDirectory, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.header_farm_update(ts, {"directory": event.path})


def _fold_plotting_complete(
    fold: _Fold, event: PlottingComplete, parsed: ParsedLine, ts: int, text: str
) -> None:
    farm_id = fold.farm_of(parsed.farm_index)
    if farm_id is not None:
        fold.plots[farm_id] = PlotState(farm_id, event.plot_kind, 100.0, None, ts, ts)
        fold.progress.pop(farm_id, None)
    _fold_row(fold, event, parsed, ts, text)


def _fold_node_version(
    fold: _Fold, event: NodeVersion, parsed: ParsedLine, ts: int, text: str
) -> None:
    fold.node.update(version=event.version, version_us=ts)
    _fold_row(fold, event, parsed, ts, text)


# --- what a row's data column holds, per event type (JSON; types not here store none) ------


def _farm_down_data(event: FarmDown) -> str:
    return json.dumps({"error": event.error, "farm_index": event.farm_index})


def _error_data(event: FarmingError) -> str:
    return json.dumps({"error": event.error})


def _plot_failed_data(event: PlotFailed) -> str:
    return json.dumps({"error": event.error, "retry_in": event.retry_in})


def _slot_data(event: Claimed | SolutionIgnored) -> str:
    return json.dumps({"slot": event.slot})


def _farmer_start_data(event: FarmerStarted) -> str:
    return json.dumps({"node_rpc_url": event.node_rpc_url})


def _shutdown_data(event: FarmerShutdown) -> str:
    if event.process != "farmer":
        return json.dumps({"signal": event.signal, "process": event.process})
    return json.dumps({"signal": event.signal})


def _version_data(event: NodeVersion) -> str:
    return json.dumps({"version": event.version})


def _reorg_data(event: NodeReorg) -> str:
    return json.dumps(
        {
            "from": [event.from_number, event.from_hash],
            "to": [event.to_number, event.to_hash],
            "common": [event.common_number, event.common_hash],
        },
        ensure_ascii=False,
    )


def _farm_creation_failed_data(event: FarmCreationFailed) -> str:
    return json.dumps({"error": event.error})


def _farm_resized_data(event: FarmResized) -> str:
    return json.dumps({"old_space": event.old_space, "new_space": event.new_space})


def _farm_exited_ok_data(event: FarmExitedOk) -> str:
    return json.dumps({"farm_index": event.farm_index})


def _cache_start_data(event: PieceCacheStart) -> str:
    return json.dumps({"stage": event.stage})


def _sector_send_failed_data(event: SectorSendFailed) -> str:
    return json.dumps({"plot_kind": event.plot_kind.value, "error": event.error})


def _plot_retry_data(event: PlotRetry) -> str:
    return json.dumps({"plot_kind": event.plot_kind.value})


def _metrics_server_data(event: MetricsServerStarted) -> str:
    return json.dumps({"endpoints": event.endpoints})


def _dsn_peers_data(event: DsnPeers) -> str:
    return json.dumps({"connected": event.connected, "known": event.known})


def _slow_block_data(event: SlowBlock) -> str:
    return json.dumps({"took_ms": event.took_ms, "reference_ms": event.reference_ms})


def _dsn_sync_error_data(event: DsnSyncError) -> str:
    return json.dumps({"error": event.error})


def _dsn_sync_data(event: DsnSyncStarted) -> str:
    return json.dumps({"reason": event.reason})


def _name_data(event: NodeChain | NodeName) -> str:
    return json.dumps({"name": event.name}, ensure_ascii=False)


_Folder = Callable[[_Fold, Any, ParsedLine, int, str], None]

#: Event type -> the handler that folds it into the batch. A new message is one entry here
#: (and one handler), or, when it only needs an event row, one in ``_ROW_DATA`` or none at all.
# --- farming cluster ------------------------------------------------------------------------


def _fold_cluster_farm(
    fold: _Fold, event: ClusterFarmInitialized, parsed: ParsedLine, ts: int, text: str
) -> None:
    """At the controller, the farm's index is the controller's own: it maps that source's
    ``Farm exited … farm_index=N`` lines. The farm's row belongs to its cluster farmer."""
    index = event.farm_index
    if index is not None:
        if fold.run_start is None:
            fold.run_start = ts
        fold.index_map[index] = event.farm_id
        fold.mappings[(fold.run_start, index)] = FarmMapping(
            fold.run_start, index, event.farm_id, ts
        )
    _fold_farm_row(fold, event, parsed, ts, text)


def _fold_farm_row(
    fold: _Fold,
    event: ClusterFarmInitialized | ClusterFarmExpired | ClusterFarmInitFailed,
    parsed: ParsedLine,
    ts: int,
    text: str,
) -> None:
    """A controller line naming a farm by its id: the row is that farm's."""
    data: dict[str, Any] = {
        "cluster_farmer_id": event.cluster_farmer_id,
        "farm_index": event.farm_index,
    }
    if isinstance(event, ClusterFarmInitFailed):
        data["error"] = event.error
    fold.events.append(
        EventRecord(
            ts, event.kind, _line_hash(text), event.farm_id, event.farm_index, json.dumps(data)
        )
    )


def _fold_plot_failed(
    fold: _Fold, event: PlotFailed, parsed: ParsedLine, ts: int, text: str
) -> None:
    if event.error is None or PLOTTER_TIMEOUT_TEXT not in event.error:
        _fold_row(fold, event, parsed, ts, text)
        return
    # A cluster farmer's plotter stopped answering: its own kind, for the plotter alert.
    index = parsed.farm_index
    fold.events.append(
        EventRecord(
            ts,
            EventKind.PLOTTER_TIMEOUT,
            _line_hash(text),
            fold.farm_of(index),
            index,
            json.dumps({"error": event.error, "sector_index": parsed.sector_index}),
        )
    )


def _cache_id_data(event: ClusterCacheDiscovered | ClusterCacheExpired) -> str:
    return json.dumps({"cluster_cache_id": event.cluster_cache_id})


def _piece_cache_data(event: PieceCacheCreated) -> str:
    return json.dumps(
        {"piece_cache_id": event.piece_cache_id, "max_num_elements": event.max_num_elements}
    )


def _fold_plotter(
    fold: _Fold,
    event: PlotSectorRequest | PlotSectorFinished,
    parsed: ParsedLine,
    ts: int,
    text: str,
) -> None:
    # The farm is named by its public key; views match it to the farm's ``Public key:`` line.
    data = json.dumps({"public_key": event.public_key, "sector_index": parsed.sector_index})
    fold.events.append(EventRecord(ts, event.kind, _line_hash(text), None, None, data))


_FOLDS: dict[type, _Folder] = {
    PlotProgress: _fold_progress,
    RewardSigned: _fold_signed,
    SignatureFailed: _fold_signature_failed,
    SolutionFailed: _fold_solution_failed,
    ProvingSkipped: _fold_proving_skipped,
    NodeInformant: _fold_informant,
    NodeImported: _fold_imported,
    PieceCacheSync: _fold_cache_sync,
    PieceCacheSynced: _fold_cache_synced,
    FarmerStarted: _fold_farmer_start,
    FarmHeader: _fold_farm_header,
    FarmIdLine: _fold_farm_id,
    FarmResized: _fold_farm_resized,
    FarmGenesis: _fold_genesis,
    FarmPublicKey: _fold_public_key,
    FarmAllocated: _fold_allocated,
    FarmDirectory: _fold_directory,
    PlottingComplete: _fold_plotting_complete,
    NodeVersion: _fold_node_version,
    ProveFailed: _fold_prove_failed,
    VoteFailed: _fold_vote_failed,
    RewardSignatureInvalid: _fold_signature_invalid,
    PlotFailed: _fold_plot_failed,
    FarmerShutdown: _fold_shutdown,
    ClusterFarmInitialized: _fold_cluster_farm,
    ClusterFarmExpired: _fold_farm_row,
    ClusterFarmInitFailed: _fold_farm_row,
    PlotSectorRequest: _fold_plotter,
    PlotSectorFinished: _fold_plotter,
}
_ROW_DATA: dict[type, Callable[[Any], str]] = {
    FarmDown: _farm_down_data,
    FarmingError: _error_data,
    PlotFailed: _plot_failed_data,
    Claimed: _slot_data,
    SolutionIgnored: _slot_data,
    FarmerStarted: _farmer_start_data,
    FarmerShutdown: _shutdown_data,
    NodeVersion: _version_data,
    NodeReorg: _reorg_data,
    FarmCreationFailed: _farm_creation_failed_data,
    FarmResized: _farm_resized_data,
    FarmExitedOk: _farm_exited_ok_data,
    PieceCacheStart: _cache_start_data,
    SectorSendFailed: _sector_send_failed_data,
    PlotRetry: _plot_retry_data,
    MetricsServerStarted: _metrics_server_data,
    DsnPeers: _dsn_peers_data,
    SlowBlock: _slow_block_data,
    DsnSyncError: _dsn_sync_error_data,
    DsnSyncStarted: _dsn_sync_data,
    NodeChain: _name_data,
    NodeName: _name_data,
    ClusterCacheDiscovered: _cache_id_data,
    ClusterCacheExpired: _cache_id_data,
    PieceCacheCreated: _piece_cache_data,
}


@dataclass(frozen=True, slots=True)
class PlannedLines:
    """A batch planned with :func:`plan_batch` away from the ingestor (a planning process):
    what :meth:`LogIngestor.adopt` takes, with the cursor it was planned on."""

    plan: BatchPlan
    lines: int
