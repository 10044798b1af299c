"""Every rule driven end to end from stored state: seed the tables, run the engine, read the
outbox. The engine reads the tables through AlertInputReader exactly as in production."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from collectors.alerts.engine import AlertEngine, build_alert_engine
from collectors.clock import FakeClock
from collectors.format import short_id
from collectors.ingest import LogIngestor
from collectors.models.logs import LogLine, SourceRef
from collectors.models.metrics import FailureKind, ProvingOutcome
from collectors.settings import AlertsSettings
from collectors.store.alerts import AlertStore
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from tests.collectors.alerts.seed import FARM_A, FARM_B, FARM_C, NODE_TARGET, Seed

US = 1_000_000
MIN = 60 * US
HOUR = 60 * MIN
HOUR_S = 3600  # run_for takes seconds


def engine(db: Database, clock: FakeClock, **settings: object) -> AlertEngine:
    alerts = AlertsSettings(summary_enabled=False, **settings)  # type: ignore[arg-type]
    return build_alert_engine(db, alerts, clock)


async def sent(db: Database) -> list[tuple[str, dict[str, object]]]:
    async with db.conn.execute("SELECT dedupe_key, payload FROM outbox ORDER BY id") as cur:
        return [(r["dedupe_key"], json.loads(r["payload"])) for r in await cur.fetchall()]


async def keys(db: Database, rule: str | None = None) -> list[str]:
    """``<rule>:<subject>:<transition>`` of each message (the opening time left out)."""
    out = []
    for key, _ in await sent(db):
        _, r, rest = key.split(":", 2)
        subject, _, what = rest.rpartition(":")
        subject = subject.rpartition(":")[0]
        if rule is None or r == rule:
            out.append(f"{r}:{subject}:{what}")
    return out


async def run_for(e: AlertEngine, clock: FakeClock, seconds: float, step: float = 30) -> None:
    for _ in range(int(seconds // step)):
        clock.advance(step)
        await e.evaluate_once()


async def test_farm_error_fires_and_resolves_when_the_lines_stop(
    db: Database, clock: FakeClock
) -> None:
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    await seed.farm(FARM_C, farmer, now - 24 * HOUR)
    e = engine(db, clock)
    await e.evaluate_once()
    assert await keys(db, "farm_error") == []
    for _ in range(10):  # "Farm errored and stopped" every 30 s for five minutes
        await seed.event(
            src,
            clock.now_us(),
            "farm_stopped",
            FARM_C,
            farm_index=2,
            error="Plotting I/O error: Input/output error (os error 5)",
            stopped=True,
        )
        await run_for(e, clock, 30)
    messages = [(k, p) for k, p in await sent(db) if k.startswith("alert:farm_error")]
    assert len(messages) == 1
    assert messages[0][1]["severity"] == "error"
    assert "os error 5" in str(messages[0][1]["body"])
    assert short_id(FARM_C) in str(messages[0][1]["title"])
    await run_for(e, clock, 15 * 60)  # lines stopped: 5 min window + 5 min resolve grace
    assert await keys(db, "farm_error") == [
        f"farm_error:{FARM_C}:fire",
        f"farm_error:{FARM_C}:resolve",
    ]


async def test_failed_solution_is_a_missed_reward_told_once(db: Database, clock: FakeClock) -> None:
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    await seed.farm(FARM_A, farmer, now - 24 * HOUR)
    e = engine(db, clock)
    await seed.reward(
        src,
        farmer,
        FARM_A,
        now,
        outcome="solution_failed",
        detail='ErrorObject { code: ServerError(9001), message: "Solution was ignored" }',
    )
    await run_for(e, clock, 30)
    [(key, payload)] = await sent(db)
    assert key.startswith(f"alert:missed_rewards:{FARM_A}:")
    assert "1 failed solution" in str(payload["body"])
    assert "Solution was ignored" in str(payload["body"])
    await run_for(e, clock, 50 * 60, step=60)
    await seed.reward(src, farmer, FARM_A, clock.now_us(), outcome="proving_skipped")
    await run_for(e, clock, 3 * HOUR_S, step=60)  # no reminders for past events
    assert await keys(db) == [f"missed_rewards:{FARM_A}:fire", f"missed_rewards:{FARM_A}:resolve"]


async def test_endpoint_down_and_back_from_the_metrics_store(
    db: Database, clock: FakeClock
) -> None:
    seed = Seed(db)
    e = engine(db, clock)
    await seed.node_scrape(clock.now_us(), best=100, target=100, peers=40)
    for _ in range(12):  # refused for six minutes
        clock.advance(30)
        await seed.metrics.record_failure(
            NODE_TARGET,
            FailureKind.UNREACHABLE,
            "Cannot connect to host 127.0.0.1:9615",
            clock.now_us(),
        )
        await e.evaluate_once()
    assert await keys(db) == [f"endpoint_down:{NODE_TARGET.key}:fire"]
    for _ in range(12):
        clock.advance(30)
        await seed.node_scrape(clock.now_us(), best=200, target=200, peers=40)
        await e.evaluate_once()
    assert await keys(db) == [
        f"endpoint_down:{NODE_TARGET.key}:fire",
        f"endpoint_down:{NODE_TARGET.key}:resolve",
    ]


async def test_node_not_synced_and_low_peers_after_their_grace(
    db: Database, clock: FakeClock
) -> None:
    seed = Seed(db)
    e = engine(db, clock)
    for _ in range(19):  # 9.5 minutes behind with 2 peers: still within the 10-minute grace
        clock.advance(30)
        await seed.node_scrape(clock.now_us(), best=1000, target=1500, peers=2)
        await e.evaluate_once()
    assert await keys(db) == []
    for _ in range(2):
        clock.advance(30)
        await seed.node_scrape(clock.now_us(), best=1000, target=1500, peers=2)
        await e.evaluate_once()
    assert sorted(await keys(db)) == [
        f"node_low_peers:{NODE_TARGET.key}:fire",
        f"node_not_synced:{NODE_TARGET.key}:fire",
    ]
    messages = dict(await sent(db))
    body = next(str(p["title"]) for k, p in messages.items() if "node_not_synced" in k)
    assert "500 blocks behind" in body


async def test_log_source_gone_silent(db: Database, clock: FakeClock) -> None:
    seed = Seed(db)
    e = engine(db, clock)
    await e.evaluate_once()  # cosmos is watching
    clock.advance(5)
    src = await seed.source("docker:local:node:subspace-node", "node", None, clock.now_us())
    await seed.event(src, clock.now_us(), "node_imported", None, number=1)
    await run_for(e, clock, 9 * 60)
    assert await keys(db) == []
    await run_for(e, clock, 2 * 60)
    assert await keys(db) == ["logs_silent:docker:local:node:subspace-node:fire"]


async def test_farm_missing_after_a_restart(db: Database, clock: FakeClock) -> None:
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    for farm_id in (FARM_A, FARM_B, FARM_C):
        await seed.farm(farm_id, farmer, now - 48 * HOUR)
    await seed.farm_run(src, now - 24 * HOUR, [FARM_A, FARM_B, FARM_C])
    await seed.farm_run(src, now, [FARM_B, FARM_A])  # restarted without FARM_C
    e = engine(db, clock)
    await run_for(e, clock, 9 * 60)
    assert await keys(db) == []  # still settling: farm blocks may be coming
    await run_for(e, clock, 2 * 60)
    assert await keys(db) == [f"farm_missing:{FARM_C}:fire"]


async def test_farm_missing_from_the_metrics(db: Database, clock: FakeClock) -> None:
    seed = Seed(db)
    farmer = await seed.farmer("alice", clock.now_us())
    e = engine(db, clock)
    await seed.farmer_scrape(clock.now_us(), farmer, {FARM_A: (100, 0), FARM_B: (50, 0)})
    await run_for(e, clock, 60)
    for _ in range(40):
        clock.advance(30)
        await seed.farmer_scrape(clock.now_us(), farmer, {FARM_A: (100, 0)})
        await e.evaluate_once()
    assert await keys(db) == [f"farm_missing:{FARM_B}:fire"]
    payload = dict(await sent(db))
    assert "missing from the farmer's metrics" in str(next(iter(payload.values()))["body"])


async def test_plotting_stalled_from_the_logs_and_the_metrics(
    db: Database, clock: FakeClock
) -> None:
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    await seed.farm(FARM_A, farmer, now - 48 * HOUR)
    await seed.plot(FARM_A, "plotting", 16.21, now)
    e = engine(db, clock)
    for _ in range(35):  # the metrics show 100 sectors left, unchanged, for 3.5 hours
        clock.advance(6 * 60)
        await seed.farmer_scrape(clock.now_us(), farmer, {FARM_A: (20, 100)})
        await e.evaluate_once()
    assert await keys(db) == [f"plotting_stalled:{FARM_A}:fire"]
    clock.advance(60)
    await seed.farmer_scrape(clock.now_us(), farmer, {FARM_A: (21, 99)})  # it moves again
    await run_for(e, clock, 10 * 60)
    assert await keys(db) == [
        f"plotting_stalled:{FARM_A}:fire",
        f"plotting_stalled:{FARM_A}:resolve",
    ]


async def test_no_reward_for_longer_than_the_farms_rate_makes_likely(
    db: Database, clock: FakeClock
) -> None:
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    await seed.farm(FARM_A, farmer, now - 10 * 24 * HOUR)
    for i in range(84):  # a win every 2 hours for a week
        await seed.reward(src, farmer, FARM_A, now - i * 2 * HOUR)
    e = engine(db, clock)
    await run_for(e, clock, 12 * HOUR_S, step=10 * 60)
    assert await keys(db, "no_reward") == []  # 12 h without a win: unusual, not alarming
    await run_for(e, clock, 12 * HOUR_S, step=10 * 60)
    told = await keys(db, "no_reward")
    # A win every 2 h expected: at 99.9% that is ~14 h; then reminders 1 h, 2 h, 4 h later.
    assert told == [
        f"no_reward:{FARM_A}:{what}" for what in ("fire", "remind-1", "remind-2", "remind-3")
    ]
    await seed.reward(src, farmer, FARM_A, clock.now_us())
    await run_for(e, clock, 10 * 60)
    assert (await keys(db, "no_reward"))[-1] == f"no_reward:{FARM_A}:resolve"


def _stamp(us: int) -> str:
    return datetime.fromtimestamp(us / US, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_no_reward_waits_until_the_farmer_log_is_caught_up(
    db: Database, clock: FakeClock
) -> None:
    """A backfill reads a week of wins that ended three days ago: not news until the log is
    read up to now (found with many hosts backfilling at once)."""
    farmers = FarmerStore(db)
    await farmers.ensure_primary("alice", clock.now_us())
    ingestor = LogIngestor(db, farmers, clock)
    source = SourceRef("file:local:/logs/farmer.log", "farmer")
    now = clock.now_us()
    start = now - 10 * 24 * HOUR
    span = "{farm_index=0}: subspace_farmer::commands::farm:"
    texts = [
        f"{_stamp(start)}  INFO subspace_farmer::commands::farm: Connecting to node RPC url=ws://n",
        f"{_stamp(start)}  INFO {span} Farm 0:",
        f"{_stamp(start)}  INFO {span}   ID: {FARM_A}",
        f"{_stamp(start)}  INFO {span}   Allocated space: 1.8 TiB (2.0 TB)",
    ]
    wins = range(start + HOUR, now - 3 * 24 * HOUR, 2 * HOUR)
    texts += [
        f"{_stamp(t)}  INFO {{farm_index=0}}: subspace_farmer::single_disk_farm::reward_signing:"
        f" Successfully signed reward hash 0x{t:064x}"
        for t in wins
    ]
    lines = [LogLine(text, str(i)) for i, text in enumerate(texts)]
    e = engine(db, clock)
    # Backfill in chunks, the engine running in between as it does in production.
    for chunk in range(0, len(lines), 20):
        await ingestor.ingest(source, lines[chunk : chunk + 20])
        await run_for(e, clock, 60)
    await run_for(e, clock, HOUR_S, step=60)
    assert await keys(db, "no_reward") == []
    # The log reaches the present: three days without a win at one every 2 h is news.
    live = (
        f"{_stamp(clock.now_us())}  INFO {{farm_index=0}}:{{sector_index=5}}: "
        "subspace_farmer::single_disk_farm::plotting: Replotting sector (10.00% complete)"
    )
    await ingestor.ingest(source, [LogLine(live, str(len(lines)))])
    await run_for(e, clock, HOUR_S, step=60)
    assert await keys(db, "no_reward") == [f"no_reward:{FARM_A}:fire"]


async def test_states_survive_a_restart_of_the_process(db: Database, clock: FakeClock) -> None:
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    await seed.farm(FARM_C, farmer, now - HOUR)
    await seed.event(src, now, "farm_exited", FARM_C, error="I/O error")
    await run_for(engine(db, clock), clock, 30)
    assert len(await keys(db)) == 1
    again = Database(db.path)
    await again.initialize()
    try:
        await seed.event(src, clock.now_us(), "farm_stopped", FARM_C, error="I/O error")
        await run_for(engine(again, clock), clock, 60)
        assert len(await keys(again)) == 1
        [open_alert] = await AlertStore(again).open_alerts()
        assert open_alert.subject == FARM_C
    finally:
        await again.close()


async def test_node_sync_from_the_logs_when_no_node_metrics(db: Database, clock: FakeClock) -> None:
    seed = Seed(db)
    src = await seed.source("docker:local:node:node", "node", None, clock.now_us())
    e = engine(db, clock)
    for _ in range(24):  # the informant says "Syncing" 400 blocks behind with 3 peers
        clock.advance(30)
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT OR REPLACE INTO node_state (source_id, ts_us, state, peers, best, target)"
                " VALUES (?, ?, 'syncing', 3, 1000, 1400)",
                (src, clock.now_us()),
            )
        await seed.event(src, clock.now_us(), "node_informant", None)
        await e.evaluate_once()
    assert sorted(await keys(db)) == [
        "node_low_peers:docker:local:node:node:fire",
        "node_not_synced:docker:local:node:node:fire",
    ]


async def test_farming_errors_rising_in_the_metrics(db: Database, clock: FakeClock) -> None:
    seed = Seed(db)
    farmer = await seed.farmer("alice", clock.now_us())
    e = engine(db, clock)
    for errors in (0.0, 0.0, 1.0, 2.0, 4.0):  # the counter climbs scrape after scrape
        clock.advance(60)
        await seed.farmer_scrape(clock.now_us(), farmer, {FARM_A: (100, 0)}, errors)
        await e.evaluate_once()
    [(key, payload)] = await sent(db)
    assert key.startswith(f"alert:farm_error:{FARM_A}:")
    assert payload["severity"] == "warning"
    assert "4 farming errors" in str(payload["body"])
    for _ in range(15):  # flat again: the window passes, then the resolve grace
        clock.advance(60)
        await seed.farmer_scrape(clock.now_us(), farmer, {FARM_A: (100, 0)}, 4.0)
        await e.evaluate_once()
    assert (await keys(db))[-1] == f"farm_error:{FARM_A}:resolve"


async def test_old_history_read_in_a_backfill_is_not_news(db: Database, clock: FakeClock) -> None:
    """Log lines from a month ago (a backfill) say plotting stopped back then and a source was
    quiet since; neither is announced at start. A source read only before cosmos ever watched
    is not judged; a plot still not moving three hours into the watch is."""
    seed = Seed(db)
    month_ago = clock.now_us() - 30 * 24 * HOUR
    farmer = await seed.farmer("alice", month_ago)
    await seed.source("file:local:old-node.log", "node", None, month_ago)  # `cosmos ingest`
    await seed.farm(FARM_A, farmer, month_ago)
    await seed.plot(FARM_A, "plotting", 50.0, month_ago)
    e = engine(db, clock)
    await run_for(e, clock, 2 * HOUR_S, step=300)
    assert await keys(db) == []
    await run_for(e, clock, 1.5 * HOUR_S, step=300)
    assert await keys(db) == [f"plotting_stalled:{FARM_A}:fire"]


async def test_rejected_and_timed_out_proofs_in_the_metrics_are_missed_rewards(
    db: Database, clock: FakeClock
) -> None:
    seed = Seed(db)
    farmer = await seed.farmer("alice", clock.now_us())
    e = engine(db, clock)
    counts = [(0.0, 0.0), (0.0, 0.0), (1.0, 0.0), (1.0, 2.0)]  # (rejected, timed out) so far
    for rejected, timeouts in counts:
        clock.advance(60)
        await seed.farmer_scrape(
            clock.now_us(),
            farmer,
            {FARM_A: (100, 0)},
            proving=((ProvingOutcome.REJECTED, rejected), (ProvingOutcome.TIMEOUT, timeouts)),
        )
        await e.evaluate_once()
    messages = await sent(db)
    assert [k.rsplit(":", 1)[1] for k, _ in messages] == ["fire"]
    assert messages[0][0].startswith(f"alert:missed_rewards:{FARM_A}:")
    await run_for(e, clock, 30)
    body = dict(await sent(db))
    assert any("1 rejected proof" in str(p["body"]) for p in body.values())
    [alert] = await AlertStore(db).open_alerts()
    assert "2 proving timed out" in alert.detail
    assert "1 rejected proof" in alert.detail
