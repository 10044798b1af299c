"""Pure follower logic: catch-up planning, gaps, the reorg fork point, live vs history."""

from __future__ import annotations

from collectors.chain.follow import (
    CatchUpPlan,
    fork_point,
    is_live,
    plan_catch_up,
    scan_back_range,
    settled_target,
)


def test_settled_target_is_depth_below_best() -> None:
    assert settled_target(100, 3) == 97
    assert settled_target(2, 3) is None
    assert settled_target(3, 3) == 0


def test_first_run_starts_now() -> None:
    assert plan_catch_up(None, 500, 14_400) == CatchUpPlan(500, 500, None)


def test_resume_within_lookback_scans_everything_missed() -> None:
    plan = plan_catch_up(1_000, 1_500, 14_400)
    assert (plan.start, plan.target, plan.gap, plan.blocks) == (1_001, 1_500, None, 500)


def test_exactly_lookback_behind_is_no_gap() -> None:
    assert plan_catch_up(100, 200, 100).gap is None


def test_beyond_lookback_reports_the_oldest_blocks_as_a_gap() -> None:
    plan = plan_catch_up(100, 20_000, 14_400)
    assert plan.gap == (101, 5_600)
    assert plan.start == 5_601
    assert plan.blocks == 14_400


def test_up_to_date_plans_nothing() -> None:
    assert plan_catch_up(500, 500, 10).blocks == 0


def test_fork_point_is_the_highest_stored_block_still_canonical() -> None:
    stored = {10: "a10", 11: "a11", 12: "a12", 13: "a13"}
    canonical = {13: "b13", 12: "b12", 11: "a11"}
    assert fork_point(stored, canonical) == 11


def test_fork_point_none_until_a_match_is_seen() -> None:
    stored = {10: "a10", 11: "a11"}
    assert fork_point(stored, {11: "b11"}) is None
    assert fork_point(stored, {}) is None


def test_no_reorg_means_the_top_is_the_fork_point() -> None:
    assert fork_point({5: "x", 6: "y"}, {6: "y"}) == 6


def test_scan_back_range() -> None:
    assert scan_back_range(1_000, 100) == (900, 999)
    assert scan_back_range(50, 100) == (0, 49)
    assert scan_back_range(1_000, 0) is None


def test_live_blocks_are_near_the_head() -> None:
    assert is_live(9_400, 10_000, 600)
    assert not is_live(9_399, 10_000, 600)
