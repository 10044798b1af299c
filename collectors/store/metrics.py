"""Metrics SQL: endpoint health, farms seen in metrics, latest state, history and its thinning.

Writers take models from :mod:`collectors.models.metrics`; readers return them. The readers are
what the Discord dashboard and the alert rules use:

- :meth:`MetricsStore.latest_farm_states` — one :class:`FarmState` per farm (active by default);
- :meth:`MetricsStore.latest_farmer_states` / :meth:`MetricsStore.latest_node_states`;
- :meth:`MetricsStore.target_health` and :meth:`MetricsStore.health_transitions`;
- :meth:`MetricsStore.farm_history` / :meth:`MetricsStore.node_history` /
  :meth:`MetricsStore.farmer_history` for charts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from collectors.models.metrics import (
    ClusterSnapshot,
    FailureKind,
    FarmerSnapshot,
    FarmerState,
    FarmMetrics,
    FarmSnapshotRow,
    FarmState,
    HealthTransition,
    MetricsLayout,
    NodeSnapshot,
    NodeSnapshotRow,
    NodeState,
    ProvingOutcome,
    TargetHealth,
    TargetKind,
)
from collectors.store.database import Database

HOUR_US = 3_600_000_000
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class TargetRef:
    """A configured endpoint. ``key`` is stable across restarts (``<kind>:<url>``)."""

    key: str
    kind: TargetKind
    label: str
    host: str
    url: str
    farmer_id: int | None = None
    cluster: str | None = None  # the farming cluster a component (or cluster farmer) is in


@dataclass(frozen=True, slots=True)
class HealthChange:
    """What recording one scrape did to a target's health."""

    previous_up: bool | None
    up: bool
    previous_error_kind: FailureKind | None
    consecutive_failures: int

    @property
    def went_down(self) -> bool:
        return self.previous_up is not False and not self.up

    @property
    def came_back(self) -> bool:
        return self.previous_up is False and self.up


@dataclass(frozen=True, slots=True)
class FarmerScrapeResult:
    health: HealthChange
    rows_written: int
    added_farm_ids: tuple[str, ...]
    removed_farm_ids: tuple[str, ...]


# --- health ---------------------------------------------------------------------------------


async def _update_health(
    conn: aiosqlite.Connection,
    target: TargetRef,
    now_us: int,
    error: tuple[FailureKind, str] | None,
) -> HealthChange:
    async with conn.execute(
        "SELECT up, last_error_kind, consecutive_failures FROM metrics_targets"
        " WHERE target_key = ?",
        (target.key,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        await conn.execute(
            "INSERT INTO metrics_targets (target_key, kind, label, host, url, farmer_id, cluster)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                target.key,
                target.kind.value,
                target.label,
                target.host,
                target.url,
                target.farmer_id,
                target.cluster,
            ),
        )
        previous_up: bool | None = None
        previous_kind: FailureKind | None = None
        failures = 0
    else:
        previous_up = None if row["up"] is None else bool(row["up"])
        previous_kind = FailureKind(row["last_error_kind"]) if row["last_error_kind"] else None
        failures = int(row["consecutive_failures"])

    up = error is None
    changed = previous_up is not up
    if up:
        failures = 0
        await conn.execute(
            "UPDATE metrics_targets SET up = 1, kind = ?, label = ?, host = ?, url = ?,"
            " farmer_id = ?, since_us = CASE WHEN ? THEN ? ELSE since_us END,"
            " last_ok_us = ?, last_attempt_us = ?, consecutive_failures = 0,"
            " last_error = NULL, last_error_kind = NULL WHERE target_key = ?",
            (
                target.kind.value,
                target.label,
                target.host,
                target.url,
                target.farmer_id,
                changed,
                now_us,
                now_us,
                now_us,
                target.key,
            ),
        )
    else:
        assert error is not None
        kind, message = error
        failures += 1
        await conn.execute(
            "UPDATE metrics_targets SET up = 0, kind = ?, label = ?, host = ?, url = ?,"
            " farmer_id = ?, since_us = CASE WHEN ? THEN ? ELSE since_us END,"
            " last_attempt_us = ?, consecutive_failures = ?, last_error = ?,"
            " last_error_kind = ? WHERE target_key = ?",
            (
                target.kind.value,
                target.label,
                target.host,
                target.url,
                target.farmer_id,
                changed,
                now_us,
                now_us,
                failures,
                message[:MAX_ERROR_CHARS],
                kind.value,
                target.key,
            ),
        )
    # A target that starts healthy is not news; every other change is.
    if changed and not (previous_up is None and up):
        await conn.execute(
            "INSERT INTO metrics_target_transitions (target_key, ts_us, up, error, error_kind)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                target.key,
                now_us,
                int(up),
                None if error is None else error[1][:MAX_ERROR_CHARS],
                None if error is None else error[0].value,
            ),
        )
    return HealthChange(previous_up, up, previous_kind, failures)


