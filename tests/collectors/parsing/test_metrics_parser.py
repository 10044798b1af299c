from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.models.metrics import Histogram, MetricsLayout, ProvingOutcome
from collectors.parsing.metrics import (
    LineCache,
    MetricsParseError,
    counter_increase,
    histogram_delta,
    histogram_mean,
    histogram_quantile,
    merge_histograms,
    parse_farmer_metrics,
    parse_node_metrics,
    plotting_counter,
    plotting_eta_seconds,
    rate_per_hour,
)
from tests.conftest import FIXTURES, SAMPLES, needs_samples

METRICS = FIXTURES / "metrics"
FARM_A = "01HAAAAAAAAAAAAAAAAAAAAAAA"
FARM_B = "01HBBBBBBBBBBBBBBBBBBBBBBB"


def _read(name: str) -> str:
    return (METRICS / name).read_text()


# --- farmer bodies --------------------------------------------------------------------------


@needs_samples
def test_sample_farmer_body_yields_every_farm_and_its_figures() -> None:
    snap = parse_farmer_metrics((SAMPLES / "farmer_metrics.txt").read_text())
    assert snap.layout is MetricsLayout.CURRENT
    farms = {f.farm_id: f for f in snap.farms}
    assert set(farms) == {
        "01JC6R9K9F4W3Y8P6N5V1C2ZAE",
        "01JC6R9K8Q3X2V7N5M4T0B1YZD",
        "01JD2Q7H5M8R3T6W9Y0A2B4CEF",
    }
    zae = farms["01JC6R9K9F4W3Y8P6N5V1C2ZAE"]
    assert (zae.sectors_not_plotted, zae.sectors_plotted) == (3120, 655)
    assert zae.sectors_total == 3775
    assert zae.sectors_plotted_counter == 43
    assert zae.skipped_slots == 2
    assert zae.auditing.count == 7600
    assert zae.proving_count(ProvingOutcome.SUCCESS) == 3
    assert zae.proving_count(ProvingOutcome.REJECTED) == 1
    yzd = farms["01JC6R9K8Q3X2V7N5M4T0B1YZD"]
    assert (yzd.sectors_plotted, yzd.sectors_about_to_expire, yzd.sectors_not_plotted) == (
        1881,
        6,
        0,
    )
    assert yzd.plotted_fraction == 1.0
    cef = farms["01JD2Q7H5M8R3T6W9Y0A2B4CEF"]
    assert cef.proving_count(ProvingOutcome.TIMEOUT) == 1
    assert cef.farming_errors == 1
    assert snap.piece_cache_used == 66698
    assert snap.piece_cache_capacity == 66712
    assert (snap.plotter_capacity_used, snap.plotter_capacity_total) == (2, 2)
    assert snap.connections == 57


def test_current_fixture_maps_every_field() -> None:
    snap = parse_farmer_metrics(_read("farmer_current.txt"))
    assert snap.layout is MetricsLayout.CURRENT
    assert [f.farm_id for f in snap.farms] == [FARM_A, FARM_B]
    a, b = snap.farms
    assert (a.sectors_not_plotted, a.sectors_plotted, a.sectors_about_to_expire) == (90, 8, 1)
    assert a.sectors_expired == 1
    assert a.sectors_remaining == 91
    assert a.plotted_fraction == pytest.approx(0.10)
    assert a.sectors_plotted_counter == 10
    assert a.farming_errors == 3  # Io 2 + Decoding 1
    assert a.skipped_slots == 3
    assert a.auditing == Histogram(
        ((0.0016, 0), (0.0032, 50), (0.0064, 90), (0.0128, 100), (math.inf, 100)), 0.5, 100
    )
    assert [o for o, _ in a.proving] == [ProvingOutcome.SUCCESS, ProvingOutcome.TIMEOUT]
    assert a.proving_for(ProvingOutcome.TIMEOUT).sum == 3.5
    assert b.sectors_plotted == 200
    assert b.plotted_fraction == 1.0
    assert b.proving == ()
    # Gauges per plotter kind add up.
    assert (snap.plotter_capacity_used, snap.plotter_capacity_total) == (5, 6)
    assert (snap.piece_cache_used, snap.piece_cache_capacity, snap.connections) == (750, 1000, 12)
    assert snap.sectors_plotted_counter is None


