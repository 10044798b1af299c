"""Farmers: their farms, piece cache, plotting count and metrics endpoint health."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

from collectors.models.views import FarmerView, FarmStatus, FarmSummary
from collectors.store.database import Database
from collectors.store.metrics import MetricsStore
from collectors.store.views._base import ReadBase
from collectors.store.views.farms import FarmReads


class FarmerReads(ReadBase):
    def __init__(self, db: Database, farms: FarmReads) -> None:
        super().__init__(db)
        self._farms = farms

    async def all(
        self,
        now_us: int,
        name: str | None = None,
        *,
        farms: Sequence[FarmSummary] | None = None,
    ) -> list[FarmerView]:
        rows = await self._rows(
            "SELECT id, name, is_primary, host FROM farmer"
            + (" WHERE name = ?" if name is not None else "")
            + " ORDER BY is_primary DESC, name",
            (name,) if name is not None else (),
        )
        if farms is None:
            farms = await self._farms.summaries(now_us)
        cache, up, observed = await self._farmer_health()
        hits, dsn, catchup = await self._farmer_signals()
        by_farmer: dict[str | None, list[FarmSummary]] = defaultdict(list)
        for farm in farms:
            by_farmer[farm.farmer].append(farm)
        return [
            FarmerView(
                name=r["name"],
                host=r["host"],
                is_primary=bool(r["is_primary"]),
                farms=tuple(by_farmer.get(r["name"], ())),
                cache_percent=cache.get(r["id"]),
                plotting_farms=sum(
                    1
                    for f in by_farmer.get(r["name"], ())
                    if f.status in (FarmStatus.PLOTTING, FarmStatus.REPLOTTING)
                ),
                up=up.get(r["id"]),
                observed_us=observed.get(r["id"]),
                cache_hit_ratio=hits.get(r["id"]),
                dsn_peers=dsn.get(r["id"]),
                cache_catchup_since_us=catchup.get(r["id"]),
            )
            for r in rows
        ]

    async def _farmer_signals(
        self,
    ) -> tuple[dict[int, float], dict[int, tuple[int, int]], dict[int, int]]:
        """Per farmer id: piece cache hit ratio (metrics), the latest DSN peers line and an
        unfinished piece cache catch-up (its log)."""
        hits: dict[int, float] = {}
        if "cache_get_hit" in await self._columns("farmer_metrics"):
            for f in await MetricsStore(self._db).latest_farmer_states():
                if f.cache_hit_ratio is not None:
                    hits[f.farmer_id] = f.cache_hit_ratio
        dsn: dict[int, tuple[int, int]] = {}
        latest: dict[tuple[int, str], int] = {}
        # SQLite takes the bare columns of a MAX() group from the row holding the maximum.
        for r in await self._rows(
            "SELECT s.farmer_id, e.kind, MAX(e.ts_us) AS ts_us, e.data FROM events e"
            " JOIN log_sources s ON s.id = e.source_id WHERE s.role = 'farmer'"
            " AND s.farmer_id IS NOT NULL AND e.kind IN ('dsn_peers', 'piece_cache_catchup',"
            " 'piece_cache_caught_up', 'farmer_start') GROUP BY s.farmer_id, e.kind"
        ):
            latest[(r["farmer_id"], r["kind"])] = r["ts_us"]
            if r["kind"] == "dsn_peers":
                try:
                    data = json.loads(r["data"] or "{}")
                    dsn[r["farmer_id"]] = (int(data["connected"]), int(data["known"]))
                except (ValueError, KeyError, TypeError):
                    pass
        catchup: dict[int, int] = {}
        for (farmer_id, kind), ts in latest.items():
            if kind == "piece_cache_catchup" and ts > max(
                latest.get((farmer_id, "piece_cache_caught_up"), 0),
                latest.get((farmer_id, "farmer_start"), 0),
            ):
                catchup[farmer_id] = ts
        return hits, dsn, catchup

    async def _farmer_health(
        self,
    ) -> tuple[dict[int, float], dict[int, bool | None], dict[int, int]]:
        """Per farmer id: piece cache %, metrics endpoint up, when last scraped."""
        tables = await self.tables()
        cache: dict[int, float] = {}
        up: dict[int, bool | None] = {}
        observed: dict[int, int] = {}
        # The farmer's log reports piece cache sync progress (newer schemas keep it per source).
        if "cache_percent" in await self._columns("log_sources"):
            for r in await self._rows(
                "SELECT farmer_id, cache_percent FROM log_sources WHERE role = 'farmer'"
                " AND farmer_id IS NOT NULL AND cache_percent IS NOT NULL"
            ):
                cache[r["farmer_id"]] = float(r["cache_percent"])
        if "farmer_metrics" in tables:
            metrics = MetricsStore(self._db)
            for f in await metrics.latest_farmer_states():
                observed[f.farmer_id] = f.ts_us
                if f.piece_cache_used is not None and f.piece_cache_capacity:
                    cache[f.farmer_id] = 100.0 * f.piece_cache_used / f.piece_cache_capacity
            farmer_of = {
                r["target_key"]: r["farmer_id"]
                for r in await self._rows(
                    "SELECT target_key, farmer_id FROM metrics_targets WHERE kind = 'farmer'"
                )
            }
            for h in await metrics.target_health():
                farmer_id = farmer_of.get(h.target_key)
                if farmer_id is not None:
                    up[farmer_id] = h.up
        return cache, up, observed
