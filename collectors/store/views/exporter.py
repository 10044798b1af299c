"""What the Prometheus exporter shows: counters cosmos derives that no endpoint exposes."""

from __future__ import annotations

from collectors.models.views import ExportSnapshot, FarmExport
from collectors.store.database import Database
from collectors.store.views._base import DAY_US, ReadBase
from collectors.store.views.cluster import ClusterReads
from collectors.store.views.rewards import RewardReads

# Only a farmer with a watched wallet can have wins the chain did not credit.
_WATCHED = "SELECT farmer_id FROM wallets WHERE farmer_id IS NOT NULL"

Totals = tuple[dict[str | None, list[int]], dict[str, list[int]]]


class ExportReads(ReadBase):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._rewards = RewardReads(db)
        self._cluster = ClusterReads(db)
        # All-time totals of the settled weeks and days change only when the rollups are summed
        # again: kept between scrapes, keyed by the rollups' version.
        self._settled: tuple[tuple[object, ...], Totals] | None = None

    async def all_time_totals(self, now_us: int) -> Totals:
        """Per farm [won, missed] and [AI3, blocks, votes] since the first row."""
        weeks_end, split = await self._rewards.settled_spans(0, now_us)
        key = (weeks_end, split, await self._rewards.rollup_version())
        if self._settled is None or self._settled[0] != key:
            self._settled = (key, await self._rewards.span_totals((0, weeks_end, split, split)))
        settled = self._settled[1]
        live = await self._rewards.span_totals((split, split, split, now_us))
        counts: dict[str | None, list[int]] = {}
        chain: dict[str, list[int]] = {}
        for part_counts, part_chain in (settled, live):
            for farm, values in part_counts.items():
                counts[farm] = [
                    a + b for a, b in zip(counts.get(farm, [0, 0]), values, strict=True)
                ]
            for farm, values in part_chain.items():
                chain[farm] = [
                    a + b for a, b in zip(chain.get(farm, [0, 0, 0]), values, strict=True)
                ]
        return counts, chain

    async def snapshot(self, now_us: int) -> ExportSnapshot:
        tables = await self.tables()
        totals, chain = await self.all_time_totals(now_us)
        day = await self._rows(
            "SELECT farm_id, outcome, COUNT(*) AS n FROM rewards INDEXED BY rewards_ts_cover"
            " WHERE ts_us >= ? AND ts_us <= ? GROUP BY 1, 2",
            (now_us - DAY_US, now_us),
        )
        won_24h: dict[str, int] = {}
        misses_24h: dict[str, dict[str, int]] = {}
        for r in day:
            if r["outcome"] == "signed":
                won_24h[r["farm_id"]] = int(r["n"])
            else:
                misses_24h.setdefault(r["farm_id"], {})[r["outcome"]] = int(r["n"])
        uncredited = await self._not_credited(tables)
        farms = []
        for r in await self._rows(
            "SELECT f.farm_id, IFNULL(fr.name, '') AS farmer, IFNULL(fr.host, '') AS host,"
            f" f.farmer_id IN ({_WATCHED if 'wallets' in tables else 'SELECT NULL'}) AS watched"
            " FROM farms f LEFT JOIN farmer fr ON fr.id = f.farmer_id ORDER BY f.farm_id"
        ):
            fid = r["farm_id"]
            won, missed = totals.get(fid, [0, 0])
            amount, blocks, votes = chain.get(fid, [0, 0, 0])
            misses = misses_24h.get(fid, {})
            farms.append(
                FarmExport(
                    farm_id=fid,
                    farmer=r["farmer"],
                    host=r["host"],
                    won=won,
                    missed=missed,
                    blocks=blocks,
                    votes=votes,
                    amount=amount,
                    misses_24h=tuple(sorted(misses.items())),
                    won_24h=won_24h.get(fid, 0),
                    missed_24h=sum(misses.values()),
                    not_credited=uncredited.get(fid, 0) if r["watched"] else None,
                )
            )
        return ExportSnapshot(
            now_us=now_us,
            farms=tuple(farms),
            wallets=await self._balances(tables),
            open_alerts=tuple(
                (r["rule"], r["severity"], int(r["n"]))
                for r in await self._rows(
                    "SELECT rule, severity, COUNT(*) AS n FROM alert_state"
                    " WHERE phase IN ('firing', 'clearing') GROUP BY 1, 2"
                )
            )
            if "alert_state" in tables
            else (),
            source_lag=await self._lag(tables, now_us),
            outbox=tuple(
                (r["state"], int(r["n"]))
                for r in await self._rows(
                    "SELECT state, COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'dead')"
                    " GROUP BY 1"
                )
            ),
            clusters=tuple(await self._cluster.all(now_us)),
        )

    async def _not_credited(self, tables: frozenset[str]) -> dict[str, int]:
        """Per farm: wins signed in the log that the chain never credited (uncredited_wins:
        decided once the chain was read past them; a late credit removes the row)."""
        if "uncredited_wins" not in tables:
            return {}
        rows = await self._rows(
            "SELECT farm_id, COUNT(*) AS n FROM uncredited_wins WHERE farm_id IS NOT NULL"
            " GROUP BY farm_id"
        )
        return {r["farm_id"]: int(r["n"]) for r in rows}

    async def _balances(self, tables: frozenset[str]) -> tuple[tuple[str, str, int], ...]:
        if not {"wallets", "wallet_balances"} <= tables:
            return ()
        rows = await self._rows(
            "SELECT w.address, w.label, b.free, b.reserved FROM wallets w JOIN wallet_balances b"
            " ON b.id = (SELECT MAX(id) FROM wallet_balances WHERE address = w.address)"
            " ORDER BY w.label"
        )
        return tuple((r["address"], r["label"], int(r["free"]) + int(r["reserved"])) for r in rows)

    async def _lag(
        self, tables: frozenset[str], now_us: int
    ) -> tuple[tuple[str, str, str, float], ...]:
        """Seconds since the newest stored line of each log source (by its own time stamps),
        since each metrics endpoint last answered, and since each wallet's last balance."""
        out = [
            ("log", r["key"], r["role"], (now_us - r["last_us"]) / 1e6)
            for r in await self._rows(
                "SELECT key, role, IFNULL(last_ts_us, updated_us) AS last_us FROM log_sources"
                " ORDER BY key"
            )
        ]
        if "metrics_targets" in tables:
            out += [
                ("metrics", r["label"], r["kind"], (now_us - r["last_us"]) / 1e6)
                for r in await self._rows(
                    "SELECT label, kind, last_ok_us AS last_us FROM metrics_targets"
                    " WHERE last_ok_us IS NOT NULL ORDER BY label"
                )
            ]
        if {"wallets", "wallet_balances"} <= tables:
            out += [
                ("wallet", r["label"], "wallet", (now_us - r["last_us"]) / 1e6)
                for r in await self._rows(
                    "SELECT w.label, (SELECT MAX(ts_us) FROM wallet_balances b"
                    " WHERE b.address = w.address) AS last_us FROM wallets w ORDER BY w.label"
                )
                if r["last_us"] is not None
            ]
        return tuple(out)


def _add(a: list[int], b: list[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]
