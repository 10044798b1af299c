"""``cosmos ingest PATH... [--db DB]``: backfill node/farmer log files once, then exit.

Each file is decoded by content (plain or ANSI text, Docker json-file, an Engine API frame
stream) and its role (farmer or node) is read from its lines. The resume position is stored
under the same key and in the same form the file follower uses, so running again (or starting
``cosmos run`` on the same file) goes on from where this stopped and adds nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from collectors.clock import Clock, SystemClock
from collectors.ingest import IngestStats, LogIngestor, PreparedBatch
from collectors.models.events import EventKind, FarmSummary
from collectors.models.logs import Role, SourceRef
from collectors.parsing.decode import (
    DETECT_BYTES,
    Framing,
    LineDecoder,
    UnknownFormat,
    detect_framing,
    is_gzip,
)
from collectors.parsing.logs import parse_line
from collectors.plan_process import plan_in_worker
from collectors.plan_worker import WORKER_MIN_BYTES, PlanJob, PlanWorkerError, decoded_batches
from collectors.settings import SettingsError, load_settings
from collectors.sources.file_logs import (
    FINGERPRINT_BYTES,
    FileIdentity,
    FilePosition,
    GzipReader,
)
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore

READ_BYTES = 1 << 20
BATCH_LINES = 20_000
# Smaller with a planning process: two processes each hold a batch or two (peak RSS).
WORKER_BATCH_LINES = 10_000
ROLE_SAMPLE_LINES = 5_000
_NODE_KINDS = frozenset(
    {
        EventKind.NODE_INFORMANT,
        EventKind.NODE_IMPORTED,
        EventKind.NODE_VERSION,
        EventKind.NODE_REORG,
        EventKind.CLAIMED_BLOCK,
        EventKind.CLAIMED_VOTE,
        EventKind.SOLUTION_IGNORED,
        EventKind.VOTE_FAILED,
        EventKind.REWARD_SIGNATURE_INVALID,
        EventKind.SLOW_BLOCK,
        EventKind.DSN_SYNC_ERROR,
        EventKind.DSN_SYNC,
        EventKind.NODE_CHAIN,
        EventKind.NODE_NAME,
    }
)


@dataclass
class FileReport:
    path: Path
    role: Role | None = None
    framing: Framing | None = None
    lines: int = 0
    resumed_at: int = 0
    error: str | None = None


@dataclass
class BackfillReport:
    files: list[FileReport] = field(default_factory=list)
    by_kind: Counter[EventKind] = field(default_factory=Counter)
    lines: int = 0
    events_written: int = 0
    rewards_written: int = 0
    farms: list[FarmSummary] = field(default_factory=list)


def file_source_key(path: Path, host: str = "local") -> str:
    """The file follower's key (``file:<host>:<absolute path>``): both share one position."""
    return f"file:{host}:{os.path.abspath(path.expanduser())}"


_DOCKER_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z \S")
_LINE_STAMP = re.compile(r"\S+Z (?:\x1b\[[0-9;]*m)?\d{4}-\d\d-\d\d[T ]")


def has_docker_timestamps(texts: Sequence[str]) -> bool:
    """``docker logs -t`` (or ``timestamps=1``) output: Docker's time before each line's own."""
    head = [t for t in texts[:200] if t]
    if not head:
        return False
    stamped = sum(1 for t in head if _DOCKER_STAMP.match(t) and _LINE_STAMP.match(t))
    return stamped * 2 > len(head)


# Lines only a farming-cluster component writes (its other lines are a farmer's).
_CLUSTER_KINDS: dict[EventKind, Role] = {
    EventKind.CLUSTER_FARM_INITIALIZED: "controller",
    EventKind.CLUSTER_FARM_EXPIRED: "controller",
    EventKind.CLUSTER_CACHE_DISCOVERED: "controller",
    EventKind.CLUSTER_CACHE_EXPIRED: "controller",
    EventKind.PIECE_CACHE_CREATED: "cache",
    EventKind.PLOT_SECTOR_REQUEST: "plotter",
    EventKind.PLOT_SECTOR_FINISHED: "plotter",
}


def detect_role(texts: Sequence[str], path: Path) -> Role:
    """Farmer or node (or a cluster controller, cache or plotter), from what the first lines
    say (the file name only as a last hint)."""
    node = farmer = 0
    for text in texts[:ROLE_SAMPLE_LINES]:
        parsed = parse_line(text)
        if parsed is None:
            continue
        cluster_role = _CLUSTER_KINDS.get(parsed.kind)
        if cluster_role is not None:
            return cluster_role
        if parsed.kind in _NODE_KINDS:
            node += 1
        else:
            farmer += 1
    if node or farmer:
        return "node" if node > farmer else "farmer"
    return "node" if "node" in path.name.lower() else "farmer"


