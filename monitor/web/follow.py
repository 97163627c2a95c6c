"""Follow this policy: sign up, confirm, manage and unsubscribe, with no login.

Sign-up writes through the same services as ``policy-monitor subscriptions add``
(:func:`monitor.subscription.add`, then the confirmation from
:func:`notifiers.email.render_confirmation`). Links in mail change nothing on GET (mail
scanners open links): each shows one button. The unsubscribe URL also takes RFC 8058's
one-click POST from mail clients, which carry no cookie; the signed token is its proof, so
that path is exempt from the CSRF check.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor import queries, subscription
from monitor.following import FREQUENCIES, describe_follow
from monitor.subscribers import SubscriberLinks
from monitor.subscription import BadToken, RateLimited, SubscriptionError, Tokens
from monitor.web.render import WebContext, render, web
from notifiers.base import DeliveryError
from notifiers.email import EmailNotifier, render_confirmation

UNSUBSCRIBE_PATH = "/subscriptions/unsubscribe"
csrf_exempt = (UNSUBSCRIBE_PATH,)
WINDOW_S = 3600.0


class ClientLimiter:
    """Sign-ups per client address in a sliding hour (the store limits per email address)."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._seen: dict[str, deque[float]] = {}

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - WINDOW_S:
            seen.popleft()
        if len(seen) >= self.per_hour:
            return False
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle clients rather than grow without end
            for key in [k for k, v in self._seen.items() if not v]:
                del self._seen[key]
        return True


def _tokens(ctx: WebContext) -> Tokens:
    return Tokens(ctx.settings.secret)


def _links(ctx: WebContext) -> SubscriberLinks:
    return SubscriberLinks(ctx.settings.base_url, _tokens(ctx))


def _limiter(ctx: WebContext) -> ClientLimiter:
    found = ctx.state.get("signup_limiter")
    if not isinstance(found, ClientLimiter):
        found = ctx.state["signup_limiter"] = ClientLimiter(ctx.settings.signups_per_client_hour)
    return found


def _mailer(ctx: WebContext) -> EmailNotifier | None:
    cfg = ctx.config.notify.email
    if cfg is None:
        return None
    env = os.environ if ctx.settings.env is None else ctx.settings.env
    return EmailNotifier.from_config(cfg, env)


def _sign_up(ctx: WebContext, email: str, commitment_id: str, frequency: str) -> str:
    """Store the pending subscription and mail its confirmation; returns the answer to show."""
    mailer = _mailer(ctx)
    if mailer is None:
        raise HTTPException(503, "Sign-ups are closed: no mail server is configured.")
    tokens = _tokens(ctx)
    signup = subscription.add(ctx.db, email, "commitment", commitment_id, frequency, tokens)
    msg = render_confirmation(
        recipient=signup.email,
        confirm_url=_links(ctx).confirm_url(signup.confirm_token),
        following=describe_follow("commitment", commitment_id),
        frequency=frequency,
        sender=mailer.sender,
        list_id=mailer.list_id,
    )
    mailer.send_message(msg)
    return signup.answer


async def follow(request: Request) -> Response:
    ctx = web(request)
    cid = request.path_params["commitment_id"]
    title = await run_in_threadpool(queries.commitment_title, ctx.db, cid)
    if title is None:
        raise HTTPException(404, f"There is no commitment {cid!r}.")
    form = await request.form()
    email = str(form.get("email", "")).strip()[:320]
    frequency = str(form.get("frequency", "immediate"))
    values: dict[str, Any] = {"cid": cid, "title": title, "email": email, "frequency": frequency}
    if frequency not in FREQUENCIES:
        frequency = values["frequency"] = "immediate"
    try:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in email):  # NUL was a 503 on PostgreSQL
            raise SubscriptionError("control characters in an email address")
        subscription.normalise_email(email)
    except SubscriptionError:
        values["error"] = "Enter an email address, like name@example.org"
        return render(
            request, "follow.html", {**values, "frequencies": FREQUENCIES}, status_code=400
        )
    client = request.client.host if request.client else "unknown"
    if not _limiter(ctx).allow(client):
        raise HTTPException(429, "Too many sign-ups from here in the last hour. Try again later.")
    try:
        answer = await run_in_threadpool(_sign_up, ctx, email, cid, frequency)
    except RateLimited as exc:
        raise HTTPException(429, f"{str(exc).capitalize()}.") from exc
    except SubscriptionError as exc:
        values["error"] = str(exc).capitalize()
        return render(
            request, "follow.html", {**values, "frequencies": FREQUENCIES}, status_code=400
        )
    except (DeliveryError, ValueError) as exc:
        raise HTTPException(
            503, "We could not send the confirmation email just now. Please try again later."
        ) from exc
    return render(request, "follow_sent.html", {**values, "answer": answer})


