"""Pure rendering: view models and notifications -> ``discord.Embed`` within Discord's limits.

Nothing here does I/O. Long lists are split over several embeds (:class:`EmbedBuilder`), and
embeds are grouped into messages (:func:`pack`) so no request breaks a limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import discord

from collectors.format import ai3, every, pieces, short_address, short_id, size
from collectors.models.notify import Notification, OutboxItem, Severity
from collectors.models.views import (
    ClusterComponent,
    ClusterView,
    DashboardView,
    FarmDetail,
    FarmerView,
    FarmStatus,
    FarmSummary,
    NodeView,
    RewardEntry,
    RewardsReport,
    TransferEntry,
    WalletView,
)

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10

SEVERITY_COLOURS = {
    Severity.INFO: discord.Colour(0x3498DB),
    Severity.SUCCESS: discord.Colour(0x2ECC71),
    Severity.WARNING: discord.Colour(0xF1C40F),
    Severity.ERROR: discord.Colour(0xE74C3C),
}
STATUS_ICONS = {
    FarmStatus.FARMING: "🟢",
    FarmStatus.PLOTTING: "🔵",
    FarmStatus.REPLOTTING: "🔵",
    FarmStatus.ERROR: "🔴",
    FarmStatus.REMOVED: "⚫",
}
NEUTRAL = discord.Colour(0x5865F2)


# --- small formatters -----------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(us: int | None, style: str = "R") -> str:
    """A Discord timestamp that each reader sees in their own time zone."""
    return "never" if us is None else f"<t:{us // 1_000_000}:{style}>"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- limits ---------------------------------------------------------------------------------


def embed_length(embed: discord.Embed) -> int:
    """Characters that count towards the 6000 total (title, description, fields, footer, author)."""
    return len(embed)


def make_embed(
    title: str, description: str = "", colour: discord.Colour = NEUTRAL
) -> discord.Embed:
    return discord.Embed(
        title=clip(title, TITLE_MAX),
        description=clip(description, DESCRIPTION_MAX) or None,
        colour=colour,
    )


def add_field(embed: discord.Embed, name: str, value: str, *, inline: bool = False) -> None:
    embed.add_field(
        name=clip(name or "\u200b", FIELD_NAME_MAX),
        value=clip(value or "—", FIELD_VALUE_MAX),
        inline=inline,
    )


class EmbedBuilder:
    """Adds fields, continuing on a new embed when one would break the field or size limits."""

    def __init__(self, title: str, description: str = "", colour: discord.Colour = NEUTRAL) -> None:
        self._title = title
        self._colour = colour
        self.embeds = [make_embed(title, description, colour)]

    def field(self, name: str, value: str, *, inline: bool = False) -> None:
        current = self.embeds[-1]
        cost = len(clip(name, FIELD_NAME_MAX)) + len(clip(value or "—", FIELD_VALUE_MAX))
        # Keep headroom for the footer added later.
        if len(current.fields) >= FIELDS_MAX or embed_length(current) + cost > 5800:
            current = make_embed(f"{self._title} (continued)", colour=self._colour)
            self.embeds.append(current)
        add_field(current, name, value, inline=inline)

    def lines(self, name: str, lines: Iterable[str]) -> None:
        """A list as one or more fields, each within the field value limit."""
        chunk: list[str] = []
        for raw in lines:
            line = clip(raw, FIELD_VALUE_MAX)
            if chunk and len("\n".join([*chunk, line])) > FIELD_VALUE_MAX:
                self.field(name, "\n".join(chunk))
                name, chunk = f"{name} (cont.)", []
            chunk.append(line)
        if chunk:
            self.field(name, "\n".join(chunk))

    def footer(self, text: str) -> list[discord.Embed]:
        for embed in self.embeds:
            embed.set_footer(text=clip(text, FOOTER_MAX))
        return self.embeds


def pack(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages: at most 10 per message and 6000 characters in all."""
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    total = 0
    for embed in embeds:
        length = embed_length(embed)
        if current and (len(current) >= EMBEDS_PER_MESSAGE or total + length > EMBED_TOTAL_MAX):
            messages.append(current)
            current, total = [], 0
        current.append(embed)
        total += length
    if current:
        messages.append(current)
    return messages


