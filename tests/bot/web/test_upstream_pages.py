"""The farm and node pages show what today's upstream logs and metrics tell (the same read
models as /farm and /node): failed proofs, plotting time per stage, farm events."""

from __future__ import annotations

import aiohttp

from collectors.clock import FakeClock
from collectors.store.database import Database
from tests.bot.test_upstream_views import FARM_A, FARM_B, endpoints, loaded
from tests.bot.web.helpers import serving
from tests.collectors.test_metrics_collector import FakeEndpoints

__all__ = ["endpoints"]  # the fixture, used by name


async def test_farm_pages_show_stages_events_and_failed_proofs(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    views = await loaded(db, clock, endpoints)
    a = await views.farms.detail(FARM_A, clock.now_us())
    assert a is not None
    assert a.plotting_stages
    async with serving(db, clock) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/farms/{FARM_A}") as r:
            page_a = await r.text()
        async with session.get(f"{base}/farms/{FARM_B}") as r:
            page_b = await r.text()
    for name, mean in a.plotting_stages:
        assert f'<td>{name}</td><td class="num">{mean:.1f} s</td>' in page_a
    assert "stopped cleanly" in page_b
    assert "replotting of a sector retried" in page_b
    assert "prove failed" in page_b
    assert "1× failed proof in 24 h: check the disk" not in page_a
