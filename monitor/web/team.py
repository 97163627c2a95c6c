"""The team view (``/team``): sign-in, the triage queue, status confirmation with evidence.

Every page needs a signed-in team user: a password checked by :mod:`monitor.accounts`
(wrong ones throttled there), or the SSO header of a trusted reverse proxy. The watched
pages and routing rules pages are in :mod:`monitor.web.team_admin`. Handlers call the same
services as ``policy-monitor team`` and ``triage``; database work runs in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from monitor import accounts, triage
from monitor.commitment_spec import STATUSES
from monitor.db import Database
from monitor.models import Commitment, Event, Evidence, StatusChange
from monitor.tracking import TrackingError, confirm_status
from monitor.web.render import render, web
from monitor.web.security import SESSION_KEY

USER_KEY = "team_user"
Handler = Callable[[Request], Awaitable[Response]]
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}  # the team's own pages
SNOOZES = {"1d": "a day", "3d": "three days", "1w": "a week", "2w": "two weeks"}


def sso_policy(request: Request) -> accounts.SsoPolicy:
    """``team_sso_header`` / ``team_sso_proxies`` from the settings' ``extra``, else
    ``$POLICY_MONITOR_SSO_HEADER`` / ``$POLICY_MONITOR_SSO_PROXIES`` (comma-separated)."""
    extra = web(request).settings.extra
    header = extra.get("team_sso_header") or os.environ.get("POLICY_MONITOR_SSO_HEADER", "")
    proxies = extra.get("team_sso_proxies") or os.environ.get("POLICY_MONITOR_SSO_PROXIES", "")
    if isinstance(proxies, str):
        listed = proxies.split(",")
    elif isinstance(proxies, list | tuple | set | frozenset):
        listed = [str(p) for p in proxies]
    else:
        listed = []
    return accounts.SsoPolicy.of(str(header), listed)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def current_user(request: Request) -> str | None:
    """The signed-in team user, checked against the database on every request."""
    db = web(request).db
    signed = request.session.get(USER_KEY)
    if isinstance(signed, str) and await run_in_threadpool(accounts.is_user, db, signed):
        return signed
    policy = sso_policy(request)
    if policy.enabled:
        headers = dict(request.headers)
        return await run_in_threadpool(policy.user, db, headers, client_address(request))
    return None


def team_page(handler: Callable[[Request, str], Awaitable[Response]]) -> Handler:
    """Require a team user: GETs go to the sign-in page, anything else is refused."""

    async def wrapped(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            if request.method in ("GET", "HEAD"):
                target = quote(request.url.path, safe="/")
                return RedirectResponse(f"/team/login?next={target}", status_code=303)
            raise HTTPException(403, "Sign in to the team view first.")
        request.state.team_user = user
        return await handler(request, user)

    return wrapped


def flash(request: Request, text: str, kind: str = "success") -> None:
    # kept in the session cookie until the next page: short, so the cookie stays small
    short = text if len(text) <= 300 else text[:299] + "…"
    request.session["flash"] = {"text": short, "kind": kind}


def page(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    notice = request.session.pop("flash", None)
    user = getattr(request.state, "team_user", None)
    return render(
        request,
        f"team/{template}",
        {"user": user, "notice": notice, **values},
        status_code=status_code,
        headers=PRIVATE,
    )


def back(request: Request, default: str = "/team") -> RedirectResponse:
    """Redirect to a ``next`` path inside the team view (never elsewhere), else ``default``."""
    target = request.query_params.get("next") or default
    if not target.startswith("/team") or target.startswith("//") or "\\" in target:
        target = default
    return RedirectResponse(target, status_code=303)


async def form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


async def login_form(request: Request) -> Response:
    if await current_user(request):
        return back(request)
    return page(request, "login.html", next=request.query_params.get("next", ""))


async def login(request: Request) -> Response:
    data = await form(request)
    email, password = data.get("email", ""), data.get("password", "")
    db = web(request).db
    try:
        user = await run_in_threadpool(
            accounts.authenticate, db, email, password, client=client_address(request)
        )
    except accounts.Throttled as exc:
        return page(request, "login.html", 429, error=str(exc), email=email)
    except accounts.AccountError as exc:
        return page(request, "login.html", 401, error=str(exc), email=email)
    request.session.clear()  # a new session (and CSRF token) for the signed-in user
    request.session[USER_KEY] = user
    return back(request)


async def logout(request: Request) -> Response:
    request.session.pop(USER_KEY, None)
    request.session.pop(SESSION_KEY, None)
    return RedirectResponse("/team/login", status_code=303)


@team_page
async def queue(request: Request, user: str) -> Response:
    q = request.query_params
    state = q.get("state", "open")
    if state not in triage.STATES:
        raise HTTPException(400, "Unknown triage state.")
    items = await run_in_threadpool(
        triage.queue,
        web(request).db,
        states=(state,),
        assigned_to=user if q.get("mine") else None,
        include_snoozed=bool(q.get("snoozed")),
    )
    users = [u.email for u in await run_in_threadpool(accounts.list_users, web(request).db)]
    return page(
        request, "queue.html", items=items, state=state, states=triage.STATES, users=users,
        snoozes=SNOOZES, mine=bool(q.get("mine")), snoozed=bool(q.get("snoozed")),
    )  # fmt: skip


def _event_id(request: Request) -> int:
    value = request.path_params["event_id"]
    assert isinstance(value, int)
    return value


async def _act(request: Request, user: str, data: dict[str, str]) -> str:
    db, eid = web(request).db, _event_id(request)
    action = request.path_params["action"]
    if action == "ack":
        await run_in_threadpool(triage.acknowledge, db, eid, user, data.get("note", ""))
        return f"Event {eid} acknowledged."
    if action == "dismiss":
        await run_in_threadpool(triage.dismiss, db, eid, user, data.get("reason", ""))
        return f"Event {eid} marked not relevant."
    if action == "assign":
        to = data.get("to") or None
        await run_in_threadpool(triage.assign, db, eid, to)
        return f"Event {eid} assigned to {to}." if to else f"Event {eid} unassigned."
    if action == "snooze":
        until = triage.parse_until(data.get("until", "") or "?")
        await run_in_threadpool(triage.snooze, db, eid, until)
        return f"Event {eid} snoozed until {until:%d %b %Y %H:%M} UTC."
    if action == "reopen":
        await run_in_threadpool(triage.reopen, db, eid)
        return f"Event {eid} back in the queue."
    raise HTTPException(404)


@team_page
async def act(request: Request, user: str) -> Response:
    data = await form(request)
    try:
        flash(request, await _act(request, user, data))
    except triage.TriageError as exc:
        flash(request, str(exc), "error")
    return back(request)


def _evidence(db: Database, event_id: int) -> dict[str, Any]:
    """The evidence rows of an event, the status changes that cited it, the current status."""
    with db.session(readonly=True) as s:
        event = s.get(Event, event_id)
        cid = (event.payload or {}).get("commitment_id") if event else None
        commitment = s.get(Commitment, cid) if cid else None
        return {
            "evidence": list(s.scalars(select(Evidence).where(Evidence.event_id == event_id))),
            "confirmed": list(
                s.scalars(select(StatusChange).where(StatusChange.event_id == event_id))
            ),
            "status_now": commitment.status if commitment else None,
        }


@team_page
async def event_page(request: Request, user: str) -> Response:
    db, eid = web(request).db, _event_id(request)
    try:
        item = await run_in_threadpool(triage.item, db, eid)
    except triage.TriageError as exc:
        raise HTTPException(404, str(exc)) from exc
    payload = await run_in_threadpool(_payload, db, eid)
    found = await run_in_threadpool(_evidence, db, eid)
    href = item.url if item.url.startswith(("https://", "http://")) else None
    return page(
        request, "event.html", item=item, payload=payload, href=href, **found,
        statuses=STATUSES, snoozes=SNOOZES,
    )  # fmt: skip


def _payload(db: Database, event_id: int) -> dict[str, Any]:
    with db.session(readonly=True) as s:
        event = s.get(Event, event_id)
        return dict(event.payload or {}) if event else {}


def _confirm(db: Database, event_id: int, status: str, user: str, note: str) -> str:
    with db.session() as s:
        event = s.get(Event, event_id)
        commitment = (event.payload or {}).get("commitment_id") if event else None
        if not commitment:
            raise TrackingError(f"event {event_id} is not about a commitment")
        confirm_status(s, str(commitment), status, event_id=event_id, by=user, note=note)
    triage.acknowledge(db, event_id, user, f"status confirmed: {status}")
    return str(commitment)


@team_page
async def confirm(request: Request, user: str) -> Response:
    data = await form(request)
    eid = _event_id(request)
    try:
        commitment = await run_in_threadpool(
            _confirm, web(request).db, eid, data.get("status", ""), user, data.get("note", "")
        )
    except TrackingError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(f"/team/events/{eid}", status_code=303)
    flash(request, f"{commitment} is now {data.get('status')}; the evidence is recorded.")
    return RedirectResponse(f"/team/events/{eid}", status_code=303)


def _routes() -> list[BaseRoute]:
    from monitor.web import team_admin

    return [
        Route("/team/login", login_form, name="team_login_form"),
        Route("/team/login", login, methods=["POST"], name="team_login"),
        Route("/team/logout", logout, methods=["POST"], name="team_logout"),
        Route("/team", queue, name="team_queue"),
        Route("/team/events/{event_id:id}", event_page, name="team_event"),
        Route("/team/events/{event_id:id}/confirm", confirm, methods=["POST"],
              name="team_confirm"),
        Route("/team/events/{event_id:id}/{action}", act, methods=["POST"], name="team_act"),
        *team_admin.routes,
    ]  # fmt: skip


routes: list[BaseRoute] = _routes()
