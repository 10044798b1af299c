"""Wallets over RPC: follow the best head, read each settled block once, store and announce.

Two supervised loops share one :class:`~collectors.sources.chain.ChainClient`:

* blocks — every ``poll_seconds`` read the best block number, treat blocks ``settle_depth``
  below it as settled and process them in order by number (head polls skip heights; filling by
  number does not). Each block's parent hash must be the last processed block's hash; if not, a
  reorg happened: walk back to the fork point, delete what the abandoned blocks stored (and their
  unsent notifications) and continue on the new branch. Processed blocks are kept for that walk
  until the node's finalized head passes them and they are ``keep_blocks`` old. After downtime
  the follower resumes from the last processed block, at most ``lookback_blocks`` back; older
  blocks are stored as a gap.
  Blocks far behind the head (catch-up) and a new wallet's scan-back are stored, not announced.
* balances — every ``balance_poll_seconds`` one ``query_multi`` for all wallets at the hash of
  the settled head, stored with that block's number and hash, so a balance is only ever
  compared with the movements of the blocks it includes.

Rewards are linked to the wallet's farmer (``Wallet.farmer``) and, best effort, to the farm
whose "Successfully signed reward hash" log line is nearest in time to the block's timestamp
within ``reward_link_seconds`` (the log pipeline may store that line later; recent unlinked
rewards are retried on every balance poll).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from collectors.chain.amounts import to_planck
from collectors.chain.follow import (
    fork_point,
    is_live,
    plan_catch_up,
    scan_back_range,
    settled_target,
)
from collectors.clock import Clock
from collectors.format import ai3 as format_ai3
from collectors.format import short_address
from collectors.models.chain import (
    BalanceSnapshot,
    Direction,
    Gap,
    Movement,
    MovementKind,
    RewardKind,
    StoredReward,
    Transfer,
    WatchedWallet,
)
from collectors.models.notify import Notification, Severity, Topic
from collectors.parsing.chain import extract_activity
from collectors.runner import LoopStatus, run_forever
from collectors.settings import WalletsSettings
from collectors.sources.chain import ChainClient, ChainError
from collectors.store.farmers import FarmerStore
from collectors.store.wallets import WalletConfig, WalletStore

log = logging.getLogger(__name__)

_US = 1_000_000
_RELINK_WINDOW_US = 3_600 * _US
# Unfinalized blocks are kept for reorg walks, but never more than this many: a node whose
# finality is stuck must not grow the table without end. A week of 6 s blocks is a few MB of
# rows and far deeper than any reorg a live chain makes.
MAX_KEPT_BLOCKS = 100_800


@dataclass
class _ScanBack:
    wallet: WatchedWallet
    next_block: int
    last_block: int


class WalletCollector:
    """Implements :class:`collectors.service.Collector` for the configured wallets."""

    name = "wallets"

    def __init__(
        self,
        settings: WalletsSettings,
        *,
        store: WalletStore,
        chain: ChainClient,
        farmers: FarmerStore,
        clock: Clock,
        explorer_url: str,
        batch_blocks: int = 200,
        keep_blocks: int = 1_000,
        max_kept_blocks: int = MAX_KEPT_BLOCKS,
    ) -> None:
        self._settings = settings
        self._store = store
        self._chain = chain
        self._farmers = farmers
        self._clock = clock
        self._explorer = explorer_url.rstrip("/")
        self._batch = batch_blocks
        self._keep_blocks = max(keep_blocks, settings.settle_depth + 10)
        self._max_kept_blocks = max(max_kept_blocks, self._keep_blocks)
        self._finality_unread = False
        self._large_out = to_planck(settings.large_transfer_ai3)
        self._link_window_us = int(settings.reward_link_seconds * _US)
        self.status = LoopStatus("wallets: blocks")
        self.balance_status = LoopStatus("wallets: balances")
        self._wallets: list[WatchedWallet] = []
        self._watched: frozenset[str] = frozenset()
        self._labels: dict[str, str] = {}
        self._operators: dict[int, str] = {
            w.operator_id: w.address for w in settings.accounts if w.operator_id is not None
        }
        self._farmer_names: dict[int, str] = {}
        self._ready = False
        self._started = False
        self._scan_backs: list[_ScanBack] = []
        self._starts: list[tuple[int, str]] = []
        self._best: int | None = None
        self._last_progress_log = 0

    # --- Collector -------------------------------------------------------------------------

    async def run(self) -> None:
        s = self._settings
        try:
            await asyncio.gather(
                run_forever(
                    "wallets: blocks",
                    self.follow_once,
                    interval=s.poll_seconds,
                    status=self.status,
                    max_backoff=s.reconnect_max_seconds,
                ),
                run_forever(
                    "wallets: balances",
                    self.poll_balances,
                    interval=s.balance_poll_seconds,
                    status=self.balance_status,
                    max_backoff=s.reconnect_max_seconds,
                ),
            )
        finally:
            await self._chain.close()

    # --- setup -------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        if self._ready:
            return
        now = self._clock.now_us()
        configs: list[WalletConfig] = []
        for w in self._settings.accounts:
            farmer_id = None
            if w.farmer:
                farmer = await self._farmers.ensure(w.farmer, now)
                farmer_id = farmer.id
                self._farmer_names[farmer.id] = farmer.name
            low = to_planck(w.low_balance_ai3) if w.low_balance_ai3 is not None else None
            configs.append(
                WalletConfig(w.address, w.label, farmer_id, w.scan_back_blocks, low, w.operator_id)
            )
        self._wallets = await self._store.sync_wallets(configs, now)
        self._watched = frozenset(w.address for w in self._wallets)
        self._labels = {w.address: w.label for w in self._wallets}
        self._ready = True

    async def _start_wallets(self, target: int) -> None:
        """New wallets start at "now": the settled head (after it, if blocks were processed).

        Blocks the follower still has to catch up on are older than a new wallet's start, so
        they are scanned for the other wallets only; the wallet's own history comes from its
        scan-back, if asked for.
        """
        if self._started:
            return
        last = await self._store.last_block()
        start = target + 1 if last else target
        for w in self._wallets:
            if w.start_block is None:
                await self._store.start_wallets(
                    [w.address], start, scan_back_done=w.scan_back_blocks == 0
                )
        self._wallets = [w for w in await self._store.wallets() if w.address in self._watched]
        self._starts = sorted((w.start_block or 0, w.address) for w in self._wallets)
        for w in self._wallets:
            span = None
            if not w.scan_back_done and w.start_block is not None:
                span = scan_back_range(w.start_block, w.scan_back_blocks)
            if span is not None:
                self._scan_backs.append(_ScanBack(w, span[0], span[1]))
            elif not w.scan_back_done:
                await self._store.finish_scan_back(w.address)
        self._started = True

    # --- blocks ------------------------------------------------------------------------------

    async def follow_once(self) -> float | None:
        """Process up to one batch of settled blocks; 0 means "more to do, call again now"."""
        await self._prepare()
        best = await self._chain.best_number()
        self._best = best
        target = settled_target(best, self._settings.settle_depth)
        if target is None:
            return None
        await self._start_wallets(target)
        last = await self._store.last_block()
        plan = plan_catch_up(last.number if last else None, target, self._settings.lookback_blocks)
        expected_parent = last.hash if last else None
        if plan.gap is not None:
            await self._report_gap(*plan.gap)
            expected_parent = None
        # Nothing new to read: still watch the last processed block, so a reorg onto a branch
        # no longer than the old one is noticed (and its announced facts corrected) now.
        idle = last is not None and plan.start > plan.target and plan.gap is None
        if idle and last and await self._chain.canonical_hash(last.number) != last.hash:
            await self._walk_back(plan.target)
            return 0.0
        end = min(plan.target, plan.start + self._batch - 1)
        done = plan.start - 1
        for number in range(plan.start, end + 1):
            read = await self._chain.read_block(number)
            if read is None:  # the best chain got shorter since the head was read
                break
            if expected_parent is not None and read.block.parent_hash != expected_parent:
                await self._walk_back(plan.target)
                return 0.0
            activity = extract_activity(
                read.block, read.records, self._watched_at(number), self._operators
            )
            if activity.unreadable_events:
                log.warning(
                    "block %d: %d events could not be read", number, activity.unreadable_events
                )
            live = is_live(number, best, self._settings.announce_within_blocks)
            await self._store.record_block(
                activity,
                self._clock.now_us(),
                announce=self._announce if live else None,
                link_window_us=self._link_window_us,
            )
            expected_parent = read.block.hash
            done = number
        self._report_progress(done, plan.target, best)
        if done >= plan.start:
            await self._store.prune_blocks(await self._prune_below(done))
        if plan.start <= done < plan.target:
            return 0.0
        if await self._scan_back_step():
            return 0.0
        return None

    async def _prune_below(self, done: int) -> int:
        """Forget blocks below this: only those finalized and ``keep_blocks`` old (capped)."""
        below = done - self._keep_blocks
        try:
            finalized = await self._chain.finalized_number()
        except ChainError as exc:
            if not self._finality_unread:
                log.debug(
                    "wallets: finalized head not read (%s); keeping the last %d blocks only",
                    exc,
                    self._keep_blocks,
                )
                self._finality_unread = True
            return below
        self._finality_unread = False
        return max(min(below, finalized), done - self._max_kept_blocks)

    def _watched_at(self, number: int) -> frozenset[str]:
        if not self._starts or self._starts[-1][0] <= number:
            return self._watched
        return frozenset(address for start, address in self._starts if start <= number)

    async def _report_gap(self, first: int, last: int) -> None:
        gap = Gap(
            from_block=first,
            to_block=last,
            detected_us=self._clock.now_us(),
            reason=(
                f"cosmos was behind by more than the look-back of "
                f"{self._settings.lookback_blocks} blocks (COSMOS_WALLETS__LOOKBACK_BLOCKS)"
            ),
        )
        if await self._store.record_gap(gap):
            log.warning(
                "wallets: blocks #%d–#%d (%d blocks) were NOT scanned: %s; transfers and rewards "
                "in them are missing",
                first,
                last,
                gap.blocks,
                gap.reason,
            )

    async def _walk_back(self, target: int) -> None:
        """Find the highest processed block still on the best chain and forget those above it.

        Every block still stored is a candidate (those not yet finalized are all kept).
        """
        last = await self._store.last_block()
        if last is None:
            return
        stored: dict[int, str] = {}
        canonical: dict[int, str] = {}
        found: int | None = None
        for number in range(last.number, -1, -1):
            block = await self._store.block(number)
            if block is None:
                break
            stored[number] = block.hash
            node_hash = await self._chain.canonical_hash(number)
            if node_hash is not None:
                canonical[number] = node_hash
            found = fork_point(stored, canonical)
            if found is not None:
                break
        if found is None:
            # Deeper than every block kept: start afresh at the head and say what was lost.
            oldest = min(stored) if stored else last.number
            found = oldest - 1
            await self._store.record_gap(
                Gap(
                    from_block=oldest,
                    to_block=max(oldest, target - 1),
                    detected_us=self._clock.now_us(),
                    reason=f"chain reorganised deeper than the {len(stored)} blocks kept",
                )
            )
            log.error(
                "wallets: reorg deeper than the %d blocks kept; blocks #%d–#%d not rescanned",
                len(stored),
                oldest,
                max(oldest, target - 1),
            )
        rewind = await self._store.rewind_to(found, self._clock.now_us())
        log.warning(
            "wallets: chain reorganised; abandoned blocks %s (%d stored facts removed);"
            " continuing from #%d",
            ", ".join(f"#{n}" for n in rewind.blocks) or "none",
            len(rewind.removed),
            found + 1,
        )

    def _report_progress(self, number: int, target: int, best: int) -> None:
        behind = max(0, target - number)
        self.status.extra.update(
            {"best": best, "processed": number, "behind": behind, "catching_up": behind > 0}
        )
        # The first batch of a catch-up is logged at once, then every 1,000 blocks.
        since_logged = number - self._last_progress_log
        if behind > 0 and (not self._last_progress_log or since_logged >= 1_000):
            log.info("wallets: catching up: block #%d of #%d (%d to go)", number, target, behind)
            self._last_progress_log = number
        elif behind == 0 and self._last_progress_log:
            log.info("wallets: caught up at block #%d", number)
            self._last_progress_log = 0

    async def _scan_back_step(self) -> bool:
        """Scan one batch of a new wallet's requested history; True while some remain."""
        if not self._scan_backs:
            return False
        job = self._scan_backs[0]
        end = min(job.last_block, job.next_block + self._batch - 1)
        only = frozenset({job.wallet.address})
        for number in range(job.next_block, end + 1):
            read = await self._chain.read_block(number)
            if read is None:
                break
            operators = {k: v for k, v in self._operators.items() if v in only}
            activity = extract_activity(read.block, read.records, only, operators)
            await self._store.record_block(
                activity,
                self._clock.now_us(),
                advance_cursor=False,
                announce=None,
                link_window_us=self._link_window_us,
            )
            job.next_block = number + 1
        if job.next_block > job.last_block:
            await self._store.finish_scan_back(job.wallet.address)
            log.info("wallets: scanned %s back to block #%d", job.wallet.label, job.last_block)
            self._scan_backs.pop(0)
        return bool(self._scan_backs)

    # --- balances ----------------------------------------------------------------------------

    async def poll_balances(self) -> None:
        await self._prepare()
        if not self._wallets:
            return
        read = await self._chain.settled_balances(
            [w.address for w in self._wallets], self._settings.settle_depth
        )
        if read is None:
            return
        number, block_hash, balances = read
        now = self._clock.now_us()
        snapshots = [
            BalanceSnapshot(b.address, now, number, b.free, b.reserved, b.frozen, block_hash)
            for b in balances
        ]
        history_every = int(self._settings.balance_history_minutes * 60 * _US)
        await self._store.record_balances(snapshots, history_every)
        await self._store.link_pending_farms(now - _RELINK_WINDOW_US, self._link_window_us, now)
        await self._store.settle_wins(now, self._link_window_us)

    # --- notifications -----------------------------------------------------------------------

    def _announce(self, fact: Transfer | StoredReward | Movement) -> Notification | None:
        if isinstance(fact, Transfer):
            return transfer_notification(
                fact, self._labels, self._explorer, large_out_planck=self._large_out
            )
        if isinstance(fact, Movement):
            return movement_notification(
                fact, self._labels, self._explorer, large_out_planck=self._large_out
            )
        return reward_notification(fact, self._labels, self._farmer_names, self._explorer)


