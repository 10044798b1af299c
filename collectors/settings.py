"""The one settings tree: environment variables with the ``COSMOS_`` prefix, or a ``.env`` file.

Nested keys use a double underscore: ``COSMOS_METRICS__INTERVAL_SECONDS=30``. Lists are JSON:
``COSMOS_METRICS__TARGETS='[{"url": "http://10.0.0.5:9081/metrics", "kind": "farmer"}]'``.
:func:`load_settings` turns validation errors into messages a farmer can act on.
"""

from __future__ import annotations

import logging
import os
import socket
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from collectors.chain.ss58 import AddressError, normalize
from collectors.models.logs import CLUSTER_ROLES, Role

log = logging.getLogger("cosmos.settings")

FARMER_IMAGES = ("ghcr.io/autonomys/farmer", "subspace/farmer")
NODE_IMAGES = ("ghcr.io/autonomys/node", "subspace/node")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ROLES: tuple[Role, ...] = ("farmer", "node", *CLUSTER_ROLES)
DEFAULT_CLUSTER = "cluster"


def _known_role(value: Any) -> Any:
    if value not in ROLES:
        raise ValueError(
            f"must be one of {', '.join(ROLES)} (controller, cache and plotter are farming-"
            "cluster components; a cluster farmer is a farmer with a cluster name)"
        )
    return value


def _cluster_of(role: str, cluster: str | None) -> str | None:
    """Cluster components always belong to a cluster (one unnamed cluster by default)."""
    return cluster or (DEFAULT_CLUSTER if role in CLUSTER_ROLES else None)


# --- logs -----------------------------------------------------------------------------------


class DockerHost(_Section):
    """A Docker Engine to read node and farmer container logs from."""

    base_url: str = Field(
        default="unix:///var/run/docker.sock",
        description="unix:// socket, tcp://host:2375 or ssh://user@host",
    )
    host: str = Field(default="local", description="a short name for this host in the dashboard")
    farmer: str | None = Field(default=None, description="farmer name for this host's farmer")
    farmer_container: str | None = Field(
        default=None, description="farmer container name, or its Compose service name"
    )
    node_container: str | None = Field(
        default=None, description="node container name, or its Compose service name"
    )
    cluster: str | None = Field(
        default=None, description="farming cluster name for this host's cluster containers"
    )
    # Cluster containers are found by their command (``subspace-farmer cluster … plotter``);
    # name them here when that does not work (a wrapper script as the entrypoint).
    cluster_containers: dict[str, Role] = Field(
        default_factory=dict, description="container name -> controller, cache, plotter, farmer"
    )

    @field_validator("cluster_containers")
    @classmethod
    def _cluster_roles(cls, value: dict[str, Role]) -> dict[str, Role]:
        for role in value.values():
            if role == "node":
                raise ValueError("a node is not a cluster component: use node_container")
        return value

    @field_validator("base_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")):
            raise ValueError(
                "must start with unix://, tcp://, ssh://, http:// or https://, "
                "e.g. unix:///var/run/docker.sock or ssh://farmer@10.0.0.5"
            )
        return value


class LogFile(_Section):
    """A node or farmer that logs to a file (``farmer ... > farmer.log``)."""

    path: Path
    role: Role = Field(description="farmer, node, or a cluster controller, cache or plotter")
    host: str = "local"
    farmer: str | None = None
    cluster: str | None = Field(default=None, description="farming cluster name")

    _role = field_validator("role", mode="before")(_known_role)

    @property
    def cluster_name(self) -> str | None:
        return _cluster_of(self.role, self.cluster)


class LogsSettings(_Section):
    enabled: bool = True
    docker: list[DockerHost] = Field(default_factory=list)
    files: list[LogFile] = Field(default_factory=list)
    max_line_bytes: int = Field(default=64 * 1024, ge=1024)
    reconnect_seconds: float = Field(default=5.0, gt=0)


# --- metrics --------------------------------------------------------------------------------


