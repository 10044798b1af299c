"""The rewards chart cache: a chart is drawn once per distinct data, then handed back as is."""

from __future__ import annotations

import dataclasses

from bot.charts import ChartCache, rewards_chart
from bot.cogs.rewards import build_rewards_reply
from collectors.clock import FakeClock
from collectors.models.views import RewardBucket, RewardsReport
from collectors.store.database import Database
from collectors.store.views import ViewStore
from tests.bot.seed import seed

HOUR_US = 3_600_000_000


def report(*counts: tuple[int, int]) -> RewardsReport:
    buckets = tuple(
        RewardBucket(1_750_406_400_000_000 + i * HOUR_US, won, missed, 0)
        for i, (won, missed) in enumerate(counts)
    )
    return RewardsReport(0, len(counts) * HOUR_US, (), (), buckets, 3600)


async def test_the_same_data_is_drawn_once() -> None:
    charts = ChartCache(size=2)
    first = await charts.rewards(report((1, 0), (2, 1)))
    assert first == rewards_chart(report((1, 0), (2, 1)))
    # A new report object with the same buckets (and other numbers the chart does not draw).
    same = dataclasses.replace(report((1, 0), (2, 1)), blocks=7, until_us=123)
    assert await charts.rewards(same) is first
    assert charts.drawn == 1

    changed = await charts.rewards(report((1, 0), (2, 2)))
    assert changed != first
    assert charts.drawn == 2
    await charts.rewards(report((5, 5)))  # a third chart: the least recently used one goes
    assert charts.drawn == 3
    assert await charts.rewards(report((1, 0), (2, 2))) is changed
    await charts.rewards(report((1, 0), (2, 1)))
    assert charts.drawn == 4


async def test_rewards_reply_keeps_its_chart_until_a_reward_arrives(
    db: Database, clock: FakeClock
) -> None:
    now = clock.now_us()
    await seed(db, now, days=3)
    views = ViewStore(db)
    charts = ChartCache()
    _, _, first = await build_rewards_reply(views, now, "7d", charts=charts)
    _, _, again = await build_rewards_reply(views, now + 1_000_000, "7d", charts=charts)
    assert again is first
    assert charts.drawn == 1
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, line_hash)"
            " SELECT source_id, farmer_id, farm_id, ?, 'signed', 424242 FROM rewards LIMIT 1",
            (now - 60_000_000,),
        )
    _, _, after = await build_rewards_reply(views, now + 2_000_000, "7d", charts=charts)
    assert after != first
    assert charts.drawn == 2
