"""Read models for the bot's pages, on a seeded database (log, metrics and wallet tables)."""

from __future__ import annotations

from collectors.clock import FakeClock
from collectors.models.alerts import AlertState, Phase, Rule, Transition
from collectors.models.chain import BlockActivity, ChainBlock, ChainReward, RewardKind
from collectors.models.views import FarmStatus
from collectors.store.alerts import log_transition_in, save_state_in
from collectors.store.database import Database
from collectors.store.views import DAY_US, ViewStore, period_us
from collectors.store.wallets import WalletStore
from tests.bot.seed import AI3, WALLET, farm_id, seed, seed_chain, seed_node


async def test_farm_summaries_status_counts_and_problems(db: Database, clock: FakeClock) -> None:
    now = clock.now_us()
    await seed(db, now, days=2, rewards_per_farm_day=4, misses_per_farm_day=1)
    farms = {f.farm_id: f for f in await ViewStore(db).farms.summaries(now)}
    assert farms[farm_id(0)].status is FarmStatus.PLOTTING
    assert farms[farm_id(0)].plot_percent == 70.0
    assert farms[farm_id(1)].status is FarmStatus.ERROR
    assert "3× farm exited in 24 h" in farms[farm_id(1)].problems
    assert farms[farm_id(2)].status is FarmStatus.FARMING
    total_rewards = sum(f.rewards_24h for f in farms.values())
    async with db.conn.execute(
        "SELECT COUNT(*) FROM rewards WHERE outcome = 'signed' AND ts_us >= ?", (now - DAY_US,)
    ) as cur:
        (expected,) = await cur.fetchone()  # type: ignore[misc]
    assert total_rewards == expected
    assert all(f.last_reward_us is not None for f in farms.values())