class MetricsTarget(_Section):
    url: str = Field(description="e.g. http://127.0.0.1:9081/metrics")
    kind: Role = Field(description="farmer, node, or a cluster controller, cache or plotter")
    label: str | None = None
    host: str = "local"
    farmer: str | None = Field(default=None, description="farmer name (farmer targets)")
    interval_seconds: float | None = Field(default=None, gt=0)
    cluster: str | None = Field(default=None, description="farming cluster name")

    _kind = field_validator("kind", mode="before")(_known_role)

    @property
    def cluster_name(self) -> str | None:
        return _cluster_of(self.kind, self.cluster)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be an http:// or https:// URL, e.g. http://127.0.0.1:9081/metrics"
            )
        return value


class MetricsSettings(_Section):
    targets: list[MetricsTarget] = Field(default_factory=list)
    interval_seconds: float = Field(default=60.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    full_detail_hours: float = Field(
        default=48.0, gt=0, description="keep every snapshot this long, then one an hour"
    )
    rate_window_minutes: float = Field(
        default=60.0, gt=0, description="plotting rate and ETA use the growth over this window"
    )


# --- wallets --------------------------------------------------------------------------------


class Wallet(_Section):
    address: str = Field(
        description="su… address (a legacy st… address is accepted)",
        examples=["subEJEZpGZSuw3xg4bWGrTKJ1eUuqLhWkgis3KzL41Uks9yNq"],
    )
    label: str
    scan_back_blocks: int = Field(default=0, ge=0, description="scan this far back when new")
    farmer: str | None = Field(
        default=None, description="farmer whose reward address this is (links chain rewards)"
    )
    operator_id: int | None = Field(
        default=None, ge=0, description="domain operator this wallet runs (income, slash alerts)"
    )
    low_balance_ai3: float | None = Field(
        default=None, ge=0, description="alert while the free balance is below this (off: unset)"
    )

    @field_validator("address")
    @classmethod
    def _ss58_address(cls, value: str) -> str:
        # Stored and shown in the su… form whatever form was configured.
        try:
            return normalize(value)
        except AddressError as exc:
            raise ValueError(f"is not a valid Autonomys address: it {exc}") from None


class WalletsSettings(_Section):
    rpc_urls: list[str] = Field(default_factory=lambda: ["ws://127.0.0.1:9944"])
    accounts: list[Wallet] = Field(default_factory=list)
    poll_seconds: float = Field(default=6.0, gt=0)
    settle_depth: int = Field(default=3, ge=0)
    lookback_blocks: int = Field(default=14_400, ge=0)
    large_transfer_ai3: float = Field(default=100.0, ge=0)
    announce_within_blocks: int = Field(
        default=600, ge=0, description="blocks further behind the head are stored, not announced"
    )
    balance_poll_seconds: float = Field(default=60.0, gt=0)
    balance_history_minutes: float = Field(
        default=15.0, gt=0, description="store an unchanged balance this often, for charts"
    )
    reward_link_seconds: float = Field(
        default=30.0, ge=0, description="window to match a chain reward to a signed-reward log line"
    )
    rpc_timeout_seconds: float = Field(default=30.0, gt=0)
    reconnect_max_seconds: float = Field(default=300.0, gt=0)

    @field_validator("rpc_urls")
    @classmethod
    def _ws_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("ws://", "wss://", "http://", "https://")):
                raise ValueError(
                    f"{url!r} must start with ws:// or wss://, e.g. ws://127.0.0.1:9944"
                )
        if not value:
            raise ValueError('needs at least one URL, e.g. ["ws://127.0.0.1:9944"]')
        return value

    @field_validator("accounts")
    @classmethod
    def _distinct_addresses(cls, value: list[Wallet]) -> list[Wallet]:
        seen: set[str] = set()
        for wallet in value:
            if wallet.address in seen:
                raise ValueError(f"lists {wallet.address} twice (labels may differ, addresses not)")
            seen.add(wallet.address)
        return value


