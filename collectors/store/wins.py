"""Wins from farmer logs in the outbox: announced when signed, edited when the chain tells.

Every function runs inside the caller's transaction, beside the rows it is about (the log
batch, the chain block, the reorg rewind), so a win is announced, credited or corrected
exactly once, across restarts.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from collectors.models.chain import RewardKind
from collectors.models.events import RewardOutcome, RewardRecord
from collectors.store.outbox import edit_in, enqueue_in
from collectors.wins import (
    Credit,
    SignedWin,
    credit_undone,
    credited,
    not_credited,
    signed_notification,
    wallet_name,
    win_key,
)

SIGNED = RewardOutcome.SIGNED.value
# A signed line older than this when read is history (a backfill), not news.
FRESH_US = 120 * 1_000_000
# A chain reward this near a signed line was (most likely) that win; the wallet collector's
# ``reward_link_seconds`` by default.
LINK_WINDOW_US = 30 * 1_000_000
# How far back the "not credited" check looks.
SETTLE_LOOKBACK_US = 24 * 3_600 * 1_000_000


async def announce_signed_in(
    conn: aiosqlite.Connection,
    farmer_id: int | None,
    rewards: Iterable[RewardRecord],
    now_us: int,
    link_window_us: int = LINK_WINDOW_US,
) -> int:
    """Announce the fresh signed rewards of a log batch just stored; returns how many."""
    announced = 0
    for r in rewards:
        if r.outcome is not RewardOutcome.SIGNED or not r.reward_hash:
            continue
        if now_us - r.ts_us > FRESH_US:
            continue
        win = await _win(conn, r.reward_hash, farmer_id)
        if win is None or await _already_credited_unlinked(conn, farmer_id, win, link_window_us):
            continue
        if await enqueue_in(conn, signed_notification(win), now_us):
            announced += 1
    return announced


async def _win(
    conn: aiosqlite.Connection, reward_hash: str, farmer_id: int | None
) -> SignedWin | None:
    async with conn.execute(
        "SELECT r.ts_us, r.farm_id, f.name, f.host, s.key AS source,"
        " EXISTS (SELECT 1 FROM wallets w WHERE w.farmer_id = r.farmer_id) AS watched"
        " FROM rewards r LEFT JOIN farmer f ON f.id = COALESCE(r.farmer_id, ?)"
        " LEFT JOIN log_sources s ON s.id = r.source_id"
        " WHERE r.reward_hash = ? AND r.outcome = ? ORDER BY r.id LIMIT 1",
        (farmer_id, reward_hash, SIGNED),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    host = _source_host(row["source"]) or row["host"]
    return SignedWin(
        reward_hash, row["ts_us"], row["farm_id"], row["name"], host, bool(row["watched"])
    )


def _source_host(key: str | None) -> str | None:
    """The host in a source key (``file:<host>:<path>``, ``docker:<host>:…``): where the line
    was written, which a farmer seen on several hosts does not tell."""
    parts = (key or "").split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] in ("file", "docker") else None


async def _already_credited_unlinked(
    conn: aiosqlite.Connection, farmer_id: int | None, win: SignedWin, window_us: int
) -> bool:
    """The chain reward was read (and announced) before this line arrived: no second message."""
    if farmer_id is None or not win.wallet_watched:
        return False
    async with conn.execute(
        "SELECT 1 FROM chain_rewards WHERE farmer_id = ? AND reward_log_id IS NULL"
        " AND kind != 'fees' AND ts_us BETWEEN ? AND ? LIMIT 1",
        (farmer_id, win.ts_us - window_us, win.ts_us + window_us),
    ) as cur:
        return await cur.fetchone() is not None


async def _win_of_reward(conn: aiosqlite.Connection, reward_log_id: int) -> SignedWin | None:
    async with conn.execute(
        "SELECT reward_hash, farmer_id FROM rewards WHERE id = ? AND outcome = ?",
        (reward_log_id, SIGNED),
    ) as cur:
        row = await cur.fetchone()
    if row is None or not row["reward_hash"]:
        return None
    return await _win(conn, row["reward_hash"], row["farmer_id"])


async def _announced(conn: aiosqlite.Connection, win: SignedWin) -> bool:
    async with conn.execute(
        "SELECT 1 FROM outbox WHERE dedupe_key = ? AND refers_to IS NULL",
        (win_key(win.reward_hash),),
    ) as cur:
        return await cur.fetchone() is not None


_CREDIT_SELECT = (
    "SELECT c.kind, c.amount, c.block_number, c.block_hash, c.event_index, c.address,"
    " c.reward_log_id, w.label FROM chain_rewards c LEFT JOIN wallets w ON w.address = c.address"
)


def _credit(row: aiosqlite.Row) -> Credit:
    return Credit(
        RewardKind(row["kind"]),
        int(row["amount"]),
        row["block_number"],
        wallet_name(row["label"], row["address"]),
    )


async def credit_in(
    conn: aiosqlite.Connection, block_hash: str, event_index: int, now_us: int
) -> bool:
    """A chain reward now linked to a signed line: edit that win's message with the amount.

    True when the win had been announced (the chain reward then needs no message of its own).
    """
    async with conn.execute(
        f"{_CREDIT_SELECT} WHERE c.block_hash = ? AND c.event_index = ?",
        (block_hash, event_index),
    ) as cur:
        row = await cur.fetchone()
    if row is None or row["reward_log_id"] is None or row["kind"] == RewardKind.FEES.value:
        return False
    win = await _win_of_reward(conn, row["reward_log_id"])
    if win is None or not await _announced(conn, win):
        return False
    credit = _credit(row)
    await conn.execute("DELETE FROM uncredited_wins WHERE reward_id = ?", (row["reward_log_id"],))
    tag = f"credit:{row['block_hash']}:{row['event_index']}"
    await edit_in(
        conn, win_key(win.reward_hash), credited(signed_notification(win), credit), now_us, tag
    )
    return True


async def uncredit_block_in(conn: aiosqlite.Connection, block_hash: str, now_us: int) -> int:
    """A reorg drops ``block_hash``: wins it credited say so (before its rows are deleted)."""
    async with conn.execute(
        f"{_CREDIT_SELECT} WHERE c.block_hash = ? AND c.reward_log_id IS NOT NULL",
        (block_hash,),
    ) as cur:
        rows = list(await cur.fetchall())
    undone = 0
    for row in rows:
        win = await _win_of_reward(conn, row["reward_log_id"])
        if win is None or not await _announced(conn, win):
            continue
        told = credited(signed_notification(win), _credit(row))
        key = win_key(win.reward_hash)
        if await edit_in(conn, key, credit_undone(told), now_us, f"reorg:{block_hash}"):
            undone += 1
    return undone


async def settle_uncredited_in(conn: aiosqlite.Connection, now_us: int, window_us: int) -> int:
    """Mark announced wins the chain never credited, once the chain was read past the window.

    Only for farmers whose wallet is watched (otherwise the chain cannot tell).
    """
    async with conn.execute("SELECT MAX(ts_us) FROM chain_blocks") as cur:
        row = await cur.fetchone()
    chain_read_to = row[0] if row and row[0] is not None else None
    if chain_read_to is None:
        return 0
    async with conn.execute(
        "SELECT r.id, r.farm_id, r.ts_us, r.reward_hash FROM rewards r"
        " JOIN outbox o ON o.dedupe_key = 'win:' || r.reward_hash AND o.refers_to IS NULL"
        " WHERE r.outcome = ? AND r.ts_us >= ? AND r.ts_us <= ? AND r.ts_us <= ?"
        " AND r.farmer_id IN (SELECT farmer_id FROM wallets WHERE farmer_id IS NOT NULL)"
        " AND NOT EXISTS (SELECT 1 FROM chain_rewards c WHERE c.reward_log_id = r.id)"
        " AND NOT EXISTS (SELECT 1 FROM uncredited_wins u WHERE u.reward_id = r.id)",
        (SIGNED, now_us - SETTLE_LOOKBACK_US, now_us - window_us, chain_read_to - window_us),
    ) as cur:
        rows = list(await cur.fetchall())
    for r in rows:
        await conn.execute(
            "INSERT OR IGNORE INTO uncredited_wins (reward_id, farm_id, ts_us, decided_us)"
            " VALUES (?, ?, ?, ?)",
            (r["id"], r["farm_id"], r["ts_us"], now_us),
        )
        win = await _win_of_reward(conn, r["id"])
        if win is not None:
            await edit_in(
                conn,
                win_key(win.reward_hash),
                not_credited(signed_notification(win), window_us / 1e6),
                now_us,
                f"uncredited:{now_us}",
            )
    return len(rows)
