"""Render the README's pictures: the dashboard and a ``/farm`` page, from the sample data.

    .venv/bin/python docs/render_screenshots.py [SAMPLES] [--out docs] [--keep-html]

1. A scratch SQLite database is filled by the project's own code paths: the sample farmer and
   node logs through ``cosmos ingest``'s backfill (the log pipeline), one scrape of each sample
   ``/metrics`` body through the metrics parser and store, and one wallet balance through the
   wallet store. A fake clock stands shortly after the samples' last line.
2. The embeds the bot would send (``Dashboard.embeds()`` and the ``/farm`` cog's
   ``farm_embeds``) are turned into an HTML page in Discord's dark theme.
3. Headless Chromium screenshots the page; Pillow trims it to the content.

Steps 1-2 are pure Python (tests/ship/test_screenshots_data.py runs them); step 3 needs the
``chromium`` binary (``apt-get install chromium fonts-noto-color-emoji``).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import io
import math
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import discord

# Run as a plain script from anywhere: the repository's packages come first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.dashboard import Dashboard
from bot.embeds import farm_embeds
from bot.ingest_command import backfill
from collectors.chain.ss58 import encode as ss58_encode
from collectors.clock import FakeClock, from_us, to_us
from collectors.metrics_collector import derive_farm_state, target_key
from collectors.models.chain import BalanceSnapshot
from collectors.models.metrics import TargetKind
from collectors.parsing.metrics import (
    parse_farmer_metrics,
    parse_node_metrics,
    plotting_counter,
)
from collectors.settings import MetricsTarget
from collectors.store.bot_state import BotStateStore
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore, TargetRef
from collectors.store.views import ViewStore
from collectors.store.wallets import WalletConfig, WalletStore

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = REPO.parent / "shared" / "samples"
# Ten minutes after the last farmer line (10:19:41): "last 24 h" covers the whole sample day.
NOW = datetime(2025, 6, 20, 10, 30, tzinfo=UTC)
FARMER = "whiskey"
FARMER_URL = "http://127.0.0.1:9081/metrics"
NODE_URL = "http://127.0.0.1:9615/metrics"
# The farm the /farm picture shows, as a farmer would type it (an id suffix).
FARM_QUERY = "1YZD"
# There is no chain sample with a balance: one made-up snapshot so the Wallets line shows.
WALLET_LABEL = "rewards"
WALLET_BALANCE = 1_234_567_800_000_000_000_000  # 1,234.5678 AI3 (18 decimals)
WIDTH = 640  # CSS pixels of the Discord column
SCALE = 2  # device pixels per CSS pixel: sharp on high-density screens

# --- 1. the database ------------------------------------------------------------------------


async def build_database(samples: Path, db_path: Path, clock: FakeClock) -> None:
    """Logs, one metrics scrape each and a wallet balance, through the project's stores."""
    report = await backfill(
        [samples / "farmer.log", samples / "node.log"],
        db_path,
        FARMER,
        clock=clock,
        progress=io.StringIO(),
    )
    failed = [f"{f.path}: {f.error}" for f in report.files if f.error]
    if failed:
        raise RuntimeError("; ".join(failed))
    now_us = clock.now_us()
    async with Database(db_path) as db:
        farmer = await FarmerStore(db).ensure_primary(FARMER, now_us)
        metrics = MetricsStore(db)

        farmer_target = MetricsTarget(url=FARMER_URL, kind="farmer", label=FARMER)
        farmer_ref = TargetRef(
            target_key(farmer_target), TargetKind.FARMER, FARMER, "local", FARMER_URL, farmer.id
        )
        snapshot = parse_farmer_metrics((samples / "farmer_metrics.txt").read_text())
        states = [
            # One scrape: no rate window yet, as the collector's first scrape.
            derive_farm_state(
                farm,
                farmer_id=farmer.id,
                target_key=farmer_ref.key,
                now_us=now_us,
                window=[(now_us, plotting_counter(farm))],
                min_span_us=10 * 60 * 1_000_000,
            )
            for farm in snapshot.farms
        ]
        await metrics.record_farmer_scrape(farmer_ref, farmer.id, snapshot, states, now_us)

        node = parse_node_metrics((samples / "node_metrics.txt").read_text())
        node_label = node.node_name or "node"
        node_target = MetricsTarget(url=NODE_URL, kind="node", label=node_label)
        node_ref = TargetRef(
            target_key(node_target), TargetKind.NODE, node_label, "local", NODE_URL
        )
        await metrics.record_node_scrape(node_ref, node, now_us)

        address = ss58_encode(bytes(range(32)))
        wallets = WalletStore(db)
        await wallets.sync_wallets([WalletConfig(address, WALLET_LABEL, farmer.id, 0)], now_us)
        await wallets.record_balances(
            [BalanceSnapshot(address, now_us, node.best, WALLET_BALANCE, 0, 0)], 0
        )


