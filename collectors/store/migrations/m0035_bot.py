"""Bot state: the dashboard messages, the command-sync hash, and what each delivery produced."""

SQL = """
CREATE TABLE bot_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_us  INTEGER NOT NULL
);

-- One row per delivered outbox item: where it went and the Discord message id it became.
CREATE TABLE outbox_delivery (
    outbox_id     INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    target        TEXT NOT NULL,
    message_id    TEXT,
    delivered_us  INTEGER NOT NULL
)
"""