def test_older_layout_is_read_through_the_same_aliases() -> None:
    snap = parse_farmer_metrics(_read("farmer_legacy.txt"))
    assert snap.layout is MetricsLayout.LEGACY
    c, d = snap.farms
    assert c.farm_id == "01HCCCCCCCCCCCCCCCCCCCCCCC"
    assert (c.sectors_not_plotted, c.sectors_plotted) == (40, 60)
    assert c.auditing.count == 80
    assert histogram_mean(c.auditing) == pytest.approx(0.005)
    assert c.proving_count(ProvingOutcome.SUCCESS) == 2
    assert c.proving_count(ProvingOutcome.FAILED) == 1
    # No per-farm counter in this layout: the farmer-wide one is kept, and the plotted-sector
    # count stands in for the farm's plotting counter.
    assert c.sectors_plotted_counter is None
    assert snap.sectors_plotted_counter == 17
    assert plotting_counter(c) == 60
    assert (d.sectors_about_to_expire, d.sectors_expired, d.sectors_remaining) == (2, 3, 3)
    assert plotting_counter(d) == 35


def test_a_farmer_that_has_not_opened_its_farms_yet_reports_none() -> None:
    body = _read("farmer_current.txt").split("# HELP subspace_farmer_farm_auditing")[0]
    snap = parse_farmer_metrics(body)
    assert snap.farms == ()
    assert snap.connections == 12


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<!DOCTYPE html><html><body>Login</body></html>", "HTML"),
        ("  <html><head></head></html>", "HTML"),
        ("\x00\x01\x02binary", "binary"),
        ("", "no farmer metrics"),
        ("hello world\nthis is not prometheus\n", "no farmer metrics"),
        ('{"status": "ok"}', "no farmer metrics"),
    ],
)
def test_bodies_that_are_not_metrics_are_rejected_with_a_reason(body: str, message: str) -> None:
    with pytest.raises(MetricsParseError, match=message):
        parse_farmer_metrics(body)


def test_a_node_body_is_not_taken_for_a_farmer() -> None:
    with pytest.raises(MetricsParseError, match="no farmer metrics"):
        parse_farmer_metrics(_read("node.txt"))


def test_a_broken_sample_line_is_reported() -> None:
    body = 'subspace_farmer_farm_sectors_total_Sectors{farm_id="01HA,state=Plotted 3\n'
    with pytest.raises(MetricsParseError, match="could not be parsed"):
        parse_farmer_metrics(body)


def test_line_cache_parses_only_changed_lines() -> None:
    body = _read("farmer_current.txt")
    cache = LineCache()
    first = parse_farmer_metrics(body, cache)
    assert cache.hits == 0
    misses = cache.misses
    assert parse_farmer_metrics(body, cache) == first
    assert (cache.hits, cache.misses) == (misses, misses)
    changed = body.replace(
        f'{{farm_id="{FARM_A}",state="Plotted"}} 8', f'{{farm_id="{FARM_A}",state="Plotted"}} 9'
    )
    third = parse_farmer_metrics(changed, cache)
    assert cache.misses == misses + 1
    assert third.farms[0].sectors_plotted == 9
    assert parse_farmer_metrics(changed) == third


# --- node bodies ----------------------------------------------------------------------------


@needs_samples
def test_sample_node_body() -> None:
    snap = parse_node_metrics((SAMPLES / "node_metrics.txt").read_text())
    assert (snap.best, snap.finalized, snap.sync_target) == (3245198, 3245098, 3245198)
    assert snap.peers == 40
    assert snap.major_syncing is False
    assert snap.version == "0.1.11-3f9d2a6c81e"
    assert snap.chain == "autonomys_mainnet"
    assert snap.blocks_behind == 0


def test_node_fixture_syncing_and_behind() -> None:
    snap = parse_node_metrics(_read("node.txt"))
    assert snap.major_syncing is True
    assert snap.blocks_behind == 500
    assert snap.peers == 7
    assert snap.node_name == "rack-node"


def test_a_farmer_body_is_not_taken_for_a_node() -> None:
    with pytest.raises(MetricsParseError, match="no node metrics"):
        parse_node_metrics(_read("farmer_current.txt"))


# --- histogram arithmetic -------------------------------------------------------------------

AUDIT = Histogram(
    ((0.0016, 0), (0.0032, 50), (0.0064, 90), (0.0128, 100), (math.inf, 100)), 0.5, 100
)