# --- discord and notifications --------------------------------------------------------------

Topic = Literal["transfers", "rewards", "alerts", "summary", "dashboard"]


class DiscordSettings(_Section):
    token: SecretStr | None = Field(
        default=None,
        description="bot token; empty for webhook-only",
        examples=["the token from the Developer Portal, Bot page"],
    )
    guild_id: int | None = Field(default=None, description="sync commands to this guild at once")
    channel_id: int | None = Field(default=None, description="default channel for notifications")
    # Keys: a topic, or an alert rule's name to give that rule a channel of its own.
    channels: dict[str, int] = Field(
        default_factory=dict,
        description="a channel per topic",
        examples=[{"alerts": 123456789012345680}],
    )
    webhook_url: SecretStr | None = Field(
        default=None,
        description="default webhook",
        examples=["https://discord.com/api/webhooks/123/abc"],
    )
    webhooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="a webhook per topic",
        examples=[{"alerts": "https://discord.com/api/webhooks/124/def"}],
    )
    rewards_mode: Literal["each", "batched", "off"] = "each"
    rewards_batch_minutes: float = Field(default=60.0, gt=0)
    admin_role_id: int | None = None
    explorer_url: str = "https://autonomys.subscan.io"
    dashboard_seconds: float = Field(default=60.0, ge=1, description="dashboard refresh")
    # A webhook or channel Discord refuses (401/403/404) is looked at again (nothing is sent)
    # after this, then twice as long each time up to the most, and released once it accepts.
    refused_recheck_seconds: float = Field(
        default=60.0, gt=0, description="first look again at a refused route"
    )
    refused_recheck_max_seconds: float = Field(
        default=1800.0, gt=0, description="longest wait between looks at a refused route"
    )
    # Discord's own addresses: change them only for a proxy or a test double of Discord.
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"

    @field_validator("channels", "webhooks")
    @classmethod
    def _known_places(cls, value: dict[str, Any]) -> dict[str, Any]:
        from collectors.models.alerts import Rule

        topics = typing.get_args(Topic)
        unknown = sorted(set(value) - set(topics) - {rule.value for rule in Rule})
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(unknown)}: use a topic ({', '.join(topics)})"
                " or an alert rule name (e.g. farm_error) for a channel of its own"
            )
        return value

    @model_validator(mode="after")
    def _recheck_order(self) -> DiscordSettings:
        if self.refused_recheck_max_seconds < self.refused_recheck_seconds:
            raise ValueError(
                f"COSMOS_DISCORD__REFUSED_RECHECK_MAX_SECONDS={self.refused_recheck_max_seconds:g}"
                " is shorter than COSMOS_DISCORD__REFUSED_RECHECK_SECONDS="
                f"{self.refused_recheck_seconds:g}: the longest wait between looks at a refused "
                "route must be at least the first one (e.g. 60 and 1800)"
            )
        return self

    @field_validator("webhook_url")
    @classmethod
    def _webhook_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and "/api/webhooks/" not in value.get_secret_value():
            raise ValueError(
                "is not a Discord webhook URL; it looks like https://discord.com/api/webhooks/ID/TOKEN"
            )
        return value


# --- alerts ---------------------------------------------------------------------------------


