"""The pure parts of ``bench/scale_day.py``: arguments, parsing of its inputs, the table.

No mirror is started here; the script itself is run by hand (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "scale_day.py"


@pytest.fixture(scope="module")
def scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scale_day", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scale_day"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


TIME_V = """\
\tCommand being timed: "policy-monitor check"
\tUser time (seconds): 40.25
\tSystem time (seconds): 5.50
\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03.5
\tMaximum resident set size (kbytes): 141312
\tExit status: 1
"""


def test_arguments_default_to_sqlite_and_repeat(scale: ModuleType) -> None:
    assert scale.parse_args([]).db == ["sqlite"]
    a = scale.parse_args(["--n", "100000", "--db", "sqlite", "--db", "postgresql://x"])
    assert (a.n, a.db, a.first) == (100000, ["sqlite", "postgresql://x"], "urls")
    with pytest.raises(SystemExit):
        scale.parse_args(["--n", "0"])


def test_feed_lists_a_whole_day(scale: ModuleType) -> None:
    assert scale.feed_limit(100_000, 0.01) == 2000
    assert scale.feed_limit(2000, 0.01) == 100  # never below the mirror's default


def test_time_v_report(scale: ModuleType) -> None:
    got = scale.parse_time_v(TIME_V)
    assert got == {"cpu_s": 45.75, "wall_s": 3723.5, "peak_rss_mb": 138.0, "exit_status": 1}


def test_outcomes_and_score(scale: ModuleType) -> None:
    out = '{"url": "http://h/page/3", "status": "changed"}\nnot json\n{"url": "http://h/page/4"}\n'
    assert scale.outcomes(out) == {"http://h/page/3": "changed"}
    assert scale.page_index("http://h/page/12") == 12
    assert scale.page_index("http://h/feed.atom") is None
    truth = {"substantive": [1, 3], "noise_only": [4]}
    assert scale.score({3, 4, 9}, truth) == {
        "reported": 3,
        "true_edits": 2,
        "edits_reported": 1,
        "noise_pages": 1,
        "noise_reported": 1,
        "unchanged_reported": 1,
    }


def test_day_config_names_the_url_lists_source(scale: ModuleType) -> None:
    cfg = scale.day_config("http://h/feed.atom?limit=2000", "h", [], scale.SOURCE)
    assert cfg == {
        "sources": [
            {
                "name": "adhoc",
                "kind": "generic",
                "allowed_domains": ["h"],
                "feeds": ["http://h/feed.atom?limit=2000"],
            }
        ]
    }
    with_pages = scale.day_config("http://h/f", "h", ["http://h/page/0"], "mirror")
    assert with_pages["sources"][0]["pages"] == [{"url": "http://h/page/0"}]


def test_table_rows_and_growth(scale: ModuleType) -> None:
    step = {"name": "day", "wall_s": 3.9, "cpu_s": 4.2, "peak_rss_mb": 122.0,
            "db_bytes": 3 * 2**20, "mirror": {"requests": 23, "page_200": 20, "page_304": 0,
                                               "feed_requests": 1}}  # fmt: skip
    run = {"db_kind": "sqlite", "n": 2000, "steps": [step], "errors": 0,
           "day": {"db_before": 2**20, "db_after": 3 * 2**20},
           "score": {"edits_reported": 20, "true_edits": 20, "noise_reported": 0,
                     "noise_pages": 20, "unchanged_reported": 0}}  # fmt: skip
    text = scale.table([run])
    assert "| sqlite | day | 23 (20/0, 1) | 3.9 | 4.2 | 122 | 3.0 |" in text
    assert "| sqlite | 2000 | 1.0 | 3.0 | 2.0 | 20 of 20 | 0 of 20 | 0 | 0 |" in text