# --- 2. the embeds as a Discord-like page ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pages:
    """Each picture's embeds (``Embed.to_dict()``) and its HTML."""

    now_us: int
    dashboard: list[dict[str, Any]]
    farm: list[dict[str, Any]]
    farm_id: str

    def dashboard_html(self) -> str:
        return page_html(self.dashboard, self.now_us, command=None)

    def farm_html(self) -> str:
        return page_html(self.farm, self.now_us, command=f"/farm farm:{FARM_QUERY}")


def to_dict(embed: discord.Embed) -> dict[str, Any]:
    """The JSON Discord receives for this embed."""
    return cast(dict[str, Any], embed.to_dict())


async def render_embeds(db_path: Path, clock: FakeClock) -> Pages:
    """The embeds the bot sends, built by the same calls as the dashboard loop and the cog."""
    async with Database(db_path) as db:
        views = ViewStore(db)
        dashboard = await Dashboard(views, BotStateStore(db), clock, 60.0).embeds()
        farm_id = await views.farms.resolve(FARM_QUERY)
        detail = await views.farms.detail(farm_id, clock.now_us()) if farm_id else None
        if farm_id is None or detail is None:
            raise RuntimeError(f"no single farm matches {FARM_QUERY!r} in the sample data")
        farm = farm_embeds(detail)
    return Pages(
        now_us=clock.now_us(),
        dashboard=[to_dict(e) for e in dashboard],
        farm=[to_dict(e) for e in farm],
        farm_id=farm_id,
    )


async def build_pages(samples: Path, workdir: Path) -> Pages:
    """Steps 1 and 2: a scratch database in ``workdir`` and the pages' embeds."""
    clock = FakeClock(to_us(NOW))
    db_path = workdir / "cosmos-screenshots.db"
    await build_database(samples, db_path, clock)
    return await render_embeds(db_path, clock)


def _round(x: float) -> int:
    """Halves up, as JavaScript's Math.round (Python's round() goes to even)."""
    return math.floor(x + 0.5)


def relative(then_us: int, now_us: int) -> str:
    """Discord's wording for ``<t:…:R>`` (moment.js thresholds and rounding)."""
    seconds = _round(abs(now_us - then_us) / 1_000_000)
    minutes, hours, days = _round(seconds / 60), _round(seconds / 3600), _round(seconds / 86400)
    months, years = _round(days / 30.4), _round(days / 365)
    steps = (
        (seconds < 45, "a few seconds"),
        (minutes <= 1, "a minute"),
        (minutes < 45, f"{minutes} minutes"),
        (hours <= 1, "an hour"),
        (hours < 22, f"{hours} hours"),
        (days <= 1, "a day"),
        (days < 26, f"{days} days"),
        (months <= 1, "a month"),
        (months < 11, f"{months} months"),
        (years <= 1, "a year"),
    )
    text = next((words for fits, words in steps if fits), f"{years} years")
    return f"in {text}" if then_us > now_us else f"{text} ago"


