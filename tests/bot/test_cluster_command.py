"""/cluster through the real discord.py client and the fake Discord."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.models.logs import Role, SourceRef
from collectors.store.farmers import FarmerStore
from tests.bot.conftest import bot_settings, start_bot
from tests.bot.test_commands import text_of
from tests.collectors.cluster.helpers import CONTAINERS, log_lines
from tests.fakes.discord_api import FakeDiscord


async def test_cluster_command_shows_every_component(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 6, 20, 8, 30, tzinfo=UTC))
    running = await start_bot(bot_settings(tmp_path), clock)
    try:
        empty = text_of((await fake_discord.interact("cluster")).embeds)
        assert "No cluster component is configured" in empty
        db = running.services.db
        ingestor = LogIngestor(db, FarmerStore(db), clock)
        for name, (host, _) in CONTAINERS.items():
            role: Role = "farmer" if name.startswith("farmer") else name.split("-")[0]  # type: ignore[assignment]
            ref = SourceRef(f"docker:{host}:{role}:{name}", role, host, f"rig-{host}", "main")
            await ingestor.ingest(ref, log_lines(name))
        reply = await fake_discord.interact("cluster")
    finally:
        await running.close()
    assert reply.responses[0]["type"] == 4
    page = text_of(reply.embeds)
    assert "Cluster main" in page
    assert "Controllers: 🟢 controller (hub): 3 farms, 1 cache" in page
    assert "Caches: 🟢 cache (hub): 600.1 GiB · 2 piece caches" in page
    assert "plotter-1 (hub): 0 in flight · 3 sectors plotted in 24 h" in page
    assert "plotter-2 (rig-b): 0 in flight · 2 sectors plotted in 24 h" in page
    assert "farmer-a (hub, rig-hub): 2 farms" in page
    assert "farmer-b (rig-b, rig-rig-b): 1 farm" in page
