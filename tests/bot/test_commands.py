"""The real discord.py client against the fake Discord: command sync and every command's reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cogs.dashboard import refresh_channel_dashboard
from bot.embeds import EMBED_TOTAL_MAX
from collectors.clock import FakeClock
from tests.bot.conftest import RunningBot, bot_settings, start_bot
from tests.bot.seed import WALLET, farm_id, seed, seed_chain, seed_node
from tests.fakes.discord_api import ADMIN_ROLE_ID, CHANNEL_ID, GUILD_ID, MEMBER_ID, FakeDiscord

EXPLORER = "https://explorer.example"


@pytest.fixture
async def running(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(tmp_path, explorer_url=EXPLORER, admin_role_id=ADMIN_ROLE_ID)
    running = await start_bot(settings, clock)
    db = running.services.db
    await seed(db, clock.now_us())
    await seed_chain(db, clock.now_us())
    await seed_node(db, clock.now_us())
    try:
        yield running
    finally:
        await running.close()


def option(name: str, value: Any, kind: int = 3, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value, **extra}


def text_of(embeds: list[dict[str, Any]]) -> str:
    parts = []
    for e in embeds:
        parts += [e.get("title", ""), e.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in e.get("fields", [])]
    return "\n".join(parts)


async def test_commands_are_synced_to_the_guild_with_their_schemas(
    running: RunningBot, fake_discord: FakeDiscord
) -> None:
    assert fake_discord.sync_calls == [str(GUILD_ID)]
    commands = {c["name"]: c for c in fake_discord.commands[str(GUILD_ID)]}
    assert set(commands) == {
        "farms", "farm", "rewards", "node", "farmer", "wallet", "dashboard", "wipe", "cluster",
    }  # fmt: skip
    farm_option = commands["farm"]["options"][0]
    assert farm_option["name"] == "farm"
    assert farm_option["required"] is True
    assert farm_option["autocomplete"] is True
    period = commands["rewards"]["options"][0]
    assert [c["value"] for c in period["choices"]] == ["24h", "7d", "30d", "1y"]
    assert int(commands["wipe"]["default_member_permissions"]) == 1 << 3
    scopes = commands["wipe"]["options"][0]["choices"]
    assert {c["value"] for c in scopes} == {"farm", "farmer", "wallet", "all"}


async def test_farms_lists_every_farm_with_status_and_problems(
    running: RunningBot, fake_discord: FakeDiscord
) -> None:
    reply = await fake_discord.interact("farms")
    assert reply.responses[0]["type"] == 4
    text = text_of(reply.embeds)
    assert "Farms (3)" in text
    assert "plotting 70.0%" in text  # farm 0 is plotting
    assert "3× farm exited in 24 h" in text  # farm 1 has errors
    assert "<t:" in text  # Discord timestamps for the last reward


async def test_farm_page_and_its_autocomplete(
    running: RunningBot, fake_discord: FakeDiscord
) -> None:
    reply = await fake_discord.interact("farm", [option("farm", "/mnt/farm1")])
    text = text_of(reply.embeds)
    assert f"Farm {farm_id(1)}" in text
    assert "Plotting I/O error" in text
    assert "Recent rewards" in text
    complete = await fake_discord.interact("farm", [option("farm", "farm2", focused=True)], kind=4)
    (response,) = complete.responses
    assert response["type"] == 8
    assert [c["value"] for c in response["data"]["choices"]] == [farm_id(2)]
    missing = await fake_discord.interact("farm", [option("farm", "nope")])
    assert "No farm matches" in missing.messages[0]["content"]


async def test_rewards_defers_then_sends_embeds_and_a_png_chart(
    running: RunningBot, fake_discord: FakeDiscord
) -> None:
    reply = await fake_discord.interact("rewards", [option("period", "24h")])
    assert reply.responses[0]["type"] == 5  # deferred: Discord's 3 s are never at risk
    (message,) = await reply.wait_messages(1)
    text = text_of(message["embeds"])
    assert "Rewards, last 24h" in text
    assert "main" in text
    assert "AI3" in text
    assert message["embeds"][0]["image"]["url"] == "attachment://rewards.png"
    name, png = fake_discord.attachments[-1]
    assert name == "rewards.png"
    assert png.startswith(b"\x89PNG")


async def test_node_farmer_and_wallet_pages(running: RunningBot, fake_discord: FakeDiscord) -> None:
    node = text_of((await fake_discord.interact("node")).embeds)
    assert "Node node-1" in node
    assert "3,245,133" in node
    assert "synced" in node
    farmer = text_of((await fake_discord.interact("farmer", [option("name", "beta")])).embeds)
    assert "Farmer beta" in farmer
    assert farm_id(1)[-6:] in farmer
    wallet = text_of((await fake_discord.interact("wallet", [option("label", "main")])).embeds)
    assert "Wallet main" in wallet
    assert "12.345 AI3" in wallet
    assert f"{EXPLORER}/account/{WALLET}" in wallet
    assert "⬆️ 5 AI3" in wallet  # the transfer out
    unknown = await fake_discord.interact("wallet", [option("label", "nope")])
    assert "Known wallets: cold, main" in unknown.messages[0]["content"]


async def test_dashboard_is_posted_then_edited_in_place(
    running: RunningBot, fake_discord: FakeDiscord
) -> None:
    reply = await fake_discord.interact("dashboard")
    await reply.wait_messages(1)
    (posted,) = fake_discord.channel_messages[CHANNEL_ID]
    assert posted["embeds"][0]["title"] == "cosmos dashboard"
    await refresh_channel_dashboard(running.bot.context, running.bot)
    assert [message_id for message_id, _ in fake_discord.edits] == [posted["id"]]
    assert len(fake_discord.channel_messages[CHANNEL_ID]) == 1


async def test_wipe_asks_for_confirmation_and_is_admin_only(
    running: RunningBot, fake_discord: FakeDiscord
) -> None:
    db = running.services.db
    denied = await fake_discord.interact(
        "wipe", [option("scope", "farm"), option("target", farm_id(1))],
        user_id=MEMBER_ID, permissions=0,
    )  # fmt: skip
    assert "Only administrators" in denied.messages[0]["content"]
    ask = await fake_discord.interact(
        "wipe", [option("scope", "farm"), option("target", farm_id(1))]
    )
    assert ask.response_message is not None
    assert "cannot be undone" in ask.messages[0]["content"]
    assert await count(db, "SELECT COUNT(*) FROM rewards WHERE farm_id = ?", farm_id(1)) > 0
    done = await fake_discord.click(ask.response_message, "wipe:confirm")
    assert done.responses[0]["type"] == 7  # the confirmation message is updated
    assert "Wiped" in done.responses[0]["data"]["content"]
    assert await count(db, "SELECT COUNT(*) FROM rewards WHERE farm_id = ?", farm_id(1)) == 0
    assert await count(db, "SELECT COUNT(*) FROM farms WHERE farm_id = ?", farm_id(1)) == 0
    assert await count(db, "SELECT COUNT(*) FROM farms") == 2
    # The configured admin role may wipe without the administrator permission.
    by_role = await fake_discord.interact(
        "wipe", [option("scope", "wallet"), option("target", "main")],
        user_id=MEMBER_ID, permissions=0, roles=[ADMIN_ROLE_ID],
    )  # fmt: skip
    assert "cannot be undone" in by_role.messages[0]["content"]


async def count(db: Any, sql: str, *params: Any) -> int:
    async with db.conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return int(row[0])


async def test_commands_are_not_synced_again_when_unchanged(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    settings = bot_settings(tmp_path)
    first = await start_bot(settings, clock)
    await first.close()
    second = await start_bot(settings, clock)
    await second.close()
    assert fake_discord.sync_calls == [str(GUILD_ID)]
    global_settings = bot_settings(tmp_path).model_copy(
        update={"discord": settings.discord.model_copy(update={"guild_id": None})}
    )
    third = await start_bot(global_settings, clock)
    await third.close()
    assert fake_discord.sync_calls == [str(GUILD_ID), "global"]


async def test_a_reply_of_100_farms_stays_within_discord_limits(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    running = await start_bot(bot_settings(tmp_path), clock)
    try:
        await seed(running.services.db, clock.now_us(), farms=100)
        reply = await fake_discord.interact("farms")
        await_all = await reply.settle()
        assert len(await_all) >= 2  # split over follow-ups
        fields = [f for m in await_all for e in m["embeds"] for f in e["fields"]]
        assert len(fields) == 100
        for message in await_all:
            assert len(message["embeds"]) <= 10
            total = sum(embed_chars(e) for e in message["embeds"])
            assert total <= EMBED_TOTAL_MAX
            for e in message["embeds"]:
                assert len(e["fields"]) <= 25
    finally:
        await running.close()


def embed_chars(e: dict[str, Any]) -> int:
    return (
        len(e.get("title", ""))
        + len(e.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
        + len(e.get("footer", {}).get("text", ""))
    )
