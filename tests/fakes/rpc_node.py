"""A fake Substrate JSON-RPC node over websocket on 127.0.0.1, for the real substrate-interface.

It serves the real Chronos runtime metadata and runtime version (read from ../shared/chain, never
copied into the repo) and SCALE-encodes ``System.Account``, ``System.Events``, ``Timestamp.Now``
and ``System.LastRuntimeUpgrade`` with scalecodec from that same metadata, so the client decodes
exactly what a real node would send. The chain is built by the test: blocks with events on a
canonical branch, forks that become canonical (reorgs), balances per account.

The server runs aiohttp in its own thread and event loop; every answer is computed from state
guarded by a lock, so the test thread can change the chain between calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash
from aiohttp import WSMsgType, web
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

GENESIS_PARENT = "0x" + "00" * 32
METADATA_FILE = "chronos_genesis_metadata_v14.hex"
RUNTIME_VERSION_FILE = "chronos_genesis_runtime_version.json"


def twox128(data: bytes) -> bytes:
    return xxhash.xxh64(data, seed=0).intdigest().to_bytes(8, "little") + xxhash.xxh64(
        data, seed=1
    ).intdigest().to_bytes(8, "little")


def plain_key(pallet: str, item: str) -> str:
    return "0x" + (twox128(pallet.encode()) + twox128(item.encode())).hex()


def account_key(public_key: bytes) -> str:
    blake = hashlib.blake2b(public_key, digest_size=16).digest()
    return plain_key("System", "Account") + (blake + public_key).hex()


# --- event records in scalecodec's encoding form ----------------------------------------------


def _hex(key: bytes) -> str:
    return "0x" + key.hex()


def transfer(sender: bytes, receiver: bytes, amount: int, extrinsic: int = 1) -> dict[str, Any]:
    return {
        "phase": {"ApplyExtrinsic": extrinsic},
        "event": {
            "Balances": {"Transfer": {"from": _hex(sender), "to": _hex(receiver), "amount": amount}}
        },
        "topics": [],
    }


def deposit(who: bytes, amount: int) -> dict[str, Any]:
    return {
        "phase": "Finalization",
        "event": {"Balances": {"Deposit": {"who": _hex(who), "amount": amount}}},
        "topics": [],
    }


def withdraw(who: bytes, amount: int, extrinsic: int | None = None) -> dict[str, Any]:
    return {
        "phase": {"ApplyExtrinsic": extrinsic} if extrinsic is not None else "Finalization",
        "event": {"Balances": {"Withdraw": {"who": _hex(who), "amount": amount}}},
        "topics": [],
    }


def deposit_in(who: bytes, amount: int, extrinsic: int) -> dict[str, Any]:
    """A ``Balances.Deposit`` inside an extrinsic (a fee refund, an XDM credit)."""
    return {
        "phase": {"ApplyExtrinsic": extrinsic},
        "event": {"Balances": {"Deposit": {"who": _hex(who), "amount": amount}}},
        "topics": [],
    }


def fee_paid(who: bytes, actual_fee: int, extrinsic: int, tip: int = 0) -> dict[str, Any]:
    return {
        "phase": {"ApplyExtrinsic": extrinsic},
        "event": {
            "TransactionPayment": {
                "TransactionFeePaid": {"who": _hex(who), "actual_fee": actual_fee, "tip": tip}
            }
        },
        "topics": [],
    }


def paid_transfer(
    sender: bytes, receiver: bytes, amount: int, fee: int, extrinsic: int = 1
) -> list[dict[str, Any]]:
    """A signed transfer as the runtime emits it: fee withdrawn, transfer, refund, fee paid."""
    return [
        withdraw(sender, fee + fee // 2, extrinsic),
        transfer(sender, receiver, amount, extrinsic),
        deposit_in(sender, fee // 2, extrinsic),
        fee_paid(sender, fee, extrinsic),
    ]


def xdm_in(who: bytes, amount: int, extrinsic: int = 1, domain: int = 0) -> list[dict[str, Any]]:
    return [
        deposit_in(who, amount, extrinsic),
        {
            "phase": {"ApplyExtrinsic": extrinsic},
            "event": {
                "Transporter": {
                    "IncomingTransferSuccessful": {
                        "chain_id": {"Domain": domain},
                        "message_id": (0, 1),
                        "amount": amount,
                    }
                }
            },
            "topics": [],
        },
    ]


def xdm_out(who: bytes, amount: int, extrinsic: int = 1, domain: int = 0) -> list[dict[str, Any]]:
    return [
        withdraw(who, amount, extrinsic),
        {
            "phase": {"ApplyExtrinsic": extrinsic},
            "event": {
                "Transporter": {
                    "OutgoingTransferInitiated": {
                        "chain_id": {"Domain": domain},
                        "message_id": (0, 2),
                        "amount": amount,
                    }
                }
            },
            "topics": [],
        },
    ]


def domains_event(name: str, attributes: dict[str, Any], extrinsic: int | None = None) -> dict:
    return {
        "phase": {"ApplyExtrinsic": extrinsic} if extrinsic is not None else "Finalization",
        "event": {"Domains": {name: attributes}},
        "topics": [],
    }


def block_reward(author: bytes, amount: int) -> dict[str, Any]:
    return {
        "phase": "Finalization",
        "event": {"Rewards": {"BlockReward": {"block_author": _hex(author), "reward": amount}}},
        "topics": [],
    }


def vote_reward(voter: bytes, amount: int) -> dict[str, Any]:
    return {
        "phase": "Finalization",
        "event": {"Rewards": {"VoteReward": {"voter": _hex(voter), "reward": amount}}},
        "topics": [],
    }


def block_fees(who: bytes, storage: int, compute: int, tips: int) -> dict[str, Any]:
    return {
        "phase": "Finalization",
        "event": {
            "TransactionFees": {
                "BlockFees": {
                    "who": _hex(who),
                    "storage": storage,
                    "compute": compute,
                    "tips": tips,
                }
            }
        },
        "topics": [],
    }


def extrinsic_success(index: int = 0) -> dict[str, Any]:
    return {
        "phase": {"ApplyExtrinsic": index},
        "event": {
            "System": {
                "ExtrinsicSuccess": {
                    "dispatch_info": {
                        "weight": {"ref_time": 1000, "proof_size": 0},
                        "class": "Mandatory",
                        "pays_fee": "Yes",
                    }
                }
            }
        },
        "topics": [],
    }


# --- chain state ------------------------------------------------------------------------------


@dataclass
class FakeBlock:
    number: int
    hash: str
    parent_hash: str
    events: list[dict[str, Any]]
    timestamp_ms: int
    encoded_events: str | None = None
    # The accounts' state at the end of this block (what state_getStorage at its hash reads).
    balances: dict[bytes, Balance] = field(default_factory=dict)


@dataclass
class Balance:
    free: int
    reserved: int = 0
    frozen: int = 0


def _apply(balances: dict[bytes, Balance], events: list[dict[str, Any]]) -> None:
    """What the events of a block do to free balances, as the runtime does it."""

    def change(account: str, delta: int) -> None:
        key = bytes.fromhex(account[2:])
        balance = balances.setdefault(key, Balance(0))
        balance.free += delta

    for record in events:
        for pallet, inner in record["event"].items():
            if pallet != "Balances":
                continue
            for name, a in inner.items():
                if name == "Transfer":
                    change(a["from"], -a["amount"])
                    change(a["to"], a["amount"])
                elif name in ("Deposit", "Minted"):
                    change(a["who"], a["amount"])
                elif name in ("Withdraw", "Burned", "Slashed"):
                    change(a["who"], -a["amount"])


def _copy(balances: dict[bytes, Balance]) -> dict[bytes, Balance]:
    return {k: Balance(v.free, v.reserved, v.frozen) for k, v in balances.items()}


@dataclass
class FakeChain:
    """Blocks by hash, the canonical branch by number, account balances.

    ``balances`` is the state at the best block: a test may change it directly (money moving
    with no event at all); each new block applies its events' balance changes to it and keeps
    a copy, so a balance read at an older block's hash is what it was then. ``finalized`` is
    the number ``chain_getFinalizedHead`` answers (genesis unless a test sets it).
    """

    blocks: dict[str, FakeBlock] = field(default_factory=dict)
    canonical: list[str] = field(default_factory=list)
    balances: dict[bytes, Balance] = field(default_factory=dict)
    start_ms: int = 1_750_406_400_000
    finalized: int = 0
    _salt: int = 0

    def _new_hash(self, number: int, branch: int) -> str:
        self._salt += 1
        seed = f"{number}:{branch}:{self._salt}".encode()
        return "0x" + hashlib.blake2b(seed, digest_size=32).hexdigest()

    def add_block(
        self,
        events: list[dict[str, Any]] | None = None,
        *,
        branch: int = 0,
        interval_ms: int = 6_000,
    ) -> str:
        number = len(self.canonical)
        parent = self.canonical[-1] if self.canonical else GENESIS_PARENT
        if self.canonical:
            # Changes made directly since the last block belong to the block that was best.
            self.blocks[parent].balances = _copy(self.balances)
            timestamp = self.blocks[parent].timestamp_ms + interval_ms
        else:
            timestamp = self.start_ms
        events = list(events or [])
        _apply(self.balances, events)
        block_hash = self._new_hash(number, branch)
        self.blocks[block_hash] = FakeBlock(
            number, block_hash, parent, events, timestamp, balances=_copy(self.balances)
        )
        self.canonical.append(block_hash)
        return block_hash

    def add_blocks(self, count: int) -> None:
        for _ in range(count):
            self.add_block()

    def reorg(self, keep_through: int, new_blocks: list[list[dict[str, Any]]]) -> None:
        """Abandon every block above ``keep_through`` and build ``new_blocks`` on it instead."""
        del self.canonical[keep_through + 1 :]
        self.balances = _copy(self.blocks[self.canonical[keep_through]].balances)
        for events in new_blocks:
            self.add_block(events, branch=1)

    @property
    def best(self) -> FakeBlock:
        return self.blocks[self.canonical[-1]]


class FakeRpcNode:
    """A websocket JSON-RPC server on 127.0.0.1 answering like a Subspace node.

    ``ss58_format``/``chain_name`` change what ``system_properties``/``system_chain`` say (a node
    of another network). ``drop_on[method] = n`` closes the connection on the next n requests for
    ``method`` without answering. ``calls`` counts requests per method.
    """

    def __init__(
        self,
        chain_dir: Path,
        chain: FakeChain | None = None,
        *,
        ss58_format: int = 6094,
        chain_name: str = "Autonomys Chronos",
    ) -> None:
        self.chain = chain or FakeChain()
        self.metadata_hex = (chain_dir / METADATA_FILE).read_text().strip()
        version_text = (chain_dir / RUNTIME_VERSION_FILE).read_text()
        self.runtime_version: dict[str, Any] = json.loads(version_text)
        self.ss58_format = ss58_format
        self.chain_name = chain_name
        self.calls: Counter[str] = Counter()
        self.drop_on: Counter[str] = Counter()
        self.connections = 0
        self.lock = threading.RLock()
        self._runtime = _runtime_for(self.metadata_hex)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeRpcNode:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_site())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-rpc-node", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    def __enter__(self) -> FakeRpcNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- protocol --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        with self.lock:
            self.connections += 1
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            method = payload.get("method", "")
            with self.lock:
                self.calls[method] += 1
                drop = self.drop_on[method] > 0
                if drop:
                    self.drop_on[method] -= 1
            if drop:
                # Vanish without a close handshake, like a node that was killed.
                if request.transport is not None:
                    request.transport.abort()
                break
            await ws.send_str(json.dumps(self._answer(payload)))
        return ws

    def _answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        request_id = payload.get("id")
        try:
            with self.lock:
                result = self._dispatch(payload.get("method", ""), payload.get("params") or [])
        except _RpcError as exc:
            error = {"code": exc.code, "message": str(exc)}
            return {"jsonrpc": "2.0", "id": request_id, "error": error}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _block(self, block_hash: Any) -> FakeBlock | None:
        if block_hash is None:
            return self.chain.best
        return self.chain.blocks.get(block_hash)

    def _dispatch(self, method: str, params: list[Any]) -> Any:
        chain = self.chain
        if method == "system_chain":
            return self.chain_name
        if method == "system_name":
            return "Subspace"
        if method == "system_version":
            return "0.1.0-fake"
        if method == "system_properties":
            return {"ss58Format": self.ss58_format, "tokenDecimals": 18, "tokenSymbol": "AI3"}
        if method == "rpc_methods":
            return {"methods": sorted(_METHODS)}
        if method == "chain_getHead" or (method == "chain_getBlockHash" and not params):
            return chain.best.hash
        if method == "chain_getBlockHash":
            number = params[0]
            if isinstance(number, str):
                number = int(number, 16)
            return chain.canonical[number] if 0 <= number < len(chain.canonical) else None
        if method == "chain_getFinalizedHead":
            return chain.canonical[min(chain.finalized, len(chain.canonical) - 1)]
        if method == "chain_getHeader":
            block = self._block(params[0] if params else None)
            if block is None:
                return None
            return {
                "parentHash": block.parent_hash,
                "number": hex(block.number),
                "stateRoot": "0x" + "00" * 32,
                "extrinsicsRoot": "0x" + "00" * 32,
                "digest": {"logs": []},
            }
        if method in ("state_getRuntimeVersion", "chain_getRuntimeVersion"):
            return self.runtime_version
        if method == "state_getMetadata":
            return self.metadata_hex
        if method in ("state_getStorageAt", "state_getStorage"):
            block = self._block(params[1] if len(params) > 1 else None)
            if block is None:
                raise _RpcError(4003, "Client error: UnknownBlock: header not found")
            return self._storage(params[0], block)
        if method == "state_queryStorageAt":
            block = self._block(params[1] if len(params) > 1 else None)
            if block is None:
                raise _RpcError(4003, "Client error: UnknownBlock: header not found")
            changes = [[key, self._storage(key, block)] for key in params[0]]
            return [{"block": block.hash, "changes": changes}]
        raise _RpcError(-32601, "Method not found")

    def _storage(self, key: str, block: FakeBlock) -> str | None:
        rt = self._runtime
        if key == rt.events_key:
            if block.encoded_events is None:
                block.encoded_events = rt.encode(rt.events_type, block.events)
            return block.encoded_events
        if key == rt.now_key:
            return rt.encode(rt.now_type, block.timestamp_ms)
        if key == rt.upgrade_key:
            spec = self.runtime_version
            return rt.encode(
                rt.upgrade_type,
                {"spec_version": spec["specVersion"], "spec_name": spec["specName"]},
            )
        if key.startswith(rt.account_prefix):
            public_key = bytes.fromhex(key[-64:])
            state = self.chain.balances if block is self.chain.best else block.balances
            balance = state.get(public_key)
            if balance is None:
                return None
            return rt.encode(
                rt.account_type,
                {
                    "nonce": 0,
                    "consumers": 0,
                    "providers": 1,
                    "sufficients": 0,
                    "data": {
                        "free": balance.free,
                        "reserved": balance.reserved,
                        "frozen": balance.frozen,
                        "flags": 1 << 127,
                    },
                },
            )
        return None


_METHODS = {
    "system_chain",
    "system_name",
    "system_version",
    "system_properties",
    "rpc_methods",
    "chain_getHead",
    "chain_getHeader",
    "chain_getBlockHash",
    "chain_getFinalizedHead",
    "state_getRuntimeVersion",
    "state_getMetadata",
    "state_getStorageAt",
    "state_getStorage",
    "state_queryStorageAt",
}


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Runtime:
    """scalecodec types from the real metadata, to encode storage values."""

    def __init__(self, metadata_hex: str) -> None:
        config = RuntimeConfigurationObject()
        config.update_type_registry(load_type_registry_preset("core"))
        metadata = config.create_scale_object("MetadataVersioned", data=ScaleBytes(metadata_hex))
        metadata.decode()
        config.add_portable_registry(metadata)
        self.config = config
        self.metadata = metadata

        def value_type(pallet: str, item: str) -> str:
            storage = metadata.get_metadata_pallet(pallet).get_storage_function(item)
            return str(storage.get_value_type_string())

        self.events_type = value_type("System", "Events")
        self.account_type = value_type("System", "Account")
        self.now_type = value_type("Timestamp", "Now")
        self.upgrade_type = value_type("System", "LastRuntimeUpgrade")
        self.events_key = plain_key("System", "Events")
        self.now_key = plain_key("Timestamp", "Now")
        self.upgrade_key = plain_key("System", "LastRuntimeUpgrade")
        self.account_prefix = plain_key("System", "Account")

    def encode(self, type_string: str, value: Any) -> str:
        obj = self.config.create_scale_object(type_string, metadata=self.metadata)
        return str(obj.encode(value))


_RUNTIMES: dict[str, _Runtime] = {}


def _runtime_for(metadata_hex: str) -> _Runtime:
    # Decoding the metadata takes about a second; tests start many nodes on the same file.
    if metadata_hex not in _RUNTIMES:
        _RUNTIMES[metadata_hex] = _Runtime(metadata_hex)
    return _RUNTIMES[metadata_hex]


@contextmanager
def running_node(
    chain_dir: Path, chain: FakeChain | None = None, **kwargs: Any
) -> Iterator[FakeRpcNode]:
    node = FakeRpcNode(chain_dir, chain, **kwargs).start()
    try:
        yield node
    finally:
        node.stop()