def check_limits(embeds: Sequence[discord.Embed]) -> list[str]:
    """Every broken limit, for tests and a last check before sending."""
    problems: list[str] = []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds in one message")
    if sum(embed_length(e) for e in embeds) > EMBED_TOTAL_MAX:
        problems.append("more than 6000 characters in one message")
    for e in embeds:
        if e.title and len(e.title) > TITLE_MAX:
            problems.append("title too long")
        if e.description and len(e.description) > DESCRIPTION_MAX:
            problems.append("description too long")
        if len(e.fields) > FIELDS_MAX:
            problems.append(f"{len(e.fields)} fields")
        for f in e.fields:
            if len(f.name or "") > FIELD_NAME_MAX or len(f.value or "") > FIELD_VALUE_MAX:
                problems.append(f"field {f.name!r} too long")
        if e.footer.text and len(e.footer.text) > FOOTER_MAX:
            problems.append("footer too long")
    return problems


# --- farms ----------------------------------------------------------------------------------


def _farm_label(farm: FarmSummary) -> str:
    where = farm.directory or (f"farm {farm.farm_index}" if farm.farm_index is not None else "")
    parts = [farm.farmer or "?", where, short_id(farm.farm_id)]
    return f"{STATUS_ICONS[farm.status]} " + " · ".join(p for p in parts if p)


def _progress(farm: FarmSummary) -> str | None:
    if farm.plot_percent is not None:
        return f"{farm.plot_kind or 'plotting'} {farm.plot_percent:.1f}%"
    return None


def farm_line(farm: FarmSummary) -> str:
    parts = [farm.status.value]
    if farm.sectors_total:
        parts.append(
            f"{farm.sectors_plotted}/{farm.sectors_total} sectors ({farm.plotted_percent:.1f}%)"
        )
    elif farm.allocated_text or farm.allocated_bytes:
        parts.append(farm.allocated_text or size(farm.allocated_bytes))
    if progress := _progress(farm):
        parts.append(progress)
    parts.append(f"{plural(farm.rewards_24h, 'reward')} in 24 h")
    parts.append(f"last {when(farm.last_reward_us)}")
    text = " · ".join(parts)
    if farm.problems:
        text += "\n⚠️ " + "; ".join(farm.problems)
    return text


def farms_embeds(farms: Sequence[FarmSummary], now_us: int) -> list[discord.Embed]:
    if not farms:
        return [make_embed("Farms", "No farm seen yet: cosmos learns farms from farmer logs.")]
    by_status: dict[FarmStatus, int] = {}
    for farm in farms:
        by_status[farm.status] = by_status.get(farm.status, 0) + 1
    summary = ", ".join(f"{STATUS_ICONS[s]} {n} {s.value}" for s, n in by_status.items())
    rewards = sum(f.rewards_24h for f in farms)
    colour = SEVERITY_COLOURS[Severity.ERROR if FarmStatus.ERROR in by_status else Severity.SUCCESS]
    builder = EmbedBuilder(
        f"Farms ({len(farms)})",
        f"{summary}\n{plural(rewards, 'reward')} in the last 24 h · as of {when(now_us)}",
        colour,
    )
    for farm in farms:
        builder.field(_farm_label(farm), farm_line(farm))
    return builder.embeds


def _entries(entries: Sequence[RewardEntry]) -> list[str]:
    return [
        f"{when(e.ts_us)} {e.outcome.replace('_', ' ')}"
        + (f" (slot {e.slot})" if e.slot is not None else "")
        for e in entries
    ]