def absolute(then_us: int, style: str) -> str:
    moment = from_us(then_us)
    clock = moment.strftime("%I:%M %p").lstrip("0")
    day = f"{moment.strftime('%B')} {moment.day}, {moment.year}"
    return {
        "t": clock,
        "T": moment.strftime("%I:%M:%S %p").lstrip("0"),
        "d": moment.strftime("%m/%d/%Y"),
        "D": day,
        "F": f"{moment.strftime('%A')}, {day} {clock}",
    }.get(style, f"{day} {clock}")


_CODE = re.compile(r"`([^`]+)`")
_STAMP = re.compile(r"&lt;t:(-?\d+):([tTdDfFR])&gt;")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def markdown(text: str, now_us: int) -> str:
    """The Discord markdown the embeds use: code, **bold**, [links](…), timestamps, lines."""
    out = []
    for i, raw in enumerate(_CODE.split(text)):
        if i % 2:
            out.append(f"<code>{html.escape(raw)}</code>")
            continue
        part = html.escape(raw, quote=False)
        part = _STAMP.sub(
            lambda m: (
                '<span class="stamp">'
                + (
                    relative(int(m[1]) * 1_000_000, now_us)
                    if m[2] == "R"
                    else absolute(int(m[1]) * 1_000_000, m[2])
                )
                + "</span>"
            ),
            part,
        )
        part = _BOLD.sub(r"<strong>\1</strong>", part)
        part = _LINK.sub(r'<a href="\2">\1</a>', part)
        out.append(part)
    return "".join(out).replace("\n", "<br>")


def _fields_html(fields: Sequence[dict[str, Any]], now_us: int) -> str:
    """Discord's layout: up to three inline fields side by side, others on their own row."""
    rows: list[list[dict[str, Any]]] = []
    for field in fields:
        if field.get("inline") and rows and rows[-1][0].get("inline") and len(rows[-1]) < 3:
            rows[-1].append(field)
        else:
            rows.append([field])
    parts = []
    for row in rows:
        cells = "".join(
            f'<div class="field"><div class="fname">{markdown(f["name"], now_us)}</div>'
            f'<div class="fvalue">{markdown(f["value"], now_us)}</div></div>'
            for f in row
        )
        columns = len(row) if row[0].get("inline") else 1
        parts.append(f'<div class="frow cols{columns}">{cells}</div>')
    return "".join(parts)


def embed_html(embed: dict[str, Any], now_us: int) -> str:
    colour = f"#{int(embed.get('color', 0x202225)):06x}"
    parts = []
    if title := embed.get("title"):
        parts.append(f'<div class="title">{markdown(title, now_us)}</div>')
    if description := embed.get("description"):
        parts.append(f'<div class="description">{markdown(description, now_us)}</div>')
    if fields := embed.get("fields"):
        parts.append(f'<div class="fields">{_fields_html(fields, now_us)}</div>')
    if footer := embed.get("footer", {}).get("text"):
        parts.append(f'<div class="footer">{html.escape(footer)}</div>')
    return f'<div class="embed" style="border-left-color:{colour}">{"".join(parts)}</div>'


