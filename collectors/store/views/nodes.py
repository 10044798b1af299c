"""Nodes: sync state, peers and endpoint health, from metrics or else from the node's log."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from collectors.models.views import NodeView
from collectors.store.metrics import MetricsStore
from collectors.store.views._base import DAY_US, HOUR_US, ReadBase

# The latest of each of these node log events says something about the node now.
_LATEST_KINDS = ("node_chain", "node_name", "dsn_peers", "dsn_sync", "dsn_sync_error")
_NODE_MISSES = ("vote_failed", "reward_signature_invalid")


class NodeReads(ReadBase):
    async def all(self, now_us: int | None = None) -> list[NodeView]:
        """Nodes from their metrics endpoints; else from their logs (informant lines).

        What the node's log adds (chain, name, DSN peers and sync, slow blocks and misses over
        the hour/day before ``now_us``) is attached by source; with metrics, when there is one
        node log to attach.
        """
        views = await self._views()
        facts = await self._log_facts(now_us)
        if not facts:
            return views
        by_name = {key.rsplit(":", 1)[-1]: f for key, f in facts.items()}
        single = next(iter(facts.values())) if len(facts) == 1 else None
        return [
            dataclasses.replace(view, **fields)
            if (fields := by_name.get(view.name) or single)
            else view
            for view in views
        ]

    async def _log_facts(self, now_us: int | None) -> dict[str, dict[str, Any]]:
        """Node log source key -> NodeView fields its recent lines give."""
        if "events" not in await self.tables():
            return {}
        facts: dict[str, dict[str, Any]] = {}
        marks = ",".join("?" * len(_LATEST_KINDS))
        # SQLite takes the bare columns of a MAX() group from the row holding the maximum.
        for r in await self._rows(
            "SELECT s.key, e.kind, MAX(e.ts_us) AS ts_us, e.data FROM events e"
            f" JOIN log_sources s ON s.id = e.source_id WHERE e.kind IN ({marks})"
            " AND s.role = 'node' GROUP BY s.key, e.kind",
            _LATEST_KINDS,
        ):
            data = _json(r["data"])
            fields = facts.setdefault(r["key"], {})
            if r["kind"] == "node_chain":
                fields["chain"] = data.get("name")
            elif r["kind"] == "node_name":
                fields["node_name"] = data.get("name")
            elif r["kind"] == "dsn_peers":
                fields["dsn_peers"] = (int(data.get("connected", 0)), int(data.get("known", 0)))
            elif r["kind"] == "dsn_sync":
                fields["dsn_sync_us"] = r["ts_us"]
            else:
                fields["_error"] = (r["ts_us"], data.get("error"))
        for fields in facts.values():
            error = fields.pop("_error", None)
            if error is not None and error[0] >= (fields.get("dsn_sync_us") or 0):
                fields["dsn_sync_error"] = error[1] or "error"
        if now_us is not None:
            for r in await self._rows(
                "SELECT s.key, COUNT(*) AS n FROM events e JOIN log_sources s"
                " ON s.id = e.source_id WHERE e.kind = 'slow_block' AND e.ts_us >= ?"
                " AND s.role = 'node' GROUP BY s.key",
                (now_us - HOUR_US,),
            ):
                facts.setdefault(r["key"], {})["slow_blocks_1h"] = int(r["n"])
            for r in await self._rows(
                "SELECT s.key, COUNT(*) AS n FROM rewards w JOIN log_sources s"
                f" ON s.id = w.source_id WHERE w.outcome IN ({','.join('?' * len(_NODE_MISSES))})"
                " AND w.ts_us >= ? GROUP BY s.key",
                (*_NODE_MISSES, now_us - DAY_US),
            ):
                facts.setdefault(r["key"], {})["missed_24h"] = int(r["n"])
        return facts

    async def _views(self) -> list[NodeView]:
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
                        chain=n.snapshot.chain,
                        node_name=n.snapshot.node_name,
                        blocks_imported=n.snapshot.blocks_imported,
                        leaves=n.snapshot.leaves,
                        ready_transactions=n.snapshot.ready_transactions,
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


def _json(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
