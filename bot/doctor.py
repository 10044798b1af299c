"""``cosmos doctor``: check the configuration and every connection, and say how to fix each.

Each check is a small coroutine returning a :class:`Check`; they all run at once, each with its
own time limit, so one dead endpoint never holds up the others. Printing is separate. Secrets
(the bot token, webhook URLs, passwords in URLs) are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from bot.ingest_command import detect_role, has_docker_timestamps
from collectors.chain.ss58 import AUTONOMYS_PREFIX
from collectors.format import ai3
from collectors.metrics_collector import public_url
from collectors.models.logs import CLUSTER_ROLES, Role
from collectors.models.metrics import ClusterSnapshot, FailureKind
from collectors.parsing.decode import LineDecoder, UnknownFormat, detect_framing
from collectors.parsing.logs import parse_line
from collectors.parsing.metrics import (
    MetricsParseError,
    parse_cluster_metrics,
    parse_farmer_metrics,
    parse_node_metrics,
)
from collectors.settings import (
    FARMER_IMAGES,
    NODE_IMAGES,
    DockerHost,
    LogFile,
    MetricsTarget,
    Settings,
    SettingsError,
    Wallet,
    load_settings,
)
from collectors.sources.chain import ChainClient, ChainError
from collectors.sources.docker_logs import (
    DockerDiscovery,
    DockerUnavailableError,
    HostReachability,
    plaintext_warning,
)
from collectors.sources.metrics_http import FetchFailure, fetch_metrics

CHECK_TIMEOUT_SECONDS = 10.0
LOG_HEAD_BYTES = 256 * 1024


class Status(StrEnum):
    OK = "OK"
    PROBLEM = "PROBLEM"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def problem(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.PROBLEM, detail, fix)


def skipped(name: str, detail: str) -> Check:
    return Check(name, Status.SKIPPED, detail)


# --- settings and database --------------------------------------------------------------------


def check_settings(env_file: Path | str | None) -> tuple[Check, Settings | None]:
    try:
        settings = load_settings(env_file)
    except SettingsError as exc:
        return (
            problem(
                "settings",
                str(exc),
                "correct the settings named above in your .env file (or environment) and run"
                " cosmos doctor again",
            ),
            None,
        )
    where = f"from {env_file}" if env_file and Path(env_file).is_file() else "from the environment"
    from collectors import settings_check

    values = settings_check.read_environment(Path(env_file) if env_file else None, os.environ)
    unknown = settings_check.unknown_variables(Settings, values)
    return ok("settings", "\n".join([f"loaded {where}", *unknown])), settings


def check_database(path: Path) -> Check:
    name = "database"
    path = path.expanduser()
    if path.exists():
        if path.is_dir():
            return problem(
                name,
                f"{path} is a directory, not a database file",
                "set COSMOS_DATABASE_PATH to a file path, e.g. ./data/cosmos.db",
            )
        if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK):
            return problem(
                name,
                f"cosmos cannot write {path} (or its folder, which SQLite needs for its journal)",
                f"give the user running cosmos write access: sudo chown -R $USER {path.parent}",
            )
        return ok(name, f"{path} exists and is writable")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return problem(
            name,
            f"cosmos cannot create {path}: {existing} is not a writable folder",
            "set COSMOS_DATABASE_PATH to a place you can write, e.g. ./data/cosmos.db",
        )
    return ok(name, f"{path} will be created on first start (its folder is writable)")


# --- docker -----------------------------------------------------------------------------------


def _api_version(discovery: DockerDiscovery) -> str | None:
    # The discovery's SDK client negotiated the API version (version="auto") when it listed.
    client: Any = getattr(discovery, "_client", None)
    return str(client.api.api_version) if client is not None else None


async def check_docker(index: int, host: DockerHost, limit_s: float) -> Check:
    name = f"docker {host.host}"
    # List by image for both roles, so configured names can be told apart from found ones.
    probe = host.model_copy(update={"farmer_container": None, "node_container": None})
    discovery = DockerDiscovery(probe, HostReachability(host.base_url, limit_s), timeout=limit_s)
    named_finder = DockerDiscovery(host, HostReachability(host.base_url, limit_s), timeout=limit_s)
    try:
        found = await discovery.targets()
        version = _api_version(discovery)
        resolved = await named_finder.targets()  # a configured name may be a Compose service
    except DockerUnavailableError as exc:
        return problem(
            name,
            str(exc),
            f"start Docker on that machine, or correct COSMOS_LOGS__DOCKER[{index}].base_url",
        )
    finally:
        discovery.close()
        named_finder.close()
    configured: dict[Role, str | None] = {
        "farmer": host.farmer_container,
        "node": host.node_container,
    }
    images: dict[Role, tuple[str, ...]] = {"farmer": FARMER_IMAGES, "node": NODE_IMAGES}
    parts: list[str] = []
    following = 0
    for role, named in configured.items():
        by_image = found.get(role, [])
        service = [c for c in resolved.get(role, []) if c != named]
        if named and service:
            following += len(service)
            parts.append(f"{role}: {', '.join(service)} (Compose service {named})")
        elif named:
            following += 1
            note = "" if named in by_image else f", not among the {role} images"
            parts.append(f"{role}: {named} (by name{note})")
        elif by_image:
            following += len(by_image)
            parts.append(f"{role}: {', '.join(by_image)} (by image)")
        else:
            parts.append(f"{role}: none found (looked for images {', '.join(images[role])})")
    api = f" (API {version})" if version else ""
    detail = f"reachable{api}; would follow " + "; ".join(parts)
    if (warning := plaintext_warning(host.base_url)) is not None:
        detail += f". WARNING: {warning}"
    if following == 0:
        return problem(
            name,
            detail,
            f"start your node and farmer containers there, or name them with "
            f"COSMOS_LOGS__DOCKER[{index}].farmer_container and .node_container",
        )
    return ok(name, detail)


# --- log files --------------------------------------------------------------------------------


def _read_head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(LOG_HEAD_BYTES)


async def check_log_file(index: int, entry: LogFile) -> Check:
    path = entry.path.expanduser()
    name = f"log file {path}"
    setting = f"COSMOS_LOGS__FILES[{index}].path"
    if not path.exists():
        return problem(
            name,
            "the file does not exist",
            f"check the path in {setting}; start the {entry.role} with its output sent there"
            f" ({entry.role} ... >> {path} 2>&1)",
        )
    if not path.is_file():
        return problem(name, "this is not a file", f"point {setting} at the log file itself")
    try:
        head = await asyncio.to_thread(_read_head, path)
    except OSError as exc:
        return problem(
            name,
            f"cosmos cannot read it: {exc.strerror or exc}",
            "give the user running cosmos read access to the file and its folder",
        )
    if not head:
        return ok(name, f"exists and is readable; empty so far (configured as {entry.role} log)")
    try:
        framing = detect_framing(head)
    except UnknownFormat as exc:
        return problem(
            name, f"this is not a text log: {exc}", f"point {setting} at the plain log file"
        )
    texts = [line.text for line in LineDecoder(framing).feed(head)]
    if has_docker_timestamps(texts):
        texts = [line.text for line in LineDecoder(framing, docker_timestamps=True).feed(head)]
    recognised = sum(1 for text in texts if parse_line(text) is not None)
    if recognised == 0:
        return problem(
            name,
            f"none of its first {len(texts)} lines look like an Autonomys node or farmer log",
            f"check that {setting} is the {entry.role}'s own output",
        )
    role = detect_role(texts, path)
    detail = (
        f"readable, {framing.value} lines, looks like a {role} log"
        f" ({recognised} of the first {len(texts)} lines recognised)"
    )
    if role != entry.role:
        return problem(
            name,
            detail + f", but it is configured as a {entry.role} log",
            f'set COSMOS_LOGS__FILES[{index}].role to "{role}"'
            f" (or point it at the {entry.role} log)",
        )
    return ok(name, detail)


# --- metrics ----------------------------------------------------------------------------------


def _cluster(snapshot: ClusterSnapshot) -> str:
    parts = []
    if snapshot.plotting_capacity_total is not None:
        parts.append(
            f"{snapshot.plotting_capacity_used or 0:.0f}/{snapshot.plotting_capacity_total:.0f}"
            " sectors in use"
        )
    if snapshot.cache_capacity_total is not None:
        parts.append(f"cache of {snapshot.cache_capacity_total:,.0f} pieces")
    if snapshot.piece_cache_capacity is not None:
        parts.append(f"farmer cache of {snapshot.piece_cache_capacity:,.0f} pieces")
    return ", ".join(parts) or "cluster metrics"


async def check_metrics(
    index: int, target: MetricsTarget, session: aiohttp.ClientSession, limit_s: float
) -> Check:
    url = public_url(target.url)
    name = f"metrics {target.kind} {url}"
    setting = f"COSMOS_METRICS__TARGETS[{index}].url"
    result = await fetch_metrics(session, target.url, limit_s)
    if isinstance(result, FetchFailure):
        if result.kind in (FailureKind.NOT_METRICS, FailureKind.HTTP_ERROR):
            fix = (
                f"something else answers there: point {setting} at the {target.kind}'s metrics"
                " address, host:PORT/metrics, with the PORT of its --prometheus-listen-on"
            )
        else:
            fix = (
                f"start the {target.kind} with --prometheus-listen-on 0.0.0.0:PORT and check the"
                f" address and port in {setting} (the path is /metrics)"
            )
        return problem(name, result.message, fix)
    try:
        if target.kind in CLUSTER_ROLES:
            cluster = parse_cluster_metrics(result.text)
            return ok(name, f"{target.kind} of cluster {target.cluster_name}: {_cluster(cluster)}")
        if target.kind == "farmer":
            farmer = parse_farmer_metrics(result.text)
            plotted = sum(f.sectors_done for f in farmer.farms)
            total = sum(f.sectors_total for f in farmer.farms)
            share = f", {100 * plotted / total:.1f}% plotted" if total else ""
            return ok(name, f"farmer with {len(farmer.farms)} farms{share}")
        node = parse_node_metrics(result.text)
    except MetricsParseError as exc:
        return problem(
            name,
            f"the answer is {exc}",
            f"point {setting} at the {target.kind}'s metrics address (host:port/metrics), and"
            ' check its "kind" is right',
        )
    height = f"at height {node.best}" if node.best is not None else "without a block height yet"
    peers = f", {node.peers} peers" if node.peers is not None else ""
    return ok(name, f"node {height}{peers}")


# --- chain and wallets ------------------------------------------------------------------------


async def check_rpc(index: int, url: str, limit_s: float) -> tuple[Check, ChainClient | None]:
    name = f"rpc {public_url(url)}"
    client = ChainClient([url], timeout=limit_s, first_backoff=0.0, max_backoff=0.0)
    try:
        info = await client.connect()
        best = await client.best_number()
    except ChainError as exc:
        await client.close()
        return (
            problem(
                name,
                str(exc),
                "start the node with --rpc-listen-on 0.0.0.0:9944, or correct"
                f" COSMOS_WALLETS__RPC_URLS[{index}]",
            ),
            None,
        )
    except BaseException:
        await client.close()
        raise
    prefix = "matches" if info.ss58_prefix == AUTONOMYS_PREFIX else "is accepted for"
    detail = (
        f"{info.chain}, SS58 prefix {info.ss58_prefix} ({prefix} the wallets' su… addresses),"
        f" best block #{best}"
    )
    return ok(name, detail), client


async def check_wallets(settings: Settings, limit_s: float) -> list[Check]:
    wallets = settings.wallets
    if not wallets.accounts:
        return [skipped("wallets", "no wallets configured (COSMOS_WALLETS__ACCOUNTS)")]
    results = await asyncio.gather(
        *(
            _limited(f"rpc {public_url(url)}", check_rpc(i, url, limit_s), limit_s * 2)
            for i, url in enumerate(wallets.rpc_urls)
        )
    )
    checks: list[Check] = []
    client: ChainClient | None = None
    for result in results:
        if isinstance(result, Check):
            checks.append(result)
            continue
        check, connected = result
        checks.append(check)
        if connected is not None:
            if client is None:
                client = connected
            else:
                await connected.close()
    try:
        for wallet in wallets.accounts:
            checks.append(await _check_wallet(wallet, client, limit_s))
    finally:
        if client is not None:
            await client.close()
    return checks


async def _check_wallet(wallet: Wallet, client: ChainClient | None, limit_s: float) -> Check:
    name = f"wallet {wallet.label}"
    if client is None:
        return skipped(name, f"{wallet.address}: no RPC node answered to look it up")
    again = "run cosmos doctor again in a minute; if it persists, restart the node"
    try:
        balances = await asyncio.wait_for(client.balances([wallet.address]), limit_s)
    except TimeoutError:
        return problem(name, f"{wallet.address}: no balance within {limit_s:g} s", again)
    except ChainError as exc:
        return problem(name, f"{wallet.address}: {exc}", again)
    free = balances[0].free if balances else 0
    return ok(name, f"{wallet.address}: valid address, balance {ai3(free)}")


# --- discord ----------------------------------------------------------------------------------

_TOKEN_FIX = "the token is wrong: copy it again from the Developer Portal, Bot tab"
_WEBHOOK_FIX = "the webhook was deleted or the URL is incomplete"


async def check_token(settings: Settings, session: aiohttp.ClientSession, limit_s: float) -> Check:
    d = settings.discord
    assert d.token is not None
    name = "discord token"
    url = d.api_base_url.rstrip("/") + "/users/@me"
    headers = {"Authorization": f"Bot {d.token.get_secret_value()}"}
    try:
        async with session.get(
            url, headers=headers, timeout=aiohttp.ClientTimeout(total=limit_s)
        ) as response:
            status = response.status
            body: Any = await response.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return problem(
            name,
            f"cannot reach Discord: {type(exc).__name__} {exc}".strip(),
            "check this machine's internet connection (and COSMOS_DISCORD__API_BASE_URL if set)",
        )
    if status == 401:
        return problem(name, "Discord refused the token (401)", _TOKEN_FIX)
    if status != 200:
        return problem(
            name, f"Discord answered HTTP {status}", "try again in a minute; Discord may be down"
        )
    who = body.get("username", "?") if isinstance(body, dict) else "?"
    return ok(name, f"logged in as {who} (a bot account)")


def _webhook_name(topic: str | None) -> str:
    return "discord webhook" if topic is None else f"discord webhook {topic}"


async def check_webhook(
    topic: str | None, url: str, session: aiohttp.ClientSession, limit_s: float
) -> Check:
    name = _webhook_name(topic)
    setting = "COSMOS_DISCORD__WEBHOOK_URL" if topic is None else "COSMOS_DISCORD__WEBHOOKS"
    fix = f"{_WEBHOOK_FIX}: create one (channel settings, Integrations, Webhooks) and copy its"
    fix += f" whole URL into {setting}"
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=limit_s)) as response:
            status = response.status
            body: Any = await response.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return problem(
            name,
            f"cannot reach the webhook: {type(exc).__name__}",
            f"check this machine's internet connection and the address in {setting}",
        )
    if status in (401, 403, 404):
        return problem(name, f"Discord answered HTTP {status}", fix)
    if status != 200:
        return problem(
            name, f"Discord answered HTTP {status}", "try again in a minute; Discord may be down"
        )
    label = body.get("name") if isinstance(body, dict) else None
    channel = body.get("channel_id") if isinstance(body, dict) else None
    where = f" posting to channel {channel}" if channel else ""
    return ok(name, f"webhook {label or ''}{where} exists".replace("  ", " "))


def discord_checks(
    settings: Settings, session: aiohttp.ClientSession, limit_s: float
) -> list[tuple[str, Awaitable[Check]]]:
    d = settings.discord
    checks: list[tuple[str, Awaitable[Check]]] = []
    if d.token is not None and d.token.get_secret_value():
        checks.append(("discord token", check_token(settings, session, limit_s)))
    if d.webhook_url is not None:
        url = d.webhook_url.get_secret_value()
        checks.append((_webhook_name(None), check_webhook(None, url, session, limit_s)))
    for topic, secret in d.webhooks.items():
        url = secret.get_secret_value()
        checks.append((_webhook_name(topic), check_webhook(topic, url, session, limit_s)))
    return checks


# --- running them all -------------------------------------------------------------------------


async def _limited(name: str, check: Awaitable[Any], limit_s: float) -> Any:
    try:
        return await asyncio.wait_for(check, limit_s)
    except TimeoutError:
        return problem(
            name,
            f"no answer within {limit_s:g} s",
            "check that the address is right and the machine is up",
        )


async def _done(check: Check) -> Check:
    return check


async def run_checks(settings: Settings, limit_s: float = CHECK_TIMEOUT_SECONDS) -> list[Check]:
    """Every check of a loaded configuration, concurrently; results in the settings' order."""
    async with aiohttp.ClientSession() as session:
        named: list[tuple[str, Awaitable[Check]]] = []
        logs = settings.logs
        if not logs.enabled:
            named.append(("logs", _done(skipped("logs", "log reading is turned off"))))
        elif not logs.docker and not logs.files:
            named.append(("logs", _done(skipped("logs", "no Docker hosts or log files set"))))
        for i, host in enumerate(logs.docker if logs.enabled else []):
            named.append((f"docker {host.host}", check_docker(i, host, limit_s)))
        for i, entry in enumerate(logs.files if logs.enabled else []):
            named.append((f"log file {entry.path}", check_log_file(i, entry)))
        if not settings.metrics.targets:
            none = skipped("metrics", "no metrics endpoints configured")
            named.append(("metrics", _done(none)))
        for i, target in enumerate(settings.metrics.targets):
            name = f"metrics {target.kind} {public_url(target.url)}"
            named.append((name, check_metrics(i, target, session, limit_s)))
        discord = discord_checks(settings, session, limit_s)
        if not discord:
            console = skipped("discord", "no bot token or webhook: notifications go to the console")
            named.append(("discord", _done(console)))
        named.extend(discord)
        # A little over the check's own limit: the inner limits answer first when they can.
        limited = [_limited(name, check, limit_s + 1.0) for name, check in named]
        *results, wallet_checks = await asyncio.gather(*limited, check_wallets(settings, limit_s))
    held = await check_held_messages(settings.database_path.expanduser())
    return [check_database(settings.database_path), *results, *wallet_checks, *held]


