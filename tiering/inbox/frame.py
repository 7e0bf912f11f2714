"""What every request of the inbox passes through: the session cookie, the security headers,
errors rendered as pages, the access log, the signed-in manager, CSRF-checked forms, and the
page's language (see :mod:`tiering.inbox.language`).

Security in brief: the session is a signed HttpOnly, SameSite=Strict cookie; every POST carries
the session's CSRF token; every notification is read or acknowledged through ``VISIBLE`` (see
``queries``), and one a manager may not see answers 404 exactly like one that does not exist;
pages allow only their own origin's resources (a per-response nonce admits the one inline
script); the access log names route patterns, never paths, which hold notification ids. Only
the detail page shows a full customer id, to the team responsible, and only once the view is
recorded (``supervision``); every other page, row and log line masks it.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from tiering.i18n import Language, language_of
from tiering.inbox.language import (
    HTML_LANG,
    LANGUAGE_COOKIE,
    LANGUAGE_COOKIE_MAX_AGE,
    N_,
    environment,
    page_language,
    translate,
)
from tiering.inbox.live import Broadcaster
from tiering.inbox.queries import MANAGER_BY_ID
from tiering.inbox.sessions import COOKIE, Session, SessionSigner, fingerprint
from tiering.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Me:
    """The signed-in manager, as the directory has them now."""

    manager_id: str
    name: str
    team: str
    branch_id: str
    #: the language the directory says they read, if it says
    language: Language | None
    #: the directory's role says they read the record of who looked (``/views``)
    supervisor: bool = False


SETTINGS = web.AppKey("settings", Settings)
SIGNER = web.AppKey("signer", SessionSigner)
POOL = web.AppKey("pool", asyncpg.Pool)
BROADCASTER = web.AppKey("broadcaster", Broadcaster)
KEEPALIVE = web.AppKey("keepalive", float)
NONCE = web.RequestKey("nonce", str)
SESSION = web.RequestKey[Session | None]("session")
NEW_SESSION = web.RequestKey("new_session", Session)
END_SESSION = web.RequestKey("end_session", bool)
ME = web.RequestKey("me", Me)
#: a language picked with the page's switch, to keep in this browser
CHOSEN_LANGUAGE = web.RequestKey("chosen_language", str)

#: an error page's heading, by status
ERROR_TITLES = {
    400: N_("Bad request"),
    401: N_("Not signed in"),
    403: N_("Not allowed"),
    405: N_("This address does not take that request"),
    413: N_("Too much sent at once"),
    500: N_("Server error"),
}
SOMETHING_WRONG = N_("Something went wrong")
FORM_EXPIRED = N_("The form has expired. Go back, reload the page and retry.")
#: the explanations an error page may show (any other text an exception carries is not ours)
ERROR_TEXTS = frozenset({FORM_EXPIRED})


# --- pages in the reader's language --------------------------------------------------------


def language(request: web.Request) -> Language:
    """The language of this request's page: the signed-in manager's (once :func:`me` has
    found them), the switch's, the browser's, the deployment's."""
    who = request.get(ME)
    return page_language(
        who.language if who else None,
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("Accept-Language"),
        request.app[SETTINGS].language,
    )


def text(request: web.Request, message: str) -> str:
    """A message of the Python code (marked with ``N_``) in the request's language."""
    return translate(language(request), message)


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION)
    who = request.get(ME)
    lang = language(request)
    context.setdefault("me", who)
    context.setdefault("csrf", session.csrf if session else "")
    # the switch, where it can change something: not for a manager the directory speaks for
    context.setdefault("switch", bool(context["csrf"]) and not (who and who.language))
    # where the switch returns to; from an error page, the inbox (the page then does not echo
    # the address asked for: a hidden notification's 404 stays the same as a missing one's)
    context.setdefault("here", request.path_qs if status < 400 else "/notifications")
    html = environment(lang).get_template(name).render(nonce=request[NONCE], **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    response.headers["Content-Language"] = HTML_LANG[lang]
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


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
        await _recognise(request)
        response = render(request, "not_found.html", status=404)
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect: as a plain response, which can carry the cookie
            response = web.Response(
                status=exc.status, headers={"Location": exc.headers.get("Location", "/")}
            )
        else:
            await _recognise(request)
            # only a message of our own, in the reader's language (not aiohttp's English)
            title = text(request, ERROR_TITLES.get(exc.status, SOMETHING_WRONG))
            why = text(request, exc.text) if exc.text in ERROR_TEXTS else ""
            response = render(request, "error.html", status=exc.status, title=title, text=why)
    except Exception as exc:
        # the message may quote data (a customer, an id): the type only, the trace at DEBUG
        log.error(
            "%s %s failed: %s",
            request.method,
            _route(request),
            type(exc).__name__,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        title = text(request, ERROR_TITLES[500])
        response = render(request, "error.html", status=500, title=title, text="")
    if not response.prepared:  # (the event stream is, and changes no session)
        _write_cookies(request, response)
    return response


async def _recognise(request: web.Request) -> None:
    """Before an error page: the signed-in manager, if the handler failed before finding them,
    so that the page is in their language and names them (best effort)."""
    session = request.get(SESSION)
    if ME in request or session is None or session.manager_id is None:
        return
    with contextlib.suppress(Exception):  # (a redirect to sign in, PostgreSQL away)
        await me(request)


def _write_cookies(request: web.Request, response: web.StreamResponse) -> None:
    chosen = request.get(CHOSEN_LANGUAGE)
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )
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
    request[ME] = who = Me(
        row["manager_id"],
        row["name"],
        row["team"],
        row["branch_id"],
        language_of(row["language"]),
        row["role"] == "supervisor",
    )
    return who


async def checked_form(request: web.Request) -> dict[str, str]:
    """The POSTed form, if it carries this session's CSRF token; 403 otherwise."""
    data = await request.post()
    session = request.get(SESSION)
    sent = data.get("csrf")
    if session is None or not session.csrf_ok(sent if isinstance(sent, str) else None):
        raise web.HTTPForbidden(text=FORM_EXPIRED)
    return {k: v for k, v in data.items() if isinstance(v, str)}


def local_url(url: str | None, default: str) -> str:
    """``url`` if it is a path on this site (never another host: no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc else default
