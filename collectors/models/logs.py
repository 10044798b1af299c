"""Models at the seam between log sources and the log pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["farmer", "node", "controller", "cache", "plotter"]
#: The farming cluster's own components (a cluster farmer is a ``farmer`` with a cluster name).
CLUSTER_ROLES: tuple[Role, ...] = ("controller", "cache", "plotter")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Which log a batch of lines came from.

    ``key`` is stable across restarts (``docker:<host>:<container name>``, ``file:<host>:<path>``)
    and keys the stored resume position; ``farmer`` names the farmer row the lines belong to.
    """

    key: str
    role: Role
    host: str = "local"
    farmer: str | None = None
    cluster: str | None = None  # the farming cluster it belongs to, if any


@dataclass(frozen=True, slots=True)
class LogLine:
    """One complete line as the source read it: decoded, newline removed, ANSI not yet stripped.

    ``position`` is the opaque resume token *after* this line (a file's identity and byte offset,
    a container id and timestamp); storing it with the line's effects makes resuming exact.
    ``received_us`` is the time the transport stamped (Docker's timestamp), if any.
    """

    text: str
    position: str
    received_us: int | None = None


class SourceLine(Protocol):
    """What a log source hands over per line: a :class:`LogLine`, or a source's own slotted
    line that works its position and time out only when asked (a container's log)."""

    @property
    def text(self) -> str: ...

    @property
    def position(self) -> str: ...

    @property
    def received_us(self) -> int | None: ...
