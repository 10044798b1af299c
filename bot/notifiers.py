"""Notifiers deliver rendered messages; they decide nothing about what to say.

- :class:`ConsoleNotifier` prints (no token, no webhook).
- :class:`ChannelNotifier` posts through the bot to a channel, with a nonce and
  ``enforce_nonce`` so Discord itself drops a resend of a message it already accepted.
- :class:`WebhookNotifier` posts to an incoming webhook with ``wait=true`` (to learn the message
  id) and edits its own messages in place (the dashboard).
- :class:`TopicRouter` picks the notifier for a topic (a channel or webhook per topic), and for
  an edit the notifier that delivered the original.

``update`` edits a message delivered earlier (a reward credited, a fact undone by a reorg).

Every failure becomes :class:`DeliveryError`: ``retry_after`` when Discord said when to try
again, ``permanent`` when a resend can never succeed (a malformed message).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import discord

from bot.charts import HINT_FILENAME, hint_chart
from bot.embeds import notification_embed
from collectors.models.notify import Delivered, OutboxItem

log = logging.getLogger("cosmos.notify")

# Topics that are not notification topics but still route to a channel or webhook.
DASHBOARD = "dashboard"


class DeliveryError(RuntimeError):
    """Delivery failed; ``retry_after`` (seconds) when the far side said when to try again."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class MessageGone(DeliveryError):
    """The message to edit no longer exists (deleted by someone)."""


class RouteRefused(DeliveryError):
    """The place itself refuses (401/403/404: a deleted webhook, a channel without access).

    Resending cannot help until the place is fixed (in Discord or in the settings): the route's
    messages wait in the outbox while cheap probes look at the place again (see bot.refusals).
    """


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: its embeds, the topic that routes it, and a stable nonce."""

    topic: str
    embeds: tuple[discord.Embed, ...]
    nonce: str
    text: str
    # Attachments as (file name, bytes); an embed shows one with ``attachment://<name>``.
    files: tuple[tuple[str, bytes], ...] = ()
    # Delivered here instead of the topic's place when such a channel or webhook is set.
    route: str | None = None

    @classmethod
    async def render(cls, item: OutboxItem) -> Outgoing:
        """The message for an outbox item; its chart (if any) is drawn off the event loop."""
        message = cls.of(item)
        hint = item.notification.chart
        if hint is None:
            return message
        png = await asyncio.to_thread(hint_chart, hint)
        message.embeds[0].set_image(url=f"attachment://{HINT_FILENAME}")
        return dataclasses.replace(message, files=((HINT_FILENAME, png),))

    @classmethod
    def of(cls, item: OutboxItem) -> Outgoing:
        n = item.notification
        text = " | ".join(
            [f"[{n.topic.value}/{n.severity.value}] {n.title}"]
            + ([n.body] if n.body else [])
            + [f"{name}: {value}" for name, value in n.fields]
            + ([n.url] if n.url else [])
        )
        return cls(
            n.topic.value, (notification_embed(n),), nonce_for(n.dedupe_key), text, route=n.route
        )


@dataclass(frozen=True, slots=True)
class Sent:
    target: str
    message_id: str | None


def nonce_for(key: str) -> str:
    """Discord nonces are at most 25 characters; the same fact always gets the same nonce."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


class Notifier(Protocol):
    async def send(self, message: Outgoing) -> Sent:
        """Deliver or raise :class:`DeliveryError`."""
        ...

    async def update(self, delivered: Delivered, message: Outgoing) -> None:
        """Make a message this notifier delivered read ``message``, or raise
        :class:`DeliveryError` (:class:`MessageGone` when it was deleted)."""
        ...


class RouteNotifier(Notifier, Protocol):
    """A notifier for one Discord place (a channel or a webhook)."""

    target: str

    async def probe(self) -> None:
        """Whether the place would take a message now, sending none: returns, or raises
        :class:`RouteRefused` (still refused) or :class:`DeliveryError` (could not tell)."""
        ...


class ConsoleNotifier:
    """With neither a bot token nor a webhook: notifications go to the console log."""

    target = "console"

    async def send(self, message: Outgoing) -> Sent:
        log.info("%s", message.text)
        return Sent(self.target, None)

    async def update(self, delivered: Delivered, message: Outgoing) -> None:
        log.info("[update] %s", message.text)

    async def deliver(self, item: OutboxItem) -> None:
        await self.send(Outgoing.of(item))


