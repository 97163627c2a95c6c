"""The read-only JSON API: commitments, changes, watched pages and events.

Its OpenAPI 3.1 description is :data:`monitor.web.openapi.SPEC`, served at
``/api/openapi.json``; a test checks the two agree route by route and validates answers.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from monitor import queries
from monitor.web.openapi import MAX_ID, spec
from monitor.web.pages import Filters, select_rows
from monitor.web.render import web

MAX_LIMIT = 500


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


class JSON(Response):
    """A JSON answer that knows dates and dataclasses."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if dataclasses.is_dataclass(content) and not isinstance(content, type):
            content = dataclasses.asdict(content)
        return json.dumps(content, default=_default, ensure_ascii=False).encode()


def _int(request: Request, name: str, default: int, lo: int = 0, hi: int = MAX_ID) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise HTTPException(400, f"{name} must be a whole number") from exc
    if not lo <= value <= hi:
        raise HTTPException(400, f"{name} must be between {lo} and {hi}")
    return value


def _row(r: queries.CommitmentRow, request: Request) -> dict[str, Any]:
    out = dataclasses.asdict(r)
    out["url"] = str(request.url_for("commitment", commitment_id=r.id).path)
    return out


async def list_commitments(request: Request) -> Response:
    rows = await run_in_threadpool(queries.commitments, web(request).db)
    shown = select_rows(rows, Filters.from_request(request))
    return JSON({"commitments": [_row(r, request) for r in shown], "total": len(rows)})


async def get_commitment(request: Request) -> Response:
    cid = request.path_params["commitment_id"]
    detail = await run_in_threadpool(queries.commitment, web(request).db, cid)
    if detail is None:
        raise HTTPException(404, f"no commitment {cid!r}")
    out = dataclasses.asdict(detail)
    out["row"] = _row(detail.row, request)
    return JSON(out)


async def list_changes(request: Request) -> Response:
    limit = _int(request, "limit", 50, 1, MAX_LIMIT)
    before = _int(request, "before_id", 0, 0) or None
    everything = request.query_params.get("all") in ("1", "true")
    rows = await run_in_threadpool(
        lambda: queries.changes(
            web(request).db, limit=limit, before_id=before, meaningful=not everything
        )
    )
    return JSON({"changes": rows, "next_before_id": rows[-1].id if len(rows) == limit else None})


async def get_change(request: Request) -> Response:
    change_id = request.path_params["change_id"]
    detail = await run_in_threadpool(queries.change, web(request).db, change_id)
    if detail is None:
        raise HTTPException(404, f"no change {change_id}")
    out = dataclasses.asdict(detail)
    if request.query_params.get("text") not in ("1", "true"):  # whole texts only on request
        for side in ("before", "after"):
            if out[side] is not None:
                out[side].pop("text")
    out["url"] = str(request.url_for("change", change_id=detail.id).path)
    return JSON(out)


async def list_pages(request: Request) -> Response:
    rows = await run_in_threadpool(queries.watched_pages, web(request).db)
    return JSON({"pages": rows})


async def list_events(request: Request) -> Response:
    after = _int(request, "after_id", 0, 0)
    limit = _int(request, "limit", 100, 1, MAX_LIMIT)
    rows = await run_in_threadpool(
        lambda: queries.events(web(request).db, after_id=after, limit=limit)
    )
    return JSON({"events": rows, "next_after_id": rows[-1].id if rows else after})


async def openapi(request: Request) -> Response:
    return JSON(spec(web(request).settings.base_url))


routes: list[BaseRoute] = [
    Route("/api/commitments", list_commitments, name="api_commitments"),
    Route("/api/commitments/{commitment_id:key}", get_commitment, name="api_commitment"),
    Route("/api/changes", list_changes, name="api_changes"),
    Route("/api/changes/{change_id:id}", get_change, name="api_change"),
    Route("/api/pages", list_pages, name="api_pages"),
    Route("/api/events", list_events, name="api_events"),
    Route("/api/openapi.json", openapi, name="api_openapi"),
]
