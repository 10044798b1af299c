"""Node and farmer log lines to typed events: one pure function, regexes compiled once.

The envelope (``<time> <LEVEL> [spans] <target>: <message>[ k=v ...]``) is cut first; the
message is then dispatched on its first word to the few patterns that can match it. The target
(module path) is skipped, never matched: it changes between versions. Colour codes, real or
written out literally as ``\\x1b[..m``, are removed first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from collectors.models.events import (
    Claimed,
    DsnPeers,
    DsnSyncError,
    DsnSyncStarted,
    Event,
    FarmAllocated,
    FarmCreationFailed,
    FarmDirectory,
    FarmDown,
    FarmerShutdown,
    FarmerStarted,
    FarmExitedOk,
    FarmGenesis,
    FarmHeader,
    FarmIdLine,
    FarmingError,
    FarmPublicKey,
    FarmResized,
    MetricsServerStarted,
    NodeChain,
    NodeImported,
    NodeInformant,
    NodeName,
    NodeReorg,
    NodeVersion,
    ParsedLine,
    PieceCacheCatchUp,
    PieceCacheCaughtUp,
    PieceCacheStart,
    PieceCacheSync,
    PieceCacheSynced,
    PlotFailed,
    PlotKind,
    PlotProgress,
    PlotRetry,
    PlottingComplete,
    ProveFailed,
    ProvingSkipped,
    RewardSignatureInvalid,
    RewardSigned,
    SectorSendFailed,
    SignatureFailed,
    SlowBlock,
    SolutionFailed,
    SolutionIgnored,
    SyncState,
    VoteFailed,
)
from collectors.parsing.cluster import CLUSTER_BY_FIRST_WORD, with_span_key
from collectors.parsing.decode import parse_rfc3339_us

__all__ = [
    "HotLine",
    "match_hot_line",
    "match_hot_line_re",
    "parse_line",
    "parse_size",
    "split_fields",
    "strip_ansi",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ANSI_LITERAL = re.compile(r"\\x1b\[[0-9;]*[A-Za-z]")

_ENVELOPE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) +(?P<level>TRACE|DEBUG|INFO|WARN|ERROR) "
    r"(?P<spans>(?:[\w-]*\{[^{}]*\}:)*) ?"
    r"(?:[A-Z][\w-]*: )?"  # a named span such as ``Consensus:``
    r"(?:[a-z_][a-z0-9_]*(?:::[a-z0-9_]+)*: )?"  # the target, skipped
    r"(?P<msg>.*)",
    re.S,
)
# 2023 node builds: local time, no zone, optional level, ``[Consensus]``-style prefixes.
_OLD_ENVELOPE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) +"
    r"(?:(?P<level>TRACE|DEBUG|INFO|WARN|ERROR) +)?"
    r"(?:\[[^\]]*\] +)*"
    r"(?:[a-z_][a-z0-9_]*(?:::[a-z0-9_]+)*: )?"
    r"(?P<msg>.*)",
    re.S,
)
_SPAN_FARM = re.compile(r"farm_index=(\d+)")
_SPAN_SECTOR = re.compile(r"sector_index=(\d+)")
_LEAD_SYMBOLS = re.compile(r"[^\w]+")
_FIELD_KEY = re.compile(r"(?:^| )([A-Za-z_][\w.]*)=")

# --- farmer messages --------------------------------------------------------------------------
_NUM = r"(\d+(?:\.\d+)?)"
_PLOT = re.compile(rf"(Plotting|Replotting) sector \({_NUM}% complete\)(.*)", re.S)
_PLOT_DONE = re.compile(r"(Initial plotting|Replotting) complete\s*$")
_REWARD = re.compile(r"Successfully signed reward hash (0x[0-9a-fA-F]+)")
_CACHE_SYNC = re.compile(rf"Piece cache sync {_NUM}% complete(?: \((.+?) / (.+?)\))?")
_CACHE_DONE = re.compile(r"Finished piece cache synchroni[sz]ation\s*$")
_PLOT_FAILED = re.compile(r"Failed to plot sector(?:, retrying in (\S+?))?(?: |$)")
_SIG_FAILED = re.compile(r"Failed to send signature for reward hash (0x[0-9a-fA-F]+)")
_SOLUTION_FAILED = re.compile(r"Failed to send solution to node\b")
_PROVING_SKIPPED = re.compile(r"Proving for solution skipped due to farming time limit\b")
_FARMING_ERROR = re.compile(r"Non-fatal farming error\b")
_FARM_HEADER = re.compile(r"(?:Single disk farm|Farm) (\d+):\s*$")
_FARM_EXITED = re.compile(r"Farm exited with error\b")
_FARM_STOPPED = re.compile(r"Farm errored and stopped\b")
_FARM_ID = re.compile(r"ID: (\S+)\s*$")
_GENESIS = re.compile(r"Genesis hash: (0x[0-9a-fA-F]+)")
_PUBLIC_KEY = re.compile(r"Public key: (0x[0-9a-fA-F]+)")
_ALLOCATED = re.compile(r"Allocated space: (.+?)\s*$")
_DIRECTORY = re.compile(r"Directory: (.+?)\s*$")
_SHUTDOWN = re.compile(r"Received (SIG[A-Z]+|Ctrl\+C), shutting down (farmer|node)\b")
_CONNECTING = re.compile(r"Connecting to node RPC\b")
# Today's upstream (UPSTREAM.md), each from its format string in autonomys/subspace.
_PROVE_FAILED = re.compile(r"Failed to prove, scheduling sector for replotting\b")
_SECTOR_SEND_FAILED = re.compile(r"Failed to send sector index for (initial plotting|replotting)\b")
_FARM_CREATION_FAILED = re.compile(r"Farm creation failed\b")
_FARM_RESIZED = re.compile(r"Farm size has changed\b")
_FARM_EXITED_OK = re.compile(r"Farm exited successfully\b")
_CACHE_START = re.compile(r"(Initializing|Synchronizing) piece cache\s*$")
_CACHE_CATCHUP = re.compile(r"Syncing piece cache to the latest history size\b")
_CACHE_CAUGHT_UP = re.compile(r"Finished syncing piece cache to the latest history size\b")
_PLOT_RETRY = re.compile(r"(Plotting|Replotting) sector retry\s*$")
_METRICS_SERVER = re.compile(r"Metrics server started\.")
_DSN_PEERS = re.compile(r"dsn: actively using (\d+)/(\d+) known peers")
_VOTE_FAILED = re.compile(r"Failed to submit vote\b")
_INVALID_SIGNATURE = re.compile(r"Received invalid signature for reward\b")
_RECEIVER_CLOSED = re.compile(r"Solution receiver is closed\b")
_SLOW_BLOCK = re.compile(r"Slow Consensus block execution, took (\d+) ms")
_DSN_SYNC_ERROR = re.compile(r"Error when syncing blocks from DSN\b")
_DSN_SYNC = re.compile(r"Received notification to sync from DSN\b")
# The fields logged after the DSN sync error (``error`` would otherwise run over them).
_DSN_SYNC_TAIL = re.compile(r" last_(?:completed_segment_index|processed_block_number)=.*$", re.S)
_CHAIN_SPEC = re.compile(r"Chain specification: (.+?)\s*$")
_NODE_NAME = re.compile(r"Node name: (.+?)\s*$")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTPE]i?B|kB|B)\b")

# --- node messages ----------------------------------------------------------------------------
_INFORMANT = re.compile(
    r"(?P<state>Idle|Syncing|Preparing|Pending|Block history)"
    r"(?:\s+(?P<bps>\d+(?:\.\d+)?) bps)?,?"
    r"(?:\s*target=#(?P<target>\d+)|\s*#(?P<target2>\d+))?"
    r"\s*\((?P<peers>\d+) peers?\),\s*best: #(?P<best>\d+) \((?P<best_hash>[^)]*)\),"
    r"\s*finalized #(?P<fin>\d+) \((?P<fin_hash>[^)]*)\)"
    r"(?:,\s*⬇ (?P<down>.*?)\s+⬆ (?P<up>.*?))?\s*$",
    re.S,
)
_IMPORTED = re.compile(r"Imported #(\d+) \(([^)\s]+?)(?:\s*(?:->|→)\s*([^)\s]+))?\)")
_REORG = re.compile(
    r"Reorg on #(\d+),\s*(\S+?) to #(\d+),\s*(\S+?),? common ancestor #(\d+),\s*(\S+)"
)
_CLAIMED = re.compile(r"Claimed (block|vote) at slot(?: slot=|\s+)(\d+)")
_IGNORED = re.compile(r"Solution was ignored\b")
_VERSION = re.compile(r"version (\S+)")

_STATES = {
    "Idle": SyncState.IDLE,
    "Syncing": SyncState.SYNCING,
    "Preparing": SyncState.PREPARING,
    "Pending": SyncState.PENDING,
    "Block history": SyncState.BLOCK_HISTORY,
}
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "eb": 1000**6,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
    "eib": 1024**6,
}


def strip_ansi(text: str) -> str:
    """Remove colour codes, real (``ESC[32m``) or written out (``\\x1b[32m``)."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\\x1b" in text:
        text = _ANSI_LITERAL.sub("", text)
    return text


def split_fields(text: str) -> tuple[str, dict[str, str]]:
    """Split ``message k=v k2=v2`` into the message and its fields.

    Values run to the next `` key=``; an ``error=`` value (which holds spaces and ``=``) runs
    to the end of the line, as does the last field.
    """
    matches = list(_FIELD_KEY.finditer(text))
    if not matches:
        return text, {}
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        key = match.group(1)
        if key == "error" or i + 1 == len(matches):
            fields[key] = text[match.end() :].rstrip()
            break
        fields[key] = text[match.end() : matches[i + 1].start()]
    return text[: matches[0].start()], fields


def parse_size(text: str) -> int | None:
    """``3.6 TiB`` -> bytes (the first figure in ``3.6 TiB (4.0 TB)``)."""
    match = _SIZE.search(text)
    if match is None:
        return None
    return round(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


# --- message handlers: the message (leading symbols removed) -> an event or None -------------


def _plot(body: str) -> Event | None:
    match = _PLOT.match(body)
    if match is None:
        retry = _PLOT_RETRY.match(body)
        if retry is not None:
            return PlotRetry(
                PlotKind.PLOTTING if retry.group(1) == "Plotting" else PlotKind.REPLOTTING
            )
        done = _PLOT_DONE.match(body)
        return PlottingComplete(PlotKind.REPLOTTING) if done else None
    kind = PlotKind.PLOTTING if match.group(1) == "Plotting" else PlotKind.REPLOTTING
    tail = match.group(3)
    sector = None
    if tail:
        found = _SPAN_SECTOR.search(tail)
        sector = int(found.group(1)) if found else None
    return PlotProgress(kind, float(match.group(2)), sector)


def _initial(body: str) -> Event | None:
    return PlottingComplete(PlotKind.PLOTTING) if _PLOT_DONE.match(body) else None


def _reward(body: str) -> Event | None:
    match = _REWARD.match(body)
    return RewardSigned(match.group(1).lower()) if match else None


def _piece(body: str) -> Event | None:
    match = _CACHE_SYNC.match(body)
    if match is None:
        return None
    return PieceCacheSync(float(match.group(1)), match.group(2), match.group(3))


def _finished(body: str) -> Event | None:
    if _CACHE_CAUGHT_UP.match(body):
        return PieceCacheCaughtUp()
    return PieceCacheSynced() if _CACHE_DONE.match(body) else None


def _cache_start(body: str) -> Event | None:
    match = _CACHE_START.match(body)
    return PieceCacheStart(match.group(1).lower()) if match else None


def _syncing(body: str) -> Event | None:
    # The farmer's piece cache catch-up and the node's informant share the first word.
    if _CACHE_CATCHUP.match(body):
        return PieceCacheCatchUp()
    return _informant(body)


def _failed(body: str) -> Event | None:
    if body.startswith("Failed to plot sector"):
        match = _PLOT_FAILED.match(body)
        if match is None:
            return None
        return PlotFailed(split_fields(body)[1].get("error"), match.group(1))
    match = _SIG_FAILED.match(body)
    if match is not None:
        return SignatureFailed(match.group(1).lower(), split_fields(body)[1].get("error"))
    if _SOLUTION_FAILED.match(body):
        fields = split_fields(body)[1]
        return SolutionFailed(
            _int(fields.get("slot")), _int(fields.get("sector_index")), fields.get("error")
        )
    if _PROVE_FAILED.match(body):
        fields = split_fields(body)[1]
        return ProveFailed(
            _int(fields.get("slot")), _int(fields.get("sector_index")), fields.get("error")
        )
    match = _SECTOR_SEND_FAILED.match(body)
    if match is not None:
        plot_kind = (
            PlotKind.PLOTTING if match.group(1) == "initial plotting" else PlotKind.REPLOTTING
        )
        return SectorSendFailed(plot_kind, split_fields(body)[1].get("error"))
    if _VOTE_FAILED.match(body):
        fields = split_fields(body)[1]
        return VoteFailed(_int(fields.get("slot")), fields.get("error"))
    return None


def _proving(body: str) -> Event | None:
    if not _PROVING_SKIPPED.match(body):
        return None
    fields = split_fields(body)[1]
    return ProvingSkipped(_int(fields.get("slot")), _int(fields.get("sector_index")))


def _non_fatal(body: str) -> Event | None:
    return FarmingError(split_fields(body)[1].get("error")) if _FARMING_ERROR.match(body) else None


def _farm(body: str) -> Event | None:
    match = _FARM_HEADER.match(body)
    if match is not None:
        return FarmHeader(int(match.group(1)))
    stopped = bool(_FARM_STOPPED.match(body))
    if stopped or _FARM_EXITED.match(body):
        fields = split_fields(body)[1]
        return FarmDown(_int(fields.get("farm_index")), fields.get("error"), stopped)
    if _FARM_EXITED_OK.match(body):
        return FarmExitedOk(_int(split_fields(body)[1].get("farm_index")))
    if _FARM_CREATION_FAILED.match(body):
        return FarmCreationFailed(split_fields(body)[1].get("error"))
    if _FARM_RESIZED.match(body):
        fields = split_fields(body)[1]
        return FarmResized(fields.get("old_space"), fields.get("new_space"))
    return None


def _farm_id(body: str) -> Event | None:
    match = _FARM_ID.match(body)
    return FarmIdLine(match.group(1)) if match else None


def _genesis(body: str) -> Event | None:
    match = _GENESIS.match(body)
    return FarmGenesis(match.group(1).lower()) if match else None


def _public_key(body: str) -> Event | None:
    match = _PUBLIC_KEY.match(body)
    return FarmPublicKey(match.group(1).lower()) if match else None


def _allocated(body: str) -> Event | None:
    match = _ALLOCATED.match(body)
    if match is None:
        return None
    return FarmAllocated(match.group(1), parse_size(match.group(1)))


def _directory(body: str) -> Event | None:
    match = _DIRECTORY.match(body)
    return FarmDirectory(match.group(1)) if match else None


def _received(body: str) -> Event | None:
    match = _SHUTDOWN.match(body)
    if match is not None:
        return FarmerShutdown(match.group(1), match.group(2))
    if _INVALID_SIGNATURE.match(body):
        return RewardSignatureInvalid(split_fields(body)[1].get("hash"))
    if _DSN_SYNC.match(body):
        return DsnSyncStarted(split_fields(body)[1].get("reason"))
    return None


def _metrics(body: str) -> Event | None:
    if not _METRICS_SERVER.match(body):
        return None
    return MetricsServerStarted(split_fields(body)[1].get("endpoints"))


def _dsn(body: str) -> Event | None:
    match = _DSN_PEERS.match(body)
    return DsnPeers(int(match.group(1)), int(match.group(2))) if match else None


def _slow(body: str) -> Event | None:
    match = _SLOW_BLOCK.match(body)
    if match is None:
        return None
    reference = split_fields(body)[1].get("reference_execution_time_ms")
    return SlowBlock(int(match.group(1)), _int(reference))


def _error(body: str) -> Event | None:
    if not _DSN_SYNC_ERROR.match(body):
        return None
    error = split_fields(body)[1].get("error")
    return DsnSyncError(_DSN_SYNC_TAIL.sub("", error) if error else None)


def _chain(body: str) -> Event | None:
    match = _CHAIN_SPEC.match(body)
    return NodeChain(match.group(1)) if match else None


def _node(body: str) -> Event | None:
    match = _NODE_NAME.match(body)
    return NodeName(match.group(1)) if match else None


def _connecting(body: str) -> Event | None:
    if not _CONNECTING.match(body):
        return None
    return FarmerStarted(split_fields(body)[1].get("url"))


def _informant(body: str) -> Event | None:
    match = _INFORMANT.match(body)
    if match is None:
        return None
    target = match.group("target") or match.group("target2")
    bps = match.group("bps")
    return NodeInformant(
        state=_STATES[match.group("state")],
        peers=int(match.group("peers")),
        best=int(match.group("best")),
        best_hash=match.group("best_hash"),
        finalized=int(match.group("fin")),
        finalized_hash=match.group("fin_hash"),
        target=int(target) if target else None,
        bps=float(bps) if bps else None,
        download=match.group("down"),
        upload=match.group("up"),
    )


def _imported(body: str) -> Event | None:
    match = _IMPORTED.match(body)
    if match is None:
        return None
    first, second = match.group(2), match.group(3)
    if second is None:
        return NodeImported(int(match.group(1)), first)
    return NodeImported(int(match.group(1)), second, first)


def _reorg(body: str) -> Event | None:
    match = _REORG.match(body)
    if match is None:
        return None
    g = match.groups()
    return NodeReorg(int(g[0]), g[1], int(g[2]), g[3], int(g[4]), g[5])


def _claimed(body: str) -> Event | None:
    match = _CLAIMED.match(body)
    return Claimed(int(match.group(2)), match.group(1) == "vote") if match else None


def _solution(body: str) -> Event | None:
    # ``Solution receiver is closed`` means the same as ``Solution was ignored``: too slow.
    if not (_IGNORED.match(body) or _RECEIVER_CLOSED.match(body)):
        return None
    return SolutionIgnored(_int(split_fields(body)[1].get("slot")))


def _version(body: str) -> Event | None:
    match = _VERSION.match(body)
    return NodeVersion(match.group(1)) if match else None


_Handler = Callable[[str], Event | None]
_BY_FIRST_WORD: dict[str, _Handler] = {
    "Plotting": _plot,
    "Replotting": _plot,
    "Successfully": _reward,
    "Piece": _piece,
    "Finished": _finished,
    "Initial": _initial,
    "Failed": _failed,
    "Proving": _proving,
    "Non-fatal": _non_fatal,
    "Farm": _farm,
    "Single": _farm,
    "ID": _farm_id,
    "Genesis": _genesis,
    "Public": _public_key,
    "Allocated": _allocated,
    "Directory": _directory,
    "Received": _received,
    "Connecting": _connecting,
    "Idle": _informant,
    "Syncing": _syncing,
    "Preparing": _informant,
    "Pending": _informant,
    "Block": _informant,
    "Imported": _imported,
    "Reorg": _reorg,
    "Claimed": _claimed,
    "Solution": _solution,
    "version": _version,
    "Initializing": _cache_start,
    "Synchronizing": _cache_start,
    "Metrics": _metrics,
    "dsn": _dsn,
    "Slow": _slow,
    "Error": _error,
    "Chain": _chain,
    "Node": _node,
}


def _message_event(msg: str) -> Event | None:
    body = msg.lstrip()
    if not body:
        return None
    first = body[0]
    if not (first.isascii() and first.isalnum()):
        # Node messages start with an emoji (and a variation selector): skip the symbols.
        body = _LEAD_SYMBOLS.sub("", body, count=1)
    space = body.find(" ")
    word = (body if space < 0 else body[:space]).rstrip(",:")
    handler = _BY_FIRST_WORD.get(word)
    event = handler(body) if handler is not None else None
    if event is None:
        cluster = CLUSTER_BY_FIRST_WORD.get(word)
        if cluster is not None:
            return cluster(body)
    return event


# The two lines that make up most of a farmer's log, in today's plain shape, in one match:
# ``<ts> INFO {farm_index=N}:[{sector_index=M}:] <target>: (Re)plotting sector (P% complete)``
# or ``… Successfully signed reward hash 0x…``. Anything else goes through parse_line.
# Its timestamp is matched only in the ranges parse_rfc3339_us accepts, in ASCII digits: a
# matched line's time always parses, so a caller may parse it later, or never.
_HOT_LINE = re.compile(
    r"((?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?Z)"
    r" +INFO \{farm_index=(\d+)\}:"
    r"(?:\{sector_index=(\d+)\}:)? [a-z_][a-z0-9_]*(?:::[a-z0-9_]+)*: "
    r"(?:(Plotting|Replotting) sector \((\d+(?:\.\d+)?)% complete\)"
    r"|Successfully signed reward hash (0x[0-9a-fA-F]+))$"
)
HotLine = tuple[str, str, str | None, str | None, str | None, str | None]

#: The hot-line pattern's ``match`` (a C call, for loops that cannot afford a Python one):
#: groups as :func:`match_hot_line` returns them.
match_hot_line_re = _HOT_LINE.match


def match_hot_line(text: str) -> HotLine | None:
    """The fast path for plotting progress and signed rewards (raw fields, no objects).

    Returns ``(ts, farm_index, sector_index, "Plotting"|"Replotting"|None, percent,
    reward_hash)`` only when :func:`parse_line` would give a :class:`PlotProgress` or a
    :class:`RewardSigned` for a current plain line, and ``parse_rfc3339_us(ts)`` is not None;
    None otherwise (then use parse_line).
    """
    match = _HOT_LINE.match(text)
    return match.groups() if match is not None else None  # type: ignore[return-value]


_FARM_FROM_EVENT = (FarmDown, FarmHeader, FarmExitedOk)
_SECTOR_FROM_EVENT = (PlotProgress, SolutionFailed, ProvingSkipped, ProveFailed)
_span_cache: dict[str, tuple[int | None, int | None]] = {}


def _span_indices(spans: str) -> tuple[int | None, int | None]:
    """``{farm_index=1}:{sector_index=612}:`` -> (1, 612); cached, spans repeat a lot."""
    known = _span_cache.get(spans)
    if known is not None:
        return known
    farm = _SPAN_FARM.search(spans)
    sector = _SPAN_SECTOR.search(spans)
    found = (
        int(farm.group(1)) if farm is not None else None,
        int(sector.group(1)) if sector is not None else None,
    )
    if len(_span_cache) >= 4096:
        _span_cache.clear()
    _span_cache[spans] = found
    return found


def parse_line(text: str) -> ParsedLine | None:
    """One log line (ANSI and all) to its event, or None when it says nothing we track."""
    if "\x1b" in text or "\\x1b" in text:
        text = strip_ansi(text)
    farm_index: int | None = None
    sector_index: int | None = None
    envelope = _ENVELOPE.match(text)
    if envelope is not None:
        ts, level, spans, msg = envelope.group("ts", "level", "spans", "msg")
        event = _message_event(msg)
        if event is None:
            return None
        if spans:
            farm_index, sector_index = _span_indices(spans)
            event = with_span_key(event, spans)
        ts_us = parse_rfc3339_us(ts)
        ts_local = False
    else:
        envelope = _OLD_ENVELOPE.match(text)
        if envelope is not None:
            ts, level, msg = envelope.group("ts", "level", "msg")
            ts_us = parse_rfc3339_us(ts)
            ts_local = True
        else:
            msg, ts_us, level, ts_local = text, None, None, False  # the bare old farm block
        event = _message_event(msg.rstrip("\r\n"))
        if event is None:
            return None
    if farm_index is None and isinstance(event, _FARM_FROM_EVENT):
        farm_index = event.farm_index
    if sector_index is None and isinstance(event, _SECTOR_FROM_EVENT):
        sector_index = event.sector_index
    return ParsedLine(event, ts_us, level, farm_index, sector_index, ts_local)
