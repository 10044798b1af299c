"""What the composition root knows of a collector: a name and a long-running ``run``."""

from __future__ import annotations

from typing import Protocol


class Collector(Protocol):
    """A data source feeding the store. ``run`` returns only when cancelled.

    ``run`` must survive bad iterations on its own (see :mod:`collectors.runner`); the
    headless runner and the Discord cogs start and stop the same objects.
    """

    name: str

    async def run(self) -> None: ...
