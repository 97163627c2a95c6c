"""Public pages: the commitments index, a commitment's page and its Atom feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from monitor import queries
from monitor.commitment_spec import STATUSES
from monitor.following import FREQUENCIES
from monitor.queries import CommitmentRow
from monitor.web.chart import step_chart
from monitor.web.render import render, web

MAX_QUERY = 200  # characters of a search box worth reading


@dataclass(frozen=True)
class Filters:
    """What the index is filtered by (all optional)."""

    q: str = ""
    area: str = ""
    body: str = ""
    status: str = ""

    @classmethod
    def from_request(cls, request: Request) -> Filters:
        p = request.query_params
        return cls(
            " ".join(p.get("q", "")[:MAX_QUERY].split()),
            p.get("area", "")[:100],
            p.get("body", "")[:200],
            p.get("status", "") if p.get("status", "") in STATUSES else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.q or self.area or self.body or self.status)


def _haystack(row: CommitmentRow) -> str:
    return " ".join([row.id, row.title, row.pledge, *row.keywords, *row.tags, *row.bodies]).lower()


def select_rows(rows: Iterable[CommitmentRow], f: Filters) -> list[CommitmentRow]:
    """Rows matching every filter; the search needs every word somewhere in the commitment."""
    words = f.q.lower().split()
    out = []
    for row in rows:
        if f.status and row.status != f.status:
            continue
        if f.area and f.area not in row.tags:
            continue
        if f.body and f.body not in row.bodies:
            continue
        if words and not all(w in _haystack(row) for w in words):
            continue
        out.append(row)
    return out


async def home(request: Request) -> Response:
    rows = await run_in_threadpool(queries.commitments, web(request).db)
    f = Filters.from_request(request)
    shown = select_rows(rows, f)
    return render(
        request,
        "index.html",
        {
            "rows": shown,
            "total": len(rows),
            "filters": f,
            "areas": sorted({t for r in rows for t in r.tags}),
            "bodies": sorted({b for r in rows for b in r.bodies}),
            "statuses": STATUSES,
        },
    )


async def commitment(request: Request) -> Response:
    cid = request.path_params["commitment_id"]
    detail = await run_in_threadpool(queries.commitment, web(request).db, cid)
    if detail is None:
        raise HTTPException(404, f"There is no commitment {cid!r}.")
    charts = {
        f.id: step_chart(f.kind, f.label or f.key, f.points, f"chart-{f.id}")
        for f in detail.figures
    }
    return render(
        request,
        "commitment.html",
        {
            "c": detail,
            "charts": charts,
            "frequencies": FREQUENCIES,
            "base_url": web(request).settings.base_url.rstrip("/"),
        },
    )


async def commitment_feed(request: Request) -> Response:
    cid = request.path_params["commitment_id"]
    detail = await run_in_threadpool(queries.commitment, web(request).db, cid)
    if detail is None:
        raise HTTPException(404, f"There is no commitment {cid!r}.")
    response = render(
        request,
        "feed.atom",
        {"c": detail, "base_url": web(request).settings.base_url.rstrip("/")},
    )
    response.headers["content-type"] = "application/atom+xml; charset=utf-8"
    return response


routes: list[BaseRoute] = [
    Route("/", home, name="home"),
    Route("/commitments/{commitment_id:key}", commitment, name="commitment"),
    Route("/commitments/{commitment_id:key}/feed.atom", commitment_feed, name="commitment_feed"),
]
