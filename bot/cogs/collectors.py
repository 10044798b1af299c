"""Hosts one collector's loop: started in ``cog_load``, stopped in ``cog_unload``.

The same Collector objects run headless in the webhook and console modes.
"""

from __future__ import annotations

from discord.ext import commands

from collectors.runner import Supervisor
from collectors.service import Collector


class CollectorCog(commands.Cog):
    def __init__(self, collector: Collector, supervisor: Supervisor) -> None:
        self.collector = collector
        self.supervisor = supervisor
        # One cog per collector: each needs its own name.
        self.__cog_name__ = f"collector:{collector.name}"

    @property
    def task_name(self) -> str:
        return f"collector:{self.collector.name}"

    async def cog_load(self) -> None:
        self.supervisor.start(self.task_name, self.collector.run())

    async def cog_unload(self) -> None:
        await self.supervisor.stop(self.task_name)