async def test_rewards_report_counts_amounts_and_filters(db: Database, clock: FakeClock) -> None:
    now = clock.now_us()
    await seed(db, now, days=10)
    await seed_chain(db, now, blocks=24)
    views = ViewStore(db)
    report = await views.rewards.report(now, period_us("7d"))
    assert report.since_us == (now // DAY_US - 6) * DAY_US  # today and the 6 days before
    signed = await count_signed(db, report.since_us, now)
    assert report.total_rewards == signed
    assert sum(b.rewards for b in report.buckets) == signed
    assert len(report.buckets) == 7
    (main,) = report.wallets
    assert main.label == "main"
    assert main.count == 24
    assert main.amount == sum(AI3 // 10 + n for n in range(24))
    beta = await views.rewards.report(now, period_us("7d"), farmer="beta")
    assert {f.farm_id for f in beta.farms} == {farm_id(1)}
    wallet_only = await views.rewards.report(now, period_us("24h"), wallet="main")
    assert wallet_only.farms == ()
    in_window = [n for n in range(24) if now - (24 - n) * 3_600_000_000 >= wallet_only.since_us]
    assert sum(b.rewards for b in wallet_only.buckets) == len(in_window) == 23


async def count_signed(db: Database, since: int, until: int) -> int:
    async with db.conn.execute(
        "SELECT COUNT(*) FROM rewards WHERE outcome = 'signed' AND ts_us >= ? AND ts_us < ?",
        (since, until),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_daily_totals_match_the_rows_and_follow_a_backfill(
    db: Database, clock: FakeClock
) -> None:
    now = clock.now_us()
    await seed(db, now, days=60, rewards_per_farm_day=5)
    await seed_chain(db, now, blocks=24 * 40)
    views = ViewStore(db)
    report = await views.rewards.report(now, period_us("30d"))
    async with db.conn.execute("SELECT COUNT(*) FROM reward_days") as cur:
        assert (await cur.fetchone())[0] > 0  # type: ignore[index]
    assert report.total_rewards == await count_signed(db, report.since_us, now)
    (main,) = report.wallets
    assert main.count == sum(
        1 for n in range(24 * 40) if now - (24 * 40 - n) * 3_600_000_000 >= report.since_us
    )
    # Old log lines read late (cosmos ingest of an old file) land in a settled day.
    old = report.since_us + DAY_US + 5
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO rewards (source_id, farm_id, ts_us, outcome, reward_hash, line_hash)"
            " VALUES (1, ?, ?, 'signed', '0xlate', 999999)",
            (farm_id(0), old),
        )
    again = await views.rewards.report(now, period_us("30d"))
    assert again.total_rewards == report.total_rewards + 1
    assert again.buckets[1].rewards == report.buckets[1].rewards + 1
    year = await views.rewards.report(now, period_us("1y"))
    assert year.total_rewards == await count_signed(db, year.since_us, now)


async def test_ai3_sums_are_exact_beyond_64_bits(db: Database, clock: FakeClock) -> None:
    now = clock.now_us()
    await seed_chain(db, now, blocks=0)
    store = WalletStore(db)
    big = 10**6 * AI3 + 123_456_789  # 10^24 units: far beyond SQLite's integers
    for n in range(20):
        block = ChainBlock(5_000 + n, f"0xb{n:063x}", f"0xa{n:063x}", now - 1000 - n)
        reward = ChainReward(WALLET, RewardKind.BLOCK, big, block.number, block.hash, 0, now - 1000)
        await store.record_block(BlockActivity(block, (), (reward,)), now)
    report = await ViewStore(db).rewards.report(now, period_us("24h"))
    (main,) = report.wallets
    assert main.amount == 20 * big


async def test_nodes_farmers_wallets_and_dashboard(db: Database, clock: FakeClock) -> None:
    now = clock.now_us()
    await seed(db, now)
    await seed_chain(db, now)
    await seed_node(db, now)
    views = ViewStore(db)
    (node,) = await views.nodes.all()
    assert (node.name, node.best, node.peers, node.major_syncing) == (
        "node-1", 3_245_133, 40, False,
    )  # fmt: skip
    alpha, beta = await views.farmers.all(now)
    assert (alpha.name, len(alpha.farms), alpha.plotting_farms) == ("alpha", 2, 1)
    assert beta.farms[0].farm_id == farm_id(1)
    (main,) = await views.wallets.all(now, "main")
    assert main.balance == 12 * AI3 + 345 * AI3 // 1000
    assert main.transfers[0].direction == "out"
    assert len(main.rewards) == 10
    assert await views.wallets.labels() == ["cold", "main"]
    dashboard = await views.dashboard.build(now)
    assert len(dashboard.farms) == 3
    assert any("farm exited" in p.text for p in dashboard.problems)


async def test_farm_lookup_by_id_directory_and_text(db: Database, clock: FakeClock) -> None:
    await seed(db, clock.now_us())
    views = ViewStore(db)
    assert await views.farms.resolve(farm_id(2)) == farm_id(2)
    assert await views.farms.resolve("/mnt/farm1") == farm_id(1)
    assert await views.farms.resolve("01JC6R9K") is None  # ambiguous prefix
    assert [c.farm_id for c in await views.farms.search("beta")] == [farm_id(1)]
    detail = await views.farms.detail(farm_id(1), clock.now_us())
    assert detail is not None
    assert "Plotting I/O error" in detail.recent_errors[0][1]


async def test_weekly_totals_give_the_same_report_as_the_daily_ones(
    db: Database, clock: FakeClock
) -> None:
    """A year (weekly buckets) read from whole weeks plus edge days equals the daily-only read.

    Seven consecutive days put the settled edge on every weekday, so partial weeks at the end
    are read from the daily totals each time; dropping the weekly tables forces the daily path.
    """
    now = clock.now_us()
    await seed(db, now, days=60, rewards_per_farm_day=5, misses_per_farm_day=1)
    await seed_chain(db, now, blocks=24 * 40)
    views = ViewStore(db)
    nows = [now + k * DAY_US + 3 * 3_600_000_000 for k in range(7)]
    filters: list[dict[str, str]] = [{}, {"farmer": "beta"}, {"wallet": "main"}]
    weekly = [await views.rewards.report(n, period_us("1y"), **f) for n in nows for f in filters]
    async with db.conn.execute("SELECT COUNT(*), SUM(won) FROM reward_weeks") as cur:
        weeks, won = await cur.fetchone()  # type: ignore[misc]
    assert weeks > 0
    assert won > 0
    async with db.conn.execute("SELECT COUNT(*) FROM chain_reward_weeks") as cur:
        assert (await cur.fetchone())[0] > 0  # type: ignore[index]
    async with db.transaction() as conn:
        await conn.execute("DROP TABLE reward_weeks")
        await conn.execute("DROP TABLE chain_reward_weeks")
    daily = [await views.rewards.report(n, period_us("1y"), **f) for n in nows for f in filters]
    assert weekly == daily
    year = weekly[0]
    assert year.total_rewards == await count_signed(db, year.since_us, nows[0])
    assert sum(b.rewards for b in year.buckets) == year.total_rewards


async def test_alert_reads_open_alerts_and_transitions(db: Database, clock: FakeClock) -> None:
    now = clock.now_us()
    firing = AlertState(
        Rule.FARM_ERROR, "farm x", Phase.FIRING, since_us=now - 10, opened_us=now - 5
    )
    resolved = AlertState(Rule.NODE_LOW_PEERS, "node", Phase.OK, resolved_us=now - 1)
    async with db.transaction() as conn:
        for state in (firing, resolved):
            await save_state_in(conn, state)
        await log_transition_in(conn, firing, Transition.FIRE, now - 5, sent=True)
    views = ViewStore(db)
    assert [(a.rule, a.subject) for a in await views.alerts.open_alerts()] == [
        (Rule.FARM_ERROR, "farm x")
    ]
    assert await views.alerts.transitions(now - 10, now) == [
        ("farm_error", "farm x", Transition.FIRE.value, now - 5)
    ]
