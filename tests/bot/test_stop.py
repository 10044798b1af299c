"""``cosmos run`` stops on SIGINT/SIGTERM in every mode, and keeps what it did.

Real processes and real signals. A stop that hangs is killed and fails the test (exit code);
the stop times themselves are measured by ``bench/bench_stop.py``, not asserted here.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import sqlite3
from pathlib import Path

import pytest

from collectors.models.notify import Topic
from tests.bot.conftest import TOKEN
from tests.bot.processes import start_cosmos, write_env
from tests.bot.test_modes import enqueue
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord

FIXTURE_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "farmer-small.log"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(tmp_path: Path, log: Path | None = None) -> dict[str, str]:
    log = log or tmp_path / "farmer.log"
    if not log.exists():
        shutil.copy(FIXTURE_LOG, log)
    return {
        "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
        "COSMOS_FARMER_NAME": "alpha",
        "COSMOS_LOGS__FILES": f'[{{"path": "{log}", "role": "farmer"}}]',
    }


def scalar(db: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0] or 0) if row else 0


async def poll(check: object, seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except sqlite3.Error:
                pass
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_console_mode_stops_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    env = write_env(tmp_path / ".env", base_env(tmp_path))
    cosmos = await start_cosmos(env)
    await cosmos.wait_for_log("console mode")
    await poll(lambda: scalar(tmp_path / "cosmos.db", "SELECT COUNT(*) FROM events") > 0)
    await cosmos.stop(sig)
    assert cosmos.process.returncode == 0, cosmos.text
    assert "Traceback" not in cosmos.text


async def test_bot_mode_stops_while_discord_is_unreachable(tmp_path: Path) -> None:
    env = base_env(tmp_path) | {
        "COSMOS_DISCORD__TOKEN": TOKEN,
        "COSMOS_DISCORD__API_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/v10",
    }
    cosmos = await start_cosmos(write_env(tmp_path / ".env", env))
    await cosmos.wait_for_log("cannot log in to Discord")  # now in the login backoff
    await poll(lambda: scalar(tmp_path / "cosmos.db", "SELECT COUNT(*) FROM events") > 0)
    await cosmos.stop()
    assert cosmos.process.returncode == 0, cosmos.text
    assert "Traceback" not in cosmos.text


async def test_bot_mode_stops_while_connected(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    env = base_env(tmp_path) | {
        "COSMOS_DISCORD__TOKEN": TOKEN,
        "COSMOS_DISCORD__GUILD_ID": str(GUILD_ID),
        "COSMOS_DISCORD__CHANNEL_ID": str(CHANNEL_ID),
        "COSMOS_DISCORD__API_BASE_URL": fake_discord.api_base,
        "COSMOS_DISCORD__GATEWAY_URL": fake_discord.gateway_url,
    }
    cosmos = await start_cosmos(write_env(tmp_path / ".env", env))
    await cosmos.wait_for_log("connected to Discord")
    await cosmos.stop()
    assert cosmos.process.returncode == 0, cosmos.text
    assert "Traceback" not in cosmos.text


async def test_webhook_mode_stops_mid_delivery_and_records_what_was_delivered(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    env = base_env(tmp_path) | {"COSMOS_DISCORD__WEBHOOK_URL": fake_discord.webhook_url()}
    env_file = write_env(tmp_path / ".env", env)
    settings_db = tmp_path / "cosmos.db"

    from collectors.settings import load_settings

    settings = load_settings(env_file)
    await enqueue(settings, *(f"n{i}" for i in range(20)), topic=Topic.TRANSFERS)
    fake_discord.slow("/api/webhooks/7000/", 0.5)  # each post is in flight for a while
    cosmos = await start_cosmos(env_file)
    hook = fake_discord.webhook_messages[7000]

    def notes() -> list[str]:
        return [m["embeds"][0]["title"] for m in hook if m["embeds"][0]["title"].startswith("N")]

    async with asyncio.timeout(30):
        while len(notes()) < 2:  # noqa: ASYNC110 - a bounded poll
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # the next post is in flight now
    await cosmos.stop()
    assert cosmos.process.returncode == 0, cosmos.text
    delivered = len(notes())
    assert 2 <= delivered < 20
    # Every message Discord accepted is recorded as sent; the rest wait in the outbox.
    # (Only this test's notes: at 08:00 UTC the alert engine adds its daily summary.)
    ours = "SELECT COUNT(*) FROM outbox WHERE topic = 'transfers' AND sent_us IS"
    sent, pending = scalar(settings_db, f"{ours} NOT NULL"), scalar(settings_db, f"{ours} NULL")
    assert (sent, pending) == (delivered, 20 - delivered)


async def test_stops_mid_backfill_and_resumes_where_it_stopped(tmp_path: Path) -> None:
    log = tmp_path / "farmer.log"
    lines = FIXTURE_LOG.read_text().splitlines(keepends=True)
    with log.open("w") as out:
        for _ in range(6000):  # about 230,000 lines to backfill
            out.writelines(lines)
    total = 6000 * len(lines)
    env = write_env(tmp_path / ".env", base_env(tmp_path, log))
    db = tmp_path / "cosmos.db"
    read = "SELECT COALESCE(SUM(lines_total), 0) FROM log_sources"
    cosmos = await start_cosmos(env)
    await poll(lambda: scalar(db, read) > 0, 60)
    await cosmos.stop()
    assert cosmos.process.returncode == 0, cosmos.text
    stopped_at = scalar(db, read)
    assert 0 < stopped_at < total
    again = await start_cosmos(env)
    await poll(lambda: scalar(db, read) >= total, 120)
    await again.stop()
    assert again.process.returncode == 0, again.text
    assert scalar(db, read) == total  # resumed where it stopped: nothing read twice
