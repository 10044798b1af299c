"""Every row the log pipeline stores, compared with what the code stored before the speed work
(``tests/fixtures/golden/ingest-rows.json``, written by the code of 2026-12-06 before any
optimisation). Each input goes through ``cosmos ingest``'s backfill into a fresh SQLite file.

Regenerate only on purpose (a change of what is stored): ``COSMOS_WRITE_GOLDEN=1 pytest <this>``.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest

from bot import ingest_command
from bot.ingest_command import backfill
from collectors.clock import FakeClock
from collectors.ingest import plan_batch
from collectors.models.events import EventKind, SourceCursor
from collectors.parsing.decode import DecodedLine
from tests.conftest import FIXTURES, SAMPLES

GOLDEN = FIXTURES / "golden" / "ingest-rows.json"
LOGS = FIXTURES / "logs"
PLAIN_FIXTURES = sorted(p.name for p in LOGS.glob("*.log"))
SHARED_SAMPLES = [
    "farmer.log",
    "farmer-json.log",
    "node.log",
    "node-json.log",
    "farmer-docker-logs-stream.bin",
]

# Columns that name the file itself (path, inode) rather than what was read from it.
_QUERIES = {
    "log_sources": "SELECT id, role, run_start_us, header_index, last_ts_us, cache_percent,"
    " cache_ts_us, lines_total FROM log_sources ORDER BY id",
    "events": "SELECT source_id, ts_us, kind, farm_id, farm_index, line_hash, data FROM events"
    " ORDER BY source_id, ts_us, line_hash",
    "rewards": "SELECT source_id, farmer_id, farm_id, farm_index, ts_us, outcome, reward_hash,"
    " reward_key, slot, sector_index, detail, line_hash FROM rewards"
    " ORDER BY source_id, ts_us, line_hash",
    "farms": "SELECT farm_id, farmer_id, farm_index, public_key, genesis_hash, allocated_bytes,"
    " allocated_text, directory, log_seen_us, first_seen_us, last_seen_us FROM farms"
    " ORDER BY farm_id",
    "farm_index_map": "SELECT * FROM farm_index_map ORDER BY source_id, run_start_us, farm_index",
    "plots": "SELECT * FROM plots ORDER BY farm_id",
    "node_state": "SELECT * FROM node_state ORDER BY source_id",
    "unmatched_lines": "SELECT * FROM unmatched_lines ORDER BY source_id, day",
}


def as_json_file(text: str) -> bytes:
    """Docker json-file entries, one a line, with times of their own (Docker's, not the line's)."""
    out = []
    for i, line in enumerate(text.splitlines()):
        stamp = f"2025-07-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i * 7919 % 10**9:09d}"
        entry = {"log": line + "\n", "stream": "stdout", "time": stamp.rstrip("0") + "Z"}
        body = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        out.append(body.replace("<", "\\u003c").replace("&", "\\u0026").encode() + b"\n")
    return b"".join(out)


def as_frames(text: str) -> bytes:
    out = io.BytesIO()
    for line in text.splitlines():
        payload = (line + "\n").encode()
        out.write(b"\x01\x00\x00\x00" + struct.pack(">I", len(payload)) + payload)
    return out.getvalue()


def json_log_texts(data: bytes) -> str:
    return "".join(json.loads(line)["log"] for line in data.splitlines())


def inputs() -> dict[str, bytes]:
    """Name -> file content: each fixture as it is, as json-file, as frames; the mix log."""
    out: dict[str, bytes] = {}
    for name in PLAIN_FIXTURES:
        text = (LOGS / name).read_text(encoding="utf-8")
        out[name] = text.encode()
        out[f"{name} as json-file"] = as_json_file(text)
        out[f"{name} as frames"] = as_frames(text)
    out["farmer-small.log"] = (FIXTURES / "sources" / "farmer-small.log").read_bytes()
    mix = (FIXTURES / "golden" / "farmer-mix.json.log").read_bytes()
    out["farmer-mix.json.log"] = mix
    out["farmer-mix.json.log as plain"] = json_log_texts(mix).encode()
    return out


def dump(db: Path) -> dict[str, list[list[Any]]]:
    with sqlite3.connect(db) as conn:
        return {table: [list(r) for r in conn.execute(sql)] for table, sql in _QUERIES.items()}


async def stored_rows(
    tmp_path: Path, name: str, content: bytes, *, second_process: bool = False
) -> dict[str, list[list[Any]]]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    path = folder / name.replace(" ", "_")
    path.write_bytes(content)
    db = tmp_path / f"{path.name}.db"
    assert await ingest_once(path, db, second_process=second_process) is None
    return dump(db)


async def ingest_once(path: Path, db: Path, *, second_process: bool = False) -> str | None:
    """``cosmos ingest`` of one file; its error, if any."""
    report = await backfill(
        [path],
        db,
        "golden",
        clock=FakeClock(),
        progress=io.StringIO(),
        # 0: every file is decoded and planned in a planning process, however short.
        worker_min_bytes=0 if second_process else 1 << 40,
    )
    return report.files[0].error


def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.is_file() else {}


def _check(name: str, rows: dict[str, list[list[Any]]]) -> None:
    if os.environ.get("COSMOS_WRITE_GOLDEN") == "1":
        known = golden()
        known[name] = rows
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(known, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        return
    expected = golden().get(name)
    assert expected is not None, f"no golden rows for {name}"
    for table in _QUERIES:
        assert rows[table] == expected[table], f"{name}: {table} differs"


@pytest.mark.parametrize("name", sorted(inputs()))
async def test_rows_are_the_golden_ones(tmp_path: Path, name: str) -> None:
    rows = await stored_rows(tmp_path, name, inputs()[name])
    assert any(rows[t] for t in ("events", "rewards", "unmatched_lines", "node_state"))
    _check(name, rows)


@pytest.mark.parametrize("name", sorted(inputs()))
async def test_rows_are_the_golden_ones_when_planned_in_a_second_process(
    tmp_path: Path, name: str
) -> None:
    """A long file is decoded and planned in a process of its own (the second core): the
    rows it stores are the same, row for row."""
    _check(name, await stored_rows(tmp_path, name, inputs()[name], second_process=True))


@pytest.mark.skipif(not (SAMPLES / "FORMATS.md").is_file(), reason="../shared/samples is absent")
@pytest.mark.parametrize("name", SHARED_SAMPLES)
async def test_sample_rows_are_the_golden_ones(tmp_path: Path, name: str) -> None:
    rows = await stored_rows(tmp_path, name, (SAMPLES / name).read_bytes())
    _check(f"samples/{name}", rows)


async def test_batch_size_changes_no_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut into many small batches and reads, the mix log stores the same rows."""
    content = (FIXTURES / "golden" / "farmer-mix.json.log").read_bytes()
    (tmp_path / "a").mkdir()
    whole = await stored_rows(tmp_path / "a", "mix.json.log", content)
    monkeypatch.setattr(ingest_command, "BATCH_LINES", 97)
    monkeypatch.setattr(ingest_command, "READ_BYTES", 4093)
    (tmp_path / "b").mkdir()
    cut = await stored_rows(tmp_path / "b", "mix.json.log", content)
    assert cut == whole
    (tmp_path / "c").mkdir()
    apart = await stored_rows(tmp_path / "c", "mix.json.log", content, second_process=True)
    assert apart == whole


def test_progress_line_with_an_impossible_time_takes_the_last_one() -> None:
    """The fast path takes only times that parse; an hour 25 goes the slow way, as before:
    the line counts, and its farm's progress carries the last good time."""
    head = "INFO {farm_index=0}:{sector_index=7}: subspace_farmer::single_disk_farm::plotting:"
    lines = [
        DecodedLine(f"2025-06-20T08:00:01.000000Z  {head} Plotting sector (1.00% complete)", 1),
        DecodedLine(f"2025-06-20T25:00:02.000000Z  {head} Plotting sector (2.00% complete)", 2),
    ]
    cursor = SourceCursor(None, 1, None, None, ((0, "01JFARM"),))
    plan = plan_batch(cursor, lines, 0, "p")
    (plot,) = plan.batch.plots
    assert (plot.percent, plot.ts_us) == (2.0, 1_750_406_401_000_000)
    assert plan.batch.cursor.last_ts_us == 1_750_406_401_000_000
    assert plan.by_kind == {EventKind.PLOTTING: 2}
    assert plan.matched == 2
