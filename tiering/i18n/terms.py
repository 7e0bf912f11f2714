"""The service's shared vocabulary in a reader's language: the tiers (POLICY §3), the teams
(§4), what a notification is about and how urgent it is (§5). The inbox, the notifications
and the report all name these the same way."""

from __future__ import annotations

from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.i18n import Language, translations


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


#: §3, as the original names them: 普通客戶, 潛力客戶, 優質客戶, 高端客戶
TIER_LABELS = {
    Tier.ORDINARY: N_("Ordinary customer"),
    Tier.POTENTIAL: N_("Potential customer"),
    Tier.PREMIUM: N_("Premium customer"),
    Tier.HIGH_END: N_("High-end customer"),
}
#: §4: who looks after each tier
TEAM_LABELS = {
    Team.BRANCH_SERVICE: N_("Branch tellers and lobby manager"),
    Team.CUSTOMER_MANAGER: N_("Customer managers"),
    Team.WEALTH_TEAM: N_("Wealth team"),
    Team.PRIVATE_BANKING: N_("Private banking"),
}
KIND_LABELS = {
    NotificationKind.TIER_UPGRADE: N_("Tier upgrade"),
    NotificationKind.TIER_DOWNGRADE: N_("Tier downgrade"),
    NotificationKind.LARGE_DEPOSIT: N_("Large deposit"),
    NotificationKind.LARGE_WITHDRAWAL: N_("Large withdrawal"),
    NotificationKind.CHURN_RISK: N_("Churn risk"),
    NotificationKind.PRODUCT_INTEREST: N_("Product interest"),
    NotificationKind.NEAR_UPGRADE: N_("Close to the next tier"),
    NotificationKind.IDLE_FUNDS: N_("Idle funds"),
    NotificationKind.CAMPAIGN: N_("Campaign"),
    NotificationKind.POLICY_CHANGE: N_("Policy change"),
    NotificationKind.OTHER: N_("Other"),
}
PRIORITY_LABELS = {
    Priority.LOW: N_("Low"),
    Priority.NORMAL: N_("Normal"),
    Priority.HIGH: N_("High"),
    Priority.URGENT: N_("Urgent"),
}


def tier_name(tier: Tier | str, language: Language) -> str:
    return translations(language, "terms").gettext(
        TIER_LABELS[Tier[tier] if isinstance(tier, str) else tier]
    )


def team_name(team: Team | str, language: Language) -> str:
    return translations(language, "terms").gettext(TEAM_LABELS[Team(team)])


def kind_name(kind: NotificationKind | str, language: Language) -> str:
    return translations(language, "terms").gettext(KIND_LABELS[NotificationKind(kind)])


def priority_name(priority: Priority | str, language: Language) -> str:
    level = Priority[priority] if isinstance(priority, str) else priority
    return translations(language, "terms").gettext(PRIORITY_LABELS[level])
