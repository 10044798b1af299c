"""The daily summary: due at the configured local time across DST, once a day, with content."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from collectors.alerts.engine import AlertEngine, build_alert_engine
from collectors.alerts.summary import due_slot, next_due_us, render_summary, sparkline
from collectors.clock import FakeClock, from_us, to_us
from collectors.models.alerts import FarmerDay, OpenProblem, Rule, SummaryData, WalletDay
from collectors.models.notify import Severity, Topic
from collectors.settings import AlertsSettings
from collectors.store.database import Database
from tests.collectors.alerts.seed import FARM_A, FARM_B, Seed

US = 1_000_000
AI3 = 10**18


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return to_us(datetime(year, month, day, hour, minute, tzinfo=UTC))


def make(db: Database, clock: FakeClock, **kw: object) -> AlertEngine:
    settings = AlertsSettings(**{"timezone": "Europe/Berlin", "summary_time": "08:00", **kw})  # type: ignore[arg-type]
    return build_alert_engine(db, settings, clock)


async def summaries(db: Database) -> list[dict[str, object]]:
    async with db.conn.execute(
        "SELECT dedupe_key, payload FROM outbox WHERE topic = 'summary' ORDER BY id"
    ) as cur:
        return [{"key": r["dedupe_key"], **json.loads(r["payload"])} for r in await cur.fetchall()]


def test_slot_is_23_hours_on_spring_forward_and_25_on_fall_back() -> None:
    spring = due_slot(utc(2025, 3, 30, 6, 0), "Europe/Berlin", "08:00")
    assert spring is not None
    assert spring.local_day == "2025-03-30"
    assert spring.due_us == utc(2025, 3, 30, 6, 0)  # 08:00 CEST
    assert spring.start_us == utc(2025, 3, 29, 7, 0)  # 08:00 CET the day before
    assert (spring.due_us - spring.start_us) // (3600 * US) == 23
    autumn = due_slot(utc(2025, 10, 26, 7, 0), "Europe/Berlin", "08:00")
    assert autumn is not None
    assert (autumn.due_us - autumn.start_us) // (3600 * US) == 25
    assert due_slot(utc(2025, 3, 30, 5, 59), "Europe/Berlin", "08:00") is None


def test_a_time_skipped_or_repeated_by_dst_still_happens_once() -> None:
    # 02:30 does not exist on 2025-03-30 in Berlin: the summary goes out just after the gap.
    skipped = next_due_us(utc(2025, 3, 29, 23, 0), "Europe/Berlin", "02:30")
    assert from_us(skipped) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST
    # 02:30 happens twice on 2025-10-26: the first one.
    repeated = next_due_us(utc(2025, 10, 25, 23, 0), "Europe/Berlin", "02:30")
    assert from_us(repeated) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST
    after = next_due_us(repeated, "Europe/Berlin", "02:30")
    assert from_us(after) == datetime(2025, 10, 27, 1, 30, tzinfo=UTC)  # next day, CET


async def test_summary_sent_at_the_local_hour_once_a_day_across_dst(
    db: Database, clock: FakeClock
) -> None:
    clock.set(datetime(2025, 3, 29, 5, 0, tzinfo=UTC))
    engine = make(db, clock)
    sent_at: list[datetime] = []
    for _ in range(3 * 24 * 4):  # every 15 minutes for three days
        outcome = await engine.evaluate_once()
        if outcome.summary_sent:
            sent_at.append(from_us(clock.now_us()))
        clock.advance(15 * 60)
    assert sent_at == [
        datetime(2025, 3, 29, 7, 0, tzinfo=UTC),  # 08:00 CET
        datetime(2025, 3, 30, 6, 0, tzinfo=UTC),  # 08:00 CEST, the day clocks went forward
        datetime(2025, 3, 31, 6, 0, tzinfo=UTC),
    ]
    keys = [s["key"] for s in await summaries(db)]
    assert keys == ["summary:2025-03-29", "summary:2025-03-30", "summary:2025-03-31"]


async def test_summary_not_resent_after_a_restart_and_sent_late_if_missed(
    db: Database, clock: FakeClock
) -> None:
    clock.set(datetime(2025, 6, 20, 6, 10, tzinfo=UTC))  # 08:10 CEST: cosmos was down at 08:00
    assert (await make(db, clock).evaluate_once()).summary_sent == "2025-06-20"
    clock.advance(60)
    again = Database(db.path)
    await again.initialize()
    try:
        assert (await make(again, clock).evaluate_once()).summary_sent is None
    finally:
        await again.close()
    assert len(await summaries(db)) == 1


async def test_summary_content_from_stored_rewards_and_open_alerts(
    db: Database, clock: FakeClock
) -> None:
    clock.set(datetime(2025, 6, 20, 5, 30, tzinfo=UTC))
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    await seed.farm(FARM_A, farmer, now - 48 * 3600 * US)
    await seed.farm(FARM_B, farmer, now - 48 * 3600 * US)
    await seed.plot(FARM_B, "plotting", 42.5, now)
    for hours_ago in (1, 2, 2.5, 20):
        await seed.reward(src, farmer, FARM_A, now - int(hours_ago * 3600 * US))
    await seed.reward(src, farmer, FARM_A, now - 3600 * US + 5, outcome="solution_failed")
    await seed.event(src, now, "farm_stopped", FARM_B, error="I/O error")
    node = await seed.source("file:local:node.log", "node", farmer, now)
    await seed.event(node, now - 3600 * US, "claimed_vote", None, slot=1)
    await seed.event(node, now - 2 * 3600 * US, "claimed_vote", None, slot=2)
    await seed.event(node, now - 2 * 3600 * US, "claimed_block", None, slot=3)
    engine = make(db, clock, summary_time="07:45")  # 05:45 UTC
    await engine.evaluate_once()  # the farm error fires now
    clock.advance(15 * 60)
    assert (await engine.evaluate_once()).summary_sent == "2025-06-20"
    [summary] = await summaries(db)
    assert summary["title"] == "Daily summary for 2025-06-20"
    fields = {str(name): str(value) for name, value in summary["fields"]}  # type: ignore[attr-defined]
    assert fields["Farmer alice"] == "1 block, 2 votes, 1 missed"
    assert fields["Misses"] == "1 failed solution"
    assert f"{FARM_B} (alice): plotting 42.5%" in fields["Plotting"]
    assert "stopped with an error" in fields["Open problems"]
    assert "CEST" in fields["Open problems"]
    assert "2025-06-19 07:45 CEST" in str(summary["body"])
    assert "Wins by hour" in str(summary["body"])
    assert summary["footer"] == "times in Europe/Berlin"


def test_render_with_wallets_and_chain_rewards() -> None:
    data = SummaryData(
        local_day="2025-06-20",
        timezone="UTC",
        start_us=utc(2025, 6, 19, 8),
        end_us=utc(2025, 6, 20, 8),
        farmers=(FarmerDay("alice", blocks=2, votes=5, signed=7, misses=0, amount=3 * AI3),),
        wallets=(WalletDay("main", "su1", blocks=2, votes=5, amount=3 * AI3, balance=100 * AI3),),
        problems=(
            OpenProblem(
                Rule.ENDPOINT_DOWN,
                "node",
                "Node endpoint down",
                Severity.ERROR,
                utc(2025, 6, 20, 7),
            ),
        ),
        hourly=tuple((utc(2025, 6, 19, 8) + h * 3600 * US, h % 3, 0) for h in range(24)),
    )
    n = render_summary(data)
    fields = dict(n.fields)
    assert n.topic is Topic.SUMMARY
    assert n.severity is Severity.WARNING
    assert fields["Farmer alice"] == "2 blocks, 5 votes, 0 missed, 3 AI3"
    assert fields["Wallet main"] == "2 blocks, 5 votes, 3 AI3, balance 100 AI3"
    assert "since 2025-06-20 07:00 UTC" in fields["Open problems"]


def test_sparkline_scales_to_the_busiest_hour() -> None:
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([0, 0]) == "▁▁"


async def test_summary_chart_hint_survives_the_outbox(db: Database, clock: FakeClock) -> None:
    from collectors.store.outbox import OutboxStore

    clock.set(datetime(2025, 6, 20, 7, 0, tzinfo=UTC))
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    await seed.farm(FARM_A, farmer, now - 48 * 3600 * US)
    await seed.reward(src, farmer, FARM_A, now - 90 * 60 * US)
    await seed.reward(src, farmer, FARM_A, now - 30 * 60 * US, outcome="proving_skipped")
    assert (await make(db, clock, summary_time="09:00").evaluate_once()).summary_sent
    [item] = [i for i in await OutboxStore(db).due(now) if i.notification.topic is Topic.SUMMARY]
    chart = item.notification.chart
    assert chart is not None
    assert chart.step_seconds == 3600
    assert chart.start_us == utc(2025, 6, 19, 7)
    series = dict(chart.series)
    assert len(series["wins"]) == 24
    assert series["wins"][-2:] == (1, 0)
    assert series["misses"][-1] == 1
