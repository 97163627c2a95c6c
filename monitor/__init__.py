"""policy-monitor: know when funding, deadlines or guidance behind a commitment change."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.change import Analysis, Change, Ignored
    from monitor.document import Block, Document

__all__ = ["Analysis", "Block", "Change", "Document", "Ignored", "__version__"]
__version__ = "0.1.0"

# Imported on first use, so the command line starts without loading the change analysis.
_LAZY = {
    "Analysis": "monitor.change",
    "Change": "monitor.change",
    "Ignored": "monitor.change",
    "Block": "monitor.document",
    "Document": "monitor.document",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'monitor' has no attribute {name!r}")
