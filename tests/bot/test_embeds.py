"""Pure rendering: every output within Discord's limits, whatever the input size."""

from __future__ import annotations

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.embeds import (
    EMBED_TOTAL_MAX,
    EmbedBuilder,
    check_limits,
    dashboard_embeds,
    farm_embeds,
    farms_embeds,
    notification_embed,
    pack,
    rewards_embeds,
    when,
)
from collectors.format import ai3
from collectors.models.notify import Notification, Severity, Topic
from collectors.models.views import (
    DashboardView,
    FarmDetail,
    FarmerView,
    FarmRewardRow,
    FarmStatus,
    FarmSummary,
    Problem,
    RewardBucket,
    RewardEntry,
    RewardsReport,
    WalletRewardRow,
)

NOW = 1_750_406_400_000_000


def farm(i: int, problems: int = 1, long: bool = False) -> FarmSummary:
    return FarmSummary(
        farm_id=f"01JC6R9K{i:018d}",
        farmer="farmer-" + ("x" * 300 if long else str(i % 3)),
        farm_index=i,
        directory=f"/mnt/{'very/' * (60 if long else 1)}farm{i}",
        allocated_bytes=4 * 2**40,
        allocated_text="4.0 TiB",
        status=FarmStatus.ERROR if problems else FarmStatus.FARMING,
        sectors_plotted=3000,
        sectors_total=3800,
        plot_kind="replotting",
        plot_percent=42.5,
        rewards_24h=i,
        misses_24h=1,
        last_reward_us=NOW - i * 60_000_000,
        problems=tuple(f"problem {k} " + "y" * (400 if long else 10) for k in range(problems)),
    )


def all_within_limits(embeds: list[discord.Embed]) -> None:
    for message in pack(embeds):
        assert check_limits(message) == []


def test_100_farms_split_into_messages_within_limits() -> None:
    embeds = farms_embeds([farm(i) for i in range(100)], NOW)
    assert sum(len(e.fields) for e in embeds) == 100
    messages = pack(embeds)
    assert len(messages) >= 2
    all_within_limits(embeds)


def test_huge_names_and_problems_are_clipped() -> None:
    embeds = farms_embeds([farm(i, problems=5, long=True) for i in range(40)], NOW)
    all_within_limits(embeds)
    for e in embeds:
        for f in e.fields:
            assert len(f.name or "") <= 256
            assert len(f.value or "") <= 1024


def test_farm_page_with_many_entries_stays_within_limits() -> None:
    entries = tuple(RewardEntry(NOW - k, "signed", "f", k, None) for k in range(10))
    detail = FarmDetail(
        summary=farm(1, problems=3, long=True),
        public_key="0x" + "ab" * 32,
        genesis_hash=None,
        first_seen_us=NOW,
        last_seen_us=NOW,
        sectors_by_state=(("Plotted", 3000),),
        plotting_eta_us=NOW + 3_600_000_000,
        proving=(),
        recent_rewards=entries,
        recent_misses=entries,
        recent_errors=tuple((NOW, "e" * 2000) for _ in range(5)),
    )
    all_within_limits(farm_embeds(detail))


def test_rewards_report_for_100_farms_and_wallets() -> None:
    report = RewardsReport(
        since_us=NOW - 7 * 86_400_000_000,
        until_us=NOW,
        farms=tuple(
            FarmRewardRow(f"01JC{i:022d}", "alpha", f"/mnt/farm{i}", 1, 2, 30, 1, 3 * 10**18)
            for i in range(100)
        ),
        wallets=tuple(WalletRewardRow(f"w{i}", f"su{i}", 5, 10**17) for i in range(30)),
        buckets=(RewardBucket(NOW, 1, 0, 0),),
        bucket_seconds=86_400,
    )
    embeds = rewards_embeds(report, "Rewards", "rewards.png")
    assert embeds[0].image.url == "attachment://rewards.png"
    all_within_limits(embeds)


def test_dashboard_is_one_message_even_for_100_farms() -> None:
    farms = tuple(farm(i, problems=2) for i in range(100))
    view = DashboardView(
        generated_us=NOW,
        nodes=(),
        farmers=tuple(FarmerView(f"f{i}", None, i == 0, (), 99.0, 1, True, NOW) for i in range(3)),
        farms=farms,
        wallets=(),
        problems=tuple(Problem(f"farm {i}", "error " * 20, None) for i in range(200)),
        rewards_24h=10,
        misses_24h=2,
    )
    embeds = dashboard_embeds(view)
    assert len(pack(embeds)) == 1
    assert check_limits(embeds) == []
    problems = next(f for f in embeds[0].fields if f.name == "Problems")
    assert "more" in (problems.value or "")


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=600),
    body=st.text(max_size=6000),
    fields=st.lists(st.tuples(st.text(max_size=400), st.text(max_size=2000)), max_size=40),
    severity=st.sampled_from(list(Severity)),
)
def test_any_notification_renders_within_limits(
    title: str, body: str, fields: list[tuple[str, str]], severity: Severity
) -> None:
    n = Notification("k", Topic.ALERTS, severity, title, body, tuple(fields), occurred_us=NOW)
    e = notification_embed(n)
    assert check_limits([e]) == []
    assert len(e) <= EMBED_TOTAL_MAX


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=3000), max_size=60))
def test_builder_lines_never_break_limits(lines: list[str]) -> None:
    b = EmbedBuilder("t" * 300, "d" * 5000)
    b.lines("name", lines)
    all_within_limits(b.footer("footer"))


def test_formatters() -> None:
    assert when(NOW) == "<t:1750406400:R>"
    assert when(None) == "never"
    assert ai3(12 * 10**18 + 345 * 10**15) == "12.345 AI3"
    assert ai3(10**17) == "0.1 AI3"
    assert ai3(-(5 * 10**18)) == "-5 AI3"
    assert ai3(1234 * 10**18) == "1,234 AI3"
