"""Read models for the bot's pages and dashboard, built from the tables that exist.

Reads only. Tables of other areas (metrics, wallets) are used when their migrations are present,
so a page shows what is known and says nothing of what is not collected.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from collectors.models.views import (
    DashboardView,
    FarmChoice,
    FarmDetail,
    FarmerView,
    FarmRewardRow,
    FarmStatus,
    FarmSummary,
    NodeView,
    Problem,
    ProvingStat,
    RewardBucket,
    RewardEntry,
    RewardsReport,
    WalletRewardRow,
    WalletView,
)
from collectors.store.database import Database

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US

# Reward outcomes the log pipeline stores for a won block or vote; every other outcome is a miss.
REWARD_OUTCOMES = ("signed", "reward", "block", "vote")
# Event kinds that mean a farm has a problem.
ERROR_KINDS = ("farm_exited", "farm_stopped", "plot_failed", "farming_error")
_IN_REWARD = "outcome IN (" + ",".join(f"'{o}'" for o in REWARD_OUTCOMES) + ")"
_IN_ERROR = "kind IN (" + ",".join(f"'{k}'" for k in ERROR_KINDS) + ")"

PERIODS: dict[str, int] = {"24h": DAY_US, "7d": 7 * DAY_US, "30d": 30 * DAY_US, "1y": 365 * DAY_US}


def period_us(name: str) -> int:
    """``24h``/``7d``/``30d``/``1y`` -> microseconds; ValueError names the choices."""
    try:
        return PERIODS[name]
    except KeyError:
        raise ValueError(f"unknown period {name!r}; choose one of {', '.join(PERIODS)}") from None


def _bucket_seconds(span_us: int) -> int:
    if span_us <= 2 * DAY_US:
        return 3600
    if span_us <= 31 * DAY_US:
        return 86_400
    return 7 * 86_400


class ViewStore:
    """Builds page models; every method is one or a few indexed queries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def _conn(self) -> aiosqlite.Connection:
        return self._db.conn

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def tables(self) -> frozenset[str]:
        rows = await self._rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        return frozenset(r["name"] for r in rows)

    # --- farms ------------------------------------------------------------------------------

    async def farm_summaries(
        self, now_us: int, *, farm_ids: Iterable[str] | None = None, farmer: str | None = None
    ) -> list[FarmSummary]:
        where, params = ["1 = 1"], []
        if farm_ids is not None:
            ids = list(farm_ids)
            where.append(f"f.farm_id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if farmer is not None:
            where.append("fr.name = ?")
            params.append(farmer)
        farms = await self._rows(
            "SELECT f.farm_id, f.farm_index, f.directory, f.allocated_bytes, f.allocated_text,"
            " f.active, fr.name AS farmer,"
            " p.kind AS plot_kind, p.percent AS plot_percent, p.complete_us AS plot_complete_us,"
            f" (SELECT r.ts_us FROM rewards r WHERE r.farm_id = f.farm_id AND {_IN_REWARD}"
            "   ORDER BY r.ts_us DESC LIMIT 1) AS last_reward_us"
            " FROM farms f LEFT JOIN farmer fr ON fr.id = f.farmer_id"
            " LEFT JOIN plots p ON p.farm_id = f.farm_id"
            f" WHERE {' AND '.join(where)}"
            " ORDER BY fr.is_primary DESC, fr.name, f.farm_index, f.farm_id",
            params,
        )
        if not farms:
            return []
        since = now_us - DAY_US
        counts: dict[str, tuple[int, int]] = {
            r["farm_id"]: (int(r["won"]), int(r["missed"]))
            for r in await self._rows(
                f"SELECT farm_id, SUM({_IN_REWARD}) AS won, SUM(NOT {_IN_REWARD}) AS missed"
                " FROM rewards WHERE ts_us >= ? GROUP BY farm_id",
                (since,),
            )
        }
        errors: dict[str, list[str]] = defaultdict(list)
        for r in await self._rows(
            f"SELECT farm_id, kind, COUNT(*) AS n, MAX(ts_us) AS last_us FROM events"
            f" WHERE {_IN_ERROR} AND ts_us >= ? AND farm_id IS NOT NULL GROUP BY farm_id, kind",
            (since,),
        ):
            errors[r["farm_id"]].append(f"{r['n']}× {r['kind'].replace('_', ' ')} in 24 h")
        sectors = await self._sectors()
        result = []
        for r in farms:
            farm_id = r["farm_id"]
            won, missed = counts.get(farm_id, (0, 0))
            problems = list(errors.get(farm_id, ()))
            if missed:
                problems.append(f"{missed} missed reward{'s' if missed != 1 else ''} in 24 h")
            plotting = r["plot_percent"] is not None and r["plot_complete_us"] is None
            if not r["active"]:
                status = FarmStatus.REMOVED
            elif errors.get(farm_id):
                status = FarmStatus.ERROR
            elif plotting and r["plot_kind"] == "replotting":
                status = FarmStatus.REPLOTTING
            elif plotting:
                status = FarmStatus.PLOTTING
            else:
                status = FarmStatus.FARMING
            by_state = sectors.get(farm_id, {})
            result.append(
                FarmSummary(
                    farm_id=farm_id,
                    farmer=r["farmer"],
                    farm_index=r["farm_index"],
                    directory=r["directory"],
                    allocated_bytes=r["allocated_bytes"],
                    allocated_text=r["allocated_text"],
                    status=status,
                    sectors_plotted=_plotted(by_state),
                    sectors_total=sum(by_state.values()) if by_state else None,
                    plot_kind=r["plot_kind"] if plotting else None,
                    plot_percent=r["plot_percent"] if plotting else None,
                    rewards_24h=won,
                    misses_24h=missed,
                    last_reward_us=r["last_reward_us"],
                    problems=tuple(problems),
                )
            )
        return result

    async def _sectors(self) -> dict[str, dict[str, int]]:
        """Latest sectors per state per farm, from the farmer's metrics (when collected)."""
        if "farm_sectors" not in await self.tables():
            return {}
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for r in await self._rows("SELECT farm_id, state, count FROM farm_sectors"):
            out[r["farm_id"]][r["state"]] = int(r["count"])
        return out

    async def search_farms(self, text: str, limit: int = 25) -> list[FarmChoice]:
        """Autocomplete: farms whose id, directory or farmer name contains ``text``."""
        like = f"%{text.strip()}%"
        rows = await self._rows(
            "SELECT f.farm_id, f.directory, fr.name AS farmer FROM farms f"
            " LEFT JOIN farmer fr ON fr.id = f.farmer_id"
            " WHERE f.farm_id LIKE ? OR IFNULL(f.directory, '') LIKE ?"
            " OR IFNULL(fr.name, '') LIKE ?"
            " ORDER BY fr.name, f.farm_index, f.farm_id LIMIT ?",
            (like, like, like, limit),
        )
        return [FarmChoice(r["farm_id"], r["farmer"], r["directory"]) for r in rows]

    async def resolve_farm(self, text: str) -> str | None:
        """A farm id from an id, an id prefix/suffix, or a directory."""
        rows = await self._rows(
            "SELECT farm_id FROM farms WHERE farm_id = ? OR directory = ?"
            " UNION ALL SELECT farm_id FROM farms WHERE farm_id LIKE ? OR farm_id LIKE ?",
            (text, text, f"{text}%", f"%{text}"),
        )
        ids = list(dict.fromkeys(r["farm_id"] for r in rows))
        return ids[0] if len(ids) == 1 or (ids and ids[0] == text) else None

    async def farm_detail(self, farm_id: str, now_us: int) -> FarmDetail | None:
        summaries = await self.farm_summaries(now_us, farm_ids=[farm_id])
        if not summaries:
            return None
        (farm,) = await self._rows(
            "SELECT public_key, genesis_hash, first_seen_us, last_seen_us FROM farms"
            " WHERE farm_id = ?",
            (farm_id,),
        )
        recent = await self._rows(
            "SELECT ts_us, outcome, farm_id, slot, detail FROM rewards WHERE farm_id = ?"
            " ORDER BY ts_us DESC LIMIT 200",
            (farm_id,),
        )
        entries = [
            RewardEntry(r["ts_us"], r["outcome"], r["farm_id"], r["slot"], r["detail"])
            for r in recent
        ]
        errors = await self._rows(
            f"SELECT ts_us, kind, data FROM events WHERE farm_id = ? AND {_IN_ERROR}"
            " ORDER BY ts_us DESC LIMIT 5",
            (farm_id,),
        )
        sectors = (await self._sectors()).get(farm_id, {})
        return FarmDetail(
            summary=summaries[0],
            public_key=farm["public_key"],
            genesis_hash=farm["genesis_hash"],
            first_seen_us=farm["first_seen_us"],
            last_seen_us=farm["last_seen_us"],
            sectors_by_state=tuple(sorted(sectors.items())),
            plotting_eta_us=await self._plotting_eta(farm_id, now_us),
            proving=tuple(await self._proving(farm_id)),
            recent_rewards=tuple(e for e in entries if e.outcome in REWARD_OUTCOMES)[:10],
            recent_misses=tuple(e for e in entries if e.outcome not in REWARD_OUTCOMES)[:10],
            recent_errors=tuple((r["ts_us"], _error_text(r["kind"], r["data"])) for r in errors),
        )

    async def _plotting_eta(self, farm_id: str, now_us: int) -> int | None:
        """Linear ETA from the plotting progress now and about an hour or more ago."""
        (plot,) = await self._rows(
            "SELECT kind, percent, ts_us, complete_us FROM plots WHERE farm_id = ?"
            " UNION ALL SELECT NULL, NULL, NULL, NULL LIMIT 1",
            (farm_id,),
        )
        if plot["percent"] is None or plot["complete_us"] is not None:
            return None
        rows = await self._rows(
            "SELECT ts_us, data FROM events WHERE farm_id = ?"
            " AND kind IN ('plotting', 'replotting') AND ts_us <= ? ORDER BY ts_us DESC LIMIT 1",
            (farm_id, plot["ts_us"] - HOUR_US),
        )
        if not rows:
            return None
        earlier = _percent_of(rows[0]["data"])
        if earlier is None or earlier >= plot["percent"]:
            return None
        rate = (plot["percent"] - earlier) / (plot["ts_us"] - rows[0]["ts_us"])
        return int(plot["ts_us"] + (100.0 - plot["percent"]) / rate)

    async def _proving(self, farm_id: str) -> list[ProvingStat]:
        if "farm_proving" not in await self.tables():
            return []
        rows = await self._rows(
            "SELECT result, count, sum_seconds FROM farm_proving WHERE farm_id = ? ORDER BY result",
            (farm_id,),
        )
        return [
            ProvingStat(
                r["result"],
                int(r["count"]),
                (r["sum_seconds"] / r["count"]) if r["count"] and r["sum_seconds"] else None,
            )
            for r in rows
        ]

    # --- rewards ----------------------------------------------------------------------------

    async def rewards_report(
        self,
        now_us: int,
        span_us: int,
        *,
        farmer: str | None = None,
        wallet: str | None = None,
    ) -> RewardsReport:
        since = now_us - span_us
        bucket_s = _bucket_seconds(span_us)
        bucket_us = bucket_s * 1_000_000
        farm_rows: list[FarmRewardRow] = []
        buckets: dict[int, list[int]] = {}
        if wallet is None:
            farmer_clause, params = "", [since, now_us]  # type: tuple[str, list[object]]
            if farmer is not None:
                farmer_clause = (
                    " AND COALESCE(r.farmer_id, (SELECT farmer_id FROM farms"
                    " WHERE farm_id = r.farm_id)) = (SELECT id FROM farmer WHERE name = ?)"
                )
                params.append(farmer)
            rows = await self._rows(
                "SELECT r.farm_id, fr.name AS farmer, f.directory, "
                " SUM(r.outcome = 'block') AS blocks, SUM(r.outcome = 'vote') AS votes,"
                f" SUM({_IN_REWARD}) AS won, SUM(NOT {_IN_REWARD}) AS missed"
                " FROM rewards r LEFT JOIN farms f ON f.farm_id = r.farm_id"
                " LEFT JOIN farmer fr ON fr.id = COALESCE(f.farmer_id, r.farmer_id)"
                f" WHERE r.ts_us >= ? AND r.ts_us < ?{farmer_clause}"
                " GROUP BY r.farm_id ORDER BY won DESC, r.farm_id",
                params,
            )
            farm_rows = [
                FarmRewardRow(
                    farm_id=r["farm_id"] or "(unknown farm)",
                    farmer=r["farmer"],
                    directory=r["directory"],
                    blocks=int(r["blocks"]),
                    votes=int(r["votes"]),
                    rewards=int(r["won"]),
                    missed=int(r["missed"]),
                )
                for r in rows
            ]
            for r in await self._rows(
                f"SELECT (ts_us - ?) / ? AS b, SUM({_IN_REWARD}) AS won,"
                f" SUM(NOT {_IN_REWARD}) AS missed FROM rewards r"
                f" WHERE ts_us >= ? AND ts_us < ?{farmer_clause} GROUP BY b",
                [since, bucket_us, *params],
            ):
                buckets[int(r["b"])] = [int(r["won"]), int(r["missed"]), 0]
        # The node tells a block from a vote (the farmer cannot): totals from its claim lines.
        claims = {
            r["kind"]: int(r["n"])
            for r in await self._rows(
                "SELECT kind, COUNT(*) AS n FROM events WHERE kind IN ('claimed_block',"
                " 'claimed_vote') AND ts_us >= ? AND ts_us < ? GROUP BY kind",
                (since, now_us),
            )
        }
        wallet_rows = await self._wallet_rewards(since, now_us, wallet, bucket_us, buckets)
        n_buckets = max(1, -(-span_us // bucket_us))
        series = tuple(
            RewardBucket(since + i * bucket_us, *buckets.get(i, [0, 0, 0]))
            for i in range(n_buckets)
        )
        return RewardsReport(
            since_us=since,
            until_us=now_us,
            farms=tuple(farm_rows),
            wallets=tuple(wallet_rows),
            buckets=series,
            bucket_seconds=bucket_s,
            blocks=claims.get("claimed_block", 0) if wallet is None else 0,
            votes=claims.get("claimed_vote", 0) if wallet is None else 0,
        )

    async def _wallet_rewards(
        self,
        since: int,
        until: int,
        wallet: str | None,
        bucket_us: int,
        buckets: dict[int, list[int]],
    ) -> list[WalletRewardRow]:
        """Reward amounts per wallet (chain side), when the wallets area stores them."""
        return []

    # --- nodes, farmers, wallets ------------------------------------------------------------

    async def nodes(self) -> list[NodeView]:
        return []

    async def farmers(self, now_us: int, name: str | None = None) -> list[FarmerView]:
        rows = await self._rows(
            "SELECT id, name, is_primary, host FROM farmer"
            + (" WHERE name = ?" if name is not None else "")
            + " ORDER BY is_primary DESC, name",
            (name,) if name is not None else (),
        )
        farms = await self.farm_summaries(now_us)
        by_farmer: dict[str | None, list[FarmSummary]] = defaultdict(list)
        for farm in farms:
            by_farmer[farm.farmer].append(farm)
        return [
            FarmerView(
                name=r["name"],
                host=r["host"],
                is_primary=bool(r["is_primary"]),
                farms=tuple(by_farmer.get(r["name"], ())),
                cache_percent=None,
                plotting_farms=sum(
                    1
                    for f in by_farmer.get(r["name"], ())
                    if f.status in (FarmStatus.PLOTTING, FarmStatus.REPLOTTING)
                ),
                up=None,
                observed_us=None,
            )
            for r in rows
        ]

    async def wallets(self, now_us: int, label: str | None = None) -> list[WalletView]:
        return []

    async def wallet_labels(self) -> list[str]:
        return [w.label for w in await self.wallets(0)]

    # --- dashboard --------------------------------------------------------------------------

    async def dashboard(self, now_us: int) -> DashboardView:
        farms = await self.farm_summaries(now_us)
        farmers = await self.farmers(now_us)
        nodes = await self.nodes()
        wallets = await self.wallets(now_us)
        problems = [
            Problem(f"farm {_short(f.farm_id)}", text, None) for f in farms for text in f.problems
        ]
        problems.extend(
            Problem(f"node {n.name}", n.last_error or "down", n.observed_us)
            for n in nodes
            if n.up is False
        )
        return DashboardView(
            generated_us=now_us,
            nodes=tuple(nodes),
            farmers=tuple(farmers),
            farms=tuple(farms),
            wallets=tuple(wallets),
            problems=tuple(problems),
            rewards_24h=sum(f.rewards_24h for f in farms),
            misses_24h=sum(f.misses_24h for f in farms),
        )


def _plotted(by_state: dict[str, int]) -> int | None:
    if not by_state:
        return None
    return sum(n for state, n in by_state.items() if state in ("Plotted", "AboutToExpire"))


def _short(farm_id: str) -> str:
    return farm_id if len(farm_id) <= 10 else f"…{farm_id[-6:]}"


def _percent_of(data: str | None) -> float | None:
    if not data:
        return None
    try:
        value = json.loads(data).get("percent")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def _error_text(kind: str, data: str | None) -> str:
    if data:
        try:
            decoded = json.loads(data)
        except ValueError:
            return data[:300]
        if isinstance(decoded, dict) and decoded.get("error"):
            return str(decoded["error"])[:300]
    return kind.replace("_", " ")
