"""LineDecoder and detect_framing on the real shapes: plain, json-file, Engine API frames."""

from __future__ import annotations

import json
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.parsing.decode import (
    DecodedLine,
    Framing,
    LineDecoder,
    UnknownFormat,
    detect_framing,
    parse_rfc3339_us,
)
from tests.conftest import SAMPLES, needs_samples

LINES = [
    "2025-06-20T08:00:28.938931Z  INFO {farm_index=1}:{sector_index=612}: a::b: Plotting sector "
    "(16.21% complete)",
    "2025-06-20T08:42:13.999579Z  INFO Consensus: substrate: 💤 Idle (40 peers), best: #3245133",
    "ünïcödé ✨ line <with> & symbols",
    "",
    "last",
]


def json_entry(log: str, time: str = "2025-06-20T08:00:00.412987189Z") -> bytes:
    # Docker escapes <, > and & like Go's encoding/json.
    body = json.dumps({"log": log, "stream": "stdout", "time": time}, separators=(",", ":"))
    body = body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return body.encode() + b"\n"


def frame(payload: bytes, stream: int = 1) -> bytes:
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload


def decode_all(
    framing: Framing, data: bytes, step: int | None = None, **kw: object
) -> list[DecodedLine]:
    dec = LineDecoder(framing, **kw)  # type: ignore[arg-type]
    out: list[DecodedLine] = []
    if step is None:
        out += dec.feed(data)
    else:
        for i in range(0, len(data), step):
            out += dec.feed(data[i : i + step])
    return out + dec.flush()


PLAIN = ("\n".join(LINES) + "\n").encode()
JSON = b"".join(json_entry(line + "\n") for line in LINES)
FRAMES = b"".join(frame((line + "\n").encode()) for line in LINES)


def test_detect_framing() -> None:
    assert detect_framing(PLAIN[:64]) is Framing.PLAIN
    assert detect_framing(JSON[:64]) is Framing.JSON_FILE
    assert detect_framing(FRAMES[:64]) is Framing.DOCKER_FRAMES
    assert detect_framing(b"") is Framing.PLAIN
    assert detect_framing(b"\x1b[2m2025") is Framing.PLAIN


def test_a_nul_run_is_skipped_not_taken_for_frames() -> None:
    # copytruncate while the writer keeps its offset: the file starts with a hole of NULs.
    for run in (8, 13, 4096, 200_000):
        data = b"\0" * run + PLAIN
        assert detect_framing(data[:65536]) is Framing.PLAIN
        for step in (None, 7, 4096):
            got = decode_all(Framing.PLAIN, data, step=step, max_line_bytes=1024)
            assert [d.text for d in got] == LINES
            assert got[-1].end_offset == len(data)
    json_data = b"\0" * 100 + JSON
    assert detect_framing(json_data) is Framing.JSON_FILE
    assert [d.text for d in decode_all(Framing.JSON_FILE, json_data, step=5)] == LINES


def test_frames_are_decided_on_the_whole_chain() -> None:
    assert detect_framing(FRAMES) is Framing.DOCKER_FRAMES
    # One header-like start whose length leads nowhere: not frames, and not text either.
    with pytest.raises(UnknownFormat, match="lengths do not add up"):
        detect_framing(FRAMES[:20] + b"\x07\x00" * 100 + FRAMES[20:])
    # Text after a header-shaped first line is text.
    looks = b"\x01\x00\x00\x00\x00\x00\x00\x02ok" + b"not a frame at all\n" * 10
    assert detect_framing(looks) is Framing.PLAIN


def test_json_file_with_a_broken_first_entry_is_still_json_file() -> None:
    data = b'{"log":"cut in the mid\n' + JSON
    assert detect_framing(data) is Framing.JSON_FILE


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)) * 4, "gzip"),
        (b"\x28\xb5\x2f\xfd" + b"x" * 100, "zstd"),
        (random.Random(3).randbytes(4096), "binary"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x3e\x00" * 200, "binary"),
    ],
)
def test_what_is_no_log_is_refused_with_a_reason(head: bytes, message: str) -> None:
    with pytest.raises(UnknownFormat, match=message):
        detect_framing(head)


