"""What ``tiering campaign`` shows the bank employee who runs it, in their language (the gettext
domain ``campaigns``): the cohort per tier and branch as a table, who was left out and why, and
what was sent. No customer is named."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tiering.core.policy import Policy
from tiering.i18n import Language, format_count, translations
from tiering.i18n.terms import N_, tier_name
from tiering.tools.campaign.cohort import Exclusion
from tiering.tools.campaign.run import CampaignRun

EXCLUSIONS = {
    Exclusion.TOLERANCE_UNKNOWN: N_(
        "%(count)s without a risk assessment valid now: only the lowest-risk products may be "
        "offered to them"
    ),
    Exclusion.TOLERANCE_TOO_LOW: N_(
        "%(count)s whose risk tolerance is below a product of the combination"
    ),
}


def show_run(console: Console, result: CampaignRun, policy: Policy, language: Language) -> None:
    """The run's cohort, exclusions and outcome."""
    _ = translations(language, "campaigns").gettext
    c = result.campaign
    products = "＋".join(policy.products[p].in_language(language) for p in c.products)
    interest = policy.products[c.interest].in_language(language)
    console.print(
        _("Campaign %(name)s (%(campaign)s): %(products)s")
        % {"name": c.name, "campaign": c.in_language(language), "products": products}
    )
    console.print(
        _("Customers of %(tiers)s with an interest score of at least %(score)s in %(interest)s")
        % {
            "tiers": "、".join(tier_name(t, language) for t in c.tiers),
            "score": c.min_interest,
            "interest": interest,
        }
    )
    table = Table(title=_("Cohort per tier and branch"))
    table.add_column(_("Tier"))
    table.add_column(_("Branch"))
    table.add_column(_("Customers"), justify="right")
    sizes = result.cohort.sizes()
    for (tier, branch), n in sorted(sizes.items(), key=lambda x: (x[0][0], x[0][1] or "")):
        branch_text = branch if branch is not None else _("No manager: the team's queue")
        table.add_row(tier_name(tier, language), branch_text, format_count(n, language))
    table.add_row(_("All"), "", format_count(len(result.cohort.members), language), style="bold")
    console.print(table)
    excluded = sum(result.cohort.excluded.values())
    console.print(
        _("Left out (POLICY §9): %(count)s") % {"count": format_count(excluded, language)}
    )
    for reason, n in sorted(result.cohort.excluded.items()):
        console.print("  " + _(EXCLUSIONS[reason]) % {"count": format_count(n, language)})
    if result.dry_run:
        console.print(_("Dry run: nothing was sent."))
    else:
        console.print(
            _(
                "Sent %(count)s to the notifier for run %(run)s: each customer's team is told "
                "once; anyone told of a campaign within the cooldown is not told again."
            )
            % {"count": format_count(result.sent, language), "run": result.run}
        )


def sending_label(language: Language) -> str:
    return translations(language, "campaigns").gettext("Sending the campaign")
