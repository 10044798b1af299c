"""Rotation × kill -9: ``cosmos run`` follows a farmer log through every way it gets rotated.

Each case runs cosmos as a real process on a real file, kills it with SIGKILL in the middle of
reading, rotates the log (while stopped, or while running for the ways that destroy the old
content), writes more and starts cosmos again. The stored events, rewards and plots must equal
those of one ``cosmos ingest`` over the same lines in one file, and the source must have counted
each line once: 0 lost, 0 read twice.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ship.test_crash_recovery import COMPARED, REPO, write_farmer_log

BASE_LINES = 120_000  # long enough that the first kill lands in the middle of the backfill
TAIL_LINES = 3_000


def _cosmos(env_file: Path, *args: str) -> list[str]:
    """``cosmos`` with an empty settings file: everything comes from the environment."""
    env_file.touch()
    return [sys.executable, "-m", "bot", "--env-file", str(env_file), *args]


def _env(db: Path, log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSMOS_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "COSMOS_DATABASE_PATH": str(db),
            "COSMOS_FARMER_NAME": "matrix",
            "COSMOS_LOGS__FILES": json.dumps([{"path": str(log), "role": "farmer"}]),
        }
    )
    return env


def _lines_total(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
    except sqlite3.OperationalError:
        return 0
    try:
        row = conn.execute("SELECT sum(lines_total) FROM log_sources").fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()
    return int(row[0] or 0)


class Cosmos:
    """``cosmos run`` as a process, killed with SIGKILL (never stopped cleanly)."""

    def __init__(self, db: Path, log: Path, out: Path) -> None:
        self.db, self.log, self.out = db, log, out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen(
                _cosmos(self.db.with_name("empty.env"), "run"),
                env=_env(self.db, self.log),
                cwd=REPO,
                stdout=out,
                stderr=out,
            )

    def wait_lines(self, more_than: int, within: float = 120.0) -> int:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail("cosmos exited:\n" + self.out.read_text()[-3000:])
            total = _lines_total(self.db)
            if total > more_than:
                return total
            time.sleep(0.01)
        pytest.fail(f"cosmos did not read past {more_than} lines:\n{self.out.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        assert self.proc.returncode == -signal.SIGKILL

    def run_until(self, expected: int, within: float = 180.0) -> None:
        """Start, wait until ``expected`` lines are counted and a little more, then kill."""
        self.start()
        self.wait_lines(expected - 1, within)
        time.sleep(1.5)  # a few polls more: nothing may be read again
        self.kill()


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.writelines(t + "\n" for t in lines)


def _gzip_rotated(plain: Path, target: Path) -> None:
    st = plain.stat()
    with plain.open("rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    plain.unlink()


def _rows(db: Path) -> dict[str, Counter[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return {t: Counter(conn.execute(f"SELECT {c} FROM {t}")) for t, c in COMPARED.items()}
    finally:
        conn.close()


# Each case: (log, its folder, the lines to write in order as segments) -> segments written.
# ``while_stopped`` cases rotate between the kill and the restart; the others while running.
Rotate = Callable[[Path, list[str], list[str]], None]


def _create(log: Path, unread: list[str], fresh: list[str]) -> None:
    _append(log, unread)
    os.rename(log, log.with_name(log.name + ".1"))
    _append(log, fresh)


def _copytruncate(nul_run: bool) -> Rotate:
    def rotate(log: Path, unread: list[str], fresh: list[str]) -> None:
        _append(log, unread)
        writer_offset = log.stat().st_size
        shutil.copyfile(log, log.with_name(log.name + ".1"))
        with log.open("r+b") as f:
            f.truncate(0)
            if nul_run:  # the writer (``> farmer.log``) keeps its offset: a hole of NULs
                f.seek(writer_offset)
            f.write("".join(t + "\n" for t in fresh).encode())

    return rotate


def _three_rotations(log: Path, unread: list[str], fresh: list[str]) -> None:
    """logrotate ``compress`` + ``delaycompress`` three times: .3.gz .2.gz .1 and the path."""
    _append(log, unread)
    third = len(fresh) // 3
    parts = [fresh[:third], fresh[third : 2 * third], fresh[2 * third :]]
    folder = log.parent
    for part in parts:
        for k in (2, 1):
            plain, packed = folder / f"{log.name}.{k}", folder / f"{log.name}.{k}.gz"
            if plain.exists():
                _gzip_rotated(plain, folder / f"{log.name}.{k + 1}.gz")
            elif packed.exists():
                os.rename(packed, folder / f"{log.name}.{k + 1}.gz")
        os.rename(log, folder / f"{log.name}.1")
        _append(log, part)
    assert (folder / f"{log.name}.3.gz").exists()


def _delete_and_recreate(log: Path, fresh: list[str]) -> None:
    log.unlink()
    _append(log, fresh)


def _truncate(log: Path, fresh: list[str]) -> None:
    with log.open("w", encoding="utf-8") as f:  # ``> farmer.log`` then the farmer writes again
        f.writelines(t + "\n" for t in fresh)


WHILE_STOPPED: dict[str, Rotate] = {
    "create": _create,
    "copytruncate": _copytruncate(nul_run=False),
    "copytruncate-nul-run": _copytruncate(nul_run=True),
    "three-rotations": _three_rotations,
}
WHILE_RUNNING: dict[str, Callable[[Path, list[str]], None]] = {
    "delete-and-recreate": _delete_and_recreate,
    "truncate": _truncate,
}


@pytest.fixture(scope="module")
def farmer_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("gen") / "farmer.log"
    write_farmer_log(path, BASE_LINES + 3 * TAIL_LINES)
    return path.read_text().splitlines()


def _check(tmp_path: Path, db: Path, expected: list[str], case: str) -> None:
    clean_log = tmp_path / "clean" / "farmer.log"
    clean_log.parent.mkdir()
    clean_log.write_text("\n".join(expected) + "\n")
    clean_db = tmp_path / "clean.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSMOS_")}
    env["PYTHONPATH"] = str(REPO)
    command = _cosmos(tmp_path / "empty.env", "ingest", str(clean_log), "--db", str(clean_db))
    subprocess.run(command, check=True, env=env, capture_output=True)
    got, clean = _rows(db), _rows(clean_db)
    lost = sum((clean[t] - got[t]).total() for t in ("events", "rewards", "plots"))
    extra = sum((got[t] - clean[t]).total() for t in ("events", "rewards", "plots"))
    counted = _lines_total(db)
    read_twice = counted - len(expected) + lost
    print(f"\nrotation matrix {case}: lost {lost}, read twice {read_twice}, extra rows {extra}")
    assert (lost, read_twice, extra) == (0, 0, 0)
    assert got == clean
    assert len(clean["rewards"]) > 500


@pytest.mark.parametrize("case", list(WHILE_STOPPED))
def test_rotated_while_stopped_after_a_kill(
    tmp_path: Path, farmer_lines: list[str], case: str
) -> None:
    log, db = tmp_path / "farmer.log", tmp_path / "cosmos.db"
    base = farmer_lines[:BASE_LINES]
    unread = farmer_lines[BASE_LINES : BASE_LINES + TAIL_LINES]
    fresh = farmer_lines[BASE_LINES + TAIL_LINES : BASE_LINES + 3 * TAIL_LINES]
    _append(log, base)
    cosmos = Cosmos(db, log, tmp_path / "cosmos.out")
    cosmos.start()
    cosmos.wait_lines(0)
    cosmos.kill()  # in the middle of the backfill (or soon after: the unread end comes next)
    at_first_kill = _lines_total(db)
    WHILE_STOPPED[case](log, unread, fresh)
    # Killed again as soon as it read more: likely inside the rotated file, then to the end.
    cosmos.start()
    cosmos.wait_lines(at_first_kill)
    cosmos.kill()
    print(f"\n{case}: killed at {at_first_kill:,} and {_lines_total(db):,} of {BASE_LINES:,}")
    expected = [*base, *unread, *fresh]
    cosmos.run_until(len(expected))
    _check(tmp_path, db, expected, case)


@pytest.mark.parametrize("case", list(WHILE_RUNNING))
def test_rotated_while_running_then_killed(
    tmp_path: Path, farmer_lines: list[str], case: str
) -> None:
    """Deleting or truncating destroys what was not read: done while cosmos reads along."""
    log, db = tmp_path / "farmer.log", tmp_path / "cosmos.db"
    first = farmer_lines[:TAIL_LINES]
    fresh = farmer_lines[TAIL_LINES:BASE_LINES]
    later = farmer_lines[BASE_LINES : BASE_LINES + TAIL_LINES]
    _append(log, first)
    cosmos = Cosmos(db, log, tmp_path / "cosmos.out")
    cosmos.start()
    cosmos.wait_lines(len(first) - 1)
    WHILE_RUNNING[case](log, fresh)
    cosmos.wait_lines(len(first))
    cosmos.kill()  # in the middle of reading the new content
    print(f"\n{case}: killed at {_lines_total(db):,} of {len(first) + len(fresh):,}")
    _append(log, later)
    expected = [*first, *fresh, *later]
    cosmos.run_until(len(expected))
    _check(tmp_path, db, expected, case)