class TopicRouter:
    """A notifier per topic, else the default one."""

    def __init__(self, routes: Mapping[str, Notifier], default: Notifier) -> None:
        self._routes = dict(routes)
        self._default = default

    def for_topic(self, topic: str) -> Notifier:
        return self._routes.get(topic, self._default)

    async def send(self, message: Outgoing) -> Sent:
        if message.route is not None and message.route in self._routes:
            return await self._routes[message.route].send(message)
        return await self.for_topic(message.topic).send(message)

    async def update(self, delivered: Delivered, message: Outgoing) -> None:
        """Through the notifier that delivered the original (routes may have changed since)."""
        for notifier in (*self._routes.values(), self._default):
            if getattr(notifier, "target", None) == delivered.target:
                await notifier.update(delivered, message)
                return
        raise DeliveryError(
            f"{delivered.target} that took the first message is no longer configured",
            permanent=True,
        )


# --- through the bot ------------------------------------------------------------------------


def _retry_after(exc: discord.HTTPException) -> float | None:
    header = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def translate(exc: BaseException) -> DeliveryError:
    """discord.py and network errors as :class:`DeliveryError`."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(
            f"rate limited for {exc.retry_after:.1f}s", retry_after=exc.retry_after
        )
    if isinstance(exc, discord.HTTPException):
        status = exc.status
        if status == 429:
            return DeliveryError("rate limited (429)", retry_after=_retry_after(exc))
        if status >= 500:
            return DeliveryError(f"Discord error {status}")
        if status == 404 and exc.code == 10008:
            return MessageGone("message not found")
        if status in (401, 403, 404):
            # Missing access or a wrong channel: the farmer can fix it, so keep the message.
            return RouteRefused(f"Discord refused ({status} {exc.text}); check the channel")
        return DeliveryError(f"Discord rejected the message ({status} {exc.text})", permanent=True)
    return DeliveryError(f"network error: {type(exc).__name__}: {exc}")


class ChannelNotifier:
    """Posts to one channel through the bot's HTTP client."""

    def __init__(self, client: discord.Client, channel_id: int) -> None:
        self._client = client
        self.channel_id = channel_id
        self.target = f"channel:{channel_id}"

    async def _channel(self) -> discord.abc.Messageable:
        channel = self._client.get_channel(self.channel_id)
        if channel is None:
            channel = await self._client.fetch_channel(self.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryError(f"channel {self.channel_id} cannot receive messages")
        return channel

    async def send(self, message: Outgoing) -> Sent:
        try:
            channel = await self._channel()
            files = [discord.File(io.BytesIO(data), name) for name, data in message.files]
            mentions = discord.AllowedMentions.none()
            if message.nonce:
                sent = await channel.send(
                    embeds=list(message.embeds),
                    files=files,
                    nonce=message.nonce,
                    allowed_mentions=mentions,
                )
            else:  # a dashboard post: nothing to deduplicate
                sent = await channel.send(
                    embeds=list(message.embeds), files=files, allowed_mentions=mentions
                )
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            raise translate(exc) from exc
        return Sent(self.target, str(sent.id))

    async def post(self, embeds: Sequence[discord.Embed]) -> str:
        return (await self.send(Outgoing(DASHBOARD, tuple(embeds), "", ""))).message_id or ""

    async def probe(self) -> None:
        # Fetched, not taken from the cache: the cache still holds a channel the bot lost.
        try:
            channel = await self._client.fetch_channel(self.channel_id)
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            raise translate(exc) from exc
        if not isinstance(channel, discord.abc.Messageable):
            raise RouteRefused(f"channel {self.channel_id} cannot receive messages")
        guild: discord.Guild | None = getattr(channel, "guild", None)
        bot_user = self._client.user
        in_guild = isinstance(channel, discord.abc.GuildChannel | discord.Thread)
        if not in_guild or guild is None or guild.unavailable or bot_user is None:
            return  # nothing to compute permissions from: seeing the channel is the test
        try:
            # Fetched too: without the members intent the cached one misses new roles.
            me = await guild.fetch_member(bot_user.id)
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            raise translate(exc) from exc
        allowed = channel.permissions_for(me)
        send = (
            allowed.send_messages_in_threads
            if isinstance(channel, discord.Thread)
            else allowed.send_messages
        )
        needed = {
            "View Channel": allowed.view_channel,
            "Send Messages": send,
            "Embed Links": allowed.embed_links,
        }
        # The first one missing: without Send Messages, Discord takes Embed Links away too.
        missing = next((name for name, ok in needed.items() if not ok), None)
        if missing is not None:
            raise RouteRefused(
                f"the bot lacks {missing} in channel {self.channel_id}; "
                "check the channel's permissions"
            )

    async def edit(self, message_id: str, embeds: Sequence[discord.Embed]) -> None:
        try:
            channel = await self._channel()
            if not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
                raise DeliveryError("not a guild channel")
            partial = channel.get_partial_message(int(message_id))
            await partial.edit(embeds=list(embeds))
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            raise translate(exc) from exc

    async def update(self, delivered: Delivered, message: Outgoing) -> None:
        if delivered.message_id is None:
            raise DeliveryError("no message id to edit", permanent=True)
        await self.edit(delivered.message_id, message.embeds)


# --- incoming webhooks ----------------------------------------------------------------------

_WEBHOOK = re.compile(r"/webhooks/(\d+)/([\w-]+)")


class WebhookNotifier:
    """An incoming webhook: POST ``?wait=true`` returns the message; PATCH edits it."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *, timeout: float = 15.0) -> None:
        match = _WEBHOOK.search(url)
        if match is None:
            raise ValueError("not a Discord webhook URL (…/api/webhooks/ID/TOKEN)")
        self._session = session
        self._url = url.split("?", maxsplit=1)[0].rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.target = f"webhook:{match.group(1)}"

    async def _call(
        self,
        method: str,
        url: str,
        payload: dict[str, Any] | None,
        files: tuple[tuple[str, bytes], ...] = (),
    ) -> dict[str, Any]:
        body: aiohttp.FormData | None = None
        if files and payload is not None:
            # Multipart: the JSON payload plus files[n], as Discord takes attachments.
            payload = payload | {
                "attachments": [{"id": i, "filename": name} for i, (name, _) in enumerate(files)]
            }
            body = aiohttp.FormData()
            body.add_field("payload_json", json.dumps(payload), content_type="application/json")
            for i, (name, data) in enumerate(files):
                body.add_field(f"files[{i}]", data, filename=name, content_type="image/png")
        try:
            async with self._session.request(
                method,
                url,
                json=None if body is not None else payload,
                data=body,
                timeout=self._timeout,
            ) as response:
                answer: Any = None
                if response.content_type == "application/json":
                    answer = await response.json()
                else:
                    await response.read()
                if 200 <= response.status < 300:
                    return answer if isinstance(answer, dict) else {}
                message = answer.get("message") if isinstance(answer, dict) else None
                if response.status == 429:
                    after = answer.get("retry_after") if isinstance(answer, dict) else None
                    after = after if after is not None else response.headers.get("Retry-After")
                    raise DeliveryError(
                        "webhook rate limited (429)",
                        retry_after=float(after) if after is not None else None,
                    )
                if response.status >= 500:
                    raise DeliveryError(f"Discord error {response.status}")
                if response.status == 404 and "/messages/" in url:
                    raise MessageGone("webhook message not found")
                if response.status in (401, 403, 404):
                    raise RouteRefused(
                        f"webhook refused ({response.status} {message}); check the webhook URL"
                    )
                raise DeliveryError(
                    f"Discord rejected the message ({response.status} {message})", permanent=True
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"network error: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _payload(embeds: Sequence[discord.Embed]) -> dict[str, Any]:
        return {"embeds": [e.to_dict() for e in embeds], "allowed_mentions": {"parse": []}}

    async def send(self, message: Outgoing) -> Sent:
        data = await self._call(
            "POST", f"{self._url}?wait=true", self._payload(message.embeds), message.files
        )
        return Sent(self.target, str(data["id"]) if "id" in data else None)

    async def post(self, embeds: Sequence[discord.Embed]) -> str:
        data = await self._call("POST", f"{self._url}?wait=true", self._payload(embeds))
        return str(data.get("id", ""))

    async def probe(self) -> None:
        # Discord answers GET on a webhook's URL with the webhook, or 401/404 when it is gone.
        await self._call("GET", self._url, None)

    async def edit(self, message_id: str, embeds: Sequence[discord.Embed]) -> None:
        await self._call("PATCH", f"{self._url}/messages/{message_id}", self._payload(embeds))

    async def update(self, delivered: Delivered, message: Outgoing) -> None:
        if delivered.message_id is None:
            raise DeliveryError("no message id to edit", permanent=True)
        await self.edit(delivered.message_id, message.embeds)
