"""What ``tiering explain`` shows a supervisor or a complaint handler, in their language (the
gettext domain ``explain``): why a customer is in their tier (:mod:`tiering.directory.explanation`).
It names the customer the operator typed, on the terminal only; nothing about the customer is
logged (§9)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from tiering.core.tiers import Direction
from tiering.directory.explanation import Explanation, Trigger, TriggerKind
from tiering.directory.explanations import read_explanation
from tiering.i18n import Language, format_money, format_time, translations
from tiering.i18n.terms import N_, kind_name, team_name, tier_name
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect

DOMAIN = "explain"
#: the notifications shown at most
NOTICES = 10

DIRECTIONS = {
    Direction.INITIAL: N_("placed"),
    Direction.UPGRADE: N_("upgrade"),
    Direction.DOWNGRADE: N_("downgrade"),
}


class UnknownCustomerError(LookupError):
    """The ledger has no balance for the customer: never seen, or under another id."""


async def fetch_explanation(settings: Settings, customer_id: str, history: int) -> Explanation:
    """The customer's explanation from PostgreSQL; :class:`UnknownCustomerError` if none."""
    conn = await connect(settings, "tiering explain", requires_table="customer_balances")
    try:
        found = await read_explanation(conn, customer_id, settings.policy, history, NOTICES)
    finally:
        await conn.close()
    if found is None:
        raise UnknownCustomerError(customer_id)
    return found


def unknown_customer(customer_id: str, language: Language) -> str:
    """The error for a customer the service does not know."""
    _ = translations(language, DOMAIN).gettext
    return _(
        "The service knows no customer %(customer)s: no posting of theirs has reached the "
        "ledger. Check the id."
    ) % {"customer": customer_id}


def describe_trigger(trigger: Trigger, language: Language) -> str:
    """What moved the customer, in ``language``."""
    _ = translations(language, DOMAIN).gettext
    if trigger.kind is TriggerKind.GRACE_EXPIRY:
        return _("the grace period of the downgrade ended (POLICY §3)")
    if trigger.kind is TriggerKind.FX_RATE:
        return _("a new exchange rate revalued a foreign account (rate %(rate)s)") % {
            "rate": trigger.reference
        }
    if trigger.kind is TriggerKind.POLICY_CHANGE:
        return _("policy %(version)s took effect and re-placed the customer") % {
            "version": trigger.reference
        }
    if trigger.kind is TriggerKind.AVERAGE:
        return _("the average daily balance reached the tier's bound (POLICY §3)")
    return _("posting %(txn)s") % {"txn": trigger.reference}


def show_explanation(console: Console, e: Explanation, language: Language) -> None:
    """The explanation as a panel of facts and a table of tier changes and notifications."""
    _ = translations(language, DOMAIN).gettext
    money = format_money
    bounds = (
        _("from %(lower)s up to %(upper)s")
        % {"lower": money(e.lower_bound_fen, language), "upper": money(e.upper_bound_fen, language)}
        if e.upper_bound_fen is not None
        else _("from %(lower)s") % {"lower": money(e.lower_bound_fen, language)}
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row(_("Customer"), e.customer_id)
    facts.add_row(
        _("Tier"),
        _("%(tier)s (%(bounds)s, POLICY §3)")
        % {"tier": tier_name(e.tier, language), "bounds": bounds},
    )
    facts.add_row(
        _("Balance"),
        _("%(balance)s, the instant deposit balance on %(time)s (China time)")
        % {"balance": money(e.balance_fen, language), "time": format_time(e.as_of_ms, language)},
    )
    if e.average_fen is not None and e.average_since_ms is not None:
        facts.add_row(
            _("Average daily balance"),
            _("%(average)s from %(since)s to %(time)s (China time), the basis the tiers go by")
            % {
                "average": money(e.average_fen, language),
                "since": format_time(e.average_since_ms, language),
                "time": format_time(e.as_of_ms, language),
            },
        )
    facts.add_row(_("Branch"), e.branch_id or "—")
    facts.add_row(_("Decided under policy"), e.decided_by or "—")
    if e.downgrade_due_ms is not None:
        pending = _(
            "below the tier's lower bound: downgraded on %(time)s (China time) unless the "
            "balance is back at the bound or above by then"
        ) % {"time": format_time(e.downgrade_due_ms, language)}
    else:
        pending = _("none")
    facts.add_row(_("Pending downgrade"), pending)
    parts: list[Table] = [facts]
    moves = Table(title=_("Tier changes, newest first"), title_justify="left")
    for heading in (
        _("Time (China time)"),
        _("Change"),
        _("Balance"),
        _("Trigger"),
        _("Policy"),
    ):
        moves.add_column(heading)
    for m in e.moves:
        previous = tier_name(m.previous_tier, language) if m.previous_tier is not None else "—"
        moves.add_row(
            format_time(m.event_time_ms, language),
            f"{previous} → {tier_name(m.new_tier, language)} ({_(DIRECTIONS[m.direction])})",
            money(m.balance_fen, language),
            describe_trigger(m.trigger, language),
            m.policy_version,
        )
    parts.append(moves)
    if e.notices:
        notices = Table(title=_("Latest notifications"), title_justify="left")
        for heading in (_("Created (China time)"), _("Kind"), _("Team"), _("Status")):
            notices.add_column(heading)
        for n in e.notices:
            notices.add_row(
                format_time(n.created_at, language),
                kind_name(n.kind, language),
                team_name(n.team, language),
                _("acknowledged") if n.acknowledged else _("not acknowledged"),
            )
        parts.append(notices)
    title = _("Why customer %(customer)s is in their tier") % {"customer": e.customer_id}
    console.print(Panel(Group(*parts), title=title, title_align="left"))
