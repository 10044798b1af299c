"""EngineLogDecoder: a logs response's chunked body to stamped lines, the same as undoing the
chunking, the frames and the stamps one after the other (how cosmos read it before)."""

from __future__ import annotations

import itertools
import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.parsing.decode import Framing, LineDecoder
from collectors.parsing.docker_stream import (
    ChunkedBodyError,
    EngineLogDecoder,
    fixed_stamp,
    split_stamp,
)

WHERE = "d1:c0ffee:"
MAX_LINE = 200
BASE_NS = 1_750_406_400_000_000_000  # 2025-06-20T08:00:00Z


def frame(payload: bytes, stream: int = 1) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def chunk(payload: bytes, extension: bytes = b"") -> bytes:
    return b"%x%s\r\n" % (len(payload), extension) + payload + b"\r\n"


def stamp(ts_ns: int) -> str:
    return fixed_stamp(ts_ns).decode()


def dechunk(body: bytes) -> bytes:
    """The reference: RFC 9112 §7.1 decoding of a whole body, the simple way."""
    out, pos = bytearray(), 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[eol + 2 : eol + 2 + size]
        assert body[eol + 2 + size : eol + 4 + size] == b"\r\n"
        pos = eol + 4 + size


def reference(
    payload: bytes, framing: Framing, after: tuple[int, int] | None
) -> list[tuple[str, str, int]]:
    """What the reader did before: LineDecoder, then the stamp, then skip and count."""
    decoder = LineDecoder(framing, max_line_bytes=MAX_LINE + 40)
    skip_ts, skip_count = after if after else (-1, 0)
    last_ts, at_ts = after if after else (-1, 0)
    skipped = 0
    out = []
    for line in decoder.feed(payload):
        text, ts_ns = split_stamp(line.text)
        if ts_ns is None:
            ts_ns = max(last_ts, 0)
        if ts_ns < skip_ts:
            continue
        if ts_ns == skip_ts and skipped < skip_count:
            skipped += 1
            continue
        if ts_ns == last_ts:
            at_ts += 1
        else:
            last_ts, at_ts = ts_ns, 1
        out.append((text, f"{WHERE}{last_ts}:{at_ts}", ts_ns // 1000))
    return out


def decode(
    body: bytes,
    cuts: list[int],
    framing: Framing,
    after: tuple[int, int] | None = None,
    *,
    chunked: bool = True,
) -> list[tuple[str, str, int]]:
    decoder = EngineLogDecoder(
        framing, chunked=chunked, where=WHERE, max_line_bytes=MAX_LINE, after=after
    )
    got = []
    edges = [0, *sorted(c % (len(body) + 1) for c in cuts), len(body)]
    for start, end in itertools.pairwise(edges):
        got.extend(decoder.feed(body[start:end]))
    return [(line.text, line.position, line.received_us) for line in got]


# --- the strategies: what dockerd (or a proxy in front of it) may send ----------------------

texts = st.one_of(
    st.sampled_from(["INFO Plotting sector (16.21% complete)", "ünïcödé ✨", "", "x" * 300]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
)
stamps = st.one_of(
    st.just("fixed"),
    st.just("fixed"),
    st.just("fixed"),
    st.sampled_from(["short", "none", "zone", "bad-hour"]),
)


@st.composite
def messages(draw: st.DrawFn) -> list[bytes]:
    """Log messages as dockerd writes them with timestamps=1: bursts share a stamp."""
    out: list[bytes] = []
    ts = BASE_NS + draw(st.integers(0, 10**12))
    for _ in range(draw(st.integers(0, 25))):
        ts += draw(st.sampled_from([0, 0, 1, 1_000, 999_999_999, 86_400 * 10**9]))
        text = draw(texts)
        kind = draw(stamps)
        if kind == "fixed":
            line = f"{stamp(ts)} {text}"
        elif kind == "short":
            line = f"{stamp(ts)[:19]}.5Z {text}"
        elif kind == "zone":
            line = f"{stamp(ts)[:-1]}+00:00 {text}"
        elif kind == "bad-hour":
            line = f"2025-06-20T25:00:00.000000000Z {text}"
        else:
            line = text
        end = draw(st.sampled_from(["\n", "\n", "\r\n", "\nsecond line\n", ""]))
        out.append((line + end).encode())
    return out


@st.composite
def bodies(draw: st.DrawFn, framed: bool) -> tuple[bytes, bytes]:
    """(chunked body, its payload): one chunk per message as dockerd sends, or re-chunked."""
    payloads = [frame(m, draw(st.sampled_from([1, 2]))) if framed else m for m in draw(messages())]
    payload = b"".join(payloads)
    if draw(st.booleans()):
        pieces = [p for p in payloads if p]
    else:  # a proxy that chunks as it likes
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=12)))
        edges = [0, *cuts, len(payload)]
        pieces = [payload[a:b] for a, b in itertools.pairwise(edges) if b > a]
    extension = draw(st.sampled_from([b"", b"", b";name=value"]))
    return b"".join(chunk(p, extension) for p in pieces) + b"0\r\n\r\n", payload


