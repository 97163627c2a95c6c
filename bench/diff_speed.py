"""Time normalise-free diffing of a 1 MB document pair (the issue asks: well under a second).

.venv/bin/python bench/diff_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from monitor.diff import diff_documents
from monitor.document import Block, Document


def pair() -> tuple[Document, Document]:
    lines = [
        f"Paragraph {i}: the service will receive funding in year {i % 7}." for i in range(17000)
    ]
    changed = list(lines)
    for i in range(0, len(changed), 500):
        changed[i] = changed[i].replace("funding", "extra funding")
    return Document([Block(x) for x in lines]), Document([Block(x) for x in changed])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    old, new = pair()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        hunks = diff_documents(old, new)
        times.append(time.perf_counter() - t0)
    size = len(old.text.encode()) / 1e6
    print(
        f"{size:.2f} MB pair, {len(hunks)} hunks: median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()
