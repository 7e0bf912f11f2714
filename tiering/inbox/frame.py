"""What every request of the inbox passes through: the session cookie, the security headers,
errors rendered as pages, the access log, the signed-in manager, CSRF-checked forms.

Security in brief: the session is a signed HttpOnly, SameSite=Strict cookie; every POST carries
the session's CSRF token; every notification is read or acknowledged through ``VISIBLE`` (see
``queries``), and one a manager may not see answers 404 exactly like one that does not exist;
pages allow only their own origin's resources (a per-response nonce admits the one inline
script); the access log names route patterns, never paths, which hold notification ids.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from tiering.core.bank_time import CHINA_STANDARD_TIME
from tiering.inbox.live import Broadcaster
from tiering.inbox.queries import MANAGER_BY_ID
from tiering.inbox.sessions import COOKIE, Session, SessionSigner, fingerprint
from tiering.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
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


def local_url(url: str | None, default: str) -> str:
    """``url`` if it is a path on this site (never another host: no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc else default
