"""The planning process of ``cosmos ingest``: same rows, resumes exactly, fails in words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collectors.models.events import SourceCursor
from collectors.parsing.decode import Framing
from collectors.plan_process import plan_in_worker
from collectors.plan_worker import PlanJob, PlanWorkerError
from tests.collectors.test_ingest_golden import dump, ingest_once, json_log_texts
from tests.conftest import FIXTURES

MIX = FIXTURES / "golden" / "farmer-mix.json.log"


@pytest.mark.parametrize("shape", ["json-file", "plain"])
async def test_a_file_resumed_through_the_planning_process_stores_what_one_pass_does(
    tmp_path: Path, shape: str
) -> None:
    content = MIX.read_bytes() if shape == "json-file" else json_log_texts(MIX.read_bytes())
    data = content if isinstance(content, bytes) else content.encode()
    whole = tmp_path / "whole.log"
    whole.write_bytes(data)
    assert await ingest_once(whole, tmp_path / "whole.db", second_process=False) is None

    growing = tmp_path / "growing.log"
    cut = data.rfind(b"\n", 0, len(data) // 2) + 1
    growing.write_bytes(data[:cut])
    db = tmp_path / "growing.db"
    assert await ingest_once(growing, db, second_process=True) is None
    with growing.open("ab") as f:
        f.write(data[cut:])
    assert await ingest_once(growing, db, second_process=True) is None
    assert await ingest_once(growing, db, second_process=True) is None  # nothing new: no change

    assert dump(db) == dump(tmp_path / "whole.db")


async def test_a_file_replaced_under_the_worker_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "farmer.log"
    path.write_bytes(MIX.read_bytes())
    st = os.stat(path)
    job = PlanJob(
        path=path,
        device=st.st_dev,
        inode=st.st_ino + 1,  # not the file the parent opened
        framing=Framing.JSON_FILE,
        docker_timestamps=False,
        max_line_bytes=65536,
        read_from=0,
        skip_until=0,
        batch_lines=100,
        read_bytes=1 << 16,
        prefix="x:",
        cursor=SourceCursor(None, None, None, None, ()),
        now_us=0,
    )

    async def read_all() -> None:
        async with plan_in_worker(job) as batches:
            async for _ in batches:
                pass

    with pytest.raises(PlanWorkerError, match="was replaced while being read"):
        await read_all()
