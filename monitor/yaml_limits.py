"""A bound on what a YAML file may expand to: aliases repeated into a "billion laughs".

PyYAML shares an aliased node instead of copying it, so loading is cheap; walking the result
(validation, the duplicate-key check) visits every repetition. Nine levels of nine aliases
are 387 million values from a 600-byte file. Config and commitment files are checked here
first.
"""

from __future__ import annotations

import yaml

__all__ = ["MAX_NODES", "too_large"]

MAX_NODES = 100_000  # values after alias expansion; the shipped 38-commitment seed has ~2,000


def too_large(root: yaml.Node | None, limit: int = MAX_NODES) -> str | None:
    """None, or "LINE: why" when the document expands to more than ``limit`` values."""
    stack = [root] if root is not None else []
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            return (
                f"{node.start_mark.line + 1}: the document expands to more than {limit:,} "
                "values (YAML aliases repeated): refused"
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return None