def farm_embeds(detail: FarmDetail) -> list[discord.Embed]:
    farm = detail.summary
    colour = SEVERITY_COLOURS[Severity.ERROR if farm.problems else Severity.SUCCESS]
    b = EmbedBuilder(f"Farm {farm.farm_id}", farm_line(farm), colour)
    identity = [
        f"Farmer: {farm.farmer or '?'}",
        f"Index: {farm.farm_index if farm.farm_index is not None else '?'}",
        f"Directory: {farm.directory or '?'}",
        f"Size: {farm.allocated_text or size(farm.allocated_bytes)}",
    ]
    if detail.public_key:
        identity.append(f"Public key: `{detail.public_key}`")
    identity.append(f"First seen {when(detail.first_seen_us)}, last {when(detail.last_seen_us)}")
    b.lines("Identity", identity)
    if detail.sectors_by_state:
        b.field(
            "Sectors",
            "\n".join(f"{state}: {n}" for state, n in detail.sectors_by_state),
            inline=True,
        )
    if progress := _progress(farm):
        eta = f", done {when(detail.plotting_eta_us)}" if detail.plotting_eta_us else ""
        b.field("Plotting", progress + eta, inline=True)
    if detail.proving:
        b.field(
            "Proving",
            "\n".join(
                f"{p.result}: {p.count}"
                + (f" (mean {p.mean_seconds:.2f} s)" if p.mean_seconds is not None else "")
                for p in detail.proving
            ),
            inline=True,
        )
    if detail.plotting_stages or detail.sectors_failed:
        stages = [f"{name}: {mean:.1f} s" for name, mean in detail.plotting_stages]
        if detail.sectors_failed:
            stages.append(f"Failed sectors: {detail.sectors_failed}")
        b.field("Plotting time per sector", "\n".join(stages), inline=True)
    b.lines("Recent rewards", _entries(detail.recent_rewards) or ["none yet"])
    if detail.signed_not_credited:
        b.field("Signed but not credited", str(detail.signed_not_credited), inline=True)
    if detail.recent_misses:
        b.lines("Recent misses", _entries(detail.recent_misses))
    if detail.recent_errors:
        b.lines("Errors", [f"{when(ts)} {clip(text, 200)}" for ts, text in detail.recent_errors])
    if detail.recent_events:
        b.lines("Events", [f"{when(ts)} {clip(text, 200)}" for ts, text in detail.recent_events])
    return b.embeds


# --- rewards --------------------------------------------------------------------------------


def rewards_embeds(
    report: RewardsReport, title: str, chart_filename: str | None = None
) -> list[discord.Embed]:
    description = (
        f"From {when(report.since_us, 'f')} to {when(report.until_us, 'f')}\n"
        f"**{plural(report.total_rewards, 'reward')}**, {report.total_missed} missed"
    )
    if report.blocks or report.votes:
        description += f" · node claimed {plural(report.blocks, 'block')}, "
        description += plural(report.votes, "vote")
    if report.wallets:
        description += f", {ai3(report.total_amount)} received"
    b = EmbedBuilder(title, description, SEVERITY_COLOURS[Severity.SUCCESS])
    if chart_filename:
        b.embeds[0].set_image(url=f"attachment://{chart_filename}")
    for row in report.farms:
        label = " · ".join(p for p in (row.farmer, row.directory, short_id(row.farm_id)) if p)
        detail = [f"{plural(row.rewards, 'reward')}"]
        if row.blocks or row.votes:
            detail.append(f"{row.blocks} blocks, {row.votes} votes")
        detail.append(f"{row.missed} missed")
        if row.amount:
            detail.append(ai3(row.amount))
        b.field(label, " · ".join(detail), inline=True)
    for wallet in report.wallets:
        b.field(
            f"💰 {wallet.label}",
            f"{ai3(wallet.amount)} in {plural(wallet.count, 'reward')}",
            inline=True,
        )
    if not report.farms and not report.wallets:
        b.embeds[0].description = clip(
            (b.embeds[0].description or "") + "\nNo reward recorded in this period.",
            DESCRIPTION_MAX,
        )
    return b.embeds


# --- nodes, farmers, wallets ----------------------------------------------------------------


