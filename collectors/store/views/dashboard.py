"""The dashboard: every area's summary and the problems worth a look, in one read."""

from __future__ import annotations

from collectors.models.alerts import Rule
from collectors.models.views import DashboardView, Problem
from collectors.store.views.alerts import AlertReads
from collectors.store.views.cluster import ClusterReads
from collectors.store.views.farmers import FarmerReads
from collectors.store.views.farms import FarmReads
from collectors.store.views.nodes import NodeReads
from collectors.store.views.wallets import WalletReads


class DashboardReads:
    def __init__(
        self,
        farms: FarmReads,
        farmers: FarmerReads,
        nodes: NodeReads,
        wallets: WalletReads,
        *,
        alerts: AlertReads | None = None,
        cluster: ClusterReads | None = None,
    ) -> None:
        self._farms = farms
        self._farmers = farmers
        self._nodes = nodes
        self._wallets = wallets
        self._alerts = alerts
        self._cluster = cluster

    async def build(self, now_us: int) -> DashboardView:
        farms = await self._farms.summaries(now_us)
        farmers = await self._farmers.all(now_us, farms=farms)
        nodes = await self._nodes.all(now_us)
        wallets = await self._wallets.all(now_us)
        problems = [
            Problem(f"farm {_short(f.farm_id)}", text, None) for f in farms for text in f.problems
        ]
        problems.extend(
            Problem(f"node {n.name}", n.last_error or "down", n.observed_us)
            for n in nodes
            if n.up is False
        )
        problems.extend(
            Problem(f"farmer {f.name}", "metrics endpoint down", f.observed_us)
            for f in farmers
            if f.up is False
        )
        if self._alerts is not None:
            # What no farm line says: a farm that never started, the piece cache catching up,
            # slow blocks, few DSN peers, sectors failing to plot (as the rules judged them).
            problems.extend(
                Problem(_subject(a.rule, a.subject), a.title, a.opened_us)
                for a in await self._alerts.open_alerts()
                if a.rule in _ALERTS_AS_PROBLEMS
            )
        clusters = await self._cluster.all(now_us) if self._cluster is not None else []
        problems.extend(
            Problem(f"{c.role} {c.name}", c.metrics_error or "metrics endpoint down", None)
            for cluster in clusters
            for c in cluster.components
            if c.metrics_up is False and c.role != "farmer"
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
            clusters=tuple(clusters),
        )


_ALERTS_AS_PROBLEMS = frozenset(
    {
        Rule.FARM_CREATION_FAILED,
        Rule.PIECE_CACHE_SYNC_SLOW,
        Rule.NODE_SLOW_BLOCKS,
        Rule.DSN_LOW_PEERS,
        Rule.PLOTTING_ERRORS,
        Rule.CLUSTER_FARM_EXPIRED,
        Rule.CLUSTER_CACHE_EXPIRED,
    }
)


def _subject(rule: Rule, subject: str) -> str:
    if rule in (Rule.PLOTTING_ERRORS, Rule.CLUSTER_FARM_EXPIRED):
        return f"farm {_short(subject)}"
    return subject.rsplit(":", 1)[-1]


def _short(farm_id: str) -> str:
    return farm_id if len(farm_id) <= 10 else f"…{farm_id[-6:]}"
