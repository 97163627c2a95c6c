"""The local SMTP server lives in the package (the demo uses it); tests import it here."""

from monitor.smtp_server import Received, SMTPServer, free_port, self_signed, server_context

__all__ = ["Received", "SMTPServer", "free_port", "self_signed", "server_context"]
