"""The inbox web application: sign-in, the list, the detail page, acknowledgement, live events.

Security in brief: the session is a signed HttpOnly, SameSite=Strict cookie; every POST carries
the session's CSRF token; every notification is read or acknowledged through ``VISIBLE`` (see
``queries``), and one a manager may not see answers 404 exactly like one that does not exist;
pages allow only their own origin's resources (a per-response nonce admits the one inline
script); the access log names route patterns, never paths, which hold notification ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from sinks.directory import hash_token
from sinks.inbox.live import Broadcaster
from sinks.inbox.queries import (
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
from sinks.inbox.sessions import COOKIE, Session, SessionSigner, fingerprint
from streams.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: a comment on every open event stream this often keeps proxies from closing it
KEEPALIVE_SECONDS = 15.0
#: the list shows this many; the filters narrow it
LIST_LIMIT = 200
#: times are shown in the bank's calendar, China Standard Time
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InboxSetupError(RuntimeError):
    """The inbox cannot start (e.g. the schema is not migrated)."""


@dataclass(frozen=True, slots=True)
class Me:
    """The signed-in manager, as the directory has them now."""

    manager_id: str
    name: str
    team: str
    branch_id: str


SETTINGS = web.AppKey("settings", Settings)
SIGNER = web.AppKey("signer", SessionSigner)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
POOL = web.AppKey("pool", asyncpg.Pool)
BROADCASTER = web.AppKey("broadcaster", Broadcaster)
KEEPALIVE = web.AppKey("keepalive", float)
NONCE = web.RequestKey("nonce", str)
SESSION = web.RequestKey[Session | None]("session")
NEW_SESSION = web.RequestKey("new_session", Session)
END_SESSION = web.RequestKey("end_session", bool)
ME = web.RequestKey("me", Me)


# --- templates ------------------------------------------------------------------------------


def _human(value: str) -> str:
    """``LARGE_DEPOSIT`` → ``Large deposit``."""
    return value.replace("_", " ").capitalize()


def _cst(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def _masked(customer_id: str) -> str:
    """Only the last four characters (§9: mask what the page does not need)."""
    return "••••" + customer_id[-4:] if len(customer_id) > 4 else "••••"


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(human=_human, cst=_cst, masked=_masked, urlid=lambda v: quote(v, safe=""))
    return env


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION)
    context.setdefault("me", request.get(ME))
    context.setdefault("csrf", session.csrf if session else "")
    html = request.app[TEMPLATES].get_template(name).render(nonce=request[NONCE], **context)
    return web.Response(text=html, status=status, content_type="text/html")


# --- sessions, headers, errors --------------------------------------------------------------


def session_of(request: web.Request) -> Session:
    """The visitor's session; a new anonymous one (sent with the response) if none yet."""
    session = request.get(SESSION)
    if session is None:
        session = request[SESSION] = request[NEW_SESSION] = Session.new()
    return session


