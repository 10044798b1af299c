"""Seeding the other areas' tables for alert tests: their store functions where they exist,
else plain SQL on the columns their migrations define."""

from __future__ import annotations

import json

from collectors.models.metrics import (
    FarmerSnapshot,
    FarmMetrics,
    FarmState,
    Histogram,
    MetricsLayout,
    NodeSnapshot,
    ProvingOutcome,
    TargetKind,
)
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore, TargetRef

FARM_A = "01JC6R9K8Q3X2V7N5M4T0B1YZD"
FARM_B = "01JC6R9K9F4W3Y8P6N5V1C2ZAE"
FARM_C = "01JD2Q7H5M8R3T6W9Y0A2B4CEF"
NODE_TARGET = TargetRef(
    "node:http://127.0.0.1:9615/metrics",
    TargetKind.NODE,
    "node",
    "local",
    "http://127.0.0.1:9615/metrics",
)
FARMER_TARGET = TargetRef(
    "farmer:http://127.0.0.1:9081/metrics",
    TargetKind.FARMER,
    "farmer",
    "local",
    "http://127.0.0.1:9081/metrics",
)


class Seed:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.metrics = MetricsStore(db)
        self._line = 0

    async def farmer(self, name: str, now_us: int) -> int:
        return (await FarmerStore(self.db).ensure_primary(name, now_us)).id

    async def source(self, key: str, role: str, farmer_id: int | None, now_us: int) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO log_sources (key, role, farmer_id, updated_us) VALUES (?, ?, ?, ?)",
                (key, role, farmer_id, now_us),
            )
            return int(cur.lastrowid or 0)

    async def farm(
        self, farm_id: str, farmer_id: int, first_seen_us: int, allocated: int | None = None
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO farms (farm_id, farmer_id, allocated_bytes, first_seen_us,"
                " last_seen_us) VALUES (?, ?, ?, ?, ?)",
                (farm_id, farmer_id, allocated, first_seen_us, first_seen_us),
            )

    async def event(
        self, source_id: int, ts_us: int, kind: str, farm_id: str | None, **data: object
    ) -> None:
        self._line += 1
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO events (source_id, ts_us, kind, farm_id, line_hash, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (source_id, ts_us, kind, farm_id, self._line, json.dumps(data)),
            )

    async def reward(
        self,
        source_id: int,
        farmer_id: int,
        farm_id: str,
        ts_us: int,
        *,
        outcome: str = "signed",
        detail: str | None = None,
    ) -> None:
        self._line += 1
        reward_hash = f"0x{self._line:064x}" if outcome == "signed" else None
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, reward_hash,"
                " detail, line_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source_id, farmer_id, farm_id, ts_us, outcome, reward_hash, detail, self._line),
            )

    async def plot(self, farm_id: str, kind: str, percent: float, ts_us: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT OR REPLACE INTO plots (farm_id, kind, percent, ts_us) VALUES (?, ?, ?, ?)",
                (farm_id, kind, percent, ts_us),
            )

    async def farm_run(self, source_id: int, run_start_us: int, farm_ids: list[str]) -> None:
        async with self.db.transaction() as conn:
            for index, farm_id in enumerate(farm_ids):
                await conn.execute(
                    "INSERT INTO farm_index_map (source_id, run_start_us, farm_index, farm_id,"
                    " seen_us) VALUES (?, ?, ?, ?, ?)",
                    (source_id, run_start_us, index, farm_id, run_start_us),
                )

    async def node_scrape(
        self, now_us: int, *, best: int, target: int, peers: int, syncing: bool = False
    ) -> None:
        snapshot = NodeSnapshot(best, best - 100, target, peers, syncing, "0.1", "node", "main")
        await self.metrics.record_node_scrape(NODE_TARGET, snapshot, now_us)

    async def farmer_scrape(
        self,
        now_us: int,
        farmer_id: int,
        farms: dict[str, tuple[int, int]],
        farming_errors: float = 0.0,
        proving: tuple[tuple[ProvingOutcome, float], ...] = (),
    ) -> None:
        """``farms``: farm id -> (sectors plotted, sectors not plotted); ``proving``: counts
        of proving outcomes so far (the same for every farm)."""
        histograms = tuple(
            (outcome, Histogram(((float("inf"), count),), 0.0, count)) for outcome, count in proving
        )
        metrics = tuple(
            FarmMetrics(
                farm_id=f,
                sectors_plotted=p,
                sectors_not_plotted=n,
                farming_errors=farming_errors,
                proving=histograms,
            )
            for f, (p, n) in farms.items()
        )
        states = [
            FarmState(
                farm_id=m.farm_id,
                farmer_id=farmer_id,
                target_key=FARMER_TARGET.key,
                ts_us=now_us,
                active=True,
                sectors_plotted=m.sectors_plotted,
                sectors_not_plotted=m.sectors_not_plotted,
                sectors_about_to_expire=0,
                sectors_expired=0,
                sectors_plotted_counter=None,
                plot_rate_per_hour=None,
                plotting_eta_seconds=None,
                auditing_count=0.0,
                auditing_mean_s=None,
                auditing_p99_s=None,
                proving_mean_s=None,
                proving_p99_s=None,
                proving_success=m.proving_count(ProvingOutcome.SUCCESS),
                proving_timeout=m.proving_count(ProvingOutcome.TIMEOUT),
                proving_rejected=m.proving_count(ProvingOutcome.REJECTED),
                proving_failed=m.proving_count(ProvingOutcome.FAILED),
                farming_errors=farming_errors,
                skipped_slots=0.0,
            )
            for m in metrics
        ]
        await self.metrics.record_farmer_scrape(
            FARMER_TARGET,
            farmer_id,
            FarmerSnapshot(MetricsLayout.CURRENT, metrics),
            states,
            now_us,
        )
