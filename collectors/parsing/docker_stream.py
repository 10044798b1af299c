"""A container's log as the Engine API sends it, to stamped lines: one pass, pure, incremental.

dockerd writes every log message on its own and flushes (``httputils.WriteLogStream`` over an
``ioutils.WriteFlusher``), so a logs response is an HTTP/1.1 chunked body (RFC 9112 §7.1) with
one chunk per message: ``<hex size>\\r\\n`` [8-byte frame header] ``<stamp> <line>\\n\\r\\n``.
Undoing that a chunk at a time through urllib3 and then taking the frames apart cost more than
reading the same lines from a file, so :class:`EngineLogDecoder` does both in one loop when a
chunk is exactly one frame holding one whole line, and hands anything else (a frame split over
chunks, several lines in one frame, garbage) to :class:`LineDecoder`, which reads any split.

``timestamps=1`` puts Docker's fixed stamp (``2025-06-20T08:00:00.412987189Z``) before every
line. It is kept as bytes and parsed only when asked: equal stamps compare as bytes, and fixed
stamps sort as their times do. A line's ``nth`` counts the lines with exactly its stamp, which
makes ``(stamp, nth)`` a resume point that survives a burst of lines in one nanosecond.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime

from collectors.parsing.decode import DecodedLine, Framing, LineDecoder, parse_rfc3339_us

__all__ = [
    "ChunkedBodyError",
    "EngineLogDecoder",
    "StampedLine",
    "fixed_stamp",
    "split_stamp",
]

# Docker's RFC3339NanoFixed in UTC, then the space before the line. Only what
# ``parse_rfc3339_us`` accepts, so a stamp taken here always parses later.
_FIXED = re.compile(
    rb"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    rb"T(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)\.\d{9}Z "
)
_STAMP_LEN = 30  # len("2025-06-20T08:00:00.412987189Z")
_ANY_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z ")
_HEADERS = (b"\x01\0\0\0", b"\x02\0\0\0")  # a frame's stream (stdout, stderr) and padding
_LENGTH = struct.Struct(">I")  # a frame's payload length
# A chunk-size line longer than this is not HTTP chunking (the body is not what we think).
_MAX_SIZE_LINE = 1024


class ChunkedBodyError(ValueError):
    """The body breaks the chunked transfer coding; the stream cannot be read on."""


def _fixed_ns(stamp: bytes) -> int:
    seconds_us = parse_rfc3339_us(stamp[:19].decode("ascii") + "Z")
    assert seconds_us is not None  # _FIXED admits only what parses
    return seconds_us * 1000 + int(stamp[20:29])


def fixed_stamp(ts_ns: int) -> bytes:
    """Unix nanoseconds in Docker's fixed form: the inverse of a fixed stamp's parse."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    when = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{when}.{nanos:09d}Z".encode("ascii")


def split_stamp(text: str) -> tuple[str, int | None]:
    """``<RFC3339Nano> <line>`` as ``timestamps=1`` sends it -> (line, unix nanoseconds)."""
    head = text[:31]
    if head.isascii() and _FIXED.match(head.encode("ascii")):
        return text[31:], _fixed_ns(head.encode("ascii"))
    match = _ANY_STAMP.match(text)
    if match is None:
        return text, None
    seconds_us = parse_rfc3339_us(match.group(1) + "Z")
    if seconds_us is None:
        return text, None
    fraction = (match.group(2) or "").ljust(9, "0")
    return text[match.end() :], seconds_us * 1000 + int(fraction)


class StampedLine:
    """One line of a container's log, with its resume position.

    A slotted class: one is made per line, and the stamp is parsed only when ``ts_ns``,
    ``received_us`` or ``position`` is read (the pipeline reads them for a batch's last line).
    ``stamp`` is Docker's fixed stamp, or None when the line came with another form of stamp
    (then ``ts_ns`` is given) or none at all (then it carries the previous line's time).
    """

    __slots__ = ("_ts_ns", "_where", "nth", "stamp", "text")

    def __init__(
        self, text: str, stamp: bytes | None, nth: int, where: str, ts_ns: int | None = None
    ) -> None:
        self.text = text
        self.stamp = stamp
        self.nth = nth
        self._where = where  # "d1:<container id>:"
        self._ts_ns = ts_ns

    @property
    def ts_ns(self) -> int:
        if self._ts_ns is None:
            self._ts_ns = _fixed_ns(self.stamp) if self.stamp is not None else 0
        return self._ts_ns

    @property
    def received_us(self) -> int:
        return self.ts_ns // 1000

    @property
    def position(self) -> str:
        return f"{self._where}{self.ts_ns}:{self.nth}"

    def __repr__(self) -> str:
        return f"StampedLine({self.text!r}, {self.position!r})"


