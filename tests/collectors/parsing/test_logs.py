"""parse_line on every sample and on our own versioned fixtures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.models.events import (
    Claimed,
    EventKind,
    FarmAllocated,
    FarmDown,
    FarmerShutdown,
    FarmerStarted,
    FarmHeader,
    FarmIdLine,
    FarmingError,
    NodeChain,
    NodeImported,
    NodeInformant,
    NodeReorg,
    NodeVersion,
    ParsedLine,
    PieceCacheSync,
    PlotFailed,
    PlotKind,
    PlotProgress,
    PlottingComplete,
    ProvingSkipped,
    RewardSigned,
    SignatureFailed,
    SolutionFailed,
    SolutionIgnored,
    SyncState,
)
from collectors.parsing.decode import LineDecoder, detect_framing, parse_rfc3339_us
from collectors.parsing.logs import (
    match_hot_line,
    parse_line,
    parse_size,
    split_fields,
    strip_ansi,
)
from tests.conftest import FIXTURES, SAMPLES, needs_samples

LOGS = FIXTURES / "logs"
ZAE = "01JC6R9K9F4W3Y8P6N5V1C2ZAE"
YZD = "01JC6R9K8Q3X2V7N5M4T0B1YZD"
CEF = "01JD2Q7H5M8R3T6W9Y0A2B4CEF"


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    decoder = LineDecoder(detect_framing(data[:4096]))
    return [d.text for d in decoder.feed(data) + decoder.flush()]


def parsed(path: Path) -> list[ParsedLine]:
    return [p for p in map(parse_line, read_lines(path)) if p is not None]


def kinds(lines: list[ParsedLine]) -> Counter[EventKind]:
    return Counter(p.kind for p in lines)


def replay(lines: list[ParsedLine]) -> tuple[dict[int, str], Counter[str]]:
    """The attribution rule in its simplest form: a run resets, each farm block rebinds."""
    index_map: dict[int, str] = {}
    header: int | None = None
    rewards: Counter[str] = Counter()
    for p in lines:
        if isinstance(p.event, FarmerStarted):
            index_map.clear()
        elif isinstance(p.event, FarmHeader):
            header = p.event.farm_index
        elif isinstance(p.event, FarmIdLine) and header is not None:
            index_map[header] = p.event.farm_id
        elif isinstance(p.event, RewardSigned) and p.farm_index is not None:
            rewards[index_map[p.farm_index]] += 1
    return index_map, rewards


FARMER_FACTS = {
    EventKind.REWARD_SIGNED: 14,
    EventKind.SOLUTION_FAILED: 1,
    EventKind.PROVING_SKIPPED: 1,
    EventKind.PLOT_FAILED: 1,
    EventKind.REPLOTTING: 6,
    EventKind.REPLOTTING_COMPLETE: 1,
    EventKind.FARMER_START: 2,
    EventKind.FARM_HEADER: 6,
    EventKind.FARM_ID: 6,
    EventKind.FARMER_SHUTDOWN: 1,
    EventKind.FARMING_ERROR: 1,
}


@needs_samples
@pytest.mark.parametrize("name", ["farmer.log", "farmer-json.log"])
def test_farmer_sample_facts(name: str) -> None:
    lines = parsed(SAMPLES / name)
    counts = kinds(lines)
    for kind, expected in FARMER_FACTS.items():
        assert counts[kind] == expected, kind
    assert counts[EventKind.FARM_EXITED] + counts[EventKind.FARM_STOPPED] == 5
    index_map, rewards = replay(lines)
    assert index_map == {0: ZAE, 1: YZD, 2: CEF}
    assert rewards == {YZD: 8, ZAE: 5, CEF: 1}
    failed = next(p for p in lines if isinstance(p.event, SolutionFailed))
    assert failed.event == SolutionFailed(
        19427118,
        288,
        'ErrorObject { code: ServerError(9001), message: "Solution was ignored", data: None }',
    )
    assert failed.farm_index == 1
    skipped = next(p for p in lines if isinstance(p.event, ProvingSkipped))
    assert (skipped.event, skipped.farm_index) == (ProvingSkipped(19431904, 17), 2)
    down = [p.event for p in lines if isinstance(p.event, FarmDown)]
    assert down[0] == FarmDown(2, "Plotting I/O error: Input/output error (os error 5)", False)
    assert all(d.stopped and d.farm_index == 2 for d in down[1:])


@needs_samples
def test_farmer_sample_first_lines_envelope() -> None:
    lines = parsed(SAMPLES / "farmer.log")
    start = lines[0]
    assert start.event == FarmerStarted("ws://172.18.0.2:9944")
    assert start.ts_us == 1_750_406_400_412_907
    assert start.level == "INFO"
    plot = next(p for p in lines if isinstance(p.event, PlotProgress))
    assert plot.event == PlotProgress(PlotKind.PLOTTING, 16.21, None)
    assert (plot.farm_index, plot.sector_index) == (1, 612)
    allocated = [p.event for p in lines if isinstance(p.event, FarmAllocated)]
    assert allocated[0] == FarmAllocated("3.6 TiB (4.0 TB)", round(3.6 * 2**40))
    assert allocated[1].bytes == round(931.3 * 2**30)
    sync = next(p.event for p in lines if isinstance(p.event, PieceCacheSync))
    assert sync == PieceCacheSync(0.15, "100.0 MiB", "65.2 GiB")


@needs_samples
def test_docker_stream_sample_has_three_farm_blocks() -> None:
    lines = parsed(SAMPLES / "farmer-docker-logs-stream.bin")
    counts = kinds(lines)
    assert counts[EventKind.FARM_HEADER] == 3
    assert counts[EventKind.FARM_ID] == 3
    assert replay(lines)[0] == {1: ZAE, 2: CEF, 0: YZD}


@needs_samples
@pytest.mark.parametrize("name", ["node.log", "node-json.log"])
def test_node_sample_facts(name: str) -> None:
    lines = parsed(SAMPLES / name)
    counts = kinds(lines)
    assert counts[EventKind.NODE_INFORMANT] == 67
    assert counts[EventKind.NODE_IMPORTED] == 45
    assert counts[EventKind.CLAIMED_VOTE] == 1
    assert counts[EventKind.CLAIMED_BLOCK] == 1
    assert counts[EventKind.SOLUTION_IGNORED] == 1
    assert counts[EventKind.NODE_VERSION] == 1
    informants = [p.event for p in lines if isinstance(p.event, NodeInformant)]
    assert informants[0] == NodeInformant(
        SyncState.PREPARING,
        3,
        3245102,
        "0x0d55…8851",
        3245002,
        "0x9563…2d58",
        3245131,
        None,
        "0",
        "0",
    )
    assert informants[1].state is SyncState.SYNCING
    assert (informants[1].bps, informants[1].target) == (1.6, 3245131)
    assert informants[-1].state is SyncState.IDLE
    assert (informants[-1].best, informants[-1].finalized, informants[-1].peers) == (
        3245176,
        3245076,
        38,
    )
    imported = [p.event for p in lines if isinstance(p.event, NodeImported)]
    assert imported[0] == NodeImported(3245132, "0x2955…c816", "0x2194…cf80")
    assert [p.event for p in lines if isinstance(p.event, SolutionIgnored)] == [
        SolutionIgnored(19427118)
    ]


def test_old_farmer_2024_02_bare_block_and_disk_farm_spans() -> None:
    lines = parsed(LOGS / "farmer-2024-02.log")
    counts = kinds(lines)
    assert counts[EventKind.FARM_HEADER] == 2
    header = next(p for p in lines if isinstance(p.event, FarmHeader))
    assert (header.ts_us, header.level, header.farm_index) == (None, None, 0)
    assert replay(lines) == (
        {0: "01HKZ4QW3N8E5R7T9Y1U2I3O4P", 1: "01HKZ4QW3N8E5R7T9Y1U2I3O4Q"},
        Counter({"01HKZ4QW3N8E5R7T9Y1U2I3O4Q": 1}),
    )
    plots = [p for p in lines if isinstance(p.event, PlotProgress)]
    assert [(p.farm_index, p.sector_index, p.event.percent) for p in plots] == [
        (0, 0, 0.0),
        (1, 5, 12.34),
    ]
    assert next(p.event for p in lines if isinstance(p.event, PieceCacheSync)) == PieceCacheSync(
        12.34
    )
    skipped = next(p for p in lines if isinstance(p.event, ProvingSkipped))
    assert (skipped.farm_index, skipped.sector_index) == (0, 3)
    assert counts[EventKind.PIECE_CACHE_SYNCED] == 1
    done = next(p for p in lines if isinstance(p.event, PlottingComplete))
    assert (done.kind, done.farm_index) == (EventKind.INITIAL_PLOTTING_COMPLETE, 0)


def test_old_farmer_2024_03_single_disk_farm_with_envelope() -> None:
    lines = parsed(LOGS / "farmer-2024-03.log")
    assert replay(lines)[0] == {0: "01HQ0000000000000000000AAA"}
    plot = next(p for p in lines if isinstance(p.event, PlotProgress))
    assert (plot.farm_index, plot.sector_index) == (0, 7)
    failed = next(p for p in lines if isinstance(p.event, SignatureFailed))
    assert failed.event == SignatureFailed("0x" + "22" * 32, "Connection closed: reason=timeout")
    assert failed.farm_index == 0
    allocated = next(p.event for p in lines if isinstance(p.event, FarmAllocated))
    assert allocated.bytes == 500 * 2**30


def test_farmer_2024_05_trailing_sector_index_and_old_cache_sync() -> None:
    lines = parsed(LOGS / "farmer-2024-05.log")
    plots = [p for p in lines if isinstance(p.event, PlotProgress)]
    assert [(p.event.plot_kind, p.sector_index) for p in plots] == [
        (PlotKind.PLOTTING, 5),
        (PlotKind.REPLOTTING, 9),
    ]
    assert PieceCacheSync(33.3) in [p.event for p in lines]
    assert FarmingError("Failed to read chunk: x=1 y=2") in [p.event for p in lines]
    assert FarmerShutdown("SIGINT") in [p.event for p in lines]
    assert kinds(lines)[EventKind.REPLOTTING_COMPLETE] == 1


def test_node_2023_local_time_and_consensus_brackets() -> None:
    lines = parsed(LOGS / "node-2023.log")
    events = [p.event for p in lines]
    assert events == [
        NodeVersion("0.1.0-3f9d2a6c81e"),
        NodeChain("Subspace Gemini 3f"),
        NodeInformant(
            SyncState.SYNCING,
            8,
            123,
            "0xabcd…ef01",
            23,
            "0x1234…5678",
            500,
            12.4,
            "1.2MiB/s",
            "35 B/s",
        ),
        NodeImported(123, "0xabcd…ef01"),
        NodeImported(124, "0x9999…0000", "0xabcd…ef01"),
        NodeReorg(124, "0x9999…0000", 125, "0x7777…1111", 123, "0xabcd…ef01"),
        NodeInformant(
            SyncState.IDLE, 8, 125, "0x7777…1111", 25, "0x2222…3333", None, None, "0", "0"
        ),
        Claimed(777, vote=False),
        Claimed(778, vote=True),
    ]
    assert all(p.ts_local for p in lines)
    assert lines[0].ts_us == 1_693_828_800_000_000  # 2023-09-04 12:00:00 read as UTC


def test_node_current_variants() -> None:
    lines = parsed(LOGS / "node-current.log")
    states = [p.event.state for p in lines if isinstance(p.event, NodeInformant)]
    assert states == [
        SyncState.PREPARING,
        SyncState.SYNCING,
        SyncState.PENDING,
        SyncState.BLOCK_HISTORY,
        SyncState.IDLE,
    ]
    pending = next(p.event for p in lines if isinstance(p.event, NodeInformant))
    assert pending.target == 3245131
    imported = [p.event for p in lines if isinstance(p.event, NodeImported)]
    assert imported == [
        NodeImported(3245132, "0x2955…c816"),
        NodeImported(3245133, "0x9f3f…ddbd", "0x2955…c816"),
        NodeImported(3245134, "0x1203…ab5d", "0x9f3f…ddbd"),
    ]
    assert kinds(lines)[EventKind.NODE_REORG] == 1
    assert [p.event for p in lines if isinstance(p.event, Claimed)] == [
        Claimed(19426981, vote=True),
        Claimed(19427259, vote=False),
    ]


def test_escaped_colour_codes_inside_node_messages() -> None:
    lines = parsed(LOGS / "node-escaped-ansi.log")
    assert [p.event for p in lines] == [
        NodeInformant(
            SyncState.IDLE,
            40,
            3245133,
            "0x42ce…3e38",
            3245033,
            "0x6c36…4ef2",
            None,
            None,
            "107.5kiB/s",
            "79.8kiB/s",
        ),
        NodeInformant(
            SyncState.SYNCING,
            12,
            3245150,
            "0x1111…2222",
            3245050,
            "0x3333…4444",
            3245200,
            4.2,
            "1.5MiB/s",
            "20.1kiB/s",
        ),
        NodeImported(3245151, "0x5555…6666", "0x1111…2222"),
    ]


def test_ansi_lines_parse_like_plain_ones() -> None:
    plain = read_lines(LOGS / "farmer-current.log")
    ansi = read_lines(LOGS / "farmer-ansi.log")
    assert len(plain) == len(ansi) == 48
    assert all("\x1b[" in line for line in ansi)
    assert [strip_ansi(line) for line in ansi] == plain
    assert [parse_line(line) for line in ansi] == [parse_line(line) for line in plain]


def test_current_fixture_index_swap() -> None:
    lines = parsed(LOGS / "farmer-current.log")
    index_map, rewards = replay(lines)
    assert index_map == {0: "01JZBBBBBBBBBBBBBBBBBBBBBB", 1: "01JZAAAAAAAAAAAAAAAAAAAAAA"}
    assert rewards == {"01JZAAAAAAAAAAAAAAAAAAAAAA": 4, "01JZBBBBBBBBBBBBBBBBBBBBBB": 2}
    events = [p.event for p in lines]
    assert PlotFailed("Failed to download sector: piece=42", "1s") in events
    assert sum(isinstance(e, FarmDown) for e in events) == 2


def test_unknown_and_empty_lines_are_none() -> None:
    for line in [
        "",
        "   ",
        "hello",
        "2025-06-20T08:00:01.049818Z  INFO libp2p_swarm: local_peer_id=12D3KooW",
        "2025-06-20T08:00:01.049818Z  INFO x: Plotting sector",
        "2025-06-20T08:00:01.049818Z  INFO x: dsn: actively using some known peers",
        "2025-06-20T08:00:01.049818Z  INFO x: Successfully signed reward hash nothex",
        "2025-06-20T08:00:01.049818Z  INFO x: Finished syncing piece cache to the latest history",
    ]:
        assert parse_line(line) is None, line


def test_the_target_is_never_what_matches() -> None:
    line = (
        "2025-06-20T08:10:38.952780Z  INFO {farm_index=0}: {target}: "
        "Successfully signed reward hash 0xAB"
    )
    for target in ["subspace_farmer::single_disk_farm::reward_signing", "some_new::module", "x"]:
        got = parse_line(line.replace("{target}", target))
        assert got is not None
        assert got.event == RewardSigned("0xab")
        assert got.farm_index == 0


def test_split_fields() -> None:
    assert split_fields("Farm exited with error farm_index=2 error=Plotting I/O error: a=b c") == (
        "Farm exited with error",
        {"farm_index": "2", "error": "Plotting I/O error: a=b c"},
    )
    assert split_fields("no fields here") == ("no fields here", {})
    message, fields = split_fields(
        "Preparing pools a=[CpuCoreSet { cores: CpuSet(0-7,16-23), .. }] b=1"
    )
    assert message == "Preparing pools"
    assert fields == {"a": "[CpuCoreSet { cores: CpuSet(0-7,16-23), .. }]", "b": "1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.6 TiB (4.0 TB)", round(3.6 * 2**40)),
        ("931.3 GiB", round(931.3 * 2**30)),
        ("4.0 TB", 4 * 10**12),
        ("100 B", 100),
        ("lots", None),
    ],
)
def test_parse_size(text: str, expected: int | None) -> None:
    assert parse_size(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_parse_line_never_raises(text: str) -> None:
    parse_line(text)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(
        [
            "2025-06-20T08:00:28.938931Z  INFO {farm_index=1}:{sector_index=612}: a::b: ",
            "2025-06-20T08:00:28.938931Z ERROR a: ",
            "2023-09-04 12:00:00 [Consensus] ",
            "  ",
            "",
        ]
    ),
    message=st.sampled_from(
        [
            "Plotting sector (",
            "Successfully signed reward hash 0x",
            "Farm ",
            "Farm exited with error farm_index=",
            "💤 Idle (",
            "🏆 Imported #",
            "Failed to send solution to node slot=",
            "Allocated space: ",
            "Claimed vote at slot slot=",
        ]
    ),
    tail=st.text(max_size=80),
)
def test_parse_line_never_raises_on_near_misses(prefix: str, message: str, tail: str) -> None:
    parse_line(prefix + message + tail)


def _agrees_with_parse_line(text: str) -> bool:
    """match_hot_line is only a shortcut: where it matches, parse_line says the same."""
    hot = match_hot_line(text)
    if hot is None:
        return False
    ts, index, sector, plot_word, percent, reward_hash = hot
    full = parse_line(text)
    assert full is not None, text
    assert full.ts_us == parse_rfc3339_us(ts)
    assert full.farm_index == int(index)
    assert full.sector_index == (int(sector) if sector is not None else None)
    if reward_hash is not None:
        assert full.event == RewardSigned(reward_hash.lower())
    else:
        kind = PlotKind.PLOTTING if plot_word == "Plotting" else PlotKind.REPLOTTING
        assert full.event == PlotProgress(kind, float(percent or "nan"), None)
    return True


def test_hot_line_shortcut_agrees_with_parse_line_on_fixtures() -> None:
    texts = [line for path in sorted(LOGS.glob("*.log")) for line in read_lines(path)]
    hits = [t for t in texts if _agrees_with_parse_line(t)]
    # farmer-current.log: 5 progress lines and 6 signed rewards; farmer-2026-06.log: one of each
    assert len(hits) == 13
    assert match_hot_line(texts[0]) is None  # a start line is not hot
    ansi = read_lines(LOGS / "farmer-ansi.log")
    assert all(match_hot_line(t) is None for t in ansi)  # ANSI goes the full way


@needs_samples
def test_hot_line_shortcut_agrees_with_parse_line_on_samples() -> None:
    texts = read_lines(SAMPLES / "farmer.log")
    hits = sum(_agrees_with_parse_line(t) for t in texts)
    assert hits == 125 + 6 + 14  # every progress line and every signed reward


@settings(max_examples=300, deadline=None)
@given(
    spans=st.sampled_from(["{farm_index=1}:", "{farm_index=0}:{sector_index=5}:", "{x=1}:", ""]),
    level=st.sampled_from(["INFO", "WARN"]),
    message=st.sampled_from(
        [
            "Plotting sector (16.21% complete)",
            "Replotting sector (0% complete)",
            "Plotting sector (1.5% complete) sector_index=3",
            "Successfully signed reward hash 0xAbC",
            "Successfully signed reward hash 0xabc trailing",
        ]
    ),
    noise=st.text(max_size=5),
)
def test_hot_line_shortcut_never_disagrees(
    spans: str, level: str, message: str, noise: str
) -> None:
    text = f"2025-06-20T08:00:28.938931Z  {level} {spans} a::b: {message}{noise}"
    _agrees_with_parse_line(text)
