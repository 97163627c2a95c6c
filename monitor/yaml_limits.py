"""A bound on what a YAML file may expand to: aliases repeated into a "billion laughs".

PyYAML shares an aliased node instead of copying it, so loading is cheap; walking the result
(validation, the duplicate-key check) visits every repetition. Nine levels of nine aliases
are 387 million values from a 600-byte file. Config and commitment files are checked here
first.
"""

from __future__ import annotations

import yaml

__all__ = ["MAX_NODES", "MAX_VALUES", "too_large"]

MAX_NODES = 100_000  # expanded values past which aliases may not be most of the document
EXPANSION = 4  # ... more than this many times its distinct values: repeated aliases, refused
MAX_VALUES = 10_000_000  # any document: a config of 700,000 pages has about 2.1 million


def too_large(root: yaml.Node | None, limit: int = MAX_NODES) -> str | None:
    """None, or "LINE: why" when the document expands too far.

    A long document of its own values (a config listing 100,000 pages has 300,000) is fine
    up to :data:`MAX_VALUES`; past ``limit``, one that is mostly repetitions of aliased nodes
    is refused.
    """
    stack = [root] if root is not None else []
    seen = 0
    distinct: set[int] = set()
    while stack:
        node = stack.pop()
        seen += 1
        distinct.add(id(node))
        if seen > limit and seen > EXPANSION * len(distinct):
            return (
                f"{node.start_mark.line + 1}: the document expands to more than {limit:,} "
                "values (YAML aliases repeated): refused"
            )
        if seen > MAX_VALUES:
            return f"{node.start_mark.line + 1}: more than {MAX_VALUES:,} values: refused"
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return None