def test_histogram_mean_and_quantiles_interpolate_inside_the_bucket() -> None:
    assert histogram_mean(AUDIT) == pytest.approx(0.005)
    assert histogram_quantile(AUDIT, 0.5) == pytest.approx(0.0032)
    # rank 75 lies 25/40 of the way through the (0.0032, 0.0064] bucket.
    assert histogram_quantile(AUDIT, 0.75) == pytest.approx(0.0032 + 0.0032 * 25 / 40)
    assert histogram_quantile(AUDIT, 0.99) == pytest.approx(0.0064 + 0.0064 * 9 / 10)


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    h = Histogram(((0.4096, 0), (0.8192, 0), (math.inf, 1)), 3.5, 1)
    assert histogram_quantile(h, 0.99) == 0.8192


def test_empty_histograms_have_no_statistics() -> None:
    empty = Histogram(((0.1, 0), (math.inf, 0)), 0.0, 0)
    assert histogram_mean(empty) is None
    assert histogram_quantile(empty, 0.99) is None
    assert histogram_quantile(Histogram((), 0.0, 0), 0.5) is None
    with pytest.raises(ValueError, match="quantile"):
        histogram_quantile(AUDIT, 0)


def test_histogram_delta_is_what_was_observed_in_between() -> None:
    later = Histogram(
        ((0.0016, 0), (0.0032, 50), (0.0064, 150), (0.0128, 160), (math.inf, 160)), 0.9, 160
    )
    delta = histogram_delta(AUDIT, later)
    assert delta is not None
    assert delta.buckets == ((0.0016, 0), (0.0032, 0), (0.0064, 60), (0.0128, 60), (math.inf, 60))
    assert (delta.sum, delta.count) == (pytest.approx(0.4), 60)
    assert histogram_quantile(delta, 0.5) == pytest.approx(0.0032 + 0.0032 * 30 / 60)
    # A farmer restart resets the histogram: all of the later one is new.
    restarted = Histogram(
        ((0.0016, 1), (0.0032, 2), (0.0064, 2), (0.0128, 2), (math.inf, 2)), 0.01, 2
    )
    assert histogram_delta(AUDIT, restarted) is restarted
    assert histogram_delta(Histogram((), 0.0, 0), AUDIT) is AUDIT
    other_bounds = Histogram(((1.0, 200), (math.inf, 200)), 1.0, 200)
    assert histogram_delta(AUDIT, other_bounds) is None


def test_merge_adds_bucket_counts() -> None:
    a = Histogram(((1.0, 1), (math.inf, 2)), 3.0, 2)
    b = Histogram(((1.0, 0), (math.inf, 1)), 5.0, 1)
    assert merge_histograms([a, b]) == Histogram(((1.0, 1), (math.inf, 3)), 8.0, 3)
    assert merge_histograms([a]) is a
    assert merge_histograms([]).count == 0


@given(
    st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=8),
    st.floats(min_value=0.01, max_value=1.0),
    st.floats(min_value=0.01, max_value=1.0),
)
def test_quantiles_rise_with_q_and_stay_within_the_bounds(
    increments: list[int], q1: float, q2: float
) -> None:
    bounds = [0.001 * 2**i for i in range(len(increments))]
    cumulative = 0
    buckets = []
    for bound, step in zip(bounds, increments, strict=True):
        cumulative += step
        buckets.append((bound, float(cumulative)))
    buckets.append((math.inf, float(cumulative)))
    h = Histogram(tuple(buckets), 0.0, float(cumulative))
    low, high = sorted((q1, q2))
    a, b = histogram_quantile(h, low), histogram_quantile(h, high)
    if cumulative == 0:
        assert a is None
        assert b is None
        return
    assert a is not None
    assert b is not None
    assert 0 <= a <= b <= bounds[-1]


# --- rates and ETA --------------------------------------------------------------------------

MIN = 60_000_000


def test_counter_increase_survives_a_farmer_restart() -> None:
    assert counter_increase([(0, 10), (MIN, 12), (2 * MIN, 1), (3 * MIN, 4)]) == 2 + 1 + 3
    assert counter_increase([(0, 5)]) == 0