@web.middleware
async def frame(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the session cookie and write it back when it changed; render 4xx as pages;
    never log what a request carried."""
    request[NONCE] = secrets.token_urlsafe(16)
    request[SESSION] = request.app[SIGNER].verify(request.cookies.get(COOKIE))
    response: web.StreamResponse
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = render(request, "not_found.html", status=404)
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect: as a plain response, which can carry the cookie
            response = web.Response(
                status=exc.status, headers={"Location": exc.headers.get("Location", "/")}
            )
        else:
            # aiohttp's default text is "<status>: <reason>"; show only a message of our own
            text = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else ""
            response = render(
                request, "error.html", status=exc.status, reason=exc.reason, text=text
            )
    except Exception as exc:
        # the message may quote data (a customer, an id): the type only, the trace at DEBUG
        log.error(
            "%s %s failed: %s",
            request.method,
            _route(request),
            type(exc).__name__,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        response = render(request, "error.html", status=500, reason="Server error", text="")
    if not response.prepared:  # (the event stream is, and changes no session)
        _write_session(request, response)
    return response


def _write_session(request: web.Request, response: web.StreamResponse) -> None:
    new = request.get(NEW_SESSION)
    if request.get(END_SESSION):
        response.del_cookie(COOKIE, path="/")
    elif new is not None:
        response.set_cookie(
            COOKIE,
            request.app[SIGNER].sign(new),
            max_age=request.app[SIGNER].max_age,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Security headers on every response: pages, errors, static files, the event stream."""
    nonce = request.get(NONCE, "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; object-src 'none';"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"


class AccessLogger(AbstractAccessLogger):
    """Method, route pattern, status and time: paths and query strings hold notification ids
    (which may be derived from a customer's) and are left out."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = _route(request) if isinstance(request, web.Request) else "-"
        self.logger.info("%s %s %s %.3fs", request.method, route, response.status, time)


async def me(request: web.Request) -> Me:
    """The signed-in manager; a redirect to the sign-in page if there is none, or if their
    token was replaced or removed since they signed in (that ends the session)."""
    session = request.get(SESSION)
    if session is None or session.manager_id is None:
        raise web.HTTPSeeOther("/signin")
    row = await request.app[POOL].fetchrow(MANAGER_BY_ID, session.manager_id)
    if (
        row is None
        or not row["token_hash"]
        or not hmac.compare_digest(fingerprint(row["token_hash"]), session.token_fingerprint)
    ):
        request[END_SESSION] = True
        raise web.HTTPSeeOther("/signin")
    request[ME] = who = Me(row["manager_id"], row["name"], row["team"], row["branch_id"])
    return who


async def checked_form(request: web.Request) -> dict[str, str]:
    """The POSTed form, if it carries this session's CSRF token; 403 otherwise."""
    data = await request.post()
    session = request.get(SESSION)
    sent = data.get("csrf")
    if session is None or not session.csrf_ok(sent if isinstance(sent, str) else None):
        raise web.HTTPForbidden(text="The form has expired. Go back, reload the page and retry.")
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _local(url: str | None, default: str) -> str:
    """``url`` if it is a path on this site (never another host: no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc else default


# --- handlers -------------------------------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/notifications")


async def healthz(request: web.Request) -> web.StreamResponse:
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
        return render(request, "signin.html", status=401, error="Sign-in failed.")
    # a new session (and CSRF token) at sign-in: nothing from before it carries over
    request[SESSION] = request[NEW_SESSION] = Session.new(row["manager_id"], row["token_hash"])
    log.info("manager %s signed in", row["manager_id"])
    raise web.HTTPSeeOther("/notifications")


async def signout(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    request[END_SESSION] = True
    raise web.HTTPSeeOther("/signin")


async def notification_list(request: web.Request) -> web.StreamResponse:
    who = await me(request)
    filters = Filters.from_query(request.query)
    sql, args = visible_notifications(who.manager_id, filters, limit=LIST_LIMIT + 1)
    pool = request.app[POOL]
    rows = await pool.fetch(sql, *args)
    new_count = await pool.fetchval(COUNT_NEW, who.manager_id)
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
    sql, args = visible_notifications(who.manager_id, notification_id=notification_id)
    row = await request.app[POOL].fetchrow(sql, *args)
    if row is None:  # absent or not this manager's: the same answer
        raise web.HTTPNotFound()
    return render(request, "detail.html", n=row, next=request.path_qs)


async def acknowledge(request: web.Request) -> web.StreamResponse:
    """Acknowledge once: a second time changes nothing and still succeeds."""
    who = await me(request)
    form = await checked_form(request)
    notification_id = request.match_info["notification_id"]
    result = await request.app[POOL].fetchrow(ACKNOWLEDGE, who.manager_id, notification_id)
    if not result["visible"]:
        raise web.HTTPNotFound()
    if result["acknowledged"]:
        log.info("manager %s acknowledged a notification", who.manager_id)
    detail = "/notifications/" + quote(notification_id, safe="")
    raise web.HTTPSeeOther(_local(form.get("next"), detail))


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
    row_template = request.app[TEMPLATES].get_template("row.html")
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
            sql, args = visible_notifications(who.manager_id, filters, notification_id)
            row = await pool.fetchrow(sql, *args)
            if row is None:
                continue
            html = row_template.render(n=row, csrf=csrf, next=next_url).strip()
            data = json.dumps({"id": row["notification_id"], "title": row["title"], "html": html})
            await response.write(f"event: notification\ndata: {data}\n\n".encode())
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        broadcaster.unsubscribe(queue)
    return response


# --- the application ------------------------------------------------------------------------


def create_app(settings: Settings, keepalive: float = KEEPALIVE_SECONDS) -> web.Application:
    """The inbox application; its database pool and listener open when it starts."""
    app = web.Application(middlewares=[frame])
    app[SETTINGS] = settings
    app[SIGNER] = SessionSigner.from_secret(settings.inbox_secret.get_secret_value())
    app[TEMPLATES] = templates()
    app[KEEPALIVE] = keepalive
    app.cleanup_ctx.append(_database)
    app.on_shutdown.append(_end_streams)
    app.on_response_prepare.append(_on_prepare)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", signout)
    app.router.add_get("/notifications", notification_list)
    app.router.add_get("/notifications/{notification_id}", notification_detail)
    app.router.add_post("/notifications/{notification_id}/ack", acknowledge)
    app.router.add_get("/events", events)
    app.router.add_static("/static", HERE / "static")
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    dsn = settings.database_url.get_secret_value()
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=10,
        server_settings={"search_path": settings.db_schema, "application_name": "tiering-inbox"},
    )
    try:
        migrated = await pool.fetchval(
            "SELECT to_regclass('notifications') IS NOT NULL"
            " AND to_regclass('managers') IS NOT NULL"
        )
        if not migrated:
            raise InboxSetupError(
                f"schema {settings.db_schema} has no managers' tables: run `tiering db migrate`"
            )
        broadcaster = Broadcaster(dsn, settings.db_schema)
        await broadcaster.start()
    except BaseException:
        await pool.close()
        raise
    app[POOL], app[BROADCASTER] = pool, broadcaster
    try:
        yield
    finally:
        await broadcaster.stop()
        await pool.close()


async def _end_streams(app: web.Application) -> None:
    if BROADCASTER in app:
        app[BROADCASTER].end_streams()


async def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the inbox on ``host:port`` (default: the settings') until cancelled."""
    host = host or settings.inbox_host
    port = port or settings.inbox_port
    runner = web.AppRunner(create_app(settings), access_log_class=AccessLogger)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("managers' inbox on http://%s:%d/ (schema %s)", host, port, settings.db_schema)
        if host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("serving plain HTTP beyond loopback: put a TLS-terminating proxy in front")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """``serve`` for the command line: SIGTERM stops it as cleanly as Ctrl-C does."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await serve(settings, host, port)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
