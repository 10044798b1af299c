"""Shared fixtures: a real SQLite file per test, the shared samples folder, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collectors.clock import FakeClock
from collectors.store.database import Database

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"
CHAIN = SHARED / "chain"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

needs_samples = pytest.mark.skipif(
    not (SAMPLES / "FORMATS.md").is_file(), reason="../shared/samples is absent in this clone"
)
needs_chain = pytest.mark.skipif(
    not (CHAIN / "chronos_genesis_metadata_v14.hex").is_file(),
    reason="../shared/chain is absent in this clone",
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "cosmos.db")
    await database.initialize()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _no_default_web_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that run cosmos must not all bind the web server's default port at once."""
    monkeypatch.setenv("COSMOS_WEB__PORT", "0")
