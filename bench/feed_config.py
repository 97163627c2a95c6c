"""Write a config that watches the benchmark mirror's pages and polls its Atom feed.

For the feed-driven runs of ``bench/compare_peers.py`` (and by hand)::

    python bench/feed_config.py URLS_FILE FEED_URL > config.yml
    policy-monitor check --config config.yml --feed-driven --output jsonl

JSON is YAML, so no YAML library is needed here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit


def config(urls: list[str], feed: str) -> dict[str, object]:
    host = urlsplit(feed).hostname or "127.0.0.1"
    return {
        "sources": [
            {
                "name": "mirror",
                "kind": "generic",
                "allowed_domains": [host],
                "feeds": [feed],
                "pages": [{"url": u} for u in urls],
            }
        ]
    }


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    urls = [ln.strip() for ln in Path(sys.argv[1]).read_text().splitlines() if ln.strip()]
    json.dump(config(urls, sys.argv[2]), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
