"""Alerts: pure rules over stored state, a stored state machine per alert, the daily summary."""