# --- rows -----------------------------------------------------------------------------------


def _farm_state_row(s: FarmState) -> tuple[object, ...]:
    return (
        s.farm_id,
        s.farmer_id,
        s.target_key,
        s.ts_us,
        s.sectors_plotted,
        s.sectors_not_plotted,
        s.sectors_about_to_expire,
        s.sectors_expired,
        s.sectors_plotted_counter,
        s.plot_rate_per_hour,
        s.plotting_eta_seconds,
        s.auditing_count,
        s.auditing_mean_s,
        s.auditing_p99_s,
        s.proving_mean_s,
        s.proving_p99_s,
        s.proving_success,
        s.proving_timeout,
        s.proving_rejected,
        s.proving_failed,
        s.farming_errors,
        s.skipped_slots,
        s.auditing_recent_mean_s,
        s.auditing_recent_p99_s,
        s.proving_recent_mean_s,
        s.proving_recent_p99_s,
        s.downloading_mean_s,
        s.encoding_mean_s,
        s.writing_mean_s,
        s.plotting_mean_s,
        s.plotting_errors,
    )


_FARM_STATE_COLUMNS = (
    "farm_id, farmer_id, target_key, ts_us, sectors_plotted, sectors_not_plotted,"
    " sectors_about_to_expire, sectors_expired, sectors_plotted_counter, plot_rate_per_hour,"
    " plotting_eta_seconds, auditing_count, auditing_mean_s, auditing_p99_s, proving_mean_s,"
    " proving_p99_s, proving_success, proving_timeout, proving_rejected, proving_failed,"
    " farming_errors, skipped_slots, auditing_recent_mean_s, auditing_recent_p99_s,"
    " proving_recent_mean_s, proving_recent_p99_s, downloading_mean_s, encoding_mean_s,"
    " writing_mean_s, plotting_mean_s, plotting_errors"
)
_FARM_STATE_UPSERT = (
    f"INSERT INTO farm_metrics ({_FARM_STATE_COLUMNS})"
    f" VALUES ({', '.join('?' * len(_FARM_STATE_COLUMNS.split(',')))})"
    " ON CONFLICT(farm_id) DO UPDATE SET "
    + ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in _FARM_STATE_COLUMNS.split(",")[1:])
)


def _farm_snapshot_row(farm: FarmMetrics, ts_us: int) -> tuple[object, ...]:
    return (
        farm.farm_id,
        ts_us,
        farm.sectors_plotted,
        farm.sectors_not_plotted,
        farm.sectors_about_to_expire,
        farm.sectors_expired,
        farm.sectors_plotted_counter,
        farm.auditing.count,
        farm.auditing.sum,
        farm.proving_count(ProvingOutcome.SUCCESS),
        farm.proving_count(ProvingOutcome.TIMEOUT),
        farm.proving_count(ProvingOutcome.REJECTED),
        farm.proving_count(ProvingOutcome.FAILED),
        farm.farming_errors,
        farm.skipped_slots,
        farm.plotting_errors,
    )