def node_embed(node: NodeView) -> discord.Embed:
    ok = node.up is not False and not node.major_syncing
    e = make_embed(
        f"Node {node.name}",
        f"As of {when(node.observed_us)}",
        SEVERITY_COLOURS[Severity.SUCCESS if ok else Severity.WARNING],
    )
    state = "down" if node.up is False else "syncing" if node.major_syncing else "synced"
    add_field(e, "State", state, inline=True)
    add_field(e, "Best", _num(node.best), inline=True)
    add_field(e, "Finalized", _num(node.finalized), inline=True)
    if node.sync_target is not None:
        add_field(e, "Sync target", _num(node.sync_target), inline=True)
    add_field(e, "Peers", _num(node.peers), inline=True)
    if node.version:
        add_field(e, "Version", node.version, inline=True)
    if node.chain or node.node_name:
        add_field(e, "Chain", " · ".join(p for p in (node.chain, node.node_name) if p), inline=True)
    if node.dsn_peers is not None:
        add_field(e, "DSN peers", f"{node.dsn_peers[0]} of {node.dsn_peers[1]} used", inline=True)
    if node.slow_blocks_1h:
        add_field(e, "Slow blocks (1 h)", str(node.slow_blocks_1h), inline=True)
    if node.missed_24h:
        add_field(e, "Missed (24 h)", f"{node.missed_24h} votes/signatures lost", inline=True)
    if node.blocks_imported is not None:
        add_field(e, "Blocks imported", _num(int(node.blocks_imported)), inline=True)
    if node.leaves is not None and node.leaves > 1:
        add_field(e, "Forks", str(node.leaves), inline=True)
    if node.dsn_sync_us is not None:
        sync = f"caught up from DSN {when(node.dsn_sync_us)}"
        if node.dsn_sync_error:
            sync += f"; then: {clip(node.dsn_sync_error, 200)}"
        add_field(e, "DSN sync", sync)
    if node.last_error:
        add_field(e, "Last error", node.last_error)
    return e


