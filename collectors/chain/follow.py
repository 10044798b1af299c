"""Pure decisions of the block follower: what to scan, where a reorg forked, what to announce."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CatchUpPlan:
    """Scan ``start..target``; ``gap`` (inclusive) is skipped because it is beyond the look-back."""

    start: int
    target: int
    gap: tuple[int, int] | None

    @property
    def blocks(self) -> int:
        return max(0, self.target - self.start + 1)


def settled_target(best_number: int, settle_depth: int) -> int | None:
    """The highest block deep enough to be treated as settled, or None on a young chain."""
    target = best_number - settle_depth
    return target if target >= 0 else None


def plan_catch_up(last_processed: int | None, target: int, lookback: int) -> CatchUpPlan:
    """Resume after ``last_processed``; a first run starts at ``target`` ("now").

    More than ``lookback`` blocks behind, the oldest ones are reported as a gap rather than
    scanned, so a long downtime neither takes hours to catch up nor goes unnoticed.
    """
    if last_processed is None:
        return CatchUpPlan(target, target, None)
    start = last_processed + 1
    if target - start + 1 > lookback:
        resume = target - lookback + 1
        return CatchUpPlan(resume, target, (start, resume - 1))
    return CatchUpPlan(start, target, None)


def fork_point(stored: Mapping[int, str], canonical: Mapping[int, str]) -> int | None:
    """The highest block number whose stored hash is still on the canonical chain.

    ``canonical`` holds the node's current hash for some of the stored numbers (fetched from
    the top down); None means no stored block checked so far is canonical.
    """
    for number in sorted(stored, reverse=True):
        if number not in canonical:
            continue
        if canonical[number] == stored[number]:
            return number
    return None


def scan_back_range(start_block: int, scan_back: int) -> tuple[int, int] | None:
    """Blocks a new wallet asked to have scanned before it started being watched."""
    if scan_back <= 0 or start_block <= 0:
        return None
    return max(0, start_block - scan_back), start_block - 1


def is_live(block_number: int, best_number: int, announce_within: int) -> bool:
    """Blocks close to the head are announced; far catch-up history is stored quietly."""
    return best_number - block_number <= announce_within
