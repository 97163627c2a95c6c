"""policy-monitor: know when funding, deadlines or guidance behind a commitment change."""

from monitor.change import Analysis, Change, Ignored
from monitor.document import Block, Document

__all__ = ["Analysis", "Block", "Change", "Document", "Ignored", "__version__"]
__version__ = "0.1.0"
