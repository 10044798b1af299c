"""Alert bookkeeping that is not per alert: when this database was first watched.

Rules about silence and stalls count from that time at the earliest, so history read in a
backfill (old log lines) is not mistaken for a problem happening now.
"""

SQL = """
CREATE TABLE alert_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
)
"""