def _name(address: str, labels: dict[str, str]) -> str:
    return f"{labels[address]} ({short_address(address)})" if address in labels else address


def block_url(explorer: str, number: int) -> str:
    return f"{explorer}/block/{number}"


def transfer_notification(
    t: Transfer, labels: dict[str, str], explorer: str, *, large_out_planck: int
) -> Notification:
    amount = format_ai3(t.amount)
    label = labels.get(t.address, short_address(t.address))
    if t.direction is Direction.IN:
        title = f"{label} received {amount}"
        severity = Severity.SUCCESS
        party = ("From", _name(t.counterparty, labels))
    else:
        title = f"{label} sent {amount}"
        severity = Severity.WARNING if t.amount >= large_out_planck else Severity.INFO
        party = ("To", _name(t.counterparty, labels))
    url = (
        f"{explorer}/extrinsic/{t.block_number}-{t.extrinsic_index}"
        if t.extrinsic_index is not None
        else block_url(explorer, t.block_number)
    )
    body = "A large transfer out." if severity is Severity.WARNING else ""
    return Notification(
        dedupe_key=t.dedupe_key,
        topic=Topic.TRANSFERS,
        severity=severity,
        title=title,
        body=body,
        fields=(
            ("Amount", amount),
            party,
            ("Wallet", _name(t.address, labels)),
            ("Block", f"#{t.block_number}"),
        ),
        url=url,
        occurred_us=t.timestamp_us,
    )


