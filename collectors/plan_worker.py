"""Decode and plan a long log file in a process of its own: the second core for a backfill.

Decoding and planning a batch is GIL-bound Python (about 6.5 us a line), writing it is mostly
SQLite; in one process the two take turns, and ``cosmos ingest`` ran at one core. A worker
process (``python -m collectors.plan_worker``) reads the file from where the store stopped,
decodes it and plans each batch on the cursor the last one left, exactly as the store would
(:func:`collectors.ingest.plan_batch` is pure), and sends the plans back over its stdout while
the parent writes the previous one. The parent commits them in order, each checked against the
stored cursor, so a plan made on a state that was never stored is refused, not written.

The wire is a 4-byte big-endian length and a pickle, ending with a length of 0. Only a worker
this process started writes to it. This module is the worker's side (it imports no asyncio, no
store: the process stays small); :mod:`collectors.plan_process` starts it and reads it.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from collectors.models.events import SourceCursor
from collectors.parsing.decode import DecodedLine, Framing, LineDecoder
from collectors.plan import PlannedLines, plan_batch

READ_BYTES = 1 << 20
LENGTH = struct.Struct(">I")
# Below this, starting a process costs what it saves (bench/bench_plan_process.py).
WORKER_MIN_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class PlanJob:
    """What the worker reads, from where, and the stored state it plans on."""

    path: Path
    device: int
    inode: int
    framing: Framing
    docker_timestamps: bool
    max_line_bytes: int
    read_from: int  # where decoding starts (0 for frames, which cannot be entered mid-stream)
    skip_until: int  # lines ending at or before this offset were stored already
    batch_lines: int
    read_bytes: int
    prefix: str  # a position is prefix + offset
    cursor: SourceCursor
    now_us: int


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    """One batch's plan, the cursor it was made on, and how far the file was read for it."""

    base: SourceCursor
    planned: PlannedLines
    offset: int


class PlanWorkerError(RuntimeError):
    """The worker failed or went away; the message says why."""


def decoded_batches(
    pread: Callable[[int, int], bytes],
    decoder: LineDecoder,
    *,
    read_from: int,
    skip_until: int,
    batch_lines: int,
    read_bytes: int = READ_BYTES,
) -> Iterator[tuple[list[DecodedLine], int]]:
    """A file's lines from ``read_from`` in batches of ``batch_lines`` (the last one shorter),
    each with the offset read up to; lines ending at or before ``skip_until`` are left out."""
    offset = read_from
    pending: list[DecodedLine] = []
    while True:
        data = pread(read_bytes, offset)
        if not data:
            break
        decoded = decoder.feed(data)
        if skip_until:
            decoded = [d for d in decoded if read_from + d.end_offset > skip_until]
        pending.extend(decoded)
        offset += len(data)
        while len(pending) >= batch_lines:
            batch, pending = pending[:batch_lines], pending[batch_lines:]
            yield batch, offset
    tail = decoder.flush()
    if skip_until:
        tail = [d for d in tail if read_from + d.end_offset > skip_until]
    pending.extend(tail)
    if pending:
        yield pending, offset


def plan_file(job: PlanJob, send: Callable[[PlannedBatch], None]) -> None:
    """The worker's work: every batch of the file after the stored position, planned."""
    fd = os.open(job.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (job.device, job.inode):
            raise PlanWorkerError(f"{job.path} was replaced while being read")
        decoder = LineDecoder(
            job.framing,
            max_line_bytes=job.max_line_bytes,
            docker_timestamps=job.docker_timestamps,
        )
        cursor = job.cursor
        for lines, offset in decoded_batches(
            lambda size, at: os.pread(fd, size, at),
            decoder,
            read_from=job.read_from,
            skip_until=job.skip_until,
            batch_lines=job.batch_lines,
            read_bytes=job.read_bytes,
        ):
            position = f"{job.prefix}{job.read_from + lines[-1].end_offset}"
            planned = PlannedLines(plan_batch(cursor, lines, job.now_us, position), len(lines))
            send(PlannedBatch(cursor, planned, offset))
            cursor = planned.plan.batch.cursor
    finally:
        os.close(fd)


def _serve() -> int:
    """The worker process: a job on stdin, plans on stdout."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    out = sys.stdout.buffer

    def send(item: object) -> None:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(LENGTH.pack(len(data)))
        out.write(data)
        out.flush()

    try:
        job = pickle.load(sys.stdin.buffer)
        plan_file(job, send)
    except Exception as exc:  # told to the parent, which reports it for this file
        send(PlanWorkerError(f"{type(exc).__name__}: {exc}"))
        return 1
    finally:
        out.write(LENGTH.pack(0))
        out.flush()
    return 0


if __name__ == "__main__":
    # Run as the imported module, not as __main__: what it pickles must name its real home.
    from collectors.plan_worker import _serve as serve

    sys.exit(serve())
