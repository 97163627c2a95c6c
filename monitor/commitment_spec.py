"""The registry format (pure). Placeholder re-export until the specs move out of the store."""

from monitor.commitment import CommitmentSpec, FigureSpec

__all__ = ["CommitmentSpec", "FigureSpec"]
