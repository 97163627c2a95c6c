"""The OpenAPI 3.1 description of the JSON API (``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.commitment_spec import STATUSES


def _t(kind: str, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"] if nullable else kind, **extra}


def _obj(props: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": [k for k in props if k not in optional],
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


STR, INT, NUM = _t("string"), _t("integer"), _t("number")
STRS = _list(STR)
DATE, DATE_N = _t("string", format="date"), _t("string", True, format="date")
TIME_N = _t("string", True, format="date-time")
STR_N, INT_N, NUM_N = _t("string", True), _t("integer", True), _t("number", True)
ANY_OBJ = {"type": "object"}

SCHEMAS: dict[str, Any] = {
    "CommitmentRow": _obj({
        "id": STR, "title": STR, "status": {"type": "string", "enum": list(STATUSES)},
        "bodies": STRS, "tags": STRS, "last_change": DATE_N, "pledge": STR,
        "keywords": STRS, "url": STR,
    }),
    "FigurePoint": _obj({"at": TIME_N, "value": ANY_OBJ, "change_id": INT_N, "quote": STR}),
    "Figure": _obj({
        "id": INT, "key": STR, "kind": {"type": "string", "enum": ["funding", "deadline", "target"]},
        "label": STR, "current": ANY_OBJ, "unit": STR_N, "source_url": STR_N,
        "points": _list(_ref("FigurePoint")),
    }),
    "Evidence": _obj({
        "id": INT, "date": DATE, "kind": STR, "change_id": INT_N, "event_id": INT_N,
        "url": STR_N, "quote": STR, "reason": STR, "score": NUM_N, "suggested_status": STR_N,
        "summary": STR,
    }),
    "StatusChange": _obj({
        "at": TIME_N, "from_status": STR, "to_status": STR, "by": STR, "note": STR,
        "evidence_id": INT_N,
    }),
    "SourcePage": _obj({
        "url": STR, "note": STR, "title": STR_N, "last_checked_at": TIME_N, "last_status": INT_N,
    }),
    "Commitment": _obj({
        "row": _ref("CommitmentRow"), "source_title": STR, "source_url": STR,
        "source_date": DATE_N, "notes": STR, "updated_at": TIME_N,
        "figures": _list(_ref("Figure")), "evidence": _list(_ref("Evidence")),
        "statuses": _list(_ref("StatusChange")), "pages": _list(_ref("SourcePage")),
    }),
    "ChangeRow": _obj({
        "id": INT, "page_url": STR, "page_title": STR_N, "detected_at": TIME_N,
        "significance": NUM, "summary": STR, "kinds": STRS,
    }),
    "Snapshot": _obj({
        "id": INT, "fetched_at": TIME_N, "http_status": INT, "content_hash": STR,
        "text_hash": STR, "text": STR, "url": STR_N, "change_notes": _list(ANY_OBJ),
    }, optional=("text",)),
    "Event": _obj({
        "id": INT, "kind": STR, "created_at": TIME_N, "page_id": INT_N, "change_id": INT_N,
        "status": STR, "payload": ANY_OBJ,
    }),
    "Match": _obj({"commitment_id": STR, "title": STR, "kind": STR, "reason": STR, "score": NUM_N}),
    "Change": _obj({
        "id": INT, "page_id": INT, "page_url": STR, "page_title": STR_N, "source": STR_N,
        "detected_at": TIME_N, "meaningful": _t("boolean"), "significance": NUM, "summary": STR,
        "diff": STR, "changes": _list(ANY_OBJ), "ignored": _list(ANY_OBJ),
        "before": {"oneOf": [_ref("Snapshot"), {"type": "null"}]}, "after": _ref("Snapshot"),
        "events": _list(_ref("Event")), "matched": _list(_ref("Match")), "url": STR,
    }),
    "Page": _obj({
        "id": INT, "url": STR, "title": STR_N, "source": STR_N, "active": _t("boolean"),
        "last_checked_at": TIME_N, "last_status": INT_N, "removed_at": TIME_N,
    }),
    "Error": _obj({"error": STR, "detail": STR}),
}  # fmt: skip


def _param(name: str, where: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "name": name, "in": where, "required": where == "path", "schema": schema,
        "description": text,
    }  # fmt: skip


def _ok(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": schema}}}


_ERR = {"content": {"application/json": {"schema": _ref("Error")}}}
_NOT_FOUND = {"404": {"description": "No such thing", **_ERR}}
_BAD = {"400": {"description": "A parameter is not valid", **_ERR}}
MAX_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL's int4 holds no more
_ID = _t("integer", minimum=0, maximum=MAX_ID)
_LIMIT = _param("limit", "query", _t("integer", minimum=1, maximum=500), "How many at most")


def _get(op: str, summary: str, ok: dict[str, Any], params: list[Any], **errors: Any) -> Any:
    return {
        "get": {"operationId": op, "summary": summary, "parameters": params,
                "responses": {"200": ok, **errors}},
    }  # fmt: skip


PATHS: dict[str, Any] = {
    "/api/commitments": _get(
        "listCommitments", "Commitments, most recently changed first",
        _ok(_obj({"commitments": _list(_ref("CommitmentRow")), "total": INT}), "Commitments"),
        [_param("q", "query", STR, "Words that must all appear"),
         _param("area", "query", STR, "A tag"),
         _param("body", "query", STR, "A responsible body"),
         _param("status", "query", {"type": "string", "enum": list(STATUSES)}, "A status")],
    ),
    "/api/commitments/{commitment_id}": _get(
        "getCommitment", "One commitment: pledge, status, key figures, evidence, sources",
        _ok(_ref("Commitment"), "The commitment"),
        [_param("commitment_id", "path", STR, "The commitment's id")], **_NOT_FOUND,
    ),
    "/api/changes": _get(
        "listChanges", "Meaningful changes, newest first",
        _ok(_obj({"changes": _list(_ref("ChangeRow")), "next_before_id": INT_N}), "Changes"),
        [_LIMIT, _param("before_id", "query", _ID, "Only older than this"),
         _param("all", "query", {"type": "string", "enum": ["1", "true"]}, "Noise too")],
        **_BAD,
    ),
    "/api/changes/{change_id}": _get(
        "getChange", "One change: typed changes, diff, snapshots, events, matches",
        _ok(_ref("Change"), "The change"),
        [_param("change_id", "path", _ID, "The change's id"),
         _param("text", "query", {"type": "string", "enum": ["1", "true"]}, "Whole texts too")],
        **_NOT_FOUND,
    ),
    "/api/pages": _get(
        "listPages", "Watched pages", _ok(_obj({"pages": _list(_ref("Page"))}), "Pages"), [],
    ),
    "/api/events": _get(
        "listEvents", "Events in the order written; read on with after_id",
        _ok(_obj({"events": _list(_ref("Event")), "next_after_id": INT}), "Events"),
        [_LIMIT, _param("after_id", "query", _ID, "Only after this id")],
        **_BAD,
    ),
    "/api/openapi.json": _get(
        "getOpenAPI", "This description", _ok(ANY_OBJ, "The OpenAPI document"), [],
    ),
}  # fmt: skip


def spec(base_url: str) -> dict[str, Any]:
    """The OpenAPI document, with the server the app is served at."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Policy monitor API",
            "version": __version__,
            "description": "Read-only: health-policy commitments, the page changes matched "
            "to them, the pages watched and the events written.",
        },
        "servers": [{"url": base_url.rstrip("/")}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
