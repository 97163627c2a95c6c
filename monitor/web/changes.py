"""The change page: before and after word by word, why it fired, and what to cite."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from monitor import queries
from monitor.queries import ChangeDetail
from monitor.web.format import kind_label, moment
from monitor.web.render import render, web
from monitor.web.worddiff import passages, whole_text


def citation(c: ChangeDetail, link: str) -> str:
    """A line a briefing can quote: what, where, when, and the snapshot it was read from."""
    title = c.page_title or c.page_url
    return (
        f'Policy monitor, change {c.id} to "{title}" ({c.page_url}), detected '
        f"{moment(c.detected_at)}; snapshot SHA-256 {c.after.content_hash}. {link}"
    )


def new_notes(c: ChangeDetail) -> list[dict[str, Any]]:
    """The publisher's change notes that the later snapshot has and the earlier did not."""
    seen = {(n.get("at"), n.get("note")) for n in (c.before.change_notes if c.before else [])}
    return [n for n in c.after.change_notes if (n.get("at"), n.get("note")) not in seen]


def reasons(c: ChangeDetail) -> list[str]:
    """Why this change fired, in words: the classifier's reasons and every commitment match."""
    out: list[str] = []
    for e in c.events:
        for reason in e.payload.get("reasons") or []:
            if isinstance(reason, str) and reason not in out:
                out.append(reason)
    for m in c.matched:
        score = f" (score {m.score:.2f})" if m.score is not None else ""
        out.append(f"{kind_label(m.kind)} for “{m.title}”: {m.reason}{score}")
    return out


async def change(request: Request) -> Response:
    change_id = request.path_params["change_id"]
    detail = await run_in_threadpool(queries.change, web(request).db, change_id)
    if detail is None:
        raise HTTPException(404, f"There is no change {change_id}.")
    link = f"{web(request).settings.base_url.rstrip('/')}{request.url.path}"
    whole = None
    if detail.before is not None:
        whole = await run_in_threadpool(whole_text, detail.before.text, detail.after.text)
    return render(
        request,
        "change.html",
        {
            "c": detail,
            "passages": passages(detail.diff),
            "whole": whole,
            "reasons": reasons(detail),
            "notes": new_notes(detail),
            "permalink": link,
            "citation": citation(detail, link),
        },
    )


PAGE_SIZE = 25


async def recent(request: Request) -> Response:
    """Meaningful changes, newest first, a page at a time."""
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() else None
    rows = await run_in_threadpool(
        lambda: queries.changes(web(request).db, limit=PAGE_SIZE + 1, before_id=before)
    )
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render(request, "changes.html", {"rows": rows[:PAGE_SIZE], "older": older})


routes: list[BaseRoute] = [
    Route("/changes", recent, name="changes"),
    Route("/changes/{change_id:id}", change, name="change"),
]