@pytest.mark.parametrize(
    ("framing", "data"),
    [(Framing.PLAIN, PLAIN), (Framing.JSON_FILE, JSON), (Framing.DOCKER_FRAMES, FRAMES)],
)
def test_split_at_every_byte_boundary(framing: Framing, data: bytes) -> None:
    whole = decode_all(framing, data)
    assert [d.text for d in whole] == LINES
    assert whole[-1].end_offset == len(data)
    for cut in range(1, len(data)):
        dec = LineDecoder(framing)
        got = dec.feed(data[:cut]) + dec.feed(data[cut:]) + dec.flush()
        assert got == whole, cut
    assert decode_all(framing, data, step=1) == whole
    assert decode_all(framing, data, step=7) == whole


def test_end_offsets_resume_exactly() -> None:
    lines = decode_all(Framing.PLAIN, PLAIN)
    for line in lines:
        rest = decode_all(Framing.PLAIN, PLAIN[line.end_offset :])
        assert [d.text for d in rest] == [d.text for d in lines if d.end_offset > line.end_offset]


def test_partial_line_is_held_until_complete_and_flushed_at_end() -> None:
    dec = LineDecoder(Framing.PLAIN)
    assert dec.feed(b"first half ") == []
    assert dec.feed(b"second half\nnext") == [DecodedLine("first half second half", 23)]
    assert dec.flush() == [DecodedLine("next", 27)]
    assert dec.flush() == []


def test_crlf_from_tty_containers() -> None:
    assert [d.text for d in decode_all(Framing.PLAIN, b"a\r\nb\r\n")] == ["a", "b"]
    data = json_entry("tty line\r\n")
    assert [d.text for d in decode_all(Framing.JSON_FILE, data)] == ["tty line"]


def test_invalid_utf8_is_replaced() -> None:
    got = decode_all(Framing.PLAIN, b"ok \xff\xfe bad\n")
    assert got[0].text == "ok \ufffd\ufffd bad"
    got = decode_all(Framing.JSON_FILE, b'{"log":"x \xff y\\n","time":"2025-06-20T08:00:00Z"}\n')
    assert got[0].text == "x \ufffd y"
    got = decode_all(Framing.JSON_FILE, b'{"log":"lone \\ud800 surrogate\\n"}\n')
    assert got[0].text == "lone ? surrogate"
    got[0].text.encode("utf-8")


def test_json_file_escapes_and_time() -> None:
    data = (
        b'{"log":"\\u001b[32m INFO\\u001b[0m \\u003chttps://x\\u003e \\u0026\\n",'
        b'"stream":"stdout","time":"2025-06-20T08:00:00.4129871Z"}\n'
    )
    (line,) = decode_all(Framing.JSON_FILE, data)
    assert line.text == "\x1b[32m INFO\x1b[0m <https://x> &"
    assert line.received_us == 1_750_406_400_412_987


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-20T08:00:00.412987189Z", 1_750_406_400_412_987),
        ("2025-06-20T08:00:00.4Z", 1_750_406_400_400_000),
        ("2025-06-20T08:00:00Z", 1_750_406_400_000_000),
        ("2025-06-20T08:00:00.41298Z", 1_750_406_400_412_980),
        ("2025-06-20T10:00:00+02:00", 1_750_406_400_000_000),
        ("not a time", None),
        ("2025-13-20T08:00:00Z", None),
    ],
)
def test_parse_rfc3339(value: str, expected: int | None) -> None:
    assert parse_rfc3339_us(value) == expected
    assert parse_rfc3339_us(value) == expected  # second time through the minute cache


def test_json_file_line_over_16k_split_over_entries() -> None:
    long = "x" * 40_000
    parts = [long[:16384], long[16384:32768], long[32768:] + "\n"]
    times = ["2025-06-20T08:00:00.1Z", "2025-06-20T08:00:00.2Z", "2025-06-20T08:00:00.3Z"]
    data = b"".join(json_entry(p, t) for p, t in zip(parts, times, strict=True)) + json_entry(
        "after\n"
    )
    for step in (None, 1000, 16385):
        got = decode_all(Framing.JSON_FILE, data, step=step)
        assert [d.text for d in got] == [long, "after"]
        assert got[0].received_us == 1_750_406_400_100_000
        # The long line's resume point is after its last entry.
        assert data[got[0].end_offset :].startswith(b'{"log":"after')


