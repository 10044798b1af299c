"""Alert rules: pure functions from an :class:`AlertInputs` snapshot to conditions.

Each rule returns a condition for every subject it can judge, active or not, so the state
machine sees problems clear. A subject the rule cannot judge (stale or missing data) gets no
condition at all, and its stored alert is left as it is.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable

from collectors.alerts.cluster_rules import (
    cluster_cache_expired,
    cluster_farm_expired,
    plotter_timeout,
)
from collectors.format import ai3, duration, short_id
from collectors.models.alerts import (
    AI3,
    AlertInputs,
    Condition,
    FarmState,
    Miss,
    MissKind,
    Policy,
    Rule,
    WalletState,
)
from collectors.models.chain import IncidentKind
from collectors.models.logs import CLUSTER_ROLES
from collectors.models.notify import Severity
from collectors.settings import AlertsSettings

US = 1_000_000
MINUTE_US = 60 * US
# A node reading older than this says nothing about the node now (the endpoint rule covers it).
NODE_STALE_US = 10 * MINUTE_US
# After a farmer start, wait for every farm's start block before calling a farm missing.
RUN_SETTLE_US = 10 * MINUTE_US
BALANCE_WINDOW_US = 24 * 3600 * US
LARGE_TRANSFER_WINDOW_US = 6 * 3600 * US
# A farmer log whose last line was stored this long after it was written is being backfilled
# (clock skew between hosts stays well below it).
BACKFILL_LAG_US = 15 * MINUTE_US

# Grace before firing, in seconds, unless settings.grace_minutes says otherwise. Rules whose
# threshold is already a duration need none; a node catching up after a restart is normal.
DEFAULT_GRACE_S: dict[Rule, float] = {
    Rule.NODE_NOT_SYNCED: 600.0,
    Rule.NODE_LOW_PEERS: 600.0,
}
# Rules about past events: reminding is noise; some have nothing to "resolve" either.
NO_REMIND = frozenset(
    {
        Rule.MISSED_REWARDS,
        Rule.BALANCE_DROP,
        Rule.LARGE_TRANSFER_OUT,
        Rule.OPERATOR_INCIDENT,
        Rule.FARM_PROVE_FAILED,
    }
)
NO_RESOLVE_MESSAGE = frozenset({Rule.BALANCE_DROP, Rule.LARGE_TRANSFER_OUT, Rule.OPERATOR_INCIDENT})

MISS_NAMES = {
    MissKind.FAILED_SOLUTION: "failed solution",
    MissKind.PROVING_SKIPPED: "proving skipped",
    MissKind.PROVING_TIMEOUT: "proving timed out",
    MissKind.FAILED_SIGNATURE: "failed signature",
    MissKind.REJECTED_PROOF: "rejected proof",
    MissKind.IGNORED_SOLUTION: "solution ignored by the node",
    MissKind.PROVE_FAILED: "failed proof",
    MissKind.VOTE_FAILED: "vote the node could not submit",
    MissKind.INVALID_SIGNATURE: "reward signature rejected by the node",
}


def policy_for(rule: Rule, settings: AlertsSettings) -> Policy:
    grace_min = settings.grace_minutes.get(rule.value)
    return Policy(
        grace_s=grace_min * 60.0 if grace_min is not None else DEFAULT_GRACE_S.get(rule, 0.0),
        resolve_grace_s=settings.resolve_grace_minutes * 60.0,
        remind_first_s=settings.remind_first_hours * 3600.0,
        remind_max_s=settings.remind_max_hours * 3600.0,
        remind=rule not in NO_REMIND,
        announce_resolve=rule not in NO_RESOLVE_MESSAGE,
    )


def farm_name(farm: FarmState) -> str:
    name = short_id(farm.farm_id)
    return f"{name} ({farm.farmer})" if farm.farmer else name


# --- endpoints and log sources --------------------------------------------------------------


def endpoint_down(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    limit = settings.endpoint_down_minutes * MINUTE_US
    out: list[Condition] = []
    for target in inputs.targets:
        if target.last_attempt_us is None:
            continue  # not scraped yet
        down_since = target.last_success_us or target.first_seen_us
        down_for = inputs.now_us - down_since
        active = not target.up and down_for >= limit
        out.append(
            Condition(
                Rule.ENDPOINT_DOWN,
                target.key,
                active,
                Severity.ERROR,
                f"{target.kind.capitalize()} metrics endpoint unreachable: {target.label}",
                f"No answer from {target.key} for {duration(down_for)}"
                + (f": {target.last_error}" if target.last_error else "."),
            )
        )
    return out


def logs_silent(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out: list[Condition] = []
    for source in inputs.sources:
        if source.role in CLUSTER_ROLES:
            cluster_minutes = settings.cluster_logs_silent_minutes.get(source.role)
            if cluster_minutes is None:
                continue  # a role that is quiet when all is well: its endpoint is watched
            minutes = cluster_minutes
        elif source.role == "node":
            minutes = settings.node_logs_silent_minutes
        else:
            minutes = settings.farmer_logs_silent_minutes
        last = source.last_line_us if source.last_line_us is not None else source.first_seen_us
        if inputs.watch_start_us is not None and last < inputs.watch_start_us:
            continue  # read before cosmos watched (a backfill): not a source being followed
        silent_for = inputs.now_us - last
        out.append(
            Condition(
                Rule.LOGS_SILENT,
                source.key,
                silent_for >= minutes * MINUTE_US,
                Severity.WARNING,
                f"The {source.role} log went silent: {source.key}",
                f"No new line for {duration(silent_for)} (limit {duration(minutes * MINUTE_US)}).",
            )
        )
    return out


# --- node -----------------------------------------------------------------------------------


def node_not_synced(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out: list[Condition] = []
    for node in inputs.nodes:
        if inputs.now_us - node.observed_us > NODE_STALE_US:
            continue
        behind = (
            node.sync_target - node.best
            if node.sync_target is not None and node.best is not None
            else 0
        )
        syncing = bool(node.major_syncing)
        active = syncing or behind > settings.node_behind_blocks
        detail = f"best #{node.best}, sync target #{node.sync_target}, {behind} blocks behind"
        title = (
            f"Node is not synced: {behind} blocks behind"
            if behind > settings.node_behind_blocks
            else "Node is major-syncing"
        )
        out.append(
            Condition(
                Rule.NODE_NOT_SYNCED,
                node.subject,
                active,
                Severity.WARNING,
                f"{title} ({node.subject})",
                detail + (", major sync in progress." if syncing else "."),
            )
        )
    return out


def node_low_peers(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out: list[Condition] = []
    for node in inputs.nodes:
        if node.peers is None or inputs.now_us - node.observed_us > NODE_STALE_US:
            continue
        out.append(
            Condition(
                Rule.NODE_LOW_PEERS,
                node.subject,
                node.peers < settings.node_min_peers,
                Severity.WARNING,
                f"Node has only {node.peers} peers ({node.subject})",
                f"{node.peers} peers, fewer than {settings.node_min_peers}. Check the node's "
                "P2P port forwarding and firewall.",
            )
        )
    return out


# --- farms ----------------------------------------------------------------------------------


def counter_increase(totals: Iterable[float]) -> int:
    """How much a counter rose over consecutive readings; a drop (farmer restart) is a reset."""
    rise = 0.0
    previous: float | None = None
    for total in totals:
        if previous is not None:
            rise += total - previous if total >= previous else total
        previous = total
    return int(rise)


def farm_error(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    window_start = inputs.now_us - settings.farm_error_window_minutes * MINUTE_US
    out: list[Condition] = []
    for farm in inputs.farms:
        recent = [e for e in farm.errors if e.ts_us >= window_start]
        fatal = [e for e in recent if e.fatal]
        nonfatal = len(recent) - len(fatal)
        readings = [(ts, total) for ts, total in farm.farming_error_totals if ts >= window_start]
        counter_rise = counter_increase(total for _, total in readings)
        rising = nonfatal + counter_rise >= settings.farming_errors_min
        if fatal:
            title = f"Farm {farm_name(farm)} stopped with an error"
            detail = fatal[-1].message
            severity = Severity.ERROR
        else:
            title = f"Farming errors rising on farm {farm_name(farm)}"
            detail = (
                f"{nonfatal + counter_rise} farming errors in the last "
                f"{duration(settings.farm_error_window_minutes * MINUTE_US)}"
            )
            last_error = next((e.message for e in reversed(recent) if not e.fatal), None)
            if last_error:
                detail += f"; last: {last_error}"
            severity = Severity.WARNING
        out.append(
            Condition(Rule.FARM_ERROR, farm.farm_id, bool(fatal) or rising, severity, title, detail)
        )
    return out


def farm_missing(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out: list[Condition] = []
    limit = settings.farm_missing_minutes * MINUTE_US
    for farm in inputs.farms:
        reasons: list[str] = []
        if (
            farm.in_latest_run is False
            and farm.latest_run_started_us is not None
            and inputs.now_us - farm.latest_run_started_us >= RUN_SETTLE_US
        ):
            reasons.append("the farmer restarted without it")
        if farm.in_latest_scrape is False and inputs.now_us - farm.last_seen_us >= limit:
            reasons.append(
                f"it is missing from the farmer's metrics for "
                f"{duration(inputs.now_us - farm.last_seen_us)}"
            )
        if farm.in_latest_run is None and farm.in_latest_scrape is None:
            continue
        out.append(
            Condition(
                Rule.FARM_MISSING,
                farm.farm_id,
                bool(reasons),
                Severity.ERROR,
                f"Farm {farm_name(farm)} disappeared",
                ("; ".join(reasons) + ". Check the drive and the farmer's --farm arguments.")
                if reasons
                else "",
            )
        )
    return out


def plotting_stalled(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    limit = settings.plotting_stall_minutes * MINUTE_US
    out: list[Condition] = []
    for farm in inputs.farms:
        if farm.plot_updated_us is None or farm.plot_percent is None:
            continue
        remaining = (
            farm.sectors_remaining > 0
            if farm.sectors_remaining is not None
            else farm.plot_percent < 100.0
        )
        idle_for = inputs.now_us - max(farm.plot_updated_us, inputs.watch_start_us or 0)
        active = not farm.plot_complete and remaining and idle_for >= limit
        kind = farm.plot_kind or "plotting"
        sectors = f", {farm.sectors_remaining} sectors remain" if farm.sectors_remaining else ""
        out.append(
            Condition(
                Rule.PLOTTING_STALLED,
                farm.farm_id,
                active,
                Severity.WARNING,
                f"{kind.capitalize()} stalled on farm {farm_name(farm)}",
                f"Stuck at {farm.plot_percent:.2f}% for {duration(idle_for)}{sectors}.",
            )
        )
    return out


# --- rewards --------------------------------------------------------------------------------


def _missed(
    inputs: AlertInputs, settings: AlertsSettings, subject: str, misses: Iterable[Miss], title: str
) -> Condition:
    window = settings.missed_rewards_window_minutes * MINUTE_US
    recent = [m for m in misses if m.ts_us >= inputs.now_us - window]
    counts = Counter(m.kind for m in recent)
    parts = [f"{n} {MISS_NAMES[kind]}" for kind, n in sorted(counts.items())]
    last = recent[-1] if recent else None
    detail = f"In the last {duration(window)}: " + ", ".join(parts) if parts else ""
    if last is not None and last.detail:
        detail += f". Last: {last.detail}"
    return Condition(
        Rule.MISSED_REWARDS,
        subject,
        len(recent) >= settings.missed_rewards_min,
        Severity.WARNING,
        title,
        detail,
    )


def missed_rewards(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out = [
        _missed(
            inputs, settings, farm.farm_id, farm.misses, f"Missed rewards on farm {farm_name(farm)}"
        )
        for farm in inputs.farms
    ]
    # The node's own: a vote it could not submit, a reward signature it rejected (no farm).
    out.extend(
        _missed(
            inputs, settings, source.key, source.misses, f"Missed rewards at the node {source.key}"
        )
        for source in inputs.signals
        if source.role == "node"
    )
    return out


def farm_prove_failed(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """``Failed to prove``: a reward lost and the sector unreadable; the disk is suspect."""
    since = inputs.now_us - settings.missed_rewards_window_minutes * MINUTE_US
    out: list[Condition] = []
    for farm in inputs.farms:
        failed = [m for m in farm.misses if m.kind is MissKind.PROVE_FAILED and m.ts_us >= since]
        detail = ""
        if failed:
            detail = (
                f"{len(failed)} failed proof(s) in the last "
                f"{duration(settings.missed_rewards_window_minutes * MINUTE_US)}: the farmer could "
                "not read its sector and schedules it for replotting. Check the disk (SMART, "
                "dmesg)."
            )
            if failed[-1].detail:
                detail += f" Last: {failed[-1].detail}"
        out.append(
            Condition(
                Rule.FARM_PROVE_FAILED,
                farm.farm_id,
                bool(failed),
                Severity.ERROR,
                f"Failed to prove on farm {farm_name(farm)}: a reward lost, the disk is suspect",
                detail,
            )
        )
    return out


def farm_creation_failed(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out: list[Condition] = []
    for source in inputs.signals:
        if source.role != "farmer":
            continue
        failed = {f.farm_index: f for f in source.creation_failures}
        for index, failure in failed.items():
            where = failure.directory or "its directory (not known from earlier runs)"
            out.append(
                Condition(
                    Rule.FARM_CREATION_FAILED,
                    f"{source.key}#{index}",
                    failure.current,
                    Severity.ERROR,
                    f"Farm {index} could not start ({source.key})",
                    f"Farm {index} at {where} failed to start: {failure.error}",
                )
            )
    return out


def piece_cache_sync_slow(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    limit = settings.piece_cache_sync_minutes * MINUTE_US
    out: list[Condition] = []
    for source in inputs.signals:
        if source.role != "farmer":
            continue
        since = source.cache_catchup_since_us
        lasting = 0 if since is None else inputs.now_us - max(since, inputs.watch_start_us or 0)
        out.append(
            Condition(
                Rule.PIECE_CACHE_SYNC_SLOW,
                source.key,
                since is not None and lasting >= limit,
                Severity.WARNING,
                f"Piece cache still syncing to the latest history size ({source.key})",
                f"Syncing for {duration(lasting)} (limit {duration(limit)}); farming can pause "
                "until it finishes. Check the farmer's network and the node.",
            )
        )
    return out


def node_slow_blocks(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out: list[Condition] = []
    for source in inputs.signals:
        if source.role != "node":
            continue
        n = source.slow_blocks_last_hour
        worst = (
            f", the slowest took {source.slowest_block_ms} ms" if source.slowest_block_ms else ""
        )
        out.append(
            Condition(
                Rule.NODE_SLOW_BLOCKS,
                source.key,
                n > settings.slow_blocks_per_hour,
                Severity.WARNING,
                f"Node executes blocks slowly ({source.key})",
                f"{n} slow block executions in the last hour "
                f"(limit {settings.slow_blocks_per_hour}){worst}. "
                "The node's disk or CPU is too slow.",
            )
        )
    return out


def dsn_low_peers(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    out: list[Condition] = []
    for source in inputs.signals:
        if source.dsn_connected is None:
            continue  # no recent DSN line: nothing to judge
        out.append(
            Condition(
                Rule.DSN_LOW_PEERS,
                source.key,
                source.dsn_connected < settings.dsn_min_peers,
                Severity.WARNING,
                f"The {source.role} uses only {source.dsn_connected} DSN peers ({source.key})",
                f"Actively using {source.dsn_connected} of {source.dsn_known} known DSN peers, "
                f"fewer than {settings.dsn_min_peers}. Check the P2P ports and firewall.",
            )
        )
    return out


def plotting_errors(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    since = inputs.now_us - settings.plotting_errors_window_minutes * MINUTE_US
    out: list[Condition] = []
    for farm in inputs.farms:
        readings = [total for ts, total in farm.plotting_error_totals if ts >= since]
        if not readings:
            continue
        rise = counter_increase(readings)
        out.append(
            Condition(
                Rule.PLOTTING_ERRORS,
                farm.farm_id,
                rise >= settings.plotting_errors_min,
                Severity.WARNING,
                f"Sectors failing to plot on farm {farm_name(farm)}",
                f"{rise} sector(s) failed to plot in the last "
                f"{duration(settings.plotting_errors_window_minutes * MINUTE_US)} "
                "(farm_sector_plotting_error_counter).",
            )
        )
    return out


def reward_rate_per_us(
    reward_times_us: Iterable[int], first_seen_us: int, now_us: int, lookback_us: float
) -> tuple[int, float]:
    """(rewards counted, observed span in µs) over the look-back window."""
    start = max(now_us - lookback_us, first_seen_us)
    count = sum(1 for t in reward_times_us if t >= start)
    return count, max(1.0, now_us - start)


def no_reward(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """No reward for longer than the farm's own rate makes likely.

    Wins are a Poisson process: the chance of no win for ``t`` at rate ``r`` is ``exp(-r t)``;
    alert when that falls below ``1 - no_reward_confidence``. The rate is the farm's own over
    the look-back; a farm with too few wins of its own gets its farmer's rate times its share
    of the farmer's space. Without enough evidence, no verdict (no false alarm).
    """
    lookback = settings.reward_lookback_days * 86400 * US
    need = settings.no_reward_min_rewards
    factor = -math.log(1.0 - settings.no_reward_confidence)
    space: Counter[str] = Counter()
    farmer_start: dict[str, int] = {}
    for farm in inputs.farms:
        space[farm.farmer] += farm.allocated_bytes or 0
        farmer_start[farm.farmer] = min(
            farmer_start.get(farm.farmer, farm.first_seen_us), farm.first_seen_us
        )
    out: list[Condition] = []
    for farm in inputs.farms:
        if farm.log_lag_us is not None and farm.log_lag_us > BACKFILL_LAG_US:
            # Its log is still being caught up: the wins since then are not read yet.
            continue
        count, span = reward_rate_per_us(
            farm.reward_times_us, farm.first_seen_us, inputs.now_us, lookback
        )
        basis = "its own recent rate"
        if count >= need:
            rate = count / span
        else:
            f_count, f_span = reward_rate_per_us(
                inputs.farmer_rewards_us.get(farm.farmer, ()),
                farmer_start.get(farm.farmer, farm.first_seen_us),
                inputs.now_us,
                lookback,
            )
            share = (farm.allocated_bytes or 0) / space[farm.farmer] if space[farm.farmer] else 0
            if f_count < need or share <= 0:
                continue
            rate = f_count / f_span * share
            basis = f"its {share:.0%} share of the farmer's space"
        expected_gap = factor / rate
        last = max(farm.reward_times_us, default=None)
        since = last if last is not None else max(inputs.now_us - lookback, farm.first_seen_us)
        gap = inputs.now_us - since
        out.append(
            Condition(
                Rule.NO_REWARD,
                farm.farm_id,
                gap > expected_gap,
                Severity.WARNING,
                f"No reward from farm {farm_name(farm)} for {duration(gap)}",
                f"Expected about one every {duration(1 / rate)} from {basis}; a gap this long "
                f"happens by chance less than {1 - settings.no_reward_confidence:.1%} of the time.",
            )
        )
    return out


# --- wallets --------------------------------------------------------------------------------


def _unexplained_drops(wallet: WalletState, tolerance: int, since_us: int) -> list[tuple[int, int]]:
    """(time, amount) of balance drops that the known movements do not explain.

    Only balances read at settled, processed blocks are compared, against every movement in
    the blocks between them (transfers, rewards, fees, XDM, staking, other deposits and
    withdrawals), so a movement seen late or a balance read at another height cannot look like
    money gone. A pair spanning blocks never scanned is not judged.
    """
    readings = [r for r in wallet.readings if r.block is not None]
    drops: list[tuple[int, int]] = []
    for before, after in itertools.pairwise(readings):
        lo, hi = before.block or 0, after.block or 0
        if after.ts_us < since_us or hi <= lo:
            continue
        if any(first <= hi and last > lo for first, last in wallet.gaps):
            continue
        moved = sum(
            -t.amount if t.outgoing else t.amount
            for t in wallet.transfers
            if t.block is not None and lo < t.block <= hi
        )
        moved += sum(f.amount for f in wallet.flows if lo < f.block <= hi)
        missing = before.total + moved - after.total
        if missing > tolerance:
            drops.append((after.ts_us, missing))
    return drops


def balance_drop(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    tolerance = int(settings.balance_drop_tolerance_ai3 * AI3)
    out: list[Condition] = []
    for wallet in inputs.wallets:
        # Fewer than two readings in the window: no drop seen, which clears an old one.
        drops = _unexplained_drops(wallet, tolerance, inputs.now_us - BALANCE_WINDOW_US)
        total = sum(amount for _, amount in drops)
        out.append(
            Condition(
                Rule.BALANCE_DROP,
                wallet.address,
                bool(drops),
                Severity.ERROR,
                f"Balance of {wallet.label} dropped without a known transfer",
                f"{ai3(total)} left {wallet.address} that no transfer, fee, reward, XDM or "
                "staking movement on record explains (a slash, or someone else holding the "
                "key). Check it on the explorer.",
            )
        )
    return out


def large_transfer_out(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    threshold = int(settings.large_transfer_out_ai3 * AI3)
    out: list[Condition] = []
    for wallet in inputs.wallets:
        for transfer in wallet.transfers:
            # One told by the wallet collector is not told twice.
            if not transfer.outgoing or transfer.amount < threshold or transfer.announced:
                continue
            out.append(
                Condition(
                    Rule.LARGE_TRANSFER_OUT,
                    f"{wallet.address}:{transfer.ref or transfer.ts_us}",
                    inputs.now_us - transfer.ts_us <= LARGE_TRANSFER_WINDOW_US,
                    Severity.WARNING,
                    f"Large transfer out of {wallet.label}: {ai3(transfer.amount)}",
                    f"{ai3(transfer.amount)} sent from {wallet.address}"
                    + (f" to {transfer.counterparty}" if transfer.counterparty else "")
                    + ". If you did not send it, move what is left now.",
                )
            )
    return out


def low_balance(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """A wallet whose free balance fell below its own threshold (set per wallet; off unset)."""
    out: list[Condition] = []
    for wallet in inputs.wallets:
        if wallet.low_balance is None or wallet.free is None:
            continue
        out.append(
            Condition(
                Rule.LOW_BALANCE,
                wallet.address,
                wallet.free < wallet.low_balance,
                Severity.WARNING,
                f"Balance of {wallet.label} is low: {ai3(wallet.free)}",
                f"The free balance of {wallet.address} is {ai3(wallet.free)}, below the "
                f"{ai3(wallet.low_balance)} set for it. Top it up before fees fail.",
            )
        )
    return out


def operator_incident(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """A slash or an offline report of an operator a wallet runs: told once, then history."""
    out: list[Condition] = []
    for wallet in inputs.wallets:
        for incident in wallet.incidents:
            slashed = incident.kind is IncidentKind.SLASHED
            when = incident.timestamp_us if incident.timestamp_us is not None else inputs.now_us
            out.append(
                Condition(
                    Rule.OPERATOR_INCIDENT,
                    f"{wallet.address}:{incident.block_hash}:{incident.event_index}",
                    inputs.now_us - when <= BALANCE_WINDOW_US,
                    Severity.ERROR if slashed else Severity.WARNING,
                    f"Operator {incident.operator_id} of {wallet.label} "
                    + ("was slashed" if slashed else "was marked offline"),
                    f"Domains.Operator{'Slashed' if slashed else 'Offline'} at block "
                    f"#{incident.block_number}"
                    + (f": {incident.detail}" if incident.detail else "")
                    + ". Check the operator node.",
                )
            )
    return out


RULES: dict[Rule, Callable[[AlertInputs, AlertsSettings], list[Condition]]] = {
    Rule.ENDPOINT_DOWN: endpoint_down,
    Rule.LOGS_SILENT: logs_silent,
    Rule.NODE_NOT_SYNCED: node_not_synced,
    Rule.NODE_LOW_PEERS: node_low_peers,
    Rule.FARM_ERROR: farm_error,
    Rule.FARM_MISSING: farm_missing,
    Rule.PLOTTING_STALLED: plotting_stalled,
    Rule.MISSED_REWARDS: missed_rewards,
    Rule.NO_REWARD: no_reward,
    Rule.BALANCE_DROP: balance_drop,
    Rule.LARGE_TRANSFER_OUT: large_transfer_out,
    Rule.LOW_BALANCE: low_balance,
    Rule.OPERATOR_INCIDENT: operator_incident,
    Rule.FARM_PROVE_FAILED: farm_prove_failed,
    Rule.FARM_CREATION_FAILED: farm_creation_failed,
    Rule.PIECE_CACHE_SYNC_SLOW: piece_cache_sync_slow,
    Rule.NODE_SLOW_BLOCKS: node_slow_blocks,
    Rule.DSN_LOW_PEERS: dsn_low_peers,
    Rule.PLOTTING_ERRORS: plotting_errors,
    Rule.PLOTTER_TIMEOUT: plotter_timeout,
    Rule.CLUSTER_FARM_EXPIRED: cluster_farm_expired,
    Rule.CLUSTER_CACHE_EXPIRED: cluster_cache_expired,
}


def evaluate(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """Every rule's conditions for this snapshot."""
    conditions: list[Condition] = []
    for rule in RULES.values():
        conditions.extend(rule(inputs, settings))
    return conditions
