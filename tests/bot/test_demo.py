"""``cosmos demo``: the bundled demo farm parses completely, and a short run stores its farms,
rewards and events in a scratch database (never the user's), then prints a summary."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo import DATABASE_NAME, read_summary, run_demo
from collectors.demo_data import (
    FARMS,
    REWARDS,
    demo_logs,
    farmer_metrics,
    live_lines,
    node_metrics,
    write_demo_logs,
)
from collectors.models.events import EventKind
from collectors.parsing.decode import Framing, LineDecoder, detect_framing
from collectors.parsing.logs import parse_line
from collectors.parsing.metrics import parse_farmer_metrics, parse_node_metrics
from collectors.store.database import Database
from tests.conftest import REPO
from tests.fakes.discord_api import FakeDiscord

NOW_US = 1_750_406_400_000_000


def test_every_demo_line_meant_to_match_parses_to_its_event(tmp_path: Path) -> None:
    files = write_demo_logs(tmp_path, NOW_US)
    for path, expected in (
        (files.farmer_log, files.logs.farmer),
        (files.node_log, files.logs.node),
    ):
        raw = path.read_bytes()
        assert detect_framing(raw[:1024]) is Framing.PLAIN
        decoder = LineDecoder(Framing.PLAIN)
        texts = [line.text for line in decoder.feed(raw) + decoder.flush()]
        assert texts == [line.text for line in expected]
        kinds = [(parsed.kind if (parsed := parse_line(t)) else None) for t in texts]
        assert kinds == [line.kind for line in expected]
    farmer_kinds = [line.kind for line in files.logs.farmer]
    assert farmer_kinds.count(EventKind.REWARD_SIGNED) == sum(REWARDS.values()) == 5
    assert farmer_kinds.count(EventKind.FARM_HEADER) == len(FARMS) == 3
    assert farmer_kinds.count(EventKind.SOLUTION_FAILED) == 1
    assert farmer_kinds.count(EventKind.FARM_EXITED) == 1
    assert EventKind.PLOTTING in farmer_kinds
    node_kinds = {line.kind for line in files.logs.node}
    assert {EventKind.NODE_INFORMANT, EventKind.NODE_IMPORTED, EventKind.CLAIMED_VOTE} <= node_kinds
    # The lines cosmos does not track are few and deliberate.
    untracked = [line for line in files.logs.farmer + files.logs.node if line.kind is None]
    assert 0 < len(untracked) <= 5


def files_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_live_lines_parse_and_move_on() -> None:
    for step in (1, 2, 3):
        farmer, node = live_lines(NOW_US + step * 2_000_000, step)
        for line in farmer + node:
            parsed = parse_line(line.text)
            assert parsed is not None
            assert parsed.kind is line.kind
    first = parse_line(live_lines(NOW_US, 1)[0][0].text)
    later = parse_line(live_lines(NOW_US, 2)[0][0].text)
    assert first is not None
    assert later is not None
    assert later.sector_index == first.sector_index + 1  # type: ignore[operator]


def test_demo_logs_end_at_the_given_time_in_order() -> None:
    logs = demo_logs(NOW_US)
    for lines in (logs.farmer, logs.node):
        stamps = [parse_line(line.text) for line in lines]
        times = [p.ts_us for p in stamps if p is not None and p.ts_us is not None]
        assert times == sorted(times)
        assert NOW_US - 70 * 60_000_000 < times[0] < times[-1] < NOW_US


def test_demo_metrics_bodies_parse_and_move_on() -> None:
    first = parse_farmer_metrics(farmer_metrics(0))
    later = parse_farmer_metrics(farmer_metrics(5))
    assert [f.farm_id for f in first.farms] == sorted(f.farm_id for f in FARMS)
    by_id = {f.farm_id: f for f in later.farms}
    plotting = FARMS[1]
    assert by_id[plotting.farm_id].sectors_plotted == plotting.sectors_plotted + 5
    assert by_id[plotting.farm_id].sectors_total == plotting.sectors_total
    assert by_id[FARMS[0].farm_id].plotted_fraction == 1.0
    assert parse_node_metrics(node_metrics(3)).best == parse_node_metrics(node_metrics(0)).best + 3  # type: ignore[operator]


async def test_demo_run_stores_the_demo_farm_in_a_scratch_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's own settings point elsewhere; the demo must use none of them.
    user_db = tmp_path / "user" / "cosmos.db"
    monkeypatch.setenv("COSMOS_DATABASE_PATH", str(user_db))
    monkeypatch.setenv("COSMOS_DISCORD__TOKEN", "the-users-real-token")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"COSMOS_DATABASE_PATH={user_db}\n")
    workdir = tmp_path / "demo"
    out = io.StringIO()

    summary = await run_demo(out, seconds=6.0, workdir=workdir)

    assert not user_db.exists()
    assert not user_db.parent.exists()
    text = out.getvalue()
    assert "notifications go here, on the console" in text
    assert "What cosmos found in the demo farm (3 farms):" in text
    assert "Rewards in the last 24 h: 5 signed, 1 missed" in text
    assert "farm 0 /farms/nvme0: 100.0% plotted, 3 rewards, status farming" in text
    assert "stopped with an error" in text

    assert sorted(f.farm_id for f in summary.farms) == sorted(f.farm_id for f in FARMS)
    assert (summary.rewards, summary.missed) == (5, 1)
    assert {a.rule.value for a in summary.open_alerts} >= {"farm_error", "missed_rewards"}
    directories = {f.farm_id: f.directory for f in summary.farms}
    assert directories == {f.farm_id: f.directory for f in FARMS}

    db = Database(workdir / DATABASE_NAME)
    await db.initialize()
    try:
        async with db.conn.execute("SELECT kind, COUNT(*) AS n FROM events GROUP BY kind") as cur:
            events = {row["kind"]: row["n"] for row in await cur.fetchall()}
        async with db.conn.execute(
            "SELECT outcome, COUNT(*) AS n FROM rewards GROUP BY outcome"
        ) as cur:
            rewards = {row["outcome"]: row["n"] for row in await cur.fetchall()}
        async with db.conn.execute("SELECT COALESCE(SUM(count), 0) FROM unmatched_lines") as cur:
            unmatched = await cur.fetchone()
    finally:
        await db.close()
    assert rewards == {"signed": 5, "solution_failed": 1}
    assert events["farm_exited"] == 1
    assert events["farm_stopped"] == 2
    assert events["claimed_vote"] == 2
    assert events["claimed_block"] == 1
    # Exactly the lines the demo data marks as untracked went unmatched: every other one matched.
    logs = demo_logs(NOW_US)
    untracked = sum(1 for line in logs.farmer + logs.node if line.kind is None)
    assert unmatched is not None
    assert unmatched[0] == untracked

    # The demo goes on writing while it runs: farm 1's plotting followed live past the replay.
    plotting = FARMS[1]
    farm1 = next(f for f in summary.farms if f.farm_id == plotting.farm_id)
    assert farm1.plot_percent is not None
    assert farm1.plot_percent > 100.0 * plotting.sectors_plotted / plotting.sectors_total
    assert len(files_lines(workdir / "farmer.log")) > len(logs.farmer)

    again = await read_summary(workdir / DATABASE_NAME, NOW_US + 10**9)
    assert len(again.farms) == 3


async def test_demo_sends_its_notifications_to_the_given_webhook(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    try:
        out = io.StringIO()
        summary = await run_demo(
            out, seconds=6.0, webhook_url=fake.webhook_url(7100, "demo"), workdir=tmp_path
        )
    finally:
        await fake.stop()
    assert "notifications go to the webhook you gave" in out.getvalue()
    assert "/api/webhooks/" not in out.getvalue()  # the webhook's secret is not printed
    titles = [e.get("title", "") for m in fake.webhook_messages[7100] for e in m.get("embeds", [])]
    texts = " ".join(titles + [m.get("content") or "" for m in fake.webhook_messages[7100]])
    assert "stopped with an error" in texts
    assert {a.rule.value for a in summary.open_alerts} >= {"farm_error"}


def test_cli_demo_refuses_a_webhook_that_is_not_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--webhook", "https://example.com/hook"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--webhook is not a Discord webhook URL" in done.stderr


def test_cli_demo_runs_in_a_temporary_directory_and_prints_the_summary(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSMOS_")}
    env["COSMOS_DATABASE_PATH"] = str(tmp_path / "mine.db")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--seconds", "4"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "cosmos demo: a made-up farmer with 3 farms" in done.stdout
    assert "Rewards in the last 24 h: 5 signed, 1 missed" in done.stdout
    assert "cosmos starting in console mode" in done.stderr
    assert not (tmp_path / "mine.db").exists()
    scratch = next(line for line in done.stdout.splitlines() if "database:" in line)
    assert not Path(scratch.split()[1]).exists()  # the temporary directory is gone
