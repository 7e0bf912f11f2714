"""The inbox's SQL. Every read and write of a notification goes through ``VISIBLE``, so the
rule of policy §9 (a manager sees only their own customers) lives in one place:

    a manager sees a notification addressed to them, or one for their team at their branch;
    at head office (their branch is ``TIERING_HEAD_OFFICE_BRANCH``), their team's notifications
    that have no branch (the team's head-office queue), and in private banking every branch's
    private-banking notifications (§4: head-office private banking leads with the branches).

The manager's team and branch are joined from ``managers`` at query time, never taken from the
session, so a manager moved to another team or branch sees the new set at once. Every query
takes the manager as ``$1`` and the head-office branch as ``$2``.

Whoever passes ``VISIBLE`` is responsible for the notification (issue 17): the manager it is
addressed to, a manager of its team at its branch, or head office's for its team (its no-branch
queue, private banking's every branch). So the detail page shows them the full customer id, and
``RECORD_VIEW`` records each such view; ``SUPERVISED`` says whose views a supervisor reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from tiering.core.kinds import NotificationKind
from tiering.core.tiers import TIER_NAMES
from tiering.i18n import CHINA_TIME

TIERS = TIER_NAMES
KINDS = tuple(k.value for k in NotificationKind)
STATUSES = ("new", "acknowledged")

#: ``n``: the notification, ``m``: the signed-in manager (joined on ``$1``), ``$2`` the head
#: office's branch id
VISIBLE = (
    "(n.manager_id = m.manager_id OR (n.team = m.team AND (n.branch_id = m.branch_id"
    " OR (m.branch_id = $2 AND (n.branch_id IS NULL OR n.team = 'PRIVATE_BANKING')))))"
)
_FROM = "FROM notifications n JOIN managers m ON m.manager_id = $1"
COLUMNS = (
    "n.notification_id, n.customer_id, n.tier, n.team, n.manager_id, n.branch_id, n.kind,"
    " n.priority, n.title, n.body, n.actions, n.texts, n.created_at, n.acknowledged_at,"
    " n.acknowledged_by, a.name AS acknowledged_by_name,"
    " n.risk_level, n.risk_assessed_on, n.risk_expired_on, n.source_event_id"
)
#: who acknowledged, by name
_ACKNOWLEDGER = "LEFT JOIN managers a ON a.manager_id = n.acknowledged_by"

_MANAGER = "SELECT manager_id, name, team, branch_id, language, role, token_hash FROM managers"
MANAGER_BY_ID = f"{_MANAGER} WHERE manager_id = $1"
#: by the SHA-256 of the token pasted in the sign-in form
MANAGER_SIGNING_IN = f"{_MANAGER} WHERE token_hash = $1"
COUNT_NEW = f"SELECT count(*) {_FROM} WHERE {VISIBLE} AND n.acknowledged_at IS NULL"

#: ``$1`` manager, ``$2`` head office, ``$3`` notification → (visible, newly acknowledged).
#: Acknowledging twice keeps the first time and manager; ``acknowledged_at IS NULL`` is
#: re-checked by the UPDATE itself, so two managers acknowledging at once cannot both win.
ACKNOWLEDGE = f"""
WITH target AS (
    SELECT n.notification_id {_FROM} WHERE n.notification_id = $3 AND {VISIBLE}
), done AS (
    UPDATE notifications SET acknowledged_at = now(), acknowledged_by = $1
    WHERE notification_id IN (SELECT notification_id FROM target) AND acknowledged_at IS NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM target) AS visible, (SELECT count(*) FROM done) AS acknowledged
"""

#: ``$1`` manager, ``$2`` head office, ``$3`` notification, ``$4`` the page's language → the
#: view's id, or None (nothing recorded) if the manager may not see the notification (any more)
RECORD_VIEW = f"""
INSERT INTO notification_views (notification_id, manager_id, language)
SELECT n.notification_id, m.manager_id, $4 {_FROM} WHERE n.notification_id = $3 AND {VISIBLE}
RETURNING view_id
"""

#: ``n``: a viewed notification, ``m``: the signed-in manager (``$1``), ``$2`` the head office:
#: a supervisor reads the views of their branch's notifications, at head office of all of them
SUPERVISED = "(m.role = 'supervisor' AND (m.branch_id = $2 OR n.branch_id = m.branch_id))"


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters, from the query string; a value that is not one of the known ones
    counts as no filter (nothing a browser sends reaches the SQL text)."""

    tier: str | None = None
    kind: str | None = None
    status: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        def pick(name: str, allowed: tuple[str, ...]) -> str | None:
            value = query.get(name, "")
            return value if value in allowed else None

        return cls(pick("tier", TIERS), pick("kind", KINDS), pick("status", STATUSES))

    def query_string(self) -> str:
        """``?tier=…`` for the filters set, "" for none."""
        pairs = [
            (k, v)
            for k, v in (("tier", self.tier), ("kind", self.kind), ("status", self.status))
            if v
        ]
        return "?" + urlencode(pairs) if pairs else ""


