"""The one HTTP server: pages, ``/api/v1``, ``/metrics`` and ``/healthz``.

Built by the composition root in every mode and run as a supervised task. Reads go through the
same per-area readers (:class:`ViewStore`) as the Discord embeds; the only write is
``POST /api/v1/wipe``, and only with a configured token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web import exporter, pages
from bot.web.html import login_page, page
from bot.web.jsonify import dumps
from collectors.alerts.summary import local_text
from collectors.clock import Clock
from collectors.health import ReportSource
from collectors.models.alerts import Rule
from collectors.models.views import Scope
from collectors.settings import WebSettings
from collectors.store.views import DAY_US, PERIODS, ViewStore, period_us
from collectors.store.wipe import WipeStore

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("cosmos.web")

COOKIE = "cosmos_login"
COOKIE_DAYS = 30
OPEN_PATHS = frozenset({"/login"})
# Alerts the /cluster page lists: the ones about cluster components talking to each other.
CLUSTER_RULES = frozenset(
    {Rule.PLOTTER_TIMEOUT, Rule.CLUSTER_FARM_EXPIRED, Rule.CLUSTER_CACHE_EXPIRED}
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def login_cookie_value(token: str) -> str:
    """What the login cookie holds: derived from the token, so the token itself is not stored."""
    return hmac.new(token.encode(), b"cosmos web login", hashlib.sha256).hexdigest()


class WebServer:
    """A collector-shaped service (``name`` and ``run``) serving the web front end."""

    name = "web"

    def __init__(
        self,
        settings: WebSettings,
        *,
        port: int,
        views: ViewStore,
        wipe: WipeStore,
        clock: Clock,
        report: ReportSource,
        timezone: str = "UTC",
    ) -> None:
        self._settings = settings
        self._port = port
        self._views = views
        self._wipe = wipe
        self._clock = clock
        self._report = report
        self._timezone = timezone
        self._token = settings.token.get_secret_value() if settings.token else None
        self._cookie = login_cookie_value(self._token) if self._token else None
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    @classmethod
    def of(cls, services: Services, report: ReportSource) -> WebServer:
        settings = services.settings
        return cls(
            settings.web,
            port=settings.web_port,
            views=ViewStore(services.db),
            wipe=WipeStore(services.db),
            clock=services.clock,
            report=report,
            timezone=settings.alerts.timezone,
        )

    # --- lifecycle ------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._timing, self._auth])
        r = app.router
        r.add_get("/login", self.login_form)
        r.add_post("/login", self.login)
        r.add_get("/healthz", self.healthz)
        r.add_get("/metrics", self.metrics)
        r.add_get("/", self.dashboard_page)
        r.add_get("/farms/{farm_id}", self.farm_page)
        r.add_get("/farmers/{name}", self.farmer_page)
        r.add_get("/nodes/{name}", self.node_page)
        r.add_get("/wallets/{address}", self.wallet_page)
        r.add_get("/rewards", self.rewards_page)
        r.add_get("/alerts", self.alerts_page)
        r.add_get("/cluster", self.cluster_page)
        r.add_get("/clusters/{name}", self.one_cluster_page)
        api = "/api/v1"
        r.add_get(f"{api}/status", self.api_status)
        r.add_get(f"{api}/dashboard", self.api_dashboard)
        r.add_get(f"{api}/farms", self.api_farms)
        r.add_get(f"{api}/farms/{{farm_id}}", self.api_farm)
        r.add_get(f"{api}/farmers", self.api_farmers)
        r.add_get(f"{api}/farmers/{{name}}", self.api_farmer)
        r.add_get(f"{api}/nodes", self.api_nodes)
        r.add_get(f"{api}/nodes/{{name}}", self.api_node)
        r.add_get(f"{api}/wallets", self.api_wallets)
        r.add_get(f"{api}/wallets/{{address}}", self.api_wallet)
        r.add_get(f"{api}/rewards", self.api_rewards)
        r.add_get(f"{api}/alerts", self.api_alerts)
        r.add_get(f"{api}/cluster", self.api_cluster)
        r.add_get(f"{api}/clusters/{{name}}", self.api_one_cluster)
        r.add_post(f"{api}/wipe", self.api_wipe)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._settings.host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                f"the web server cannot listen on {self._settings.host}:{self._port} ({exc}); "
                "set COSMOS_WEB__PORT to a free port, or 0 to turn it off"
            ) from exc
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or []  # port 0 in tests
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port
        host = self._settings.host
        shown = f"[{host}]" if ":" in host else host
        log.info(
            "web pages, API, /metrics and /healthz on http://%s:%s/%s",
            shown,
            self.bound_port,
            " (token required)" if self._token else "",
        )

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def run(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    # --- middleware ------------------------------------------------------------------------

    @web.middleware
    async def _timing(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Server time of each reply, as a Server-Timing header (the bench reads it)."""
        started = time.perf_counter()
        response = await handler(request)
        if not response.prepared:
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.2f}"
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._token is None or request.path in OPEN_PATHS or self.authorized(request):
            return await handler(request)
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            raise web.HTTPSeeOther(f"/login?next={request.path_qs}")
        return web.json_response(
            {"error": "a valid token is needed: Authorization: Bearer <COSMOS_WEB__TOKEN>"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="cosmos"'},
        )

    def authorized(self, request: web.Request) -> bool:
        assert self._token is not None
        assert self._cookie is not None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(
            header[7:].strip().encode(), self._token.encode()
        ):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self._cookie.encode())

    # --- login -----------------------------------------------------------------------------

    async def login_form(self, request: web.Request) -> web.Response:
        return _html(login_page(_safe_next(request.query.get("next", "/")), failed=False))

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        next_path = _safe_next(str(form.get("next", "/")))
        token = str(form.get("token", ""))
        if self._token is None or self._cookie is None:
            raise web.HTTPSeeOther(next_path)
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return _html(login_page(next_path, failed=True), status=401)
        response = web.HTTPSeeOther(next_path)
        response.set_cookie(
            COOKIE,
            self._cookie,
            max_age=COOKIE_DAYS * 86_400,
            httponly=True,
            samesite="Strict",
            path="/",
        )
        raise response

    # --- health and metrics ----------------------------------------------------------------

    async def healthz(self, _request: web.Request) -> web.Response:
        report = self._report()
        return web.Response(
            text=report.to_json(),
            status=report.http_status,
            content_type="application/json",
        )

    async def metrics(self, _request: web.Request) -> web.Response:
        snapshot = await self._views.exporter.snapshot(self._clock.now_us())
        return web.Response(
            body=exporter.render(snapshot),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    # --- pages -----------------------------------------------------------------------------

    def _when(self, us: int | None) -> str:
        return "never" if us is None else local_text(us, self._timezone)

    def _page(self, title: str, body: str, now_us: int, status: int = 200) -> web.Response:
        html = page(
            title,
            body,
            refresh_seconds=self._settings.refresh_seconds,
            generated=self._when(now_us),
        )
        return _html(html, status=status)

    def _missing(self, what: str, now_us: int) -> web.Response:
        return self._page("Not found", pages.not_found(what), now_us, status=404)

    async def dashboard_page(self, _request: web.Request) -> web.Response:
        now = self._clock.now_us()
        view = await self._views.dashboard.build(now)
        alerts = await self._views.alerts.open_alerts()
        recent = await self._views.farms.recent(now)
        return self._page("Dashboard", pages.dashboard(view, alerts, recent, self._when), now)

    async def farm_page(self, request: web.Request) -> web.Response:
        now = self._clock.now_us()
        farm_id = request.match_info["farm_id"]
        detail = await self._views.farms.detail(farm_id, now)
        if detail is None:
            return self._missing(f"Farm {farm_id}", now)
        history = await self._views.farms.history(farm_id, now)
        title = f"Farm {detail.summary.directory or farm_id}"
        return self._page(title, pages.farm(detail, history, now, self._when), now)

    async def farmer_page(self, request: web.Request) -> web.Response:
        now = self._clock.now_us()
        name = request.match_info["name"]
        found = await self._views.farmers.all(now, name)
        if not found:
            return self._missing(f"Farmer {name}", now)
        return self._page(f"Farmer {name}", pages.farmer(found[0], now, self._when), now)

    async def node_page(self, request: web.Request) -> web.Response:
        now = self._clock.now_us()
        name = request.match_info["name"]
        found = [n for n in await self._views.nodes.all() if n.name == name]
        if not found:
            return self._missing(f"Node {name}", now)
        return self._page(f"Node {name}", pages.node(found[0], self._when), now)

    async def wallet_page(self, request: web.Request) -> web.Response:
        now = self._clock.now_us()
        address = request.match_info["address"]
        detail = await self._views.wallets.detail(address, now)
        if detail is None:
            return self._missing(f"Wallet {address}", now)
        return self._page(f"Wallet {detail.wallet.label}", pages.wallet(detail, self._when), now)

    async def rewards_page(self, request: web.Request) -> web.Response:
        now = self._clock.now_us()
        period = request.query.get("period", "24h")
        try:
            span = period_us(period)
        except ValueError as exc:
            return self._page("Rewards", f"<p class='bad'>{exc}</p>", now, status=400)
        report = await self._views.rewards.report(now, span)
        body = pages.rewards(report, period, list(PERIODS), self._when)
        return self._page(f"Rewards, {period}", body, now)

    async def alerts_page(self, _request: web.Request) -> web.Response:
        now = self._clock.now_us()
        open_alerts = await self._views.alerts.open_alerts()
        changes = await self._views.alerts.transitions(now - 7 * DAY_US, now + 1)
        return self._page("Alerts", pages.alerts(open_alerts, changes, self._when), now)

    async def cluster_page(self, _request: web.Request) -> web.Response:
        now = self._clock.now_us()
        found = await self._views.cluster.all(now)
        alerts = [a for a in await self._views.alerts.open_alerts() if a.rule in CLUSTER_RULES]
        title = f"Cluster {found[0].name}" if len(found) == 1 else "Farming cluster"
        return self._page(title, pages.clusters(found, alerts, now, self._when), now)

    async def one_cluster_page(self, request: web.Request) -> web.Response:
        now = self._clock.now_us()
        name = request.match_info["name"]
        found = [c for c in await self._views.cluster.all(now) if c.name == name]
        if not found:
            return self._missing(f"Cluster {name}", now)
        return self._page(f"Cluster {name}", pages.cluster(found[0], now), now)

    # --- JSON API --------------------------------------------------------------------------

    async def api_status(self, _request: web.Request) -> web.Response:
        report = self._report()
        overview = await self._views.alerts.status(self._clock.now_us())
        body = {"health": json.loads(report.to_json()), "overview": overview}
        return _json(body)

    async def api_dashboard(self, _request: web.Request) -> web.Response:
        now = self._clock.now_us()
        return _json(await self._views.dashboard.build(now))

    async def api_farms(self, _request: web.Request) -> web.Response:
        return _json(await self._views.farms.summaries(self._clock.now_us()))

    async def api_farm(self, request: web.Request) -> web.Response:
        now = self._clock.now_us()
        farm_id = request.match_info["farm_id"]
        detail = await self._views.farms.detail(farm_id, now)
        if detail is None:
            return _json({"error": f"no farm {farm_id}"}, status=404)
        history = await self._views.farms.history(farm_id, now)
        return _json({"farm": detail, "daily": history})

    async def api_farmers(self, _request: web.Request) -> web.Response:
        return _json(await self._views.farmers.all(self._clock.now_us()))

    async def api_farmer(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = await self._views.farmers.all(self._clock.now_us(), name)
        return _json(found[0]) if found else _json({"error": f"no farmer {name}"}, status=404)

    async def api_nodes(self, _request: web.Request) -> web.Response:
        return _json(await self._views.nodes.all())

    async def api_node(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = [n for n in await self._views.nodes.all() if n.name == name]
        return _json(found[0]) if found else _json({"error": f"no node {name}"}, status=404)

    async def api_wallets(self, _request: web.Request) -> web.Response:
        return _json(await self._views.wallets.all(self._clock.now_us()))

    async def api_wallet(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]
        detail = await self._views.wallets.detail(address, self._clock.now_us())
        if detail is None:
            return _json({"error": f"no wallet {address}"}, status=404)
        return _json(detail)

    async def api_rewards(self, request: web.Request) -> web.Response:
        period = request.query.get("period", "24h")
        try:
            span = period_us(period)
        except ValueError as exc:
            return _json({"error": str(exc)}, status=400)
        report = await self._views.rewards.report(
            self._clock.now_us(),
            span,
            farmer=request.query.get("farmer"),
            wallet=request.query.get("wallet"),
        )
        return _json(report)

    async def api_alerts(self, _request: web.Request) -> web.Response:
        now = self._clock.now_us()
        transitions = await self._views.alerts.transitions(now - 7 * DAY_US, now + 1)
        return _json(
            {
                "open": await self._views.alerts.open_alerts(),
                "changes_7d": [
                    {"rule": r, "subject": s, "change": c, "ts_us": ts}
                    for r, s, c, ts in transitions
                ],
            }
        )

    async def api_cluster(self, _request: web.Request) -> web.Response:
        return _json(await self._views.cluster.all(self._clock.now_us()))

    async def api_one_cluster(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = [c for c in await self._views.cluster.all(self._clock.now_us()) if c.name == name]
        return _json(found[0]) if found else _json({"error": f"no cluster {name}"}, status=404)

    async def api_wipe(self, request: web.Request) -> web.Response:
        """``{"scope": "farm|farmer|wallet|all", "target": "..."}``; the token is required."""
        if self._token is None:
            return _json(
                {"error": "wiping over the API needs COSMOS_WEB__TOKEN to be configured"},
                status=403,
            )
        try:
            body = await request.json()
            scope = Scope(body["scope"])
            target = body.get("target")
            if target is not None and not isinstance(target, str):
                raise TypeError("target must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            choices = ", ".join(s.value for s in Scope)
            return _json(
                {"error": f'send {{"scope": one of {choices}, "target": "..."}} ({exc})'},
                status=400,
            )
        try:
            result = await self._wipe.wipe(scope, target)
        except ValueError as exc:
            return _json({"error": f"not wiped: {exc}"}, status=400)
        log.info("wiped over the API: %s %s, %d rows", scope.value, target or "", result.rows)
        return _json(result)


def _safe_next(path: str) -> str:
    """Only a path on this server (no //host, no scheme) to go back to after logging in."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _json(value: object, status: int = 200) -> web.Response:
    return web.Response(
        text=dumps(value), status=status, content_type="application/json", charset="utf-8"
    )