def _num(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def farmer_embeds(farmer: FarmerView) -> list[discord.Embed]:
    problems = sum(1 for f in farmer.farms if f.problems)
    b = EmbedBuilder(
        f"Farmer {farmer.name}",
        f"Host: {farmer.host or 'local'} · {plural(len(farmer.farms), 'farm')}"
        f" · {farmer.plotting_farms} plotting",
        SEVERITY_COLOURS[Severity.WARNING if problems else Severity.SUCCESS],
    )
    if farmer.cache_percent is not None:
        b.field("Piece cache", f"{farmer.cache_percent:.1f}% synced", inline=True)
    if farmer.cache_catchup_since_us is not None:
        b.field(
            "Piece cache catch-up",
            f"catching up to the latest history since {when(farmer.cache_catchup_since_us)}"
            " (farming can pause)",
            inline=True,
        )
    if farmer.cache_hit_ratio is not None:
        b.field("Piece cache hits", f"{farmer.cache_hit_ratio:.1%}", inline=True)
    if farmer.dsn_peers is not None:
        b.field("DSN peers", f"{farmer.dsn_peers[0]} of {farmer.dsn_peers[1]} used", inline=True)
    if farmer.up is not None:
        b.field("Metrics", "up" if farmer.up else "down", inline=True)
    for farm in farmer.farms:
        b.field(_farm_label(farm), farm_line(farm))
    return b.embeds


def wallet_embeds(wallet: WalletView, explorer_url: str) -> list[discord.Embed]:
    base = explorer_url.rstrip("/")
    b = EmbedBuilder(
        f"Wallet {wallet.label}",
        f"[`{wallet.address}`]({base}/account/{wallet.address})\n"
        f"Balance **{ai3(wallet.balance)}** as of {when(wallet.balance_us)}\n"
        f"Rewards in 24 h: {ai3(wallet.rewards_24h_amount)}\n"
        f"Moved in 24 h: in {ai3(wallet.moved_in_24h)}, out {ai3(wallet.moved_out_24h)}",
        SEVERITY_COLOURS[Severity.INFO],
    )

    def line(t: TransferEntry) -> str:
        arrow = "⬇️" if t.direction == "in" else "⬆️"
        where = f"[#{t.block}]({base}/block/{t.block})" if t.block is not None else ""
        if t.extrinsic:
            where = f"[{t.extrinsic}]({base}/extrinsic/{t.extrinsic})"
        who = f" {short_address(t.counterparty)}" if t.counterparty else ""
        if t.kind:
            who = f" ({t.kind})"
        return f"{arrow} {ai3(t.amount)}{who} {where} {when(t.ts_us)}".strip()

    b.lines("Recent transfers", [line(t) for t in wallet.transfers] or ["none"])
    if wallet.movements:
        b.lines("Other movements (XDM, staking…)", [line(t) for t in wallet.movements])
    b.lines("Recent rewards", [line(t) for t in wallet.rewards] or ["none"])
    return b.embeds


# --- dashboard ------------------------------------------------------------------------------


def dashboard_embeds(view: DashboardView, interval_s: float = 60.0) -> list[discord.Embed]:
    """The whole picture in ONE message: summaries, with long lists cut to fit.

    ``interval_s`` is how often the message is edited (the footer says so).
    """
    colour = SEVERITY_COLOURS[Severity.WARNING if view.problems else Severity.SUCCESS]
    by_status: dict[FarmStatus, int] = {}
    for farm in view.farms:
        by_status[farm.status] = by_status.get(farm.status, 0) + 1
    e = make_embed(
        "cosmos dashboard",
        f"Updated {when(view.generated_us)} · {plural(len(view.farms), 'farm')} · "
        f"{plural(view.rewards_24h, 'reward')} and {view.misses_24h} missed in 24 h",
        colour,
    )
    nodes = [
        f"{'🔴' if n.up is False else '🟡' if n.major_syncing else '🟢'} {n.name}: "
        f"#{_num(n.best)}, {_num(n.peers)} peers"
        for n in view.nodes
    ]
    add_field(e, "Nodes", _fit(nodes, "no node metrics configured"))
    farmers = [
        f"{f.name}: {plural(len(f.farms), 'farm')}, {f.plotting_farms} plotting"
        + (f", cache {f.cache_percent:.0f}%" if f.cache_percent is not None else "")
        for f in view.farmers
    ]
    add_field(e, "Farmers", _fit(farmers, "none"))
    add_field(
        e,
        "Farms",
        " · ".join(f"{STATUS_ICONS[s]} {n} {s.value}" for s, n in by_status.items()) or "none",
    )
    plotting = [
        f"{short_id(f.farm_id)} ({f.farmer}): {_progress(f)}"
        for f in view.farms
        if f.plot_percent is not None
    ]
    if plotting:
        add_field(e, "Plotting", _fit(plotting, ""))
    for cluster in view.clusters:
        add_field(e, f"Cluster {cluster.name}", cluster_summary(cluster))
    wallets = [f"{w.label}: {ai3(w.balance)}" for w in view.wallets]
    if wallets:
        add_field(e, "Wallets", _fit(wallets, ""))
    problems = [f"⚠️ {p.subject}: {p.text}" for p in view.problems]
    add_field(e, "Problems", _fit(problems, "none ✅"))
    e.set_footer(text=f"Edited {every(interval_s)}")
    return [e]


# --- farming cluster ------------------------------------------------------------------------


_STATE_ICONS = {"down": "🔴", "up": "🟢", "unknown": "⚪"}


def _icon(c: ClusterComponent) -> str:
    return _STATE_ICONS[c.state]


def _in_use(c: ClusterComponent) -> str | None:
    if c.capacity_used is not None and c.capacity_total is not None:
        return f"{c.capacity_used:.0f}/{c.capacity_total:.0f} sectors in use"
    if c.sectors_in_flight is not None:
        return f"{c.sectors_in_flight} in flight"
    return None


def cluster_component_line(c: ClusterComponent) -> str:
    """One component in a line: what it is, where, and its figures."""
    parts: list[str] = []
    if c.role == "plotter":
        parts.append(_in_use(c) or "capacity ?")
        if c.sectors_24h is not None:
            parts.append(f"{plural(c.sectors_24h, 'sector')} plotted in 24 h")
        if c.sectors_total is not None:
            parts.append(f"{c.sectors_total:,.0f} since start")
        if c.sector_mean_s is not None:
            parts.append(f"{c.sector_mean_s:.0f} s a sector")
        if c.plotting_errors:
            parts.append(plural(int(c.plotting_errors), "error"))
    elif c.role == "cache":
        held = f"{pieces(c.cache_used)} of " if c.cache_used is not None else ""
        parts.append(f"{held}{pieces(c.cache_total)}")
        if c.piece_caches is not None:
            parts.append(plural(c.piece_caches, "piece cache"))
    elif c.role == "controller":
        if c.farms_known is not None:
            parts.append(f"{plural(c.farms_known, 'farm')}, {plural(c.caches_known or 0, 'cache')}")
        if c.piece_cache_capacity is not None:
            parts.append(
                f"farmer cache {pieces(c.piece_cache_used)} of {pieces(c.piece_cache_capacity)}"
            )
    else:
        parts.append(plural(len(c.farm_ids), "farm"))
        if c.farm_ids:
            parts.append(", ".join(short_id(f) for f in c.farm_ids))
    if c.metrics_up is False:
        parts.append(f"metrics down{': ' + c.metrics_error if c.metrics_error else ''}")
    who = f"{c.name} ({c.host})" if c.farmer is None else f"{c.name} ({c.host}, {c.farmer})"
    return f"{_icon(c)} {who}: " + " · ".join(parts)


def cluster_summary(cluster: ClusterView) -> str:
    """The dashboard's line for a cluster: its parts counted, capacity and plotting."""
    parts = [plural(len(cluster.controllers), "controller")]
    cache_total = cluster.cache_total
    parts.append(
        plural(len(cluster.caches), "cache") + (f" ({pieces(cache_total)})" if cache_total else "")
    )
    used, total = cluster.sectors_in_use, cluster.sectors_capacity
    in_use = f"{used:.0f}/{total:.0f} in use" if total is not None else f"{used:.0f} in flight"
    parts.append(
        f"{plural(len(cluster.plotters), 'plotter')}"
        f" ({in_use}, {cluster.sectors_24h} sectors in 24 h)"
    )
    parts.append(f"{plural(len(cluster.farmers), 'farmer')}, {plural(cluster.farm_count, 'farm')}")
    down = [c for c in cluster.components if c.metrics_up is False]
    lines = [" · ".join(parts)]
    lines += [f"🔴 {c.role} {c.name}: metrics down" for c in down]
    return _fit(lines, "")


def cluster_embeds(clusters: Sequence[ClusterView], now_us: int) -> list[discord.Embed]:
    """``/cluster``: every component of every cluster, by role."""
    if not clusters:
        return [
            make_embed(
                "Farming cluster",
                "No cluster component is configured: give a log source or metrics target the"
                " role controller, cache or plotter (see .env.example).",
            )
        ]
    embeds: list[discord.Embed] = []
    for cluster in clusters:
        down = any(c.metrics_up is False for c in cluster.components)
        b = EmbedBuilder(
            f"Cluster {cluster.name}",
            f"As of {when(now_us)} · " + cluster_summary(cluster).split("\n", 1)[0],
            SEVERITY_COLOURS[Severity.WARNING if down else Severity.SUCCESS],
        )
        for title, members in (
            ("Controllers", cluster.controllers),
            ("Caches", cluster.caches),
            ("Plotters", cluster.plotters),
            ("Farmers", cluster.farmers),
        ):
            if members:
                b.lines(title, [cluster_component_line(c) for c in members])
        embeds.extend(b.embeds)
    return embeds


def _fit(lines: Sequence[str], empty: str, limit: int = FIELD_VALUE_MAX) -> str:
    """As many lines as fit in one field value, then how many were left out."""
    if not lines:
        return empty
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        rest = len(lines) - i
        tail = len(f"\n…and {rest} more")
        if used + len(line) + 1 + tail > limit:
            out.append(f"…and {rest} more")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


# --- notifications --------------------------------------------------------------------------


def notification_embed(n: Notification) -> discord.Embed:
    description = n.body
    if n.occurred_us is not None:
        description = f"{description}\n{when(n.occurred_us)}".strip()
    e = make_embed(n.title, description, SEVERITY_COLOURS[n.severity])
    if n.url:
        e.url = n.url
    for name, value in n.fields[:FIELDS_MAX]:
        add_field(e, name, value, inline=len(value) <= 40)
    if n.footer:
        e.set_footer(text=clip(n.footer, FOOTER_MAX))
    while embed_length(e) > EMBED_TOTAL_MAX and e.fields:
        e.remove_field(-1)
    return e


def rewards_batch_embed(items: Sequence[OutboxItem], since_us: int, until_us: int) -> discord.Embed:
    """Several reward notifications as one message."""
    e = make_embed(
        f"{plural(len(items), 'reward')}",
        f"From {when(since_us)} to {when(until_us)}",
        SEVERITY_COLOURS[Severity.SUCCESS],
    )
    lines = [
        f"{when(i.notification.occurred_us or i.created_us)} {i.notification.title}"
        + (f" — {i.notification.body}" if i.notification.body else "")
        for i in items
    ]
    add_field(e, "Rewards", _fit([clip(line, 200) for line in lines], "none"))
    return e
