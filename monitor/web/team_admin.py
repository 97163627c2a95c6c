"""Team view pages for watched pages (allowlist enforced) and routing rules kept in the database."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from monitor import route_rules, watched_pages
from monitor.event import EVENT_KINDS
from monitor.web.render import web
from monitor.web.team import flash, form, page, team_page


def _targets(request: Request) -> list[str]:
    """The route targets the config can deliver, offered in the rule form."""
    notify = web(request).config.notify
    out = ["console"]
    if notify.slack is not None:
        out += [f"slack:{name}" for name in sorted(notify.slack.channels)]
    if notify.email is not None and notify.email.recipients:
        out.append("email")
    out += [f"apprise:{name}" for name in sorted(notify.apprise)]
    return out


@team_page
async def pages_list(request: Request, user: str) -> Response:
    ctx = web(request)
    rows = await run_in_threadpool(watched_pages.list_pages, ctx.db, ctx.config)
    sources = [s for s in ctx.config.sources if s.allowed_domains]
    return page(request, "pages.html", pages=rows, sources=sources)


@team_page
async def pages_add(request: Request, user: str) -> Response:
    ctx, data = web(request), await form(request)
    try:
        row = await run_in_threadpool(
            watched_pages.add_page, ctx.db, ctx.config, data.get("url", ""),
            source=data.get("source") or None, title=data.get("title", ""),
        )  # fmt: skip
    except watched_pages.PageError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Watching {row.url}; the next check of {row.source} crawls it.")
    return RedirectResponse("/team/pages", status_code=303)


@team_page
async def pages_remove(request: Request, user: str) -> Response:
    ctx = web(request)
    page_id = int(request.path_params["page_id"])
    try:
        url = await run_in_threadpool(watched_pages.remove_page, ctx.db, ctx.config, page_id)
    except watched_pages.PageError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"No longer watching {url}.")
    return RedirectResponse("/team/pages", status_code=303)


@team_page
async def rules_list(request: Request, user: str) -> Response:
    ctx = web(request)
    rules = await run_in_threadpool(route_rules.list_rules, ctx.db)
    return page(
        request, "rules.html", rules=rules, config_routes=ctx.config.notify.routes,
        targets=_targets(request), kinds=EVENT_KINDS,
        sources=[s.name for s in ctx.config.sources],
    )  # fmt: skip


def _words(value: str) -> list[str]:
    return [w for w in value.replace(",", " ").split() if w]


@team_page
async def rules_add(request: Request, user: str) -> Response:
    ctx = web(request)
    raw = await request.form()
    data = await form(request)
    notify = [v for v in raw.getlist("notify") if isinstance(v, str)]
    events = [v for v in raw.getlist("events") if isinstance(v, str)]
    try:
        sig = float(data.get("min_significance") or 0)
        rule_id = await run_in_threadpool(
            route_rules.add_rule, ctx.db, ctx.config, notify=notify, events=events,
            sources=[v for v in raw.getlist("sources") if isinstance(v, str)],
            commitments=_words(data.get("commitments", "")),
            tags=_words(data.get("tags", "")), min_significance=sig,
            note=data.get("note", ""), by=user,
        )  # fmt: skip
    except ValueError:
        flash(request, "The minimum significance is a number from 0 to 1.", "error")
    except route_rules.RuleError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Rule {rule_id} added; it applies from the next delivery run.")
    return RedirectResponse("/team/rules", status_code=303)


@team_page
async def rules_remove(request: Request, user: str) -> Response:
    rule_id = int(request.path_params["rule_id"])
    found = await run_in_threadpool(route_rules.remove_rule, web(request).db, rule_id)
    flash(request, f"Rule {rule_id} removed." if found else f"No rule {rule_id}.")
    return RedirectResponse("/team/rules", status_code=303)


routes: list[BaseRoute] = [
    Route("/team/pages", pages_list, name="team_pages"),
    Route("/team/pages", pages_add, methods=["POST"], name="team_pages_add"),
    Route("/team/pages/{page_id:id}/remove", pages_remove, methods=["POST"],
          name="team_pages_remove"),
    Route("/team/rules", rules_list, name="team_rules"),
    Route("/team/rules", rules_add, methods=["POST"], name="team_rules_add"),
    Route("/team/rules/{rule_id:id}/remove", rules_remove, methods=["POST"],
          name="team_rules_remove"),
]  # fmt: skip
