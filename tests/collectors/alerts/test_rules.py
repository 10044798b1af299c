"""Each rule as a pure function over an AlertInputs snapshot."""

from __future__ import annotations

import math

from collectors.alerts import rules
from collectors.models.alerts import (
    AI3,
    AlertInputs,
    BalanceReading,
    Condition,
    FarmErrorEvent,
    FarmState,
    Miss,
    MissKind,
    NodeState,
    Rule,
    SourceActivity,
    TargetHealth,
    WalletState,
    WalletTransfer,
)
from collectors.models.notify import Severity
from collectors.settings import AlertsSettings

US = 1_000_000
MIN = 60 * US
HOUR = 60 * MIN
NOW = 1_750_406_400 * US
S = AlertsSettings()


def farm(**kw: object) -> FarmState:
    base: dict[str, object] = {
        "farm_id": "01JC6R9K8Q3X2V7N5M4T0B1YZD",
        "farmer": "alice",
        "first_seen_us": NOW - 30 * 24 * HOUR,
        "last_seen_us": NOW,
    }
    base.update(kw)
    return FarmState(**base)  # type: ignore[arg-type]


def only(conditions: list[Condition]) -> Condition:
    assert len(conditions) == 1
    return conditions[0]


def test_endpoint_down_only_after_the_threshold() -> None:
    down = TargetHealth(
        "farmer:http://x/metrics",
        "farmer",
        "x",
        False,
        NOW - HOUR,
        last_attempt_us=NOW,
        last_success_us=NOW - 4 * MIN,
        last_error="connection refused",
    )
    assert not only(rules.endpoint_down(AlertInputs(NOW, targets=(down,)), S)).active
    longer = TargetHealth(
        "farmer:http://x/metrics",
        "farmer",
        "x",
        False,
        NOW - HOUR,
        last_attempt_us=NOW,
        last_success_us=NOW - 6 * MIN,
    )
    c = only(rules.endpoint_down(AlertInputs(NOW, targets=(longer,)), S))
    assert c.active
    assert c.severity is Severity.ERROR
    assert "6 min" in c.detail
    never = TargetHealth("node:http://n/metrics", "node", "n", True, NOW, last_attempt_us=None)
    assert rules.endpoint_down(AlertInputs(NOW, targets=(never,)), S) == []


def test_logs_silent_uses_a_longer_limit_for_farmers() -> None:
    node = SourceActivity("file:local:node.log", "node", NOW - 11 * MIN, NOW - 30 * 24 * HOUR)
    farmer = SourceActivity("file:local:farmer.log", "farmer", NOW - 11 * MIN, NOW - 9 * HOUR)
    out = {
        c.subject: c.active for c in rules.logs_silent(AlertInputs(NOW, sources=(node, farmer)), S)
    }
    assert out == {"file:local:node.log": True, "file:local:farmer.log": False}


def test_node_not_synced_and_low_peers() -> None:
    behind = NodeState(
        "node:http://n", NOW - 30 * US, best=100, sync_target=150, peers=2, major_syncing=False
    )
    synced = NodeState(
        "node:http://m", NOW - 30 * US, best=150, sync_target=150, peers=40, major_syncing=False
    )
    stale = NodeState("node:http://o", NOW - HOUR, best=1, sync_target=999, peers=0)
    inputs = AlertInputs(NOW, nodes=(behind, synced, stale))
    sync = {c.subject: c.active for c in rules.node_not_synced(inputs, S)}
    peers = {c.subject: c.active for c in rules.node_low_peers(inputs, S)}
    assert sync == {"node:http://n": True, "node:http://m": False}
    assert peers == {"node:http://n": True, "node:http://m": False}
    syncing = NodeState("node:http://n", NOW, best=150, sync_target=150, major_syncing=True)
    assert only(rules.node_not_synced(AlertInputs(NOW, nodes=(syncing,)), S)).active


