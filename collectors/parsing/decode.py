"""Bytes to complete log lines: plain text, Docker json-file, or Engine API multiplexed frames.

Pure and incremental: a :class:`LineDecoder` is fed whatever a read returned (a line split
anywhere, a frame split anywhere, garbage) and hands back only complete lines, each with the
byte offset just after it so that a follower can resume exactly there. Memory is bounded by
``max_line_bytes``: an over-long line is cut, never held whole.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable
from enum import StrEnum

__all__ = [
    "DETECT_BYTES",
    "DecodedLine",
    "Framing",
    "LineDecoder",
    "UnknownFormat",
    "detect_framing",
    "is_gzip",
    "parse_rfc3339_us",
]


class Framing(StrEnum):
    PLAIN = "plain"
    JSON_FILE = "json-file"
    DOCKER_FRAMES = "docker-frames"


class DecodedLine:
    """A complete line, the byte offset just after it, and the transport's time if any.

    A plain class with slots, not a frozen dataclass: one is made per line, and a frozen
    dataclass's ``__init__`` costs about twice as much. ``received`` may be given as Docker's
    raw ``time`` bytes (a json-file entry's ``<time>"}``): it is parsed only when read, which
    is rare (a line without a time of its own).
    """

    __slots__ = ("_received", "end_offset", "text")

    def __init__(self, text: str, end_offset: int, received: int | bytes | None = None) -> None:
        self.text = text
        self.end_offset = end_offset
        self._received = received

    @property
    def received_us(self) -> int | None:
        received = self._received
        if isinstance(received, bytes):
            received = parse_rfc3339_us(received[:-2].decode("ascii", "replace"))
            self._received = received
        return received

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecodedLine):
            return NotImplemented
        return (self.text, self.end_offset, self.received_us) == (
            other.text,
            other.end_offset,
            other.received_us,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DecodedLine({self.text!r}, {self.end_offset}, {self.received_us})"


_FRAME_HEADER_LEN = 8
# Log streams carry stdout (1) and stderr (2) only; 0 (stdin) would make a run of NUL bytes a chain
# of empty frames.
_FRAME_STREAMS = (1, 2)
_MAX_FRAME = 16 << 20
_BOM = b"\xef\xbb\xbf"
# The parts of a json-file entry that holds one whole line.
_JSON_HEAD = b'{"log":"'
_JSON_LOG_END = b'\\n","stream":"'
_JSON_TIME = b'","time":"'
# How much of a file the format is decided on.
DETECT_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_BINARY_MAGIC = {
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"BZh": "bzip2-compressed",
    b"PK\x03\x04": "a zip archive",
}
# Bytes that never appear in a text log (ESC, tab, CR and LF do).
_CONTROL = bytes(set(range(32)) - {9, 10, 13, 27}) + b"\x7f"


class UnknownFormat(ValueError):
    """The bytes are no log format we read; ``str()`` says what they look like."""


_LineHandler = Callable[[bytes | bytearray, int], "DecodedLine | None"]


def _is_frame_header(head: bytes | bytearray, at: int = 0) -> bool:
    return (
        len(head) >= at + _FRAME_HEADER_LEN
        and head[at] in _FRAME_STREAMS
        and head[at + 1] == 0
        and head[at + 2] == 0
        and head[at + 3] == 0
    )


def _frame_chain(head: bytes) -> bool:
    """Every header in ``head`` valid and each length leading to the next one."""
    pos = frames = 0
    while pos + _FRAME_HEADER_LEN <= len(head):
        if not _is_frame_header(head, pos):
            return False
        length = int.from_bytes(head[pos + 4 : pos + 8], "big")
        if not 0 < length <= _MAX_FRAME:
            return False
        pos += _FRAME_HEADER_LEN + length
        frames += 1
    return frames > 0


def _json_file_lines(text: bytes) -> bool:
    """Most complete lines are json-file entries (one broken entry does not change the file)."""
    lines = text.split(b"\n")
    complete = lines[:-1] if len(lines) > 1 else []
    if not complete:
        return text.startswith(_JSON_HEAD)  # one entry longer than the sample
    good = 0
    for raw in complete[:200]:
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        good += isinstance(entry, dict) and isinstance(entry.get("log"), str)
    return good * 2 > min(len(complete), 200)


def is_gzip(head: bytes) -> bool:
    return head.startswith(_GZIP_MAGIC)


def detect_framing(head: bytes) -> Framing:
    """The framing of a file or stream, decided on its first bytes (up to ``DETECT_BYTES``).

    A leading run of NUL bytes (what ``copytruncate`` leaves when the writer does not append) is
    skipped. Raises :class:`UnknownFormat` for anything that is not a text log: compressed data,
    binary, a frame stream whose lengths do not add up.
    """
    head = head[:DETECT_BYTES]
    if _frame_chain(head):
        return Framing.DOCKER_FRAMES
    text = head.lstrip(b"\0")
    if is_gzip(text):
        raise UnknownFormat("gzip-compressed data (only a file named *.gz is decompressed)")
    for magic, what in _BINARY_MAGIC.items():
        if text.startswith(magic):
            raise UnknownFormat(f"{what}, not a log")
    stripped = text.removeprefix(_BOM).lstrip(b" \t\r\n")
    if stripped.startswith(b'{"') and _json_file_lines(stripped):
        return Framing.JSON_FILE
    if text:
        controls = len(text) - len(text.translate(None, _CONTROL))
        invalid = text.decode("utf-8", "replace").count("\ufffd") - text.count("\ufffd".encode())
        if (controls + invalid) * 20 > len(text):  # over 5 %: not text
            if _is_frame_header(text):
                raise UnknownFormat("Docker frames whose lengths do not add up (a cut capture?)")
            raise UnknownFormat("binary data, not a text log")
    return Framing.PLAIN


# --- timestamps -----------------------------------------------------------------------------

_day_cache: dict[str, int] = {}
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$"
)


def parse_rfc3339_us(value: str) -> int | None:
    """``2025-06-20T08:00:00.412987189Z`` (any fraction length, or none) to UTC microseconds.

    The start of each UTC day is cached (``timegm`` is the slow part and a log's lines share
    days, not seconds: a farmer logs about a line a second); the time of day is arithmetic.
    A value without a zone is read as UTC. Anything unparseable gives None.
    """
    day = _day_cache.get(value[:10])
    if day is not None and len(value) >= 20 and value[-1] == "Z" and value[10] == "T":
        # Fast path: ``HH:MM:SS[.fff…]Z`` on a day already seen.
        hms = value[11:13] + value[14:16] + value[17:19]
        if value[13] == value[16] == ":" and hms.isdecimal():
            clock = int(hms)
            hour, rest = divmod(clock, 10_000)
            minute, second = divmod(rest, 100)
            if hour < 24 and minute < 60 and second < 61:
                base = day + (hour * 3600 + minute * 60 + second) * 1_000_000
                if len(value) == 20:
                    return base
                frac = value[20:-1]
                if value[19] == "." and frac.isdecimal():
                    return base + int(frac[:6].ljust(6, "0"))
    match = _RFC3339.match(value)
    if match is None:
        return None
    year, month, day_text, hour_text, minute_text, second_text, frac, zone = match.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day_text) <= 31 and int(hour_text) < 24):
        return None
    if int(minute_text) >= 60 or int(second_text) >= 61:
        return None
    try:
        midnight = calendar.timegm((int(year), int(month), int(day_text), 0, 0, 0, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    seconds = midnight + int(hour_text) * 3600 + int(minute_text) * 60 + int(second_text)
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    elif zone == "Z" and value[10] == "T":
        if len(_day_cache) >= 4096:
            _day_cache.clear()
        _day_cache[value[:10]] = midnight * 1_000_000
    micros = int(frac[:6].ljust(6, "0")) if frac else 0
    return (seconds - offset) * 1_000_000 + micros


# ``timestamps=1``: RFC3339Nano then one space, before every line.
_DOCKER_TS_PREFIX = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) "
)


def _split_docker_timestamp(text: str) -> tuple[str, int | None]:
    match = _DOCKER_TS_PREFIX.match(text)
    if match is None:
        return text, None
    return text[match.end() :], parse_rfc3339_us(match.group(1))


def _text(raw: bytes | bytearray) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


def _clean_surrogates(text: str) -> str:
    """JSON may carry lone surrogates (``\\ud800``) that SQLite cannot store: replace them."""
    return text.encode("utf-8", "replace").decode("utf-8")


class LineDecoder:
    """Stateful decoder for one byte stream. ``feed`` bytes, get complete lines back."""

    def __init__(
        self,
        framing: Framing,
        *,
        max_line_bytes: int = 65536,
        docker_timestamps: bool = False,
    ) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self.framing = framing
        self.max_line_bytes = max_line_bytes
        self.docker_timestamps = docker_timestamps
        self._offset = 0  # bytes of the stream consumed so far (up to the buffer start)
        self._buf = bytearray()
        # Plain (and per-stream frame) line being assembled; True while dropping an over-long tail.
        self._skipping = False
        self._held_cut: bytes | None = None
        # json-file: the partial line assembled from entries not ending in "\n".
        self._json_parts: list[str] = []
        self._json_len = 0
        self._json_time: int | None = None
        # Frames: bytes left in the current frame, its stream, and a line buffer per stream.
        self._frame_left = 0
        self._frame_stream = 1
        self._frame_lines: dict[int, bytearray] = {}
        self._frame_skipping: dict[int, bool] = {}
        # Raw json-file entries are longer than their text (escapes): allow for that.
        self._max_raw = max(max_line_bytes * 8, 64 * 1024)

    # --- public API -------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[DecodedLine]:
        if not data:
            return []
        if self.framing is Framing.DOCKER_FRAMES:
            return self._feed_frames(data)
        if self.framing is Framing.JSON_FILE:
            return self._feed_lines(data, self._max_raw, self._json_entry)
        return self._feed_lines(data, self.max_line_bytes, self._plain_line)

    @property
    def holds_partial(self) -> bool:
        """Bytes of an unfinished line or frame are held (or an over-long line is being cut)."""
        return bool(
            self._buf
            or self._skipping
            or self._held_cut is not None
            or self._json_parts
            or self._frame_left
            or any(self._frame_lines.values())
            or any(self._frame_skipping.values())
        )

    def flush(self) -> list[DecodedLine]:
        """End of input: emit whatever partial line is held."""
        out: list[DecodedLine] = []
        if self.framing is Framing.DOCKER_FRAMES:
            end = self._offset
            for stream in sorted(self._frame_lines):
                pending = self._frame_lines[stream]
                if pending:
                    line = self._plain_line(bytes(pending), end)
                    if line is not None:
                        out.append(line)
            self._frame_lines.clear()
            self._frame_skipping.clear()
            return out
        end = self._offset + len(self._buf)
        handle = self._json_entry if self.framing is Framing.JSON_FILE else self._plain_line
        if self._held_cut is not None:
            line = handle(self._held_cut, end)
            if line is not None:
                out.append(line)
            self._held_cut = None
        if self.framing is Framing.JSON_FILE:
            if self._buf:
                line = self._json_entry(bytes(self._buf), end)
                if line is not None:
                    out.append(line)
            if self._json_parts:
                out.append(self._json_emit(end))
        elif self._buf:
            line = self._plain_line(bytes(self._buf), end)
            if line is not None:
                out.append(line)
        self._offset = end
        self._buf.clear()
        self._skipping = False
        return out

    # --- newline-delimited (plain and json-file) ----------------------------------------------

    def _feed_lines(
        self,
        data: bytes,
        limit: int,
        handle: _LineHandler,
    ) -> list[DecodedLine]:
        out: list[DecodedLine] = []
        start = 0
        # A NUL run (copytruncate's hole) before a line is skipped, not read as part of it.
        nul = b"\0" in data
        if nul and not self._buf and not self._skipping:
            start = len(data) - len(data.lstrip(b"\0"))
            self._offset += start
        if self._skipping:
            # Dropping the tail of an over-long line until its newline.
            nl = data.find(b"\n")
            if nl < 0:
                self._offset += len(data)
                return out
            self._offset += nl + 1
            start = nl + 1
            self._skipping = False
            cut = self._held_cut
            self._held_cut = None
            if cut is not None:
                line = handle(cut, self._offset)
                if line is not None:
                    out.append(line)
        if self._buf:
            nl = data.find(b"\n", start)
            if nl < 0:
                self._buf += data[start:]
                self._bound(limit)
                return out
            self._buf += data[start:nl]
            # Cut as a line read in one piece is: the held start may be short, the end not.
            raw = bytes(self._buf[:limit]) if len(self._buf) > limit else bytes(self._buf)
            self._offset += len(self._buf) + 1
            self._buf.clear()
            start = nl + 1
            line = handle(raw, self._offset)
            if line is not None:
                out.append(line)
        last_nl = data.rfind(b"\n", start)
        if last_nl >= start:
            offset = self._offset
            chunk = data[start:last_nl]
            if self.framing is Framing.JSON_FILE:
                offset = self._json_chunk(chunk, offset, out, nul)
            elif self.docker_timestamps or nul:
                for whole in chunk.split(b"\n"):
                    offset += len(whole) + 1
                    raw = whole.lstrip(b"\0") if nul and whole[:1] == b"\0" else whole
                    line = handle(raw[:limit] if len(raw) > limit else raw, offset)
                    if line is not None:
                        out.append(line)
            else:
                # _plain_line inlined: this loop runs once per line of a plain log.
                append = out.append
                for entry in chunk.split(b"\n"):
                    offset += len(entry) + 1
                    raw = entry[:limit] if len(entry) > limit else entry
                    if raw[-1:] == b"\r":
                        raw = raw[:-1]
                    append(DecodedLine(raw.decode("utf-8", "replace"), offset))
            self._offset = offset
            start = last_nl + 1
        if start < len(data):
            if nul and not self._buf and not self._skipping:
                skipped = len(data) - start - len(data[start:].lstrip(b"\0"))
                self._offset += skipped
                start += skipped
            self._buf += data[start:]
            self._bound(limit)
        return out

    def _bound(self, limit: int) -> None:
        """Keep a partial line within ``limit`` bytes; the rest is dropped up to its newline."""
        if len(self._buf) > limit:
            self._held_cut = bytes(self._buf[:limit])
            self._offset += len(self._buf)
            self._buf.clear()
            self._skipping = True

    def _plain_line(self, raw: bytes | bytearray, end: int) -> DecodedLine | None:
        text = _text(raw)
        if self.docker_timestamps:
            text, received = _split_docker_timestamp(text)
            return DecodedLine(text, end, received)
        return DecodedLine(text, end, None)

    def _json_chunk(self, chunk: bytes, offset: int, out: list[DecodedLine], nul: bool) -> int:
        """Complete json-file entries; the common one (a whole line, no escape but its "\n")
        is cut apart with a few byte searches, anything else goes to the json module. Docker's
        ``time`` is kept as bytes, parsed only if asked for."""
        limit = self._max_raw
        max_text = self.max_line_bytes
        append = out.append
        for whole in chunk.split(b"\n"):
            offset += len(whole) + 1
            raw = whole.lstrip(b"\0") if nul and whole[:1] == b"\0" else whole
            # {"log":"<text>\n","stream":"stdout","time":"<time>"} with no escape in <text>
            text, sep, rest = raw.partition(_JSON_LOG_END)
            if (
                sep
                and not self._json_parts
                and text[:8] == _JSON_HEAD
                and rest[-2:] == b'"}'
                and b"\\" not in text
                and b'"' not in text[8:]
                and len(raw) <= limit
            ):
                _, sep, when = rest.partition(_JSON_TIME)
                if sep:
                    line = text[8:].decode("utf-8", "replace")
                    if len(line) > max_text:
                        line = _cut_text(line, max_text)
                    append(DecodedLine(line, offset, when))
                    continue
            # Longer than Docker ever writes: cut, so it fails to parse and is dropped.
            decoded = self._json_entry(raw[:limit] if len(raw) > limit else raw, offset)
            if decoded is not None:
                append(decoded)
        return offset

    def _json_entry(self, raw: bytes | bytearray, end: int) -> DecodedLine | None:
        """One json-file entry; a line only when its ``log`` ends in a newline.

        A broken entry (cut, garbage, not an entry) comes out as its raw text: the parser does
        not know it, so it is counted as unmatched, with a sample, like any unreadable line.
        """
        try:
            entry = json.loads(raw.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            return self._broken_entry(raw, end)
        log = entry.get("log") if isinstance(entry, dict) else None
        if not isinstance(log, str):
            return self._broken_entry(raw, end)
        when = entry.get("time")
        received = parse_rfc3339_us(when) if isinstance(when, str) else None
        if b"\\u" in raw:
            log = _clean_surrogates(log)
        if log.endswith("\n"):
            if not self._json_parts:
                text = log[:-1]
                if text.endswith("\r"):
                    text = text[:-1]
                if len(text) > self.max_line_bytes:
                    text = _cut_text(text, self.max_line_bytes)
                return DecodedLine(text, end, received)
            self._json_add(log[:-1], received)
            return self._json_emit(end)
        self._json_add(log, received)
        return None

    def _broken_entry(self, raw: bytes | bytearray, end: int) -> DecodedLine | None:
        if not raw.strip():
            return None  # a blank line between entries says nothing
        text = bytes(raw[: self.max_line_bytes]).decode("utf-8", "replace")
        return DecodedLine(_cut_text(text, self.max_line_bytes), end, None)

    def _json_add(self, piece: str, received: int | None) -> None:
        room = self.max_line_bytes - self._json_len
        if room > 0:
            if len(piece) > room:
                piece = piece[:room]
            self._json_parts.append(piece)
            self._json_len += len(piece)
        if self._json_time is None:
            self._json_time = received

    def _json_emit(self, end: int) -> DecodedLine:
        text = "".join(self._json_parts)
        if text.endswith("\r"):
            text = text[:-1]
        text = _cut_text(text, self.max_line_bytes)
        received = self._json_time
        self._json_parts = []
        self._json_len = 0
        self._json_time = None
        return DecodedLine(text, end, received)

    # --- Engine API frames ------------------------------------------------------------------

    def _feed_frames(self, data: bytes) -> list[DecodedLine]:
        out: list[DecodedLine] = []
        buf = self._buf
        buf += data
        pos = 0
        size = len(buf)
        fast = not self.docker_timestamps
        limit = self.max_line_bytes
        while pos < size:
            if self._frame_left == 0:
                if size - pos < _FRAME_HEADER_LEN:
                    break
                if not _is_frame_header(buf, pos):
                    # Lost framing (garbage): move one byte on and look for a header again.
                    pos += 1
                    continue
                stream = buf[pos]
                length = int.from_bytes(buf[pos + 4 : pos + 8], "big")
                pos += _FRAME_HEADER_LEN
                end = pos + length
                if (
                    fast
                    and end <= size
                    and buf[end - 1] == 10  # the frame is one whole line, as Docker sends them
                    and length <= limit
                    and not self._frame_lines.get(stream)
                    and not self._frame_skipping.get(stream)
                    and buf.find(b"\n", pos, end) == end - 1
                ):
                    raw = buf[pos : end - 2 if buf[end - 2] == 13 else end - 1]
                    out.append(DecodedLine(raw.decode("utf-8", "replace"), self._offset + end))
                    pos = end
                    continue
                self._frame_stream = stream
                self._frame_left = length
                continue
            take = min(self._frame_left, size - pos)
            payload = bytes(buf[pos : pos + take])
            self._frame_payload(payload, self._offset + pos, out)
            self._frame_left -= take
            pos += take
        self._offset += pos
        del buf[:pos]
        return out

    def _frame_payload(self, payload: bytes, base: int, out: list[DecodedLine]) -> None:
        stream = self._frame_stream
        pending = self._frame_lines.setdefault(stream, bytearray())
        skipping = self._frame_skipping.get(stream, False)
        limit = self.max_line_bytes
        start = 0
        while True:
            nl = payload.find(b"\n", start)
            if nl < 0:
                if not skipping:
                    pending += payload[start:]
                    if len(pending) > limit:
                        del pending[limit:]
                        skipping = True
                break
            if not skipping:
                pending += payload[start:nl]
                if len(pending) > limit:
                    del pending[limit:]
            line = self._plain_line(bytes(pending), base + nl + 1)
            pending.clear()
            skipping = False
            if line is not None:
                out.append(line)
            start = nl + 1
        self._frame_skipping[stream] = skipping


def _cut_text(text: str, max_bytes: int) -> str:
    """Cut to at most ``max_bytes`` UTF-8 bytes (characters are at most 4 bytes)."""
    if len(text) * 4 <= max_bytes:
        return text
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")
