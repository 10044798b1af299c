"""The README's pictures show the sample data: the page half of docs/render_screenshots.py.

Chromium is not in CI, so what the pictures would show is checked here on the HTML the script
hands to Chromium: built from the samples through the log pipeline, the metrics parser and
store, and the same embed functions the bot sends.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO, SAMPLES, needs_samples

SCRIPT = REPO / "docs" / "render_screenshots.py"
MINUTE_US = 60_000_000
# The three farms of farmer.log (FORMATS.md) and their signed rewards.
FARMS = {
    "01JC6R9K9F4W3Y8P6N5V1C2ZAE": 5,
    "01JC6R9K8Q3X2V7N5M4T0B1YZD": 8,
    "01JD2Q7H5M8R3T6W9Y0A2B4CEF": 1,
}


def _short(farm_id: str) -> str:
    return f"{farm_id[:4]}…{farm_id[-6:]}"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """docs/ is no package of the project: the script is loaded from its path."""
    spec = importlib.util.spec_from_file_location("render_screenshots", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _text(page: str) -> str:
    """What a reader sees: tags dropped, entities as characters."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", page.replace("<br>", "\n")))


@needs_samples
async def test_pictures_show_the_sample_farms_and_rewards(
    script: ModuleType, tmp_path: Path
) -> None:
    pages = await script.build_pages(SAMPLES, tmp_path)
    dashboard = _text(pages.dashboard_html())
    farm = _text(pages.farm_html())

    assert "cosmos dashboard" in dashboard
    assert f"3 farms · {sum(FARMS.values())} rewards and 2 missed in 24 h" in dashboard
    assert "🔵 1 plotting · 🟢 1 farming · 🔴 1 error" in dashboard
    assert "whiskey-node: #3,245,198, 40 peers" in dashboard  # node_metrics.txt
    assert "whiskey: 3 farms" in dashboard
    # The fully plotted farm is on the /farm page; the other two on the dashboard.
    shown = {fid for fid in FARMS if _short(fid) in dashboard or fid in farm}
    assert shown == set(FARMS)
    assert pages.farm_id == "01JC6R9K8Q3X2V7N5M4T0B1YZD"
    assert f"Farm {pages.farm_id}" in farm
    assert f"{FARMS[pages.farm_id]} rewards in 24 h" in farm
    assert farm.count(" signed") == FARMS[pages.farm_id]
    assert "1887/1887 sectors (100.0%)" in farm  # farmer_metrics.txt
    assert "/farms/nvme0" in farm

    # Every Discord mark-up was rendered: no raw timestamps, bold or code marks are left.
    for text in (dashboard, farm):
        assert "<t:" not in text
        assert "**" not in text
        assert "`" not in text
    # Times read against the fake clock (10:30), as a reader would see them then.
    assert "Updated a few seconds ago" in dashboard
    assert "last 18 minutes ago" in farm


def test_discord_markdown_and_relative_times(script: ModuleType) -> None:
    now = 1_750_415_400_000_000
    rendered = script.markdown(f"**3** `0x<ab>` <t:{(now - 5 * MINUTE_US) // 10**6}:R>\nx", now)
    assert rendered == (
        '<strong>3</strong> <code>0x&lt;ab&gt;</code> <span class="stamp">5 minutes ago</span><br>x'
    )
    assert script.relative(now - 30 * 1_000_000, now) == "a few seconds ago"
    assert script.relative(now - 70 * MINUTE_US, now) == "an hour ago"
    assert script.relative(now - 150 * MINUTE_US, now) == "3 hours ago"
    assert script.relative(now + 2 * 24 * 60 * MINUTE_US, now) == "in 2 days"


def test_inline_fields_share_a_row_of_three(script: ModuleType) -> None:
    fields = [{"name": f"n{i}", "value": "v", "inline": True} for i in range(4)]
    fields.insert(2, {"name": "wide", "value": "v", "inline": False})
    rows = re.findall(r'class="frow (cols\d)"', script._fields_html(fields, 0))
    assert rows == ["cols2", "cols1", "cols2"]
    four = [{"name": f"n{i}", "value": "v", "inline": True} for i in range(4)]
    assert re.findall(r'class="frow (cols\d)"', script._fields_html(four, 0)) == ["cols3", "cols1"]


def test_readme_shows_both_pictures() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("dashboard", "farm"):
        picture = REPO / "docs" / f"{name}.png"
        assert f"](docs/{name}.png)" in readme
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert picture.stat().st_size < 300 * 1024
