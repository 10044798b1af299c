"""What the farming-cluster alert rules read: plotter timeouts on farms, and the controller's
last word on each farm and cache (since its latest start)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from collectors.models.alerts import (
    ClusterInputs,
    ControllerCaches,
    ControllerFarm,
    PlotterTimeouts,
)
from collectors.settings import AlertsSettings

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US

_FARM_KINDS = ("cluster_farm_initialized", "cluster_farm_expired")
_CACHE_KINDS = ("cluster_cache_discovered", "cluster_cache_expired")


async def _rows(
    conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()
) -> list[aiosqlite.Row]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


def _cache_id(raw: str | None) -> str | None:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return None
    value = data.get("cluster_cache_id") if isinstance(data, dict) else None
    return str(value) if value else None


async def cluster_inputs(
    conn: aiosqlite.Connection, tables: frozenset[str], now_us: int, settings: AlertsSettings
) -> ClusterInputs:
    if "events" not in tables:
        return ClusterInputs()
    farmers = {
        r["farm_id"]: r["name"]
        for r in await _rows(
            conn,
            "SELECT f.farm_id, fr.name FROM farms f JOIN farmer fr ON fr.id = f.farmer_id",
        )
    }
    return ClusterInputs(
        plotter_timeouts=await _timeouts(conn, now_us, settings, farmers),
        controller_farms=await _controller_farms(conn, now_us, settings, farmers),
        controller_caches=await _controller_caches(conn, now_us, settings),
    )


async def _timeouts(
    conn: aiosqlite.Connection, now_us: int, settings: AlertsSettings, farmers: dict[str, str]
) -> tuple[PlotterTimeouts, ...]:
    since = now_us - int(settings.plotter_timeout_window_minutes * MINUTE_US)
    rows = await _rows(
        conn,
        "SELECT e.farm_id, count(*) AS n, max(e.ts_us) AS last_us,"
        " (SELECT json_extract(x.data, '$.sector_index') FROM events x WHERE x.farm_id = e.farm_id"
        "  AND x.kind = 'plotter_timeout' ORDER BY x.ts_us DESC LIMIT 1) AS sector_index,"
        " (SELECT p.ts_us FROM plots p WHERE p.farm_id = e.farm_id) AS plotted_us"
        " FROM events e WHERE e.kind = 'plotter_timeout' AND e.ts_us >= ?"
        " AND e.farm_id IS NOT NULL GROUP BY e.farm_id ORDER BY e.farm_id",
        (since,),
    )
    return tuple(
        PlotterTimeouts(
            farm_id=r["farm_id"],
            farmer=farmers.get(r["farm_id"], ""),
            count=int(r["n"]),
            last_us=int(r["last_us"]),
            sector_index=r["sector_index"],
            progressed_after=r["plotted_us"] is not None and r["plotted_us"] > r["last_us"],
        )
        for r in rows
    )


async def _controller_events(
    conn: aiosqlite.Connection, kinds: tuple[str, str], since_us: int
) -> list[aiosqlite.Row]:
    """Controller events of two kinds since each controller's latest start, oldest first."""
    return await _rows(
        conn,
        "SELECT s.key, e.kind, e.ts_us, e.farm_id, e.data FROM events e"
        " JOIN log_sources s ON s.id = e.source_id"
        " WHERE s.role = 'controller' AND e.kind IN (?, ?) AND e.ts_us >= ?"
        " AND e.ts_us >= coalesce(s.run_start_us, 0) ORDER BY e.ts_us",
        (*kinds, since_us),
    )


async def _controller_farms(
    conn: aiosqlite.Connection, now_us: int, settings: AlertsSettings, farmers: dict[str, str]
) -> tuple[ControllerFarm, ...]:
    since = now_us - int(settings.cluster_expired_lookback_hours * HOUR_US)
    last: dict[str, ControllerFarm] = {}
    for r in await _controller_events(conn, _FARM_KINDS, since):
        if r["farm_id"]:
            last[r["farm_id"]] = ControllerFarm(
                r["farm_id"],
                r["key"],
                r["kind"] == "cluster_farm_expired",
                r["ts_us"],
                farmers.get(r["farm_id"], ""),
            )
    return tuple(last[k] for k in sorted(last))


async def _controller_caches(
    conn: aiosqlite.Connection, now_us: int, settings: AlertsSettings
) -> tuple[ControllerCaches, ...]:
    since = now_us - int(settings.cluster_expired_lookback_hours * HOUR_US)
    # Per controller: the caches expired since the last discovery, and the two times.
    state: dict[str, tuple[list[str], int | None, int | None]] = {}
    for r in await _controller_events(conn, _CACHE_KINDS, since):
        expired, last_expired, last_discovered = state.get(r["key"], ([], None, None))
        if r["kind"] == "cluster_cache_expired":
            cache_id = _cache_id(r["data"])
            if last_discovered is not None and (last_expired or 0) < last_discovered:
                expired = []  # a new round: what expired before the last discovery returned
            state[r["key"]] = (
                [*expired, *([cache_id] if cache_id else [])],
                r["ts_us"],
                last_discovered,
            )
        else:
            state[r["key"]] = (expired, last_expired, r["ts_us"])
    return tuple(
        ControllerCaches(key, tuple(ids), last_expired, last_discovered)
        for key, (ids, last_expired, last_discovered) in sorted(state.items())
    )
