"""The local Slack-API server lives in the package (the demo uses it); tests import it here."""

from monitor.slack_server import Received, SlackServer

__all__ = ["Received", "SlackServer"]
