"""The file follower against real files that grow, rotate, get truncated and get replaced."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from collectors.models.logs import SourceRef
from collectors.sources.file_logs import FileIdentity, FileLogSource, FilePosition
from tests.collectors.sources.helpers import Follow, wait_until
from tests.conftest import SAMPLES, needs_samples

LINE = "2025-06-20T08:00:{:02d}.000000Z  INFO subspace_farmer::commands::farm: line {}"


def lines(start: int, count: int) -> list[str]:
    return [LINE.format(i % 60, i) for i in range(start, start + count)]


def write(path: Path, texts: list[str], mode: str = "a") -> None:
    with path.open(mode, encoding="utf-8") as f:
        f.writelines(t + "\n" for t in texts)


def source(path: Path, **kwargs: object) -> FileLogSource:
    ref = SourceRef(f"file:local:{path}", "farmer", "local", "farmer1")
    return FileLogSource(ref, path, poll_seconds=0.02, **kwargs)  # type: ignore[arg-type]


def offset(position: str | None) -> int:
    decoded = FilePosition.decode(position)
    assert decoded is not None
    return decoded.offset


async def test_backfill_then_follow_growth(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 3))
    follow = Follow(source(path))
    try:
        assert await follow.wait_lines(3) == lines(0, 3)
        write(path, lines(3, 2))
        assert await follow.wait_lines(5) == lines(0, 5)
        assert offset(follow.position) == path.stat().st_size
        offsets = [offset(line.position) for line in follow.lines]
        assert offsets == sorted(offsets)
        assert len(set(offsets)) == 5
    finally:
        await follow.stop()


async def test_partial_last_line_is_held_until_completed(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    path.write_bytes(b"first\nsec")
    follow = Follow(source(path))
    try:
        assert await follow.wait_lines(1) == ["first"]
        assert offset(follow.position) == len(b"first\n")
        with path.open("ab") as f:
            f.write(b"ond\r\nthird\n")
        assert await follow.wait_lines(3) == ["first", "second", "third"]
    finally:
        await follow.stop()


async def test_resume_from_stored_offset_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 4))
    first = Follow(source(path))
    await first.wait_lines(4)
    stored = first.position
    await first.stop()
    write(path, lines(4, 3))
    # A partial line at the end when cosmos stops must be read whole on the next run.
    with path.open("a", encoding="utf-8") as f:
        f.write("half")
    second = Follow(source(path), stored)
    try:
        assert await second.wait_lines(3) == lines(4, 3)
        with path.open("a", encoding="utf-8") as f:
            f.write(" and the rest\n")
        assert await second.wait_lines(4) == [*lines(4, 3), "half and the rest"]
    finally:
        await second.stop()


async def test_rotation_by_rename_finishes_old_file_then_reads_new(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 2))
    follow = Follow(source(path))
    try:
        await follow.wait_lines(2)
        # The writer still holds the old file: what it writes after the rename must not be lost,
        # nor its last line without a newline.
        with path.open("a", encoding="utf-8") as old_writer:
            os.rename(path, tmp_path / "farmer.log.1")
            old_writer.write(lines(2, 1)[0] + "\nunterminated tail")
        write(path, lines(3, 2), mode="w")
        expected = [*lines(0, 3), "unterminated tail", *lines(3, 2)]
        assert await follow.wait_lines(6) == expected
        # The positions now name the new file.
        stored = FilePosition.decode(follow.position)
        assert stored is not None
        assert stored.identity.inode == path.stat().st_ino
        assert stored.offset == path.stat().st_size
        write(path, lines(5, 1))
        assert (await follow.wait_lines(7))[-1] == lines(5, 1)[0]
    finally:
        await follow.stop()


async def test_rotation_while_the_path_is_briefly_missing(tmp_path: Path) -> None:
    path = tmp_path / "node.log"
    write(path, lines(0, 1))
    follow = Follow(source(path))
    try:
        await follow.wait_lines(1)
        os.rename(path, tmp_path / "node.log.1")
        write(tmp_path / "node.log.1", lines(1, 1))
        assert await follow.wait_lines(2) == lines(0, 2)
        write(path, lines(2, 1), mode="w")
        assert await follow.wait_lines(3) == lines(0, 3)
    finally:
        await follow.stop()


async def test_copytruncate_restarts_at_zero(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 5))
    inode = path.stat().st_ino
    follow = Follow(source(path))
    try:
        await follow.wait_lines(5)
        shutil.copyfile(path, tmp_path / "farmer.log.1")
        with path.open("r+b") as f:
            f.truncate(0)
        await _settle(follow, 5)
        write(path, lines(100, 2))
        assert path.stat().st_ino == inode
        assert await follow.wait_lines(7) == [*lines(0, 5), *lines(100, 2)]
        assert offset(follow.position) == path.stat().st_size
    finally:
        await follow.stop()


async def test_copytruncate_nul_run_is_skipped_not_taken_for_frames(tmp_path: Path) -> None:
    """The writer kept its offset (``> farmer.log``): the truncated file starts with a NUL hole."""
    path = tmp_path / "farmer.log"
    write(path, lines(0, 5))
    follow = Follow(source(path))
    try:
        await follow.wait_lines(5)
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.truncate(0)
        await _settle(follow, 5)
        with path.open("r+b") as f:  # the writer's next write lands at its old offset
            f.seek(size)
            f.write("".join(t + "\n" for t in lines(100, 3)).encode())
        assert await follow.wait_lines(8) == [*lines(0, 5), *lines(100, 3)]
        assert follow.lines[-1].text == lines(102, 1)[0]
        assert source(path).problem() is None
    finally:
        await follow.stop()


async def test_a_file_that_is_no_log_is_refused_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "farmer.log"
    path.write_bytes(bytes(range(256)) * 16)
    src = source(path)
    follow = Follow(src)
    try:
        await wait_until(lambda: src.problem() is not None)
        assert "binary data, not a text log" in (src.problem() or "")
        assert "binary data" in caplog.text
        assert follow.lines == []
        path.unlink()
        write(path, lines(0, 2))  # replaced by a real log: read
        assert await follow.wait_lines(2) == lines(0, 2)
        assert src.problem() is None
    finally:
        await follow.stop()


async def _settle(follow: Follow, count: int) -> None:
    """Let the follower look at the file a few times (it must not read anything new)."""
    import asyncio

    for _ in range(10):
        await asyncio.sleep(0.02)
    assert len(follow.lines) == count


async def test_same_inode_rewritten_while_stopped_is_read_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 3))
    first = Follow(source(path))
    await first.wait_lines(3)
    stored = first.position
    await first.stop()
    # Truncated and rewritten past the old offset: same inode, size is no clue, the head is.
    with path.open("w", encoding="utf-8") as f:
        f.writelines(t + "\n" for t in lines(200, 6))
    second = Follow(source(path), stored)
    try:
        assert await second.wait_lines(6) == lines(200, 6)
    finally:
        await second.stop()


async def test_file_replaced_by_another_is_read_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 3))
    first = Follow(source(path))
    await first.wait_lines(3)
    stored = first.position
    await first.stop()
    replacement = tmp_path / "other.log"
    write(replacement, lines(50, 4))
    os.replace(replacement, path)
    second = Follow(source(path), stored)
    try:
        assert await second.wait_lines(4) == lines(50, 4)
    finally:
        await second.stop()


async def test_stored_position_of_a_shorter_file_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 2))
    st = path.stat()
    head = path.read_bytes()[:1024]
    beyond = FilePosition(FileIdentity.of(st.st_dev, st.st_ino, head), st.st_size + 500)
    follow = Follow(source(path), beyond.encode())
    try:
        assert await follow.wait_lines(2) == lines(0, 2)
    finally:
        await follow.stop()


async def test_unreadable_position_reads_from_start(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 2))
    follow = Follow(source(path), "docker:v1:abc:1:0")
    try:
        assert await follow.wait_lines(2) == lines(0, 2)
    finally:
        await follow.stop()


async def test_file_that_appears_later(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "later.log"
    src = source(path)
    follow = Follow(src)
    try:
        await _settle(follow, 0)
        assert "does not exist yet" in caplog.text
        write(path, lines(0, 2), mode="w")
        assert await follow.wait_lines(2) == lines(0, 2)
    finally:
        await follow.stop()


async def test_small_file_fingerprint_grows_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    path.write_text("a\n")
    follow = Follow(source(path))
    await follow.wait_lines(1)
    write(path, lines(0, 40))
    await follow.wait_lines(41)
    stored = FilePosition.decode(follow.position)
    await follow.stop()
    assert stored is not None
    assert stored.identity.head_len == 1024
    write(path, lines(40, 1))
    again = Follow(source(path), follow.position)
    try:
        assert await again.wait_lines(1) == lines(40, 1)
    finally:
        await again.stop()


async def test_docker_json_file_log_followed_directly(tmp_path: Path) -> None:
    path = tmp_path / "abc-json.log"
    entries = [
        {
            "log": "2025-06-20T08:00:00.412987Z  INFO a: one\n",
            "stream": "stdout",
            "time": "2025-06-20T08:00:00.412987189Z",
        },
        {"log": "part ", "stream": "stdout", "time": "2025-06-20T08:00:01Z"},
        {"log": "two \u003cx\u003e\n", "stream": "stdout", "time": "2025-06-20T08:00:01.5Z"},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    follow = Follow(source(path))
    try:
        assert await follow.wait_lines(2) == [
            "2025-06-20T08:00:00.412987Z  INFO a: one",
            "part two <x>",
        ]
        assert follow.lines[0].received_us == 1_750_406_400_412_987
        assert offset(follow.position) == path.stat().st_size
    finally:
        await follow.stop()


async def test_many_lines_come_in_bounded_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    write(path, lines(0, 12_000))
    follow = Follow(source(path, batch_lines=5000))
    try:
        await follow.wait_lines(12_000, within=60)
        assert follow.texts == lines(0, 12_000)
        assert max(len(b) for b in follow.batches) <= 5000
    finally:
        await follow.stop()


@needs_samples
@pytest.mark.parametrize("name", ["farmer.log", "farmer-json.log", "node.log", "node-json.log"])
async def test_sample_logs_read_whole(tmp_path: Path, name: str) -> None:
    plain = (SAMPLES / name.replace("-json", "")).read_text(encoding="utf-8").splitlines()
    path = tmp_path / name
    shutil.copyfile(SAMPLES / name, path)
    follow = Follow(source(path))
    try:
        assert await follow.wait_lines(len(plain)) == plain
        assert offset(follow.position) == path.stat().st_size
    finally:
        await follow.stop()


# --- rotation while cosmos was stopped ------------------------------------------------------


async def _stopped_after(path: Path, count: int) -> str:
    """Read ``count`` lines, stop as a kill would, and return the stored position."""
    first = Follow(source(path))
    await first.wait_lines(count)
    await first.stop()
    stored = first.position
    assert stored is not None
    return stored


def _gzip_rotated(plain: Path, target: Path) -> None:
    """``compress`` as logrotate does it: gzip keeps the mtime, the plain file goes."""
    import gzip

    st = plain.stat()
    with plain.open("rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    plain.unlink()


async def _expect_after(path: Path, stored: str, expected: list[str]) -> Follow:
    follow = Follow(source(path), stored)
    got = await follow.wait_lines(len(expected))
    await _settle(follow, len(expected))
    assert got == expected
    return follow


async def test_rotated_by_rename_while_stopped_unread_end_then_new(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 4))
    stored = await _stopped_after(path, 4)
    write(path, lines(4, 3))  # written while cosmos was stopped, then rotated away
    os.rename(path, tmp_path / "farmer.log.1")
    write(path, lines(7, 2), mode="w")
    follow = await _expect_after(path, stored, lines(4, 5))
    try:
        write(path, lines(9, 1))
        assert (await follow.wait_lines(6))[-1] == lines(9, 1)[0]
        position = FilePosition.decode(follow.position)
        assert position is not None
        assert position.identity.inode == path.stat().st_ino
    finally:
        await follow.stop()


@pytest.mark.parametrize("nul_run", [False, True])
async def test_copytruncated_while_stopped_copy_then_new(tmp_path: Path, nul_run: bool) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 4))
    stored = await _stopped_after(path, 4)
    write(path, lines(4, 3))
    size = path.stat().st_size
    shutil.copyfile(path, tmp_path / "farmer.log.1")
    with path.open("r+b") as f:
        f.truncate(0)
        f.seek(size if nul_run else 0)  # a writer without O_APPEND keeps its offset
        f.write("".join(t + "\n" for t in lines(7, 2)).encode())
    follow = await _expect_after(path, stored, lines(4, 5))
    await follow.stop()


async def test_three_rotations_while_stopped_with_compression(tmp_path: Path) -> None:
    """logrotate ``compress`` + ``delaycompress``, three times: .3.gz .2.gz .1 and the path."""
    path = tmp_path / "farmer.log"
    old = tmp_path / "farmer.log.9.gz"  # an old rotation read long ago: not read again
    write(tmp_path / "old", lines(900, 3))
    _gzip_rotated(tmp_path / "old", old)
    os.utime(old, (1, 1))
    write(path, lines(0, 4))
    stored = await _stopped_after(path, 4)
    write(path, lines(4, 2))
    for n in range(3):
        for k in (2, 1):
            older = tmp_path / f"farmer.log.{k}"
            if older.exists():
                _gzip_rotated(older, tmp_path / f"farmer.log.{k + 1}.gz")
            elif (tmp_path / f"farmer.log.{k}.gz").exists():
                os.rename(tmp_path / f"farmer.log.{k}.gz", tmp_path / f"farmer.log.{k + 1}.gz")
        os.rename(path, tmp_path / "farmer.log.1")
        write(path, lines(10 * (n + 1), 2), mode="w")
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("farmer")) == [
        "farmer.log",
        "farmer.log.1",
        "farmer.log.2.gz",
        "farmer.log.3.gz",
        "farmer.log.9.gz",
    ]
    expected = [*lines(4, 2), *lines(10, 2), *lines(20, 2), *lines(30, 2)]
    follow = await _expect_after(path, stored, expected)
    await follow.stop()
    # Stopped again while reading the compressed file: it goes on from there.
    positions = [line.position for line in follow.lines]
    again = await _expect_after(path, positions[2], expected[3:])
    await again.stop()


async def test_killed_while_reading_a_rotated_file_resumes_in_it(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 2))
    stored = await _stopped_after(path, 2)
    write(path, lines(2, 5))
    os.rename(path, tmp_path / "farmer.log-20251206")
    write(path, lines(7, 2), mode="w")
    first = await _expect_after(path, stored, lines(2, 7))
    await first.stop()
    middle = first.lines[2].position  # inside the rotated file
    second = await _expect_after(path, middle, lines(5, 4))
    await second.stop()


async def test_rotated_copy_not_found_reads_the_new_file_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 2))
    stored = await _stopped_after(path, 2)
    path.unlink()  # deleted while stopped: nothing left to read of it
    write(path, lines(5, 2), mode="w")
    follow = await _expect_after(path, stored, lines(5, 2))
    await follow.stop()
    assert "not among its rotated copies" in caplog.text


# --- rotation while following ---------------------------------------------------------------


async def test_copytruncate_refilled_past_the_old_offset_is_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 5))
    follow = Follow(FileLogSource(SourceRef("f", "farmer"), path, poll_seconds=0.3))
    try:
        await follow.wait_lines(5)
        # Between two polls: copied, truncated and written again to well past the old offset.
        shutil.copyfile(path, tmp_path / "farmer.log.1")
        with path.open("w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t in lines(100, 40))
        assert await follow.wait_lines(45) == [*lines(0, 5), *lines(100, 40)]
        await _settle(follow, 45)
    finally:
        await follow.stop()


async def test_copytruncate_while_following_reads_the_copy_s_unread_end(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 3))
    follow = Follow(FileLogSource(SourceRef("f", "farmer"), path, poll_seconds=0.3))
    try:
        await follow.wait_lines(3)
        # Written and rotated within one poll: the last lines are only in the copy now.
        write(path, lines(3, 2))
        shutil.copyfile(path, tmp_path / "farmer.log.1")
        with path.open("r+b") as f:
            f.truncate(0)
        write(path, lines(50, 2))
        assert await follow.wait_lines(7) == [*lines(0, 5), *lines(50, 2)]
        await _settle(follow, 7)
    finally:
        await follow.stop()


async def test_two_renames_between_polls_read_the_middle_file(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    write(path, lines(0, 2))
    follow = Follow(FileLogSource(SourceRef("f", "farmer"), path, poll_seconds=0.3))
    try:
        await follow.wait_lines(2)
        os.rename(path, tmp_path / "farmer.log.1")
        write(path, lines(2, 2), mode="w")
        os.rename(tmp_path / "farmer.log.1", tmp_path / "farmer.log.2")
        os.rename(path, tmp_path / "farmer.log.1")
        write(path, lines(4, 2), mode="w")
        assert await follow.wait_lines(6) == lines(0, 6)
        await _settle(follow, 6)
    finally:
        await follow.stop()


async def test_a_gz_file_is_read_once_and_then_only_watched(tmp_path: Path) -> None:
    """A configured ``.gz`` path is backfill only: read through, never taken as truncated."""
    path = tmp_path / "farmer.log.1.gz"
    write(tmp_path / "plain", lines(0, 30))
    _gzip_rotated(tmp_path / "plain", path)
    follow = Follow(source(path))
    try:
        assert await follow.wait_lines(30) == lines(0, 30)
        await _settle(follow, 30)
    finally:
        await follow.stop()
    again = Follow(source(path), follow.position)
    try:
        await _settle(again, 0)
    finally:
        await again.stop()