def test_farm_error_fatal_and_rising() -> None:
    fatal = farm(errors=(FarmErrorEvent(NOW - MIN, "Farm errored and stopped: I/O", True),))
    c = only(rules.farm_error(AlertInputs(NOW, farms=(fatal,)), S))
    assert c.active
    assert c.severity is Severity.ERROR
    assert "I/O" in c.detail
    old = farm(errors=(FarmErrorEvent(NOW - HOUR, "Farm errored and stopped: I/O", True),))
    assert not only(rules.farm_error(AlertInputs(NOW, farms=(old,)), S)).active
    rising = farm(
        farming_error_totals=(
            (NOW - 4 * MIN, 10.0),
            (NOW - 2 * MIN, 12.0),
            (NOW - MIN, 0.0),
            (NOW, 1.0),
        )
    )
    c = only(rules.farm_error(AlertInputs(NOW, farms=(rising,)), S))
    assert c.active  # 2 before the restart + 1 after it
    assert c.severity is Severity.WARNING
    flat = farm(farming_error_totals=((NOW - 4 * MIN, 10.0), (NOW, 11.0)))
    assert not only(rules.farm_error(AlertInputs(NOW, farms=(flat,)), S)).active


def test_counter_increase_treats_a_drop_as_a_restart() -> None:
    assert rules.counter_increase([5.0, 7.0, 1.0, 4.0]) == 2 + 1 + 3
    assert rules.counter_increase([]) == 0


def test_farm_missing_from_run_and_from_metrics() -> None:
    restarted = farm(in_latest_run=False, latest_run_started_us=NOW - 11 * MIN)
    settling = farm(in_latest_run=False, latest_run_started_us=NOW - 2 * MIN)
    scraped = farm(in_latest_scrape=False, last_seen_us=NOW - 20 * MIN)
    present = farm(in_latest_run=True, in_latest_scrape=True)
    unknown = farm()
    for f, expected in ((restarted, True), (settling, False), (scraped, True), (present, False)):
        assert only(rules.farm_missing(AlertInputs(NOW, farms=(f,)), S)).active is expected
    assert rules.farm_missing(AlertInputs(NOW, farms=(unknown,)), S) == []


def test_plotting_stalled_only_while_work_remains() -> None:
    stalled = farm(plot_kind="plotting", plot_percent=42.0, plot_updated_us=NOW - 4 * HOUR)
    moving = farm(plot_kind="plotting", plot_percent=42.0, plot_updated_us=NOW - 10 * MIN)
    done = farm(
        plot_kind="replotting",
        plot_percent=99.9,
        plot_updated_us=NOW - 9 * HOUR,
        plot_complete=True,
    )
    nothing_left = farm(
        plot_kind="plotting", plot_percent=99.0, plot_updated_us=NOW - 9 * HOUR, sectors_remaining=0
    )
    got = [
        only(rules.plotting_stalled(AlertInputs(NOW, farms=(f,)), S)).active
        for f in (stalled, moving, done, nothing_left)
    ]
    assert got == [True, False, False, False]


def test_missed_rewards_in_the_window() -> None:
    missed = farm(
        misses=(
            Miss(NOW - 5 * MIN, MissKind.FAILED_SOLUTION, "Solution was ignored"),
            Miss(NOW - 2 * HOUR, MissKind.PROVING_SKIPPED),
        )
    )
    c = only(rules.missed_rewards(AlertInputs(NOW, farms=(missed,)), S))
    assert c.active
    assert "1 failed solution" in c.detail
    assert "proving skipped" not in c.detail
    old = farm(misses=(Miss(NOW - 2 * HOUR, MissKind.PROVING_SKIPPED),))
    assert not only(rules.missed_rewards(AlertInputs(NOW, farms=(old,)), S)).active


def test_no_reward_uses_the_farms_own_rate() -> None:
    # 20 wins in 7 days, one every ~8.4 h; silent for 3 days now.
    wins = tuple(NOW - 3 * 24 * HOUR - i * 4 * HOUR for i in range(20))
    slow = farm(reward_times_us=wins)
    c = only(rules.no_reward(AlertInputs(NOW, farms=(slow,)), S))
    assert c.active
    assert "its own recent rate" in c.detail
    # The same gap for a farm that wins once a day is normal.
    daily = tuple(NOW - 2 * 24 * HOUR - i * 24 * HOUR for i in range(5))
    assert not only(
        rules.no_reward(AlertInputs(NOW, farms=(farm(reward_times_us=daily),)), S)
    ).active


