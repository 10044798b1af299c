"""A fake Discord on 127.0.0.1: the REST API and the gateway websocket, enough for discord.py.

It speaks the real protocol: REST under ``/api/v10`` (login, application, command sync, channel
messages with multipart attachments and ``enforce_nonce``, message edits, interaction callbacks,
follow-ups and ``@original`` edits, incoming webhooks with ``wait=true`` and edits) and a
gateway (HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats, INTERACTION_CREATE dispatch).

Tests point discord.py at it through ``discord.http.Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``; webhooks through their URL. Failures are injected per
path: ``fail("/channels/", 429, times=3, retry_after=0.05)``; a place refuses until
told otherwise with ``refuse("/webhooks/7001/", 404)`` and ``accept(...)``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

API = "/api/v10"
BOT_ID = 1000
GUILD_ID = 2000
CHANNEL_ID = 3000
OTHER_CHANNEL_ID = 3001
ADMIN_ID = 4000
MEMBER_ID = 4001
ADMIN_ROLE_ID = 5000
BOT_ROLE_ID = 5001
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
# What a server admin grants the bot when inviting it.
BOT_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
TIMESTAMP = "2025-06-20T08:00:00.000000+00:00"


def jsonr(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Discord sends it: exactly ``application/json`` (discord.py compares it whole)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class Failure:
    pattern: str
    status: int
    times: int
    retry_after: float = 0.05
    method: str | None = None


@dataclass
class Interaction:
    id: int
    token: str
    name: str
    responses: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    response_message: dict[str, Any] | None = None
    # Expired before the bot answered (Discord's 3 s passed): the callback gets 10062.
    expired: bool = False
    refused: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message payload this interaction produced: the response, then follow-ups."""
        out = [r["data"] for r in self.responses if r.get("type") == 4]
        out.extend(self.edits)
        out.extend(self.followups)
        return out

    async def wait_messages(self, count: int, seconds: float = 10.0) -> list[dict[str, Any]]:
        """Until the bot has sent ``count`` messages for this interaction (after a defer)."""
        async with asyncio.timeout(seconds):
            while len(self.messages) < count:  # noqa: ASYNC110 - a test poll, bounded
                await asyncio.sleep(0.01)
        return self.messages

    async def settle(self, quiet: float = 0.3, seconds: float = 10.0) -> list[dict[str, Any]]:
        """Every message, once the bot has sent nothing more for ``quiet`` seconds."""
        async with asyncio.timeout(seconds):
            seen = -1
            while seen != len(self.messages):
                seen = len(self.messages)
                await asyncio.sleep(quiet)
        return self.messages

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [e for m in self.messages for e in m.get("embeds", [])]