class _Progress:
    """``lines read, lines/s, what is left`` on stderr, at most once a second."""

    def __init__(self, out: TextIO, name: str, size: int, start: int) -> None:
        self.out = out
        self.name = name
        self.size = size
        self.start_offset = start
        self.started = time.monotonic()
        self.last = self.started
        self.tty = out.isatty()
        self.shown = False

    def update(self, lines: int, offset: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < 1.0:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = lines / elapsed
        left = max(self.size - offset, 0)
        done = offset - self.start_offset
        todo = self.size - self.start_offset
        percent = 100.0 * done / todo if todo > 0 else 100.0
        eta = left / (done / elapsed) if done > 0 else 0.0
        text = (
            f"{self.name}: {lines:,} lines, {rate:,.0f} lines/s, {percent:.0f}% read,"
            f" {left / 1_048_576:.1f} MiB left (~{eta:.0f} s)"
        )
        if final:
            text = f"{self.name}: {lines:,} lines in {elapsed:.1f} s ({rate:,.0f} lines/s)"
        if self.tty:
            self.out.write("\r\x1b[K" + text + ("\n" if final else ""))
        elif final or now - self.started >= 1.0:
            self.out.write(text + "\n")
        self.out.flush()
        self.shown = True


async def _ingest_file(
    ingestor: LogIngestor,
    path: Path,
    report: BackfillReport,
    progress_out: TextIO,
    *,
    clock: Clock,
    max_line_bytes: int,
    worker_min_bytes: int,
) -> FileReport:
    result = FileReport(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        result.error = f"cannot open {path}: {exc.strerror}"
        return result
    gz: GzipReader | None = None
    try:
        if is_gzip(os.pread(fd, 2, 0)):  # a compressed rotation (farmer.log.2.gz): its content
            gz = GzipReader(fd)
        await _read_and_ingest(
            ingestor,
            fd,
            gz,
            path,
            result=result,
            report=report,
            progress_out=progress_out,
            clock=clock,
            max_line_bytes=max_line_bytes,
            worker_min_bytes=worker_min_bytes,
        )
    except OSError as exc:
        result.error = f"cannot read {path}: {exc.strerror}"
    except PlanWorkerError as exc:
        # What was stored stays stored; the next run goes on from there.
        result.error = f"stopped reading {path}: {exc}"
    finally:
        if gz is not None:
            gz.close()
        os.close(fd)
    return result


async def _read_and_ingest(
    ingestor: LogIngestor,
    fd: int,
    gz: GzipReader | None,
    path: Path,
    *,
    result: FileReport,
    report: BackfillReport,
    progress_out: TextIO,
    clock: Clock,
    max_line_bytes: int,
    worker_min_bytes: int,
) -> None:
    def pread(size: int, at: int) -> bytes:
        return gz.pread(size, at) if gz is not None else os.pread(fd, size, at)

    st = os.fstat(fd)
    # Offsets in a .gz are offsets in its content, the same as the file follower's.
    size = gz.size_hint() if gz is not None else st.st_size
    head = pread(FINGERPRINT_BYTES, 0)
    identity = FileIdentity.of(st.st_dev, st.st_ino, head)
    try:
        framing = detect_framing(pread(DETECT_BYTES, 0))
    except UnknownFormat as exc:
        result.error = f"not read: {exc}"
        return
    result.framing = framing
    prefix = FilePosition(identity, 0).encode().removesuffix("0")  # "<identity>:" + offset
    key = file_source_key(path)

    def sample() -> tuple[list[str], bool]:
        """The first chunk decoded on its own (cheap, and a new decoder later): its lines and
        whether Docker stamped them (``docker logs -t``)."""
        first = LineDecoder(framing, max_line_bytes=max_line_bytes)
        texts = [d.text for d in first.feed(pread(READ_BYTES, 0))]
        if not has_docker_timestamps(texts):
            return texts, False
        again = LineDecoder(framing, docker_timestamps=True)
        return [d.text for d in again.feed(pread(READ_BYTES, 0))], True

    # A file read before keeps the role it was stored with (the store would keep it anyway);
    # only a new one is told by its content, which costs a parse of its first 5,000 lines.
    stamped: bool | None = None
    known = await ingestor.store.stored_role(key)
    if known is None:
        texts, stamped = sample()
        result.role = detect_role(texts, path)
    else:
        result.role = known
    ref = SourceRef(key, result.role)

    start = 0
    stored = FilePosition.decode(await ingestor.position(ref))
    if stored is not None:
        same = (
            (stored.identity.device, stored.identity.inode) == (st.st_dev, st.st_ino)
            and len(head) >= stored.identity.head_len
            and FileIdentity.of(0, 0, head[: stored.identity.head_len]).head_hash
            == stored.identity.head_hash
            and (gz is not None or st.st_size >= stored.offset)
        )
        if same:
            start = stored.offset
        else:
            await ingestor.forget_position(ref)  # another file now: read it all again
    result.resumed_at = start
    if start >= size:  # nothing new since last time
        _Progress(progress_out, path.name, size, start).update(0, start, final=True)
        return
    if stamped is None:
        stamped = sample()[1]
    # Frames cannot be entered mid-stream: decode from 0 and skip what was stored.
    read_from = 0 if framing is Framing.DOCKER_FRAMES else start
    skip_until = start if framing is Framing.DOCKER_FRAMES else 0

    progress = _Progress(progress_out, path.name, size, start)
    writing: asyncio.Task[IngestStats] | None = None

    def account(stats: IngestStats) -> None:
        report.by_kind.update(stats.by_kind)
        report.events_written += stats.events_written
        report.rewards_written += stats.rewards_written
        result.lines += stats.lines

    async def write(prepared: PreparedBatch, offset: int) -> None:
        # Batch N+1 is planned while batch N is being written.
        nonlocal writing
        if writing is not None:
            account(await writing)
        writing = asyncio.create_task(ingestor.commit(prepared))
        progress.update(result.lines, offset)

    try:
        if gz is None and size - start >= worker_min_bytes:
            # A long way to go: decode and plan in a second process, write here.
            now_us = clock.now_us()
            job = PlanJob(
                path=path,
                device=st.st_dev,
                inode=st.st_ino,
                framing=framing,
                docker_timestamps=stamped,
                max_line_bytes=max_line_bytes,
                read_from=read_from,
                skip_until=skip_until,
                batch_lines=WORKER_BATCH_LINES,
                read_bytes=READ_BYTES,
                prefix=prefix,
                cursor=await ingestor.stored_cursor(ref),
                now_us=now_us,
            )
            async with plan_in_worker(job) as planned_batches:
                async for planned in planned_batches:
                    prepared = ingestor.adopt(ref, planned.base, planned.planned, now_us)
                    await write(prepared, planned.offset)
        else:
            batches = decoded_batches(
                pread,
                LineDecoder(framing, max_line_bytes=max_line_bytes, docker_timestamps=stamped),
                read_from=read_from,
                skip_until=skip_until,
                batch_lines=BATCH_LINES,
                read_bytes=READ_BYTES,
            )
            while (item := await asyncio.to_thread(next, batches, None)) is not None:
                lines, offset = item
                # Decoded lines go in as they are (a LogLine and its token per line would
                # cost more than parsing it).
                position = f"{prefix}{read_from + lines[-1].end_offset}"
                await write(await ingestor.prepare(ref, lines, position), offset)
    finally:
        if writing is not None:
            account(await writing)
    progress.update(result.lines, size, final=True)


async def backfill(
    paths: Sequence[Path],
    db_path: Path,
    farmer_name: str,
    *,
    clock: Clock | None = None,
    progress: TextIO | None = None,
    max_line_bytes: int = 65536,
    worker_min_bytes: int = WORKER_MIN_BYTES,
) -> BackfillReport:
    """Ingest each file from its stored position to its end; the same path as the live pipeline.

    A file with at least ``worker_min_bytes`` left is decoded and planned in a second process.
    """
    clock = clock or SystemClock()
    progress = progress or sys.stderr
    report = BackfillReport()
    async with Database(db_path) as db:
        farmers = FarmerStore(db)
        await farmers.ensure_primary(farmer_name, clock.now_us())
        ingestor = LogIngestor(db, farmers, clock)
        for path in paths:
            file_report = await _ingest_file(
                ingestor,
                path,
                report,
                progress,
                clock=clock,
                max_line_bytes=max_line_bytes,
                worker_min_bytes=worker_min_bytes,
            )
            report.files.append(file_report)
            report.lines += file_report.lines
        report.farms = await ingestor.store.farms()
    return report


def render_report(report: BackfillReport, out: TextIO) -> None:
    for f in report.files:
        if f.error:
            out.write(f"{f.path}: {f.error}\n")
            continue
        resumed = f", resumed at byte {f.resumed_at:,}" if f.resumed_at else ""
        out.write(f"{f.path}: {f.role} log ({f.framing}), {f.lines:,} new lines{resumed}\n")
    out.write(
        f"{report.lines:,} lines read; {report.events_written:,} events and"
        f" {report.rewards_written:,} rewards stored\n"
    )
    if report.by_kind:
        out.write("By event kind:\n")
        for kind, n in sorted(report.by_kind.items(), key=lambda kv: (-kv[1], kv[0].value)):
            out.write(f"  {kind.value:<28} {n:>10,}\n")
    if report.farms:
        out.write("Farms:\n")
        for farm in report.farms:
            index = "?" if farm.farm_index is None else str(farm.farm_index)
            out.write(
                f"  #{index:<3} {farm.farm_id}  {farm.allocated_text or '':<20}"
                f" {farm.directory or '':<24} {farm.signed_rewards:,} rewards\n"
            )


def cli(args: argparse.Namespace) -> int:
    farmer_name = socket.gethostname()
    db_path: Path | None = args.db
    try:
        settings = load_settings(args.env_file)
        farmer_name = settings.farmer_name
        db_path = db_path or settings.database_path
    except SettingsError:
        if db_path is None:
            raise
    assert db_path is not None
    report = asyncio.run(backfill(args.paths, db_path, farmer_name))
    render_report(report, sys.stdout)
    return 1 if any(f.error for f in report.files) else 0
