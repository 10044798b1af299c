"""The log pipeline: lines from a source -> typed events -> rows, with the resume position.

For each source the ingestor keeps the parser state that gives lines their meaning: the farmer
run in progress and its ``farm_index -> farm_id`` map (rebuilt at every ``Farm N:`` block, reset
at every farmer start), the farm block being read, the last line's time. That state is stored
with every batch and reloaded on restart, so a batch is applied exactly once and a farm index
always resolves through the map of the run that wrote the line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from collectors.clock import Clock
from collectors.models.events import (
    EventKind,
    SourceCursor,
)
from collectors.models.logs import SourceLine, SourceRef
from collectors.plan import BatchPlan, Line, PlannedLines, plan_batch
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.logs import LogStore, StoredSource

__all__ = [
    "IngestStats",
    "Line",
    "LogIngestor",
    "PreparedBatch",
    "StaleBatchError",
    "plan_batch",
]

# Batches at least this long are planned on a worker thread so the event loop stays free.
_THREAD_THRESHOLD = 512


@dataclass(frozen=True, slots=True)
class IngestStats:
    """What one ``ingest`` call did. ``by_kind`` counts recognised lines per event kind."""

    lines: int
    matched: int
    unmatched: int
    by_kind: Mapping[EventKind, int] = field(default_factory=dict)
    events_written: int = 0
    rewards_written: int = 0
    unresolved_farm: int = 0  # farm lines whose index no farm block had named yet


class StaleBatchError(RuntimeError):
    """A prepared batch no longer follows what is stored (an earlier commit failed)."""


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A planned batch waiting for :meth:`LogIngestor.commit`."""

    source: SourceRef
    base: SourceCursor
    plan: BatchPlan
    lines: int
    now_us: int


class LogIngestor:
    """Applies batches of lines from any log source to the store, exactly once."""

    def __init__(self, db: Database, farmers: FarmerStore, clock: Clock) -> None:
        self._store = LogStore(db)
        self._farmers = farmers
        self._clock = clock
        self._sources: dict[str, StoredSource] = {}
        # The state after the last prepared (maybe not yet stored) batch, per source.
        self._planned: dict[str, SourceCursor] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def store(self) -> LogStore:
        return self._store

    async def _source(self, ref: SourceRef) -> StoredSource:
        known = self._sources.get(ref.key)
        if known is not None:
            return known
        now = self._clock.now_us()
        farmer_id: int | None = None
        if ref.farmer is not None:
            farmer_id = (await self._farmers.ensure(ref.farmer, now, ref.host)).id
        elif ref.role == "farmer":
            primary = [f for f in await self._farmers.all() if f.is_primary]
            farmer_id = primary[0].id if primary else None
        stored = await self._store.source(
            ref.key, ref.role, farmer_id, now, host=ref.host, cluster=ref.cluster
        )
        self._sources[ref.key] = stored
        return stored

    async def position(self, source: SourceRef) -> str | None:
        """Where the source stopped last time (the token of the last stored line), or None."""
        return (await self._source(source)).cursor.position

    async def forget_position(self, source: SourceRef) -> None:
        """The source will be read again from its beginning: reset its position and run state.

        Rows already stored stay; re-read lines are recognised by their unique keys.
        """
        async with self._locks.setdefault(source.key, asyncio.Lock()):
            stored = await self._source(source)
            await self._store.reset_cursor(stored, self._clock.now_us())
            self._sources.pop(source.key, None)
            self._planned.pop(source.key, None)

    async def ingest(self, source: SourceRef, lines: Sequence[SourceLine]) -> IngestStats:
        """Parse, resolve farms, and store a batch with its end position in one transaction."""
        if not lines:
            return IngestStats(0, 0, 0)
        return await self.ingest_lines(source, lines, lines[-1].position)

    async def ingest_lines(
        self, source: SourceRef, lines: Sequence[Line], position: str
    ) -> IngestStats:
        """:meth:`ingest` for lines that carry no position of their own (a backfill reading
        decoded lines straight from a file): ``position`` is the token after the last one."""
        if not lines:
            return IngestStats(0, 0, 0)
        async with self._locks.setdefault(source.key, asyncio.Lock()):
            self._planned.pop(source.key, None)
            prepared = await self._prepare(source, lines, position)
            return await self._commit(prepared)

    async def prepare(
        self, source: SourceRef, lines: Sequence[Line], position: str
    ) -> PreparedBatch:
        """Plan a batch on top of the last prepared one, without writing it.

        With :meth:`commit` this lets a backfill plan batch N+1 while batch N is being written
        (SQLite works outside the GIL, so the two overlap). One producer per source; commit the
        prepared batches in order. A failed commit invalidates the ones prepared after it.
        """
        return await self._prepare(source, lines, position)

    async def stored_cursor(self, source: SourceRef) -> SourceCursor:
        """What is stored for the source: the cursor a planning process starts on."""
        return (await self._source(source)).cursor

    def adopt(
        self, source: SourceRef, base: SourceCursor, planned: PlannedLines, now_us: int
    ) -> PreparedBatch:
        """A batch planned elsewhere on ``base``, ready for :meth:`commit` (which refuses it
        unless ``base`` is what is stored by then)."""
        return PreparedBatch(source, base, planned.plan, planned.lines, now_us)

    async def commit(self, prepared: PreparedBatch) -> IngestStats:
        """Store a prepared batch and its position in one transaction."""
        async with self._locks.setdefault(prepared.source.key, asyncio.Lock()):
            return await self._commit(prepared)

    async def _prepare(
        self, source: SourceRef, lines: Sequence[Line], position: str
    ) -> PreparedBatch:
        stored = await self._source(source)
        base = self._planned.get(source.key, stored.cursor)
        now = self._clock.now_us()
        if len(lines) >= _THREAD_THRESHOLD:
            plan = await asyncio.to_thread(plan_batch, base, lines, now, position)
        else:
            plan = plan_batch(base, lines, now, position)
        self._planned[source.key] = plan.batch.cursor
        return PreparedBatch(source, base, plan, len(lines), now)

    async def _commit(self, prepared: PreparedBatch) -> IngestStats:
        key = prepared.source.key
        stored = await self._source(prepared.source)
        if stored.cursor != prepared.base:
            self._planned.pop(key, None)
            raise StaleBatchError(
                f"{key}: a batch was planned on a state that was never stored; plan it again"
            )
        plan = prepared.plan
        try:
            written = await self._store.write(stored, plan.batch, prepared.now_us)
        except BaseException:
            self._planned.pop(key, None)
            raise
        # Only after the commit does the stored state move on.
        self._sources[key] = StoredSource(
            stored.id, stored.key, stored.role, stored.farmer_id, plan.batch.cursor
        )
        if self._planned.get(key) == plan.batch.cursor:
            self._planned.pop(key, None)
        return IngestStats(
            lines=prepared.lines,
            matched=plan.matched,
            unmatched=plan.unmatched,
            by_kind=plan.by_kind,
            events_written=written.events,
            rewards_written=written.rewards,
            unresolved_farm=plan.unresolved,
        )
