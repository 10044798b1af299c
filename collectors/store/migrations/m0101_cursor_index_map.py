"""A source's farm index map and its rows waiting for a farm, stored with its cursor.

The map was read back from ``farm_index_map`` for the run in progress only. After a farmer's
shutdown line the run is over but its map still names the farms of the lines that follow
(``Farm exited successfully farm_index=N``); a restart there lost it. A row logged for a farm
index before the farm's ID line (``Farm size has changed``) waited for it in memory only; a
batch or a restart between the two lost its farm. Both are now stored as they are (JSON);
NULL in rows from before, which are read as they were.
"""

SQL = """
ALTER TABLE log_sources ADD COLUMN index_map TEXT;
ALTER TABLE log_sources ADD COLUMN pending_farms TEXT;
"""