async def check_held_messages(path: Path) -> list[Check]:
    """Messages waiting because their place refused them (a webhook 401/403/404)."""
    from collectors.store.bot_state import BotStateStore
    from collectors.store.database import Database

    if not await asyncio.to_thread(path.is_file):
        return []
    try:
        async with Database(path) as db:
            held = await BotStateStore(db).held()
    except Exception:  # the database check above says what is wrong with it
        return []
    return [
        problem(
            "held messages",
            f"{count} message(s) held: {reason}",
            "fix the webhook or channel in Discord (a running cosmos looks again by itself and "
            "sends them), or a wrong setting (checked above) and restart cosmos",
        )
        for reason, count in held
    ]


async def doctor(
    env_file: Path | str | None, limit_s: float = CHECK_TIMEOUT_SECONDS
) -> list[Check]:
    first, settings = check_settings(env_file)
    if settings is None:
        return [first, skipped("connections", "not checked until the settings load")]
    return [first, *await run_checks(settings, limit_s)]


def render(checks: Sequence[Check], out: TextIO) -> None:
    width = max(len(s.value) for s in Status)
    for check in checks:
        detail_lines = check.detail.splitlines() or [""]
        out.write(f"{check.status.value:<{width}}  {check.name}: {detail_lines[0]}\n")
        for extra in detail_lines[1:]:
            out.write(f"{'':<{width}}    {extra}\n")
        if check.status is Status.PROBLEM and check.fix:
            out.write(f"{'':<{width}}    fix: {check.fix}\n")
    problems = sum(1 for c in checks if c.status is Status.PROBLEM)
    if problems:
        out.write(f"\n{problems} thing(s) need fixing.\n")
    else:
        out.write("\nAll is well.\n")


def exit_code(checks: Sequence[Check]) -> int:
    """2 when the settings themselves are wrong (as every command), 1 for other problems."""
    if any(c.name == "settings" and c.status is Status.PROBLEM for c in checks):
        return 2
    return 1 if any(c.status is Status.PROBLEM for c in checks) else 0


def cli(args: argparse.Namespace) -> int:
    # The lines printed here say everything; library warnings would only repeat them.
    logging.basicConfig(level=logging.CRITICAL)
    checks = asyncio.run(doctor(args.env_file, args.timeout))
    render(checks, sys.stdout)
    return exit_code(checks)
