"""Follow a log file like ``tail -F``: backfill from the stored position, then follow live.

The resume position names the file by device, inode and a fingerprint of its first bytes, so a
stored offset is used only for the file it was taken from. When the path holds another file (it
was rotated, on start or while following), the file that was being read is looked for among its
rotated siblings (``name.1``, ``name-20251206``, ``name.2.gz``, ...): by inode when it was renamed,
by fingerprint and size when it was copied (copytruncate) or compressed. Its unread end is read,
then the siblings rotated after it, oldest first, then the file at the path from 0. A file whose
first bytes changed under the reader (truncated and written again) is never read past its old
offset first. Reads and decoding run in a worker thread, a bounded chunk at a time.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import os
import re
import zlib
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
_MIN_CONTENT_MATCH = 64


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


class GzipReader:
    """Sequential reads of a ``.gz`` file's content by offset (backfill only: it never grows)."""

    def __init__(self, fd: int) -> None:
        self._raw = os.fdopen(os.dup(fd), "rb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="rb")

    def pread(self, size: int, offset: int) -> bytes:
        try:
            if self._gz.tell() != offset:
                self._gz.seek(offset)
            return self._gz.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            # A cut or damaged archive: what came before the damage has been read.
            log.warning("%s: the compressed file ends badly (%s)", self._raw.name, exc)
            return b""

    def size_hint(self) -> int:
        """The content's size as the gzip trailer gives it (modulo 4 GiB)."""
        fd = self._raw.fileno()
        try:
            return int.from_bytes(os.pread(fd, 4, max(0, os.fstat(fd).st_size - 4)), "little")
        except OSError:
            return 0

    def close(self) -> None:
        self._gz.close()
        self._raw.close()


class _OpenFile:
    """One open file being read; used only from one worker thread at a time."""

    def __init__(self, path: Path, fd: int, start: int, max_line_bytes: int) -> None:
        self.path = path
        self.fd = fd
        st = os.fstat(fd)
        self.device, self.inode = st.st_dev, st.st_ino
        self.mtime_ns = st.st_mtime_ns
        self.size = st.st_size
        self.gzip: GzipReader | None = None
        if path.name.endswith(".gz"):
            self.gzip = GzipReader(fd)  # shares the descriptor's offset: the only reader
            self.head = self.gzip.pread(FINGERPRINT_BYTES, 0)
        else:
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

    def holds(self, stored: FilePosition, *, by_content: bool) -> bool:
        """This is the file ``stored`` was taken from (or, ``by_content``, a copy of it)."""
        want = stored.identity
        if len(self.head) < want.head_len or _hash(self.head[: want.head_len]) != want.head_hash:
            return False
        if (self.device, self.inode) == (want.device, want.inode):
            return self.gzip is not None or self.size >= stored.offset
        # A copy (copytruncate) or a compressed rotation: only the content can tell, and only
        # from a fingerprint long enough to name one file.
        if not by_content or want.head_len < _MIN_CONTENT_MATCH:
            return False
        return self.gzip is not None or self.size >= stored.offset

    def start_at(self, offset: int) -> None:
        self.offset = self._decoder_base = offset

    def _pread(self, size: int, offset: int) -> bytes:
        if self.gzip is not None:
            return self.gzip.pread(size, offset)
        return os.pread(self.fd, size, offset)

    def _refresh_head(self) -> None:
        # A file opened while shorter than the fingerprint gets a longer one as it grows.
        if self.gzip is None and len(self.head) < FINGERPRINT_BYTES and self.size > len(self.head):
            self.head = os.pread(self.fd, FINGERPRINT_BYTES, 0)
            self._prefix = _position_prefix(self.identity)

    def rewritten(self) -> bool:
        """The first bytes are not those this file was read with: truncated and written again."""
        if self.gzip is not None or not self.head:
            return False
        return os.pread(self.fd, len(self.head), 0) != self.head

    def read_lines(self, limit: int = READ_CHUNK_BYTES) -> tuple[list[LogLine], bool]:
        """Read up to ``limit`` bytes at the current offset: (complete lines, any bytes read)."""
        data = self._pread(limit, self.offset)
        if self.gzip is None:
            self.size = max(self.size, os.fstat(self.fd).st_size)
        if not data:
            return [], False
        if self.offset and self.rewritten():
            # Checked after the read: these bytes may belong to the new content, not ours.
            return [], False
        if self._decoder is None:
            try:
                framing = detect_framing(self._pread(DETECT_BYTES, 0))
            except UnknownFormat as exc:
                self.refused = f"{self.path} is not read: {exc}"
                return [], False
            self.refused = None
            self._decoder = LineDecoder(framing, max_line_bytes=self._max_line_bytes)
        self.offset += len(data)
        self._refresh_head()
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
        if self.gzip is None:  # a compressed file is not written to, only replaced
            self.size = os.fstat(self.fd).st_size
            if self.size < self.offset or self.rewritten():
                return _Change.TRUNCATED
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return _Change.MISSING
        if (current.st_dev, current.st_ino) != (self.device, self.inode):
            return _Change.REPLACED
        return _Change.NONE

    @property
    def position(self) -> FilePosition:
        return FilePosition(self.identity, self.offset)

    @property
    def bytes_left(self) -> int:
        return 0 if self.gzip is not None else max(0, self.size - self.offset)

    def close(self) -> None:
        if self.gzip is not None:
            self.gzip.close()
        os.close(self.fd)


def _open(path: Path, max_line_bytes: int) -> _OpenFile | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    try:
        return _OpenFile(path, fd, 0, max_line_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        os.close(fd)
        if not path.name.endswith(".gz"):
            raise  # a directory, no permission: the source fails and says why
        log.warning("%s cannot be read: %s", path, exc)
        return None


# What logrotate (and by-hand rotation) appends to a name: ``.1``, ``-20251206``,
# ``.2025-12-06_10``, each maybe followed by ``.gz``.
_ROTATED_SUFFIX = re.compile(r"[.-]\d[\w:.-]*?(?:\.gz)?|\.gz")
_NUMBERED = re.compile(r"\.(\d+)(?:\.gz)?")


def _age_rank(name: str, base: str) -> tuple[int, str]:
    """For equal mtimes: ``.2`` is older than ``.1``, ``-0102`` newer than ``-0101``."""
    numbered = _NUMBERED.fullmatch(name[len(base) :])
    if numbered:
        return (-int(numbered.group(1)), "")
    return (0, name)


def _rotated_siblings(path: Path, max_line_bytes: int) -> list[_OpenFile]:
    """The rotated copies of ``path`` in its folder, oldest first (caller closes them)."""
    base = path.name
    try:
        names = [
            e.name
            for e in os.scandir(path.parent)
            if e.name.startswith(base)
            and _ROTATED_SUFFIX.fullmatch(e.name[len(base) :])
            and e.is_file()
        ]
    except OSError:
        return []
    found: list[_OpenFile] = []
    for name in names:
        try:
            opened = _open(path.parent / name, max_line_bytes)
        except OSError as exc:  # one unreadable old file does not stop the source
            log.warning("%s cannot be read: %s", path.parent / name, exc)
            continue
        if opened is not None:
            found.append(opened)
    found.sort(key=lambda f: (f.mtime_ns, _age_rank(f.path.name, base)))
    return found


def _plan(
    path: Path, stored: FilePosition | None, max_line_bytes: int, *, starting: bool
) -> tuple[list[_OpenFile], _OpenFile | None]:
    """What to read after ``stored``: rotated files first, in order, then the file at ``path``.

    The rotated files start with the one ``stored`` was taken from (at its offset), then those
    rotated after it. The file at the path is returned last (None when there is none yet).
    """
    current = _open(path, max_line_bytes)
    if stored is None:
        return [], current
    if current is not None and current.holds(stored, by_content=False):
        current.start_at(stored.offset)
        if starting:
            log.info("%s: resuming at byte %d of %d", path, stored.offset, current.size)
        return [], current
    siblings = _rotated_siblings(path, max_line_bytes)
    if current is not None:  # a hard link to the file at the path is not a rotated copy
        linked = [f for f in siblings if (f.device, f.inode) == (current.device, current.inode)]
        for f in linked:
            f.close()
            siblings.remove(f)
    at = next((i for i, f in enumerate(siblings) if f.holds(stored, by_content=False)), None)
    if at is None:
        at = next((i for i, f in enumerate(siblings) if f.holds(stored, by_content=True)), None)
    if at is None:
        for f in siblings:
            f.close()
        if starting:
            log.warning(
                "%s is not the file read last time and that file is not among its rotated"
                " copies; reading it from the start (lines written to the old file after"
                " byte %d, if any, are not read)",
                path,
                stored.offset,
            )
        return [], current
    for f in siblings[:at]:
        f.close()
    chain = siblings[at:]
    chain[0].start_at(stored.offset)
    log.info(
        "%s was rotated; reading %s from byte %d%s, then the file at the path",
        path,
        chain[0].path.name,
        stored.offset,
        "".join(f", {f.path.name}" for f in chain[1:]),
    )
    return chain, current


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
        self._rotated: list[_OpenFile] = []  # read to their ends before ``_file``
        self._problem: str | None = None

    def problem(self) -> str | None:
        """What keeps this source from reading, if anything (for ``cosmos status``)."""
        return self._problem

    def describe_left(self) -> str | None:
        files = [*self._rotated, *([self._file] if self._file else [])]
        if not files:
            return None
        left = f"{sum(f.bytes_left for f in files) / 1_048_576:.1f} MiB left"
        if self._rotated:
            left += f" (and {len(self._rotated)} rotated file(s) first)"
        return left

    async def batches(self, position: str | None) -> AsyncGenerator[list[LogLine], None]:
        """Lines from ``position`` (or the start) on, forever; closes the files when stopped.

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
        try:
            self._rotated, self._file = await asyncio.to_thread(
                _plan, self.path, stored, self.max_line_bytes, starting=True
            )
            async for batch in self._read_rotated():
                yield batch
            async for batch in self._wait_for_file():
                yield batch
            async for batch in self._follow():
                yield batch
        finally:
            for f in [*self._rotated, *([self._file] if self._file else [])]:
                f.close()
            self._rotated = []
            self._file = None

    async def _wait_for_file(self) -> AsyncGenerator[list[LogLine], None]:
        waited = False
        while self._file is None:
            self._file = await asyncio.to_thread(_open, self.path, self.max_line_bytes)
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

    async def _read_to_end(self, f: _OpenFile) -> AsyncGenerator[list[LogLine], None]:
        """A file that is no longer written at the path: all of it, its last line too."""
        while True:
            lines, got = await asyncio.to_thread(f.read_lines)
            for start in range(0, len(lines), self.batch_lines):
                yield lines[start : start + self.batch_lines]
            if not got:
                break
        if f.refused:
            log.error("%s", f.refused)
        tail = f.flush_lines()
        if tail:
            yield tail

    async def _read_rotated(self) -> AsyncGenerator[list[LogLine], None]:
        while self._rotated:
            f = self._rotated[0]
            async for batch in self._read_to_end(f):
                yield batch
            self._rotated.pop(0)
            f.close()

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
                log.info("%s was truncated (copytruncate); reading it again from 0", self.path)
                async for batch in self._rotate(current, finish_old=False):
                    yield batch
            elif change is _Change.REPLACED:
                async for batch in self._rotate(current, finish_old=True):
                    yield batch
            else:
                yield []  # a heartbeat: caught up and following
                await asyncio.sleep(self.poll_seconds)

    async def _rotate(
        self, old: _OpenFile, *, finish_old: bool
    ) -> AsyncGenerator[list[LogLine], None]:
        """The path holds new content: finish the old, read what was rotated after it, go on."""
        if finish_old:  # renamed: what the writer appended to it is still readable through it
            async for batch in self._read_to_end(old):
                yield batch
        where = old.position
        rotated, fresh = await asyncio.to_thread(
            _plan, self.path, where, self.max_line_bytes, starting=False
        )
        if fresh is None and not rotated:  # gone again between stat and open: check later
            return
        old.close()
        self._file = None
        self._rotated = rotated
        self.backfilling = bool(rotated)
        async for batch in self._read_rotated():
            yield batch
        if fresh is not None:
            log.info("%s was rotated; reading the new file from the start", self.path)
            self._file = fresh
        else:
            async for batch in self._wait_for_file():
                yield batch
