"""The inbox's pages: sign-in, the list, the detail page, acknowledgement, live events (the
supervisor's record of who looked: ``supervision``)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from urllib.parse import quote

from aiohttp import web

from tiering.directory.explanations import read_explanation
from tiering.directory.links import read_ticket, token_fingerprint
from tiering.directory.tokens import hash_token
from tiering.i18n import language_of
from tiering.inbox.frame import (
    BROADCASTER,
    CHOSEN_LANGUAGE,
    END_SESSION,
    KEEPALIVE,
    NEW_SESSION,
    POOL,
    SESSION,
    SETTINGS,
    checked_form,
    language,
    local_url,
    me,
    render,
    session_of,
    text,
)
from tiering.inbox.language import N_, content, environment
from tiering.inbox.queries import (
    ACKNOWLEDGE,
    COUNT_NEW,
    KINDS,
    MANAGER_BY_ID,
    MANAGER_SIGNING_IN,
    STATUSES,
    TIERS,
    Filters,
    visible_notifications,
)
from tiering.inbox.retiering import page_of, read_retiering
from tiering.inbox.sessions import Session
from tiering.inbox.supervision import record_view
from tiering.outages import outages

log = logging.getLogger(__name__)

#: the list shows this many; the filters narrow it
LIST_LIMIT = 200
#: the detail page's "Why this tier" shows this many of the customer's tier changes
WHY_CHANGES = 5

SIGNIN_FAILED = N_("Sign-in failed.")
SIGNIN_LINK_FAILED = N_("This sign-in link does not work.")


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/notifications")


async def healthz(request: web.Request) -> web.StreamResponse:
    """200 while the inbox serves; ``degraded`` with the reason while PostgreSQL is away (it
    reconnects by itself: restarting it would not help)."""
    away = outages()
    if away:
        return web.Response(text="".join(f"degraded: {why}\n" for why in away.values()))
    return web.Response(text="ok\n")


async def signin_page(request: web.Request) -> web.StreamResponse:
    session = request.get(SESSION)
    if session is not None and session.manager_id is not None:
        raise web.HTTPSeeOther("/notifications")
    session_of(request)
    return render(request, "signin.html", error=None)


async def signin(request: web.Request) -> web.StreamResponse:
    """Hash the pasted token and find its manager. A wrong token gets the page again with
    one plain message, whatever was wrong."""
    form = await checked_form(request)
    token = form.get("token", "").strip()
    row = None
    if 0 < len(token) <= 200:
        digest = hash_token(token)
        row = await request.app[POOL].fetchrow(MANAGER_SIGNING_IN, digest)
        # the lookup is by hash; compare again in constant time all the same
        if row is not None and not hmac.compare_digest(row["token_hash"], digest):
            row = None
    if row is None:
        log.info("sign-in refused")
        return render(request, "signin.html", status=401, error=text(request, SIGNIN_FAILED))
    # a new session (and CSRF token) at sign-in: nothing from before it carries over
    request[SESSION] = request[NEW_SESSION] = Session.new(row["manager_id"], row["token_hash"])
    log.info("manager %s signed in", row["manager_id"])
    raise web.HTTPSeeOther("/notifications")


async def signin_link(request: web.Request) -> web.StreamResponse:
    """A sign-in link (``tiering.directory.links``): signs its manager in, unless it expired,
    was not made with this inbox's secret, or the manager has had a new token since. A link
    that does not work gets the sign-in page with one plain message, whatever was wrong."""
    secret = request.app[SETTINGS].inbox_secret.get_secret_value()
    ticket = read_ticket(secret, request.query.get("ticket"))
    row = None
    if ticket is not None:
        row = await request.app[POOL].fetchrow(MANAGER_BY_ID, ticket.manager_id)
        if (
            row is None
            or not row["token_hash"]
            or not hmac.compare_digest(
                token_fingerprint(row["token_hash"]), ticket.token_fingerprint
            )
        ):
            row = None
    if row is None:
        log.info("sign-in link refused")
        session_of(request)  # the form on the page needs its CSRF token
        error = text(request, SIGNIN_LINK_FAILED)
        return render(request, "signin.html", status=401, error=error)
    request[SESSION] = request[NEW_SESSION] = Session.new(row["manager_id"], row["token_hash"])
    log.info("manager %s signed in with a link", row["manager_id"])
    raise web.HTTPSeeOther("/notifications")


async def signout(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    request[END_SESSION] = True
    raise web.HTTPSeeOther("/signin")


async def choose_language(request: web.Request) -> web.StreamResponse:
    """The language switch: keep the language picked in this browser (a cookie), then back to
    the page it was picked on. It ranks below a manager's language in the directory."""
    form = await checked_form(request)
    picked = language_of(form.get("language"))
    if picked is not None:
        request[CHOSEN_LANGUAGE] = picked
    raise web.HTTPSeeOther(local_url(form.get("next"), "/notifications"))