# How a movement is told: (received, sent) wording; fees paid are stored, not told.
_MOVEMENT_WORDS: dict[MovementKind, tuple[str, str]] = {
    MovementKind.XDM_IN: ("received {amount} from another domain (XDM)", ""),
    MovementKind.XDM_OUT: ("", "sent {amount} to another domain (XDM)"),
    MovementKind.STAKING: ("got {amount} back from staking", "staked {amount}"),
    MovementKind.OTHER: ("was credited {amount}", "was debited {amount}"),
    MovementKind.OPERATOR_REWARD: ("operator earned {amount}", ""),
    MovementKind.OPERATOR_TAX: ("operator collected {amount} tax", ""),
}


def movement_notification(
    m: Movement, labels: dict[str, str], explorer: str, *, large_out_planck: int
) -> Notification | None:
    """A deposit or withdrawal that is not a transfer, told like one (fees are not told)."""
    words = _MOVEMENT_WORDS.get(m.kind)
    if words is None:
        return None
    amount = format_ai3(m.amount)
    label = labels.get(m.address, short_address(m.address))
    incoming = m.direction is Direction.IN
    wording = (words[0] if incoming else words[1]) or (
        "was credited {amount}" if incoming else "was debited {amount}"
    )
    if incoming:
        severity = Severity.SUCCESS
    else:
        severity = Severity.WARNING if m.amount >= large_out_planck else Severity.INFO
    fields: list[tuple[str, str]] = [
        ("Amount", amount),
        ("Kind", m.kind.value.replace("_", " ")),
        ("Wallet", _name(m.address, labels)),
        ("Block", f"#{m.block_number}"),
    ]
    if m.source:
        fields.append(("Event", m.source))
    if m.operator_id is not None:
        fields.append(("Operator", str(m.operator_id)))
    return Notification(
        dedupe_key=m.dedupe_key,
        topic=Topic.TRANSFERS,
        severity=severity,
        title=f"{label} {wording.format(amount=amount)}",
        fields=tuple(fields),
        url=block_url(explorer, m.block_number),
        occurred_us=m.timestamp_us,
    )


