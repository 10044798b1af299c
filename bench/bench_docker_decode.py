"""Microseconds per line to turn a logs response into lines, on one thread: the way cosmos read
the Engine API before (urllib3 undoing HTTP chunks one per step, LineDecoder taking the frames
apart, the stamp parsed and a LogLine with its position made for every line) and
:class:`EngineLogDecoder` (one pass, stamps parsed only when asked). The body is the farmer log
of bench/farmer_log.py as dockerd sends it: one HTTP chunk per message, read 64 KiB at a time.

    .venv/bin/python bench/bench_docker_decode.py [--lines 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.farmer_log import farmer_lines  # noqa: E402
from collectors.models.logs import LogLine  # noqa: E402
from collectors.parsing.decode import Framing, LineDecoder  # noqa: E402
from collectors.parsing.docker_stream import EngineLogDecoder, fixed_stamp, split_stamp  # noqa: E402

READ = 65536


def body_of(lines: int) -> bytes:
    out = bytearray()
    for text, us in farmer_lines(lines):
        payload = fixed_stamp(us * 1000) + b" " + text.encode() + b"\n"
        frame = struct.pack(">BxxxL", 1, len(payload)) + payload
        out += b"%x\r\n" % len(frame) + frame + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def chunks_one_by_one(body: bytes) -> list[bytes]:
    """What urllib3's read_chunked hands over: one chunk's payload per step."""
    out, pos = [], 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol], 16)
        if not size:
            return out
        out.append(body[eol + 2 : eol + 2 + size])
        pos = eol + 4 + size


def before(body: bytes) -> int:
    decoder = LineDecoder(Framing.DOCKER_FRAMES, max_line_bytes=65576)
    count, last_ts, at_ts, tag = 0, -1, 0, "d1:c0ffee:"
    for payload in chunks_one_by_one(body):
        lines = []
        for line in decoder.feed(payload):
            text, ts_ns = split_stamp(line.text)
            ts_ns = ts_ns if ts_ns is not None else max(last_ts, 0)
            if ts_ns == last_ts:
                at_ts += 1
            else:
                last_ts, at_ts = ts_ns, 1
            lines.append(LogLine(text, f"{tag}{last_ts}:{at_ts}", ts_ns // 1000))
        count += len(lines)
    return count


def after(body: bytes) -> int:
    decoder = EngineLogDecoder(
        Framing.DOCKER_FRAMES, chunked=True, where="d1:c0ffee:", max_line_bytes=65536
    )
    count = 0
    for at in range(0, len(body), READ):
        lines = decoder.feed(body[at : at + READ])
        if lines:
            _ = lines[-1].position  # what the pipeline reads of a batch
        count += len(lines)
    return count


def per_line(fn: Callable[[bytes], int], body: bytes, lines: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        assert fn(body) == lines
        times.append(time.perf_counter() - started)
    return statistics.median(times) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    body = body_of(args.lines)
    old = per_line(before, body, args.lines, args.runs)
    new = per_line(after, body, args.lines, args.runs)
    print(f"{args.lines:,} lines, {len(body) / 1e6:.1f} MB of chunked body, median of {args.runs}")
    print(f"   before (chunk by chunk, LineDecoder, stamp and LogLine per line): {old:.2f} us/line")
    print(f"   EngineLogDecoder (one pass, stamps parsed when asked):            {new:.2f} us/line")


if __name__ == "__main__":
    main()
