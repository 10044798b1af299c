"""Follow a log file like ``tail -F``: backfill from the stored position, then follow live.

Rotation is survived both ways logrotate does it: by rename (a new file appears at the path:
the old one is read to its end, then the new one from 0) and by copytruncate (same file, it
shrank or its first bytes changed: read again from 0). The resume position names the file by
device, inode and a fingerprint of its first bytes, so a stored offset is used only for the file
it was taken from. Reads and decoding run in a worker thread, a bounded chunk at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from collectors.models.logs import LogLine, SourceRef
from collectors.parsing.decode import (
    DETECT_BYTES,
    DecodedLine,
    LineDecoder,
    UnknownFormat,
    detect_framing,
)

log = logging.getLogger(__name__)

FINGERPRINT_BYTES = 1024
READ_CHUNK_BYTES = 512 * 1024
DEFAULT_BATCH_LINES = 5000
_POSITION_TAG = "f1"


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Which file an offset belongs to: device, inode and a hash of its first bytes."""

    device: int
    inode: int
    head_len: int
    head_hash: str

    @classmethod
    def of(cls, device: int, inode: int, head: bytes) -> FileIdentity:
        return cls(device, inode, len(head), _hash(head))


@dataclass(frozen=True, slots=True)
class FilePosition:
    identity: FileIdentity
    offset: int

    def encode(self) -> str:
        return _position_prefix(self.identity) + str(self.offset)

    @classmethod
    def decode(cls, text: str | None) -> FilePosition | None:
        """The stored token back; None when absent or not a file position (then read from 0)."""
        if not text:
            return None
        parts = text.split(":")
        if len(parts) != 6 or parts[0] != _POSITION_TAG:
            return None
        try:
            device, inode, head_len, offset = (int(parts[i]) for i in (1, 2, 3, 5))
        except ValueError:
            return None
        if min(device, inode, head_len, offset) < 0:
            return None
        return cls(FileIdentity(device, inode, head_len, parts[4]), offset)


def _hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _position_prefix(identity: FileIdentity) -> str:
    i = identity
    return f"{_POSITION_TAG}:{i.device}:{i.inode}:{i.head_len}:{i.head_hash}:"


class _Change(Enum):
    NONE = "none"
    TRUNCATED = "truncated"
    REPLACED = "replaced"
    MISSING = "missing"


class _OpenFile:
    """One open file being read; used only from one worker thread at a time."""

    def __init__(self, path: Path, fd: int, start: int, max_line_bytes: int) -> None:
        self.path = path
        self.fd = fd
        st = os.fstat(fd)
        self.device, self.inode = st.st_dev, st.st_ino
        self.size = st.st_size
        self.head = os.pread(fd, FINGERPRINT_BYTES, 0)
        self.offset = start  # the file offset the decoder's stream starts at plus what it took
        self._decoder_base = start
        self._decoder: LineDecoder | None = None
        self._max_line_bytes = max_line_bytes
        self._prefix = _position_prefix(self.identity)
        self.refused: str | None = None  # why this file is not read (no log format)

    @property
    def identity(self) -> FileIdentity:
        return FileIdentity.of(self.device, self.inode, self.head)

    def restart_at_zero(self) -> None:
        self.head = os.pread(self.fd, FINGERPRINT_BYTES, 0)
        self._prefix = _position_prefix(self.identity)
        self.offset = self._decoder_base = 0
        self._decoder = None

    def _refresh_head(self) -> None:
        # A file opened while shorter than the fingerprint gets a longer one as it grows.
        if len(self.head) < FINGERPRINT_BYTES and self.size > len(self.head):
            self.head = os.pread(self.fd, FINGERPRINT_BYTES, 0)
            self._prefix = _position_prefix(self.identity)

    def read_lines(self, limit: int = READ_CHUNK_BYTES) -> tuple[list[LogLine], bool]:
        """Read up to ``limit`` bytes at the current offset: (complete lines, any bytes read)."""
        data = os.pread(self.fd, limit, self.offset)
        self.size = max(self.size, os.fstat(self.fd).st_size)
        if not data:
            return [], False
        self.offset += len(data)
        self._refresh_head()
        if self._decoder is None:
            try:
                framing = detect_framing(os.pread(self.fd, DETECT_BYTES, 0))
            except UnknownFormat as exc:
                self.offset -= len(data)
                self.refused = f"{self.path} is not read: {exc}"
                return [], False
            self.refused = None
            self._decoder = LineDecoder(framing, max_line_bytes=self._max_line_bytes)
        return self._lines(self._decoder.feed(data)), True

    def flush_lines(self) -> list[LogLine]:
        """The file is finished (rotated away): its unterminated last line counts too."""
        if self._decoder is None:
            return []
        return self._lines(self._decoder.flush())

    def _lines(self, decoded: list[DecodedLine]) -> list[LogLine]:
        prefix, base = self._prefix, self._decoder_base
        return [LogLine(d.text, f"{prefix}{base + d.end_offset}", d.received_us) for d in decoded]

    def check(self) -> _Change:
        """At end of file: has the path moved to another file, or was this one truncated?"""
        st = os.fstat(self.fd)
        self.size = st.st_size
        if st.st_size < self.offset:
            return _Change.TRUNCATED
        head = os.pread(self.fd, len(self.head), 0)
        if head != self.head:
            return _Change.TRUNCATED  # rewritten from the start past our offset
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return _Change.MISSING
        if (current.st_dev, current.st_ino) != (self.device, self.inode):
            return _Change.REPLACED
        return _Change.NONE

    @property
    def bytes_left(self) -> int:
        return max(0, self.size - self.offset)

    def close(self) -> None:
        os.close(self.fd)


