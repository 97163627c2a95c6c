"""Does the normaliser still give byte-identical documents? And what does it cost?

Usage::

    .venv/bin/python bench/same_text.py --write /tmp/before.json   # on the old code
    .venv/bin/python bench/same_text.py --check /tmp/before.json   # on the new code

The documents: the shared harness's mirror pages (``../shared/bench/mirror.py``, N = 1,000,
seed 42, revision 0, plus revision 1 of the 200 pages it edits), read as gov.uk pages, and
every HTML file of the shared corpus read through every HTML site profile (``html``,
``govuk-html``, ``nhs-england-html``, ``nice-html``). For each, a SHA-256 of the whole
normalised document (blocks, metadata, ignored parts, format, source) is kept. ``--check``
names every document whose digest differs and exits 1 if any does. The CPU seconds spent in
``normalise`` are printed per group (process time, not wall time).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from monitor.normalise import normalise

SHARED = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
HTML_KINDS = ("html", "govuk-html", "nhs-england-html", "nice-html")


def mirror_pages(n: int, seed: int) -> Iterator[tuple[str, bytes]]:
    sys.path.insert(0, str(SHARED / "bench"))
    from mirror import Corpus  # the harness's own page generator

    corpus = Corpus(n, seed=seed)
    for i, state in enumerate(corpus.states(0)):
        yield f"mirror/r0/{i}", corpus.render(i, state)
    for i in sorted(corpus.edits(1)):
        yield f"mirror/r1/{i}", corpus.render(i, corpus.states(1)[i])


def corpus_html() -> list[Path]:
    return sorted((SHARED / "corpus").rglob("*.html"))


def digest(body: bytes, url: str, kind: str | None) -> tuple[str, float]:
    started = time.process_time()
    doc = normalise(body, url=url, kind=kind)
    spent = time.process_time() - started
    text = json.dumps(dataclasses.asdict(doc), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), spent


def run(n: int, seed: int) -> tuple[dict[str, str], dict[str, float]]:
    digests: dict[str, str] = {}
    cpu = {"mirror": 0.0, "corpus": 0.0}
    for name, body in mirror_pages(n, seed):
        digests[name], spent = digest(body, f"https://www.gov.uk/page/{name}", None)
        cpu["mirror"] += spent
    for path in corpus_html():
        body = path.read_bytes()
        rel = path.relative_to(SHARED / "corpus")
        for kind in HTML_KINDS:
            digests[f"corpus/{kind}/{rel}"], spent = digest(body, "", kind)
            cpu["corpus"] += spent
    return digests, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="save the digests here")
    parser.add_argument("--check", type=Path, help="compare with digests saved by --write")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    digests, cpu = run(args.n, args.seed)
    mirror = sum(1 for k in digests if k.startswith("mirror/"))
    print(
        f"{len(digests)} documents ({mirror} mirror pages, {len(digests) - mirror} corpus "
        f"readings); normalise CPU s: mirror {cpu['mirror']:.2f} "
        f"({1000 * cpu['mirror'] / max(mirror, 1):.2f} ms a page), corpus {cpu['corpus']:.2f}"
    )
    if args.write:
        args.write.write_text(json.dumps(digests, indent=0, sort_keys=True), encoding="utf-8")
    if args.check:
        saved = json.loads(args.check.read_text(encoding="utf-8"))
        differ = sorted(k for k in saved.keys() | digests.keys() if saved.get(k) != digests.get(k))
        for name in differ[:50]:
            print(f"differs: {name}")
        print(f"{len(differ)} of {len(saved)} documents differ")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
