"""/metrics: what cosmos derives from logs, chain and its own state, in Prometheus' format.

A custom collector over one :class:`ExportSnapshot` read from the store per scrape, so the
numbers are the database's, never a second count kept in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collectors.models.views import AI3, PIECE_BYTES, ClusterComponent, ExportSnapshot

FARM_LABELS = ["farm_id", "farmer", "host"]
CLUSTER_LABELS = ["cluster", "role", "host", "component"]


class SnapshotCollector(Collector):
    def __init__(self, snapshot: ExportSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self._snapshot
        rewards = CounterMetricFamily(
            "cosmos_farm_rewards",
            "Reward chances per farm seen in the farmer's log, by outcome (won = signed)",
            labels=[*FARM_LABELS, "outcome"],
        )
        chain = CounterMetricFamily(
            "cosmos_farm_chain_rewards",
            "Rewards credited on chain per farm, by kind (block, vote)",
            labels=[*FARM_LABELS, "kind"],
        )
        earned = CounterMetricFamily(
            "cosmos_farm_earned_ai3", "AI3 credited on chain per farm", labels=FARM_LABELS
        )
        misses = GaugeMetricFamily(
            "cosmos_farm_misses_24h",
            "Missed rewards per farm in the last 24 hours, by outcome",
            labels=[*FARM_LABELS, "outcome"],
        )
        not_credited = GaugeMetricFamily(
            "cosmos_farm_signed_not_credited_wins",
            "Wins signed in the farmer's log that the chain never credited (farms of farmers"
            " with a watched wallet; a late credit takes one off)",
            labels=FARM_LABELS,
        )
        win_ratio = GaugeMetricFamily(
            "cosmos_farm_win_ratio_24h",
            "Won / (won + missed) per farm in the last 24 hours (absent without chances)",
            labels=FARM_LABELS,
        )
        for f in s.farms:
            labels = [f.farm_id, f.farmer, f.host]
            rewards.add_metric([*labels, "won"], f.won)
            rewards.add_metric([*labels, "missed"], f.missed)
            chain.add_metric([*labels, "block"], f.blocks)
            chain.add_metric([*labels, "vote"], f.votes)
            earned.add_metric(labels, f.amount / AI3)
            for outcome, n in f.misses_24h:
                misses.add_metric([*labels, outcome], n)
            if f.not_credited is not None:
                not_credited.add_metric(labels, f.not_credited)
            if f.won_24h + f.missed_24h:
                win_ratio.add_metric(labels, f.won_24h / (f.won_24h + f.missed_24h))
        yield from (rewards, chain, earned, misses, win_ratio, not_credited)
        balance = GaugeMetricFamily(
            "cosmos_wallet_balance_ai3",
            "Free + reserved balance of each watched wallet",
            labels=["address", "label"],
        )
        for address, label, amount in s.wallets:
            balance.add_metric([address, label], amount / AI3)
        yield balance
        alerts = GaugeMetricFamily(
            "cosmos_alerts_open", "Open alerts by rule and severity", labels=["rule", "severity"]
        )
        for rule, severity, n in s.open_alerts:
            alerts.add_metric([rule, severity], n)
        yield alerts
        lag = GaugeMetricFamily(
            "cosmos_ingest_lag_seconds",
            "Seconds since the newest data of each source: log line time, metrics scrape, balance",
            labels=["kind", "source", "role"],
        )
        for kind, source, role, seconds in s.source_lag:
            lag.add_metric([kind, source, role], seconds)
        yield lag
        outbox = GaugeMetricFamily(
            "cosmos_outbox_messages",
            "Notifications waiting (pending) or given up (dead)",
            labels=["state"],
        )
        counts = dict(s.outbox)
        for state in ("pending", "dead"):
            outbox.add_metric([state], counts.get(state, 0))
        yield outbox
        yield from cluster_families(s)


def cluster_families(s: ExportSnapshot) -> Iterator[Metric]:
    """The farming cluster's components, as the /cluster page and embed read them."""
    up = GaugeMetricFamily(
        "cosmos_cluster_component_up",
        "1 when a cluster component's metrics endpoint answers or its log has lines, 0 when its"
        " endpoint does not answer (absent while neither is known)",
        labels=CLUSTER_LABELS,
    )
    lag = GaugeMetricFamily(
        "cosmos_cluster_component_lag_seconds",
        "Seconds since a cluster component was last seen: its newest stored log line or its"
        " last answered scrape",
        labels=CLUSTER_LABELS,
    )
    cache_total = GaugeMetricFamily(
        "cosmos_cluster_cache_capacity_bytes",
        "Bytes a cluster cache holds at most over its piece caches",
        labels=CLUSTER_LABELS,
    )
    cache_used = GaugeMetricFamily(
        "cosmos_cluster_cache_used_bytes",
        "Bytes a cluster cache holds now (from its metrics endpoint)",
        labels=CLUSTER_LABELS,
    )
    in_use = GaugeMetricFamily(
        "cosmos_cluster_plotter_sectors_in_use",
        "Sectors a plotter plots now: its plotting capacity in use, else requests in flight in"
        " its log",
        labels=CLUSTER_LABELS,
    )
    capacity = GaugeMetricFamily(
        "cosmos_cluster_plotter_sectors_capacity",
        "Sectors a plotter can plot at once (from its metrics endpoint)",
        labels=CLUSTER_LABELS,
    )
    day = GaugeMetricFamily(
        "cosmos_cluster_plotter_sectors_24h",
        "Sectors a plotter finished in the last 24 hours (from its log)",
        labels=CLUSTER_LABELS,
    )
    plotted = CounterMetricFamily(
        "cosmos_cluster_plotter_sectors_plotted",
        "Sectors a plotter plotted since it started (from its metrics endpoint)",
        labels=CLUSTER_LABELS,
    )
    errors = CounterMetricFamily(
        "cosmos_cluster_plotter_errors",
        "Sectors a plotter failed to plot since it started (from its metrics endpoint)",
        labels=CLUSTER_LABELS,
    )
    farms = GaugeMetricFamily(
        "cosmos_cluster_farms",
        "Farms a controller knows now, or a cluster farmer farms",
        labels=CLUSTER_LABELS,
    )
    seen: set[tuple[str, ...]] = set()
    for cluster in s.clusters:
        for c in cluster.components:
            labels = [cluster.name, c.role, c.host, c.name]
            if tuple(labels) in seen:
                continue  # a log and an endpoint of one name that could not be joined
            seen.add(tuple(labels))
            if c.state != "unknown":
                up.add_metric(labels, 1 if c.state == "up" else 0)
            if c.last_seen_us is not None:
                lag.add_metric(labels, (s.now_us - c.last_seen_us) / 1e6)
            _add(cache_total, labels, c.cache_total, PIECE_BYTES)
            _add(cache_used, labels, c.cache_used, PIECE_BYTES)
            _add(in_use, labels, c.sectors_in_use)
            _add(capacity, labels, c.capacity_total)
            _add(day, labels, c.sectors_24h)
            _add(plotted, labels, c.sectors_total)
            _add(errors, labels, c.plotting_errors)
            _add(farms, labels, _farms(c))
    yield from (up, lag, cache_total, cache_used, in_use, capacity, day, plotted, errors, farms)


def _farms(c: ClusterComponent) -> int | None:
    if c.role == "controller":
        return c.farms_known
    return len(c.farm_ids) if c.role == "farmer" else None


def _add(
    family: GaugeMetricFamily | CounterMetricFamily,
    labels: list[str],
    value: float | None,
    scale: int = 1,
) -> None:
    if value is not None:
        family.add_metric(labels, value * scale)


def render(snapshot: ExportSnapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)
