"""A restart between a farmer's shutdown line and its farms' last lines keeps their farm.

After ``Received Ctrl+C, shutting down farmer...`` the run is over but its index map still
names the farms of the lines that follow (``Farm exited successfully farm_index=N``). That map
was kept only in memory: stored, the cursor had no run, and a restart there lost it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.models.logs import LogLine, SourceRef
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from tests.collectors.test_ingest_golden import dump
from tests.conftest import FIXTURES

FARMER = SourceRef("file:local:farmer.log", "farmer")
AFTER_SHUTDOWN = [
    "2026-06-20T10:20:01.500000Z  INFO subspace_farmer::commands::farm: Farm exited successfully"
    " farm_index=1",
    "2026-06-20T10:20:01.600000Z  INFO subspace_farmer::commands::farm: Farm exited successfully"
    " farm_index=0",
]


def lines() -> list[LogLine]:
    texts = (FIXTURES / "logs" / "farmer-2026-06.log").read_text().splitlines() + AFTER_SHUTDOWN
    assert any("shutting down farmer" in t for t in texts[:-2])
    return [LogLine(text, str(n)) for n, text in enumerate(texts, 1)]


async def ingest(path: Path, part: list[LogLine], clock: FakeClock) -> None:
    db = Database(path)
    await db.initialize()
    farmers = FarmerStore(db)
    await farmers.ensure_primary("farmer-a", clock.now_us())
    await LogIngestor(db, farmers, clock).ingest(FARMER, part)
    await db.close()  # the process stops here


@pytest.mark.parametrize("split", range(1, len(lines())))
async def test_a_restart_anywhere_stores_what_one_pass_does(tmp_path: Path, split: int) -> None:
    clock = FakeClock()
    every = lines()
    await ingest(tmp_path / "whole.db", every, clock)
    await ingest(tmp_path / "parts.db", every[:split], clock)
    await ingest(tmp_path / "parts.db", every[split:], clock)
    assert dump(tmp_path / "parts.db") == dump(tmp_path / "whole.db")