def test_rate_needs_a_minimum_span() -> None:
    samples = [(0, 10.0), (30 * MIN, 16.0)]
    assert rate_per_hour(samples, 10 * MIN) == pytest.approx(12.0)
    assert rate_per_hour(samples, 31 * MIN) is None
    assert rate_per_hour(samples[:1], 0) is None


def test_eta_from_remaining_sectors_and_rate() -> None:
    assert plotting_eta_seconds(24, 12.0) == pytest.approx(2 * 3600)
    assert plotting_eta_seconds(0, None) == 0.0
    assert plotting_eta_seconds(10, 0.0) is None
    assert plotting_eta_seconds(10, None) is None


# --- never raises ---------------------------------------------------------------------------


def _bodies() -> list[str]:
    found = [p.read_text() for p in sorted(METRICS.glob("*.txt"))]
    if SAMPLES.is_dir():
        found += [p.read_text() for p in sorted(SAMPLES.glob("*metrics.txt"))]
    return found


BODIES = _bodies()


def _parse_or_not_metrics(text: str) -> None:
    """Each parser gives a snapshot with finite numbers, or MetricsParseError: nothing else."""
    for parse in (parse_farmer_metrics, parse_node_metrics):
        for cache in (None, LineCache()):
            try:
                snap = parse(text, cache)  # type: ignore[operator]
            except MetricsParseError as exc:
                reason = str(exc)
                snap = None
            if snap is None:
                assert reason  # recorded against the endpoint as not metrics, with a reason
                continue
            numbers = [v for v in vars_of(snap) if isinstance(v, float | int)]
            assert all(math.isfinite(v) for v in numbers)


def vars_of(value: object) -> list[object]:
    """Every number inside a snapshot (its dataclasses, tuples and histograms)."""
    import dataclasses

    if isinstance(value, Histogram):  # a bucket's bound may be +Inf; its count may not
        return [value.sum, value.count, *(count for _, count in value.buckets)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [x for f in dataclasses.fields(value) for x in vars_of(getattr(value, f.name))]
    if isinstance(value, tuple):
        return [x for item in value for x in vars_of(item)]
    return [value]


@pytest.mark.parametrize(
    "text",
    [
        "   \n",
        'subspace_farmer_farm_sectors_total_Sectors{farm_id="a",state="Plotted"} 5\n \t\n',
        'subspace_farmer_farm_auditing_time_seconds_bucket{farm_id="a",le="abc"} 3\n',
        'subspace_farmer_farm_sectors_total_Sectors{farm_id="a",state="Plotted"} NaN\n',
        'subspace_farmer_farm_sectors_total_Sectors{farm_id="a",state="Plotted"} +Inf\n',
        'substrate_block_height{status="best"} NaN\nsubstrate_sub_libp2p_peers_count Inf\n',
        'substrate_block_height{status="best"} 1e400\n',
        'substrate_number_leaves{chain="a"} NaN\nsubstrate_block_height{status="best"} 5\n',
        'substrate_process_start_time_seconds 1e400\nsubstrate_block_height{status="best"} 5\n',
        'substrate_block_height{status="best" 5\n',
        'substrate_block_height{status="best"} 5 notatimestamp\n',
        "\x00\x01",
        "{}",
    ],
)
def test_bodies_that_broke_the_parser_are_not_metrics_or_parsed(text: str) -> None:
    _parse_or_not_metrics(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    _parse_or_not_metrics(text)


_MUTATION_ALPHABET = ' \t\n{}",=#.eE+-0123456789aInfNale_\x00\u00e9'


@settings(max_examples=500, deadline=None)
@given(
    body=st.sampled_from(BODIES),
    edits=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1, exclude_max=True),
            st.sampled_from(["delete", "insert", "replace", "cut", "duplicate"]),
            st.text(alphabet=_MUTATION_ALPHABET, min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_real_bodies_never_raise(body: str, edits: list[tuple[float, str, str]]) -> None:
    text = body
    for where, how, piece in edits:
        at = int(where * len(text))
        if how == "delete":
            text = text[:at] + text[at + len(piece) :]
        elif how == "insert":
            text = text[:at] + piece + text[at:]
        elif how == "replace":
            text = text[:at] + piece + text[at + len(piece) :]
        elif how == "cut":
            text = text[:at]
        else:
            line_end = text.find("\n", at)
            text = text[: line_end + 1] + text[at : line_end + 1] + text[line_end + 1 :]
    _parse_or_not_metrics(text)
