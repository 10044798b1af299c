"""Benchmark: how long ``cosmos run`` takes to stop after SIGTERM (or SIGINT), mode by mode.

Run: ``.venv/bin/python bench/bench_stop.py [--rounds 3] [--signal INT] [--repo DIR]``

Each case starts ``python -m bot run`` as its own process with an env file (a farmer log file
to backfill in every case), waits until it is in the state named, sends the signal and measures
until the process has exited. Discord is the fake of ``tests/fakes/discord_api.py`` on
127.0.0.1 (or a closed port for "unreachable"). ``--repo`` runs another checkout's cosmos with
the same cases (to compare with an older version).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from collectors.models.notify import Notification, Severity, Topic  # noqa: E402
from collectors.store.database import Database  # noqa: E402
from collectors.store.outbox import OutboxStore  # noqa: E402
from tests.bot import processes  # noqa: E402
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord  # noqa: E402

FIXTURE_LOG = REPO / "tests" / "fixtures" / "sources" / "farmer-small.log"
TOKEN = "test-token"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(sql).fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0) if row else 0


async def until(check: Callable[[], bool], seconds: float = 60.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 - a bounded poll
            await asyncio.sleep(0.02)


async def one(
    name: str, fake: FakeDiscord, sig: signal.Signals, repetitions: int = 1
) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        log = d / "farmer.log"
        lines = FIXTURE_LOG.read_text().splitlines(keepends=True)
        with log.open("w") as out:
            for _ in range(repetitions):
                out.writelines(lines)
        db = d / "cosmos.db"
        env = {
            "COSMOS_DATABASE_PATH": str(db),
            "COSMOS_FARMER_NAME": "alpha",
            "COSMOS_LOGS__FILES": f'[{{"path": "{log}", "role": "farmer"}}]',
        }
        events = "SELECT COUNT(*) FROM events"
        if name.startswith("bot"):
            env |= {
                "COSMOS_DISCORD__TOKEN": TOKEN,
                "COSMOS_DISCORD__GUILD_ID": str(GUILD_ID),
                "COSMOS_DISCORD__CHANNEL_ID": str(CHANNEL_ID),
                "COSMOS_DISCORD__GATEWAY_URL": fake.gateway_url,
                "COSMOS_DISCORD__API_BASE_URL": fake.api_base
                if name == "bot, connected"
                else f"http://127.0.0.1:{closed_port()}/api/v10",
            }
        if name.startswith("webhook"):
            env["COSMOS_DISCORD__WEBHOOK_URL"] = fake.webhook_url()
        if name == "webhook, mid-delivery":
            async with Database(db) as store:
                outbox = OutboxStore(store)
                for i in range(20):
                    note = Notification(f"n{i}", Topic.TRANSFERS, Severity.INFO, f"N{i}")
                    await outbox.enqueue(note, 0)
        env_file = processes.write_env(d / ".env", env)
        cosmos = await processes.start_cosmos(env_file)
        if name == "bot, connected":
            await cosmos.wait_for_log("onnected")  # 'connected to Discord' / 'Shard ID'
            await until(lambda: bool(fake.sockets))
        elif name == "bot, Discord unreachable":
            await cosmos.wait_for_log("cannot log in to Discord")
            await asyncio.sleep(2.0)  # well into the login backoff
        elif name == "webhook, mid-delivery":
            before = len(fake.webhook_messages[7000])
            await until(lambda: len(fake.webhook_messages[7000]) >= before + 2)
            await asyncio.sleep(0.1)
        elif name == "mid-backfill":
            await until(lambda: count(db, "SELECT SUM(lines_total) FROM log_sources") > 0)
        else:
            await until(lambda: count(db, events) > 0)
        elapsed = await cosmos.stop(sig, limit=60.0)
        outcome = f"exit {cosmos.process.returncode}"
        if name == "webhook, mid-delivery":
            sent = count(db, "SELECT COUNT(*) FROM outbox WHERE sent_us IS NOT NULL")
            outcome += f", {sent} of 20 recorded sent"
        return elapsed, outcome


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--signal", choices=["TERM", "INT"], default="TERM")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose cosmos runs")
    args = parser.parse_args()
    processes.REPO = args.repo.resolve()
    sig = signal.SIGTERM if args.signal == "TERM" else signal.SIGINT
    cases = [
        ("console", 1),
        ("webhook, idle", 1),
        ("webhook, mid-delivery", 1),
        ("bot, Discord unreachable", 1),
        ("bot, connected", 1),
        ("mid-backfill", 6000),
    ]
    print(f"cosmos from {processes.REPO}, SIG{args.signal}, {args.rounds} rounds")
    print(f"{'case':28} {'median s':>9} {'max s':>7}  outcome")
    for name, repetitions in cases:
        times: list[float] = []
        outcome = ""
        for _ in range(args.rounds):
            fake = FakeDiscord()
            await fake.start()
            if name == "webhook, mid-delivery":
                fake.slow("/api/webhooks/7000/", 0.5)
            try:
                elapsed, outcome = await one(name, fake, sig, repetitions)
            finally:
                await fake.stop()
            times.append(elapsed)
        print(f"{name:28} {statistics.median(times):9.2f} {max(times):7.2f}  {outcome}")


if __name__ == "__main__":
    asyncio.run(main())
