"""The one substrate-interface adapter: a node's blocks, events and balances over JSON-RPC.

``SubstrateInterface`` is blocking and not thread-safe, so one dedicated worker thread owns it
and every call is submitted to that thread; the event loop only awaits. A dropped connection is
re-established (trying the fallback URLs in order) and the read retried once; when no URL
answers, reconnect attempts back off exponentially. A URL that is not a Substrate node, or a node
of another network, raises an error whose message says so.

A block is read in three round trips: ``chain_getBlockHash``, ``chain_getHeader`` and one
``state_queryStorageAt`` for ``System.Events``, ``Timestamp.Now`` and
``System.LastRuntimeUpgrade``; values are decoded with the client's runtime (reloaded when
``LastRuntimeUpgrade`` shows a new spec version).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from scalecodec.base import ScaleBytes
from substrateinterface import SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException
from substrateinterface.storage import StorageKey
from substrateinterface.transport.http import HttpTransport
from substrateinterface.transport.websocket import WebsocketTransport
from websocket import WebSocketBadStatusException, WebSocketException

from collectors.chain.ss58 import ACCEPTED_PREFIXES, AUTONOMYS_PREFIX, public_key_of
from collectors.models.chain import AccountBalance, BlockHeader, ChainBlock, ChainInfo
from collectors.parsing.chain import timestamp_us

log = logging.getLogger(__name__)

T = TypeVar("T")


class ChainError(RuntimeError):
    """A chain problem a farmer can act on; ``str()`` is the message to show."""


class ChainUnavailable(ChainError):
    """No configured URL can be reached right now (the node is down or restarting)."""


class NotASubstrateNode(ChainError):
    """Something answers at the URL, but not a Substrate JSON-RPC node."""


class WrongChain(ChainError):
    """A Substrate node of another network (its SS58 prefix is not Autonomys')."""


_CONNECTION_ERRORS = (
    WebSocketException,
    ConnectionError,
    TimeoutError,
    socket.timeout,
    OSError,
    ssl.SSLError,
    BrokenPipeError,
    json.JSONDecodeError,
)


@dataclass(frozen=True, slots=True)
class BlockRead:
    """One block as read: its header, decoded ``System.Events`` records and timestamp."""

    block: ChainBlock
    records: list[dict[str, Any]]


class ChainClient:
    """Async facade over one ``SubstrateInterface`` living in its own thread."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 30.0,
        first_backoff: float = 1.0,
        max_backoff: float = 300.0,
        expected_prefixes: frozenset[int] = ACCEPTED_PREFIXES,
    ) -> None:
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self.urls = list(urls)
        self._timeout = timeout
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._expected = expected_prefixes
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        # Everything below is touched only by the worker thread.
        self._substrate: SubstrateInterface | None = None
        # The last client, kept across reconnects for its decoded runtime (see _open).
        self._spare: SubstrateInterface | None = None
        self._info: ChainInfo | None = None
        self._keys: dict[str, StorageKey] = {}
        self._backoff = 0.0
        self._retry_at = 0.0
        self.calls: Counter[str] = Counter()
        self.reconnects = 0

    # --- the thread boundary ---------------------------------------------------------------

    async def _submit(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            # One thread owns the client for its whole life; recreated after close().
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="cosmos-chain"
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    async def close(self) -> None:
        """Close the connection and stop the thread (a later call starts both again)."""
        if self._executor is None:
            return
        executor = self._executor
        await self._submit(self._release)
        self._executor = None
        await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)

    @property
    def info(self) -> ChainInfo | None:
        return self._info

    @property
    def round_trips(self) -> int:
        return sum(self.calls.values())

    # --- public async API --------------------------------------------------------------------

    async def connect(self) -> ChainInfo:
        """Connect (or check the connection) and say which chain answered."""
        return await self._submit(lambda: self._with_client(lambda s: self._require_info()))

    async def best_number(self) -> int:
        def read(s: SubstrateInterface) -> int:
            header = self._rpc(s, "chain_getHeader", [])
            if not header:
                raise ChainError("the node returned no best block header")
            return int(header["number"], 16)

        return await self._submit(lambda: self._with_client(read))

    async def finalized_number(self) -> int:
        """The number of the node's finalized head: blocks at or below it are never reorganised."""

        def read(s: SubstrateInterface) -> int:
            block_hash = self._rpc(s, "chain_getFinalizedHead", [])
            header = self._rpc(s, "chain_getHeader", [block_hash]) if block_hash else None
            if not header:
                raise ChainError("the node returned no finalized block header")
            return int(header["number"], 16)

        return await self._submit(lambda: self._with_client(read))

    async def canonical_hash(self, number: int) -> str | None:
        return await self._submit(
            lambda: self._with_client(lambda s: self._rpc(s, "chain_getBlockHash", [number]))
        )

    async def header(self, block_hash: str) -> BlockHeader | None:
        def read(s: SubstrateInterface) -> BlockHeader | None:
            raw = self._rpc(s, "chain_getHeader", [block_hash])
            return _header(block_hash, raw) if raw else None

        return await self._submit(lambda: self._with_client(read))

    async def read_block(self, number: int) -> BlockRead | None:
        """The canonical block at ``number`` with its events; None beyond the best head."""
        return await self._submit(lambda: self._with_client(lambda s: self._read_block(s, number)))

    async def balances(
        self, addresses: Sequence[str], block_hash: str | None = None
    ) -> list[AccountBalance]:
        """Free, reserved and frozen of every address in one ``query_multi``."""
        return await self._submit(
            lambda: self._with_client(lambda s: self._balances(s, addresses, block_hash))
        )

    async def settled_balances(
        self, addresses: Sequence[str], settle_depth: int
    ) -> tuple[int, str, list[AccountBalance]] | None:
        """Balances at the end of the block ``settle_depth`` below the best head, read at its hash.

        Returns (number, hash, balances), or None on a chain younger than the settle depth.
        Reading at a hash ties each balance to the block whose movements it includes.
        """

        def read(s: SubstrateInterface) -> tuple[int, str, list[AccountBalance]] | None:
            header = self._rpc(s, "chain_getHeader", [])
            if not header:
                raise ChainError("the node returned no best block header")
            number = int(header["number"], 16) - settle_depth
            if number < 0:
                return None
            block_hash = self._rpc(s, "chain_getBlockHash", [number])
            if not block_hash:
                return None
            return number, str(block_hash), self._balances(s, addresses, block_hash)

        return await self._submit(lambda: self._with_client(read))

    # --- worker-thread internals ------------------------------------------------------------

    def _with_client(self, fn: Callable[[SubstrateInterface], T]) -> T:
        substrate = self._ensure()
        try:
            return fn(substrate)
        except SubstrateRequestException as exc:
            raise ChainError(f"the node refused a request: {_describe(exc)}") from None
        except _CONNECTION_ERRORS as exc:
            lost_url = self._info.url if self._info else "the node"
            log.warning("connection to %s lost (%s); reconnecting", lost_url, _describe(exc))
            self._drop()
        # Reads are idempotent: one retry on a fresh connection (maybe a fallback URL).
        substrate = self._ensure()
        try:
            return fn(substrate)
        except SubstrateRequestException as exc:
            raise ChainError(f"the node refused a request: {_describe(exc)}") from None
        except _CONNECTION_ERRORS as exc:
            self._drop()
            raise ChainUnavailable(f"lost the connection again: {_describe(exc)}") from None

    def _ensure(self) -> SubstrateInterface:
        if self._substrate is not None:
            return self._substrate
        now = time.monotonic()
        if now < self._retry_at:
            raise ChainUnavailable(
                f"no node reachable; next attempt in {self._retry_at - now:.0f} s"
                f" ({', '.join(self.urls)})"
            )
        problems: list[str] = []
        chain_errors: list[ChainError] = []
        for url in self.urls:
            try:
                self._substrate = self._open(url)
                self._backoff = 0.0
                self._retry_at = 0.0
                return self._substrate
            except (NotASubstrateNode, WrongChain) as exc:
                chain_errors.append(exc)
                problems.append(str(exc))
            except ChainError as exc:
                problems.append(str(exc))
        self._backoff = min(self._max_backoff, max(self._first_backoff, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff
        if len(chain_errors) == len(self.urls):
            # Every URL answered, wrongly: that is configuration, not an outage.
            raise type(chain_errors[0])("; ".join(problems))
        raise ChainUnavailable("; ".join(problems))

    def _open(self, url: str) -> SubstrateInterface:
        """Connect to ``url``, reusing the last client (and its decoded runtime) when there is one.

        A new ``SubstrateInterface`` decodes the whole runtime metadata again (seconds of CPU,
        tens of MB of short-lived objects whose freed memory the allocator keeps: RSS climbed
        ~2.5 MiB per reconnect). The kept client gets a fresh websocket transport instead; its
        runtime is reloaded only if the node runs another spec version.
        """
        self.calls["connect"] += 1
        # Only the same URL: another node may run another chain with the same spec version.
        reused = self._spare is not None and self._spare.url == url
        try:
            if self._spare is not None and reused:
                substrate = self._spare
                substrate.transport = _fresh_transport(substrate, url)
            else:
                substrate = SubstrateInterface(
                    url=url,
                    auto_discover=False,
                    auto_reconnect=False,
                    ws_options={"timeout": self._timeout},
                )
        except WebSocketBadStatusException as exc:
            raise NotASubstrateNode(
                f"{url} answered HTTP {exc.status_code} instead of a websocket JSON-RPC: "
                "it is not a Substrate node RPC (check the port; the node's is usually 9944)"
            ) from None
        except _CONNECTION_ERRORS as exc:
            raise ChainUnavailable(f"cannot reach {url}: {_describe(exc)}") from None
        except Exception as exc:
            raise NotASubstrateNode(f"{url} is not a Substrate node: {_describe(exc)}") from None
        spec_before = substrate.runtime_version
        try:
            info = self._check_chain(url, substrate)
        except BaseException:
            substrate.close()
            if reused:
                # Whatever answered there may not even be a node: start clean next time.
                self._spare = None
            raise
        if self._info is not None:
            self.reconnects += 1
        self._info = info
        self._spare = substrate
        if not reused or substrate.runtime_version != spec_before:
            self._keys = {}
        log.info(
            "connected to %s: %s (%s v%d, SS58 prefix %d)",
            url,
            info.chain,
            info.spec_name,
            info.spec_version,
            info.ss58_prefix,
        )
        return substrate

    def _check_chain(self, url: str, substrate: SubstrateInterface) -> ChainInfo:
        try:
            chain = str(self._rpc(substrate, "system_chain", []))
            properties = self._rpc(substrate, "system_properties", []) or {}
            self.calls["init_runtime"] += 1
            substrate.init_runtime()
            version = substrate.get_block_runtime_version(substrate.block_hash) or {}
        except _CONNECTION_ERRORS as exc:
            raise ChainUnavailable(f"{url} dropped the connection: {_describe(exc)}") from None
        except SubstrateRequestException as exc:
            raise NotASubstrateNode(
                f"{url} speaks JSON-RPC but is not a Substrate node ({_describe(exc)})"
            ) from None
        except Exception as exc:
            raise NotASubstrateNode(f"{url} is not a Substrate node: {_describe(exc)}") from None
        prefixes = {substrate.ss58_format}
        if isinstance(properties, dict) and isinstance(properties.get("ss58Format"), int):
            prefixes.add(properties["ss58Format"])
        wrong = sorted(p for p in prefixes if p not in self._expected)
        if wrong:
            raise WrongChain(
                f"{url} is a node of {chain!r} with SS58 prefix {wrong[0]}, but the wallets are "
                f"Autonomys addresses (prefix {AUTONOMYS_PREFIX}, su…): point "
                "COSMOS_WALLETS__RPC_URLS at an Autonomys node"
            )
        return ChainInfo(
            url=url,
            chain=chain,
            ss58_prefix=int(substrate.ss58_format),
            spec_name=str(version.get("specName", "?")),
            spec_version=int(version.get("specVersion") or 0),
        )

    def _require_info(self) -> ChainInfo:
        assert self._info is not None
        return self._info

    def _release(self) -> None:
        """Close the connection and forget the kept client (its runtime too)."""
        self._drop()
        self._spare = None

    def _drop(self) -> None:
        substrate, self._substrate = self._substrate, None
        if substrate is not None:
            try:
                substrate.close()
            except Exception:  # closing a dead socket may fail; it is gone either way
                log.debug("closing the old connection failed", exc_info=True)

    def _rpc(self, substrate: SubstrateInterface, method: str, params: list[Any]) -> Any:
        self.calls[method] += 1
        response = substrate.rpc_request(method, params)
        if "error" in response:
            raise SubstrateRequestException(response["error"])
        return response.get("result")

    def _key(self, substrate: SubstrateInterface, pallet: str, item: str) -> StorageKey:
        name = f"{pallet}.{item}"
        if name not in self._keys:
            self._keys[name] = StorageKey.create_from_storage_function(
                pallet,
                item,
                [],
                runtime_config=substrate.runtime_config,
                metadata=substrate.metadata,
            )
        return self._keys[name]

    def _account_key(self, substrate: SubstrateInterface, address: str) -> StorageKey:
        name = f"System.Account:{address}"
        if name not in self._keys:
            self._keys[name] = StorageKey.create_from_storage_function(
                "System",
                "Account",
                ["0x" + public_key_of(address).hex()],
                runtime_config=substrate.runtime_config,
                metadata=substrate.metadata,
            )
        return self._keys[name]

    def _read_block(self, substrate: SubstrateInterface, number: int) -> BlockRead | None:
        block_hash = self._rpc(substrate, "chain_getBlockHash", [number])
        if not block_hash:
            return None
        raw_header = self._rpc(substrate, "chain_getHeader", [block_hash])
        if not raw_header:
            return None
        header = _header(block_hash, raw_header)
        values = self._storage_at(substrate, block_hash)
        upgrade = values.get("System.LastRuntimeUpgrade")
        spec = upgrade.get("spec_version") if isinstance(upgrade, dict) else None
        if isinstance(spec, int) and spec != substrate.runtime_version:
            log.info("runtime upgraded to spec version %d at block %d", spec, number)
            self.calls["init_runtime"] += 1
            substrate.init_runtime(block_hash=block_hash)
            self._keys = {}
            values = self._storage_at(substrate, block_hash)
        records = values.get("System.Events") or []
        block = ChainBlock(
            number=header.number,
            hash=header.hash,
            parent_hash=header.parent_hash,
            timestamp_us=timestamp_us(values.get("Timestamp.Now")),
        )
        return BlockRead(block, list(records))

    def _storage_at(self, substrate: SubstrateInterface, block_hash: str) -> dict[str, Any]:
        keys = [
            self._key(substrate, "System", "Events"),
            self._key(substrate, "Timestamp", "Now"),
            self._key(substrate, "System", "LastRuntimeUpgrade"),
        ]
        result = self._rpc(
            substrate, "state_queryStorageAt", [[k.to_hex() for k in keys], block_hash]
        )
        by_hex = {k.to_hex(): k for k in keys}
        raw: dict[str, str | None] = {}
        for group in result or []:
            for key_hex, data in group.get("changes", []):
                raw[key_hex] = data
        values: dict[str, Any] = {}
        for key_hex, key in by_hex.items():
            data = raw.get(key_hex)
            decoded = key.decode_scale_value(ScaleBytes(data) if data is not None else None)
            values[f"{key.pallet}.{key.storage_function}"] = decoded.value
        return values

    def _balances(
        self, substrate: SubstrateInterface, addresses: Sequence[str], block_hash: str | None
    ) -> list[AccountBalance]:
        if not addresses:
            return []
        keys = [self._account_key(substrate, a) for a in addresses]
        self.calls["query_multi"] += 1
        pairs = substrate.query_multi(keys, block_hash=block_hash)
        by_key = {k.to_hex(): v for k, v in pairs}
        balances: list[AccountBalance] = []
        for address, key in zip(addresses, keys, strict=True):
            value = by_key.get(key.to_hex())
            data = (value.value if value is not None else None) or {}
            account = data.get("data", {}) if isinstance(data, dict) else {}
            balances.append(
                AccountBalance(
                    address=address,
                    free=int(account.get("free", 0)),
                    reserved=int(account.get("reserved", 0)),
                    frozen=int(account.get("frozen", account.get("misc_frozen", 0))),
                )
            )
        return balances


def _fresh_transport(substrate: SubstrateInterface, url: str) -> WebsocketTransport | HttpTransport:
    """A new connection for a kept client, as its constructor would have made it."""
    if url.startswith(("ws://", "wss://")):
        return WebsocketTransport(
            url=url,
            ws_options=substrate.ws_options,
            auto_reconnect=False,
            debug_fn=substrate.debug_message,
            on_connect=substrate._set_websocket,
        )
    return HttpTransport(
        url=url, headers=substrate.default_headers, debug_fn=substrate.debug_message
    )


def _header(block_hash: str, raw: dict[str, Any]) -> BlockHeader:
    return BlockHeader(
        number=int(raw["number"], 16), hash=block_hash, parent_hash=raw["parentHash"]
    )


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the node running, with its RPC port open to this host?)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer in time"
    return text
