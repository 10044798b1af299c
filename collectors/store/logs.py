"""Log-derived SQL: sources and their cursors, events, rewards, farms, plots, node state.

A batch (:class:`LogBatch`) is written in one transaction together with the source's cursor,
so a crash leaves either all of a batch or none of it. Inserts are ``OR IGNORE`` on the
``(source, ts, line hash)`` keys: re-reading lines never duplicates a row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from collectors.models.events import (
    BatchWritten,
    FarmSummary,
    LogBatch,
    SourceCursor,
)
from collectors.models.logs import Role
from collectors.store.database import Database
from collectors.store.wins import announce_signed_in


@dataclass(frozen=True, slots=True)
class StoredSource:
    id: int
    key: str
    role: Role
    farmer_id: int | None
    cursor: SourceCursor


_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (source_id, ts_us, kind, farm_id, farm_index, line_hash, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_REWARD = (
    "INSERT OR IGNORE INTO rewards (source_id, farmer_id, farm_id, farm_index, ts_us, outcome,"
    " reward_hash, reward_key, slot, sector_index, detail, line_hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The batch's new signed rewards (rowids above the largest before it) into the per-farm counts.
_COUNT_SIGNED = """
INSERT INTO farm_reward_counts (farm_id, signed)
SELECT farm_id, count(*) FROM rewards
WHERE id > ? AND outcome = 'signed' AND farm_id IS NOT NULL GROUP BY farm_id
ON CONFLICT (farm_id) DO UPDATE SET signed = signed + excluded.signed
"""
# Only the log columns of farms are ours; the metrics side owns the others.
_UPSERT_FARM = """
INSERT INTO farms (farm_id, farmer_id, farm_index, public_key, genesis_hash, allocated_bytes,
                   allocated_text, directory, log_seen_us, first_seen_us, last_seen_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(farm_id) DO UPDATE SET
    farm_index = CASE WHEN excluded.farm_index IS NOT NULL
                       AND excluded.log_seen_us >= coalesce(farms.log_seen_us, 0)
                      THEN excluded.farm_index ELSE farms.farm_index END,
    log_seen_us = CASE WHEN excluded.farm_index IS NOT NULL
                        AND excluded.log_seen_us >= coalesce(farms.log_seen_us, 0)
                       THEN excluded.log_seen_us ELSE farms.log_seen_us END,
    public_key = coalesce(excluded.public_key, farms.public_key),
    genesis_hash = coalesce(excluded.genesis_hash, farms.genesis_hash),
    allocated_bytes = coalesce(excluded.allocated_bytes, farms.allocated_bytes),
    allocated_text = coalesce(excluded.allocated_text, farms.allocated_text),
    directory = coalesce(excluded.directory, farms.directory),
    first_seen_us = min(farms.first_seen_us, excluded.first_seen_us),
    last_seen_us = max(farms.last_seen_us, excluded.last_seen_us)
"""
_UPSERT_MAPPING = """
INSERT INTO farm_index_map (source_id, run_start_us, farm_index, farm_id, seen_us)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT(source_id, run_start_us, farm_index) DO UPDATE SET
    farm_id = excluded.farm_id, seen_us = excluded.seen_us
"""
_UPSERT_PLOT = """
INSERT INTO plots (farm_id, kind, percent, sector_index, ts_us, complete_us)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT(farm_id) DO UPDATE SET
    kind = excluded.kind, percent = excluded.percent, sector_index = excluded.sector_index,
    ts_us = excluded.ts_us, complete_us = excluded.complete_us
WHERE excluded.ts_us >= plots.ts_us
"""
_UPSERT_NODE = """
INSERT INTO node_state (source_id, ts_us, state, peers, best, finalized, target, bps,
                        imported_number, imported_hash, imported_us, version, version_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(source_id) DO UPDATE SET
    state = CASE WHEN excluded.ts_us >= coalesce(node_state.ts_us, 0)
                 THEN coalesce(excluded.state, node_state.state) ELSE node_state.state END,
    peers = CASE WHEN excluded.ts_us >= coalesce(node_state.ts_us, 0)
                 THEN coalesce(excluded.peers, node_state.peers) ELSE node_state.peers END,
    best = CASE WHEN excluded.ts_us >= coalesce(node_state.ts_us, 0)
                THEN coalesce(excluded.best, node_state.best) ELSE node_state.best END,
    finalized = CASE WHEN excluded.ts_us >= coalesce(node_state.ts_us, 0)
                     THEN coalesce(excluded.finalized, node_state.finalized)
                     ELSE node_state.finalized END,
    target = CASE WHEN excluded.ts_us >= coalesce(node_state.ts_us, 0)
                  THEN excluded.target ELSE node_state.target END,
    bps = CASE WHEN excluded.ts_us >= coalesce(node_state.ts_us, 0)
               THEN excluded.bps ELSE node_state.bps END,
    ts_us = max(coalesce(excluded.ts_us, 0), coalesce(node_state.ts_us, 0)),
    imported_number = CASE WHEN excluded.imported_us >= coalesce(node_state.imported_us, 0)
                           THEN excluded.imported_number ELSE node_state.imported_number END,
    imported_hash = CASE WHEN excluded.imported_us >= coalesce(node_state.imported_us, 0)
                         THEN excluded.imported_hash ELSE node_state.imported_hash END,
    imported_us = max(coalesce(excluded.imported_us, 0), coalesce(node_state.imported_us, 0)),
    version = CASE WHEN excluded.version_us >= coalesce(node_state.version_us, 0)
                   THEN excluded.version ELSE node_state.version END,
    version_us = max(coalesce(excluded.version_us, 0), coalesce(node_state.version_us, 0))
"""
_UPSERT_UNMATCHED = """
INSERT INTO unmatched_lines (source_id, day, count, sample) VALUES (?, ?, ?, ?)
ON CONFLICT(source_id, day) DO UPDATE SET
    count = unmatched_lines.count + excluded.count,
    sample = coalesce(unmatched_lines.sample, excluded.sample)
"""
_UPDATE_SOURCE = """
UPDATE log_sources SET position = ?, run_start_us = ?, header_index = ?, last_ts_us = ?,
    index_map = ?, pending_farms = ?, cache_percent = ?, cache_ts_us = ?,
    lines_total = lines_total + ?,
    updated_us = ?
WHERE id = ?
"""


def reward_key(reward_hash: str | None) -> int | None:
    """A 64-bit digest of a reward hash, as SQLite's signed INTEGER.

    Indexing this instead of the 66-character text makes inserting rewards about twice as fast.
    """
    if not reward_hash:
        return None
    digest = hashlib.blake2b(reward_hash.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LogStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def source(
        self,
        key: str,
        role: Role,
        farmer_id: int | None,
        now_us: int,
        *,
        host: str | None = None,
        cluster: str | None = None,
    ) -> StoredSource:
        """The source's row (created on first sight) with its cursor and current farm map."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO log_sources (key, role, farmer_id, updated_us, host, cluster)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET"
                " farmer_id = coalesce(excluded.farmer_id, log_sources.farmer_id),"
                " host = coalesce(excluded.host, log_sources.host),"
                " cluster = excluded.cluster",
                (key, role, farmer_id, now_us, host, cluster),
            )
            async with conn.execute(
                "SELECT id, role, farmer_id, position, run_start_us, header_index, last_ts_us,"
                " index_map, pending_farms, cache_percent, cache_ts_us FROM log_sources"
                " WHERE key = ?",
                (key,),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            mapping: tuple[tuple[int, str], ...] = ()
            if row["index_map"] is not None:
                mapping = tuple((int(i), str(f)) for i, f in json.loads(row["index_map"]))
            elif row["run_start_us"] is not None:  # stored before m0101: the run's map
                async with conn.execute(
                    "SELECT farm_index, farm_id FROM farm_index_map"
                    " WHERE source_id = ? AND run_start_us = ? ORDER BY farm_index",
                    (row["id"], row["run_start_us"]),
                ) as cur:
                    mapping = tuple((int(r[0]), str(r[1])) for r in await cur.fetchall())
        cursor = SourceCursor(
            position=row["position"],
            run_start_us=row["run_start_us"],
            header_index=row["header_index"],
            last_ts_us=row["last_ts_us"],
            index_map=mapping,
            cache_percent=row["cache_percent"],
            cache_ts_us=row["cache_ts_us"],
            pending=tuple(
                (int(i), int(t), int(h)) for i, t, h in json.loads(row["pending_farms"] or "[]")
            ),
        )
        return StoredSource(int(row["id"]), key, row["role"], row["farmer_id"], cursor)

    async def stored_role(self, key: str) -> Role | None:
        """The role a source was first stored with, or None for a source never seen."""
        async with self._db.conn.execute(
            "SELECT role FROM log_sources WHERE key = ?", (key,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def write(self, source: StoredSource, batch: LogBatch, now_us: int) -> BatchWritten:
        """Write a batch and the source's new cursor in one transaction."""
        sid = source.id
        farmer_id = source.farmer_id
        events = rewards = 0
        async with self._db.transaction() as conn:
            if batch.events:
                cur = await conn.executemany(
                    _INSERT_EVENT,
                    [
                        (sid, e.ts_us, e.kind.value, e.farm_id, e.farm_index, e.line_hash, e.data)
                        for e in batch.events
                    ],
                )
                events = max(cur.rowcount, 0)
            if batch.rewards:
                async with conn.execute("SELECT max(id) FROM rewards") as max_cur:
                    row = await max_cur.fetchone()
                last_id = (row[0] if row else None) or 0
                cur = await conn.executemany(
                    _INSERT_REWARD,
                    [
                        (
                            sid,
                            farmer_id,
                            r.farm_id,
                            r.farm_index,
                            r.ts_us,
                            r.outcome.value,
                            r.reward_hash,
                            reward_key(r.reward_hash),
                            r.slot,
                            r.sector_index,
                            r.detail,
                            r.line_hash,
                        )
                        for r in batch.rewards
                    ],
                )
                rewards = max(cur.rowcount, 0)
                if rewards:
                    await conn.execute(_COUNT_SIGNED, (last_id,))
                # Fresh signed wins are announced at once, in the transaction that stores them.
                await announce_signed_in(conn, farmer_id, batch.rewards, now_us)
            if batch.farms:
                await conn.executemany(
                    _UPSERT_FARM,
                    [
                        (
                            f.farm_id,
                            farmer_id,
                            f.farm_index,
                            f.public_key,
                            f.genesis_hash,
                            f.allocated_bytes,
                            f.allocated_text,
                            f.directory,
                            f.seen_us if f.index_seen_us is None else f.index_seen_us,
                            f.first_seen_us,
                            f.seen_us,
                        )
                        for f in batch.farms
                    ],
                )
            if batch.farm_fixes:
                await conn.executemany(
                    "UPDATE events SET farm_id = ?"
                    " WHERE source_id = ? AND ts_us = ? AND line_hash = ? AND farm_id IS NULL",
                    [(farm_id, sid, ts, h) for ts, h, farm_id in batch.farm_fixes],
                )
            if batch.mappings:
                await conn.executemany(
                    _UPSERT_MAPPING,
                    [
                        (sid, m.run_start_us, m.farm_index, m.farm_id, m.seen_us)
                        for m in batch.mappings
                    ],
                )
            if batch.plots:
                await conn.executemany(
                    _UPSERT_PLOT,
                    [
                        (
                            p.farm_id,
                            p.kind.value,
                            p.percent,
                            p.sector_index,
                            p.ts_us,
                            p.complete_us,
                        )
                        for p in batch.plots
                    ],
                )
            node = batch.node
            if node is not None:
                await conn.execute(
                    _UPSERT_NODE,
                    (
                        sid,
                        node.ts_us,
                        node.state.value if node.state is not None else None,
                        node.peers,
                        node.best,
                        node.finalized,
                        node.target,
                        node.bps,
                        node.imported_number,
                        node.imported_hash,
                        node.imported_us,
                        node.version,
                        node.version_us,
                    ),
                )
            if batch.unmatched:
                await conn.executemany(
                    _UPSERT_UNMATCHED,
                    [(sid, u.day, u.count, u.sample) for u in batch.unmatched],
                )
            c = batch.cursor
            await conn.execute(
                _UPDATE_SOURCE,
                (
                    c.position,
                    c.run_start_us,
                    c.header_index,
                    c.last_ts_us,
                    # Stored as it is: after a shutdown line the map outlives its run.
                    json.dumps(c.index_map),
                    json.dumps(c.pending),
                    c.cache_percent,
                    c.cache_ts_us,
                    batch.lines,
                    now_us,
                    sid,
                ),
            )
        return BatchWritten(events, rewards)

    async def reset_cursor(self, source: StoredSource, now_us: int) -> None:
        """Forget where a source was (it will be read again from its start); rows stay."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE log_sources SET position = NULL, run_start_us = NULL,"
                " header_index = NULL, last_ts_us = NULL, index_map = NULL, pending_farms = NULL,"
                " updated_us = ?"
                " WHERE id = ?",
                (now_us, source.id),
            )

    async def farms(self) -> list[FarmSummary]:
        """Farms known from the logs, with their signed reward counts (kept by triggers,
        m0100: counting them here took up to half a second at every restart)."""
        async with self._db.conn.execute(
            "SELECT f.farm_id, f.farm_index, f.directory, f.allocated_text, f.allocated_bytes,"
            " f.public_key, coalesce(c.signed, 0) AS signed"
            " FROM farms f LEFT JOIN farm_reward_counts c ON c.farm_id = f.farm_id"
            " ORDER BY f.farm_index IS NULL, f.farm_index, f.farm_id"
        ) as cur:
            rows = await cur.fetchall()
        return [
            FarmSummary(
                r["farm_id"],
                r["farm_index"],
                r["directory"],
                r["allocated_text"],
                r["allocated_bytes"],
                r["public_key"],
                int(r["signed"]),
            )
            for r in rows
        ]