def test_over_long_lines_are_cut_not_held() -> None:
    big = b"y" * 1_000_000
    data = b"before\n" + big + b"\nafter\n"
    for step in (None, 4096):
        got = decode_all(Framing.PLAIN, data, step=step, max_line_bytes=1024)
        assert [d.text for d in got] == ["before", "y" * 1024, "after"]
        assert got[1].end_offset == len(b"before\n") + len(big) + 1
    dec = LineDecoder(Framing.PLAIN, max_line_bytes=1024)
    for i in range(0, len(big), 65536):
        dec.feed(big[i : i + 65536])
        assert len(dec._buf) <= 1024  # bounded memory while the line never ends
    # json-file: 200 kB split by Docker into 16 KiB entries; the joined line is cut too.
    text = "z" * 200_000 + "\n"
    entries = b"".join(json_entry(text[i : i + 16384]) for i in range(0, len(text), 16384))
    got = decode_all(Framing.JSON_FILE, entries, step=5000, max_line_bytes=1024)
    assert [d.text for d in got] == ["z" * 1024]
    # One entry bigger than Docker ever writes is not held whole: its cut raw text comes out,
    # to be counted as unmatched.
    (huge,) = decode_all(Framing.JSON_FILE, json_entry("z" * 2_000_000 + "\n"))
    assert huge.text.startswith('{"log":"zzz')
    assert len(huge.text) == 65536
    got = decode_all(Framing.DOCKER_FRAMES, frame(big + b"\nok\n"), step=8192, max_line_bytes=1024)
    assert [d.text for d in got] == ["y" * 1024, "ok"]


def test_garbage_never_raises_and_broken_json_entries_come_out_raw() -> None:
    rng = random.Random(7)
    noise = bytes(rng.getrandbits(8) for _ in range(50_000))
    for framing in Framing:
        decode_all(framing, noise)
        decode_all(framing, noise, step=333)
    # A cut last entry is held while the file may still grow, and comes out at the end.
    truncated = json_entry("complete\n") + b'{"log":"trunc'
    dec = LineDecoder(Framing.JSON_FILE)
    assert [d.text for d in dec.feed(truncated)] == ["complete"]
    assert [d.text for d in dec.flush()] == ['{"log":"trunc']
    bad = b'[1,2]\n"str"\n{"log":5}\n\n{"nolog":"x"}\n' + b"[" * 100_000 + b"\n"
    got = decode_all(Framing.JSON_FILE, bad, max_line_bytes=1024)
    assert [d.text for d in got] == ["[1,2]", '"str"', '{"log":5}', '{"nolog":"x"}', "[" * 1024]
    assert [d.end_offset for d in got[:4]] == [6, 12, 22, 37]


def test_frames_interleaved_streams_and_split_lines() -> None:
    data = frame(b"out part ", 1) + frame(b"err line\n", 2) + frame(b"one\nout2\n", 1)
    got = decode_all(Framing.DOCKER_FRAMES, data)
    assert [d.text for d in got] == ["err line", "out part one", "out2"]
    assert got[-1].end_offset == len(data)


def test_docker_timestamps_prefix() -> None:
    data = b"2025-06-20T08:00:00.412987189Z hello world\n2025-06-20T08:00:01Z x\nno stamp\n"
    got = decode_all(Framing.PLAIN, data, docker_timestamps=True)
    assert got == [
        DecodedLine("hello world", 43, 1_750_406_400_412_987),
        DecodedLine("x", 66, 1_750_406_401_000_000),
        DecodedLine("no stamp", 75, None),
    ]
    framed = frame(b"2025-06-20T08:00:00.5Z framed\n")
    assert decode_all(Framing.DOCKER_FRAMES, framed, docker_timestamps=True)[0].text == "framed"


