"""Outbox follow-ups: an item can refer to an earlier one (edit its message, or correct it).

``refers_to`` is the dedupe key of the original item; ``edit`` 1 means "edit the original's
message to show the original's current payload", 0 a new message sent only if the original was
delivered. ``withdrawn_us`` marks an item whose fact was undone (a chain reorg) before it went
out, or a follow-up whose original never went out: neither is sent.
"""

SQL = """
ALTER TABLE outbox ADD COLUMN refers_to TEXT;
ALTER TABLE outbox ADD COLUMN edit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN withdrawn_us INTEGER
"""