class AlertsSettings(_Section):
    """Alert rules (names in ``collectors.models.alerts.Rule``), their thresholds and timing."""

    enabled: bool = True
    muted: list[str] = Field(
        default_factory=list, description="rule names not to send", examples=[["no_reward"]]
    )
    routes: dict[str, Topic] = Field(
        default_factory=dict, description="rule name -> topic", examples=[{"no_reward": "alerts"}]
    )
    timezone: str = "UTC"
    summary_time: str = Field(default="08:00", description="local HH:MM for the daily summary")
    summary_enabled: bool = True
    heartbeat_url: SecretStr | None = Field(
        default=None,
        description="fetched every minute while healthy (a dead-man's switch)",
        examples=["https://hc-ping.com/your-check-id"],
    )
    health_port: int | None = Field(
        default=None, ge=1, le=65535, description="old name of COSMOS_WEB__PORT (/healthz)"
    )
    interval_seconds: float = Field(default=30.0, gt=0, description="how often rules run")
    # Thresholds, one or more per rule.
    endpoint_down_minutes: float = Field(default=5.0, gt=0)
    node_logs_silent_minutes: float = Field(default=10.0, gt=0)
    # A fully plotted farmer without wins can be quiet for hours.
    farmer_logs_silent_minutes: float = Field(default=360.0, gt=0)
    node_behind_blocks: int = Field(default=20, ge=1)
    node_min_peers: int = Field(default=5, ge=0)
    farm_error_window_minutes: float = Field(default=5.0, gt=0)
    farming_errors_min: int = Field(default=3, ge=1, description="non-fatal errors per window")
    farm_missing_minutes: float = Field(default=15.0, gt=0)
    plotting_stall_minutes: float = Field(default=180.0, gt=0)
    missed_rewards_window_minutes: float = Field(default=60.0, gt=0)
    missed_rewards_min: int = Field(default=1, ge=1)
    reward_lookback_days: float = Field(default=7.0, gt=0)
    no_reward_min_rewards: int = Field(default=5, ge=1, description="rewards needed to estimate")
    no_reward_confidence: float = Field(default=0.999, gt=0, lt=1)
    balance_drop_tolerance_ai3: float = Field(default=0.01, ge=0, description="fees")
    large_transfer_out_ai3: float = Field(default=100.0, ge=0)
    # Farming pauses while the piece cache catches up with the latest history size.
    piece_cache_sync_minutes: float = Field(default=20.0, gt=0)
    slow_blocks_per_hour: int = Field(default=10, ge=1, description="node 'Slow Consensus block'")
    dsn_min_peers: int = Field(default=5, ge=0, description="DSN peers actively used")
    plotting_errors_window_minutes: float = Field(default=60.0, gt=0)
    plotting_errors_min: int = Field(default=1, ge=1, description="failed sectors per window")
    # Farming cluster: a plotter timeout counts this long; a controller's expired farm or
    # cache this long ago without a return is history; silence limits per cluster role (a
    # cache, and an idle plotter, say nothing for days: not watched unless listed).
    plotter_timeout_window_minutes: float = Field(default=30.0, gt=0)
    cluster_expired_lookback_hours: float = Field(default=24.0, gt=0)
    cluster_logs_silent_minutes: dict[str, float] = Field(
        default_factory=lambda: {"controller": 30.0},
        description="role (controller, cache, plotter) -> minutes without a log line",
    )
    # Timing of every rule's alerts; grace_minutes overrides one rule's grace period.
    grace_minutes: dict[str, float] = Field(default_factory=dict, examples=[{"farm_missing": 30}])
    resolve_grace_minutes: float = Field(default=5.0, ge=0)
    remind_first_hours: float = Field(default=1.0, gt=0)
    remind_max_hours: float = Field(default=24.0, gt=0)

    @field_validator("cluster_logs_silent_minutes")
    @classmethod
    def _cluster_roles(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(CLUSTER_ROLES))
        if unknown:
            raise ValueError(
                f"unknown role(s) {', '.join(unknown)}: use controller, cache or plotter"
            )
        if any(minutes <= 0 for minutes in value.values()):
            raise ValueError("minutes must be above 0 (leave a role out not to watch it)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not a known time zone; use an IANA name like Europe/Berlin or UTC"
            ) from None
        return value

    @field_validator("summary_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        hour, sep, minute = value.partition(":")
        if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2) or not (
            0 <= int(hour) <= 23 and 0 <= int(minute) <= 59
        ):
            raise ValueError("must be a local time HH:MM, e.g. 08:00")
        return value

    @field_validator("muted", "routes", "grace_minutes")
    @classmethod
    def _known_rules(cls, value: Any) -> Any:
        from collectors.models.alerts import Rule

        known = {rule.value for rule in Rule}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown alert rule(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        if isinstance(value, dict) and "dashboard" in value.values():
            raise ValueError("an alert cannot go to the dashboard; route it to another topic")
        return value


# --- root -----------------------------------------------------------------------------------


# --- web -------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WebSettings(_Section):
    """One HTTP server: the pages, the JSON API, /metrics and /healthz."""

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8477, ge=0, le=65535, description="0 turns the server off")
    token: SecretStr | None = Field(
        default=None,
        description="needed by every route (bearer header or login cookie)",
        examples=["0123456789abcdef0123456789abcdef"],
    )
    refresh_seconds: float = Field(default=30.0, ge=5, description="pages update this often")

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError(
                "is too short: use at least 16 characters, e.g. the output of "
                "`openssl rand -hex 24`"
            )
        return value

    @model_validator(mode="after")
    def _token_off_loopback(self) -> WebSettings:
        token = self.token.get_secret_value() if self.token is not None else ""
        if self.port and not token and not is_loopback(self.host):
            raise ValueError(
                f"COSMOS_WEB__HOST={self.host} lets other machines reach the web pages and the "
                "API, so cosmos will not start without COSMOS_WEB__TOKEN (at least 16 "
                "characters, e.g. `openssl rand -hex 24`). Or keep COSMOS_WEB__HOST=127.0.0.1."
            )
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COSMOS_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    database_path: Path = Field(default=Path("./data/cosmos.db"), examples=["./data/cosmos.db"])
    farmer_name: str = Field(default_factory=socket.gethostname, min_length=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    logs: LogsSettings = Field(default_factory=LogsSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    wallets: WalletsSettings = Field(default_factory=WalletsSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @property
    def web_port(self) -> int:
        """The web server's port (0: off); COSMOS_ALERTS__HEALTH_PORT still counts if set alone."""
        if self.alerts.health_port is not None and "port" not in self.web.model_fields_set:
            return self.alerts.health_port
        return self.web.port


class SettingsError(ValueError):
    """Configuration a farmer has to fix; ``str()`` is the message to show."""


def load_settings(
    env_file: Path | str | None = ".env", *, required: bool = False, **overrides: Any
) -> Settings:
    """Read and check the settings; raise :class:`SettingsError` with a readable message.

    ``required``: the file was named by the farmer (``--env-file``), so it must exist. A
    ``COSMOS_`` variable that is no setting is warned about (with the closest real name).
    """
    from pydantic_settings import SettingsError as SourceError

    from collectors import settings_check as check

    path = Path(env_file) if env_file is not None else None
    # Not is_file(): /dev/null or a pipe (`--env-file <(…)`) are files to read too.
    if required and path is not None and (not path.exists() or path.is_dir()):
        missing = "is a directory" if path.is_dir() else "does not exist"
        raise SettingsError(
            f"cosmos cannot start: the settings file {path} {missing} (--env-file). "
            "Create it from .env.example, or leave --env-file out to use ./.env and the "
            "environment."
        )
    values = check.read_environment(path, os.environ)
    for warning in check.unknown_variables(Settings, values):
        log.warning("%s", warning)
    problems = check.json_problems(Settings, values)
    if problems:
        raise SettingsError(check.header(problems))
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(check.header(check.describe_errors(Settings, exc))) from None
    except SourceError as exc:  # a value pydantic-settings could not even parse
        raise SettingsError(check.header([f"  - {exc}"])) from None
    if settings.database_path.is_dir():
        leaf = check.find_leaf(Settings, "COSMOS_DATABASE_PATH")
        what = "is a directory; name the database file in it"
        raise SettingsError(
            check.header(
                [check.line("COSMOS_DATABASE_PATH", what, str(settings.database_path), leaf, False)]
            )
        )
    return settings
