"""Alert SQL: alert state rows, the transition log, summary bookkeeping, and the reads that
gather the rules' inputs and the daily summary from the logs, metrics and wallets tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiosqlite

from collectors.alerts.rules import MISS_NAMES, counter_increase
from collectors.models.alerts import (
    Activity,
    AlertInputs,
    AlertState,
    BalanceFlow,
    BalanceReading,
    FarmCreationFailure,
    FarmerDay,
    FarmErrorEvent,
    FarmState,
    Miss,
    MissKind,
    NodeState,
    OpenProblem,
    Phase,
    PlotProgress,
    Rule,
    SourceActivity,
    SourceSignals,
    StatusOverview,
    SummaryData,
    TargetHealth,
    Transition,
    WalletDay,
    WalletState,
    WalletTransfer,
)
from collectors.models.chain import (
    Direction,
    Movement,
    MovementKind,
    OperatorIncident,
)
from collectors.models.notify import Severity
from collectors.settings import AlertsSettings
from collectors.store.cluster_alerts import cluster_inputs
from collectors.store.database import Database
from collectors.store.wallets import incident_of

_STATE_COLUMNS = (
    "rule, subject, phase, since_us, opened_us, last_notified_us, reminders, clear_since_us,"
    " flips, resolved_us, severity, title, detail, updated_us"
)


def _state(row: aiosqlite.Row) -> AlertState | None:
    try:
        rule = Rule(row["rule"])
    except ValueError:
        return None  # a rule from a newer or older version; ignore it
    return AlertState(
        rule=rule,
        subject=row["subject"],
        phase=Phase(row["phase"]),
        since_us=row["since_us"],
        opened_us=row["opened_us"],
        last_notified_us=row["last_notified_us"],
        reminders=row["reminders"],
        clear_since_us=row["clear_since_us"],
        flips=row["flips"],
        resolved_us=row["resolved_us"],
        severity=Severity(row["severity"]),
        title=row["title"],
        detail=row["detail"],
        updated_us=row["updated_us"],
    )


async def load_states_in(conn: aiosqlite.Connection) -> dict[tuple[Rule, str], AlertState]:
    async with conn.execute(f"SELECT {_STATE_COLUMNS} FROM alert_state") as cur:
        rows = await cur.fetchall()
    states = (_state(row) for row in rows)
    return {(s.rule, s.subject): s for s in states if s is not None}


async def save_state_in(conn: aiosqlite.Connection, state: AlertState) -> None:
    await conn.execute(
        f"INSERT OR REPLACE INTO alert_state ({_STATE_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            state.rule.value,
            state.subject,
            state.phase.value,
            state.since_us,
            state.opened_us,
            state.last_notified_us,
            state.reminders,
            state.clear_since_us,
            state.flips,
            state.resolved_us,
            state.severity.value,
            state.title,
            state.detail,
            state.updated_us,
        ),
    )


async def log_transition_in(
    conn: aiosqlite.Connection,
    state: AlertState,
    transition: Transition,
    now_us: int,
    *,
    sent: bool,
) -> None:
    await conn.execute(
        "INSERT INTO alert_log (rule, subject, transition, ts_us, opened_us, severity, title, sent)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            state.rule.value,
            state.subject,
            transition.value,
            now_us,
            state.opened_us,
            state.severity.value,
            state.title,
            int(sent),
        ),
    )


async def prune_closed_in(conn: aiosqlite.Connection, before_us: int) -> None:
    """Forget alerts closed (or never opened) before ``before_us``; open ones stay."""
    await conn.execute(
        "DELETE FROM alert_state WHERE phase = 'ok' AND updated_us < ?", (before_us,)
    )


async def mark_summary_sent_in(
    conn: aiosqlite.Connection, local_day: str, timezone: str, due_us: int, now_us: int
) -> bool:
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO summary_runs (local_day, timezone, due_us, sent_us)"
        " VALUES (?, ?, ?, ?)",
        (local_day, timezone, due_us, now_us),
    )
    return cursor.rowcount == 1


class AlertStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def states(self) -> dict[tuple[Rule, str], AlertState]:
        return await load_states_in(self._db.conn)

    async def open_alerts(self) -> list[AlertState]:
        states = await self.states()
        return sorted(
            (s for s in states.values() if s.is_open),
            key=lambda s: (s.opened_us or 0, s.rule.value, s.subject),
        )

    async def transitions(self, since_us: int, until_us: int) -> list[tuple[str, str, str, int]]:
        """(rule, subject, transition, ts_us) logged in [since, until)."""
        async with self._db.conn.execute(
            "SELECT rule, subject, transition, ts_us FROM alert_log"
            " WHERE ts_us >= ? AND ts_us < ? ORDER BY ts_us, id",
            (since_us, until_us),
        ) as cur:
            rows = await cur.fetchall()
        return [(r["rule"], r["subject"], r["transition"], r["ts_us"]) for r in rows]

    async def summary_sent(self, local_day: str) -> bool:
        async with self._db.conn.execute(
            "SELECT 1 FROM summary_runs WHERE local_day = ?", (local_day,)
        ) as cur:
            return await cur.fetchone() is not None

    async def last_summary(self) -> tuple[str, int] | None:
        """(local day, sent at) of the latest summary sent."""
        async with self._db.conn.execute(
            "SELECT local_day, sent_us FROM summary_runs ORDER BY sent_us DESC LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        return (row["local_day"], row["sent_us"]) if row else None


# --- gathering the rules' inputs from the other areas' tables --------------------------------

US = 1_000_000
MINUTE_US = 60 * US
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
SIGNED = "signed"
MISS_OUTCOMES = {
    "solution_failed": MissKind.FAILED_SOLUTION,
    "proving_skipped": MissKind.PROVING_SKIPPED,
    "signature_failed": MissKind.FAILED_SIGNATURE,
    "prove_failed": MissKind.PROVE_FAILED,
    "vote_failed": MissKind.VOTE_FAILED,
    "reward_signature_invalid": MissKind.INVALID_SIGNATURE,
}
# Misses the node logs without a farm.
NODE_MISS_OUTCOMES = ("vote_failed", "reward_signature_invalid")
# A DSN peers line comes every 5 minutes: an older one says nothing about now.
DSN_FRESH_US = 15 * MINUTE_US
# Farm creation failures are looked at this far back (a later start may have fixed them).
CREATION_FAILURE_WATCH_US = 7 * DAY_US
FATAL_EVENT_KINDS = ("farm_exited", "farm_stopped")
NONFATAL_EVENT_KINDS = ("farming_error",)
# Proving outcomes counted by the farmer's metrics that are missed rewards.
METRIC_MISSES = (
    ("proving_timeout", MissKind.PROVING_TIMEOUT),
    ("proving_rejected", MissKind.REJECTED_PROOF),
    ("proving_failed", MissKind.FAILED_SOLUTION),
)
# A farm that left the metrics this long ago is no longer watched (wipe it to forget it).
REMOVED_FARM_WATCH_US = 7 * DAY_US
# Wallet rules look at a day of balances; large transfers at the last hours.
WALLET_WINDOW_US = 25 * HOUR_US
NODE_INFORMANT_FRESH_US = 10 * MINUTE_US


def _data(raw: str | None) -> dict[str, Any]:
    """An event's JSON ``data`` column; anything else reads as empty."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error_message(kind: str, data: dict[str, Any]) -> str:
    error = data.get("error") or data.get("message") or ""
    label = {
        "farm_exited": "Farm exited with error",
        "farm_stopped": "Farm errored and stopped",
        "farming_error": "Non-fatal farming error",
    }.get(kind, kind)
    return f"{label}: {error}" if error else label