def visible_notifications(
    manager_id: str,
    head_office: str,
    filters: Filters = Filters(),  # frozen: a shared default is harmless
    notification_id: str | None = None,
    limit: int | None = None,
) -> tuple[str, list[object]]:
    """``(sql, args)`` selecting the notifications ``manager_id`` may see, newest first:
    all of them (the list), or the one ``notification_id`` (the detail page, and the check of
    each live event). ``head_office``: the head office's branch id."""
    args: list[object] = [manager_id, head_office]

    def param(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [VISIBLE]
    if notification_id is not None:
        where.append(f"n.notification_id = {param(notification_id)}")
    if filters.tier:
        where.append(f"n.tier = {param(filters.tier)}")
    if filters.kind:
        where.append(f"n.kind = {param(filters.kind)}")
    if filters.status == "new":
        where.append("n.acknowledged_at IS NULL")
    elif filters.status == "acknowledged":
        where.append("n.acknowledged_at IS NOT NULL")
    sql = (
        f"SELECT {COLUMNS} {_FROM} {_ACKNOWLEDGER} WHERE {' AND '.join(where)}"
        " ORDER BY n.created_at DESC, n.notification_id DESC"
    )
    if limit is not None:
        sql += f" LIMIT {param(limit)}"
    return sql, args


@dataclass(frozen=True, slots=True)
class ViewFilters:
    """The supervisor page's filters: one manager's views, one day's (China time), and the
    page (views older than ``before``, a view id). Anything malformed counts as no filter."""

    manager: str | None = None
    day: date | None = None
    before: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ViewFilters:
        manager = query.get("manager", "").strip()
        day = before = None
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(query.get("day", ""))
        raw = query.get("before", "")
        if raw.isascii() and raw.isdigit() and len(raw) < 19:
            before = int(raw)
        return cls(manager if 0 < len(manager) <= 100 else None, day, before)

    def query_string(self, before: int | None = None) -> str:
        """``?manager=…&day=…`` for the filters set (and the page ``before``), "" for none."""
        pairs = [
            (k, str(v))
            for k, v in (("manager", self.manager), ("day", self.day), ("before", before))
            if v is not None
        ]
        return "?" + urlencode(pairs) if pairs else ""


def supervised_views(
    manager_id: str, head_office: str, filters: ViewFilters, limit: int
) -> tuple[str, list[object]]:
    """``(sql, args)`` selecting, newest first, the recorded views that ``manager_id`` may
    supervise (none unless they are a supervisor): who looked (``w``), when, in which language,
    and at which notification."""
    args: list[object] = [manager_id, head_office]

    def param(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [SUPERVISED]
    if filters.manager is not None:
        where.append(f"v.manager_id = {param(filters.manager)}")
    if filters.day is not None:
        start = datetime.combine(filters.day, time(), CHINA_TIME)
        where.append(f"v.viewed_at >= {param(start)}")
        where.append(f"v.viewed_at < {param(start + timedelta(days=1))}")
    if filters.before is not None:
        where.append(f"v.view_id < {param(filters.before)}")
    sql = (
        "SELECT v.view_id, v.viewed_at, v.language, v.manager_id, w.name AS manager_name,"
        " n.kind, n.tier, n.team, n.branch_id, n.customer_id"
        " FROM notification_views v JOIN notifications n USING (notification_id)"
        " JOIN managers m ON m.manager_id = $1 LEFT JOIN managers w ON w.manager_id = v.manager_id"
        f" WHERE {' AND '.join(where)} ORDER BY v.view_id DESC LIMIT {param(limit)}"
    )
    return sql, args