@needs_samples
@pytest.mark.parametrize(
    ("name", "framing", "count"),
    [
        ("farmer.log", Framing.PLAIN, 274),
        ("farmer-json.log", Framing.JSON_FILE, 274),
        ("farmer-docker-logs-stream.bin", Framing.DOCKER_FRAMES, 40),
        ("node.log", Framing.PLAIN, 130),
        ("node-json.log", Framing.JSON_FILE, 130),
    ],
)
def test_samples_decode_to_the_same_lines(name: str, framing: Framing, count: int) -> None:
    data = (SAMPLES / name).read_bytes()
    assert detect_framing(data[:4096]) is framing
    got = decode_all(framing, data)
    assert len(got) == count
    assert got[-1].end_offset == len(data)
    assert decode_all(framing, data, step=1) == got
    plain_name = "node.log" if name.startswith("node") else "farmer.log"
    plain = (SAMPLES / plain_name).read_text().splitlines()
    assert [d.text for d in got] == plain[:count]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=2000),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
    framing=st.sampled_from(list(Framing)),
    stamps=st.booleans(),
)
def test_decoder_never_raises_and_chunking_does_not_matter(
    data: bytes, cuts: list[int], framing: Framing, stamps: bool
) -> None:
    whole = decode_all(framing, data, max_line_bytes=256, docker_timestamps=stamps)
    dec = LineDecoder(framing, max_line_bytes=256, docker_timestamps=stamps)
    got: list[DecodedLine] = []
    prev = 0
    for cut in [*sorted(cuts), len(data)]:
        end = min(cut, len(data))
        got += dec.feed(data[prev:end])
        prev = max(prev, end)
    got += dec.flush()
    assert got == whole
    for line in got:
        assert len(line.text.encode("utf-8")) <= 256
        assert 0 < line.end_offset <= len(data)


def _reference_rfc3339_us(value: str) -> int | None:
    """The parse without any cache: regex, range checks, ``timegm`` (the code before the
    per-day cache)."""
    import calendar
    import re

    match = re.match(
        r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$", value
    )
    if match is None:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hour) < 24):
        return None
    if int(minute) >= 60 or int(second) >= 61:
        return None
    seconds = calendar.timegm(
        (int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0)
    )
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    micros = int(frac[:6].ljust(6, "0")) if frac else 0
    return (seconds - offset) * 1_000_000 + micros


@settings(max_examples=3000)
@given(
    st.sampled_from(["2025-06-20", "2024-02-29", "2025-02-31", "1999-12-31", "2025-6-20"]),
    st.sampled_from(["T", " ", "t"]),
    st.tuples(st.integers(0, 25), st.integers(0, 61), st.integers(0, 62)),
    st.tuples(
        st.sampled_from(["", ".", ",", ".1", ".412987189", ".000000", ",5", ".12a", ".٣"]),
        st.sampled_from(["Z", "", "+02:00", "-0130", "z", "ZZ"]),
    ),
    st.sampled_from(["{:02d}", "{:d}", "{:03d}", "٠{:d}"]),
)
def test_parse_rfc3339_is_the_uncached_parse(
    day: str, sep: str, hms: tuple[int, int, int], tail: tuple[str, str], fmt: str
) -> None:
    """Any shape, valid or not, asked twice (the second time a day is cached): the same
    answer as the plain regex-and-timegm parse."""
    hour, minute, second = hms
    frac, zone = tail
    value = f"{day}{sep}{fmt.format(hour)}:{minute:02d}:{second:02d}{frac}{zone}"
    expected = _reference_rfc3339_us(value)
    assert parse_rfc3339_us(value) == expected
    assert parse_rfc3339_us(value) == expected
    assert parse_rfc3339_us(value[:-1]) == _reference_rfc3339_us(value[:-1])


@pytest.mark.parametrize("framing", [Framing.PLAIN, Framing.JSON_FILE])
@pytest.mark.parametrize("cut", [1, 100, 250, 330])
def test_an_over_long_line_is_cut_the_same_wherever_the_read_splits_it(
    framing: Framing, cut: int
) -> None:
    """The held start of a line was short enough, so its end went through uncut (a line of
    a whole read's size stored from a log whose lines were bounded to 240 bytes)."""
    line = b"2025-06-20T08:00:00.000000000Z " + b"x" * 300 + b"\n"
    data = json_entry(line.decode()) if framing is Framing.JSON_FILE else line
    whole = LineDecoder(framing, max_line_bytes=240).feed(data)
    split = LineDecoder(framing, max_line_bytes=240)
    pieces = split.feed(data[:cut]) + split.feed(data[cut:])
    assert [x.text for x in pieces] == [x.text for x in whole]
    assert all(len(x.text.encode()) <= 240 for x in whole)