@dataclass(slots=True)
class _FarmBuild:
    farm_id: str
    farmer: str
    first_seen_us: int
    last_seen_us: int
    allocated_bytes: int | None
    errors: list[FarmErrorEvent] = field(default_factory=list)
    error_totals: list[tuple[int, float]] = field(default_factory=list)
    plotting_error_totals: list[tuple[int, float]] = field(default_factory=list)
    in_latest_run: bool | None = None
    latest_run_started_us: int | None = None
    in_latest_scrape: bool | None = None
    latest_scrape_us: int | None = None
    plot_kind: str | None = None
    plot_percent: float | None = None
    plot_updated_us: int | None = None
    plot_complete: bool = False
    sectors_remaining: int | None = None
    rewards: list[int] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    log_lag_us: int | None = None

    def freeze(self) -> FarmState:
        return FarmState(
            farm_id=self.farm_id,
            farmer=self.farmer,
            first_seen_us=self.first_seen_us,
            last_seen_us=self.last_seen_us,
            allocated_bytes=self.allocated_bytes,
            errors=tuple(sorted(self.errors, key=lambda e: e.ts_us)),
            farming_error_totals=tuple(sorted(self.error_totals)),
            in_latest_run=self.in_latest_run,
            in_latest_scrape=self.in_latest_scrape,
            latest_run_started_us=self.latest_run_started_us,
            latest_scrape_us=self.latest_scrape_us,
            plot_kind=self.plot_kind,
            plot_percent=self.plot_percent,
            plot_updated_us=self.plot_updated_us,
            plot_complete=self.plot_complete,
            sectors_remaining=self.sectors_remaining,
            reward_times_us=tuple(sorted(self.rewards)),
            misses=tuple(sorted(self.misses, key=lambda m: m.ts_us)),
            log_lag_us=self.log_lag_us,
            plotting_error_totals=tuple(sorted(self.plotting_error_totals)),
        )


