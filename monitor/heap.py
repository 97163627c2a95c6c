"""The garbage collector's settings: few collections while starting, fewer while running.

Starting a command imports a few hundred modules (Scrapy, Twisted, SQLAlchemy, our models),
and every object they make survives. CPython's default thresholds collect after every 700
new objects, so a start runs hundreds of collections that free nothing (a one-page check
spent about 0.4 s of its CPU in them). :func:`starting` raises the first threshold for the
start; :func:`settled`, called once the imports are done and before a long run (a crawl, the
daemon, the web app), moves everything alive into the permanent generation, where no later
collection looks at it, and sets thresholds suited to a run that makes many short-lived
objects. Reference cycles are still collected, only less often.
"""

from __future__ import annotations

import gc

STARTING = (100_000, 50, 100)  # a start makes long-lived objects: hardly worth collecting
RUNNING = (10_000, 10, 10)  # a crawl makes short-lived ones; cycles among them still go


def starting() -> None:
    gc.set_threshold(*STARTING)


def settled() -> None:
    """Freeze what the start made (before a fork: the children share it untouched too).

    Callable again after later imports. The little garbage a start leaves is frozen with
    the rest rather than paying a full collection to find it.
    """
    gc.freeze()
    gc.set_threshold(*RUNNING)
