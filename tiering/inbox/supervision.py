"""Who looked (issue 17, §9: show customer data to the team responsible, and supervise its use).

Everyone who passes ``VISIBLE`` is responsible for the notification (see ``queries``), so its
detail page shows them the full customer id; lists, live rows, page titles, channels and logs
keep masking it. Each detail page shown is recorded first (``notification_views``: manager,
time, the page's language). A view that cannot be recorded (PostgreSQL failing or slower than
``RECORD_TIMEOUT``) is not refused, but it does not show the full id either: the page masks it
and says why (fail closed). A manager whose directory role is ``supervisor`` reads the record
on ``/views``: the views of their branch's notifications, at head office all of them; for
anyone else that address is a 404.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from tiering.inbox.frame import POOL, SETTINGS, Me, language, me, render
from tiering.inbox.queries import RECORD_VIEW, ViewFilters, supervised_views

log = logging.getLogger(__name__)

#: a view not recorded within this many seconds is shown masked rather than keep the page waiting
RECORD_TIMEOUT = 2.0
#: the supervisor page shows this many views; "older" pages on
VIEWS_LIMIT = 100


async def record_view(request: web.Request, who: Me, notification_id: str) -> bool:
    """Record that ``who`` is being shown this notification's detail page; whether it was
    recorded (False: the database failed, was too slow, or the manager may no longer see it)."""
    head_office = request.app[SETTINGS].head_office_branch
    try:
        async with asyncio.timeout(RECORD_TIMEOUT):
            view_id = await request.app[POOL].fetchval(
                RECORD_VIEW, who.manager_id, head_office, notification_id, language(request)
            )
    except Exception as exc:  # fail closed, whatever went wrong: the page masks the id
        # the type only: a database message may quote the values it was given
        log.warning(
            "a view was not recorded (%s): its customer id stays masked", type(exc).__name__
        )
        return False
    return view_id is not None


async def views(request: web.Request) -> web.StreamResponse:
    """The record of who looked, newest first, for a supervisor; 404 for anyone else."""
    who = await me(request)
    if not who.supervisor:
        raise web.HTTPNotFound()
    filters = ViewFilters.from_query(request.query)
    head_office = request.app[SETTINGS].head_office_branch
    sql, args = supervised_views(who.manager_id, head_office, filters, VIEWS_LIMIT + 1)
    rows = await request.app[POOL].fetch(sql, *args)
    older = None
    if len(rows) > VIEWS_LIMIT:
        older = "/views" + filters.query_string(before=rows[VIEWS_LIMIT - 1]["view_id"])
    return render(
        request,
        "views.html",
        views=rows[:VIEWS_LIMIT],
        filters=filters,
        filtered=filters.manager is not None or filters.day is not None,
        paged=filters.before is not None,
        older=older,
        everywhere=who.branch_id == head_office,
    )