class FakeDiscord:
    def __init__(self) -> None:
        self.ids = itertools.count(10_000_000)
        self.commands: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.sync_calls: list[str] = []
        self.channel_messages: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.webhook_messages: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.edits: list[tuple[str, dict[str, Any]]] = []
        self.attachments: list[tuple[str, bytes]] = []
        self.interactions: dict[int, Interaction] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.failures: list[Failure] = []
        self.delays: list[tuple[str, float]] = []
        self.identified = asyncio.Event()
        self.sockets: list[web.WebSocketResponse] = []
        self._seq = 0
        self._nonces: dict[tuple[int, str], dict[str, Any]] = {}
        # Channels whose permission overwrite denies the bot Send Messages.
        self.send_denied: set[int] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base + API

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def webhook_url(self, webhook_id: int = 7000, token: str = "hooktoken") -> str:
        return f"{self.base}/api/webhooks/{webhook_id}/{token}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=32 * 1024 * 1024)
        r = app.router
        r.add_get("/gateway", self._gateway)
        for prefix in (API, "/api"):
            r.add_get(prefix + "/users/@me", self._me)
            r.add_get(prefix + "/oauth2/applications/@me", self._application)
            r.add_get(prefix + "/gateway", self._gateway_info)
            r.add_get(prefix + "/gateway/bot", self._gateway_info)
            r.add_put(prefix + "/applications/{app}/commands", self._put_commands)
            r.add_get(prefix + "/applications/{app}/commands", self._get_commands)
            r.add_put(prefix + "/applications/{app}/guilds/{guild}/commands", self._put_commands)
            r.add_get(prefix + "/applications/{app}/guilds/{guild}/commands", self._get_commands)
            r.add_get(prefix + "/channels/{channel}", self._get_channel)
            r.add_get(prefix + "/guilds/{guild}/members/{user}", self._get_member)
            r.add_post(prefix + "/channels/{channel}/messages", self._post_message)
            r.add_patch(prefix + "/channels/{channel}/messages/{message}", self._edit_message)
            r.add_post(prefix + "/interactions/{id}/{token}/callback", self._callback)
            r.add_post(prefix + "/webhooks/{id}/{token}", self._webhook_post)
            r.add_get(prefix + "/webhooks/{id}/{token}", self._webhook_info)
            r.add_patch(prefix + "/webhooks/{id}/{token}/messages/{message}", self._webhook_edit)
            r.add_get(prefix + "/webhooks/{id}/{token}/messages/{message}", self._webhook_get)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- failure injection ------------------------------------------------------------------

    def fail(
        self,
        pattern: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float = 0.05,
        method: str | None = None,
    ) -> None:
        self.failures.append(Failure(pattern, status, times, retry_after, method))

    def refuse(self, pattern: str, status: int = 404) -> None:
        """Refuse every request whose path contains ``pattern`` (a deleted webhook, a channel
        the bot lost access to) until :meth:`accept`."""
        self.fail(pattern, status, times=1 << 62)

    def accept(self, pattern: str) -> None:
        """Stop refusing ``pattern``: the farmer fixed the webhook or the channel in Discord."""
        self.failures = [f for f in self.failures if f.pattern != pattern]

    def deny_send(self, channel_id: int) -> None:
        """An overwrite denying the bot Send Messages there: it sees the channel, posts get
        403 Missing Permissions (50013)."""
        self.send_denied.add(channel_id)

    def allow_send(self, channel_id: int) -> None:
        self.send_denied.discard(channel_id)

    def slow(self, pattern: str, seconds: float) -> None:
        """Answer requests whose path contains ``pattern`` only after ``seconds``."""
        self.delays.append((pattern, seconds))

    async def drop_gateway(self) -> None:
        """Close every gateway connection, as an outage does; discord.py reconnects."""
        for ws in list(self.sockets):
            await ws.close(code=1001)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        for pattern, seconds in self.delays:
            if pattern in request.path:
                await asyncio.sleep(seconds)
        for failure in self.failures:
            if failure.times > 0 and failure.pattern in request.path:
                if failure.method and failure.method != request.method:
                    continue
                failure.times -= 1
                self.requests.append((request.method, request.path, failure.status))
                await request.read()
                if failure.status == 429:
                    return jsonr(
                        {
                            "message": "You are being rate limited.",
                            "retry_after": failure.retry_after,
                            "global": False,
                        },
                        status=429,
                        headers={
                            "Retry-After": str(failure.retry_after),
                            "X-RateLimit-Limit": "5",
                            "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset-After": str(failure.retry_after),
                            "X-RateLimit-Bucket": "fakebucket",
                            "X-RateLimit-Scope": "user",
                            "Via": "1.1 google",
                        },
                    )
                return jsonr({"message": "Service Unavailable", "code": 0}, status=failure.status)
        response = await handler(request)
        self.requests.append((request.method, request.path, response.status))
        return response

    # --- REST: identity ---------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bot test-token":
            return jsonr({"message": "401: Unauthorized", "code": 0}, status=401)
        return jsonr(user(BOT_ID, "cosmos", bot=True))

    async def _application(self, request: web.Request) -> web.Response:
        return jsonr(
            {
                "id": str(BOT_ID),
                "name": "cosmos",
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": user(ADMIN_ID, "owner"),
                "verify_key": "00",
                "flags": 0,
                "team": None,
                "summary": "",
            }
        )

    async def _gateway_info(self, request: web.Request) -> web.Response:
        return jsonr(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    # --- REST: application commands ---------------------------------------------------------

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = request.match_info.get("guild", "global")
        body = await request.json()
        stored = []
        for schema in body:
            command = dict(schema)
            command.setdefault("id", str(next(self.ids)))
            command["application_id"] = str(BOT_ID)
            command.setdefault("version", "1")
            if scope != "global":
                command["guild_id"] = scope
            stored.append(command)
        self.commands[scope] = stored
        self.sync_calls.append(scope)
        return jsonr(stored)

    async def _get_commands(self, request: web.Request) -> web.Response:
        return jsonr(self.commands[request.match_info.get("guild", "global")])

    # --- REST: channels -------------------------------------------------------------------

    def channel_payload(self, channel_id: int) -> dict[str, Any]:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": f"channel-{channel_id}",
            "position": 0,
            "permission_overwrites": [
                {"id": str(BOT_ID), "type": 1, "allow": "0", "deny": str(SEND_MESSAGES)}
            ]
            if channel_id in self.send_denied
            else [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        if channel_id not in (CHANNEL_ID, OTHER_CHANNEL_ID):
            return jsonr({"message": "Unknown Channel", "code": 10003}, status=404)
        return jsonr(self.channel_payload(channel_id))

    async def _get_member(self, request: web.Request) -> web.Response:
        """``GET /guilds/{guild}/members/{user}``: only the bot's own member is known."""
        if int(request.match_info["user"]) != BOT_ID:
            return jsonr({"message": "Unknown Member", "code": 10007}, status=404)
        return jsonr(
            {
                "user": user(BOT_ID, "cosmos", bot=True),
                "roles": [str(BOT_ROLE_ID)],
                "joined_at": TIMESTAMP,
                "deaf": False,
                "mute": False,
                "flags": 0,
                "nick": None,
                "avatar": None,
                "pending": False,
            }
        )

    async def _payload(self, request: web.Request) -> dict[str, Any]:
        """JSON body, or multipart: ``payload_json`` plus ``files[n]`` parts."""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            payload: dict[str, Any] = {}
            files = []
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    filename = part.filename or "file"  # type: ignore[union-attr]
                    self.attachments.append((filename, bytes(data)))
                    files.append({"filename": filename, "size": len(data)})
            payload["_files"] = files
            return payload
        return dict(await request.json())

    def message(
        self, channel_id: int, payload: dict[str, Any], author: dict[str, Any]
    ) -> dict[str, Any]:
        message_id = next(self.ids)
        return {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "type": 0,
            "content": payload.get("content") or "",
            "author": author,
            "embeds": payload.get("embeds", []),
            "attachments": [
                {
                    "id": str(next(self.ids)),
                    "filename": f["filename"],
                    "size": f["size"],
                    "url": f"{self.base}/attachments/{f['filename']}",
                    "proxy_url": f"{self.base}/attachments/{f['filename']}",
                }
                for f in payload.get("_files", [])
            ],
            "components": payload.get("components", []),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "flags": payload.get("flags", 0),
            "nonce": payload.get("nonce"),
            "webhook_id": None,
        }

    async def _post_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        if channel_id not in (CHANNEL_ID, OTHER_CHANNEL_ID):
            return jsonr({"message": "Unknown Channel", "code": 10003}, status=404)
        payload = await self._payload(request)
        if channel_id in self.send_denied:
            return jsonr({"message": "Missing Permissions", "code": 50013}, status=403)
        if "embeds" in payload and len(payload["embeds"]) > 10:
            return jsonr({"message": "Invalid Form Body", "code": 50035}, status=400)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            # Discord: the same author and nonce within a few minutes returns the first message.
            existing = self._nonces.get((channel_id, str(nonce)))
            if existing is not None:
                return jsonr(existing)
        message = self.message(channel_id, payload, user(BOT_ID, "cosmos", bot=True))
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = message
        self.channel_messages[channel_id].append(message)
        return jsonr(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        message_id = request.match_info["message"]
        payload = await self._payload(request)
        for message in self.channel_messages[channel_id]:
            if message["id"] == message_id:
                message.update({k: v for k, v in payload.items() if not k.startswith("_")})
                message["edited_timestamp"] = TIMESTAMP
                self.edits.append((message_id, payload))
                return jsonr(message)
        return jsonr({"message": "Unknown Message", "code": 10008}, status=404)

    # --- REST: interactions -----------------------------------------------------------------

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(int(request.match_info["id"]))
        if interaction is not None and interaction.expired:
            interaction.refused.set()
        if (
            interaction is None
            or interaction.expired
            or interaction.token != request.match_info["token"]
        ):
            return jsonr({"message": "Unknown interaction", "code": 10062}, status=404)
        if interaction.responses:
            return jsonr(
                {"message": "Interaction has already been acknowledged.", "code": 40060},
                status=400,
            )
        body = await self._payload(request)
        interaction.responses.append(body)
        interaction.answered.set()
        if body.get("type") == 8:  # autocomplete result
            return web.Response(status=204)
        data = body.get("data") or {}
        message = self.message(
            CHANNEL_ID, data | {"_files": body.get("_files", [])}, user(BOT_ID, "cosmos", bot=True)
        )
        interaction.response_message = message
        return jsonr(
            {
                "interaction": {
                    "id": str(interaction.id),
                    "type": 2,
                    "response_message_id": message["id"],
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64),
                },
                "resource": {"type": body.get("type"), "message": message},
            }
        )

    def _interaction_by_token(self, token: str) -> Interaction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    # --- REST: webhooks (incoming, and interaction follow-ups) ------------------------------

    async def _webhook_post(self, request: web.Request) -> web.Response:
        webhook_id = int(request.match_info["id"])
        token = request.match_info["token"]
        payload = await self._payload(request)
        if len(payload.get("embeds", [])) > 10:
            return jsonr({"message": "Invalid Form Body", "code": 50035}, status=400)
        if webhook_id == BOT_ID:
            interaction = self._interaction_by_token(token)
            if interaction is None:
                return jsonr({"message": "Unknown Webhook", "code": 10015}, status=404)
            interaction.followups.append(payload)
            return jsonr(self.message(CHANNEL_ID, payload, user(BOT_ID, "cosmos", bot=True)))
        author = user(webhook_id, "cosmos webhook", bot=True)
        message = self.message(CHANNEL_ID, payload, author)
        message["webhook_id"] = str(webhook_id)
        self.webhook_messages[webhook_id].append(message)
        if request.query.get("wait") in ("true", "True", "1"):
            return jsonr(message)
        return web.Response(status=204)

    async def _webhook_info(self, request: web.Request) -> web.Response:
        """``GET /webhooks/{id}/{token}``: the webhook object (no ``user`` with a token)."""
        webhook_id = request.match_info["id"]
        return jsonr(
            {
                "id": webhook_id,
                "type": 1,
                "guild_id": str(GUILD_ID),
                "channel_id": str(CHANNEL_ID),
                "name": "cosmos webhook",
                "avatar": None,
                "application_id": None,
                "token": request.match_info["token"],
            }
        )

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        webhook_id = int(request.match_info["id"])
        token = request.match_info["token"]
        message_id = request.match_info["message"]
        payload = await self._payload(request)
        if webhook_id == BOT_ID:
            interaction = self._interaction_by_token(token)
            if interaction is None:
                return jsonr({"message": "Unknown Webhook", "code": 10015}, status=404)
            interaction.edits.append(payload)
            interaction.answered.set()
            return jsonr(self.message(CHANNEL_ID, payload, user(BOT_ID, "cosmos", bot=True)))
        for message in self.webhook_messages[webhook_id]:
            if message["id"] == message_id:
                message.update({k: v for k, v in payload.items() if not k.startswith("_")})
                message["edited_timestamp"] = TIMESTAMP
                self.edits.append((message_id, payload))
                return jsonr(message)
        return jsonr({"message": "Unknown Message", "code": 10008}, status=404)

    async def _webhook_get(self, request: web.Request) -> web.Response:
        webhook_id = int(request.match_info["id"])
        for message in self.webhook_messages[webhook_id]:
            if message["id"] == request.match_info["message"]:
                return jsonr(message)
        return jsonr({"message": "Unknown Message", "code": 10008}, status=404)

    # --- gateway ----------------------------------------------------------------------------

    def guild_payload(self) -> dict[str, Any]:
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": str(1 << 11),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        admin_role = everyone | {"id": str(ADMIN_ROLE_ID), "name": "farm admins", "position": 1}
        bot_role = everyone | {
            "id": str(BOT_ROLE_ID),
            "name": "cosmos",
            "permissions": str(BOT_PERMISSIONS),
            "position": 2,
        }
        return {
            "id": str(GUILD_ID),
            "name": "farm",
            "unavailable": False,
            "owner_id": str(ADMIN_ID),
            "member_count": 3,
            "roles": [everyone, admin_role, bot_role],
            "channels": [self.channel_payload(CHANNEL_ID), self.channel_payload(OTHER_CHANNEL_ID)],
            "members": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "joined_at": TIMESTAMP,
        }

    async def _send(
        self, ws: web.WebSocketResponse, op: int, data: Any, event: str | None = None
    ) -> None:
        payload: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == 0:
            self._seq += 1
            payload["s"] = self._seq
        await ws.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await self._send(ws, 10, {"heartbeat_interval": 41_250})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if frame["op"] == 1:
                    await self._send(ws, 11, None)
                elif frame["op"] == 6:  # RESUME after a dropped connection
                    await self._send(ws, 0, {}, "RESUMED")
                elif frame["op"] == 2:
                    await self._send(
                        ws,
                        0,
                        {
                            "v": 10,
                            "user": user(BOT_ID, "cosmos", bot=True),
                            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                            "session_id": "session",
                            "resume_gateway_url": self.gateway_url,
                            "application": {"id": str(BOT_ID), "flags": 0},
                            "shard": [0, 1],
                        },
                        "READY",
                    )
                    await self._send(ws, 0, self.guild_payload(), "GUILD_CREATE")
                    self.identified.set()
        finally:
            self.sockets.remove(ws)
        return ws

    async def interact(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user_id: int = ADMIN_ID,
        permissions: int = ADMINISTRATOR,
        roles: list[int] | None = None,
        kind: int = 2,
        data: dict[str, Any] | None = None,
        message: dict[str, Any] | None = None,
        wait: float = 10.0,
        expired: bool = False,
    ) -> Interaction:
        """Dispatch INTERACTION_CREATE for a slash command and wait for the bot's answer.

        ``expired``: the interaction is too old to answer (as one replayed after an outage);
        this waits for the bot's attempt, which Discord refuses with 10062.
        """
        interaction_id = next(self.ids)
        token = f"itoken{interaction_id}"
        interaction = Interaction(interaction_id, token, name, expired=expired)
        self.interactions[interaction_id] = interaction
        command = next(
            (c for scope in self.commands.values() for c in scope if c["name"] == name), None
        )
        payload = {
            "id": str(interaction_id),
            "application_id": str(BOT_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "channel": self.channel_payload(CHANNEL_ID),
            "app_permissions": str((1 << 53) - 1),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "member": {
                "user": user(user_id, f"user{user_id}"),
                "roles": [str(r) for r in roles or []],
                "permissions": str(permissions),
                "joined_at": TIMESTAMP,
                "deaf": False,
                "mute": False,
                "flags": 0,
                "nick": None,
                "avatar": None,
                "pending": False,
            },
            "data": data
            or {
                "id": command["id"] if command else str(next(self.ids)),
                "name": name,
                "type": 1,
                "options": options or [],
                "guild_id": str(GUILD_ID),
            },
        }
        if message is not None:
            payload["message"] = message
        for ws in self.sockets:
            await self._send(ws, 0, payload, "INTERACTION_CREATE")
        done = interaction.refused if expired else interaction.answered
        await asyncio.wait_for(done.wait(), wait)
        return interaction

    async def click(
        self,
        message: dict[str, Any],
        custom_id: str,
        *,
        user_id: int = ADMIN_ID,
        wait: float = 10.0,
    ) -> Interaction:
        """A button press on a message the bot sent (a component interaction)."""
        return await self.interact(
            "component",
            kind=3,
            user_id=user_id,
            data={"custom_id": custom_id, "component_type": 2},
            wait=wait,
            message=message,
        )