def _follows(kind: str, value: str, titles: dict[str, str]) -> str:
    if kind == "commitment":
        return titles.get(value, value)
    return describe_follow(kind, value)


async def confirm(request: Request) -> Response:
    ctx = web(request)
    token = request.query_params.get("token", "")
    try:
        sid, frequency = _tokens(ctx).read_confirm(token)
    except BadToken as exc:
        raise HTTPException(400, f"{str(exc).capitalize()}.") from exc
    view = await run_in_threadpool(queries.subscription_view, ctx.db, sid)
    if view is None:
        raise HTTPException(400, "This subscription no longer exists. Sign up again.")
    title = describe_follow(view.follow_kind, view.value)
    if view.follow_kind == "commitment":
        found = await run_in_threadpool(queries.commitment_title, ctx.db, view.value)
        title = found or view.value
    done = False
    if request.method == "POST":
        try:
            await run_in_threadpool(subscription.confirm, ctx.db, token, _tokens(ctx))
        except BadToken as exc:
            raise HTTPException(400, f"{str(exc).capitalize()}.") from exc
        done = True
    manage = _links(ctx).manage_url(view.subscriber_id)
    return _private(render(
        request,
        "confirm.html",
        {"view": view, "title": title, "frequency": frequency, "token": token, "done": done,
         "manage_url": manage},
    ))  # fmt: skip


async def manage(request: Request) -> Response:
    ctx = web(request)
    token = request.query_params.get("token", "")
    try:
        subscriber_id = _tokens(ctx).read_manage(token)
    except BadToken as exc:
        raise HTTPException(400, f"{str(exc).capitalize()}.") from exc
    email = await run_in_threadpool(queries.subscriber_email, ctx.db, subscriber_id)
    if email is None:
        raise HTTPException(400, "There is nothing stored for this link any more.")
    mine = await run_in_threadpool(subscription.listing, ctx.db, email)
    stopped = 0
    if request.method == "POST":
        form = await request.form()
        wanted = {str(v) for v in form.getlist("stop")}
        ids = [
            f.id
            for f in mine
            if f.status != "unsubscribed" and (str(f.id) in wanted or "all" in wanted)
        ]
        if ids:
            one_click = _tokens(ctx).unsubscribe_token(ids)
            stopped = await run_in_threadpool(
                subscription.unsubscribe, ctx.db, one_click, _tokens(ctx)
            )
        mine = await run_in_threadpool(subscription.listing, ctx.db, email)
    titles = await run_in_threadpool(
        _titles, ctx, [f.value for f in mine if f.follow_kind == "commitment"]
    )
    rows = [(f, _follows(f.follow_kind, f.value, titles)) for f in mine]
    context = {"email": email, "rows": rows, "token": token, "stopped": stopped}
    return _private(render(request, "manage.html", context))


def _titles(ctx: WebContext, ids: list[str]) -> dict[str, str]:
    out = {}
    for cid in ids:
        title = queries.commitment_title(ctx.db, cid)
        if title:
            out[cid] = title
    return out


async def unsubscribe(request: Request) -> Response:
    ctx = web(request)
    token = request.query_params.get("token", "")
    try:
        ids = _tokens(ctx).read_unsubscribe(token)
    except BadToken as exc:
        raise HTTPException(400, f"{str(exc).capitalize()}.") from exc
    if request.method == "GET":
        context = {"token": token, "count": len(ids), "done": False}
        return _private(render(request, "unsubscribe.html", context))
    form = await request.form()
    await run_in_threadpool(subscription.unsubscribe, ctx.db, token, _tokens(ctx))
    if form.get("List-Unsubscribe") == "One-Click":  # RFC 8058: a mail client, not a person
        return PlainTextResponse("Unsubscribed.")
    context = {"token": token, "count": len(ids), "done": True}
    return _private(render(request, "unsubscribe.html", context))


PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _private(response: Response) -> Response:
    """Pages reached by a personal link (they show an address) are never cached or indexed."""
    response.headers.update(PRIVATE)
    return response


routes: list[BaseRoute] = [
    Route("/commitments/{commitment_id:key}/follow", follow, methods=["POST"], name="follow"),
    Route("/subscriptions/confirm", confirm, methods=["GET", "POST"], name="confirm"),
    Route("/subscriptions/manage", manage, methods=["GET", "POST"], name="manage"),
    Route(UNSUBSCRIBE_PATH, unsubscribe, methods=["GET", "POST"], name="unsubscribe"),
]
