"""Per-wallet settings the alert rules read: the low-balance threshold and the operator run.

``low_balance`` is a TEXT decimal integer (smallest unit) or NULL (no low-balance alert).
"""

SQL = """
ALTER TABLE wallets ADD COLUMN low_balance TEXT;
ALTER TABLE wallets ADD COLUMN operator_id INTEGER
"""