def test_no_reward_threshold_follows_the_confidence() -> None:
    rate_per_h = 1.0  # 168 wins in the week
    wins = tuple(NOW - int((i + 0.5) * HOUR) for i in range(168))
    f = farm(reward_times_us=wins, first_seen_us=NOW - 7 * 24 * HOUR)
    expected_gap_h = -math.log(1 - S.no_reward_confidence) / rate_per_h
    assert 6.5 < expected_gap_h < 7.5
    assert not only(rules.no_reward(AlertInputs(NOW, farms=(f,)), S)).active


def test_no_reward_uses_the_share_of_space_for_a_young_farm() -> None:
    tib = 2**40
    old = farm(
        farm_id="A",
        allocated_bytes=3 * tib,
        reward_times_us=tuple(NOW - i * HOUR for i in range(1, 60)),
    )
    young = farm(farm_id="B", allocated_bytes=1 * tib, first_seen_us=NOW - 100 * HOUR)
    inputs = AlertInputs(NOW, farms=(old, young), farmer_rewards_us={"alice": old.reward_times_us})
    c = {x.subject: x for x in rules.no_reward(inputs, S)}["B"]
    assert "25% share" in c.detail
    # Expected a win every ~11 h, so 99.9% confidence means ~79 h: 100 h without one is news.
    assert c.active
    younger = farm(farm_id="B", allocated_bytes=1 * tib, first_seen_us=NOW - 40 * HOUR)
    inputs = AlertInputs(
        NOW, farms=(old, younger), farmer_rewards_us={"alice": old.reward_times_us}
    )
    assert not {x.subject: x for x in rules.no_reward(inputs, S)}["B"].active
    too_young = farm(farm_id="C", allocated_bytes=tib, first_seen_us=NOW - 2 * HOUR)
    inputs = AlertInputs(NOW, farms=(too_young,))
    assert rules.no_reward(inputs, S) == []  # no evidence, no verdict


def test_balance_drop_without_a_known_transfer() -> None:
    w = WalletState(
        "su1",
        "main",
        readings=(
            BalanceReading(NOW - 3 * HOUR, 500 * AI3, 100),
            BalanceReading(NOW - 2 * HOUR, 400 * AI3, 200),  # 100 out, on record
            BalanceReading(NOW - HOUR, 390 * AI3, 300),  # 10 gone, no record
        ),
        transfers=(WalletTransfer(NOW - 2 * HOUR - MIN, 100 * AI3, True, "su2", "0xab:1", 150),),
    )
    c = only(rules.balance_drop(AlertInputs(NOW, wallets=(w,)), S))
    assert c.active
    assert "10 AI3" in c.detail
    explained = WalletState("su1", "main", readings=w.readings[:2], transfers=w.transfers)
    assert not only(rules.balance_drop(AlertInputs(NOW, wallets=(explained,)), S)).active


def test_large_transfer_out_threshold_and_window() -> None:
    w = WalletState(
        "su1",
        "main",
        transfers=(
            WalletTransfer(NOW - HOUR, 150 * AI3, True, "su9", "0x1:2"),
            WalletTransfer(NOW - HOUR, 5 * AI3, True, "su9", "0x1:3"),
            WalletTransfer(NOW - HOUR, 500 * AI3, False, "su9", "0x1:4"),
            WalletTransfer(NOW - 7 * HOUR, 900 * AI3, True, "su9", "0x0:1"),
            WalletTransfer(NOW - HOUR, 900 * AI3, True, "su9", "0x1:5", announced=True),
        ),
    )
    got = {c.subject: c.active for c in rules.large_transfer_out(AlertInputs(NOW, wallets=(w,)), S)}
    assert got == {"su1:0x1:2": True, "su1:0x0:1": False}


def test_policy_reads_settings() -> None:
    s = AlertsSettings(grace_minutes={"farm_error": 2.0}, remind_first_hours=0.5)
    p = rules.policy_for(Rule.FARM_ERROR, s)
    assert p.grace_s == 120.0
    assert p.remind_first_s == 1800.0
    assert rules.policy_for(Rule.NODE_NOT_SYNCED, S).grace_s == 600.0
    assert not rules.policy_for(Rule.LARGE_TRANSFER_OUT, S).announce_resolve
