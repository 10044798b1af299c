"""kill -9 in the middle of a backfill, start again: the same rows as an uninterrupted run."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FARM_IDS = (
    "01JC6R9K8Q3X2V7N5M4T0B1YZD",
    "01JC6R9K9F4W3Y8P6N5V1C2ZAE",
    "01JD2Q7H5M8R3T6W9Y0A2B4CEF",
)

# Rows compared between the two runs: everything derived from the log, nothing that depends on
# the wall clock of the ingesting process (first/last seen, updated).
COMPARED = {
    "events": "ts_us, kind, farm_id, farm_index, line_hash, data",
    "rewards": "farm_id, farm_index, ts_us, outcome, reward_hash, slot, sector_index, detail",
    "plots": "farm_id, kind, percent, sector_index, ts_us, complete_us",
    "farms": "farm_id, farm_index, public_key, allocated_bytes, directory",
    "farm_index_map": "run_start_us, farm_index, farm_id",
    "unmatched_lines": "day, count",
}


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_farmer_log(path: Path, lines: int) -> None:
    """A plotting-heavy farmer log in the upstream format, with rewards and the odd miss."""
    t = datetime(2025, 6, 20, 8, 0, tzinfo=UTC)
    step = timedelta(milliseconds=7)
    out: list[str] = [
        f"{_stamp(t)}  INFO subspace_farmer::commands::farm: Connecting to node RPC "
        "url=ws://172.18.0.2:9944"
    ]
    for index, farm_id in enumerate(FARM_IDS):
        span = f"{{farm_index={index}}}: subspace_farmer::commands::farm:"
        out += [
            f"{_stamp(t)}  INFO {span} Farm {index}:",
            f"{_stamp(t)}  INFO {span}   ID: {farm_id}",
            f"{_stamp(t)}  INFO {span}   Public key: 0x{index:064x}",
            f"{_stamp(t)}  INFO {span}   Allocated space: 1.8 TiB (2.0 TB)",
            f"{_stamp(t)}  INFO {span}   Directory: /farms/d{index}",
        ]
    n = 0
    while len(out) < lines:
        n += 1
        t += step
        farm = n % 3
        if n % 97 == 0:
            digest = hashlib.sha256(str(n).encode()).hexdigest()
            out.append(
                f"{_stamp(t)}  INFO {{farm_index={farm}}}: subspace_farmer::single_disk_farm::"
                f"reward_signing: Successfully signed reward hash 0x{digest}"
            )
        elif n % 1009 == 0:
            out.append(
                f"{_stamp(t)}  WARN {{farm_index={farm}}}: subspace_farmer::single_disk_farm::"
                f"farming: Proving for solution skipped due to farming time limit slot={n} "
                f"sector_index={n % 700}"
            )
        elif n % 4999 == 0:
            out.append(f"{_stamp(t)}  INFO some_new_module: a message no parser knows n={n}")
        else:
            sector = n // 3
            out.append(
                f"{_stamp(t)}  INFO {{farm_index={farm}}}:{{sector_index={sector}}}: "
                "subspace_farmer::single_disk_farm::plotting: Plotting sector "
                f"({(sector % 10000) / 100:.2f}% complete)"
            )
    path.write_text("\n".join(out) + "\n")


def _ingest_command(log: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        os.devnull,
        "ingest",
        str(log),
        "--db",
        str(db),
    ]


def _rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {
            table: sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
            for table, columns in COMPARED.items()
        }
    finally:
        conn.close()


def _stored_position(db: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.OperationalError:
        return None
    try:
        row = conn.execute("SELECT position FROM log_sources").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def test_kill_9_mid_backfill_then_restart_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    log = tmp_path / "farmer.log"
    write_farmer_log(log, 400_000)
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    clean_db = tmp_path / "clean.db"
    subprocess.run(_ingest_command(log, clean_db), check=True, env=env, capture_output=True)

    crashed_db = tmp_path / "crashed.db"
    proc = subprocess.Popen(
        _ingest_command(log, crashed_db),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _stored_position(crashed_db) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        still_running = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    if not still_running:
        pytest.fail("the backfill finished before it could be killed: make the log longer")
    assert proc.returncode == -signal.SIGKILL
    partial = _rows(crashed_db)
    clean = _rows(clean_db)
    assert len(partial["events"]) < len(clean["events"]) or len(partial["rewards"]) < len(
        clean["rewards"]
    ), "the kill came after everything was stored"

    subprocess.run(_ingest_command(log, crashed_db), check=True, env=env, capture_output=True)
    assert _rows(crashed_db) == clean
    # And a third run finds nothing new.
    subprocess.run(_ingest_command(log, crashed_db), check=True, env=env, capture_output=True)
    assert _rows(crashed_db) == clean
    assert len(clean["rewards"]) > 3000