@settings(max_examples=400, deadline=None)
@given(bodies(framed=True), st.lists(st.integers(0, 10**6), max_size=8))
def test_frames_over_chunks_decode_as_the_reference_does(
    body_payload: tuple[bytes, bytes], cuts: list[int]
) -> None:
    body, payload = body_payload
    assert dechunk(body) == payload
    expected = reference(payload, Framing.DOCKER_FRAMES, None)
    assert decode(body, cuts, Framing.DOCKER_FRAMES) == expected


@settings(max_examples=300, deadline=None)
@given(bodies(framed=False), st.lists(st.integers(0, 10**6), max_size=8))
def test_tty_bytes_over_chunks_decode_as_the_reference_does(
    body_payload: tuple[bytes, bytes], cuts: list[int]
) -> None:
    body, payload = body_payload
    assert decode(body, cuts, Framing.PLAIN) == reference(payload, Framing.PLAIN, None)


@settings(max_examples=300, deadline=None)
@given(bodies(framed=True), st.lists(st.integers(0, 10**6), max_size=4), st.data())
def test_a_resume_point_drops_what_was_delivered_as_the_reference_does(
    body_payload: tuple[bytes, bytes], cuts: list[int], data: st.DataObject
) -> None:
    body, payload = body_payload
    full = reference(payload, Framing.DOCKER_FRAMES, None)
    if full:
        _, position, _ = data.draw(st.sampled_from(full))
        ts_ns, count = (int(x) for x in position.rsplit(":", 2)[1:])
    else:
        ts_ns, count = BASE_NS, 1
    after = (ts_ns, count)
    expected = reference(payload, Framing.DOCKER_FRAMES, after)
    assert decode(body, cuts, Framing.DOCKER_FRAMES, after) == expected


@settings(max_examples=200, deadline=None)
@given(bodies(framed=True), st.lists(st.integers(0, 10**6), max_size=8))
def test_a_payload_without_chunking_decodes_the_same(
    body_payload: tuple[bytes, bytes], cuts: list[int]
) -> None:
    _, payload = body_payload
    expected = reference(payload, Framing.DOCKER_FRAMES, None)
    assert decode(payload, cuts, Framing.DOCKER_FRAMES, chunked=False) == expected


# --- the edges, one by one ------------------------------------------------------------------


def test_a_line_carries_its_stamp_to_the_nanosecond_and_counts_a_burst() -> None:
    ts = BASE_NS + 412_987_189
    body = b"".join(
        chunk(frame(f"{stamp(t)} {text}\n".encode()))
        for t, text in [(ts, "a"), (ts, "b"), (ts + 1, "c")]
    )
    decoder = EngineLogDecoder(
        Framing.DOCKER_FRAMES, chunked=True, where=WHERE, max_line_bytes=MAX_LINE
    )
    lines = decoder.feed(body)
    assert [(x.text, x.position) for x in lines] == [
        ("a", f"{WHERE}{ts}:1"),
        ("b", f"{WHERE}{ts}:2"),
        ("c", f"{WHERE}{ts + 1}:1"),
    ]
    assert lines[0].received_us == ts // 1000
    assert stamp(ts) == "2025-06-20T08:00:00.412987189Z"


def test_the_last_chunk_ends_the_stream_and_nothing_after_it_is_read() -> None:
    decoder = EngineLogDecoder(
        Framing.DOCKER_FRAMES, chunked=True, where=WHERE, max_line_bytes=MAX_LINE
    )
    body = chunk(frame(f"{stamp(BASE_NS)} one\n".encode())) + b"0\r\nTrailer: x\r\n\r\n"
    assert [x.text for x in decoder.feed(body)] == ["one"]
    assert decoder.ended
    assert decoder.feed(chunk(frame(f"{stamp(BASE_NS)} late\n".encode()))) == []


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\n" + b"x" * 10,  # not a size
        b"5\r\nhelloXX",  # no CRLF after the data
        b"1" * 2000,  # no size line at all
    ],
)
def test_a_body_that_is_not_chunked_is_refused_with_a_reason(body: bytes) -> None:
    decoder = EngineLogDecoder(Framing.PLAIN, chunked=True, where=WHERE, max_line_bytes=MAX_LINE)
    with pytest.raises(ChunkedBodyError):
        decoder.feed(body)


def test_an_over_long_line_is_cut_as_before() -> None:
    text = "é" * 1000
    payload = frame(f"{stamp(BASE_NS)} {text}\n".encode())
    got = decode(chunk(payload), [], Framing.DOCKER_FRAMES)
    assert got == reference(payload, Framing.DOCKER_FRAMES, None)
    assert len(got[0][0].encode()) <= MAX_LINE + 40


def test_fixed_stamp_is_the_inverse_of_split_stamp() -> None:
    for ts in (0, BASE_NS, BASE_NS + 999_999_999, 4_102_444_800 * 10**9 - 1):
        assert split_stamp(f"{stamp(ts)} x") == ("x", ts)
    assert stamp(0) == datetime(1970, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