def _row_to_farm_state(r: aiosqlite.Row) -> FarmState:
    return FarmState(
        farm_id=r["farm_id"],
        farmer_id=r["farmer_id"],
        target_key=r["target_key"],
        ts_us=r["ts_us"],
        active=bool(r["active"]),
        sectors_plotted=r["sectors_plotted"],
        sectors_not_plotted=r["sectors_not_plotted"],
        sectors_about_to_expire=r["sectors_about_to_expire"],
        sectors_expired=r["sectors_expired"],
        sectors_plotted_counter=r["sectors_plotted_counter"],
        plot_rate_per_hour=r["plot_rate_per_hour"],
        plotting_eta_seconds=r["plotting_eta_seconds"],
        auditing_count=r["auditing_count"],
        auditing_mean_s=r["auditing_mean_s"],
        auditing_p99_s=r["auditing_p99_s"],
        proving_mean_s=r["proving_mean_s"],
        proving_p99_s=r["proving_p99_s"],
        proving_success=r["proving_success"],
        proving_timeout=r["proving_timeout"],
        proving_rejected=r["proving_rejected"],
        proving_failed=r["proving_failed"],
        farming_errors=r["farming_errors"],
        skipped_slots=r["skipped_slots"],
        auditing_recent_mean_s=r["auditing_recent_mean_s"],
        auditing_recent_p99_s=r["auditing_recent_p99_s"],
        proving_recent_mean_s=r["proving_recent_mean_s"],
        proving_recent_p99_s=r["proving_recent_p99_s"],
        downloading_mean_s=r["downloading_mean_s"],
        encoding_mean_s=r["encoding_mean_s"],
        writing_mean_s=r["writing_mean_s"],
        plotting_mean_s=r["plotting_mean_s"],
        plotting_errors=r["plotting_errors"],
    )


def _opt_bool(value: object) -> bool | None:
    return None if value is None else bool(value)


class MetricsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- writes -----------------------------------------------------------------------------

    async def record_failure(
        self, target: TargetRef, kind: FailureKind, error: str, now_us: int
    ) -> HealthChange:
        """A scrape failed: the target is down since the first failure; nothing else changes."""
        async with self._db.transaction() as conn:
            return await _update_health(conn, target, now_us, (kind, error))

    async def record_farmer_scrape(
        self,
        target: TargetRef,
        farmer_id: int,
        snapshot: FarmerSnapshot,
        states: Sequence[FarmState],
        now_us: int,
    ) -> FarmerScrapeResult:
        """Store one farmer scrape whole: farms, latest state, a history point, health.

        Farms this target reported before but not now are marked inactive (``active = 0``,
        ``removed_us``); their rows and history stay. A body with no farms at all (a farmer
        still starting) removes nothing. Only the metrics columns of ``farms`` are written.
        """
        ids = [farm.farm_id for farm in snapshot.farms]
        rows = 0
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT farm_id FROM farm_metrics WHERE target_key = ?", (target.key,)
            ) as cur:
                known = {r["farm_id"] for r in await cur.fetchall()}
            await conn.executemany(
                "INSERT INTO farms (farm_id, farmer_id, first_seen_us, last_seen_us, active,"
                " removed_us) VALUES (?, ?, ?, ?, 1, NULL)"
                " ON CONFLICT(farm_id) DO UPDATE SET farmer_id = excluded.farmer_id,"
                " last_seen_us = excluded.last_seen_us, active = 1, removed_us = NULL",
                [(farm_id, farmer_id, now_us, now_us) for farm_id in ids],
            )
            await conn.executemany(_FARM_STATE_UPSERT, [_farm_state_row(s) for s in states])
            await conn.executemany(
                "INSERT OR REPLACE INTO farm_metric_snapshots (farm_id, ts_us, sectors_plotted,"
                " sectors_not_plotted, sectors_about_to_expire, sectors_expired,"
                " sectors_plotted_counter, auditing_count, auditing_sum, proving_success,"
                " proving_timeout, proving_rejected, proving_failed, farming_errors,"
                " skipped_slots, plotting_errors)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_farm_snapshot_row(farm, now_us) for farm in snapshot.farms],
            )
            rows += 3 * len(ids)
            removed: list[str] = []
            if ids:
                async with conn.execute(
                    "UPDATE farms SET active = 0, removed_us = ? WHERE active = 1"
                    " AND farm_id IN (SELECT farm_id FROM farm_metrics WHERE target_key = ?)"
                    " AND farm_id NOT IN (SELECT value FROM json_each(?)) RETURNING farm_id",
                    (now_us, target.key, json.dumps(ids)),
                ) as cur:
                    removed = sorted(r["farm_id"] for r in await cur.fetchall())
                rows += len(removed)
            await conn.execute(
                "INSERT INTO farmer_metrics (target_key, farmer_id, ts_us, layout, farm_count,"
                " piece_cache_used, piece_cache_capacity, plotter_capacity_used,"
                " plotter_capacity_total, connections, cache_get_hit, cache_get_miss,"
                " cache_find_hit, cache_find_miss, cache_errors, disk_cache_used,"
                " disk_cache_capacity, plotter_sectors_plotted, plotter_plotting_errors)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(target_key) DO UPDATE SET farmer_id = excluded.farmer_id,"
                " ts_us = excluded.ts_us, layout = excluded.layout,"
                " farm_count = excluded.farm_count, piece_cache_used = excluded.piece_cache_used,"
                " piece_cache_capacity = excluded.piece_cache_capacity,"
                " plotter_capacity_used = excluded.plotter_capacity_used,"
                " plotter_capacity_total = excluded.plotter_capacity_total,"
                " connections = excluded.connections, cache_get_hit = excluded.cache_get_hit,"
                " cache_get_miss = excluded.cache_get_miss,"
                " cache_find_hit = excluded.cache_find_hit,"
                " cache_find_miss = excluded.cache_find_miss, cache_errors = excluded.cache_errors,"
                " disk_cache_used = excluded.disk_cache_used,"
                " disk_cache_capacity = excluded.disk_cache_capacity,"
                " plotter_sectors_plotted = excluded.plotter_sectors_plotted,"
                " plotter_plotting_errors = excluded.plotter_plotting_errors",
                (
                    target.key,
                    farmer_id,
                    now_us,
                    snapshot.layout.value,
                    len(ids),
                    snapshot.piece_cache_used,
                    snapshot.piece_cache_capacity,
                    snapshot.plotter_capacity_used,
                    snapshot.plotter_capacity_total,
                    snapshot.connections,
                    snapshot.cache_get_hit,
                    snapshot.cache_get_miss,
                    snapshot.cache_find_hit,
                    snapshot.cache_find_miss,
                    snapshot.cache_errors,
                    snapshot.disk_cache_used,
                    snapshot.disk_cache_capacity,
                    snapshot.plotter_sectors_plotted,
                    snapshot.plotter_plotting_errors,
                ),
            )
            await conn.execute(
                "INSERT OR REPLACE INTO farmer_metric_snapshots VALUES (?, ?, ?, ?, ?, ?)",
                (
                    target.key,
                    now_us,
                    snapshot.piece_cache_used,
                    snapshot.piece_cache_capacity,
                    snapshot.plotter_capacity_used,
                    snapshot.connections,
                ),
            )
            health = await _update_health(conn, target, now_us, None)
            rows += 3
        return FarmerScrapeResult(
            health=health,
            rows_written=rows,
            added_farm_ids=tuple(sorted(set(ids) - known)),
            removed_farm_ids=tuple(removed),
        )

    async def record_cluster_scrape(
        self, target: TargetRef, snapshot: ClusterSnapshot, now_us: int
    ) -> HealthChange:
        """Store one scrape of a cluster controller, cache or plotter: latest figures, health."""
        async with self._db.transaction() as conn:
            health = await _update_health(conn, target, now_us, None)
            await conn.execute(
                "UPDATE metrics_targets SET cluster = ? WHERE target_key = ?",
                (target.cluster, target.key),
            )
            await conn.execute(
                "INSERT OR REPLACE INTO cluster_metrics (target_key, ts_us,"
                " plotting_capacity_used, plotting_capacity_total, sectors_plotted,"
                " sectors_plotting_errors, sector_plotting_mean_s, cache_capacity_used,"
                " cache_capacity_total, piece_cache_used, piece_cache_capacity)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    target.key,
                    now_us,
                    snapshot.plotting_capacity_used,
                    snapshot.plotting_capacity_total,
                    snapshot.sectors_plotted,
                    snapshot.sectors_plotting_errors,
                    snapshot.sector_plotting_mean_s,
                    snapshot.cache_capacity_used,
                    snapshot.cache_capacity_total,
                    snapshot.piece_cache_used,
                    snapshot.piece_cache_capacity,
                ),
            )
            return health

    async def record_node_scrape(
        self, target: TargetRef, snapshot: NodeSnapshot, now_us: int
    ) -> HealthChange:
        """Store one node scrape: latest state, a history point, health."""
        syncing = None if snapshot.major_syncing is None else int(snapshot.major_syncing)
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO node_metrics (target_key, ts_us, best, finalized, sync_target, peers,"
                " major_syncing, version, node_name, chain, blocks_imported, extrinsics, leaves,"
                " ready_transactions, process_start_s)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(target_key) DO UPDATE SET ts_us = excluded.ts_us,"
                " best = excluded.best, finalized = excluded.finalized,"
                " sync_target = excluded.sync_target, peers = excluded.peers,"
                " major_syncing = excluded.major_syncing, version = excluded.version,"
                " node_name = excluded.node_name, chain = excluded.chain,"
                " blocks_imported = excluded.blocks_imported, extrinsics = excluded.extrinsics,"
                " leaves = excluded.leaves, ready_transactions = excluded.ready_transactions,"
                " process_start_s = excluded.process_start_s",
                (
                    target.key,
                    now_us,
                    snapshot.best,
                    snapshot.finalized,
                    snapshot.sync_target,
                    snapshot.peers,
                    syncing,
                    snapshot.version,
                    snapshot.node_name,
                    snapshot.chain,
                    snapshot.blocks_imported,
                    snapshot.extrinsics,
                    snapshot.leaves,
                    snapshot.ready_transactions,
                    snapshot.process_start_s,
                ),
            )
            await conn.execute(
                "INSERT OR REPLACE INTO node_metric_snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    target.key,
                    now_us,
                    snapshot.best,
                    snapshot.finalized,
                    snapshot.sync_target,
                    snapshot.peers,
                    syncing,
                ),
            )
            return await _update_health(conn, target, now_us, None)

    async def thin_snapshots(self, now_us: int, full_detail_us: int, from_us: int = 0) -> int:
        """Keep every snapshot newer than ``full_detail_us``; before that, the first of each hour.

        Only snapshots at or after ``from_us`` are looked at (older ones were thinned already).
        Returns the number of rows deleted.
        """
        cutoff = now_us - full_detail_us
        deleted = 0
        async with self._db.transaction() as conn:
            for table, series in (
                ("farm_metric_snapshots", "farm_id"),
                ("farmer_metric_snapshots", "target_key"),
                ("node_metric_snapshots", "target_key"),
            ):
                cursor = await conn.execute(
                    f"DELETE FROM {table} AS s WHERE s.ts_us >= ? AND s.ts_us < ?"
                    f" AND EXISTS (SELECT 1 FROM {table} AS t WHERE t.{series} = s.{series}"
                    f" AND t.ts_us >= (s.ts_us / {HOUR_US}) * {HOUR_US} AND t.ts_us < s.ts_us)",
                    (from_us, cutoff),
                )
                deleted += max(cursor.rowcount, 0)
        return deleted

    # --- reads ------------------------------------------------------------------------------

    async def latest_farm_states(
        self, *, active_only: bool = True, farmer_id: int | None = None
    ) -> list[FarmState]:
        """The latest metrics of each farm (only active farms unless ``active_only=False``)."""
        sql = (
            "SELECT m.*, f.active FROM farm_metrics m JOIN farms f USING (farm_id)"
            " WHERE (? = 0 OR f.active = 1) AND (? IS NULL OR m.farmer_id = ?)"
            " ORDER BY m.farmer_id, m.farm_id"
        )
        async with self._db.conn.execute(sql, (int(active_only), farmer_id, farmer_id)) as cur:
            return [_row_to_farm_state(r) for r in await cur.fetchall()]

    async def latest_farm_state(self, farm_id: str) -> FarmState | None:
        """The latest metrics of one farm, active or not; None if metrics never saw it."""
        async with self._db.conn.execute(
            "SELECT m.*, f.active FROM farm_metrics m JOIN farms f USING (farm_id)"
            " WHERE m.farm_id = ?",
            (farm_id,),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _row_to_farm_state(row)

    async def latest_farmer_states(self) -> list[FarmerState]:
        """Farmer-wide figures (piece cache, plotter, connections) per farmer endpoint."""
        async with self._db.conn.execute(
            "SELECT * FROM farmer_metrics ORDER BY farmer_id, target_key"
        ) as cur:
            rows = await cur.fetchall()
        return [
            FarmerState(
                target_key=r["target_key"],
                farmer_id=r["farmer_id"],
                ts_us=r["ts_us"],
                farm_count=r["farm_count"],
                piece_cache_used=r["piece_cache_used"],
                piece_cache_capacity=r["piece_cache_capacity"],
                plotter_capacity_used=r["plotter_capacity_used"],
                plotter_capacity_total=r["plotter_capacity_total"],
                connections=r["connections"],
                layout=MetricsLayout(r["layout"]),
                cache_get_hit=r["cache_get_hit"],
                cache_get_miss=r["cache_get_miss"],
                cache_find_hit=r["cache_find_hit"],
                cache_find_miss=r["cache_find_miss"],
                cache_errors=r["cache_errors"],
                disk_cache_used=r["disk_cache_used"],
                disk_cache_capacity=r["disk_cache_capacity"],
                plotter_sectors_plotted=r["plotter_sectors_plotted"],
                plotter_plotting_errors=r["plotter_plotting_errors"],
            )
            for r in rows
        ]

    async def latest_node_states(self) -> list[NodeState]:
        """The latest state of each node endpoint (``synced``, ``blocks_behind`` derived)."""
        async with self._db.conn.execute(
            "SELECT n.*, t.label, t.host FROM node_metrics n"
            " JOIN metrics_targets t USING (target_key) ORDER BY t.label"
        ) as cur:
            rows = await cur.fetchall()
        return [
            NodeState(
                target_key=r["target_key"],
                label=r["label"],
                host=r["host"],
                ts_us=r["ts_us"],
                snapshot=NodeSnapshot(
                    best=r["best"],
                    finalized=r["finalized"],
                    sync_target=r["sync_target"],
                    peers=r["peers"],
                    major_syncing=_opt_bool(r["major_syncing"]),
                    version=r["version"],
                    node_name=r["node_name"],
                    chain=r["chain"],
                    blocks_imported=r["blocks_imported"],
                    extrinsics=r["extrinsics"],
                    leaves=r["leaves"],
                    ready_transactions=r["ready_transactions"],
                    process_start_s=r["process_start_s"],
                ),
            )
            for r in rows
        ]

    async def target_health(self) -> list[TargetHealth]:
        """Every endpoint with its up flag, since when, the last error and failure count."""
        async with self._db.conn.execute(
            "SELECT * FROM metrics_targets ORDER BY kind, label"
        ) as cur:
            rows = await cur.fetchall()
        return [
            TargetHealth(
                target_key=r["target_key"],
                kind=TargetKind(r["kind"]),
                label=r["label"],
                host=r["host"],
                url=r["url"],
                up=_opt_bool(r["up"]),
                since_us=r["since_us"],
                last_error=r["last_error"],
                last_error_kind=FailureKind(r["last_error_kind"]) if r["last_error_kind"] else None,
                last_ok_us=r["last_ok_us"],
                consecutive_failures=r["consecutive_failures"],
            )
            for r in rows
        ]

    async def health_transitions(self, since_us: int) -> list[HealthTransition]:
        """Down/up changes at or after ``since_us``, oldest first (one per change)."""
        async with self._db.conn.execute(
            "SELECT * FROM metrics_target_transitions WHERE ts_us >= ? ORDER BY id", (since_us,)
        ) as cur:
            rows = await cur.fetchall()
        return [
            HealthTransition(
                target_key=r["target_key"],
                ts_us=r["ts_us"],
                up=bool(r["up"]),
                error=r["error"],
                error_kind=FailureKind(r["error_kind"]) if r["error_kind"] else None,
            )
            for r in rows
        ]

    async def farm_history(
        self, farm_id: str, since_us: int, until_us: int | None = None
    ) -> list[FarmSnapshotRow]:
        """A farm's stored snapshots in time order, for charts (counters raw)."""
        async with self._db.conn.execute(
            "SELECT * FROM farm_metric_snapshots WHERE farm_id = ? AND ts_us >= ?"
            " AND (? IS NULL OR ts_us <= ?) ORDER BY ts_us",
            (farm_id, since_us, until_us, until_us),
        ) as cur:
            rows = await cur.fetchall()
        return [FarmSnapshotRow(**dict(r)) for r in rows]

    async def node_history(
        self, target_key: str, since_us: int, until_us: int | None = None
    ) -> list[NodeSnapshotRow]:
        """A node's stored snapshots (heights, peers, syncing) in time order, for charts."""
        async with self._db.conn.execute(
            "SELECT * FROM node_metric_snapshots WHERE target_key = ? AND ts_us >= ?"
            " AND (? IS NULL OR ts_us <= ?) ORDER BY ts_us",
            (target_key, since_us, until_us, until_us),
        ) as cur:
            rows = await cur.fetchall()
        return [
            NodeSnapshotRow(
                target_key=r["target_key"],
                ts_us=r["ts_us"],
                best=r["best"],
                finalized=r["finalized"],
                sync_target=r["sync_target"],
                peers=r["peers"],
                major_syncing=_opt_bool(r["major_syncing"]),
            )
            for r in rows
        ]

    async def farmer_history(
        self, target_key: str, since_us: int
    ) -> list[tuple[int, float | None, float | None, float | None, float | None]]:
        """(ts_us, piece cache used, capacity, plotter capacity used, connections) in order."""
        async with self._db.conn.execute(
            "SELECT ts_us, piece_cache_used, piece_cache_capacity, plotter_capacity_used,"
            " connections FROM farmer_metric_snapshots WHERE target_key = ? AND ts_us >= ?"
            " ORDER BY ts_us",
            (target_key, since_us),
        ) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def plotting_counter_history(
        self, farm_ids: Iterable[str], since_us: int
    ) -> dict[str, list[tuple[int, float]]]:
        """Per farm, (ts_us, plotting counter) since ``since_us`` — seeds rate windows on start.

        The counter is the per-farm plotted counter, or the plotted-sector count where the
        farmer (older builds) had none; see :func:`collectors.parsing.metrics.plotting_counter`.
        """
        ids = list(farm_ids)
        result: dict[str, list[tuple[int, float]]] = {farm_id: [] for farm_id in ids}
        if not ids:
            return result
        async with self._db.conn.execute(
            "SELECT farm_id, ts_us, COALESCE(sectors_plotted_counter,"
            " sectors_plotted + sectors_about_to_expire + sectors_expired) AS counter"
            " FROM farm_metric_snapshots WHERE farm_id IN (SELECT value FROM json_each(?))"
            " AND ts_us >= ? ORDER BY farm_id, ts_us",
            (json.dumps(ids), since_us),
        ) as cur:
            for r in await cur.fetchall():
                result[r["farm_id"]].append((r["ts_us"], float(r["counter"])))
        return result
