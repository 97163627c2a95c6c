"""Notifiers deliver queued events (console today; Slack and email later)."""
