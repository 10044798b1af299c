"""Each page's body from the read models (pure: models in, HTML out)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.web import svg
from bot.web.html import definitions, esc, figure, link, table, tiles
from collectors.clock import from_us
from collectors.format import ago, ai3, duration, pieces, short_address, short_id, size
from collectors.models.alerts import AlertState
from collectors.models.views import (
    ClusterComponent,
    ClusterView,
    DashboardView,
    FarmDetail,
    FarmerView,
    FarmSummary,
    NodeView,
    RewardBucket,
    RewardEntry,
    RewardsReport,
    WalletDetail,
    WalletView,
)

# The farmer gives up on a proof after slot duration × block authoring delay (farming_timeout in
# subspace-farmer; 1 s × 4 slots on mainnet): slower proofs are lost.
PROVING_LIMIT_S = 4.0

When = Callable[[int | None], str]


def _yes_no(up: bool | None) -> str:
    if up is None:
        return '<span class="muted">unknown</span>'
    return '<span class="ok">up</span>' if up else '<span class="bad">down</span>'


def _num(n: int | float | None) -> str:
    return "?" if n is None else f"{n:,}"


def _percent(p: float | None) -> str:
    return "" if p is None else f"{p:.1f} %"


def _farm_rows(farms: Sequence[FarmSummary], now_us: int) -> list[list[str]]:
    return [
        [
            link("/farms/", f.farm_id, text=short_id(f.farm_id)),
            link("/farmers/", f.farmer) if f.farmer else "",
            esc(f.directory or ""),
            esc(size(f.allocated_bytes) if f.allocated_bytes else (f.allocated_text or "")),
            esc(f.status.value)
            + (f" {f.plot_percent:.1f} %" if f.plot_percent is not None else ""),
            _percent(f.plotted_percent),
            figure(f"farm:{f.farm_id}:rewards_24h", f.rewards_24h),
            figure(f"farm:{f.farm_id}:misses_24h", f.misses_24h),
            esc(ago(now_us, f.last_reward_us)),
        ]
        for f in farms
    ]


FARM_HEADERS = (
    "Farm",
    "Farmer",
    "Directory",
    "Size",
    "Status",
    "Plotted",
    "Won 24 h #",
    "Missed 24 h #",
    "Last win",
)


def _node_rows(nodes: Sequence[NodeView]) -> list[list[str]]:
    return [
        [
            link("/nodes/", n.name),
            _yes_no(n.up),
            _num(n.best),
            _num(n.finalized),
            _num(n.peers),
            "syncing" if n.major_syncing else ("synced" if n.major_syncing is False else ""),
            esc(n.version or ""),
        ]
        for n in nodes
    ]


NODE_HEADERS = ("Node", "Metrics", "Best #", "Finalized #", "Peers #", "Sync", "Version")


def _farmer_rows(farmers: Sequence[FarmerView]) -> list[list[str]]:
    return [
        [
            link("/farmers/", f.name),
            esc(f.host or ""),
            _num(len(f.farms)),
            _num(f.plotting_farms),
            _percent(f.cache_percent),
            _yes_no(f.up),
        ]
        for f in farmers
    ]


FARMER_HEADERS = ("Farmer", "Host", "Farms #", "Plotting #", "Piece cache", "Metrics")


def _wallet_rows(wallets: Sequence[WalletView]) -> list[list[str]]:
    return [
        [
            link("/wallets/", w.address, text=w.label),
            f'<code title="{esc(w.address)}">{esc(short_address(w.address))}</code>',
            figure(f"wallet:{w.address}:balance", ai3(w.balance)),
            esc(ai3(w.rewards_24h_amount)),
        ]
        for w in wallets
    ]


WALLET_HEADERS = ("Wallet", "Address", "Balance #", "Rewards 24 h #")


def _entries(entries: Sequence[RewardEntry], when: When) -> list[list[str]]:
    return [
        [
            esc(when(e.ts_us)),
            link("/farms/", e.farm_id, text=short_id(e.farm_id)) if e.farm_id else "",
            esc(e.outcome.replace("_", " ")),
            "" if e.slot is None else _num(e.slot),
            esc(e.detail or ""),
        ]
        for e in entries
    ]


ENTRY_HEADERS = ("When", "Farm", "Outcome", "Slot #", "Detail")


def _alert_rows(alerts: Sequence[AlertState], when: When) -> list[list[str]]:
    return [
        [
            f'<span class="{"bad" if a.severity.value != "info" else ""}">'
            f"{esc(a.severity.value)}</span>",
            esc(a.rule.value.replace("_", " ")),
            esc(a.title or a.subject),
            esc(a.detail),
            esc(when(a.opened_us)),
        ]
        for a in alerts
    ]


ALERT_HEADERS = ("Severity", "Rule", "Alert", "Detail", "Since")


def _cluster_rows(clusters: Sequence[ClusterView]) -> list[list[str]]:
    return [
        [
            link("/clusters/", c.name),
            _num(len(c.controllers)),
            _num(len(c.caches)),
            esc(pieces(c.cache_total)),
            _num(len(c.plotters)),
            esc(_in_use(c.sectors_in_use, c.sectors_capacity)),
            _num(len(c.farmers)),
            _num(sum(1 for m in c.components if m.problems)),
        ]
        for c in clusters
    ]


CLUSTER_HEADERS = (
    "Cluster",
    "Controllers #",
    "Caches #",
    "Cache capacity #",
    "Plotters #",
    "Sectors in use #",
    "Farmers #",
    "With problems #",
)


def dashboard(
    view: DashboardView,
    alerts: Sequence[AlertState],
    recent: tuple[Sequence[RewardEntry], Sequence[RewardEntry]],
    when: When,
) -> str:
    now = view.generated_us
    wins, misses = recent
    problems = [[esc(p.subject), esc(p.text)] for p in view.problems]
    return (
        tiles(
            [
                ("Won 24 h", figure("rewards_24h", view.rewards_24h)),
                ("Missed 24 h", figure("misses_24h", view.misses_24h)),
                ("Farms", figure("farms", len(view.farms))),
                ("Open alerts", figure("open_alerts", len(alerts))),
            ]
        )
        + "<h2>Problems</h2>"
        + table(("Where", "What"), problems, empty="Nothing needs a look.")
        + "<h2>Open alerts</h2>"
        + table(ALERT_HEADERS, _alert_rows(alerts, when), empty="No open alerts.")
        + "<h2>Farms</h2>"
        + table(FARM_HEADERS, _farm_rows(view.farms, now), empty="No farms seen yet.")
        + "<h2>Farmers</h2>"
        + table(FARMER_HEADERS, _farmer_rows(view.farmers), empty="No farmers yet.")
        + "<h2>Nodes</h2>"
        + table(NODE_HEADERS, _node_rows(view.nodes), empty="No nodes watched.")
        + (
            '<h2><a href="/cluster">Farming cluster</a></h2>'
            + table(CLUSTER_HEADERS, _cluster_rows(view.clusters))
            if view.clusters
            else ""
        )
        + "<h2>Wallets</h2>"
        + table(WALLET_HEADERS, _wallet_rows(view.wallets), empty="No wallets watched.")
        + "<h2>Recent wins</h2>"
        + table(ENTRY_HEADERS, _entries(wins, when), empty="No wins yet.")
        + "<h2>Recent misses (7 days)</h2>"
        + table(ENTRY_HEADERS, _entries(misses, when), empty="No misses.")
    )


def _day_chart(title: str, buckets: Sequence[RewardBucket]) -> str:
    labels = [from_us(b.start_us).strftime("%m-%d") for b in buckets]
    return svg.stacked_bars(
        title,
        labels,
        (
            ("won", "won", [b.rewards for b in buckets]),
            ("missed", "missed", [b.missed for b in buckets]),
        ),
    )


def farm(detail: FarmDetail, history: Sequence[RewardBucket], now_us: int, when: When) -> str:
    s = detail.summary
    identity = definitions(
        [
            ("Farm id", f"<code>{esc(s.farm_id)}</code>"),
            ("Farmer", link("/farmers/", s.farmer) if s.farmer else "unknown"),
            ("Index", _num(s.farm_index)),
            ("Directory", esc(s.directory or "?")),
            (
                "Size",
                esc(size(s.allocated_bytes) if s.allocated_bytes else s.allocated_text or "?"),
            ),
            ("Status", esc(s.status.value)),
            ("Public key", f"<code>{esc(detail.public_key or '?')}</code>"),
            ("Genesis", f"<code>{esc(detail.genesis_hash or '?')}</code>"),
            ("First seen", esc(when(detail.first_seen_us))),
            ("Last seen", esc(when(detail.last_seen_us))),
            ("Signed, never credited", figure("signed_not_credited", detail.signed_not_credited)),
        ]
    )
    plotting = ""
    if s.plot_percent is not None or s.plotted_percent is not None:
        eta = (
            f", done in about {duration(detail.plotting_eta_us - now_us)}"
            if detail.plotting_eta_us and detail.plotting_eta_us > now_us
            else ""
        )
        shown = s.plot_percent if s.plot_percent is not None else s.plotted_percent
        kind = s.plot_kind or "plotted"
        plotting = (
            f"<p>{esc(kind.capitalize())}: {figure('plot_percent', f'{shown:.1f}')} %{esc(eta)}</p>"
        )
    sectors = table(
        ("State", "Sectors #"),
        [[esc(name), figure(f"sectors:{name}", n)] for name, n in detail.sectors_by_state],
        empty="No sector counts (the farmer's metrics endpoint is not scraped).",
    )
    proving = table(
        ("Result", "Proofs #", "Mean time #", "Limit #"),
        [
            [
                esc(p.result),
                _num(p.count),
                "" if p.mean_seconds is None else f"{p.mean_seconds:.2f} s",
                f"{PROVING_LIMIT_S:.0f} s",
            ]
            for p in detail.proving
        ],
        empty="No proving counts (the farmer's metrics endpoint is not scraped).",
    )
    errors = table(
        ("When", "Error"),
        [[esc(when(ts)), esc(text)] for ts, text in detail.recent_errors],
        empty="No errors.",
    )
    stages = table(
        ("Stage", "Mean per sector #"),
        [[esc(name), esc(f"{mean:.1f} s")] for name, mean in detail.plotting_stages],
        empty="No plotting times (the farmer's metrics endpoint is not scraped).",
    )
    events = table(
        ("When", "Event"),
        [[esc(when(ts)), esc(text)] for ts, text in detail.recent_events],
        empty="No farm events.",
    )
    return (
        tiles(
            [
                ("Won 24 h", figure("rewards_24h", s.rewards_24h)),
                ("Missed 24 h", figure("misses_24h", s.misses_24h)),
                ("Won 30 days", figure("rewards_30d", sum(b.rewards for b in history))),
                ("Last win", esc(ago(now_us, s.last_reward_us))),
            ]
        )
        + identity
        + plotting
        + _day_chart("Wins and misses per day, 30 days (UTC)", history)
        + "<h2>Sectors</h2>"
        + sectors
        + (
            f"<p>Failed to plot: {figure('sectors_failed', detail.sectors_failed)}</p>"
            if detail.sectors_failed
            else ""
        )
        + "<h2>Plotting time per stage (since the farmer started)</h2>"
        + stages
        + "<h2>Proving (since the farmer started)</h2>"
        + proving
        + "<h2>Recent wins</h2>"
        + table(ENTRY_HEADERS, _entries(detail.recent_rewards, when), empty="No wins yet.")
        + "<h2>Recent misses</h2>"
        + table(ENTRY_HEADERS, _entries(detail.recent_misses, when), empty="No misses.")
        + "<h2>Recent errors</h2>"
        + errors
        + "<h2>Recent farm events</h2>"
        + events
    )


def farmer(view: FarmerView, now_us: int, when: When) -> str:
    return (
        definitions(
            [
                ("Host", esc(view.host or "?")),
                ("Primary", "yes" if view.is_primary else "no"),
                ("Metrics endpoint", _yes_no(view.up)),
                ("Last scraped", esc(when(view.observed_us))),
                ("Piece cache", _percent(view.cache_percent) or "?"),
                ("Farms", figure("farms", len(view.farms))),
                ("Plotting", _num(view.plotting_farms)),
                ("Won 24 h", figure("rewards_24h", sum(f.rewards_24h for f in view.farms))),
            ]
        )
        + "<h2>Farms</h2>"
        + table(FARM_HEADERS, _farm_rows(view.farms, now_us), empty="No farms yet.")
    )


def node(view: NodeView, when: When) -> str:
    behind = (
        view.sync_target - view.best
        if view.sync_target is not None and view.best is not None
        else None
    )
    return definitions(
        [
            ("Metrics endpoint", _yes_no(view.up)),
            ("Observed", esc(when(view.observed_us))),
            ("Best block", figure("best", _num(view.best))),
            ("Finalized", figure("finalized", _num(view.finalized))),
            ("Sync target", _num(view.sync_target)),
            ("Behind", _num(behind)),
            ("Peers", figure("peers", _num(view.peers))),
            (
                "Syncing",
                "" if view.major_syncing is None else ("yes" if view.major_syncing else "no"),
            ),
            ("Version", esc(view.version or "?")),
            ("Last error", esc(view.last_error or "none")),
        ]
    )


def wallet(detail: WalletDetail, when: When) -> str:
    w = detail.wallet
    history = svg.line(
        "Balance, 30 days (AI3)",
        [(p.ts_us, p.balance / 10**18) for p in detail.balance_history],
        when(detail.history_since_us),
        when(detail.balance_history[-1].ts_us) if detail.balance_history else "",
    )
    transfers = table(
        ("When", "Block #", "Direction", "Counterparty", "Amount #"),
        [
            [
                esc(when(t.ts_us)),
                _num(t.block),
                esc(t.direction),
                f"<code>{esc(short_address(t.counterparty))}</code>" if t.counterparty else "",
                esc(ai3(t.amount)),
            ]
            for t in w.transfers
        ],
        empty="No transfers seen.",
    )
    movements = table(
        ("When", "Block #", "What", "Direction", "Amount #"),
        [
            [
                esc(when(m.ts_us)),
                _num(m.block),
                esc(m.kind or ""),
                esc(m.direction),
                esc(ai3(m.amount)),
            ]
            for m in w.movements
        ],
        empty="No other movements seen.",
    )
    kinds = table(
        ("Kind", "Rewards #", "AI3 #"),
        [
            [esc(k.kind), figure(f"kind:{k.kind}:count", k.count), esc(ai3(k.amount))]
            for k in detail.rewards_by_kind
        ],
        empty="No rewards in 30 days.",
    )
    return (
        definitions(
            [
                ("Address", f"<code>{esc(w.address)}</code>"),
                ("Balance", figure("balance", ai3(w.balance))),
                ("As of", esc(when(w.balance_us))),
                ("Rewards 24 h", esc(ai3(w.rewards_24h_amount))),
                ("Moved in / out 24 h", esc(f"{ai3(w.moved_in_24h)} / {ai3(w.moved_out_24h)}")),
            ]
        )
        + history
        + "<h2>Rewards by kind, 30 days</h2>"
        + kinds
        + "<h2>Recent transfers</h2>"
        + transfers
        + "<h2>Other movements (XDM, staking, operator income)</h2>"
        + movements
    )


def rewards(report: RewardsReport, period: str, periods: Sequence[str], when: When) -> str:
    fmt = "%H:%M" if report.bucket_seconds < 86_400 else "%m-%d"
    labels = [from_us(b.start_us).strftime(fmt) for b in report.buckets]
    chart = svg.stacked_bars(
        f"Wins and misses, {period} (UTC)",
        labels,
        (
            ("won", "won", [b.rewards for b in report.buckets]),
            ("missed", "missed", [b.missed for b in report.buckets]),
        ),
    )
    choose = " ".join(
        f"<b>{esc(p)}</b>" if p == period else f'<a href="/rewards?period={esc(p)}">{esc(p)}</a>'
        for p in periods
    )
    farms = table(
        ("Farm", "Farmer", "Blocks #", "Votes #", "Won #", "Missed #", "AI3 #"),
        [
            [
                link("/farms/", f.farm_id, text=short_id(f.farm_id))
                if f.farm_id != "(unknown farm)"
                else esc(f.farm_id),
                link("/farmers/", f.farmer) if f.farmer else "",
                _num(f.blocks),
                _num(f.votes),
                figure(f"farm:{f.farm_id}:won", f.rewards),
                figure(f"farm:{f.farm_id}:missed", f.missed),
                esc(ai3(f.amount)),
            ]
            for f in report.farms
        ],
        empty="No rewards in this period.",
    )
    wallets = table(
        ("Wallet", "Rewards #", "AI3 #"),
        [
            [link("/wallets/", w.address, text=w.label), _num(w.count), esc(ai3(w.amount))]
            for w in report.wallets
        ],
        empty="No chain rewards in this period.",
    )
    return (
        f'<p class="periods">{choose}</p>'
        + tiles(
            [
                ("Won", figure("total_rewards", report.total_rewards)),
                ("Missed", figure("total_missed", report.total_missed)),
                ("Earned", esc(ai3(report.total_amount))),
                ("Since", esc(when(report.since_us))),
            ]
        )
        + chart
        + "<h2>Farms</h2>"
        + farms
        + "<h2>Wallets</h2>"
        + wallets
    )


def alerts(
    open_alerts: Sequence[AlertState], transitions: Sequence[tuple[str, str, str, int]], when: When
) -> str:
    changes = table(
        ("When", "Rule", "Subject", "Change"),
        [
            [esc(when(ts)), esc(rule.replace("_", " ")), esc(subject), esc(change)]
            for rule, subject, change, ts in reversed(transitions)
        ],
        empty="Nothing changed in 7 days.",
    )
    return (
        tiles([("Open", figure("open_alerts", len(open_alerts)))])
        + "<h2>Open</h2>"
        + table(ALERT_HEADERS, _alert_rows(open_alerts, when), empty="No open alerts.")
        + "<h2>Changes, 7 days</h2>"
        + changes
    )


# --- farming cluster ------------------------------------------------------------------------

_STATE_CLASSES = {"up": "ok", "down": "bad", "unknown": "muted"}


def _in_use(used: float | None, total: float | None) -> str:
    if used is None:
        return "?"
    return f"{used:,.0f} of {total:,.0f}" if total is not None else f"{used:,.0f} in flight"


def _component_cells(key: str, c: ClusterComponent, now_us: int) -> list[str]:
    """The row's first cells: name, host, state, problems (early, to be seen on a phone), last
    seen."""
    state = (
        f'<span class="{_STATE_CLASSES[c.state]}" data-figure="{esc(key)}:state">'
        f"{esc(c.state)}</span>"
    )
    problems = "; ".join(c.problems)
    shown = f'<span class="bad wrap">{esc(problems)}</span>' if problems else ""
    return [esc(c.name), esc(c.host), state, shown, esc(ago(now_us, c.last_seen_us))]


def _optional(key: str, value: float | None) -> str:
    """A figure the component may not report: '?' (not compared) when it does not."""
    return "?" if value is None else figure(key, f"{value:,.0f}")


def _role_table(cluster: str, role: str, members: Sequence[ClusterComponent], now_us: int) -> str:
    head = ["Component", "Host", "State", "Problems", "Last seen"]
    rows: list[list[str]] = []
    for c in members:
        key = f"{cluster}:{c.role}:{c.host}:{c.name}"
        first = _component_cells(key, c, now_us)
        if role == "controller":
            middle = [
                _optional(f"{key}:farms", c.farms_known),
                _optional(f"{key}:caches", c.caches_known),
                esc(
                    f"{pieces(c.piece_cache_used)} of {pieces(c.piece_cache_capacity)}"
                    if c.piece_cache_capacity is not None
                    else "?"
                ),
            ]
        elif role == "cache":
            middle = [
                _optional(f"{key}:piece_caches", c.piece_caches),
                esc(pieces(c.cache_used)),
                figure(f"{key}:capacity", pieces(c.cache_total)),
            ]
        elif role == "plotter":
            middle = [
                figure(f"{key}:in_use", _in_use(c.sectors_in_use, c.capacity_total)),
                _optional(f"{key}:sectors_24h", c.sectors_24h),
                _optional(f"{key}:sectors_total", c.sectors_total),
                "?" if c.sector_mean_s is None else f"{c.sector_mean_s:,.0f} s",
            ]
        else:
            farms = ", ".join(link("/farms/", f, text=short_id(f)) for f in c.farm_ids)
            middle = [
                link("/farmers/", c.farmer) if c.farmer else "",
                figure(f"{key}:farms", len(c.farm_ids)),
                farms,
            ]
        rows.append([*first, *middle])
    extra = {
        "controller": ["Farms #", "Caches #", "Farmer cache"],
        "cache": ["Piece caches #", "Held #", "Capacity #"],
        "plotter": ["Sectors in use #", "Plotted 24 h #", "Since start #", "Per sector #"],
        "farmer": ["Farmer", "Farms #", "Farm ids"],
    }[role]
    return table([*head, *extra], rows, empty=f"No {role}s seen.")


def cluster(view: ClusterView, now_us: int) -> str:
    """One cluster: its figures, then each role's components with state and problems."""
    name = view.name
    with_problems = [c for c in view.components if c.problems]
    return (
        tiles(
            [
                ("Controllers", figure(f"{name}:controllers", len(view.controllers))),
                ("Caches", figure(f"{name}:caches", len(view.caches))),
                ("Cache capacity", figure(f"{name}:cache_capacity", pieces(view.cache_total))),
                ("Plotters", figure(f"{name}:plotters", len(view.plotters))),
                (
                    "Sectors in use",
                    figure(
                        f"{name}:sectors_in_use",
                        _in_use(view.sectors_in_use, view.sectors_capacity),
                    ),
                ),
                ("Plotted 24 h", figure(f"{name}:sectors_24h", view.sectors_24h)),
                ("Farmers", figure(f"{name}:farmers", len(view.farmers))),
                ("With problems", figure(f"{name}:with_problems", len(with_problems))),
            ]
        )
        + "<h2>Controllers</h2>"
        + _role_table(name, "controller", view.controllers, now_us)
        + "<h2>Caches</h2>"
        + _role_table(name, "cache", view.caches, now_us)
        + "<h2>Plotters</h2>"
        + _role_table(name, "plotter", view.plotters, now_us)
        + "<h2>Cluster farmers</h2>"
        + _role_table(name, "farmer", view.farmers, now_us)
    )


def clusters(
    views: Sequence[ClusterView], open_alerts: Sequence[AlertState], now_us: int, when: When
) -> str:
    """Every cluster in full, then the open alerts of the cluster rules."""
    if not views:
        return (
            '<p class="muted">No cluster component is configured: give a log source or metrics'
            " target the role controller, cache or plotter (see .env.example).</p>"
        )
    parts = [
        (f"<h2>Cluster {link('/clusters/', v.name)}</h2>" if len(views) > 1 else "")
        + cluster(v, now_us)
        for v in views
    ]
    return (
        "".join(parts)
        + "<h2>Open cluster alerts</h2>"
        + table(ALERT_HEADERS, _alert_rows(open_alerts, when), empty="No open cluster alerts.")
    )


def not_found(what: str) -> str:
    return f'<p>{esc(what)} is not known here. <a href="/">Back to the dashboard</a>.</p>'
