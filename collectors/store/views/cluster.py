"""The farming cluster: its controllers, caches, plotters and cluster farmers.

A component is a log source and/or a metrics endpoint with a cluster role (or a farmer with a
cluster name). The two are one component when a host has exactly one of each for that role;
otherwise each is shown on its own. Log figures cover what the component's own lines say
(plotter requests, caches created, farms and caches the controller knows); metrics add the
gauges and counters (capacity in use, sectors plotted since start, cache fill).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, fields, replace
from typing import Any

import aiosqlite

from collectors.models.views import ClusterComponent, ClusterView
from collectors.store.views._base import DAY_US, HOUR_US, ReadBase

# A plot request older than this without its "Finished" line is abandoned, not in flight.
IN_FLIGHT_US = HOUR_US
# A cache start logs all its "Created piece cache" lines within this span.
CACHE_START_SPAN_US = 60_000_000
_ROLE_ORDER = ("controller", "cache", "plotter", "farmer")


@dataclass(slots=True)
class _Source:
    id: int
    key: str
    role: str
    host: str
    cluster: str
    updated_us: int | None
    run_start_us: int | None
    farmer: str | None


@dataclass(slots=True)
class _Found:
    """Components of one cluster, by (role, host), before log and metrics halves are joined."""

    logs: dict[tuple[str, str], list[ClusterComponent]] = field(
        default_factory=lambda: defaultdict(list)
    )
    metrics: dict[tuple[str, str], list[ClusterComponent]] = field(
        default_factory=lambda: defaultdict(list)
    )


def source_name(key: str) -> str:
    """``docker:<host>:<role>:<container>`` -> the container; ``file:<host>:<path>`` -> file."""
    if key.startswith("docker:"):
        return key.rsplit(":", 1)[-1]
    return key.rsplit("/", 1)[-1]


class ClusterReads(ReadBase):
    async def all(self, now_us: int) -> list[ClusterView]:
        """Every cluster with its components, by name."""
        tables = await self.tables()
        found: dict[str, _Found] = defaultdict(_Found)
        if "log_sources" in tables and "cluster" in await self._columns("log_sources"):
            for source in await self._sources():
                component = await self._from_logs(source, now_us)
                found[source.cluster].logs[(source.role, source.host)].append(component)
        if "cluster_metrics" in tables:
            for cluster, component in await self._from_metrics():
                found[cluster].metrics[(component.role, component.host)].append(component)
        return [_assemble(name, parts) for name, parts in sorted(found.items())]

    async def _sources(self) -> list[_Source]:
        rows = await self._rows(
            "SELECT s.id, s.key, s.role, s.host, s.cluster, s.updated_us, s.run_start_us,"
            " f.name AS farmer FROM log_sources s LEFT JOIN farmer f ON f.id = s.farmer_id"
            " WHERE s.cluster IS NOT NULL ORDER BY s.key"
        )
        return [
            _Source(
                r["id"],
                r["key"],
                r["role"],
                r["host"] or "local",
                r["cluster"],
                r["updated_us"],
                r["run_start_us"],
                r["farmer"],
            )
            for r in rows
        ]

    async def _from_logs(self, source: _Source, now_us: int) -> ClusterComponent:
        base = ClusterComponent(
            source.role, source_name(source.key), source.host, last_line_us=source.updated_us
        )
        if source.role == "plotter":
            return await self._plotter(base, source.id, now_us)
        if source.role == "cache":
            return await self._cache(base, source.id)
        if source.role == "controller":
            return await self._controller(base, source)
        return await self._farmer(base, source)

    async def _plotter(
        self, base: ClusterComponent, source_id: int, now_us: int
    ) -> ClusterComponent:
        rows = await self._rows(
            "SELECT count(*) AS n FROM events WHERE source_id = ? AND kind = ? AND ts_us >= ?",
            (source_id, "plot_sector_finished", now_us - DAY_US),
        )
        # A request and its "Finished" line carry the same data (public key, sector index).
        flight = await self._rows(
            "SELECT count(*) AS n FROM events r WHERE r.source_id = ? AND r.kind = ?"
            " AND r.ts_us >= ? AND NOT EXISTS (SELECT 1 FROM events f WHERE"
            " f.source_id = r.source_id AND f.kind = ? AND f.ts_us >= r.ts_us"
            " AND f.data = r.data)",
            (source_id, "plot_sector_request", now_us - IN_FLIGHT_US, "plot_sector_finished"),
        )
        return replace(base, sectors_24h=int(rows[0]["n"]), sectors_in_flight=int(flight[0]["n"]))

    async def _cache(self, base: ClusterComponent, source_id: int) -> ClusterComponent:
        rows = await self._rows(
            "SELECT ts_us, data FROM events WHERE source_id = ? AND kind = ? ORDER BY ts_us",
            (source_id, "piece_cache_created"),
        )
        if not rows:
            return base
        start = rows[-1]["ts_us"] - CACHE_START_SPAN_US
        sizes: dict[str, int] = {}
        for r in rows:
            data = _json(r["data"])
            if r["ts_us"] >= start and data.get("piece_cache_id"):
                sizes[str(data["piece_cache_id"])] = int(data.get("max_num_elements") or 0)
        return replace(base, cache_total=float(sum(sizes.values())), piece_caches=len(sizes))

    async def _controller(self, base: ClusterComponent, source: _Source) -> ClusterComponent:
        # What the controller knows now: since its latest start, the last word on each farm
        # (initialized / expired) and each cache (discovered / expired).
        rows = await self._rows(
            "SELECT kind, farm_id, data FROM events WHERE source_id = ? AND ts_us >= ?"
            " AND kind IN (?, ?, ?, ?) ORDER BY ts_us",
            (
                source.id,
                source.run_start_us or 0,
                "cluster_farm_initialized",
                "cluster_farm_expired",
                "cluster_cache_discovered",
                "cluster_cache_expired",
            ),
        )
        farms: dict[str, bool] = {}
        caches: dict[str, bool] = {}
        for r in rows:
            kind = r["kind"]
            if kind.startswith("cluster_farm_") and r["farm_id"]:
                farms[r["farm_id"]] = kind == "cluster_farm_initialized"
            elif kind.startswith("cluster_cache_"):
                cache_id = _json(r["data"]).get("cluster_cache_id")
                if cache_id:
                    caches[str(cache_id)] = kind == "cluster_cache_discovered"
        return replace(base, farms_known=sum(farms.values()), caches_known=sum(caches.values()))

    async def _farmer(self, base: ClusterComponent, source: _Source) -> ClusterComponent:
        rows = await self._rows(
            "SELECT farm_id FROM farm_index_map WHERE source_id = ? AND run_start_us ="
            " (SELECT max(run_start_us) FROM farm_index_map WHERE source_id = ?)"
            " ORDER BY farm_index",
            (source.id, source.id),
        )
        return replace(base, farmer=source.farmer, farm_ids=tuple(r["farm_id"] for r in rows))

    async def _from_metrics(self) -> list[tuple[str, ClusterComponent]]:
        rows = await self._rows(
            "SELECT t.target_key, t.kind, t.label, t.host, t.cluster, t.up, t.last_error,"
            " t.last_ok_us, c.* FROM metrics_targets t"
            " LEFT JOIN cluster_metrics c USING (target_key) WHERE t.cluster IS NOT NULL"
            " ORDER BY t.target_key"
        )
        farms: dict[str, tuple[str, ...]] = {}
        if any(r["kind"] == "farmer" for r in rows):
            for f in await self._rows(
                "SELECT target_key, farm_id FROM farm_metrics ORDER BY farm_id"
            ):
                farms[f["target_key"]] = (*farms.get(f["target_key"], ()), f["farm_id"])
        return [(r["cluster"], _metrics_component(r, farms)) for r in rows]


def _metrics_component(r: aiosqlite.Row, farms: dict[str, tuple[str, ...]]) -> ClusterComponent:
    up = None if r["up"] is None else bool(r["up"])
    component = ClusterComponent(
        r["kind"],
        r["label"],
        r["host"],
        metrics_up=up,
        metrics_error=r["last_error"] if up is False else None,
        metrics_ok_us=r["last_ok_us"],
    )
    if r["kind"] == "farmer":
        return replace(component, farm_ids=farms.get(r["target_key"], ()))
    if r["ts_us"] is None:
        return component
    return replace(
        component,
        capacity_used=r["plotting_capacity_used"],
        capacity_total=r["plotting_capacity_total"],
        sectors_total=r["sectors_plotted"],
        plotting_errors=r["sectors_plotting_errors"],
        sector_mean_s=r["sector_plotting_mean_s"],
        cache_used=r["cache_capacity_used"],
        cache_total=r["cache_capacity_total"],
        piece_cache_used=r["piece_cache_used"],
        piece_cache_capacity=r["piece_cache_capacity"],
    )


def _merge(logs: ClusterComponent, metrics: ClusterComponent) -> ClusterComponent:
    """One component seen through its log and its endpoint: metrics figures win when set."""
    values: dict[str, Any] = {}
    for name in (f.name for f in fields(ClusterComponent)):
        mine = getattr(metrics, name)
        if name in ("name", "role", "host"):
            continue
        if mine is not None and mine != ():
            values[name] = mine
    return replace(logs, **values)


def _assemble(name: str, found: _Found) -> ClusterView:
    by_role: dict[str, list[ClusterComponent]] = defaultdict(list)
    for key in sorted(set(found.logs) | set(found.metrics)):
        logs, metrics = found.logs.get(key, []), found.metrics.get(key, [])
        if len(logs) == 1 and len(metrics) == 1:
            by_role[key[0]].append(_merge(logs[0], metrics[0]))
        else:
            by_role[key[0]].extend([*logs, *metrics])
    parts = {
        role: tuple(sorted(by_role.get(role, []), key=lambda c: (c.host, c.name)))
        for role in _ROLE_ORDER
    }
    return ClusterView(name, parts["controller"], parts["cache"], parts["plotter"], parts["farmer"])


def _json(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
