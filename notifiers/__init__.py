"""Notifiers: one module per channel, each registered under a short kind.

``notifiers.base.notifier_kinds()`` imports the built-in channels (console, slack, email,
apprise) on first use, so importing the seam alone stays cheap.
"""
