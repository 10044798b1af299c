"""Read models for the bot's pages, embeds and the web, one module per area.

Reads only. Tables of other areas (metrics, wallets) are used when their migrations are present,
so a page shows what is known and says nothing of what is not collected. A Discord embed and a
web page call the same readers, so they cannot disagree.
"""

from __future__ import annotations

from collectors.store.database import Database
from collectors.store.views._base import DAY_US, HOUR_US, WEEK_US
from collectors.store.views.alerts import AlertReads
from collectors.store.views.cluster import ClusterReads
from collectors.store.views.dashboard import DashboardReads
from collectors.store.views.exporter import ExportReads
from collectors.store.views.farmers import FarmerReads
from collectors.store.views.farms import FarmReads
from collectors.store.views.nodes import NodeReads
from collectors.store.views.rewards import PERIODS, RewardReads, period_us
from collectors.store.views.wallets import WalletReads

__all__ = ["DAY_US", "HOUR_US", "PERIODS", "WEEK_US", "ViewStore", "period_us"]


class ViewStore:
    """The area readers over one database (built once by the composition root)."""

    def __init__(self, db: Database) -> None:
        self.farms = FarmReads(db)
        self.farmers = FarmerReads(db, self.farms)
        self.nodes = NodeReads(db)
        self.wallets = WalletReads(db)
        self.rewards = RewardReads(db)
        self.alerts = AlertReads(db)
        self.cluster = ClusterReads(db)
        self.dashboard = DashboardReads(
            self.farms,
            self.farmers,
            self.nodes,
            self.wallets,
            alerts=self.alerts,
            cluster=self.cluster,
        )
        self.exporter = ExportReads(db)
