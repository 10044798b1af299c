"""Nodes: sync state, peers and endpoint health, from metrics or else from the node's log."""

from __future__ import annotations

from collectors.models.views import NodeView
from collectors.store.metrics import MetricsStore
from collectors.store.views._base import ReadBase


class NodeReads(ReadBase):
    async def all(self) -> list[NodeView]:
        """Nodes from their metrics endpoints; else from their logs (informant lines)."""
        tables = await self.tables()
        views: list[NodeView] = []
        if "node_metrics" in tables:
            metrics = MetricsStore(self._db)
            health = {h.target_key: h for h in await metrics.target_health()}
            for n in await metrics.latest_node_states():
                h = health.get(n.target_key)
                views.append(
                    NodeView(
                        name=n.label,
                        up=h.up if h else None,
                        observed_us=n.ts_us,
                        best=n.snapshot.best,
                        finalized=n.snapshot.finalized,
                        sync_target=n.snapshot.sync_target,
                        peers=n.snapshot.peers,
                        major_syncing=n.snapshot.major_syncing,
                        version=n.snapshot.version,
                        last_error=h.last_error if h and h.up is False else None,
                    )
                )
            named = {v.name for v in views}
            views.extend(
                NodeView(
                    h.label, h.up, h.last_ok_us, None, None, None, None, None, None, h.last_error
                )
                for h in health.values()
                if h.kind.value == "node" and h.label not in named
            )
        if not views and "node_state" in tables:
            for r in await self._rows(
                "SELECT s.key, n.* FROM node_state n JOIN log_sources s ON s.id = n.source_id"
                " ORDER BY s.key"
            ):
                views.append(
                    NodeView(
                        name=r["key"].rsplit(":", 1)[-1],
                        up=None,
                        observed_us=r["ts_us"],
                        best=r["best"],
                        finalized=r["finalized"],
                        sync_target=r["target"],
                        peers=r["peers"],
                        major_syncing=(r["state"] == "syncing") if r["state"] else None,
                        version=r["version"],
                    )
                )
        return views