STYLE = """
* { box-sizing: border-box; }
html, body { margin: 0; background: #313338; }
body { font: 16px/1.375 "gg sans", "Noto Sans", "Liberation Sans", "DejaVu Sans",
       "Noto Color Emoji", sans-serif; color: #dbdee1; padding: 16px 16px 16px 0; }
.message { display: flex; width: %(width)dpx; }
.avatar { width: 40px; height: 40px; border-radius: 50%%; margin: 2px 16px 0 16px;
          background: #5865f2; color: #fff; font-weight: 700; display: flex;
          align-items: center; justify-content: center; flex: none; }
.body { min-width: 0; flex: 1; }
.reply { font-size: 14px; color: #b5bac1; margin-bottom: 4px; }
.reply b { color: #f2f3f5; font-weight: 600; }
.header { margin-bottom: 2px; }
.name { color: #f2f3f5; font-weight: 600; }
.app { background: #5865f2; color: #fff; font-size: 10px; font-weight: 600; border-radius: 3px;
       padding: 1px 4px; margin: 0 4px; vertical-align: 2px; }
.time { color: #949ba4; font-size: 12px; }
.embed { background: #2b2d31; border-left: 4px solid; border-radius: 4px;
         padding: 8px 16px 16px 12px; margin-top: 8px; max-width: 100%%; }
.title { color: #f2f3f5; font-weight: 600; margin-top: 8px; }
.description { font-size: 14px; margin-top: 8px; white-space: normal; }
.fields { margin-top: 8px; }
.frow { display: grid; gap: 8px; margin-top: 8px; }
.cols1 { grid-template-columns: 1fr; }
.cols2 { grid-template-columns: 1fr 1fr; }
.cols3 { grid-template-columns: 1fr 1fr 1fr; }
.fname { color: #f2f3f5; font-size: 14px; font-weight: 600; margin-bottom: 2px; }
.fvalue { font-size: 14px; }
.footer { color: #b5bac1; font-size: 12px; margin-top: 8px; }
code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px;
       background: #1e1f22; border-radius: 3px; padding: 1px 3px; overflow-wrap: anywhere; }
.stamp { background: rgba(255, 255, 255, 0.06); border-radius: 3px; padding: 0 2px; }
a { color: #00a8fc; text-decoration: none; }
"""


def page_html(embeds: Sequence[dict[str, Any]], now_us: int, *, command: str | None) -> str:
    """One bot message holding ``embeds``, as Discord's dark theme shows it."""
    moment = from_us(now_us)
    stamp = f"Today at {moment.strftime('%I:%M %p').lstrip('0')}"
    reply = (
        f'<div class="reply">↱ <b>@farmer</b> used <b>{html.escape(command)}</b></div>'
        if command
        else ""
    )
    body = "".join(embed_html(e, now_us) for e in embeds)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<style>{STYLE % {'width': WIDTH}}</style></head><body>"
        f'<div class="message"><div class="avatar">c</div><div class="body">{reply}'
        f'<div class="header"><span class="name">cosmos</span><span class="app">APP</span>'
        f'<span class="time">{stamp}</span></div>{body}</div></div></body></html>\n'
    )


# --- 3. the screenshots ---------------------------------------------------------------------


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit(
        "Chromium is needed for the pictures: apt-get install -y chromium fonts-noto-color-emoji"
    )


def screenshot(html_path: Path, png_path: Path, chromium: str) -> None:
    """A generous window, then trimmed to the content plus a margin of the page colour."""
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                f"--force-device-scale-factor={SCALE}",
                f"--window-size={WIDTH + 120},3000",
                f"--screenshot={png_path}",
                html_path.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    with Image.open(png_path) as shot:
        image = shot.convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((0, 0)))
    box = ImageChops.difference(image, background).getbbox()
    if box is None:
        raise RuntimeError(f"{png_path}: the screenshot is blank")
    margin = 16 * SCALE
    left, top, right, bottom = box
    image = image.crop(
        (
            max(left - margin, 0),
            max(top - margin, 0),
            min(right + margin, image.width),
            min(bottom + margin, image.height),
        )
    )
    # A 256-colour palette keeps the text sharp and the file small.
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(png_path, optimize=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("samples", nargs="?", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--keep-html", action="store_true", help="also write the .html pages")
    args = parser.parse_args(argv)
    if not (args.samples / "farmer.log").is_file():
        parser.error(f"{args.samples}: no farmer.log (the samples are in ../shared/samples)")
    chromium = find_chromium()
    with tempfile.TemporaryDirectory() as work:
        pages = asyncio.run(build_pages(args.samples, Path(work)))
        for name, text in (("dashboard", pages.dashboard_html()), ("farm", pages.farm_html())):
            page = (args.out if args.keep_html else Path(work)) / f"{name}.html"
            page.write_text(text, encoding="utf-8")
            png = args.out / f"{name}.png"
            screenshot(page, png, chromium)
            print(f"{png} ({png.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