async def notification_list(request: web.Request) -> web.StreamResponse:
    who = await me(request)
    filters = Filters.from_query(request.query)
    head_office = request.app[SETTINGS].head_office_branch
    sql, args = visible_notifications(who.manager_id, head_office, filters, limit=LIST_LIMIT + 1)
    pool = request.app[POOL]
    rows = await pool.fetch(sql, *args)
    new_count = await pool.fetchval(COUNT_NEW, who.manager_id, head_office)
    return render(
        request,
        "list.html",
        notifications=rows[:LIST_LIMIT],
        more=len(rows) > LIST_LIMIT,
        limit=LIST_LIMIT,
        new_count=new_count,
        filters=filters,
        next="/notifications" + filters.query_string(),
        tiers=TIERS,
        kinds=KINDS,
        statuses=STATUSES,
    )


async def notification_detail(request: web.Request) -> web.StreamResponse:
    who = await me(request)
    notification_id = request.match_info["notification_id"]
    head_office = request.app[SETTINGS].head_office_branch
    sql, args = visible_notifications(who.manager_id, head_office, notification_id=notification_id)
    row = await request.app[POOL].fetchrow(sql, *args)
    if row is None:  # absent or not this manager's: the same answer (and nothing recorded)
        raise web.HTTPNotFound()
    # the full customer id to the team responsible (all who pass VISIBLE), once recorded
    full_id = await record_view(request, who, notification_id)
    pool = request.app[POOL]
    # a policy change's notice: the re-tiering where this manager looks after its tier
    retiering = await read_retiering(pool, who.manager_id, head_office, row, page_of(request.query))
    # why the customer is in their tier (issue 18): their data too, so only with a view recorded
    why = None
    if full_id and row["customer_id"]:
        s = request.app[SETTINGS]
        why = await read_explanation(pool, row["customer_id"], s.policy, WHY_CHANGES)
    return render(
        request,
        "detail.html",
        n=row,
        next=request.path_qs,
        full_id=full_id,
        why=why,
        retiering=retiering,
    )


async def acknowledge(request: web.Request) -> web.StreamResponse:
    """Acknowledge once: a second time changes nothing and still succeeds."""
    who = await me(request)
    form = await checked_form(request)
    notification_id = request.match_info["notification_id"]
    head_office = request.app[SETTINGS].head_office_branch
    result = await request.app[POOL].fetchrow(
        ACKNOWLEDGE, who.manager_id, head_office, notification_id
    )
    if not result["visible"]:
        raise web.HTTPNotFound()
    if result["acknowledged"]:
        log.info("manager %s acknowledged a notification", who.manager_id)
    detail = "/notifications/" + quote(notification_id, safe="")
    raise web.HTTPSeeOther(local_url(form.get("next"), detail))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: each new notification this manager may see (and that matches the
    page's filters), as the row to put at the top of the list."""
    try:
        who = await me(request)
    except web.HTTPSeeOther:
        raise web.HTTPUnauthorized() from None
    filters = Filters.from_query(request.query)
    csrf = session_of(request).csrf
    next_url = "/notifications" + filters.query_string()
    pool, broadcaster = request.app[POOL], request.app[BROADCASTER]
    head_office = request.app[SETTINGS].head_office_branch
    lang = language(request)  # the connection's, for every row it carries
    row_template = environment(lang).get_template("row.html")
    keepalive = request.app[KEEPALIVE]
    queue = broadcaster.subscribe()  # before the browser hears "open": nothing slips between
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    try:
        await response.prepare(request)
        await response.write(b"retry: 3000\n: connected\n\n")
        while True:
            try:
                notification_id = await asyncio.wait_for(queue.get(), keepalive)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if notification_id is None:
                break
            # visibility again, in SQL, for this very notification and manager
            sql, args = visible_notifications(who.manager_id, head_office, filters, notification_id)
            row = await pool.fetchrow(sql, *args)
            if row is None:
                continue
            html = row_template.render(n=row, csrf=csrf, next=next_url).strip()
            title = content(row, lang).title
            data = json.dumps({"id": row["notification_id"], "title": title, "html": html})
            await response.write(f"event: notification\ndata: {data}\n\n".encode())
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        broadcaster.unsubscribe(queue)
    return response