class AlertInputReader:
    """Reads the stored state of logs, metrics and wallets into :class:`AlertInputs`.

    Tables of an area that is not installed (no migration yet) are skipped, so the rules judge
    what is collected and say nothing about what is not.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._db.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def tables(self) -> frozenset[str]:
        rows = await self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        return frozenset(r["name"] for r in rows)

    async def gather(self, now_us: int, settings: AlertsSettings) -> AlertInputs:
        tables = await self.tables()
        farms, farmer_rewards = await self._farms(tables, now_us, settings)
        return AlertInputs(
            now_us=now_us,
            targets=await self.targets(tables),
            sources=await self.sources(),
            nodes=await self._nodes(tables, now_us),
            farms=farms,
            wallets=await self._wallets(tables, now_us),
            farmer_rewards_us=farmer_rewards,
            signals=await self.signals(now_us, settings),
            watch_start_us=await self.watch_start(tables) or now_us,
            cluster=await cluster_inputs(self._db.conn, tables, now_us, settings),
        )

    # --- endpoints, sources, node ----------------------------------------------------------

    async def targets(self, tables: frozenset[str]) -> tuple[TargetHealth, ...]:
        if "metrics_targets" not in tables:
            return ()
        rows = await self.rows(
            "SELECT target_key, kind, label, url, up, since_us, last_error, last_ok_us,"
            " last_attempt_us FROM metrics_targets ORDER BY target_key"
        )
        return tuple(
            TargetHealth(
                key=r["target_key"],
                kind=r["kind"],
                label=r["label"] or r["url"],
                up=bool(r["up"]),
                first_seen_us=r["since_us"] or r["last_attempt_us"] or 0,
                last_attempt_us=None if r["up"] is None else r["last_attempt_us"],
                last_success_us=r["last_ok_us"],
                last_error=r["last_error"],
            )
            for r in rows
        )

    async def sources(self) -> tuple[SourceActivity, ...]:
        # updated_us is when the log pipeline last stored lines from the source (receive
        # time): a backfill of old lines is recent activity, a clock-skewed host is no problem.
        rows = await self.rows("SELECT key, role, updated_us FROM log_sources ORDER BY key")
        return tuple(
            SourceActivity(
                key=r["key"],
                role=r["role"],
                last_line_us=r["updated_us"],
                first_seen_us=r["updated_us"],
            )
            for r in rows
        )

    async def signals(self, now_us: int, settings: AlertsSettings) -> tuple[SourceSignals, ...]:
        """Per log source: piece cache catch-up, DSN peers, slow blocks, node misses, failed
        farm creations (UPSTREAM.md's messages)."""
        sources = {
            r["id"]: r
            for r in await self.rows("SELECT id, key, role, run_start_us FROM log_sources")
        }
        latest: dict[tuple[int, str], int] = {
            (r["source_id"], r["kind"]): r["ts_us"]
            for r in await self.rows(
                "SELECT source_id, kind, MAX(ts_us) AS ts_us FROM events WHERE kind IN"
                " ('piece_cache_catchup', 'piece_cache_caught_up', 'farmer_start',"
                " 'farmer_shutdown') GROUP BY source_id, kind"
            )
        }
        dsn: dict[int, tuple[int, int]] = {}
        for r in await self.rows(
            "SELECT source_id, data FROM events WHERE kind = 'dsn_peers' AND ts_us >= ?"
            " ORDER BY ts_us",
            (now_us - DSN_FRESH_US,),
        ):
            data = _data(r["data"])
            if isinstance(data.get("connected"), int) and isinstance(data.get("known"), int):
                dsn[r["source_id"]] = (data["connected"], data["known"])
        slow: dict[int, list[int]] = {}
        for r in await self.rows(
            "SELECT source_id, data FROM events WHERE kind = 'slow_block' AND ts_us >= ?",
            (now_us - HOUR_US,),
        ):
            took = _data(r["data"]).get("took_ms")
            slow.setdefault(r["source_id"], []).append(took if isinstance(took, int) else 0)
        misses: dict[int, list[Miss]] = {}
        marks = ",".join("?" * len(NODE_MISS_OUTCOMES))
        for r in await self.rows(
            f"SELECT source_id, ts_us, outcome, detail FROM rewards WHERE outcome IN ({marks})"
            " AND ts_us >= ? ORDER BY ts_us",
            (*NODE_MISS_OUTCOMES, now_us - int(settings.missed_rewards_window_minutes * MINUTE_US)),
        ):
            misses.setdefault(r["source_id"], []).append(
                Miss(r["ts_us"], MISS_OUTCOMES[r["outcome"]], r["detail"] or "")
            )
        failures: dict[int, dict[int | None, FarmCreationFailure]] = {}
        for r in await self.rows(
            "SELECT e.source_id, e.ts_us, e.farm_index, e.data, (SELECT f.directory"
            " FROM farm_index_map m JOIN farms f USING (farm_id) WHERE m.source_id = e.source_id"
            " AND m.farm_index = e.farm_index ORDER BY m.run_start_us DESC LIMIT 1) AS directory"
            " FROM events e WHERE e.kind = 'farm_creation_failed' AND e.ts_us >= ?"
            " ORDER BY e.ts_us",
            (now_us - CREATION_FAILURE_WATCH_US,),
        ):
            source = sources.get(r["source_id"])
            if source is None:
                continue
            run_start = source["run_start_us"]
            failures.setdefault(r["source_id"], {})[r["farm_index"]] = FarmCreationFailure(
                farm_index=r["farm_index"],
                ts_us=r["ts_us"],
                error=str(_data(r["data"]).get("error") or "no reason given"),
                current=run_start is None or r["ts_us"] >= run_start,
                directory=r["directory"],
            )
        out: list[SourceSignals] = []
        for sid, source in sorted(sources.items(), key=lambda item: item[1]["key"]):
            catchup = latest.get((sid, "piece_cache_catchup"))
            ended = max(
                (
                    latest.get((sid, kind), 0)
                    for kind in ("piece_cache_caught_up", "farmer_start", "farmer_shutdown")
                ),
                default=0,
            )
            connected, known = dsn.get(sid, (None, None))
            took = slow.get(sid, [])
            out.append(
                SourceSignals(
                    key=source["key"],
                    role=source["role"],
                    cache_catchup_since_us=catchup
                    if catchup is not None and catchup > ended
                    else None,
                    dsn_connected=connected,
                    dsn_known=known,
                    slow_blocks_last_hour=len(took),
                    slowest_block_ms=max(took) if took else None,
                    misses=tuple(misses.get(sid, ())),
                    creation_failures=tuple(failures.get(sid, {}).values()),
                )
            )
        return tuple(out)

    async def watch_start(self, tables: frozenset[str]) -> int | None:
        if "alert_meta" not in tables:
            return None
        rows = await self.rows("SELECT value FROM alert_meta WHERE key = 'watch_start_us'")
        return int(rows[0]["value"]) if rows else None

    async def _nodes(self, tables: frozenset[str], now_us: int) -> tuple[NodeState, ...]:
        if "node_metrics" in tables:
            rows = await self.rows(
                "SELECT target_key, ts_us, best, sync_target, peers, major_syncing"
                " FROM node_metrics ORDER BY target_key"
            )
            if rows:
                return tuple(
                    NodeState(
                        subject=r["target_key"],
                        observed_us=r["ts_us"],
                        best=r["best"],
                        sync_target=r["sync_target"],
                        peers=r["peers"],
                        major_syncing=None
                        if r["major_syncing"] is None
                        else bool(r["major_syncing"]),
                    )
                    for r in rows
                )
        if "node_state" not in tables:
            return ()
        # No node metrics: the node's informant log line says the same every 5 s.
        rows = await self.rows(
            "SELECT s.key, n.ts_us, n.state, n.peers, n.best, n.target FROM node_state n"
            " JOIN log_sources s ON s.id = n.source_id WHERE n.ts_us >= ? ORDER BY s.key",
            (now_us - NODE_INFORMANT_FRESH_US,),
        )
        return tuple(
            NodeState(
                subject=r["key"],
                observed_us=r["ts_us"],
                best=r["best"],
                sync_target=r["target"] if r["target"] is not None else r["best"],
                peers=r["peers"],
                major_syncing=r["state"] == "syncing",
            )
            for r in rows
        )

    # --- farms ------------------------------------------------------------------------------

    async def _farms(
        self, tables: frozenset[str], now_us: int, settings: AlertsSettings
    ) -> tuple[tuple[FarmState, ...], dict[str, tuple[int, ...]]]:
        rows = await self.rows(
            "SELECT f.farm_id, COALESCE(fr.name, '') AS farmer, f.allocated_bytes,"
            " f.first_seen_us, f.last_seen_us, f.active, f.removed_us"
            " FROM farms f LEFT JOIN farmer fr ON fr.id = f.farmer_id"
            " WHERE f.active = 1 OR f.removed_us >= ? ORDER BY f.farm_id",
            (now_us - REMOVED_FARM_WATCH_US,),
        )
        farms: dict[str, _FarmBuild] = {}
        for r in rows:
            seen = r["last_seen_us"]
            if not r["active"] and r["removed_us"] is not None:
                seen = min(seen, r["removed_us"])
            farms[r["farm_id"]] = _FarmBuild(
                farm_id=r["farm_id"],
                farmer=r["farmer"],
                first_seen_us=r["first_seen_us"],
                last_seen_us=seen,
                allocated_bytes=r["allocated_bytes"],
            )
        await self._farm_errors(farms, now_us, settings)
        await self._farm_runs(farms)
        await self._farm_plots(farms)
        farmer_rewards = await self._farm_rewards(farms, now_us, settings)
        if "farm_metrics" in tables:
            await self._farm_metrics(farms, now_us, settings)
        return tuple(f.freeze() for f in farms.values()), farmer_rewards

    async def _farm_errors(
        self, farms: dict[str, _FarmBuild], now_us: int, settings: AlertsSettings
    ) -> None:
        kinds = FATAL_EVENT_KINDS + NONFATAL_EVENT_KINDS
        marks = ",".join("?" * len(kinds))
        since = now_us - int(settings.farm_error_window_minutes * MINUTE_US)
        for r in await self.rows(
            f"SELECT farm_id, ts_us, kind, data FROM events WHERE kind IN ({marks})"
            " AND ts_us >= ? AND farm_id IS NOT NULL ORDER BY ts_us",
            (*kinds, since),
        ):
            farm = farms.get(r["farm_id"])
            if farm is not None:
                farm.errors.append(
                    FarmErrorEvent(
                        ts_us=r["ts_us"],
                        message=_error_message(r["kind"], _data(r["data"])),
                        fatal=r["kind"] in FATAL_EVENT_KINDS,
                    )
                )

    async def _farm_runs(self, farms: dict[str, _FarmBuild]) -> None:
        """In or out of the latest farmer run's farm list (per log source), and log lag."""
        rows = await self.rows(
            "SELECT m.source_id, m.run_start_us, m.farm_id, latest.run_start_us AS latest_us,"
            " s.updated_us - s.last_ts_us AS lag_us"
            " FROM farm_index_map m JOIN (SELECT source_id, MAX(run_start_us) AS run_start_us"
            " FROM farm_index_map GROUP BY source_id) latest USING (source_id)"
            " JOIN log_sources s ON s.id = m.source_id"
        )
        in_latest: dict[str, int] = {}
        earlier: dict[str, int] = {}
        for r in rows:
            farm = farms.get(r["farm_id"])
            if farm is not None and r["lag_us"] is not None:
                # A farm read from two sources is as current as the more current one.
                lag = max(0, r["lag_us"])
                farm.log_lag_us = lag if farm.log_lag_us is None else min(farm.log_lag_us, lag)
            if r["run_start_us"] == r["latest_us"]:
                in_latest[r["farm_id"]] = r["latest_us"]
            else:
                earlier[r["farm_id"]] = max(earlier.get(r["farm_id"], 0), r["latest_us"])
        for farm_id, farm in farms.items():
            if farm_id in in_latest:
                farm.in_latest_run = True
                farm.latest_run_started_us = in_latest[farm_id]
            elif farm_id in earlier:
                farm.in_latest_run = False
                farm.latest_run_started_us = earlier[farm_id]

    async def _farm_plots(self, farms: dict[str, _FarmBuild]) -> None:
        for r in await self.rows("SELECT farm_id, kind, percent, ts_us, complete_us FROM plots"):
            farm = farms.get(r["farm_id"])
            if farm is None:
                continue
            farm.plot_kind = r["kind"]
            farm.plot_percent = r["percent"]
            farm.plot_updated_us = r["ts_us"]
            farm.plot_complete = r["complete_us"] is not None and r["complete_us"] >= r["ts_us"]

    async def _farm_rewards(
        self, farms: dict[str, _FarmBuild], now_us: int, settings: AlertsSettings
    ) -> dict[str, tuple[int, ...]]:
        lookback = now_us - int(settings.reward_lookback_days * DAY_US)
        miss_since = now_us - int(settings.missed_rewards_window_minutes * MINUTE_US)
        by_farmer: dict[str, list[int]] = {}
        rows = await self.rows(
            "SELECT r.farm_id, COALESCE(fr.name, '') AS farmer, r.ts_us, r.outcome, r.detail"
            " FROM rewards r LEFT JOIN farmer fr ON fr.id = r.farmer_id"
            " WHERE r.ts_us >= ? ORDER BY r.ts_us",
            (min(lookback, miss_since),),
        )
        for r in rows:
            farm = farms.get(r["farm_id"]) if r["farm_id"] else None
            if r["outcome"] == SIGNED:
                if r["ts_us"] >= lookback:
                    by_farmer.setdefault(r["farmer"], []).append(r["ts_us"])
                    if farm is not None:
                        farm.rewards.append(r["ts_us"])
            elif r["outcome"] in MISS_OUTCOMES and farm is not None and r["ts_us"] >= miss_since:
                farm.misses.append(Miss(r["ts_us"], MISS_OUTCOMES[r["outcome"]], r["detail"] or ""))
        return {name: tuple(times) for name, times in by_farmer.items()}

    async def _farm_metrics(
        self, farms: dict[str, _FarmBuild], now_us: int, settings: AlertsSettings
    ) -> None:
        latest_scrape: dict[str, int] = {}
        for r in await self.rows(
            "SELECT m.farm_id, m.ts_us, m.sectors_plotted, m.sectors_not_plotted,"
            " m.sectors_expired, f.active,"
            " (SELECT MAX(ts_us) FROM farmer_metrics fm WHERE fm.target_key = m.target_key)"
            " AS scrape_us FROM farm_metrics m JOIN farms f USING (farm_id)"
        ):
            farm = farms.get(r["farm_id"])
            if farm is None:
                continue
            farm.in_latest_scrape = bool(r["active"])
            farm.latest_scrape_us = r["scrape_us"]
            latest_scrape[farm.farm_id] = r["ts_us"]
            remaining = int(r["sectors_not_plotted"]) + int(r["sectors_expired"])
            farm.sectors_remaining = remaining
            total = int(r["sectors_plotted"]) + remaining
            if farm.plot_percent is None and total:
                farm.plot_kind = (
                    "replotting" if r["sectors_not_plotted"] == 0 and remaining else "plotting"
                )
                farm.plot_percent = 100.0 * (total - int(r["sectors_not_plotted"])) / total
                farm.plot_complete = remaining == 0
            if remaining and r["active"]:
                # Progress in the metrics: since when has the work left not changed?
                rows = await self.rows(
                    "SELECT MIN(ts_us) AS since FROM farm_metric_snapshots WHERE farm_id = ?"
                    " AND ts_us > COALESCE((SELECT MAX(ts_us) FROM farm_metric_snapshots"
                    " WHERE farm_id = ? AND sectors_not_plotted + sectors_expired != ?), 0)",
                    (farm.farm_id, farm.farm_id, remaining),
                )
                since = rows[0]["since"] if rows else None
                if since is not None:
                    farm.plot_updated_us = max(farm.plot_updated_us or 0, since)
                    if farm.plot_complete:
                        farm.plot_complete = False  # the metrics say work remains
        window_start = now_us - int(
            max(
                settings.farm_error_window_minutes,
                settings.missed_rewards_window_minutes,
                settings.plotting_errors_window_minutes,
            )
            * MINUTE_US
        )
        plotting_since = now_us - int(settings.plotting_errors_window_minutes * MINUTE_US)
        error_since = now_us - int(settings.farm_error_window_minutes * MINUTE_US)
        miss_since = now_us - int(settings.missed_rewards_window_minutes * MINUTE_US)
        history: dict[str, list[aiosqlite.Row]] = {}
        for r in await self.rows(
            "SELECT farm_id, ts_us, farming_errors, proving_timeout, proving_rejected,"
            " proving_failed, plotting_errors FROM farm_metric_snapshots WHERE ts_us >= ?"
            " ORDER BY farm_id, ts_us",
            (window_start,),
        ):
            history.setdefault(r["farm_id"], []).append(r)
        for farm_id, points in history.items():
            farm = farms.get(farm_id)
            if farm is None:
                continue
            farm.error_totals.extend(
                (p["ts_us"], float(p["farming_errors"]))
                for p in points
                if p["ts_us"] >= error_since
            )
            farm.plotting_error_totals.extend(
                (p["ts_us"], float(p["plotting_errors"]))
                for p in points
                if p["ts_us"] >= plotting_since and p["plotting_errors"] is not None
            )
            recent = [p for p in points if p["ts_us"] >= miss_since]
            for column, kind in METRIC_MISSES:
                missed = counter_increase(float(p[column]) for p in recent)
                farm.misses.extend(
                    Miss(recent[-1]["ts_us"], kind, "counted in the farmer's metrics")
                    for _ in range(min(missed, 100))
                )

    # --- wallets ----------------------------------------------------------------------------

    async def _wallets(self, tables: frozenset[str], now_us: int) -> tuple[WalletState, ...]:
        if not {"wallets", "wallet_balances", "wallet_transfers", "chain_blocks"} <= tables:
            return ()
        since = now_us - WALLET_WINDOW_US
        [cursor] = await self.rows("SELECT COALESCE(MAX(number), -1) AS n FROM chain_blocks")
        settled = int(cursor["n"])
        out: list[WalletState] = []
        incidents = await self._incidents(tables, since)
        for w in await self.rows("SELECT * FROM wallets ORDER BY label"):
            address = w["address"]
            latest = await self.rows(
                "SELECT free FROM wallet_balances WHERE address = ? ORDER BY id DESC LIMIT 1",
                (address,),
            )
            low = w["low_balance"]
            # Comparable readings: read at a block hash, at or below the processed cursor (every
            # movement up to it is stored) and not before the wallet was watched.
            comparable = (
                "address = ? AND block_hash IS NOT NULL AND block_number <= ? AND block_number >= ?"
            )
            params = (address, settled, w["start_block"] if w["start_block"] is not None else 0)
            balances = await self.rows(
                "SELECT * FROM (SELECT ts_us, block_number, free, reserved, id FROM wallet_balances"
                f" WHERE {comparable} AND ts_us < ? ORDER BY block_number DESC, id DESC LIMIT 1)"
                " UNION ALL SELECT ts_us, block_number, free, reserved, id FROM wallet_balances"
                f" WHERE {comparable} AND ts_us >= ? ORDER BY block_number, id",
                (*params, since, *params, since),
            )
            first_block = balances[0]["block_number"] if balances else settled
            transfers = await self.rows(
                "SELECT direction, counterparty, amount, block_number, block_hash, event_index,"
                " ts_us FROM wallet_transfers WHERE address = ?"
                " AND (ts_us >= ? OR block_number > ?) ORDER BY block_number, event_index",
                (address, since - HOUR_US, first_block),
            )
            flows = await self._flows(tables, address, first_block)
            gaps = await self.rows(
                "SELECT from_block, to_block FROM chain_gaps WHERE to_block > ?", (first_block,)
            )
            keys = [f"transfer:{t['block_hash']}:{t['event_index']}" for t in transfers]
            announced = {
                r["dedupe_key"]
                for r in await self.rows(
                    "SELECT dedupe_key FROM outbox WHERE dedupe_key IN"
                    " (SELECT value FROM json_each(?))",
                    (json.dumps(keys),),
                )
            }
            out.append(
                WalletState(
                    address=address,
                    label=w["label"],
                    readings=tuple(
                        BalanceReading(
                            ts_us=b["ts_us"],
                            total=int(b["free"]) + int(b["reserved"]),
                            block=b["block_number"],
                        )
                        for b in balances
                    ),
                    transfers=tuple(
                        WalletTransfer(
                            ts_us=t["ts_us"],
                            amount=int(t["amount"]),
                            outgoing=t["direction"] == "out",
                            counterparty=t["counterparty"],
                            ref=f"{t['block_hash']}:{t['event_index']}",
                            block=t["block_number"],
                            announced=f"transfer:{t['block_hash']}:{t['event_index']}" in announced,
                        )
                        for t in transfers
                    ),
                    flows=flows,
                    gaps=tuple((g["from_block"], g["to_block"]) for g in gaps),
                    free=int(latest[0]["free"]) if latest else None,
                    low_balance=int(low) if low is not None else None,
                    incidents=tuple(i for i in incidents if i.address == address),
                )
            )
        return tuple(out)

    async def _incidents(self, tables: frozenset[str], since_us: int) -> list[OperatorIncident]:
        if "operator_incidents" not in tables:
            return []
        return [
            incident_of(r)
            for r in await self.rows(
                "SELECT * FROM operator_incidents WHERE ts_us >= ? ORDER BY block_number",
                (since_us,),
            )
        ]

    async def _flows(
        self, tables: frozenset[str], address: str, after_block: int
    ) -> tuple[BalanceFlow, ...]:
        """Rewards, fees and other movements of ``address`` in blocks above ``after_block``."""
        flows: list[BalanceFlow] = []
        if "chain_rewards" in tables:
            flows += [
                BalanceFlow(r["block_number"], int(r["amount"]), r["kind"])
                for r in await self.rows(
                    "SELECT block_number, amount, kind FROM chain_rewards"
                    " WHERE address = ? AND block_number > ?",
                    (address, after_block),
                )
            ]
        if "wallet_movements" in tables:
            for r in await self.rows(
                "SELECT block_number, amount, kind, direction FROM wallet_movements"
                " WHERE address = ? AND block_number > ?",
                (address, after_block),
            ):
                movement = Movement(
                    address,
                    MovementKind(r["kind"]),
                    Direction(r["direction"]),
                    int(r["amount"]),
                    r["block_number"],
                    "",
                    0,
                    None,
                )
                if movement.signed_amount:
                    flows.append(BalanceFlow(r["block_number"], movement.signed_amount, r["kind"]))
        return tuple(sorted(flows, key=lambda f: f.block))

    # --- the daily summary ------------------------------------------------------------------

    async def summary(
        self, local_day: str, timezone: str, start_us: int, end_us: int
    ) -> SummaryData:
        tables = await self.tables()
        window = (start_us, end_us)
        farmer_days = {
            r["name"]: FarmerDay(r["name"]) for r in await self.rows("SELECT name FROM farmer")
        }
        for r in await self.rows(
            "SELECT COALESCE(fr.name, '') AS farmer, r.outcome, COUNT(*) AS n FROM rewards r"
            " LEFT JOIN farmer fr ON fr.id = r.farmer_id WHERE r.ts_us >= ? AND r.ts_us < ?"
            " GROUP BY farmer, r.outcome",
            window,
        ):
            day = farmer_days.get(r["farmer"], FarmerDay(r["farmer"]))
            if r["outcome"] == SIGNED:
                day = replace(day, signed=day.signed + r["n"])
            else:
                day = replace(day, misses=day.misses + r["n"])
            farmer_days[r["farmer"]] = day
        wallet_days: list[WalletDay] = []
        if "chain_rewards" in tables:
            for r in await self.rows(
                "SELECT COALESCE(fr.name, '') AS farmer, c.kind, c.amount FROM chain_rewards c"
                " LEFT JOIN farmer fr ON fr.id = c.farmer_id"
                " WHERE c.ts_us >= ? AND c.ts_us < ? AND c.farmer_id IS NOT NULL",
                window,
            ):
                day = farmer_days.get(r["farmer"], FarmerDay(r["farmer"]))
                farmer_days[r["farmer"]] = replace(
                    day,
                    blocks=day.blocks + (r["kind"] == "block"),
                    votes=day.votes + (r["kind"] == "vote"),
                    amount=day.amount + int(r["amount"]),
                )
        # Without chain data for a farmer, its node's "Claimed block/vote" lines tell them apart.
        for r in await self.rows(
            "SELECT COALESCE(fr.name, '') AS farmer, e.kind, COUNT(*) AS n FROM events e"
            " JOIN log_sources s ON s.id = e.source_id LEFT JOIN farmer fr ON fr.id = s.farmer_id"
            " WHERE e.kind IN ('claimed_block', 'claimed_vote') AND e.ts_us >= ? AND e.ts_us < ?"
            " GROUP BY farmer, e.kind",
            window,
        ):
            day = farmer_days.get(r["farmer"], FarmerDay(r["farmer"]))
            if day.amount:
                continue  # the chain already counted this farmer's blocks and votes
            farmer_days[r["farmer"]] = replace(
                day,
                blocks=day.blocks + (r["n"] if r["kind"] == "claimed_block" else 0),
                votes=day.votes + (r["n"] if r["kind"] == "claimed_vote" else 0),
            )
        if {"wallets", "chain_rewards", "wallet_balances", "wallet_transfers"} <= tables:
            wallet_days = await self._wallet_days(start_us, end_us)
        misses = await self.rows(
            "SELECT outcome, COUNT(*) AS n FROM rewards WHERE ts_us >= ? AND ts_us < ?"
            " AND outcome != ? GROUP BY outcome ORDER BY outcome",
            (*window, SIGNED),
        )
        hourly: dict[int, tuple[int, int]] = {}
        for r in await self.rows(
            "SELECT (ts_us - ?) / ? AS hour, SUM(outcome = ?) AS wins, SUM(outcome != ?) AS missed"
            " FROM rewards WHERE ts_us >= ? AND ts_us < ? GROUP BY hour",
            (start_us, HOUR_US, SIGNED, SIGNED, *window),
        ):
            hourly[int(r["hour"])] = (int(r["wins"] or 0), int(r["missed"] or 0))
        hours = max(1, -(-(end_us - start_us) // HOUR_US))
        farms = await self.gather(end_us, AlertsSettings())
        plotting = tuple(
            PlotProgress(
                farm_id=f.farm_id,
                farmer=f.farmer,
                kind="farming" if f.plot_complete or f.plot_kind is None else f.plot_kind,
                percent=f.plot_percent,
                sectors_remaining=f.sectors_remaining,
            )
            for f in farms.farms
        )
        problems = tuple(
            OpenProblem(s.rule, s.subject, s.title, s.severity, s.opened_us)
            for s in await AlertStore(self._db).open_alerts()
        )
        log_rows = await self.rows(
            "SELECT transition, COUNT(*) AS n FROM alert_log WHERE ts_us >= ? AND ts_us < ?"
            " GROUP BY transition",
            window,
        )
        counts = {r["transition"]: r["n"] for r in log_rows}
        return SummaryData(
            local_day=local_day,
            timezone=timezone,
            start_us=start_us,
            end_us=end_us,
            farmers=tuple(sorted(farmer_days.values(), key=lambda d: d.farmer)),
            wallets=tuple(wallet_days),
            misses_by_kind=tuple(
                (
                    MISS_NAMES.get(
                        MISS_OUTCOMES.get(r["outcome"], MissKind.FAILED_SOLUTION), r["outcome"]
                    ),
                    r["n"],
                )
                for r in misses
            ),
            plotting=plotting,
            problems=problems,
            hourly=tuple((start_us + h * HOUR_US, *hourly.get(h, (0, 0))) for h in range(hours)),
            alerts_fired=counts.get("fire", 0),
            alerts_resolved=counts.get("resolve", 0),
        )

    async def _wallet_days(self, start_us: int, end_us: int) -> list[WalletDay]:
        out: list[WalletDay] = []
        for w in await self.rows("SELECT address, label FROM wallets ORDER BY label"):
            blocks = votes = amount = 0
            for r in await self.rows(
                "SELECT kind, amount FROM chain_rewards WHERE address = ? AND ts_us >= ?"
                " AND ts_us < ?",
                (w["address"], start_us, end_us),
            ):
                blocks += r["kind"] == "block"
                votes += r["kind"] == "vote"
                amount += int(r["amount"]) if r["kind"] in ("block", "vote") else 0
            moved_in = moved_out = 0
            for r in await self.rows(
                "SELECT direction, amount FROM wallet_transfers WHERE address = ? AND ts_us >= ?"
                " AND ts_us < ?",
                (w["address"], start_us, end_us),
            ):
                if r["direction"] == "out":
                    moved_out += int(r["amount"])
                else:
                    moved_in += int(r["amount"])
            if "wallet_movements" in await self.tables():
                # XDM, staking and other deposits/withdrawals move money like transfers do.
                for r in await self.rows(
                    "SELECT direction, amount FROM wallet_movements WHERE address = ?"
                    " AND ts_us >= ? AND ts_us < ? AND kind IN ('xdm_in', 'xdm_out', 'staking',"
                    " 'other')",
                    (w["address"], start_us, end_us),
                ):
                    if r["direction"] == "out":
                        moved_out += int(r["amount"])
                    else:
                        moved_in += int(r["amount"])
            balance_rows = await self.rows(
                "SELECT free, reserved FROM wallet_balances WHERE address = ? AND ts_us < ?"
                " ORDER BY ts_us DESC, id DESC LIMIT 1",
                (w["address"], end_us),
            )
            balance = (
                int(balance_rows[0]["free"]) + int(balance_rows[0]["reserved"])
                if balance_rows
                else None
            )
            out.append(
                WalletDay(
                    label=w["label"],
                    address=w["address"],
                    blocks=blocks,
                    votes=votes,
                    amount=amount,
                    balance=balance,
                    transfers_in=moved_in,
                    transfers_out=moved_out,
                )
            )
        return out


async def status_overview(db: Database, now_us: int) -> StatusOverview:
    """What ``cosmos status`` prints, read from the database alone."""
    reader = AlertInputReader(db)
    tables = await reader.tables()
    activity: list[Activity] = []
    for source in await reader.sources():
        last = source.last_line_us
        activity.append(
            Activity("log", f"{source.role} {source.key}", last, last is not None, "last line")
        )
    for target in await reader.targets(tables):
        if target.last_attempt_us is None:
            activity.append(Activity("metrics", target.label, None, False, "never scraped"))
            continue
        note = "answering" if target.up else f"down: {target.last_error or 'no answer'}"
        activity.append(
            Activity(
                "metrics",
                f"{target.label} ({target.key})",
                target.last_success_us,
                target.up,
                note,
            )
        )
    if {"wallets", "wallet_balances"} <= tables:
        for r in await reader.rows(
            "SELECT w.label, w.address, (SELECT MAX(ts_us) FROM wallet_balances b"
            " WHERE b.address = w.address) AS last_us FROM wallets w ORDER BY w.label"
        ):
            activity.append(
                Activity(
                    "wallet",
                    f"{r['label']} ({r['address']})",
                    r["last_us"],
                    r["last_us"] is not None,
                    "last balance",
                )
            )
    store = AlertStore(db)
    outbox_rows = await reader.rows("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
    return StatusOverview(
        now_us=now_us,
        activity=tuple(activity),
        open_alerts=tuple(await store.open_alerts()),
        last_summary=await store.last_summary(),
        outbox=tuple((r["state"], r["n"]) for r in outbox_rows),
    )


async def mark_watch_start_in(conn: aiosqlite.Connection, now_us: int) -> None:
    """Remember the first evaluation on this database (kept forever after)."""
    await conn.execute(
        "INSERT OR IGNORE INTO alert_meta (key, value) VALUES ('watch_start_us', ?)", (now_us,)
    )