_KIND_TITLE = {RewardKind.BLOCK: "Block reward", RewardKind.VOTE: "Vote reward"}


def reward_notification(
    stored: StoredReward,
    labels: dict[str, str],
    farmer_names: dict[int, str],
    explorer: str,
) -> Notification | None:
    """Block and vote rewards are announced; block fees are stored only (they ride along)."""
    r = stored.reward
    if r.kind not in _KIND_TITLE:
        return None
    amount = format_ai3(r.amount)
    label = labels.get(r.address, short_address(r.address))
    fields: list[tuple[str, str]] = [
        ("Amount", amount),
        ("Wallet", _name(r.address, labels)),
        ("Block", f"#{r.block_number}"),
    ]
    if stored.farmer_id is not None and stored.farmer_id in farmer_names:
        fields.append(("Farmer", farmer_names[stored.farmer_id]))
    if stored.farm_id:
        fields.append(("Farm", stored.farm_id))
    return Notification(
        dedupe_key=r.dedupe_key,
        topic=Topic.REWARDS,
        severity=Severity.SUCCESS,
        title=f"{_KIND_TITLE[r.kind]} {amount} — {label}",
        fields=tuple(fields),
        url=block_url(explorer, r.block_number),
        occurred_us=r.timestamp_us,
    )