class EngineLogDecoder:
    """Bytes of one logs response -> :class:`StampedLine` s, after a resume point.

    ``chunked``: the bytes are the HTTP body with its chunk framing (as read off the socket);
    otherwise they are the payload already (the SDK's own reader, a bulk read).
    ``framing``: multiplexed frames (a container without a TTY) or raw bytes (with one).
    ``after``: ``(ts_ns, lines at that ts)`` already delivered; those lines and older ones
    are dropped, since ``since`` in whole seconds makes the daemon send some of them again.
    ``ended`` turns true at the body's last chunk; nothing after it is read.
    """

    def __init__(
        self,
        framing: Framing,
        *,
        chunked: bool,
        where: str,
        max_line_bytes: int,
        after: tuple[int, int] | None = None,
    ) -> None:
        self._chunked = chunked
        self._framed = framing is Framing.DOCKER_FRAMES
        # The stamp and its space count against the line's bound, as they did before the cut.
        self._limit = max_line_bytes + _STAMP_LEN + 10
        self._general = LineDecoder(framing, max_line_bytes=self._limit)
        self._where = where
        self._pending = b""  # an unfinished chunk-size line
        self._chunk_left = 0  # payload bytes of a chunk that began in an earlier read
        self._crlf_left = 0  # bytes of the CRLF after a chunk's payload still to skip
        self.ended = False
        if after is None:
            self._skip_stamp, self._skip_ts, self._skip_count = b"", -1, 0
            self._last_stamp: bytes | None = None
            self._last_ts: int | None = -1
            self._nth = 0
        else:
            ts_ns, count = after
            self._skip_stamp, self._skip_ts, self._skip_count = fixed_stamp(ts_ns), ts_ns, count
            self._last_stamp, self._last_ts, self._nth = self._skip_stamp, ts_ns, count
        self._skipped = 0

    def feed(self, data: bytes) -> list[StampedLine]:
        out: list[StampedLine] = []
        if not data or self.ended:
            return out
        if not self._chunked:
            self._decoded(self._general.feed(data), out)
            return out
        if self._pending:
            data = self._pending + data
            self._pending = b""
        pos, size = 0, len(data)
        while pos < size:
            if self._crlf_left:
                take = min(self._crlf_left, size - pos)
                due = b"\r\n"[2 - self._crlf_left :][:take]
                if data[pos : pos + take] != due:
                    raise ChunkedBodyError("a chunk does not end with CRLF")
                self._crlf_left -= take
                pos += take
                continue
            if self._chunk_left:
                take = min(self._chunk_left, size - pos)
                self._decoded(self._general.feed(data[pos : pos + take]), out)
                self._chunk_left -= take
                pos += take
                if not self._chunk_left:
                    self._crlf_left = 2
                continue
            pos = self._whole_lines(data, pos, out)
            if pos >= size:
                break
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                if size - pos > _MAX_SIZE_LINE:
                    raise ChunkedBodyError("no chunk-size line where one was due")
                self._pending = data[pos:]
                break
            chunk = _chunk_size(data[pos:eol])
            if chunk == 0:
                self.ended = True  # the last chunk: trailers, if any, say nothing to us
                break
            # Not the common kind, or it goes on in the next read: the general way.
            self._chunk_left = chunk
            pos = eol + 2
        return out

    def _whole_lines(self, data: bytes, pos: int, out: list[StampedLine]) -> int:
        """The common chunks from ``pos`` on, each one frame (or, with a TTY, one piece of
        bytes) that is exactly one whole line with a fixed stamp; where the first other one
        starts. One loop with locals: this runs once per line of a container's log."""
        if self._general.holds_partial:
            return pos  # the general decoder has the start of a line: it gets the rest
        size = len(data)
        find, fixed, append = data.find, _FIXED.match, out.append
        framed, limit, where, skip = self._framed, self._limit, self._where, self._skip_stamp
        last, nth = self._last_stamp, self._nth
        while True:
            eol = find(b"\r\n", pos)
            if eol < 0 or not data[pos:eol].isalnum():
                break
            try:
                chunk = int(data[pos:eol], 16)
            except ValueError:
                break
            start = eol + 2
            end = start + chunk
            if end + 2 > size or chunk == 0 or data[end : end + 2] != b"\r\n":
                break
            if framed:
                if (
                    data[start : start + 4] not in _HEADERS
                    or _LENGTH.unpack_from(data, start + 4)[0] != chunk - 8
                ):
                    break
                start += 8
            elif find(b"\0", start, end) >= 0:
                break  # raw bytes: a NUL run before a line is the general decoder's to drop
            if (
                end - start <= _STAMP_LEN + 1
                or end - start > limit
                or data[end - 1] != 10
                or find(b"\n", start, end - 1) >= 0
                or not fixed(data, start, start + _STAMP_LEN + 1)
            ):
                break
            stamp = data[start : start + _STAMP_LEN]
            if stamp <= skip:
                break  # at or before the resume point: the general way counts what it skips
            if stamp == last:
                nth += 1
            else:
                last, nth = stamp, 1
            cut = end - 2 if data[end - 2] == 13 else end - 1
            append(
                StampedLine(
                    data[start + _STAMP_LEN + 1 : cut].decode("utf-8", "replace"), stamp, nth, where
                )
            )
            pos = end + 2
        if last is not self._last_stamp:
            self._last_stamp, self._last_ts = last, None
        self._nth = nth
        return pos

    def _stamped(self, text: str, stamp: bytes, out: list[StampedLine]) -> None:
        if stamp <= self._skip_stamp:
            if stamp < self._skip_stamp:
                return
            if self._skipped < self._skip_count:
                self._skipped += 1
                return
        if stamp == self._last_stamp:
            self._nth += 1
        else:
            self._last_stamp, self._last_ts, self._nth = stamp, None, 1
        out.append(StampedLine(text, stamp, self._nth, self._where))

    def _other(self, text: str, out: list[StampedLine]) -> None:
        """A line with another form of stamp, or none (it takes the last line's time)."""
        text, ts_ns = split_stamp(text)
        last_ts = self._last_time()
        if ts_ns is None:
            ts_ns = max(last_ts, 0)
        if ts_ns < self._skip_ts:
            return
        if ts_ns == self._skip_ts and self._skipped < self._skip_count:
            self._skipped += 1
            return
        if ts_ns == last_ts:
            self._nth += 1
        else:
            self._nth = 1
        self._last_ts = ts_ns
        # A fixed stamp of the same time keeps counting with this one.
        self._last_stamp = fixed_stamp(ts_ns) if ts_ns >= 0 else None
        out.append(StampedLine(text, None, self._nth, self._where, ts_ns))

    def _last_time(self) -> int:
        if self._last_ts is None:
            assert self._last_stamp is not None
            self._last_ts = _fixed_ns(self._last_stamp)
        return self._last_ts

    def _decoded(self, lines: list[DecodedLine], out: list[StampedLine]) -> None:
        for line in lines:
            text = line.text
            head = text[: _STAMP_LEN + 1]
            if len(head) == _STAMP_LEN + 1 and head.isascii():
                raw = head.encode("ascii")
                if _FIXED.match(raw):
                    self._stamped(text[_STAMP_LEN + 1 :], raw[:_STAMP_LEN], out)
                    continue
            self._other(text, out)


def _chunk_size(line: bytes) -> int:
    """``<hex>[;extensions]`` (RFC 9112 §7.1.1)."""
    digits = line.split(b";", 1)[0].strip(b" \t") if b";" in line else line
    if not digits or digits.strip(_HEX_DIGITS):
        raise ChunkedBodyError(f"a chunk size that is not hexadecimal: {line[:40]!r}")
    return int(digits, 16)


_HEX_DIGITS = b"0123456789abcdefABCDEF"
