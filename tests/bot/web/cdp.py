"""Headless Chromium (Debian's package) driven over the DevTools protocol with aiohttp.

One browser per test module, a fresh profile directory, no network but 127.0.0.1. Console
errors, uncaught exceptions and failed requests are collected per page.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-extensions",
    "--disable-sync",
    "--remote-debugging-port=0",
)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Page:
    """One tab: navigation, evaluation, screenshots; problems seen since the last navigation."""

    browser: Browser
    session_id: str
    problems: list[str] = field(default_factory=list)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, params, session_id=self.session_id)

    async def goto(self, url: str) -> None:
        self.problems.clear()
        self.loaded.clear()
        result = await self.send("Page.navigate", url=url)
        if result.get("errorText"):
            self.problems.append(f"navigation failed: {result['errorText']}")
        await asyncio.wait_for(self.loaded.wait(), 20)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def phone(self) -> None:
        """Lay pages out as a phone does (390 px wide)."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=390,
            height=844,
            deviceScaleFactor=1,
            mobile=True,
        )

    async def screenshot(self, width: int, height: int, *, mobile: bool = False) -> bytes:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        full = await self.evaluate("document.documentElement.scrollHeight")
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=min(int(full), 4000),
            deviceScaleFactor=1,
            mobile=mobile,
        )
        shot = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self.loaded.set()
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.problems.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self.problems.append(f"uncaught: {text}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.problems.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())


class Browser:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(RuntimeError(str(data["error"])))
                    else:
                        future.set_result(data.get("result", {}))
            elif (page := self._pages.get(data.get("sessionId", ""))) is not None:
                page.on_event(data["method"], data.get("params", {}))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, session_id: str | None = None
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        await self._ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, 30)

    async def new_page(self) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"])
        self._pages[page.session_id] = page
        for domain in ("Page", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        return page

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send("Browser.close")
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


@contextlib.asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Browser]:
    with tempfile.TemporaryDirectory(prefix="cosmos-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            url = None
            while url is None:
                line = await asyncio.wait_for(process.stderr.readline(), 30)
                if not line:
                    raise RuntimeError("chromium exited before it listened for DevTools")
                found = re.search(rb"DevTools listening on (ws://\S+)", line)
                if found:
                    url = found.group(1).decode()
            drain = asyncio.create_task(_drain(process.stderr))
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(url, max_msg_size=64 * 2**20) as ws,
            ):
                browser = Browser(ws)
                try:
                    yield browser
                finally:
                    await browser.close()
            drain.cancel()
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


# What a page shows, read in the browser: data-figure values, link targets, HTTP status.
FIGURES_JS = (
    "Object.fromEntries([...document.querySelectorAll('[data-figure]')]"
    ".map(e => [e.dataset.figure, e.textContent]))"
)
LINKS_JS = "[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
STATUS_JS = "performance.getEntriesByType('navigation')[0].responseStatus"


async def crawl(page: Page, base: str) -> dict[str, dict[str, str]]:
    """Every page reachable from the dashboard: status 200, no problems; their figures."""
    seen: dict[str, dict[str, str]] = {}
    queue = ["/"]
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        await page.goto(base + path)
        assert await page.evaluate(STATUS_JS) == 200, f"broken link: {path}"
        assert page.problems == [], f"{path}: {page.problems}"
        seen[path] = await page.evaluate(FIGURES_JS)
        for href in await page.evaluate(LINKS_JS):
            target = urlsplit(urljoin(base + path, href))
            assert f"{target.scheme}://{target.netloc}" == base, f"{path} links off-site: {href}"
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return seen
