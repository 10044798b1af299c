"""``cosmos ingest`` end to end: real files, a real SQLite file, the real CLI entry point."""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.conftest import FIXTURES, SAMPLES, needs_samples

LOGS = FIXTURES / "logs"


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def as_json_file(text: str) -> bytes:
    out = []
    for i, line in enumerate(text.splitlines()):
        entry = {"log": line + "\n", "stream": "stdout", "time": f"2025-07-01T00:00:{i:02d}.5Z"}
        body = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        out.append(body.replace("<", "\\u003c").encode() + b"\n")
    return b"".join(out)


def as_frames(text: str) -> bytes:
    out = []
    for line in text.splitlines():
        payload = (line + "\n").encode()
        out.append(b"\x01\x00\x00\x00" + struct.pack(">I", len(payload)) + payload)
    return b"".join(out)


def test_ingest_twice_then_append(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    lines = (LOGS / "farmer-current.log").read_text().splitlines(keepends=True)
    log = tmp_path / "farmer.log"
    log.write_text("".join(lines[:30]))
    db = tmp_path / "cosmos.db"

    assert main(["ingest", str(log), "--db", str(db)]) == 0
    out = capsys.readouterr()
    assert "farmer log (plain), 30 new lines" in out.out
    assert "reward_signed" in out.out
    assert "01JZAAAAAAAAAAAAAAAAAAAAAA" in out.out
    assert "farmer.log: 30 lines" in out.err  # progress goes to stderr
    assert query(db, "SELECT count(*) FROM rewards") == [(4,)]

    assert main(["ingest", str(log), "--db", str(db)]) == 0
    assert "0 new lines" in capsys.readouterr().out
    assert query(db, "SELECT count(*) FROM rewards") == [(4,)]

    with log.open("a") as f:
        f.write("".join(lines[30:]))
    assert main(["ingest", str(log), "--db", str(db)]) == 0
    assert "18 new lines, resumed at byte" in capsys.readouterr().out
    assert query(
        db, "SELECT farm_id, count(*) FROM rewards WHERE outcome = 'signed' GROUP BY 1"
    ) == [("01JZAAAAAAAAAAAAAAAAAAAAAA", 4), ("01JZBBBBBBBBBBBBBBBBBBBBBB", 2)]
    assert query(db, "SELECT count(*) FROM rewards") == [(8,)]
    assert query(db, "SELECT count(*) FROM events") == [(9,)]


@pytest.mark.parametrize("shape", ["json", "frames", "ansi"])
def test_ingest_detects_framing_and_role_by_content(
    tmp_path: Path, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (LOGS / "farmer-current.log").read_text()
    log = tmp_path / "container.log"
    if shape == "json":
        log.write_bytes(as_json_file(text))
    elif shape == "frames":
        log.write_bytes(as_frames(text))
    else:
        log.write_bytes((LOGS / "farmer-ansi.log").read_bytes())
    node = tmp_path / "something.log"  # a node log with no hint in its name
    node.write_bytes(as_json_file((LOGS / "node-current.log").read_text()))
    db = tmp_path / "cosmos.db"
    for _ in range(2):  # the second run adds nothing, whatever the framing
        assert main(["ingest", str(log), str(node), "--db", str(db)]) == 0
        assert query(db, "SELECT count(*) FROM rewards WHERE outcome = 'signed'") == [(6,)]
        assert query(db, "SELECT count(*) FROM events") == [(9 + 5,)]
    out = capsys.readouterr().out
    framing = {"json": "json-file", "frames": "docker-frames", "ansi": "plain"}[shape]
    assert f"container.log: farmer log ({framing}), 48 new lines" in out
    assert "something.log: node log (json-file), 14 new lines" in out
    assert query(db, "SELECT key, role FROM log_sources ORDER BY role") == [
        (f"file:local:{log}", "farmer"),
        (f"file:local:{node}", "node"),
    ]
    assert query(db, "SELECT state, best FROM node_state") == [("idle", 3245131)]


def test_a_replaced_file_is_read_from_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "farmer.log"
    db = tmp_path / "cosmos.db"
    log.write_text((LOGS / "farmer-2024-05.log").read_text())
    assert main(["ingest", str(log), "--db", str(db)]) == 0
    log.unlink()
    log.write_text((LOGS / "farmer-current.log").read_text())  # another file at the same path
    assert main(["ingest", str(log), "--db", str(db)]) == 0
    assert "48 new lines" in capsys.readouterr().out
    assert query(db, "SELECT count(*) FROM rewards WHERE outcome = 'signed'") == [(6,)]


def test_missing_file_is_reported_and_others_still_ingested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cosmos.db"
    code = main(
        ["ingest", str(tmp_path / "nope.log"), str(LOGS / "node-2023.log"), "--db", str(db)]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "nope.log: cannot open" in out
    assert "node-2023.log: node log (plain), 11 new lines" in out


def test_database_path_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSMOS_DATABASE_PATH", str(tmp_path / "from-env.db"))
    assert main(["ingest", str(LOGS / "farmer-2024-03.log")]) == 0
    assert query(tmp_path / "from-env.db", "SELECT count(*) FROM farms") == [(1,)]


@needs_samples
def test_samples_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cosmos.db"
    names = ["farmer-json.log", "node.log"]
    assert main(["ingest", *(str(SAMPLES / n) for n in names), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "farmer-json.log: farmer log (json-file), 274 new lines" in out
    assert "node.log: node log (plain), 130 new lines" in out
    assert query(
        db,
        "SELECT substr(farm_id, -4), count(*) FROM rewards WHERE outcome = 'signed'"
        " GROUP BY farm_id ORDER BY 2 DESC",
    ) == [("1YZD", 8), ("2ZAE", 5), ("4CEF", 1)]


@pytest.mark.parametrize("framing", ["plain", "frames"])
def test_docker_logs_with_timestamps_are_recognised(
    tmp_path: Path, framing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``docker logs -t`` (or the API with ``timestamps=1``) puts Docker's time first."""
    lines = (LOGS / "farmer-current.log").read_text().splitlines()
    stamped = "".join(
        f"2025-07-01T05:00:{i:02d}.123456789Z {line}\n" for i, line in enumerate(lines)
    )
    log = tmp_path / "docker-t.log"
    log.write_bytes(stamped.encode() if framing == "plain" else as_frames(stamped))
    db = tmp_path / "cosmos.db"
    assert main(["ingest", str(log), "--db", str(db)]) == 0
    assert "farmer log" in capsys.readouterr().out
    assert query(
        db, "SELECT farm_id, count(*) FROM rewards WHERE outcome = 'signed' GROUP BY 1"
    ) == [("01JZAAAAAAAAAAAAAAAAAAAAAA", 4), ("01JZBBBBBBBBBBBBBBBBBBBBBB", 2)]
    # The line's own time is kept (not Docker's).
    assert query(db, "SELECT min(ts_us) FROM events") == [(1_751_328_000_000_001,)]


def test_a_file_starting_with_a_nul_run_is_read_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """copytruncate with a writer that does not append leaves a hole of NULs before the lines."""
    log = tmp_path / "farmer.log"
    log.write_bytes(b"\0" * 70_000 + (LOGS / "farmer-current.log").read_bytes())
    db = tmp_path / "cosmos.db"
    assert main(["ingest", str(log), "--db", str(db)]) == 0
    assert "farmer log (plain), 48 new lines" in capsys.readouterr().out
    assert query(db, "SELECT count(*) FROM rewards WHERE outcome = 'signed'") == [(6,)]


def test_binary_files_are_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "farmer.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    db = tmp_path / "cosmos.db"
    assert main(["ingest", str(binary), str(LOGS / "node-2023.log"), "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "farmer.bin: not read: binary data, not a text log" in out
    assert "node-2023.log: node log (plain), 11 new lines" in out
    assert query(db, "SELECT count(*) FROM log_sources WHERE key LIKE '%farmer.bin'") == [(0,)]


def test_a_gzipped_rotated_log_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gzip

    log = tmp_path / "farmer.log.2.gz"
    with gzip.open(log, "wb") as f:
        f.write((LOGS / "farmer-current.log").read_bytes())
    db = tmp_path / "cosmos.db"
    assert main(["ingest", str(log), "--db", str(db)]) == 0
    assert "farmer.log.2.gz: farmer log (plain), 48 new lines" in capsys.readouterr().out
    assert query(db, "SELECT count(*) FROM rewards WHERE outcome = 'signed'") == [(6,)]
    assert main(["ingest", str(log), "--db", str(db)]) == 0  # resumed at its end
    assert "0 new lines" in capsys.readouterr().out


def test_broken_json_file_entries_count_as_unmatched_with_a_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = as_json_file((LOGS / "farmer-current.log").read_text()).splitlines(keepends=True)
    clean, broken = tmp_path / "clean-json.log", tmp_path / "broken-json.log"
    clean.write_bytes(b"".join(entries))
    cut = entries[10][: len(entries[10]) // 2] + b"\n"  # a cut entry (disk full, crash)
    broken.write_bytes(b"".join([*entries[:10], cut, b"\x00garbage\n", *entries[10:]]))
    db_clean, db_broken = tmp_path / "clean.db", tmp_path / "broken.db"
    assert main(["ingest", str(clean), "--db", str(db_clean)]) == 0
    assert main(["ingest", str(broken), "--db", str(db_broken)]) == 0
    out = capsys.readouterr().out
    assert "broken-json.log: farmer log (json-file), 50 new lines" in out
    unmatched = "SELECT coalesce(sum(count), 0) FROM unmatched_lines"
    assert query(db_broken, unmatched)[0][0] == query(db_clean, unmatched)[0][0] + 2  # type: ignore[operator]
    samples = [row[0] for row in query(db_broken, "SELECT sample FROM unmatched_lines")]
    assert any(str(s).startswith('{"log":') for s in samples)
    assert query(db_broken, "SELECT count(*) FROM rewards") == query(
        db_clean, "SELECT count(*) FROM rewards"
    )


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@needs_samples
def test_ctrl_c_stops_ingest_and_its_planning_process_and_the_next_run_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long file is planned in a second process; Ctrl+C ends both at once, and running
    again stores exactly what one uninterrupted run does."""
    import signal
    import subprocess
    import sys
    import time

    from bench.farmer_log import write_log
    from tests.collectors.test_ingest_golden import dump

    monkeypatch.chdir(tmp_path)  # no .env here
    log = tmp_path / "farmer.json.log"
    write_log(log, 200_000, json_file=True)  # about 45 MB: well past the 16 MiB threshold
    clean = tmp_path / "clean.db"
    assert main(["ingest", str(log), "--db", str(clean)]) == 0

    db = tmp_path / "cut.db"
    cosmos = subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", str(log), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (workers := _children(cosmos.pid)):
            assert cosmos.poll() is None, "cosmos ingest ended before its planning process began"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.2)  # some batches planned and written
        cosmos.send_signal(signal.SIGINT)
        assert cosmos.wait(timeout=30) == 130
    finally:
        cosmos.kill()
        cosmos.wait()
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers):
        assert time.monotonic() < deadline, "the planning process outlived cosmos ingest"
        time.sleep(0.01)

    assert main(["ingest", str(log), "--db", str(db)]) == 0
    assert dump(db) == dump(clean)
