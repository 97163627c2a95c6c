"""Attachments: the rules live in ``monitor.attachments``; re-exported for older imports."""

from monitor.attachments import ATTACHMENT_HOSTS, attachment_urls, is_attachment

__all__ = ["ATTACHMENT_HOSTS", "attachment_urls", "is_attachment"]