def _open_at(path: Path, stored: FilePosition | None, max_line_bytes: int) -> _OpenFile | None:
    """Open ``path``; resume at the stored offset only if it is still the same file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    opened = _OpenFile(path, fd, 0, max_line_bytes)
    if stored is None:
        return opened
    same = (
        (opened.device, opened.inode) == (stored.identity.device, stored.identity.inode)
        and _hash(opened.head[: stored.identity.head_len]) == stored.identity.head_hash
        and len(opened.head) >= stored.identity.head_len
        and opened.size >= stored.offset
    )
    if same:
        opened.offset = opened._decoder_base = stored.offset
        log.info("%s: resuming at byte %d of %d", path, stored.offset, opened.size)
    else:
        log.info(
            "%s is not the file read last time (rotated or replaced while cosmos was stopped); "
            "reading it from the start",
            path,
        )
    return opened


class FileLogSource:
    """A followed log file, as a stream of batches of :class:`LogLine`."""

    def __init__(
        self,
        ref: SourceRef,
        path: Path,
        *,
        max_line_bytes: int = 65536,
        poll_seconds: float = 0.5,
        batch_lines: int = DEFAULT_BATCH_LINES,
    ) -> None:
        self.ref = ref
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.poll_seconds = poll_seconds
        self.batch_lines = batch_lines
        self.backfilling = True
        self._file: _OpenFile | None = None
        self._problem: str | None = None

    def problem(self) -> str | None:
        """What keeps this source from reading, if anything (for ``cosmos status``)."""
        return self._problem

    def describe_left(self) -> str | None:
        if self._file is None:
            return None
        return f"{self._file.bytes_left / 1_048_576:.1f} MiB left"

    async def batches(self, position: str | None) -> AsyncGenerator[list[LogLine], None]:
        """Lines from ``position`` (or the start) on, forever; closes the file when stopped.

        An empty batch is a heartbeat: the source is alive and has nothing new.
        """
        self.backfilling = True
        stored = FilePosition.decode(position)
        if position and stored is None:
            log.warning(
                "%s: the stored position %r is not understood; reading from the start",
                self.path,
                position,
            )
        waited = False
        try:
            while self._file is None:
                self._file = await asyncio.to_thread(
                    _open_at, self.path, stored, self.max_line_bytes
                )
                if self._file is None:
                    if not waited:
                        log.warning("%s does not exist yet; waiting for it to appear", self.path)
                        waited = True
                    self.backfilling = False
                    self._problem = f"{self.path} does not exist"
                    yield []  # a heartbeat: the follower is alive, with nothing to read
                    await asyncio.sleep(self.poll_seconds)
            self._problem = None
            if waited:
                log.info("%s appeared; reading it", self.path)
            async for batch in self._follow():
                yield batch
        finally:
            if self._file is not None:
                self._file.close()
                self._file = None

    async def _follow(self) -> AsyncGenerator[list[LogLine], None]:
        while True:
            current = self._file
            assert current is not None
            lines, got = await asyncio.to_thread(current.read_lines)
            for start in range(0, len(lines), self.batch_lines):
                yield lines[start : start + self.batch_lines]
            if got:
                continue
            self.backfilling = False
            if current.refused != self._problem:
                if current.refused:
                    log.error("%s", current.refused)
                self._problem = current.refused
            change = await asyncio.to_thread(current.check)
            if change is _Change.TRUNCATED:
                log.info(
                    "%s was truncated (copytruncate); reading it again from the start", self.path
                )
                await asyncio.to_thread(current.restart_at_zero)
            elif change is _Change.REPLACED:
                async for batch in self._finish_and_reopen(current):
                    yield batch
            else:
                yield []  # a heartbeat: caught up and following
                await asyncio.sleep(self.poll_seconds)

    async def _finish_and_reopen(self, old: _OpenFile) -> AsyncGenerator[list[LogLine], None]:
        """Rotated by rename: read what was appended to the old file, then open the new one."""
        while True:
            lines, got = await asyncio.to_thread(old.read_lines)
            for start in range(0, len(lines), self.batch_lines):
                yield lines[start : start + self.batch_lines]
            if not got:
                break
        tail = old.flush_lines()
        if tail:
            yield tail
        fresh = await asyncio.to_thread(_open_at, self.path, None, self.max_line_bytes)
        if fresh is None:  # gone again between stat and open: keep the old one, check later
            return
        log.info("%s was rotated; reading the new file from the start", self.path)
        old.close()
        self._file = fresh
